"""``hsp-eval audit``: hand-made release folders with planted leaks, checked against the demo data.

One leaky folder holds a leak of each kind in the form real outputs take (HTML text, an SVG
figure embedded as a data URI, an executed notebook, CSV and Parquet tables, a disclosure log);
each test asserts that its leak is found under the right rule, file and place. A clean folder
passes through the command line with exit 0.
"""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

import hsp_eval
from hsp_eval import cli
from hsp_eval.run.audit import AuditResult, audit, find_hits, format_report, targets_from_dataset

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
OWN, OTHER = "0113", "0827"  # two demo schools: the report's own school, and another one
KEYS = ["level", "area_id", "year", "indicator", "group_type", "group"]


@pytest.fixture(scope="module")
def demo():
    """The demo dataset, loaded once (a few seconds)."""
    return hsp_eval.load_dataset(DEMO)


@pytest.fixture(scope="module")
def ids(demo):
    """Real ids and names of the demo data to plant."""
    e = demo["enrolments"]
    schools = demo["schools"].astype({"school_id": str}).set_index("school_id")["school_name"].astype(str)
    return {"family": str(e["family_id"].iloc[0]), "student": str(e["student_id"].iloc[1]),
            "respondent": str(demo["survey_respondents"]["respondent_id"].iloc[2]),
            "contact": str(demo["contacts"]["contact_id"].iloc[3]),
            "own_name": schools[OWN], "other_name": schools[OTHER], "names": list(schools)}


# ---------------------------------------------------------------------------------------------
# Writing outputs by hand
# ---------------------------------------------------------------------------------------------

def _svg(words: str) -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="200" '
            f'height="100">\n <path d="M 10 10 L 1428 20"/>\n <text x="10" y="20">{words}</text>\n</svg>\n')


def _page(body: str, title: str = "Report") -> str:
    return f"<!DOCTYPE html>\n<html>\n<head><title>{title}</title></head>\n<body>\n{body}\n</body>\n</html>\n"


def _embedded(svg: str) -> str:
    """An SVG figure the way the HTML reports carry it: an <img> with a base64 data URI."""
    return f'<img alt="figure" src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}">'


def _notebook(path: Path, output_text: str, parameters: dict) -> None:
    """An executed notebook: a markdown cell, then a code cell with a stream and a display output."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": parameters}
    code = nbformat.v4.new_code_cell("summary = make_summary()\nprint(summary)", execution_count=1)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Reach rose this year.\n"),
                    nbformat.v4.new_output("display_data", data={"text/plain": output_text,
                                                                 "image/svg+xml": _svg("Reach by year")})]
    nb.cells = [nbformat.v4.new_markdown_cell("# National overview"), code]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _rows(*rows) -> pd.DataFrame:
    """Indicator-table rows: (area_id, indicator, group, numerator, denominator, value, suppressed)."""
    out = pd.DataFrame(rows, columns=["area_id", "indicator", "group", "numerator", "denominator", "value",
                                      "suppressed"])
    out.insert(0, "level", np.where(out["area_id"].str.len() == 4, "school", "region"))
    out.insert(2, "year", 2023)
    out.insert(4, "group_type", "all")
    out["ci_low"] = out["value"] - 0.1
    out["ci_high"] = out["value"] + 0.1
    return out


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _clean_tree(root: Path, ids: dict) -> None:
    """A release with nothing wrong in it (the leaky one adds leaks to a copy of this)."""
    _write(root / OWN / "school_evaluation.html", _page(
        f"<h1>{ids['own_name']}</h1>\n<p>In 2023, 48 of 60 families took part.</p>\n"
        + _embedded(_svg(f"{ids['own_name']}: reach 2022-2025")), title=ids["own_name"]))
    _write(root / "national" / "national_overview.html",  # every school named: allowed outside school folders
           _page("<ul>" + "".join(f"<li>{n}</li>" for n in ids["names"]) + "</ul>"))
    _write(root / "national" / "funnel.svg", _svg("Reach against the number of families"))
    _notebook(root / "national" / "national_overview.ipynb", "reach 0.812", {"years": "2022-2025"})
    _write(root / "run.log", "batch finished: 22 reports\n")
    (root / "national" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    # publication: counts rounded to base 3 (0 allowed in numerator), values rounded, withheld rows blank
    pub = _rows(("R01", "reach", "all", 0.0, 9.0, 0.0, False), ("R01", "breadth", "all", 6.0, 12.0, 0.5, False),
                ("R02", "reach", "all", np.nan, np.nan, np.nan, True))
    pub["ci_low"], pub["ci_high"] = pub["ci_low"].round(3), pub["ci_high"].round(3)
    (root / "_data").mkdir(parents=True, exist_ok=True)
    pub.to_csv(root / "_data" / "publication.csv", index=False)
    log = pub[KEYS].assign(table="publication", status=np.where(pub["suppressed"], "withheld", "shown"),
                           rule=np.where(pub["suppressed"], "primary", ""))
    log.to_csv(root / "_data" / "disclosure_log.csv", index=False)


@pytest.fixture(scope="module")
def leaky(tmp_path_factory, demo, ids):
    """A release folder with one planted leak of each kind, audited once."""
    root = tmp_path_factory.mktemp("leaky")
    _clean_tree(root, ids)
    _write(root / OWN / "whanau_board_summary.html", _page(
        f"<h1>{ids['own_name']}</h1>\n<p>Thank you to the whānau who came.</p>\n"
        f"<p>The family {ids['family']} came to every hui.</p>\n"          # line 7: a family_id
        f"<p>Schools like {ids['other_name']} do better.</p>\n"            # line 8: another school's name
        f'<table><tr><td title="compared with">{OTHER}</td></tr></table>\n'  # line 9: another school's id
        f"<p>See /home/analyst/hsp/data for the files.</p>"))             # line 10: a local path in a school's page
    _write(root / "national" / "paths.html", _page("<p>Made from /work/hsp/reports/_data.</p>"))  # a warning only
    _write(root / "national" / "inquiry.html",  # a respondent id in the words of an embedded figure
           _page("<h2>Inquiry</h2>\n" + _embedded(_svg(f"Answer of {ids['respondent']}"))))
    _write(root / "national" / "voice.svg", _svg(f"Respondent {ids['respondent']} said"))
    _notebook(root / "national" / "inquiry_impact.ipynb", f"target student {ids['student']} accelerated",
              {"years": "2022-2025", "example": ids["contact"]})
    _write(root / ".ipynb_checkpoints" / "old-checkpoint.html", _page(f"<p>{ids['family']}</p>"))
    # a publication table with counts of 4 and 7 and an unrounded value
    pub = _rows(("R01", "reach", "all", 4.0, 9.0, 0.444, False), ("R01", "reach_learning", "all", 6.0, 7.0, 0.857, False),
                ("R03", "reach", "all", 3.0, 9.0, 0.123456, False))
    pub["ci_low"], pub["ci_high"] = pub["ci_low"].round(3), pub["ci_high"].round(3)
    pub.to_parquet(root / "national" / "publication_region.parquet", index=False)
    # indicator tables: a row the log withholds still shows its value; a suppressed row keeps a number
    ind = _rows((OWN, "reach", "all", 30.0, 40.0, 0.75, False), (OWN, "breadth", "all", 3.0, 4.0, 0.75, False),
                (OWN, "contact_rate", "all", np.nan, np.nan, np.nan, False))
    ind.to_csv(root / "_data" / "indicators.csv", index=False)
    log = ind[KEYS].assign(table="indicators", status=["shown", "withheld", "withheld"],
                           rule=["", "primary", "primary"])
    log.to_csv(root / "_data" / "disclosure_log_indicators.csv", index=False)
    sup = _rows((OWN, "reach", "all", np.nan, np.nan, 0.5, True), (OWN, "breadth", "all", np.nan, np.nan, np.nan, True))
    sup.to_parquet(root / OWN / "suppressed.parquet", index=False)
    return root, audit(root, demo)


def _found(result: AuditResult, rule: str, file: str) -> pd.DataFrame:
    f = result.findings
    return f[(f["rule"] == rule) & (f["file"] == file)]


# ---------------------------------------------------------------------------------------------
# Each leak, found under its rule
# ---------------------------------------------------------------------------------------------

def test_family_id_in_html_text(leaky, ids):
    _, r = leaky
    hit = _found(r, "identifier", f"{OWN}/whanau_board_summary.html")
    assert hit["where"].tolist() == ["line 7"]
    assert f"family_id {ids['family']}" in hit["detail"].iloc[0] and f"«{ids['family']}»" in hit["detail"].iloc[0]


def test_student_id_in_notebook_output(leaky, ids):
    _, r = leaky
    hit = _found(r, "identifier", "national/inquiry_impact.ipynb")
    found = dict(zip(hit["where"], hit["detail"]))
    assert any(w.startswith("cell 2 output 2 text/plain") and ids["student"] in d for w, d in found.items())
    # the papermill parameters in the notebook's metadata are read too
    assert any(w.startswith("metadata $.papermill.parameters") and ids["contact"] in d for w, d in found.items())


def test_respondent_id_in_svg_text(leaky, ids):
    _, r = leaky
    svg = _found(r, "identifier", "national/voice.svg")
    assert svg["where"].tolist() == ["line 4"] and ids["respondent"] in svg["detail"].iloc[0]
    figure = _found(r, "identifier", "national/inquiry.html")  # a figure embedded in a page
    assert figure["where"].tolist() == ["line 6, figure 1 line 4"]


def test_other_school_name_in_school_report(leaky, ids):
    _, r = leaky
    hit = _found(r, "other_school", f"{OWN}/whanau_board_summary.html")
    names = hit[hit["detail"].str.contains(ids["other_name"], regex=False)]
    assert names["where"].tolist() == ["line 8"]


def test_other_school_id_in_school_report(leaky):
    _, r = leaky
    hit = _found(r, "other_school", f"{OWN}/whanau_board_summary.html")
    assert hit[hit["detail"].str.startswith(f"school {OTHER}")]["where"].tolist() == ["line 9"]


def test_own_name_and_national_pages_are_not_findings(leaky):
    _, r = leaky
    other = r.findings[r.findings["rule"] == "other_school"]
    assert set(other["file"]) == {f"{OWN}/whanau_board_summary.html"}  # not school_evaluation.html, not national/
    assert len(other) == 2  # the other school's name and id; the school's own name (twice) is not a finding


def test_counts_of_4_and_7_in_publication_table(leaky):
    _, r = leaky
    hit = _found(r, "publication_count", "national/publication_region.parquet")
    got = dict(zip(hit["where"], hit["detail"]))
    assert "numerator 4 is not a whole multiple of 3" in got["row 1, column numerator"]
    assert "denominator 7 is not a whole multiple of 3" in got["row 2, column denominator"]
    assert "1 to 5 people" in got["row 3, column numerator"]  # 3 is a multiple of 3 but under 6
    assert len(got) == 3
    # tables not named publication* (indicators.csv has counts of 3 and 4) are not held to the
    # publication rules without --publication; the clean publication.csv passes
    publication_rules = r.findings[r.findings["rule"].str.startswith("publication")]
    assert set(publication_rules["file"]) == {"national/publication_region.parquet"}


def test_unrounded_value_in_publication_table(leaky):
    _, r = leaky
    hit = _found(r, "publication_precision", "national/publication_region.parquet")
    assert hit["where"].tolist() == ["row 3, column value"]  # its interval was written rounded
    assert "0.123456 is not rounded to 3 decimals" in hit["detail"].iloc[0]


def test_withheld_row_in_disclosure_log_that_shows_a_value(leaky):
    _, r = leaky
    hit = _found(r, "withheld_value", "_data/indicators.csv")
    assert hit["where"].tolist() == ["row 3"]  # CSV rows as a user counts them: the header is row 1
    assert "withheld by the disclosure log (rule primary)" in hit["detail"].iloc[0]
    assert "value=0.75" in hit["detail"].iloc[0]
    assert r.checked["disclosure_logs"] == 2 and r.checked["tables_checked_against_logs"] == 2


def test_suppressed_row_with_a_number(leaky):
    _, r = leaky
    hit = _found(r, "withheld_value", f"{OWN}/suppressed.parquet")
    assert hit["where"].tolist() == ["row 1"]
    assert "marked suppressed but shows value=0.5" in hit["detail"].iloc[0]


def test_local_path_fails_a_school_page_and_is_a_warning_elsewhere(leaky):
    _, r = leaky
    hit = r.findings[r.findings["rule"] == "local_path"]
    assert hit[["file", "where"]].values.tolist() == [[f"{OWN}/whanau_board_summary.html", "line 10"]]
    assert "/home/analyst/hsp/data" in hit["detail"].iloc[0]
    assert r.checked["local_path_warnings"] == 1
    assert any("national/paths.html" in n and "/work/hsp/reports/_data" in n for n in r.notes)


def test_hidden_folders_skipped_and_images_listed(leaky):
    _, r = leaky
    assert not r.findings["file"].str.startswith(".ipynb_checkpoints").any()
    assert any(n.startswith("Not checked: 1 images") and "national/logo.png" in n for n in r.notes)
    assert r.checked["html"] == 5 and r.checked["notebook"] == 2 and r.checked["parquet"] == 2


def test_report_lists_checks_and_findings(leaky, ids):
    _, r = leaky
    text = format_report(r)
    assert "Looked for" in text and "Checks run:" in text and text.endswith(f"FAILED: {len(r.findings)} finding(s).")
    assert f"{OWN}/whanau_board_summary.html | line 7 | identifier | family_id {ids['family']}" in text


# ---------------------------------------------------------------------------------------------
# The command line, a clean release, what cannot be told apart
# ---------------------------------------------------------------------------------------------

def test_clean_release_passes_on_the_command_line(tmp_path, ids, capsys):
    _clean_tree(tmp_path, ids)
    assert cli.main(["audit", str(tmp_path), "--data", str(DEMO), "--publication"]) == 0
    out = capsys.readouterr().out
    assert "PASSED: no findings." in out and "Files read: 7" in out


def test_leak_fails_on_the_command_line(tmp_path, ids, capsys):
    _clean_tree(tmp_path, ids)
    _write(tmp_path / "national" / "note.md", f"# Notes\n\nStudent {ids['student']} moved school.\n")
    assert cli.main(["audit", str(tmp_path), "--data", str(DEMO)]) == 1
    out = capsys.readouterr().out
    assert f"national/note.md | line 3 | identifier | student_id {ids['student']}" in out


def test_publication_flag_applies_to_every_table(tmp_path, demo):
    t = _rows((OWN, "reach", "all", 4.0, 9.0, 0.444, False))
    t.to_csv(tmp_path / "indicators.csv", index=False)
    assert audit(tmp_path, demo).ok
    assert _found(audit(tmp_path, demo, publication=True), "publication_count", "indicators.csv")["where"].tolist() \
        == ["row 2, column numerator"]


def test_missing_folders_are_plain_errors(tmp_path, capsys):
    assert cli.main(["audit", str(tmp_path / "nope"), "--data", str(DEMO)]) == 2
    assert "the output folder" in capsys.readouterr().err
    assert cli.main(["audit", str(tmp_path), "--data", str(tmp_path / "nodata")]) == 2
    assert "the data folder" in capsys.readouterr().err


def test_short_ids_and_year_like_school_ids_are_skipped_with_a_note():
    ds = hsp_eval.Dataset({
        "schools": pd.DataFrame({"school_id": ["0042", "2023"], "school_name": ["Kōwhai School", "Rimu School"]}),
        "enrolments": pd.DataFrame({"year": [2023, 2023], "school_id": ["0042", "2023"],
                                    "student_id": ["12345678", "77"], "family_id": ["87654321", "9"]})})
    t = targets_from_dataset(ds)
    assert set(t.ids) == {"12345678", "87654321"} and t.school_ids == {"0042"}
    assert any("2 id(s) shorter than 5" in n for n in t.notes)
    assert any("2023 equal a year" in n for n in t.notes)


def test_names_inside_the_own_name_and_names_without_macrons():
    ds = hsp_eval.Dataset({
        "schools": pd.DataFrame({"school_id": ["0042", "0043", "0044"],
                                 "school_name": ["North Tarata School", "Tarata School", "Mataī Valley School"]}),
        "enrolments": pd.DataFrame({"year": [2023], "school_id": ["0042"], "student_id": ["12345678"],
                                    "family_id": ["87654321"]})})
    t = targets_from_dataset(ds)
    assert find_hits("Welcome to North Tarata School.", t, "0042") == []  # the school's own name
    assert [h.what for h in find_hits("Unlike tarata\nschool,", t, "0042")] == ["Tarata School (0043)"]
    assert [h.what for h in find_hits("as at Matai Valley School", t, "0042")] == ["Mataī Valley School (0044)"]
    assert find_hits("Tarata School and 0043", t, None) == []  # not a school's report: rule 2 does not apply


# ---------------------------------------------------------------------------------------------
# Schools like ours: reference figures are aggregates of at least 20 schools
# ---------------------------------------------------------------------------------------------

def test_reference_figures_from_fewer_than_20_schools(tmp_path, demo):
    """A reference table row, or a figure a school report records as shown, from too few schools is a finding."""
    from hsp_eval.reports.reference import REFERENCE_MIME

    ref = pd.DataFrame({"school_type": "Contributing", "eqi_band": "moderate barriers (420-479)", "year": 2025,
                        "indicator": ["reach", "two_way_share", "portal_adoption", "contact_reach"],
                        "grouping": ["type_and_band", "type", "none", "none"], "compared_with": "",
                        "schools": [25, 12, 8, 8], "q25": [0.5, 0.4, np.nan, 0.3], "median": [0.6, 0.5, np.nan, np.nan],
                        "q75": [0.7, 0.6, np.nan, np.nan]})
    (tmp_path / "_data").mkdir()
    ref.to_parquet(tmp_path / "_data" / "reference.parquet", index=False)
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("reference.record(compared)", execution_count=1)
    figures = [{"indicator": "reach", "year": 2025, "reference_year": 2025, "grouping": "all", "schools": 30,
                "q25": 0.5, "median": 0.6, "q75": 0.7},
               {"indicator": "two_way_share", "year": 2025, "reference_year": 2025, "grouping": "type", "schools": 8,
                "q25": 0.3, "median": 0.4, "q75": 0.45}]
    code.outputs = [nbformat.v4.new_output("display_data", data={REFERENCE_MIME: {"figures": figures}})]
    nb.cells = [code]
    (tmp_path / OWN).mkdir()
    nbformat.write(nb, tmp_path / OWN / "school_evaluation.ipynb")
    r = audit(tmp_path, demo)
    hits = r.findings[r.findings["rule"] == "reference_group"]
    assert hits[["file", "where"]].values.tolist() == [
        [f"{OWN}/school_evaluation.ipynb", f"cell 1 output 1 {REFERENCE_MIME}, figure 2"],
        ["_data/reference.parquet", "row 2"], ["_data/reference.parquet", "row 4"]]
    assert "two_way_share 2025: a reference figure from 8 school(s)" in hits["detail"].iloc[0]
    assert r.checked["reference_tables"] == 1 and r.checked["reference_figures_recorded"] == 2
    assert "reference_group" in format_report(r)
    # without them, the same folder passes
    ref.iloc[[0, 2]].to_parquet(tmp_path / "_data" / "reference.parquet", index=False)
    nb.cells[0].outputs[0]["data"][REFERENCE_MIME]["figures"] = figures[:1]
    nbformat.write(nb, tmp_path / OWN / "school_evaluation.ipynb")
    assert audit(tmp_path, demo).ok
