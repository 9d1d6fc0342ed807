"""NYC School Survey adapter: the cut-off 2011 file detected and reported, row accounting, headline
numbers recomputed from the raw files with the csv module and pandas, and the notebook run for real."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from hsp_eval.external import DATASETS, nyc
from hsp_eval.indicators.engine import COLUMNS
from hsp_eval.indicators.registry import REGISTRY

DATA = DATASETS["nyc-school-survey"].data_dir
GENED = DATA / "2011" / "survey_all.TRUNCATED.txt"
D75 = DATA / "2011" / "survey_d75.txt"
Y2019 = DATA / "2019" / "2019_PublicDataFile_Students.csv"


def _records(path):
    """Header and records of a 2011 file, read with the csv module (independent of the adapter)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def s2011():
    return nyc.read_2011(allow_truncated=True)


@pytest.fixture(scope="module")
def s2019():
    return nyc.read_2019()


# --- the cut-off file ----------------------------------------------------------------------------


def test_the_general_education_file_really_is_cut_off():
    header, records = _records(GENED)
    complete = [r for r in records if len(r) == len(header)]
    assert len(header) == 1942 and len(records) == 455
    assert len(complete) == 454
    assert len(records[-1]) == 668 and records[-1][0] == "09X404"


def test_truncated_file_raises_a_plain_error_by_default():
    with pytest.raises(nyc.TruncatedFileError) as e:
        nyc.read_2011()
    msg = str(e.value)
    for part in ("survey_all.TRUNCATED.txt", "row 456", "09X404", "668", "1,942", "cut off", "last row",
                 "t_q1a_4", "454 complete rows", "districts 01 to 09", "teacher and student item-level answers",
                 "allow_truncated=True"):
        assert part in msg, part


def test_allow_truncated_goes_on_with_complete_rows_and_keeps_the_report(s2011):
    assert s2011.truncation is not None and "row 456" in s2011.truncation
    cut = s2011.excluded[s2011.excluded["reason"].str.contains("cut off")]
    assert cut[["file", "row", "dbn"]].values.tolist() == [["survey_all.TRUNCATED.txt", 456, "09X404"]]
    assert "09X404" not in set(s2011.schools["dbn"])


def test_row_accounting_rows_read_equal_used_plus_excluded(s2011, s2019):
    acc = nyc.accounting(s2011, s2019)
    per_file = acc.groupby("file")["rows"].sum().to_dict()
    assert per_file == {"survey_all.TRUNCATED.txt": 455, "survey_d75.txt": 56,
                        "2019_PublicDataFile_Students.csv": 1829}
    used = acc[acc["outcome"] == "used"].set_index("file")["rows"]
    assert used.sum() == len(s2011.schools) + len(s2019)
    assert len(s2011.schools) + len(s2011.excluded) == 455 + 56
    excluded = acc[acc["outcome"].str.startswith("excluded")]
    assert set(excluded["outcome"]) == {"excluded: the row is cut off (the file is truncated)",
                                        "excluded: more parent respondents than parents (N_p > nr_p); "
                                        "the published rate is capped at 100%"}


def test_short_row_in_the_middle_is_a_damaged_file_even_when_truncation_is_allowed(tmp_path):
    (tmp_path / "2011").mkdir()
    shutil.copy(GENED, tmp_path / "2011" / GENED.name)
    lines = D75.read_bytes().split(b"\n")
    lines[3] = b"\t".join(lines[3].split(b"\t")[:40])  # row 4 cut short, followed by complete rows
    (tmp_path / "2011" / D75.name).write_bytes(b"\n".join(lines))
    with pytest.raises(ValueError, match=r"survey_d75.txt, row 4 \(school 75K053\): this row has 40 values .*damaged"):
        nyc.read_2011(tmp_path, allow_truncated=True)


def test_a_cut_off_copy_of_the_complete_file_is_found_too(tmp_path):
    (tmp_path / "2011").mkdir()
    shutil.copy(GENED, tmp_path / "2011" / GENED.name)
    data = D75.read_bytes()
    (tmp_path / "2011" / D75.name).write_bytes(data[: len(data) - 100])  # cut inside the last record
    with pytest.raises(nyc.TruncatedFileError) as e:
        nyc.read_2011(tmp_path)  # the D75 file is read first and fails first
    msg = str(e.value)
    assert "survey_d75.txt, row 57 (school 75X811" in msg and "55 complete rows" in msg
    assert "district 75" in msg and "student item-level answers" in msg


def test_value_that_is_not_a_number_is_named(tmp_path):
    (tmp_path / "2011").mkdir()
    shutil.copy(GENED, tmp_path / "2011" / GENED.name)
    header, records = _records(D75)
    records[9][header.index("nr_p")] = "many"
    with open(tmp_path / "2011" / D75.name, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter="\t", lineterminator="\n").writerows([header] + records)
    with pytest.raises(ValueError, match=r"survey_d75.txt, row 11, column 'nr_p': value 'many' is not a number"):
        nyc.read_2011(tmp_path, allow_truncated=True)


# --- headline numbers, recomputed from the raw files ---------------------------------------------


def _independent_2011():
    """(dbn, N_p, nr_p, part) of the usable 2011 schools, from the csv module: complete rows only,
    blank N_p with rr_p 0 as 0, N_p > nr_p left out."""
    out = []
    for part, path in (("District 75", D75), ("general education", GENED)):
        header, records = _records(path)
        i = {c: header.index(c) for c in ("dbn", "rr_p", "N_p", "nr_p")}
        for r in records:
            if len(r) != len(header):
                continue
            n = 0.0 if r[i["N_p"]] == "" and r[i["rr_p"]] == "0" else float(r[i["N_p"]])
            d = float(r[i["nr_p"]])
            if n <= d:
                out.append((r[i["dbn"]], n, d, part))
    return pd.DataFrame(out, columns=["dbn", "N_p", "nr_p", "part"])


def test_pooled_rates_match_the_raw_files(s2011):
    ind = _independent_2011()
    pooled = nyc.pooled_rates(s2011).set_index("part")
    d75 = pd.read_csv(D75, sep="\t", encoding="utf-8-sig")
    assert pooled.loc["District 75", "numerator"] == d75["N_p"].sum() == 7588  # SOURCE.txt: 7,588
    assert pooled.loc["District 75", "denominator"] == d75["nr_p"].sum() == 19896  # SOURCE.txt: 19,896
    assert round(100 * pooled.loc["District 75", "value"], 1) == 38.1  # SOURCE.txt: pooled parent RR 38.1%
    for part, g in ind.groupby("part"):
        assert pooled.loc[part, "schools"] == len(g)
        assert pooled.loc[part, "value"] == pytest.approx(g["N_p"].sum() / g["nr_p"].sum())
    g = ind[ind["part"] == "general education"]
    assert (len(g), g["N_p"].sum(), g["nr_p"].sum()) == (449, 98670, 197870)
    lo, hi = proportion_confint(ind["N_p"].sum(), ind["nr_p"].sum(), method="wilson")
    assert [pooled.loc["all read", "ci_low"], pooled.loc["all read", "ci_high"]] == pytest.approx([lo, hi])


def test_school_rows_are_indicator_rows_with_wilson_intervals(s2011, s2019):
    rows = nyc.response_rate_rows(s2011, s2019)
    assert list(rows.columns) == COLUMNS
    assert "instrument" in REGISTRY["survey_response_rate"].groups
    assert set(rows["indicator"]) == {"survey_response_rate"} and set(rows["group_type"]) == {"instrument"}
    assert rows.groupby("year").size().to_dict() == {2011: 505, 2019: 1829}
    assert not rows["suppressed"].any()
    r = rows[(rows["year"] == 2011) & (rows["area_id"] == "01M015")].iloc[0]
    lo, hi = proportion_confint(90, 150, method="wilson")
    assert (r["numerator"], r["denominator"], r["value"]) == (90, 150, 0.6)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    y19 = rows[rows["year"] == 2019]
    assert y19["ci_low"].isna().all() and y19["numerator"].isna().all()  # 2019 has no counts: no interval


def test_2019_file_with_its_embedded_newline_header(s2019):
    raw = pd.read_csv(Y2019, na_values=["N/A"], keep_default_na=False)
    parent = [c for c in raw.columns if "Parent" in c][0]
    assert "\n" in parent  # the header really has an embedded newline
    assert len(s2019) == 1829 and s2019["parent_rr"].tolist() == raw[parent].astype(float).tolist()
    assert raw[parent].median() == 56 and round(raw[parent].mean(), 1) == 55.1  # SOURCE.txt
    ties = raw["Strong Family-Community Ties Score"]
    table = nyc.family_ties_2019(s2019).set_index("part")
    assert table.loc["all", "scored"] == ties.notna().sum() == 1610  # SOURCE.txt: n=1,610
    assert table.loc["all", "not_scored"] == 219  # "N/A", never 0
    assert table.loc["all", "mean"] == pytest.approx(ties.mean())
    assert round(table.loc["all", "mean"], 2) == 3.74  # SOURCE.txt: mean 3.74


def test_2019_header_on_one_line_reads_the_same(tmp_path, s2019):
    (tmp_path / "2019").mkdir()
    text = Y2019.read_text(encoding="utf-8").replace('"Total Parent \nResponse Rate %"', "Total Parent Response Rate %", 1)
    (tmp_path / "2019" / Y2019.name).write_text(text, encoding="utf-8")
    pd.testing.assert_frame_equal(nyc.read_2019(tmp_path), s2019)


def test_2019_bad_value_is_named(tmp_path):
    (tmp_path / "2019").mkdir()
    text = Y2019.read_text(encoding="utf-8").replace("01M020,P.S. 020 ANNA SILVER,58,", "01M020,P.S. 020 ANNA SILVER,n.a.,", 1)
    (tmp_path / "2019" / Y2019.name).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"row 4, column 'Total Parent Response Rate %': value 'n.a.'"):
        nyc.read_2019(tmp_path)


def test_change_for_schools_in_both_years(s2011, s2019):
    ind = _independent_2011()
    raw = pd.read_csv(Y2019, na_values=["N/A"], keep_default_na=False)
    both = ind.merge(raw.rename(columns={"DBN": "dbn"}), on="dbn")
    change = nyc.rate_change(s2011, s2019)
    assert len(change) == len(both) == 447
    parent = [c for c in raw.columns if "Parent" in c][0]
    want = (both[parent] / 100 - both["N_p"] / both["nr_p"]).mean()
    assert change["change"].mean() == pytest.approx(want)
    assert (change["ci_low"] <= change["change"]).all() and (change["change"] <= change["ci_high"]).all()
    s = nyc.change_summary(change).set_index("part")
    assert s.loc["all", ["higher_in_2019", "lower_in_2019", "no_clear_change"]].sum() == 447


def test_funnel_limits_around_each_parts_pooled_rate(s2011):
    f = nyc.funnel(s2011)
    assert len(f) == len(s2011.schools)
    for part, g in f.groupby("part"):
        p0 = g["numerator"].sum() / g["denominator"].sum()
        assert np.allclose(g["target"], p0)
        half = 1.959964 * np.sqrt(p0 * (1 - p0) / g["denominator"])
        assert np.allclose(g["hi95"], np.clip(p0 + half, 0, 1))
    counts = nyc.funnel_counts(f)
    assert counts["schools"].sum() == len(s2011.schools)


def test_headline_table(s2011, s2019):
    h = nyc.headline(s2011, s2019).set_index("item")["value"]
    assert h["2011 rows read"] == "511"
    assert h["2011 rows excluded as cut off"] == "1"
    assert h["2011 pooled parent response, District 75 (%)"].startswith("38.1 (")
    assert h["schools in both years"] == "447"


@pytest.mark.slow
@pytest.mark.notebooks("external/nyc_school_survey.ipynb")  # the notebook's run in tests/conftest.py's notebook_runs
def test_notebook_runs_with_papermill_and_shows_the_cut_off_row(notebook_runs):
    html = notebook_runs["external/nyc_school_survey.ipynb"].html.read_text(encoding="utf-8")
    assert "cut off (truncated)" in html and "09X404" in html
    assert "sha256 2011/survey_all.TRUNCATED.txt" in html
