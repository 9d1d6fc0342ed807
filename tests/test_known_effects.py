"""The indicators recover the effects the synthetic generator writes into the demo data
(hsp_eval.synthetic.build.KNOWN_EFFECTS; the schools each applies to are in data/demo/generator.json),
and the indicator table is deterministic and leaks no small count."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hsp_eval import Dataset, load_dataset
from hsp_eval.indicators import engine as indicators, trends

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


@pytest.fixture(scope="module")
def demo():
    return load_dataset(DEMO)


@pytest.fixture(scope="module")
def table(demo):
    return indicators.compute(demo)


@pytest.fixture(scope="module")
def effects():
    return json.loads((DEMO / "generator.json").read_text(encoding="utf-8"))["known_effects"]


def rows(t, **match):
    m = np.ones(len(t), dtype=bool)
    for k, v in match.items():
        m &= (t[k] == v).to_numpy()
    return t[m].sort_values("year")


def test_school0_maori_reach_rises_and_is_classed_improving(demo, table, effects):
    [school] = effects["school0_maori_reach_rises"]["school_ids"]
    r = rows(table, level="school", area_id=school, indicator="reach", group_type="ethnicity", group="Māori")
    assert (np.diff(r["value"]) > 0).all()
    assert r["ci_low"].iloc[-1] > r["ci_high"].iloc[0]  # last year's interval clear of the first's
    tr = trends.compute_trends(table).set_index(["area_id", "indicator", "group_type", "group"])
    assert tr.loc[(school, "reach", "ethnicity", "Māori"), "trend"] == "improving"
    # the other families stay flat: those with no Māori child (prioritised European). Total-response
    # European families include Māori-European ones, who share the rise; the school's prioritised
    # groups are withheld in some years (secondary suppression), so they are read unsuppressed here
    own = indicators.compute(demo, min_n=0)
    flat = trends.compute_trends(own[own["area_id"] == school]).set_index(["indicator", "group_type", "group"])
    assert flat.loc[("reach", "ethnicity_prioritised", "European"), "trend"] == "no clear change"


def test_the_planted_national_rise_in_portal_use_is_found_and_nothing_else_is_claimed(table):
    # the generator raises every school's portal share by 3 points a year and plants no other
    # change common to all schools (each school's reach drifts its own way, sd 0.04 probit a year)
    from hsp_eval.reports import national

    nt = national.national_trends(table).set_index("indicator")
    assert nt.loc["portal_adoption", "trend"] == "improving"
    assert 0.015 < nt.loc["portal_adoption", "slope"] < 0.045
    assert nt.loc["portal_adoption", "schools"] == 24
    for ind in ("survey_response_rate", "good_news_share", "contact_reach"):
        assert nt.loc[ind, "trend"] == "no clear change", ind


def test_school1_relies_on_one_way_problem_focused_contact(table, effects):
    [school] = effects["school1_one_way_deficit_contact"]["school_ids"]
    for year in (2022, 2025):
        t = rows(table, level="school", indicator="two_way_share", group_type="all", year=year).set_index("area_id")
        others = t.drop(index=school)
        assert t.loc[school, "ci_high"] < others["ci_low"].min()
        # deficit contacts cluster in families, so a small school's interval is wide: the school's
        # interval lies above every other school's value (funnel-plot logic), not above their intervals
        d = rows(table, level="school", indicator="deficit_share", group_type="all", year=year).set_index("area_id")
        assert d.loc[school, "ci_low"] > d.drop(index=school)["value"].max()


def test_codesign_is_associated_with_accelerated_progress(table):
    r = rows(table, level="national", indicator="accelerated_by_codesign", group="adjusted_odds_ratio")
    assert len(r) == 4 and (r["ci_low"] > 1).all()
    # the generator's true odds ratio (2.5) lies within every year's interval
    assert ((r["ci_low"] < 2.5) & (r["ci_high"] > 2.5)).all()


def test_staff_see_partnership_more_favourably_than_whanau(table):
    # planted: staff 15 points more favourable on every scale. Nationally every scale and year shows
    # it; its interval clusters on the demo's schools, so in some years it may also hold 0
    r = table[(table["level"] == "national") & (table["indicator"] == "perception_gap")]
    assert len(r) == 16 and (r["value"] > 0.05).all() and (r["ci_low"] > 0).mean() >= 0.5
    reg = table[(table["level"] == "region") & (table["indicator"] == "perception_gap") & ~table["suppressed"]]
    assert (reg["value"] > 0).mean() >= 0.8
    g = rows(table, level="national", indicator="self_review_gap", year=2025)
    assert (g["value"] > 0).all()


def test_new_families_are_reached_less(table):
    # nationally, and in most schools each year (the national intervals cluster on the demo's
    # schools, so they are too wide to separate the two groups: the comparison is within schools)
    for year in (2023, 2024, 2025):
        new = rows(table, level="national", indicator="reach", group_type="new_family", group="new", year=year)
        ret = rows(table, level="national", indicator="reach", group_type="new_family", group="returning",
                   year=year)
        assert new["value"].iloc[0] < ret["value"].iloc[0]
        school = table[(table["level"] == "school") & (table["indicator"] == "reach") & (table["year"] == year)
                       & (table["group_type"] == "new_family") & ~table["suppressed"]]
        by = school.pivot_table(index="area_id", columns="group", values="value").dropna()
        assert (by["new"] < by["returning"]).mean() >= 0.7, by


def test_invitations_are_taken_up_more_than_open_events_draw(table):
    inv = rows(table, level="national", indicator="invitation_uptake", group_type="all")
    assert (inv["value"] > 0.6).all()
    fundraising = rows(table, level="national", indicator="reach_by_type", group="fundraising")
    # clear of chance even with the national interval over schools
    assert (fundraising["value"].to_numpy() < inv["ci_low"].to_numpy()).all()


def test_no_shown_row_has_a_small_denominator(table):
    shown = table[~table["suppressed"]]
    is_count = shown["numerator"].notna() | shown["indicator"].isin(
        ["attendances_per_family", "breadth", "scale_score", "self_review_rating"])
    assert (shown.loc[is_count, "denominator"] >= 5).all()
    sup = table[table["suppressed"]]
    assert sup["numerator"].isna().all() and sup["value"].isna().all() and sup["ci_low"].isna().all()


KEY = bytes(range(32))


def test_publication_rows_show_only_rounded_counts(demo):
    pub = indicators.compute(demo, publication=True, key=KEY)
    counts = pd.concat([pub[c].dropna() for c in ("numerator", "denominator", "people")])
    assert (np.mod(counts, 3) == 0).all()  # every level: school rows published by the Ministry too
    shown = pub[~pub["suppressed"]]
    assert (shown["denominator"].dropna() >= 6).all() and (shown["people"].dropna() >= 6).all()
    assert not ((shown["numerator"] >= 1) & (shown["numerator"] < 6)).any()
    prop = shown[shown["numerator"].notna() & ~shown["indicator"].str.endswith("_gap_vs_rest")]
    assert np.allclose(prop["value"], np.round(prop["numerator"] / prop["denominator"], 3))


def test_same_data_gives_byte_identical_files(demo, table, tmp_path):
    again = indicators.compute(demo)
    for ext in ("csv", "parquet"):
        indicators.write_table(table, tmp_path / f"a.{ext}")
        indicators.write_table(again, tmp_path / f"b.{ext}")
        assert filecmp.cmp(tmp_path / f"a.{ext}", tmp_path / f"b.{ext}", shallow=False)
    back = indicators.read_table(tmp_path / "a.csv")
    assert back["area_id"].str.len().eq(4).sum() > 0 and list(back.columns) == indicators.COLUMNS


def test_schools_are_independent_so_the_work_can_be_split_by_school(demo):
    """Computing on a subset of schools gives exactly those schools' rows (before disclosure control,
    which links a school's rows to its region's and so depends on the other schools: min_n 1
    withholds nothing)."""
    table = indicators.compute(demo, min_n=1)
    assert not table["suppressed"].any()
    keep = sorted(demo["schools"]["school_id"])[:3]
    sub = indicators.compute(demo.for_schools(keep), min_n=1)
    assert len(demo.for_schools(keep)["attendance"]) < len(demo["attendance"])
    a = sub[sub["level"] == "school"].reset_index(drop=True)
    b = table[(table["level"] == "school") & table["area_id"].isin(keep)].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_rows_linked_by_the_loader_count_as_rows_matched_by_key(demo, table):
    """The engine's short cut (each row's enrolment row, found by the loader's checks) gives the
    same table as matching school, year and family again, for the whole demo and for a subset."""
    assert all(demo.enrolment_rows(t) is not None for t in ("attendance", "contacts", "portal_usage"))
    assert demo.rows_in("attendance", "activities") is not None
    assert all(demo.rows_in("survey_responses", t) is not None for t in ("survey_items", "survey_respondents"))
    unlinked = Dataset(demo.tables, demo.source, demo.report)
    assert unlinked.enrolment_rows("attendance") is None
    pd.testing.assert_frame_equal(indicators.compute(unlinked), table)
    keep = sorted(demo["schools"]["school_id"])[3:6]
    sub = demo.for_schools(keep)
    assert sub.enrolment_rows("portal_usage") is not None
    pd.testing.assert_frame_equal(indicators.compute(sub), indicators.compute(Dataset(sub.tables)))


@pytest.mark.slow
@pytest.mark.parametrize("publication", [False, True])
def test_files_are_byte_identical_whatever_the_number_of_processes(demo, tmp_path, publication):
    """Real worker processes and chunks of 1 to 5 schools give the same file as one pass (on ten of
    the demo's schools, in six regions: the invariance does not need all 24, and each run is a full compute)."""
    demo = demo.for_schools(sorted(demo.tables["schools"]["school_id"])[:10])
    runs = {"one pass": {}, "2 processes": {"workers": 2}, "chunks of 3": {"chunk_size": 3},
            "3 processes, chunks of 1": {"workers": 3, "chunk_size": 1}}
    for name, kw in runs.items():
        t = indicators.compute(demo, publication=publication, key=KEY if publication else None, **kw)
        indicators.write_table(t, tmp_path / f"{name}.parquet")
        indicators.write_table(t, tmp_path / f"{name}.csv")
    for name in list(runs)[1:]:
        for ext in ("parquet", "csv"):
            assert filecmp.cmp(tmp_path / f"one pass.{ext}", tmp_path / f"{name}.{ext}", shallow=False), name
    # many schools are counted a chunk at a time without being asked (memory): the same file
    import hsp_eval.indicators.engine as engine

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "AUTO_CHUNK_OVER", 4)
        mp.setattr(engine, "AUTO_CHUNK", 3)
        t = indicators.compute(demo, publication=publication, key=KEY if publication else None)
    indicators.write_table(t, tmp_path / "automatic chunks.csv")
    assert filecmp.cmp(tmp_path / "one pass.csv", tmp_path / "automatic chunks.csv", shallow=False)
    # the split really covers the region and national rows that pool schools (alpha, models, gaps)
    t = indicators.read_table(tmp_path / "one pass.csv")
    pooled = t[(t["level"] == "national") & t["indicator"].isin(["scale_alpha", "self_review_gap"])]
    assert len(pooled) > 0
