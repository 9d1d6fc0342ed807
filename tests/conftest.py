"""Fixtures shared by the whole suite: the slow end-to-end runs, each made once per session.

- ``notebook_runs``: every notebook under ``notebooks/`` executed by real papermill
  (:func:`hsp_eval.run.execute.run_notebook`) on the demo data, once a session, for the output
  checks, the "every cell runs" checks and the notebook tests alike;
- ``demo_batch``: one real batch of the project's notebooks on the demo, for the tests that only
  read what a batch writes.

The parameters of every run are here, in one place (:data:`PARAMETERISED_RUNS`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


# --- notebooks, each executed once a session ---------------------------------------------------

#: every notebook, run as a template: no parameters (the demo's defaults, as a reader opening it in
#: JupyterLab or ``make nbval`` runs it); its key is its path under notebooks/, e.g. "external/nyc_school_survey.ipynb"
TEMPLATES = {p.relative_to(NOTEBOOKS).as_posix(): (p.relative_to(NOTEBOOKS).as_posix(), {})
             for p in sorted(NOTEBOOKS.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts}

#: the runs with parameters the tests read besides the templates: key -> (notebook under notebooks/, parameters)
PARAMETERISED_RUNS = {
    "school_evaluation 0828": ("school_evaluation.ipynb", {"school_id": "0828"}),
    "whanau_board_summary 0828": ("whanau_board_summary.ipynb", {"school_id": "0828"}),
    "national_overview Northland 2024-2025": ("national_overview.ipynb", {"region": "Northland", "years": [2024, 2025]}),
    "inquiry_impact 0113 reading": ("inquiry_impact.ipynb", {"school_id": "0113", "measure": "reading"}),
}

RUNS = {**TEMPLATES, **PARAMETERISED_RUNS}


@dataclass
class ExecutedNotebook:
    """One run of :data:`RUNS`: the executed notebook (``nb``, read once: do not change it), its
    file and its HTML page (code hidden), as :func:`hsp_eval.run.execute.run_notebook` wrote them."""

    key: str
    ipynb: Path
    html: Path
    nb: nbformat.NotebookNode = field(repr=False)


class NotebookRuns:
    """``runs[key]``: the run ``key`` of :data:`RUNS`, executed on first use and kept for the session.

    A run whose notebook raised is not started again: each test that reads it fails with the error
    (:class:`hsp_eval.run.execute.NotebookFailed`, chained to papermill's, which names the cell).
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self._done: dict[str, ExecutedNotebook | BaseException] = {}

    def __getitem__(self, key: str) -> ExecutedNotebook:
        from hsp_eval.run.execute import NotebookFailed, run_notebook

        if key not in self._done:
            notebook, parameters = RUNS[key]
            try:
                out = run_notebook(NOTEBOOKS / notebook, self.folder / key.replace("/", "__").replace(" ", "_"),
                                   parameters, title=key)
                self._done[key] = ExecutedNotebook(key, out["ipynb"], out["html"], nbformat.read(out["ipynb"], as_version=4))
            except NotebookFailed as e:
                self._done[key] = e
        done = self._done[key]
        if isinstance(done, BaseException):
            raise NotebookFailed(f"run {key!r}: {done}", done.failed_path) from done
        return done

    def template(self, notebook) -> ExecutedNotebook:
        """The run of ``notebook`` (its path) as a template, with no parameters."""
        return self[Path(notebook).resolve().relative_to(NOTEBOOKS).as_posix()]


@pytest.fixture(scope="session")
def notebook_runs(tmp_path_factory) -> NotebookRuns:
    """Every run of :data:`RUNS` on first use: ``notebook_runs["school_evaluation.ipynb"].nb``."""
    return NotebookRuns(tmp_path_factory.mktemp("notebook_runs"))


# --- one batch of the project's notebooks on the demo ------------------------------------------

@pytest.fixture(scope="session")
def demo_batch(tmp_path_factory):
    """The reports folder of one real batch (2 worker processes) of the project's notebooks on the
    demo: school 0113's evaluation and whānau and Board summary, the national overview and the
    inquiry impact. Its data step reuses the demo's tables (:func:`hsp_eval.run.demo.paths`, made
    from the same data and params), so it only runs the notebooks. Read it; do not change it."""
    from hsp_eval.run import batch, demo

    reports = tmp_path_factory.mktemp("demo_batch")
    shutil.copytree(demo.paths()["indicators"].parent, reports / "_data")
    res = batch.run_batch(demo.DATA, demo.PARAMS, reports, schools=["0113"], workers=2, progress=False, log=None)
    assert set(res.manifest["status"]) == {"ok"}, res.failed[["school", "notebook", "error"]].to_string()
    return reports
