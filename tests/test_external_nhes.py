"""NHES PFI 2019 extract adapter: headline numbers recomputed from the raw file with pandas (and the figures in
SOURCE.txt), row accounting per indicator, bad input named by file, row and column, the notebook run for real."""

from __future__ import annotations

import hashlib
import math
import re

import numpy as np
import pandas as pd
import pytest

from hsp_eval.external import DATASETS, nhes
from hsp_eval.indicators.engine import COLUMNS

DATA = DATASETS["nhes-pfi-2019"].data_dir
ITEMS = ["FSSPORTX", "FSVOL", "FSMTNG", "FSPTMTNG", "FSATCNFN", "FSFUNDRS", "FSCOMMTE", "FSCOUNSLR"]


@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(DATA / "CuratedData.csv")


@pytest.fixture(scope="module")
def children():
    return nhes.read()


@pytest.fixture(scope="module")
def table(children):
    return nhes.national_table(children)


def _wilson(k: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _row(table, indicator, group_type="all", group="all"):
    r = table[(table["indicator"] == indicator) & (table["group_type"] == group_type) & (table["group"] == group)]
    assert len(r) == 1, (indicator, group_type, group)
    return r.iloc[0]


def test_raw_file_is_byte_identical_to_its_source():
    md5 = re.search(r"md5 (\w{32})", (DATA / "SOURCE.txt").read_text()).group(1)
    assert hashlib.md5((DATA / "CuratedData.csv").read_bytes()).hexdigest() == md5


def test_table_is_shaped_like_the_indicator_table(table):
    assert list(table.columns) == COLUMNS
    assert set(table["level"]) == {"national"} and set(table["area_id"]) == {"US"} and set(table["year"]) == {2019}
    assert not table["suppressed"].any()  # every group has far more than 5 children
    assert set(table["group_type"]) == {"all", "grade_band", "school_type", "parent_education", "race_ethnicity",
                                        "home_language"}


@pytest.mark.parametrize("item", ITEMS)
def test_each_activity_share_matches_pandas(raw, table, item):
    answered = raw[raw[item] != -1]
    k, n = int((answered[item] == 1).sum()), len(answered)
    r = _row(table, nhes.INDICATOR_OF[item])
    assert (r["numerator"], r["denominator"]) == (k, n)
    assert r["value"] == pytest.approx(k / n)
    lo, hi = _wilson(k, n)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi), abs=1e-9)


def test_activity_shares_match_the_figures_in_source_txt(table):
    # SOURCE.txt: unweighted, among valid 1/2 answers
    expected = {"FSMTNG": 85.1, "FSPTMTNG": 45.5, "FSATCNFN": 72.8, "FSSPORTX": 79.8, "FSVOL": 42.4,
                "FSFUNDRS": 58.4, "FSCOMMTE": 12.7, "FSCOUNSLR": 35.5}
    for item, pct in expected.items():
        assert round(100 * _row(table, nhes.INDICATOR_OF[item])["value"], 1) == pct


def test_any_activity_breadth_and_focus_match_pandas(raw, table):
    answered = raw[(raw[ITEMS] != -1).all(axis=1)]
    yes = answered[ITEMS] == 1
    breadth = yes.sum(axis=1)
    assert _row(table, "nhes_any_activity")["numerator"] == (breadth > 0).sum()
    assert _row(table, "nhes_any_activity")["denominator"] == len(answered)
    assert _row(table, "nhes_breadth")["value"] == pytest.approx(breadth.mean())
    counts = breadth.value_counts()
    for k in range(9):
        r = _row(table, f"nhes_breadth_{k}")
        assert r["numerator"] == counts.get(k, 0) and r["denominator"] == len(answered)
    dist = nhes.breadth_distribution(table)
    assert dist["numerator"].sum() == len(answered)
    school = yes[["FSSPORTX", "FSVOL", "FSMTNG", "FSPTMTNG", "FSFUNDRS", "FSCOMMTE"]].any(axis=1)
    conf = yes["FSATCNFN"]
    assert _row(table, "nhes_conference_only")["numerator"] == (conf & ~school).sum()
    assert _row(table, "nhes_school_only")["numerator"] == (~conf & school).sum()
    assert _row(table, "nhes_neither")["numerator"] == (~conf & ~school).sum()
    assert _row(table, "nhes_volunteer_or_committee")["numerator"] == (yes["FSVOL"] | yes["FSCOMMTE"]).sum()


def test_breakdowns_match_pandas(raw, table):
    band = raw["ALLGRADEX"].map(lambda g: "K-2" if g <= 5 else "3-5" if g <= 8 else "6-8" if g <= 11 else "9-12")
    ok = raw["FSATCNFN"] != -1
    for b, sub in raw[ok].groupby(band[ok]):
        r = _row(table, "nhes_conference", "grade_band", b)
        assert (r["numerator"], r["denominator"]) == ((sub["FSATCNFN"] == 1).sum(), len(sub))
    ok = raw["FSVOL"] != -1
    for code, label in {1: "public (in a building)", 2: "private or virtual"}.items():
        sub = raw[ok & (raw["EDCPUB"] == code)]
        r = _row(table, "nhes_volunteered", "school_type", label)
        assert (r["numerator"], r["denominator"]) == ((sub["FSVOL"] == 1).sum(), len(sub))
    assert (raw["EDCPUB"] == 1).sum() == 13782  # SOURCE.txt
    for code, label in {1: "less than high school", 5: "graduate or professional degree"}.items():
        sub = raw[(raw["FSSPORTX"] != -1) & (raw["PARGRADEX"] == code)]
        assert _row(table, "nhes_school_event", "parent_education", label)["value"] == pytest.approx(
            (sub["FSSPORTX"] == 1).mean())
    sub = raw[(raw["FSMTNG"] != -1) & (raw["CSPEAKX"] == 3)]
    assert _row(table, "nhes_general_meeting", "home_language", "Spanish")["denominator"] == len(sub)
    sub = raw[(raw["FSPTMTNG"] != -1) & (raw["RACEETH"] == 2)]
    assert _row(table, "nhes_pto_meeting", "race_ethnicity", "Black")["numerator"] == (sub["FSPTMTNG"] == 1).sum()


def test_row_accounting_rows_read_equal_used_plus_excluded(raw, children):
    acc = nhes.accounting(children)
    n_lines = len((DATA / "CuratedData.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert n_lines == len(raw) == 15500
    files = acc["file"].unique()
    assert len(files) == 1 + 8 + 9  # the file, eight items, any/support/meeting/volunteer, four combinations, breadth
    for f in files:
        assert acc.loc[acc["file"] == f, "rows"].sum() == n_lines
    for item in ITEMS:
        mine = acc[acc["file"] == f"CuratedData.csv: {nhes.INDICATOR_OF[item]}"].set_index("outcome")["rows"]
        assert mine["used"] == (raw[item] != -1).sum()
        assert mine["excluded: valid skip (-1): not asked about this child"] == (raw[item] == -1).sum() == 126


def test_published_comparison(table):
    c = nhes.published_comparison(table).set_index("indicator")
    assert c.loc["nhes_conference", "2016"] == 78 and c.loc["nhes_general_meeting", "1996"] == 77
    assert c.loc["nhes_conference", "extract_2019_unweighted"] == 72.8
    assert c.loc["nhes_conference", "minus_latest_published"] == pytest.approx(-5.2)
    assert "unweighted" in nhes.UNWEIGHTED_NOTE and "too narrow" in nhes.UNWEIGHTED_NOTE


def _write(tmp_path, raw: pd.DataFrame) -> None:
    raw.to_csv(tmp_path / "CuratedData.csv", index=False)


def test_bad_code_is_named_by_file_row_and_column(tmp_path, raw):
    bad = raw.copy()
    bad.loc[6, "FSVOL"] = 3
    _write(tmp_path, bad)
    with pytest.raises(ValueError, match=r"CuratedData.csv, row 8, column 'FSVOL': value '3' is not 1 \(yes\)"):
        nhes.read(tmp_path)
    bad = raw.copy().astype({"PARGRADEX": "object"})
    bad.loc[0, "PARGRADEX"] = "x"
    _write(tmp_path, bad)
    with pytest.raises(ValueError, match=r"row 2, column 'PARGRADEX': value 'x' is not a whole number"):
        nhes.read(tmp_path)
    _write(tmp_path, raw.drop(columns=["FSCOMMTE"]))
    with pytest.raises(ValueError, match="row 1: the header has no column FSCOMMTE"):
        nhes.read(tmp_path)


def test_provenance_hashes_the_raw_file():
    rec = nhes.provenance()
    assert rec["sha256 CuratedData.csv"] == hashlib.sha256((DATA / "CuratedData.csv").read_bytes()).hexdigest()
    assert rec["git_commit"] and rec["data_read_at"] and rec["weights"] == "none"


def test_flags_treat_valid_skip_as_not_asked():
    c = pd.DataFrame({k: [1, 2, -1, 2] for k in ITEMS})
    c.loc[3, "FSATCNFN"] = 1
    c.loc[3, "FSVOL"] = -1
    f = nhes.flags(c)
    assert f["nhes_any_activity"].tolist()[:2] == [1.0, 0.0]
    assert np.isnan(f.loc[2, "nhes_any_activity"]) and np.isnan(f.loc[2, "nhes_conference"])
    # row 3: a yes makes "any" known even with a skipped part; breadth needs all eight
    assert f.loc[3, "nhes_any_activity"] == 1.0 and np.isnan(f.loc[3, "nhes_breadth"])


@pytest.mark.slow
@pytest.mark.notebooks("external/nhes_pfi_2019.ipynb")  # the notebook's run in tests/conftest.py's notebook_runs
def test_notebook_runs_with_papermill(notebook_runs):
    html = notebook_runs["external/nhes_pfi_2019.ipynb"].html.read_text(encoding="utf-8")
    assert "72.1 to 73.5" in html               # conference share, Wilson interval
    assert "no survey weights" in html or "without survey weights" in html
    assert "Associations, not causes" in html
    assert "sha256 CuratedData.csv" in html
