"""SSOCS 2019-20 adapter: headline numbers recomputed from the raw file with pandas/numpy, the figures in
SOURCE.txt, row accounting, bad input named by file, record and column, and the notebook run for real."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hsp_eval.external import DATASETS, ssocs

DATA = DATASETS["ssocs-2019-20"].data_dir
REPS = [f"REPFWT{i}" for i in range(1, 51)]


@pytest.fixture(scope="module")
def raw():
    # an independent reading path: pandas' own SPSS reader, no value conversion
    return pd.read_spss(DATA / "pu_ssocs20.sav", convert_categoricals=False)


@pytest.fixture(scope="module")
def schools():
    return ssocs.read()


@pytest.fixture(scope="module")
def table(schools):
    return ssocs.prevalence_table(schools)


def _by_hand(df: pd.DataFrame, item: str, yes=(1,)) -> tuple[float, float]:
    """Weighted share and JK1 standard error written out with numpy."""
    y = df[item].isin(yes).to_numpy(dtype=float)
    w = df["FINALWGT"].to_numpy()
    full = (w * y).sum() / w.sum()
    reps = np.array([(df[r].to_numpy() * y).sum() / df[r].sum() for r in REPS])
    return full, float(np.sqrt(49 / 50 * ((reps - full) ** 2).sum()))


def test_raw_file_is_byte_identical_to_its_source():
    md5 = re.search(r"md5 pu_ssocs20.sav (\w+)", (DATA / "SOURCE.txt").read_text()).group(1)
    assert hashlib.md5((DATA / "pu_ssocs20.sav").read_bytes()).hexdigest() == md5


def test_schools_and_weights_match_the_raw_file(raw, schools):
    assert len(raw) == len(schools) == 2370
    assert schools["SCHID"].tolist() == raw["SCHID"].tolist()
    assert schools["FINALWGT"].sum() == pytest.approx(raw["FINALWGT"].sum())
    assert round(raw["FINALWGT"].sum()) == 83109  # SOURCE.txt
    weighted = raw.groupby("FR_LVELX")["FINALWGT"].sum()
    got = schools.groupby("school_level", observed=True)["FINALWGT"].sum()
    assert got["primary"] == pytest.approx(weighted["1"]) and got["combined"] == pytest.approx(weighted["4"])


def test_row_accounting_rows_read_equal_used_plus_excluded(raw, schools):
    acc = ssocs.accounting(schools)
    assert acc.loc[acc["file"] == "pu_ssocs20.sav", "rows"].sum() == len(raw)
    for item in ssocs.ITEMS:
        mine = acc[acc["file"] == f"pu_ssocs20.sav: {item}"]
        assert mine["rows"].sum() == len(raw)
        used = int(mine.loc[mine["outcome"] == "used", "rows"].sum())
        assert used == int(raw[item].notna().sum())


@pytest.mark.parametrize("item", list(ssocs.ITEMS))
def test_all_schools_estimate_and_se_match_a_direct_computation(raw, table, item):
    est, se = _by_hand(raw, item, ssocs.ITEMS[item][2])
    row = table[(table["group_type"] == "all") & (table["item"] == item)].iloc[0]
    assert row["estimate"] == pytest.approx(est, rel=1e-12)
    assert row["se"] == pytest.approx(se, rel=1e-10)
    # t with the replicates' degrees of freedom (SSOCS 2019-20 has 50 JK1 replicates: 49)
    assert row["ci_low"] == pytest.approx(est - sps.t.ppf(0.975, 49) * se, abs=1e-6)
    assert row["unweighted"] == pytest.approx(raw[item].isin(ssocs.ITEMS[item][2]).mean())


def test_domains_match_a_direct_computation(raw, table):
    for code, level in ssocs.LEVELS.items():
        est, se = _by_hand(raw[raw["FR_LVELX"] == code], "C0192")
        row = table.query("group_type == 'school_level' and group == @level and item == 'C0192'").iloc[0]
        assert (row["estimate"], row["se"]) == pytest.approx((est, se), rel=1e-10)
    for code, place in ssocs.URBANICITY.items():
        est, se = _by_hand(raw[raw["FR_URBAN"] == code], "C0190")
        row = table.query("group_type == 'urbanicity' and group == @place and item == 'C0190'").iloc[0]
        assert (row["estimate"], row["se"]) == pytest.approx((est, se), rel=1e-10)


def test_headline_matches_the_figures_in_source_txt(table):
    h = ssocs.headline(table).set_index("item")
    # SOURCE.txt: C0190 weighted 57.0% (SE 1.45), unweighted 56.4%; C0192 52.0% (SE 1.26); C0204 78.9% (SE 1.03)
    assert (h.loc["C0190", "weighted_%"], h.loc["C0190", "SE"], h.loc["C0190", "unweighted_%"]) == (57.0, 1.45, 56.4)
    assert (h.loc["C0192", "weighted_%"], h.loc["C0192", "SE"]) == (52.0, 1.26)
    assert (h.loc["C0204", "weighted_%"], h.loc["C0204", "SE"]) == (78.9, 1.03)


def test_replicate_weights_have_the_jk1_pattern(raw):
    zeros = (raw[REPS] == 0).sum(axis=1)
    assert (zeros == 1).all()
    check = ssocs.replication_check(ssocs.read()).iloc[0]
    assert check["schools_with_weight_0_in_exactly_one_replicate_%"] == 100.0
    assert check["variance_multiplier"] == pytest.approx(49 / 50)


def test_published_comparison_keeps_the_series_and_adds_this_year(table):
    c = ssocs.published_comparison(table)
    pub = c[c["source"].str.startswith("published")]
    assert pub.query("item == 'C0190' and year == '2009-10'")["percent"].item() == 54.5
    assert pub.query("item == 'C0192' and year == '1999-2000'")["percent"].item() == 45
    now = c[c["year"] == "2019-20"].set_index("item")
    assert set(now.index) == {"C0190", "C0192", "C0204"}
    assert now.loc["C0190", "percent"] == pytest.approx(57.03, abs=0.01)


def test_bad_code_is_named_by_file_record_and_column(tmp_path, raw):
    import pyreadstat

    df, meta = pyreadstat.read_sav(str(DATA / "pu_ssocs20.sav"), usecols=ssocs.columns_used())
    df.loc[11, "C0192"] = 7.0
    pyreadstat.write_sav(df, str(tmp_path / "pu_ssocs20.sav"))
    with pytest.raises(ValueError, match=r"pu_ssocs20.sav, record 12 .*column 'C0192': value 7.0 is not one of"):
        ssocs.read(tmp_path)
    df.loc[11, "C0192"] = 1.0
    df.loc[3, "REPFWT7"] = -2.0
    pyreadstat.write_sav(df, str(tmp_path / "pu_ssocs20.sav"))
    with pytest.raises(ValueError, match=r"record 4 .*column 'REPFWT7': value -2.0 is not a replicate weight"):
        ssocs.read(tmp_path)
    pyreadstat.write_sav(df.drop(columns=["FINALWGT"]), str(tmp_path / "pu_ssocs20.sav"))
    with pytest.raises(ValueError, match="has no column FINALWGT"):
        ssocs.read(tmp_path)


def test_provenance_hashes_the_raw_file():
    rec = ssocs.provenance()
    assert rec["sha256 pu_ssocs20.sav"] == hashlib.sha256((DATA / "pu_ssocs20.sav").read_bytes()).hexdigest()
    assert rec["git_commit"] and rec["data_read_at"]


@pytest.mark.slow
@pytest.mark.notebooks("external/ssocs_2019_20.ipynb")  # the notebook's run in tests/conftest.py's notebook_runs
def test_notebook_runs_with_papermill(notebook_runs):
    html = notebook_runs["external/ssocs_2019_20.ipynb"].html.read_text(encoding="utf-8")
    assert "54.1 to 59.9" in html          # C0190, 95% interval of the weighted share (t, 49 df)
    assert "sha256 pu_ssocs20.sav" in html
    assert "associations" in html
