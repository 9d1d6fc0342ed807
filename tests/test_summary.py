"""hsp_eval.reports.summary and hsp_eval.reports.school on a small hand-built indicator table.

The expected sentences are worked out here from the numbers in the table, so a change in
wording or in which numbers are picked shows up as a failure.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pandas as pd
import pytest

from hsp_eval.reports import school as sr
from hsp_eval.reports import summary

NAN = float("nan")
SID = "0042"


def row(indicator, year, value, lo=NAN, hi=NAN, group_type="all", group="all", den=100.0, area=SID):
    sup = value is None
    return {"level": "school", "area_id": area, "year": year, "indicator": indicator, "group_type": group_type,
            "group": group, "numerator": NAN if sup else round(value * den), "denominator": den,
            "value": NAN if sup else value, "ci_low": NAN if sup else lo, "ci_high": NAN if sup else hi,
            "suppressed": sup}


@pytest.fixture
def table():
    rows = [
        row("reach", 2022, 0.40, 0.31, 0.50), row("reach", 2023, 0.50, 0.40, 0.60),
        row("reach", 2024, 0.60, 0.50, 0.69),
        row("reach_learning", 2022, 0.30, 0.22, 0.40), row("reach_learning", 2024, 0.35, 0.26, 0.45),
        row("learning_share", 2024, 0.25, 0.2, 0.3),
        # who is reached, 2024: Pacific is the lowest but suppressed; "Not stated" is not a group of families
        row("reach", 2024, 0.45, 0.35, 0.55, "ethnicity", "Māori", den=60),
        row("reach", 2024, None, group_type="ethnicity", group="Pacific", den=3),
        row("reach", 2024, 0.20, 0.05, 0.52, "ethnicity", "Not stated", den=10),
        row("reach", 2024, 0.70, 0.55, 0.82, "ethnicity", "European", den=40),
        row("reach", 2024, 0.52, 0.40, 0.63, "year_band", "0-3", den=50),
        row("reach", 2023, 0.10, 0.05, 0.2, "year_band", "0-3", den=50),  # an earlier year is not "latest"
        row("reach_gap_vs_rest", 2024, -0.25, -0.41, -0.08, "ethnicity", "Māori", den=60),
        # another school's lower group must never be picked up
        row("reach", 2024, 0.05, 0.01, 0.2, "ethnicity", "Asian", den=40, area="0999"),
        row("good_news_share", 2024, 0.30, 0.2, 0.4), row("deficit_share", 2024, 0.15, 0.1, 0.2),
        row("two_way_share", 2024, 0.42, 0.38, 0.47),
        row("accelerated_by_codesign", 2024, 0.5, 0.29, 0.71, "codesign", "codesigned", den=18),
        row("accelerated_by_codesign", 2024, 0.2273, 0.1012, 0.4344, "codesign", "not_codesigned", den=22),
    ]
    return pd.DataFrame(rows)


def trend(indicator, trend_class, first, last, group_type="all", group="all", target=None, status=None):
    return {"area_id": SID, "indicator": indicator, "group_type": group_type, "group": group, "first_year": 2022,
            "last_year": 2024, "n_years": 3, "value_first": first, "value_last": last, "trend": trend_class,
            "target_value": target[0] if target else NAN,
            "target_year": target[1] if target else pd.NA, "target_status": status}


@pytest.fixture
def trends():
    t = pd.DataFrame([
        trend("reach", "improving", 0.40, 0.60),
        trend("portal_adoption", "no clear change", 0.5, 0.52),
        trend("deficit_share", "declining", 0.20, 0.30),
        trend("reach_learning", "improving", 0.30, 0.35, target=(0.30, 2024), status="met"),
        trend("reach", "improving", 0.30, 0.45, "ethnicity", "Māori", target=(0.6, 2025), status="not_on_track"),
        # not a key indicator: its change is never claimed in a sentence (one of hundreds of series)
        trend("conference_reach", "improving", 0.20, 0.50),
    ])
    t["target_year"] = t["target_year"].astype("Int64")
    return t


PARAMS = {"school_id": SID, "targets": [
    {"indicator": "reach", "group_type": "ethnicity", "group": "Māori", "value": 0.6, "year": 2025},
    {"indicator": "reach_learning", "group_type": "all", "group": "all", "value": 0.3, "year": 2024}]}


def test_school_summary_sentences_worked_out_by_hand(table, trends):
    got = summary.school_summary(table, trends, SID, PARAMS)
    assert got == [
        "In 2024, 60% of families took part in at least one school activity (likely range 50% to 69%), and 35% "
        "in an activity focused on their child's learning (26% to 45%).",
        # improving for all families, in the summary's fixed order; portal use with no clear change is not mentioned
        "Clear improvements over the years: families taking part in at least one activity (from 40% in 2022 to "
        "60% in 2024) and families taking part in a learning-focused activity (from 30% in 2022 to 35% in 2024).",
        # deficit contacts rising is the wrong way (lower is better)
        "Moving the wrong way: school contacts about behaviour or attendance (from 20% in 2022 to 30% in 2024).",
        # lowest shown group in 2024: Māori 45% (Pacific suppressed, Not stated is not a group, 0-3 is 52%)
        "In 2024, the families reached least were Māori families: 45% (likely range 35% to 55%), against 60% of "
        "all families; that is clearly below the rest of the school.",
        "Of the school's 2 targets, 1 is met and 1 is not on track; not on track: Māori families taking part "
        "in at least one activity (45% in 2024, target 60% by 2025).",
    ]


def test_summary_never_names_a_suppressed_group_and_is_not_causal(table, trends):
    text = " ".join(summary.school_summary(table, trends, SID, PARAMS))
    assert "Pacific" not in text and "Not stated" not in text and "Asian" not in text
    for word in ("because", "led to", "caused", "due to", "as a result", "impact", "drove"):
        assert word not in text.lower()
    assert summary.school_summary(table, trends, SID, PARAMS) == summary.school_summary(table, trends, SID, PARAMS)


def test_summary_when_nothing_is_known(table):
    empty = pd.DataFrame([trend("reach", "too few years", 0.4, 0.6)])
    got = summary.school_summary(table, empty, SID, None)
    assert got[1] == "There are not yet enough years of data to say whether things are changing."
    assert got[-1] == "The school has not yet set targets (indicators of success) in its params file."
    assert 3 <= len(got) <= 5


def test_a_target_whose_trend_interval_holds_it_is_not_yet_clear(table):
    t = pd.DataFrame([trend("reach", "improving", 0.4, 0.5, target=(0.6, 2026), status="uncertain")])
    t["target_year"] = t["target_year"].astype("Int64")
    params = {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.6, "year": 2026}]}
    assert summary.target_sentence(t, params, SID) == "Of the school's 1 target, 1 is not yet clear either way."


def test_no_clear_change_only_says_within_margin_of_error(table):
    t = pd.DataFrame([trend("reach", "no clear change", 0.4, 0.45)])
    assert summary.change_sentences(t, SID) == [
        "Between 2022 and 2024, none of the main measures for all families changed clearly; the differences "
        "between years are within the margin of error."]


def test_section_sentences(table):
    assert summary.learning_sentence(table, 2024) == (
        "In 2024, 60% of families took part in some activity and 35% in one focused on learning; 25% of all "
        "attendances were at learning-focused activities (likely range 20% to 30%). Engagement with the school is "
        "not the same as engagement with learning.")
    assert summary.contacts_sentence(table, 2024) == (
        "Of the contacts the school started in 2024, 30% shared good news and 15% were about behaviour or "
        "attendance; families started 42% of all contacts (likely range 38% to 47%).")
    s = summary.codesign_sentence(table)
    assert s.startswith("In 2024, 50% of target students whose goals were co-designed with their whānau made "
                        "accelerated progress (likely range 29% to 71%), against 23% of those whose goals were "
                        "not (10% to 43%).")
    assert "association, not proof of cause" in s
    model = dict(row("accelerated_by_codesign", 2024, 2.78, 0.8, 9.67, "codesign", "adjusted_odds_ratio", den=40))
    with_model = pd.concat([table, pd.DataFrame([model])], ignore_index=True)
    assert summary.codesign_model_sentence(with_model).startswith(
        "In 2024, after allowing for students' starting scores and year levels, the odds of accelerated progress "
        "were 2.8 times as high with co-designed goals (likely range 0.8 to 9.7)")
    # when the groups it compares are suppressed, the model is not reported either
    hidden = with_model.assign(suppressed=with_model["group"].isin(["codesigned", "not_codesigned"]))
    assert summary.codesign_model_sentence(hidden) == ""


# --- hsp_eval.reports.school ----------------------------------------------------------------

def test_school_rows_picks_one_school_and_says_clearly_when_there_is_none(table):
    r = sr.school_rows(table, SID, years="2023-2024")
    assert set(r["area_id"]) == {SID} and set(r["year"]) == {2023, 2024}
    with pytest.raises(ValueError, match="no rows for school '0113'"):
        sr.school_rows(table, "0113")


def test_larger_min_n_suppresses_again_with_complements_and_gaps(table):
    r = sr.school_rows(table, SID, min_n=55, table_min_n=5)
    sup = r.set_index(["indicator", "year", "group_type", "group"])["suppressed"]
    assert sup[("reach", 2024, "year_band", "0-3")]          # 50 families < 55
    # 60 families, but the rest of the school (100 - 60 = 40) is under 55: "all minus Māori" would
    # show 40 families' rate, so the group goes too (disclosure spec v2)
    assert sup[("reach", 2024, "ethnicity", "Māori")]
    assert sup[("reach", 2024, "ethnicity", "European")]     # 40 < 55
    assert sup[("reach_gap_vs_rest", 2024, "ethnicity", "Māori")]  # the rest (100 - 60 = 40) is too small
    shown = r[~r["suppressed"]]
    assert shown["value"].notna().all()
    assert r.loc[r["suppressed"], "value"].isna().all()
    # the same min_n as the table changes nothing
    same = sr.school_rows(table, SID, min_n=5, table_min_n=5)
    assert same["suppressed"].sum() == (table["area_id"] == SID).mul(table["suppressed"]).sum()


def test_representation_of_a_group_of_few_respondents_is_suppressed():
    t = pd.DataFrame([row("respondent_representation", 2024, 0.01, group_type="ethnicity", group="MELAA", den=70),
                      row("respondent_representation", 2024, -0.04, group_type="ethnicity", group="Māori", den=70),
                      row("survey_response_rate", 2024, 0.2, 0.1, 0.3, "ethnicity", "Māori", den=200)])
    t.loc[0, "numerator"] = 1.0
    t.loc[1, "numerator"] = 42.0
    r = sr.school_rows(t, SID).set_index(["indicator", "group"])
    assert r.loc[("respondent_representation", "MELAA"), "suppressed"]
    assert np.isnan(r.loc[("respondent_representation", "MELAA"), "value"])
    assert not r.loc[("respondent_representation", "Māori"), "suppressed"]


def test_value_table_and_recorded_values(table):
    vt = sr.value_table(sr.pick(table[table["area_id"] == SID], "reach", "ethnicity"))
    assert vt.loc["Māori", 2024] == "45% (35% to 55%)"
    assert vt.loc["Pacific", 2024] == "withheld"
    gap = sr.value_table(sr.pick(table, "reach_gap_vs_rest", "ethnicity"))
    assert gap.loc["Māori", 2024] == "-25 points (-41 to -8)"
    vals = sr.key_values(table[table["area_id"] == SID])
    assert vals == {"reach": {"2022": 0.4, "2023": 0.5, "2024": 0.6}, "reach_learning": {"2022": 0.3, "2024": 0.35}}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={sr.VALUES_MIME: vals})])])
    assert sr.recorded_values(nb) == vals
    with pytest.raises(ValueError, match="recorded no values"):
        sr.recorded_values(nbformat.v4.new_notebook())


def test_targets_table_reads_status_in_words(trends):
    tt = sr.targets_table(trends, PARAMS, SID)
    assert tt["status"].tolist() == ["not on track", "met"]
    assert tt.iloc[0]["target"] == "60%" and tt.iloc[0]["latest value"] == "45% in 2024"
    assert tt.iloc[0]["group"] == "Māori"


def test_chart_of_groups_all_suppressed_says_so(table):
    import matplotlib.pyplot as plt

    from hsp_eval.reports import plots

    r = pd.DataFrame([row("reach", y, None, group_type="year_band", group=g, den=3) for y in (2023, 2024)
                      for g in ("0-3", "4-6")])
    ax = plots.by_group(r)
    assert any("withheld" in t.get_text() for t in ax.texts)
    plt.close("all")


def test_compare_refuses_different_units(table):
    with pytest.raises(ValueError, match="same unit"):
        sr.compare(table, {"reach": "a", "two_way_share": "b"})


def test_load_inputs_on_the_demo(tmp_path):
    from hsp_eval.run import demo

    _, ind, tr, _ = demo.school_inputs("0827")
    x = sr.load_inputs("0827", None, ind, tr, demo.PARAMS / "0827.yaml")
    assert x["name"] == "Kōtuku Park College" and x["latest"] == 2025 and x["min_n"] == 5
    assert set(x["rows"]["area_id"]) == {"0827"} and set(x["trends"]["area_id"]) <= {"0827"}
    assert len(x["params"]["targets"]) >= 1 and x["provenance"]["data_fingerprint"]
    # a params file of another school is refused, naming the file
    with pytest.raises(ValueError, match=r"0113\.yaml: the params file is for school '0113', not '0827'"):
        sr.load_inputs("0827", None, ind, tr, sr.Path(x["provenance"]["params_file"]).with_name("0113.yaml"))
    # a larger min_n in the params file wins over the notebook's
    p = tmp_path / "0827.yaml"
    p.write_text('school_id: "0827"\nmin_n: 400\n', encoding="utf-8")
    y = sr.load_inputs("0827", None, ind, tr, p)
    assert y["min_n"] == 400 and y["params"]["targets"] == []
    assert y["rows"]["suppressed"].sum() > x["rows"]["suppressed"].sum()


def test_read_area_reads_one_schools_rows_from_parquet_and_csv(table, tmp_path):
    from hsp_eval.indicators.engine import write_table

    table = pd.concat([table, table.assign(level="region")], ignore_index=True)
    for suffix in ("parquet", "csv"):
        path = tmp_path / f"t.{suffix}"
        write_table(table, path)
        got = sr.read_area(path, SID, "school")
        assert len(got) == (table["area_id"].eq(SID) & table["level"].eq("school")).sum()
        assert set(got["area_id"]) == {SID} and set(got["level"]) == {"school"}
        assert list(got.index) == list(range(len(got)))
    assert len(sr.read_area(tmp_path / "t.parquet", SID)) == 2 * len(got)  # every level
    assert sr.read_area(tmp_path / "t.parquet", "9999").empty
