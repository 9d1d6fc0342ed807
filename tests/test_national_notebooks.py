"""The national overview and the inquiry-impact notebooks, run for real on the demo with papermill.

Each notebook is executed once a session by :func:`hsp_eval.run.execute.run_notebook` (the
``notebook_runs`` fixture of ``tests/conftest.py``: as a template, with no parameters, and with the
parameters given there); the HTML must hold every section heading of the template and no student,
family or respondent ID of the demo data, and the key values the notebook prints (its
``# CHECKED_OUTPUT`` cell) must equal the indicator table's.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from hsp_eval.run import demo
from hsp_eval.indicators import engine as indicators, stats

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
DEMO = ROOT / "data" / "demo"


#: each view's run in tests/conftest.py's notebook_runs
VIEWS = {"national": "national_overview.ipynb", "national_region": "national_overview Northland 2024-2025",
         "inquiry_all": "inquiry_impact.ipynb", "inquiry_school": "inquiry_impact 0113 reading"}

pytestmark = pytest.mark.notebooks(*VIEWS.values())


@pytest.fixture(scope="module")
def runs(notebook_runs):
    return {k: {"ipynb": notebook_runs[key].ipynb, "html": notebook_runs[key].html} for k, key in VIEWS.items()}


def _headings(notebook: Path) -> list[str]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return [m.group(1).strip() for m in re.finditer(r"^#{1,3} (.+)$", text, flags=re.M)]


def _text(html_path: Path) -> str:
    """The HTML's text with embedded images removed (base64 is not text a reader sees)."""
    raw = html_path.read_text(encoding="utf-8")
    raw = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+", "", raw)
    raw = re.sub(r"<(style|script)\b.*?</\1>", " ", raw, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", raw)))


def _ids() -> set[str]:
    e = pd.read_csv(DEMO / "enrolments.csv", dtype=str)
    r = pd.read_csv(DEMO / "survey_respondents.csv", dtype=str)
    return set(e["student_id"]) | set(e["family_id"]) | set(r["respondent_id"]) | set(r["family_id"].dropna())


def _check_output(ipynb: Path) -> str:
    cells = json.loads(ipynb.read_text(encoding="utf-8"))["cells"]
    cell = next(c for c in cells if c["cell_type"] == "code" and "# CHECKED_OUTPUT" in "".join(c["source"]))
    return "".join("".join(o.get("text", "")) for o in cell["outputs"] if o["output_type"] == "stream")


@pytest.mark.parametrize("key,notebook", [("national", "national_overview.ipynb"),
                                          ("national_region", "national_overview.ipynb"),
                                          ("inquiry_all", "inquiry_impact.ipynb"),
                                          ("inquiry_school", "inquiry_impact.ipynb")])
def test_every_section_and_no_ids(runs, key, notebook):
    text = _text(runs[key]["html"])
    headings = _headings(NOTEBOOKS / notebook)
    assert len(headings) >= 7
    for h in headings:
        assert h in text, f"{key}: section {h!r} missing from the HTML"
    assert text.index("Provenance") > text.index(headings[-2]), "provenance must come last"
    tokens = set(re.findall(r"[0-9A-Za-z][0-9A-Za-z-]*", text))
    leaked = tokens & _ids()
    assert not leaked, f"{key}: IDs in the report: {sorted(leaked)[:5]}"
    assert "Traceback" not in text and "Error" not in text


def test_national_key_values_equal_the_table(runs):
    table = indicators.read_table(demo.default(None, "publication"))
    lines = [ln.split() for ln in _check_output(runs["national"]["ipynb"]).strip().splitlines()[1:]]
    assert len(lines) == 8
    for ind, year, value, _lo, _to, _hi, den in lines:
        row = indicators.select(table, ind, area_id="NZ", year=int(year), level="national").iloc[0]
        assert value == f"{row['value'] * 100:.1f}%"
        assert int(den) == int(row["denominator"])


def test_national_region_view_says_why_no_model(runs):
    text = _text(runs["national_region"]["html"])
    assert "Area: Northland" in text and "could not be fitted" in text
    assert "Auckland" not in text.split("Equity gaps by region")[1].split("Equity gaps by Equity Index")[0]


def test_national_report_is_in_publication_mode(runs):
    text = _text(runs["national"]["html"])
    assert "Publication mode" in text and "randomly rounded to base 3" in text
    assert "rank" not in text.lower().replace("ranked", "")  # no league tables


@pytest.mark.parametrize("key,level,area,path_key", [("inquiry_all", "national", "NZ", "publication"),
                                                     ("inquiry_school", "school", "0113", "indicators")])
def test_inquiry_key_values_equal_the_table(runs, key, level, area, path_key):
    table = indicators.read_table(demo.default(None, path_key))
    out = _check_output(runs[key]["ipynb"]).strip().splitlines()[1:]
    from hsp_eval.indicators.registry import REGISTRY
    from hsp_eval.indicators.topics.inquiry import STEPS

    steps = list(STEPS)  # the steps' indicators, in cycle order
    assert len(out) == 4
    for line, ind in zip(out, steps):
        assert line.strip().startswith(REGISTRY[ind].label)
        year, value = line.split(REGISTRY[ind].label)[1].split()[:2]
        row = indicators.select(table, ind, area_id=area, year=int(year), level=level).iloc[0]
        assert int(year) == int(table["year"].max())
        assert value == f"{row['value'] * 100:.1f}%"


def test_inquiry_says_association_not_cause(runs):
    for key in ("inquiry_all", "inquiry_school"):
        text = _text(runs[key]["html"])
        assert "association, not proof of cause" in text
        assert "led to" not in text


# --- the library behind the two notebooks ---------------------------------------------------------

def _school_rows(rows):
    base = {"level": "school", "indicator": "reach", "ci_low": float("nan"), "ci_high": float("nan")}
    df = pd.DataFrame([{**base, **r} for r in rows])
    df["value"] = df["numerator"] / df["denominator"]
    df["suppressed"] = df["numerator"].isna()
    return df


def test_band_rows_sum_shown_school_rows_hand_worked():
    from hsp_eval.reports import national

    t = _school_rows([
        {"area_id": "A", "year": 2024, "group_type": "all", "group": "all", "numerator": 60.0, "denominator": 90.0},
        {"area_id": "A", "year": 2024, "group_type": "ethnicity_prioritised", "group": "Māori", "numerator": 12.0,
         "denominator": 30.0},
        {"area_id": "B", "year": 2024, "group_type": "all", "group": "all", "numerator": 30.0, "denominator": 60.0},
        {"area_id": "B", "year": 2024, "group_type": "ethnicity_prioritised", "group": "Māori", "numerator": 9.0,
         "denominator": 15.0},
        {"area_id": "C", "year": 2024, "group_type": "all", "group": "all", "numerator": 21.0, "denominator": 42.0},
        {"area_id": "C", "year": 2024, "group_type": "ethnicity_prioritised", "group": "Māori",
         "numerator": float("nan"), "denominator": 3.0},
    ])
    schools = pd.DataFrame({"school_id": ["A", "B", "C"], "eqi_band": ["more barriers (480-569)"] * 3})
    b = national.band_rows(t, schools, "reach", "ethnicity_prioritised").set_index(["indicator", "group"])
    # the school rows are published ones (counts on base 3): their sums add nothing a reader could not add
    # all: (60 + 30 + 21) / (90 + 60 + 42); Māori: (12 + 9) / (30 + 15), C's suppressed group left out;
    # values written to 0.001 as publication requires
    assert b.loc[("reach", "all"), "value"] == round(111 / 192, 3)
    assert b.loc[("reach", "Māori"), "value"] == round(21 / 45, 3)
    assert b.loc[("reach", "Māori"), "schools"] == 2
    # gap: Māori 21/45 minus the rest of A and B: (60 - 12 + 30 - 9) / (90 - 30 + 60 - 15) = 69/105
    gap = b.loc[("reach_gap_vs_rest", "Māori")]
    assert gap["value"] == round(21 / 45 - 69 / 105, 3)
    assert gap["ci_low"] < gap["value"] < gap["ci_high"]
    assert (b["denominator"] % 3 == 0).all() and (b["numerator"].dropna() % 3 == 0).all()
    # the band's families are nested in its three schools: the interval is Wilson's on the effective
    # size from the schools' spread (ratio estimator, G / (G - 1), t with 2 degrees of freedom), worked
    # out here by hand
    y, x = np.array([60.0, 30, 21]), np.array([90.0, 60, 42])
    r = y.sum() / x.sum()
    v = 3 / 2 * ((y - r * x) ** 2).sum() / x.sum() ** 2
    n_eff = r * (1 - r) / v * (sps.norm.ppf(0.975) / sps.t.ppf(0.975, 2)) ** 2
    ratio = round(min(n_eff, 192) / 192, 2)
    lo, hi = stats.wilson([111 * ratio], [192 * ratio])
    assert ratio < 1 and (b.loc[("reach", "all"), "ci_low"], b.loc[("reach", "all"), "ci_high"]) == \
        (round(lo[0], 3), round(hi[0], 3))


def test_school_view_is_the_published_school_rows():
    """The overview shows school rows only as the publication table holds them: rounded counts,
    values from them, withheld rows blank (publication rules were applied when it was made)."""
    from hsp_eval.reports import national

    pub = indicators.read_table(demo.default(None, "publication"))
    v = national.school_view(pub)
    assert (v["level"] == "school").all() and len(v) == (pub["level"] == "school").sum()
    shown = v[~v["suppressed"]]
    den = shown["denominator"].dropna()  # derived rows (gaps of shares, alpha) show a value only
    assert len(den) and (den % 3 == 0).all() and (den >= 6).all()
    assert v.loc[v["suppressed"], ["numerator", "denominator", "value"]].isna().all().all()


def test_restrict_to_an_unknown_region_names_the_regions():
    from hsp_eval.reports import national

    t = pd.DataFrame({"level": ["region"], "area_id": ["Otago"], "year": [2024]})
    with pytest.raises(ValueError, match="'Atlantis'.*Otago"):
        national.restrict(t, pd.DataFrame({"school_id": [], "region": []}), region="Atlantis")


@pytest.fixture(scope="module")
def demo_school():
    import hsp_eval

    return hsp_eval.load_dataset(demo.default(None, "data_dir")).for_schools(["0113"])


def test_with_and_without_agrees_with_the_indicator_table(demo_school):
    from hsp_eval.reports import inquiry_impact

    table = indicators.read_table(demo.default(None, "indicators"))
    w = inquiry_impact.with_and_without(demo_school, "0113", min_n=1).set_index(["group_type", "group"])
    school = table[(table["level"] == "school") & (table["area_id"] == "0113")]
    acc = school[school["indicator"] == "accelerated_rate"]
    assert w.loc[("all", "all"), "numerator"] == acc["numerator"].sum()
    assert w.loc[("all", "all"), "denominator"] == acc["denominator"].sum()
    cd = school[(school["indicator"] == "accelerated_by_codesign") & (school["group"] != "adjusted_odds_ratio")]
    for grp, mine in (("codesigned", "with step"), ("not_codesigned", "without step")):
        rows = cd[cd["group"] == grp]
        assert w.loc[("step:target_whanau_codesigned", mine), "numerator"] == rows["numerator"].sum()
        assert w.loc[("step:target_whanau_codesigned", mine), "denominator"] == rows["denominator"].sum()
    # each split covers every student-measure once
    for gt in ("ethnicity_prioritised", "year_band", "step:target_family_goal"):
        assert w.loc[gt, "denominator"].sum() == w.loc[("all", "all"), "denominator"]


def test_with_and_without_suppresses_small_groups(demo_school):
    from hsp_eval.reports import inquiry_impact

    every = inquiry_impact.with_and_without(demo_school, "0113", measure="reading", min_n=1)
    w = inquiry_impact.with_and_without(demo_school, "0113", measure="reading", min_n=5)
    small = w[(every["denominator"] < 5).to_numpy()]
    assert len(small) and small["suppressed"].all() and small["value"].isna().all()
    assert small[["numerator", "denominator"]].isna().all().all()  # the count of students is withheld too


def test_target_students_blank_when_suppressed():
    from hsp_eval.reports import inquiry_impact

    table = indicators.read_table(demo.default(None, "indicators"))
    who = inquiry_impact.target_students(table, "0113")
    assert who["suppressed"].any()
    assert who.loc[who["suppressed"], "target_students"].isna().all()
    assert (who.loc[~who["suppressed"], "target_students"] >= 5).all()
    with pytest.raises(ValueError, match="no school rows for 9999"):
        inquiry_impact.target_students(table, "9999")


def test_codesign_fit_says_why_when_it_cannot_fit(demo_school):
    from hsp_eval.reports import inquiry_impact

    fit = inquiry_impact.codesign_fit(demo_school, "0113", years=[2023], measure="maths")
    assert fit.empty and "cannot fit" in fit.attrs["reason"] and "not proof of cause" in fit.attrs["note"]
