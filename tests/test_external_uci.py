"""UCI Student Performance adapter: headline numbers recomputed from the raw files, row accounting,
bad input named by file, row and column, and the notebook run for real with papermill."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from hsp_eval.external import DATASETS, uci

DATA = DATASETS["uci-student-performance"].data_dir


@pytest.fixture(scope="module")
def students():
    return uci.read()


def _raw(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name, sep=";")


def test_rows_and_schools_match_the_raw_files(students):
    for subject, name in uci.FILES.items():
        raw = _raw(name)
        got = students[students["subject"] == subject]
        assert len(got) == len(raw)
        assert got.groupby("school").size().to_dict() == raw.groupby("school").size().to_dict()
    assert students.groupby("subject").size().to_dict() == {"mathematics": 395, "portuguese": 649}


def test_row_accounting_rows_read_equal_used_plus_excluded(students):
    acc = uci.accounting(students)
    for name in uci.FILES.values():
        n_lines = len((DATA / name).read_text(encoding="utf-8").splitlines()) - 1  # no quoted newlines here
        assert acc.loc[acc["file"] == name, "rows"].sum() == n_lines
        assert acc.loc[(acc["file"] == name) & (acc["outcome"] == "used"), "rows"].item() == n_lines


def test_famsup_by_school_matches_pandas_and_source_figures(students):
    table = uci.famsup_by_school(students).set_index(["subject", "school"])
    for subject, name in uci.FILES.items():
        raw = _raw(name)
        share = raw.assign(y=raw["famsup"] == "yes").groupby("school")["y"].mean()
        for school, v in share.items():
            assert table.loc[(subject, school), "value"] == pytest.approx(v)
            assert table.loc[(subject, school), "ci_low"] < v < table.loc[(subject, school), "ci_high"]
    # figures stated in SOURCE.txt (computed there with pandas)
    assert round(100 * table.loc[("mathematics", "GP"), "value"], 1) == 64.2
    assert round(100 * table.loc[("mathematics", "MS"), "value"], 1) == 39.1
    assert round(100 * table.loc[("portuguese", "GP"), "value"], 1) == 63.6
    assert round(100 * table.loc[("portuguese", "MS"), "value"], 1) == 57.1


def test_famrel_and_grades_match_pandas(students):
    famrel = uci.famrel_by_school(students).set_index(["subject", "school"])
    grades = uci.grades_by_school(students).set_index(["subject", "school", "period"])
    for subject, name in uci.FILES.items():
        raw = _raw(name)
        for school, g in raw.groupby("school"):
            assert famrel.loc[(subject, school), "mean"] == pytest.approx(g["famrel"].mean())
            for period in ("G1", "G2", "G3"):
                assert grades.loc[(subject, school, period), "mean"] == pytest.approx(g[period].mean())
    dist = uci.famrel_distribution(students)
    assert (dist.groupby(["subject", "school"])["value"].sum().round(12) == 1).all()
    assert len(dist) == 2 * 2 * 5  # every rating listed, zeros included


def test_pass_rate_matches_source(students):
    passed = students.groupby("subject")["passed"].mean()
    assert round(100 * passed["mathematics"], 1) == 67.1
    assert round(100 * passed["portuguese"], 1) == 84.6


@pytest.mark.parametrize("subject", ["mathematics", "portuguese"])
def test_odds_ratio_equals_a_direct_statsmodels_fit(students, subject):
    raw = _raw(uci.FILES[subject])
    data = pd.DataFrame({"passed": (raw["G3"] >= 10).astype(int), "support": (raw["famsup"] == "yes").astype(int),
                         "G1": raw["G1"]})
    res = smf.logit("passed ~ support + G1", data=data).fit(disp=0)
    want_or = np.exp(res.params["support"])
    want_ci = np.exp(res.conf_int().loc["support"]).to_numpy()
    fit = uci.famsup_model(students)
    got = fit[(fit["subject"] == subject) & (fit["term"] == "famsup")].iloc[0]
    assert got["odds_ratio"] == pytest.approx(want_or, rel=1e-6)
    assert [got["ci_low"], got["ci_high"]] == pytest.approx(list(want_ci), rel=1e-6)
    assert got["n"] == len(raw)
    assert "association, not proof of cause" in fit.attrs["note"]
    assert "only for" in fit.attrs["note"] and "G1" in fit.attrs["note"]


def test_headline_values(students):
    h = uci.headline(students).set_index("subject")
    assert h.loc["mathematics", "famsup_OR"] == 0.85
    assert h.loc["portuguese", "famsup_OR"] == 0.99
    assert h.loc["mathematics", "OR_95%_CI"] == "0.45 to 1.63"


def test_bad_grade_is_named_by_file_row_and_column(tmp_path):
    for name in list(uci.FILES.values()):
        shutil.copy(DATA / name, tmp_path / name)
    lines = (tmp_path / "student-por.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4].rsplit(";", 1)[0] + ";25\n"  # row 5: final grade 25 on a 0-20 scale
    (tmp_path / "student-por.csv").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ValueError) as e:
        uci.read(tmp_path)
    msg = str(e.value)
    assert "student-por.csv" in msg and "row 5" in msg and "'G3'" in msg and "'25'" in msg and "0 to 20" in msg


def test_wrong_separator_is_explained(tmp_path):
    for name in uci.FILES.values():
        text = (DATA / name).read_text(encoding="utf-8").replace(";", ",")
        (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"student-mat.csv, row 1: .*';'-separated"):
        uci.read(tmp_path)


def test_provenance_hashes_the_raw_files():
    import hashlib

    rec = uci.provenance()
    for name in uci.FILES.values():
        assert rec[f"sha256 {name}"] == hashlib.sha256((DATA / name).read_bytes()).hexdigest()
    assert rec["git_commit"] and rec["data_read_at"]


@pytest.mark.slow
@pytest.mark.notebooks("external/uci_student_performance.ipynb")  # the notebook's run in tests/conftest.py's notebook_runs
def test_notebook_runs_with_papermill(notebook_runs):
    html = notebook_runs["external/uci_student_performance.ipynb"].html.read_text(encoding="utf-8")
    assert "association, not proof of cause" in html
    assert "sha256 student-mat.csv" in html
    assert "0.45 to 1.63" in html
