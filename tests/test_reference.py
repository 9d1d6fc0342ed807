"""Schools like ours (issue 21): reference groups, the reading of a school against them, and their disclosure.

- The reference figures equal an independent computation (each group's values filtered by hand,
  ``np.percentile``) on the demo and on a generated set of 60 schools;
- the fallbacks (type and band, then type, then all schools, then none) trigger where they
  should, on a hand-made table;
- the figures depend on published school values only: a withheld value does not change them,
  whatever it is, so it cannot be worked out from them;
- the school the generator makes unusually one-way (``school1_one_way_deficit_contact``) reads
  "below most schools like ours" on contacts started by families; a school in the middle reads
  "within the usual range"; a frozen reference year compares every year with the same figures;
- the section in a real batch on the generated set: the evaluation and the summary, and the
  audit passes with their recorded reference figures.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hsp_eval import synthetic
from hsp_eval.indicators.params import write_starter
from hsp_eval.reports import reference
from hsp_eval.reports.prepared import NO_EQI, schools_table
from hsp_eval.run import demo

ROOT = Path(__file__).resolve().parents[1]
IND = list(reference.reference_indicators())
FIGURES = ["q25", "median", "q75"]
#: the generated set: small enough for a test (60 schools), the seed and years of the 250-school example
GENERATED = {"n_schools": 60, "years": [2022, 2023, 2024, 2025], "seed": 7}


# ---------------------------------------------------------------------------------------------
# the independent computation

def expected(publication: pd.DataFrame, schools: pd.DataFrame, min_schools: int = reference.MIN_SCHOOLS):
    """The reference table worked out one cell at a time: filter the group's shown values, take percentiles."""
    p = publication[(publication["level"] == "school") & (publication["group_type"] == "all")
                    & publication["indicator"].isin(IND)]
    kinds = p[["year", "indicator"]].drop_duplicates().itertuples(index=False)
    shown = p[~p["suppressed"] & p["value"].notna()].merge(schools, left_on="area_id", right_on="school_id")
    rows = []
    for year, ind in kinds:
        v = shown[(shown["year"] == year) & (shown["indicator"] == ind)]
        for t, b in schools[["school_type", "eqi_band"]].drop_duplicates().itertuples(index=False):
            groups = [("type_and_band", v[(v["school_type"] == t) & (v["eqi_band"] == b)] if b != NO_EQI else v.iloc[:0]),
                      ("type", v[v["school_type"] == t]), ("all", v)]
            for name, g in groups:
                if len(g) >= min_schools:
                    q = np.percentile(g["value"].to_numpy(), [25, 50, 75])
                    rows.append((t, b, year, ind, name, len(g), *np.round(q, 3)))
                    break
            else:
                rows.append((t, b, year, ind, "none", len(v), np.nan, np.nan, np.nan))
    cols = ["school_type", "eqi_band", "year", "indicator", "grouping", "schools", *FIGURES]
    return pd.DataFrame(rows, columns=cols).sort_values(cols[:4]).reset_index(drop=True)


def assert_same(ref: pd.DataFrame, exp: pd.DataFrame) -> None:
    got = ref.drop(columns="compared_with").sort_values(["school_type", "eqi_band", "year", "indicator"])
    got = got.reset_index(drop=True)
    pd.testing.assert_frame_equal(got[exp.columns], exp, check_dtype=False, atol=5e-4 + 1e-12, rtol=0)


# ---------------------------------------------------------------------------------------------
# the generated set, through a real batch (data step, and both school reports of the planted school)

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """60 generated schools through the batch: its data step for all, both reports of the one-way school."""
    from hsp_eval.run.batch import run_batch

    base = tmp_path_factory.mktemp("reference")
    data = base / "data"
    synthetic.write_dataset(data, GENERATED["n_schools"], GENERATED["years"], seed=GENERATED["seed"], fmt="parquet")
    shutil.copy(ROOT / "data" / "demo" / "disclosure.key", data / "disclosure.key")  # the demo's, not secret
    ids = sorted(pd.read_parquet(data / "schools.parquet")["school_id"])
    planted = ids[1]  # KNOWN_EFFECTS' school index 1: schools are numbered in school_id order
    params = base / "params"
    write_starter(params, planted)
    result = run_batch(data, params, base / "reports", schools=[planted], national=False, progress=False, log=None)
    assert set(result.manifest["status"]) == {"ok"}, result.failed[["notebook", "error"]].to_string()
    folder = base / "reports" / "_data"
    return {"data": data, "reports": base / "reports", "folder": folder, "planted": planted,
            "publication": pd.read_parquet(folder / "publication.parquet"),
            "indicators": pd.read_parquet(folder / "indicators.parquet", filters=[("level", "==", "school")]),
            "schools": pd.read_parquet(folder / "schools.parquet"),
            "reference": pd.read_parquet(folder / "reference.parquet")}


def test_the_planted_school_is_the_one_way_school():
    assert "school1_one_way_deficit_contact" in synthetic.KNOWN_EFFECTS
    assert synthetic.KNOWN_EFFECTS["school1_one_way_deficit_contact"]["parameters"]["two_way_share"] == 0.10


@pytest.mark.slow
def test_figures_equal_an_independent_computation_on_a_generated_set(generated):
    ref = generated["reference"]
    assert list(ref.columns) == reference.COLUMNS and "school_id" not in ref and "area_id" not in ref
    assert_same(ref, expected(generated["publication"], generated["schools"]))
    assert (ref["grouping"] != "none").all(), "60 schools: every indicator has 20 with a published value"


def test_figures_equal_an_independent_computation_on_the_demo():
    """The demo's 24 schools: no type has 20, so every compared measure falls back to all schools (20-24
    with a published value); the co-design measure has too few; with a minimum of 3 its types compare."""
    folder = demo.paths()["publication"].parent
    pub, schools = pd.read_parquet(folder / "publication.parquet"), pd.read_parquet(folder / "schools.parquet")
    ref = pd.read_parquet(folder / "reference.parquet")
    assert set(ref["grouping"]) == {"all", "none"}
    assert set(ref.loc[ref["grouping"] == "none", "indicator"]) == {"target_whanau_codesigned"}
    assert ref.loc[ref["grouping"] == "all", "schools"].between(20, 24).all()
    assert ref.loc[ref["grouping"] == "none", FIGURES].isna().all().all()
    assert_same(ref, expected(pub, schools))
    rows = reference.publication_school_rows(folder / "publication.parquet")
    small = reference.reference_table(rows, schools, min_schools=3)
    assert {"type_and_band", "type", "all"} <= set(small["grouping"])
    assert_same(small, expected(pub, schools, min_schools=3))


# ---------------------------------------------------------------------------------------------
# fallbacks, on a hand-made table

def _cells(counts: dict, year: int = 2025) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Schools ``{(type, eqi): n}`` with a shown reach value each (0.01, 0.02, ...), and their schools table."""
    schools, rows, k = [], [], 0
    for (stype, eqi), n in counts.items():
        for _ in range(n):
            k += 1
            sid = f"{k:04d}"
            schools.append({"school_id": sid, "school_name": f"S{k}", "region": "Otago", "school_type": stype,
                            "eqi": eqi})
            rows.append({"level": "school", "area_id": sid, "year": year, "indicator": "reach", "group_type": "all",
                         "group": "all", "value": k / 100, "suppressed": False})
    return pd.DataFrame(rows), schools_table(pd.DataFrame(schools))


def _grouping(ref: pd.DataFrame, stype: str, band: str) -> tuple[str, int]:
    r = ref[(ref["school_type"] == stype) & (ref["eqi_band"] == band)].iloc[0]
    return r["grouping"], int(r["schools"])


MODERATE, FEWER = "moderate barriers (420-479)", "fewer barriers (344-419)"


def test_fallbacks_trigger_where_they_should():
    rows, schools = _cells({("Contributing", 450): 25, ("Contributing", 400): 12, ("Contributing", None): 3,
                            ("Full Primary", 450): 6})
    ref = reference.reference_table(rows, schools, ["reach"])
    assert _grouping(ref, "Contributing", MODERATE) == ("type_and_band", 25)
    assert _grouping(ref, "Contributing", FEWER) == ("type", 40)     # 12 of its band: the type's 40
    assert _grouping(ref, "Contributing", NO_EQI) == ("type", 40)    # no Equity Index: never a band
    assert _grouping(ref, "Full Primary", MODERATE) == ("all", 46)   # 6 of its type: all 46
    assert ref.loc[ref["school_type"] == "Full Primary", "compared_with"].iloc[0] == "all schools in the data"
    assert ref.loc[(ref["eqi_band"] == MODERATE) & (ref["school_type"] == "Contributing"), "compared_with"].iloc[0] \
        == "contributing schools with moderate barriers (Equity Index 420-479)"
    assert_same(ref, expected(rows, schools).query("indicator == 'reach'").reset_index(drop=True))
    # withheld values do not count: six of the 25 withheld leave 19, so the band falls back to the type
    cm = rows.index[:6]
    rows.loc[cm, "suppressed"] = True
    rows.loc[cm, "value"] = np.nan
    assert _grouping(reference.reference_table(rows, schools, ["reach"]), "Contributing", MODERATE) == ("type", 34)
    # fewer than 20 schools with a value in all: no figures, and the count of all schools with one
    few = reference.reference_table(*_cells({("Contributing", 450): 15, ("Special", 450): 4}), ["reach"])
    assert set(few["grouping"]) == {"none"} and few[FIGURES].isna().all().all() and set(few["schools"]) == {19}


def test_every_year_and_indicator_gets_its_own_grouping():
    a, schools = _cells({("Contributing", 450): 22}, 2024)
    b = a.assign(year=2025, suppressed=[True] * 3 + [False] * 19)
    ref = reference.reference_table(pd.concat([a, b]), schools, ["reach"])
    assert ref.set_index("year")["grouping"].to_dict() == {2024: "type_and_band", 2025: "none"}


# ---------------------------------------------------------------------------------------------
# disclosure: published values only, at least 20 schools

@pytest.mark.slow
def test_a_withheld_value_does_not_change_the_reference_so_cannot_be_worked_out(generated):
    """A school's own report shows values that publication withholds; whatever they are, the reference is the same."""
    pub, ind, schools = generated["publication"], generated["indicators"], generated["schools"]
    rows = reference.publication_school_rows(generated["folder"] / "publication.parquet")
    base = reference.reference_table(rows, schools)
    withheld = rows["suppressed"].to_numpy()
    assert withheld.sum() > 50, "the generated set has withheld school values"
    # the values the schools' own reports show, put into the withheld rows (still marked withheld)
    own = rows.merge(ind[["area_id", "year", "indicator", "group_type", "group", "value"]],
                     on=["area_id", "year", "indicator", "group_type", "group"], how="left", suffixes=("", "_own"))
    assert own.loc[withheld, "value_own"].notna().sum() > 20, "some withheld in publication, shown to their school"
    told = rows.assign(value=np.where(withheld, own["value_own"], rows["value"]))
    pd.testing.assert_frame_equal(reference.reference_table(told, schools), base)
    noise = rows.assign(value=np.where(withheld, np.random.default_rng(1).random(len(rows)), rows["value"]))
    pd.testing.assert_frame_equal(reference.reference_table(noise, schools), base)
    pd.testing.assert_frame_equal(reference.reference_table(rows[~withheld], schools), base)
    figures = base[base[FIGURES].notna().any(axis=1)]
    assert (figures["schools"] >= reference.MIN_SCHOOLS).all() and (figures["grouping"] != "none").all()
    # every figure is a quantile of published values: within their range, rounded as publication writes them
    assert np.allclose(figures[FIGURES], figures[FIGURES].round(3))
    assert len(pub), "the publication table was read"


# ---------------------------------------------------------------------------------------------
# readings

def _compared(generated, school_id, reference_year=None) -> pd.DataFrame:
    rows = generated["indicators"][generated["indicators"]["area_id"] == school_id]
    return reference.school_reference(generated["folder"] / "indicators.parquet", school_id, rows, reference_year)


@pytest.mark.slow
def test_the_one_way_school_reads_below_and_a_middle_school_within(generated):
    planted = _compared(generated, generated["planted"])
    two_way = planted[planted["indicator"] == "two_way_share"]
    assert set(two_way["reading"]) == {"below"}, two_way.to_string()
    assert set(planted.loc[planted["indicator"] == "deficit_share", "reading"]) == {"above"}
    latest = planted[(planted["year"] == 2025) & (planted["indicator"] == "two_way_share")].iloc[0]
    # a secondary school among 60 schools: fewer than 20 of its type, so compared with all, and named so
    assert latest["grouping"] == "all" and "below most schools in the data" in reference.reading_sentence(latest)
    # a school in the middle: its 2025 two-way share the nearest to its group's median
    ind = generated["indicators"]
    r = ind[(ind["indicator"] == "two_way_share") & (ind["year"] == 2025) & (ind["group_type"] == "all")
            & ~ind["suppressed"] & (ind["area_id"] != generated["planted"])]
    med = {sid: _compared(generated, sid).query("indicator == 'two_way_share' and year == 2025")["median"].iloc[0]
           for sid in r["area_id"].head(12)}
    middle = min(med, key=lambda s: abs(r.set_index("area_id").loc[s, "value"] - med[s]))
    c = _compared(generated, middle).query("indicator == 'two_way_share' and year == 2025").iloc[0]
    assert c["reading"] == "within" and "within the usual range" in reference.reading_sentence(c)


@pytest.mark.slow
def test_a_frozen_reference_year_compares_every_year_with_the_same_figures(generated):
    c = _compared(generated, generated["planted"], reference_year=2022)
    figs = c[c["indicator"] == "reach"][["reference_year", *FIGURES]].drop_duplicates()
    assert len(figs) == 1 and figs["reference_year"].iloc[0] == 2022
    assert "Every year is compared with schools in the data in 2022" in reference.group_sentence(c)
    later = c[(c["indicator"] == "reach") & (c["year"] == 2025)].iloc[0]
    assert "schools in the data in 2022" in reference.reading_sentence(later)
    missing = _compared(generated, generated["planted"], reference_year=2019)
    assert set(missing["reading"]) == {"no reference"} and "no reference for 2019" in reference.group_sentence(missing)


def test_the_sentences_say_schools_like_ours_only_of_the_schools_own_type_and_band():
    """A wider group than the school's type and band is named as what it is, in every sentence and the chart."""
    row = {"indicator": "two_way_share", "year": 2025, "value": 0.1, "ci_low": 0.08, "ci_high": 0.12,
           "reference_year": 2025, "q25": 0.36, "median": 0.4, "q75": 0.43, "reading": "below",
           "school_type": "Contributing", "eqi_band": MODERATE, "grouping": "type_and_band", "schools": 25,
           "suppressed": False}
    said = {g: (reference.reading_sentence({**row, "grouping": g}), reference.plain_sentence({**row, "grouping": g}))
            for g in ("type_and_band", "type", "all")}
    assert all("below most schools like ours" in t for t in said["type_and_band"])
    assert all("below most contributing schools" in t and "like ours" not in t for t in said["type"])
    assert all("below most schools in the data" in t and "like ours" not in t for t in said["all"])
    within = {**row, "grouping": "all", "value": 0.4, "ci_low": 0.35, "ci_high": 0.45, "reading": "within"}
    assert "within the usual range for schools in the data" in reference.plain_sentence(within)
    frozen = {**row, "grouping": "type", "reference_year": 2022}
    assert "below most contributing schools in 2022; the middle half of contributing schools in 2022 had" \
        in reference.reading_sentence(frozen)
    assert reference.view(pd.DataFrame([{**row, "grouping": "all"}]))[["compared with", "reading"]].iloc[0].tolist() \
        == ["schools in the data", "below most schools in the data"]


def test_the_reading_is_the_interval_against_the_middle_half_never_a_rank():
    q25, q75 = 0.4, 0.6
    assert reference.reading(0.70, 0.61, 0.79, q25, q75) == "above"
    assert reference.reading(0.70, 0.60, 0.79, q25, q75) == "within"   # touching the 75th percentile: within
    assert reference.reading(0.30, 0.21, 0.39, q25, q75) == "below"
    assert reference.reading(0.90, 0.35, 0.99, q25, q75) == "within"   # a small school's wide interval
    assert reference.reading(0.30, np.nan, np.nan, q25, q75) == "below"  # no interval: the value itself


# ---------------------------------------------------------------------------------------------
# the section in real reports

def visible_text(page: str) -> str:
    """A report page's text as a reader sees it, with the words of its SVG figures."""
    svgs = [base64.b64decode(b).decode("utf-8")
            for b in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=\s]+)"', page)]
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+", " ", page)
    words = " ".join(" ".join(re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)) for svg in svgs)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page) + " " + words).split())


@pytest.mark.slow
def test_the_reports_show_the_section_and_pass_the_audit(generated):
    from hsp_eval.run.audit import audit

    folder = generated["reports"] / generated["planted"]
    evaluation = visible_text((folder / "school_evaluation.html").read_text(encoding="utf-8"))
    summary = visible_text((folder / "whanau_board_summary.html").read_text(encoding="utf-8"))
    assert "Schools like ours" in evaluation and "Compared with all schools in the data" in evaluation
    assert re.search(r"Contacts started by families: \d+% in 2025 \(likely range [^)]*\), below most schools "
                     r"in the data", evaluation)
    assert "not a judgement of cause" in evaluation and "Our school and schools in the data" in evaluation
    assert "Compared with schools like ours" in summary and "not why" in summary
    assert re.search(r"Contacts started by families, 2025: \d+% \(likely range [^)]*\)\. That is below most "
                     r"schools in the data", summary)
    result = audit(generated["reports"], generated["data"])
    assert result.ok, result.findings.to_string()
    assert result.checked["reference_tables"] == 1 and result.checked["reference_figures_recorded"] > 40
