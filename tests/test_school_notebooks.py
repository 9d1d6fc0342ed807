"""The school notebooks, run for real with papermill on the demo data, published as HTML.

Each notebook runs for two demo schools: the demo's own (0113, the notebook run as a template,
with no parameters) and 0827 (given as ``school_id``); the runs are the session's shared ones
(``notebook_runs`` in ``tests/conftest.py``). The HTML must carry every section,
no student, family or survey-respondent ID of the demo data and no other school's name; the
values a notebook records (:func:`hsp_eval.reports.school.record_values`, an output the HTML
does not show) must equal the indicator table's; and the Board summary shows no code and no suppressed cell.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from hsp_eval.run import demo
from hsp_eval.indicators import engine as indicators
from hsp_eval.run.execute import run_notebook
from hsp_eval.reports.school import VALUES_MIME, recorded_values

ROOT = Path(__file__).resolve().parents[1]
#: the run of tests/conftest.py's notebook_runs that shows each school (0113 is the templates' default school)
RUNS = {"0113": "{name}.ipynb", "0827": "{name} 0827"}
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


@pytest.mark.parametrize("sid", SCHOOLS)
def test_the_demo_compares_each_school_with_all_schools_and_records_the_figures_it_shows(reports, sid):
    """24 demo schools: no type has 20 with a value, so both pages compare with all schools and say so;
    the figures a page records are the prepared reference table's, each of at least 20 schools."""
    from hsp_eval.reports import reference

    folder = demo.paths()["publication"].parent
    ref = pd.read_parquet(folder / "reference.parquet")
    evaluation, nb = reports[("school_evaluation", sid)]
    text = visible_text(evaluation)
    assert "Compared with all schools in the data:" in text and "so all schools are used" in text
    assert "not a judgement of cause" in text and "too few schools in the data to compare" not in text
    for ind in reference.reference_indicators():
        if ind != "target_whanau_codesigned":   # fewer than 20 schools with a value: named as not compared
            label = reference.REGISTRY[ind].phrase
            assert re.search(re.escape(label[:1].upper() + label[1:]) + r": \d+% in 2025 \(likely range [^)]*\), "
                             r"(above most|below most|within the usual range)", text), ind
    recorded = [o["data"][reference.REFERENCE_MIME] for c in nb.cells for o in c.get("outputs", [])
                if reference.REFERENCE_MIME in o.get("data", {})]
    assert len(recorded) == 1 and recorded[0]["figures"]
    shown = pd.DataFrame(recorded[0]["figures"])
    assert (shown["schools"] >= reference.MIN_SCHOOLS).all() and set(shown["grouping"]) == {"all"}
    both = shown.merge(ref.drop_duplicates(["year", "indicator"]), left_on=["reference_year", "indicator"],
                       right_on=["year", "indicator"], suffixes=("", "_table"))
    assert len(both) == len(shown)
    for col in ("schools", "q25", "median", "q75"):
        assert (both[col] == both[f"{col}_table"]).all(), col
    summary = visible_text(reports[("whanau_board_summary", sid)][0])
    assert "We compared our school with all schools in the data" in summary and "not why" in summary


def test_the_one_way_demo_school_reads_below_schools_in_the_data_on_contacts_started_by_families(reports):
    """0827 is the generator's one-way school (school1_one_way_deficit_contact); 0113 reads within."""
    for name, pattern in (("school_evaluation", r"Contacts started by families: \d+% in 2025 \(likely range [^)]*\), "),
                          ("whanau_board_summary", r"Contacts started by families, 2025: \d+% \(likely range [^)]*\)\. "
                                                   r"That is ")):
        assert re.search(pattern + "below most schools in the data", visible_text(reports[(name, "0827")][0])), name
        assert re.search(pattern + "within the usual range", visible_text(reports[(name, "0113")][0])), name


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
    # every year shown has at least min_n families; a year above it may go too (secondary suppression)
    large = {str(int(y)) for y in reach.loc[reach["denominator"] >= big, "year"]}
    assert values["reach"] and set(values["reach"]) <= large


# --- a small school: pages that read well when data are thin --------------------------------

SMALL_FAMILIES = 25  # about the families of a small rural school


def _small_school(data: Path) -> str:
    """A generated school cut to its first :data:`SMALL_FAMILIES` families, its survey without
    barrier items (the inventory items, whose scale is blank); returns the school's id."""
    from hsp_eval.synthetic.build import write_dataset

    write_dataset(data, n_schools=1, years=[2024, 2025], seed=3)

    def read(t):
        return pd.read_csv(data / f"{t}.csv", dtype=str, keep_default_na=False)
    enr = read("enrolments")
    families = sorted(enr["family_id"].unique())[:SMALL_FAMILIES]
    tables = {"enrolments": enr[enr["family_id"].isin(families)]}
    for t in ("attendance", "contacts", "portal_usage"):
        tables[t] = read(t)[lambda d: d["family_id"].isin(families)]
    resp = read("survey_respondents")[lambda d: (d["family_id"] == "") | d["family_id"].isin(families)]
    items = read("survey_items")
    barriers = set(items.loc[items["scale"] == "", "item_id"])
    assert barriers, "the generated survey has barrier items to take out"
    tables.update(survey_respondents=resp, survey_items=items[~items["item_id"].isin(barriers)],
                  survey_responses=read("survey_responses")[lambda d: d["respondent_id"].isin(resp["respondent_id"])
                                                            & ~d["item_id"].isin(barriers)],
                  reported_participation=read("reported_participation")[
                      lambda d: d["respondent_id"].isin(resp["respondent_id"])])
    students = set(tables["enrolments"]["student_id"])
    for t in ("inquiry_steps", "progress"):
        tables[t] = read(t)[lambda d: d["student_id"].isin(students)]
    for t, d in tables.items():
        d.to_csv(data / f"{t}.csv", index=False)
    shutil.copy(demo.DATA / "disclosure.key", data / "disclosure.key")  # the demo's key, marked not secret
    return str(read("schools")["school_id"].iloc[0])


@pytest.fixture(scope="module")
def small_school(tmp_path_factory):
    """The small school's data folder, its reports folder (the batch's layout: ``<school_id>/``) and
    its two pages, each run once by real papermill with no params file (so no targets)."""
    from hsp_eval.indicators.disclosure_key import ENV_VAR
    from hsp_eval.run.batch import prepare_data

    root = tmp_path_factory.mktemp("small_school")
    data, reports = root / "data", root / "reports"
    sid = _small_school(data)
    (root / "params").mkdir()
    with pytest.MonkeyPatch.context() as mp:  # prepare_data names the key in the environment
        mp.setenv(ENV_VAR, str(data / "disclosure.key"))
        files = prepare_data(data, root / "params", reports, log=None)
        pages = {}
        for name in SECTIONS:
            out = run_notebook(ROOT / "notebooks" / f"{name}.ipynb", reports / sid / f"{name}.ipynb",
                               {"school_id": sid, "indicators_path": str(files.indicators),
                                "trends_path": str(files.trends), "params_path": None})
            pages[name] = out["html"].read_text(encoding="utf-8")
    return data, reports, pages


def test_small_school_alone_has_too_few_schools_to_compare_with_and_says_so(small_school):
    """One school in the data: no reference group of 20; one sentence says so, and no reference figure is shown."""
    from hsp_eval.reports.reference import REFERENCE_MIME

    _, _, pages = small_school
    for name, page in pages.items():
        text = visible_text(page)
        assert "too few schools in the data to compare" in text, name
        assert "of schools like ours had" not in text and "half of them are between" not in text, name
        assert REFERENCE_MIME not in page


def test_small_school_sections_without_data_say_so_in_a_sentence(small_school):
    from hsp_eval.reports.sections import EMPTY

    _, _, pages = small_school
    for name, page in pages.items():
        text = " ".join(visible_text(page).split())
        assert EMPTY["barriers"].missing in text, f"{name}: no sentence for the survey without barrier items"
        assert "No targets are set for this school yet." in text and "hsp-eval params init" in text, name
        words = [chart_text(svg) for svg in figures(page)]
        assert words, f"{name}: the sections with data still draw their charts"
        empty = [w for w in words if "no data" in w or "withheld (too few to show safely)" in w
                 or "hard to take part" in w or "gets in the way" in w]
        assert not empty, f"{name}: charts with nothing to show: {empty}"
        assert not re.search(r"<tbody>\s*</tbody>", page), f"{name}: a table with no rows"
    summary = visible_text(pages["whanau_board_summary"]).lower()
    assert "withheld" not in summary and "suppressed" not in summary


def test_small_school_pages_pass_the_audit_and_show_no_local_path(small_school):
    from hsp_eval.run.audit import LOCAL_PATH, audit

    data, reports, pages = small_school
    for name, page in pages.items():
        assert not LOCAL_PATH.search(page), f"{name}: {LOCAL_PATH.search(page).group()}"
        assert "indicators.parquet" in visible_text(page) and "file locations" in visible_text(page)
    result = audit(reports, data)
    assert result.ok, result.findings.to_string()
