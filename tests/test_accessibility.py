"""Every page passes an accessibility check (issue 20): axe-core's WCAG 2.1 A and AA rules in a real browser.

Schools publish these pages to their communities, and New Zealand government web content is
expected to meet WCAG 2.1 AA. Each page is opened in headless Chromium (Debian's package,
driven by Playwright; Playwright's own browser is not needed) and checked by axe-core (bundled
by ``axe-playwright-python``) with the rules tagged ``wcag2a``, ``wcag2aa``, ``wcag21a`` and
``wcag21aa``. A serious or critical violation fails the test, naming the page, the rule, its
impact and the failing elements; a moderate or minor one is reported as a warning. axe cannot
judge whether alternative text says anything, so the figures are also checked for a
description of their own (not nbconvert's "No description has been provided for this image").

The pages: the session's demo batch (``demo_batch`` in ``tests/conftest.py``: school 0113's
evaluation and whānau and Board summary, the national overview, the inquiry impact and the
index page) and the external analyses (``notebooks/external/``, the ``notebook_runs``
templates). One browser for the module; every page is loaded and checked once.
Skipped, saying so, without Chromium or without Playwright and axe-playwright-python.

Any folder of reports can be checked the same way (the before and after tables of
docs/accessibility.md were made so)::

    python tests/test_accessibility.py reports/
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
#: axe-core's rules for WCAG 2.1 levels A and AA
WCAG21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
#: the impacts that fail the test
BLOCKING = ("serious", "critical")
#: what nbconvert writes as the alt of an image that has none
NO_DESCRIPTION = "No description has been provided for this image"
#: the demo batch's pages (relative to its reports folder)
BATCH_PAGES = ["index.html", "0113/school_evaluation.html", "0113/whanau_board_summary.html",
               "national/national_overview.html", "national/inquiry_impact.html"]
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: the external analyses (keys of tests/conftest.py's runs)
EXTERNAL = sorted(p.relative_to(NOTEBOOKS).as_posix() for p in (NOTEBOOKS / "external").glob("*.ipynb"))

pytestmark = [pytest.mark.slow, pytest.mark.notebooks(*EXTERNAL),
              pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")]


def check_pages(pages: dict[str, Path]) -> dict[str, dict]:
    """Open each page (name -> HTML file) in one headless Chromium and check it with axe-core.

    Returns, per page, ``violations`` (axe's, for :data:`WCAG21_AA`) and ``alts`` (every image's
    alt as the browser has it; None when absent). Only files are loaded: any other request
    (nbconvert's require.js and MathJax from a CDN) is refused, so nothing leaves the machine.
    """
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    axe, out = Axe(), {}
    options = {"runOnly": {"type": "tag", "values": WCAG21_AA}, "resultTypes": ["violations"]}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                       else route.abort())
            for name, path in pages.items():
                page.goto(Path(path).resolve().as_uri(), wait_until="load")
                out[name] = {"violations": axe.run(page, options=options).response["violations"],
                             "alts": page.eval_on_selector_all("img", "imgs => imgs.map(i => i.getAttribute('alt'))")}
        finally:
            browser.close()
    return out


def undescribed(alts: list) -> int:
    """How many images (their alt, None when absent) have no description of their own."""
    return sum(a is None or not a.strip() or a == NO_DESCRIPTION for a in alts)


def violations_text(results: dict[str, dict], impacts=None) -> str:
    """The violations of ``impacts`` (default: all) as text: page, rule, impact, what it means, the failing elements."""
    lines = []
    for name, res in results.items():
        for v in res["violations"]:
            if impacts is None or v["impact"] in impacts:
                lines.append(f"{name}: {v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']} "
                             f"[{v['helpUrl']}]")
                for node in v["nodes"][:10]:
                    lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
                    lines += [f"        {s}" for s in node.get("failureSummary", "").splitlines()[:4]]
    return "\n".join(lines)


def table(results: dict[str, dict]) -> str:
    """One line per page and rule: page, rule, impact, elements (the form of docs/accessibility.md's tables)."""
    rows = ["| page | rule | impact | elements |", "| --- | --- | --- | --- |"]
    for name, res in results.items():
        rows += [f"| {name} | {v['id']} | {v['impact']} | {len(v['nodes'])} |" for v in res["violations"]] or \
                [f"| {name} | none | | |"]
        missing = undescribed(res["alts"])
        if missing:
            rows.append(f"| {name} | figure without a description | (not an axe rule) | {missing} |")
    return "\n".join(rows)


@pytest.fixture(scope="module")
def results(demo_batch, notebook_runs) -> dict[str, dict]:
    pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python is not installed")
    pages = {name: demo_batch / name for name in BATCH_PAGES}
    pages.update({nb: notebook_runs.template(NOTEBOOKS / nb).html for nb in EXTERNAL})
    return check_pages(pages)


def test_no_serious_or_critical_wcag_violation(results):
    assert EXTERNAL and len(results) == len(BATCH_PAGES) + len(EXTERNAL)
    blocking = violations_text(results, BLOCKING)
    assert not blocking, f"WCAG 2.1 AA violations (axe-core):\n{blocking}"
    lesser = violations_text(results)
    if lesser:
        warnings.warn(f"WCAG 2.1 AA violations of lesser impact (axe-core):\n{lesser}", stacklevel=1)


def test_every_figure_says_what_it_shows(results):
    figures = {name: res["alts"] for name, res in results.items() if res["alts"]}
    assert len(figures) >= 8   # every report has figures; the index page has none
    missing = {name: undescribed(alts) for name, alts in figures.items()}
    assert not any(missing.values()), f"images without a description, per page: {missing}"
    school = results["0113/school_evaluation.html"]["alts"]
    assert any(a.startswith("Chart: Families reached") and "Values: " in a and " in 2025" in a for a in school), school


if __name__ == "__main__":  # python tests/test_accessibility.py REPORTS_FOLDER: every page in it, as a table
    folder = Path(sys.argv[1])
    print(table(check_pages({p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*.html"))})))
