"""The school notebooks, run for real with papermill on the demo data, published as HTML.

Each notebook runs for two demo schools: the demo's own (0113, the notebook run as a template,
with no parameters) and 0828 (given as ``school_id``); the runs are the session's shared ones
(``notebook_runs`` in ``tests/conftest.py``). The HTML must carry every section,
no student, family or survey-respondent ID of the demo data and no other school's name; the
values a notebook records (:func:`hsp_eval.reports.school.record_values`, an output the HTML
does not show) must equal the indicator table's; and the Board summary shows no code and no suppressed cell.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pandas as pd
import pytest

from hsp_eval.run import demo
from hsp_eval.indicators import engine as indicators
from hsp_eval.run.execute import run_notebook
from hsp_eval.reports.school import VALUES_MIME, recorded_values

ROOT = Path(__file__).resolve().parents[1]
#: the run of tests/conftest.py's notebook_runs that shows each school (0113 is the templates' default school)
RUNS = {"0113": "{name}.ipynb", "0828": "{name} 0828"}
SCHOOLS = tuple(RUNS)
SECTIONS = {
    "school_evaluation": ["Summary", "Schools like ours", "Who took part: reach, learning-focused reach and breadth",
                          "Who is and is not reached", "Learning-focused or school-focused?", "Communication",
                          "Family voice", "The inquiry cycle for target students", "Self-review: leaders and whānau",
                          "Indicators of success", "Provenance"],
    "whanau_board_summary": ["In short", "Compared with schools like ours", "Families taking part", "Reaching every family", "Talking with families",
                             "What whānau told us", "Our goals", "About this report"],
}

# the recorded values have their own mimetype, which the HTML deliberately does not render
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Your element with mimetype"),
              pytest.mark.notebooks(*(run.format(name=name) for name in SECTIONS for run in RUNS.values()))]


@pytest.fixture(scope="module")
def reports(notebook_runs):
    """{(notebook, school): (html text, executed notebook)} for every notebook and school."""
    done = {}
    for name in SECTIONS:
        for sid in SCHOOLS:
            run = notebook_runs[RUNS[sid].format(name=name)]
            done[(name, sid)] = (run.html.read_text(encoding="utf-8"), run.nb)
    return done


def figures(page: str) -> list[str]:
    """The SVG figures embedded in an HTML page (as nbconvert embeds them: base64 ``<img>``)."""
    return [base64.b64decode(b).decode("utf-8")
            for b in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=\s]+)"', page)]


def chart_text(svg: str) -> str:
    """The words drawn in an SVG figure (titles, labels, legends, "suppressed" marks)."""
    return html.unescape(" ".join(re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)))


def visible_text(page: str) -> str:
    """What a reader sees: the page's text (no style or script, tags removed, entities decoded)
    and the text of its figures."""
    charts = " ".join(chart_text(svg) for svg in figures(page))
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=\s]+", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page)) + " " + charts


@pytest.fixture(scope="module")
def demo_ids():
    data = demo.paths()["data_dir"]
    enr = pd.read_csv(data / "enrolments.csv", dtype=str, usecols=["student_id", "family_id"])
    resp = pd.read_csv(data / "survey_respondents.csv", dtype=str, usecols=["respondent_id", "family_id"])
    schools = pd.read_csv(data / "schools.csv", dtype=str, usecols=["school_id", "school_name"])
    numeric = set(enr["student_id"]) | set(enr["family_id"]) | set(resp["family_id"].dropna())
    return numeric, set(resp["respondent_id"]), dict(zip(schools["school_id"], schools["school_name"]))


@pytest.mark.parametrize("name", sorted(SECTIONS))
@pytest.mark.parametrize("sid", SCHOOLS)
def test_html_has_every_section(reports, name, sid):
    page = reports[(name, sid)][0]
    headings = [html.unescape(re.sub(r"<[^>]+>", "", h)).replace("¶", "").strip()
                for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", page, flags=re.S)]
    for section in SECTIONS[name]:
        assert section in headings, f"{name} {sid}: no section heading {section!r} (found {headings})"
    assert headings.index(SECTIONS[name][-1]) == len(headings) - 1, "provenance must be the last section"


@pytest.mark.parametrize("name", sorted(SECTIONS))
@pytest.mark.parametrize("sid", SCHOOLS)
def test_html_names_no_person_and_no_other_school(reports, demo_ids, name, sid):
    text = visible_text(reports[(name, sid)][0])
    numeric, respondents, names = demo_ids
    tokens = set(re.findall(r"(?<![\w.])\d{8}(?![\w.])", text))
    assert not tokens & numeric, f"student or family IDs in the {name} report: {sorted(tokens & numeric)[:5]}"
    leaked = [r for r in respondents if r in text]
    assert not leaked, f"respondent IDs in the {name} report: {leaked[:5]}"
    assert names[sid] in text, "the report names its own school"
    others = [n for s, n in names.items() if s != sid and n in text]
    assert not others, f"other schools named in {sid}'s {name} report: {others}"


@pytest.mark.parametrize("name", sorted(SECTIONS))
@pytest.mark.parametrize("sid", SCHOOLS)
def test_recorded_values_equal_the_indicator_table(reports, name, sid):
    values = recorded_values(reports[(name, sid)][1])
    table = indicators.read_table(demo.paths()["indicators"])
    assert values["reach"], "the notebook records reach by year"
    for ind, by_year in values.items():
        expect = indicators.select(table, ind, area_id=sid)
        assert sorted(by_year) == [str(y) for y in sorted(expect["year"])]
        for y, v in zip(expect["year"], expect["value"]):
            assert by_year[str(y)] == (None if pd.isna(v) else round(float(v), 3)), f"{ind} {y}"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_figures_are_svg_with_their_words_as_text(reports, name):
    page, nb = reports[(name, "0113")]
    svgs = figures(page)
    assert len(svgs) >= 5 and not re.search(r'<img[^>]+src="data:image/png', page), "every figure is an SVG"
    assert len(svgs) == sum("image/svg+xml" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    for svg in svgs:
        assert "<dc:date>" not in svg and "<text" in svg and "<path" in svg
    words = chart_text(" ".join(svgs))
    assert "share of families, %" in words and "Families" in words


def test_a_rerun_draws_the_same_figures_byte_for_byte(reports, demo_batch):
    """The demo batch ran school 0113's evaluation again, in another kernel (with the batch's own paths)."""
    again = (demo_batch / "0113" / "school_evaluation.html").read_text(encoding="utf-8")
    assert figures(again) == figures(reports[("school_evaluation", "0113")][0])


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_the_demo_has_too_few_schools_to_compare_with_and_says_so(reports, name):
    """10 demo schools: no reference group of 20; one sentence says so, and no reference figure is shown."""
    from hsp_eval.reports.reference import REFERENCE_MIME

    page, nb = reports[(name, "0113")]
    text = visible_text(page)
    assert "too few schools in the data to compare" in text
    assert "of schools like ours had" not in text and "half of them are between" not in text
    assert REFERENCE_MIME not in page
    recorded = [o["data"][REFERENCE_MIME] for c in nb.cells for o in c.get("outputs", [])
                if REFERENCE_MIME in o.get("data", {})]
    assert recorded == [{"figures": []}]


def test_school_evaluation_shows_suppressed_cells_as_suppressed(reports):
    text = visible_text(reports[("school_evaluation", "0113")][0])
    table = indicators.read_table(demo.paths()["indicators"])
    small = table[(table["area_id"] == "0113") & (table["level"] == "school") & table["suppressed"]]
    assert len(small), "the demo school has withheld cells"
    assert "withheld" in text


@pytest.mark.parametrize("sid", SCHOOLS)
def test_board_summary_shows_no_code_and_no_suppressed_cell(reports, sid):
    page, nb = reports[("whanau_board_summary", sid)]
    text = visible_text(page)
    assert "import " not in text and "load_inputs" not in text
    assert "suppressed" not in text.lower() and "withheld" not in text.lower()
    assert recorded_values(nb)["reach"]
    assert VALUES_MIME not in page and "reach_learning" not in text


def test_a_larger_min_n_suppresses_more(tmp_path):
    """The notebook's min_n above the table's suppresses again: the values recorded follow it."""
    table = indicators.read_table(demo.paths()["indicators"])
    reach = indicators.select(table, "reach", area_id="0113")
    big = int(reach["denominator"].min()) + 1   # more than the smallest year's families
    out = run_notebook(ROOT / "notebooks" / "whanau_board_summary.ipynb", tmp_path / "b.ipynb",
                       {"school_id": "0113", "min_n": big}, html=False)
    values = recorded_values(out["ipynb"])
    smallest = str(int(reach.loc[reach["denominator"].idxmin(), "year"]))
    assert smallest not in values["reach"], "the year under min_n is not shown in the Board summary"
    assert len(values["reach"]) == len(reach) - (reach["denominator"] < big).sum()
