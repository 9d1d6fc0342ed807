"""Fixtures shared by the whole suite: the slow end-to-end runs, each made once a session.

- ``notebook_runs``: every notebook under ``notebooks/`` executed by real papermill
  (:func:`hsp_eval.run.execute.run_notebook`) on the demo data, once a session, for the output
  checks, the "every cell runs" checks and the notebook tests alike;
- ``demo_batch``: one real batch of the project's notebooks on the demo, for the tests that only
  read what a batch writes.

The parameters of every run are here, in one place (:data:`PARAMETERISED_RUNS`). The runs the
selected tests will read start in one background process when the session starts, in the order
the tests will read them, and the tests that read them run last, so the rest of the suite goes on
meanwhile (under pytest-xdist one worker makes them for all: :class:`SessionRuns`). A test that asks
for ``notebook_runs`` (itself or through a fixture) names its runs with
``@pytest.mark.notebooks(key, ...)``, and the demo batch starts when a test asks for ``demo_batch``.
A run no test named starts when it is first read.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

# the warm engine's fork server fails, not slows down, when a module of its preload list does not
# import (hsp_eval.run.warm.STRICT_ENV); worker processes and command-line runs inherit it
os.environ.setdefault("HSP_EVAL_WARM_STRICT", "1")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


# --- the runs ----------------------------------------------------------------------------------

#: every notebook, run as a template: no parameters (the demo's defaults, as a reader opening it in
#: JupyterLab or ``make nbval`` runs it); its key is its path under notebooks/ ("external/nhes_pfi_2019.ipynb")
TEMPLATES = {p.relative_to(NOTEBOOKS).as_posix(): (p.relative_to(NOTEBOOKS).as_posix(), {})
             for p in sorted(NOTEBOOKS.rglob("*.ipynb")) if ".ipynb_checkpoints" not in p.parts}

#: the runs with parameters the tests read besides the templates: key -> (notebook under notebooks/, parameters)
PARAMETERISED_RUNS = {
    "school_evaluation 0827": ("school_evaluation.ipynb", {"school_id": "0827"}),
    "whanau_board_summary 0827": ("whanau_board_summary.ipynb", {"school_id": "0827"}),
    "national_overview Northland 2024-2025": ("national_overview.ipynb",
                                              {"region": "Northland", "years": [2024, 2025]}),
    "inquiry_impact 0113 reading": ("inquiry_impact.ipynb", {"school_id": "0113", "measure": "reading"}),
}

RUNS = {**TEMPLATES, **PARAMETERISED_RUNS}
#: the key of the demo batch among the background jobs
DEMO_BATCH = "demo batch"


@dataclass
class ExecutedNotebook:
    """One run of :data:`RUNS`: the executed notebook (``nb``, read once: do not change it), its
    file and its HTML page (code hidden), as :func:`hsp_eval.run.execute.run_notebook` wrote them."""

    key: str
    ipynb: Path
    html: Path
    nb: nbformat.NotebookNode = field(repr=False)


class SessionRuns:
    """The session's slow runs, each made once, in one background process (started afresh, so it
    sees the environment as it was when the session began, whatever a test changes later).

    ``runs[key]`` is the run ``key`` of :data:`RUNS`; ``runs.demo_batch()`` the demo batch's reports folder.
    A run whose notebook raised is not started again: each test that reads it fails with the error
    (:class:`hsp_eval.run.execute.NotebookFailed`, with papermill's report naming the cell).

    Under pytest-xdist (``make test`` runs the suite in several worker processes) the runs the
    session's tests name are made once, by the first worker (the *owner*), into a folder every
    worker sees; each run's result is kept there in a file (:func:`hsp_eval.testing.kept_result`)
    and another worker reading a run waits for that file. A run no test named is made by the worker
    that first reads it, in its own folder.
    """

    def __init__(self, shared: Path, local: Path, owner: bool = True):
        self.shared, self.local, self.owner = shared, local, owner
        self.named: set[str] = set()  #: the runs the session's tests name (the owner makes them)
        self._pool: ProcessPoolExecutor | None = None
        self._jobs: dict[str, Future] = {}
        self._done: dict[str, ExecutedNotebook | BaseException] = {}
        if owner:
            shared.mkdir(parents=True, exist_ok=True)
            (shared / "owner.pid").write_text(str(os.getpid()))

    def _submit(self, fn, *args, **kwargs) -> Future:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool.submit(fn, *args, **kwargs)

    def name(self, keys) -> None:
        """The runs the session's tests name: the owner starts them now, in this order."""
        self.named.update(keys)
        if self.owner:
            for key in keys:
                self.start(key)

    def start(self, key: str) -> None:
        """Queue ``key`` (a key of :data:`RUNS`, or :data:`DEMO_BATCH`) unless it is queued already
        (or, in another worker than the owner, unless the owner makes it)."""
        if key in self._jobs or (key in self.named and not self.owner):
            return
        from hsp_eval.run import batch, demo
        from hsp_eval.run.execute import run_notebook
        from hsp_eval.testing import kept_result

        kept = self._kept(key)
        if key == DEMO_BATCH:
            # its data step reuses the demo's tables (made from the same data and params), so it only runs
            # the notebooks; the jobs run one after the other, in this order
            reports = self._folder(key) / "demo_batch"
            self._submit(demo.paths)
            self._submit(shutil.copytree, batch.data_paths(demo.OUT)["folder"], reports / "_data")
            self._jobs[key] = self._submit(kept_result, kept, batch.run_batch, demo.DATA, demo.PARAMS, reports,
                                           schools=["0113"], workers=2, progress=False, log=None)
        else:
            notebook, parameters = RUNS[key]
            self._jobs[key] = self._submit(kept_result, kept, run_notebook, NOTEBOOKS / notebook, self._out(key),
                                           parameters, title=key)
        self._keep_failure(key, self._jobs[key])

    def _keep_failure(self, key: str, job: Future) -> None:
        """When job ``key`` failed before keeping its result (its process died, say), keeps the error,
        so that the workers waiting for it fail too instead of waiting for ever."""
        def keep(done: Future) -> None:
            if done.exception() is not None and not self._kept(key).exists():
                from hsp_eval.testing import kept_result

                def fail():
                    raise done.exception()
                with contextlib.suppress(Exception):
                    kept_result(self._kept(key), fail)
        job.add_done_callback(keep)

    def _folder(self, key: str) -> Path:
        return self.shared if key in self.named else self.local

    def _slug(self, key: str) -> str:
        return key.removesuffix(".ipynb").replace("/", "__").replace(" ", "_")

    def _out(self, key: str) -> Path:
        return self._folder(key) / "notebooks" / f"{self._slug(key)}.ipynb"

    def _kept(self, key: str) -> Path:
        return self._folder(key) / "results" / f"{self._slug(key)}.pickle"

    def _wait_for_owner(self, key: str):
        """The result of run ``key``, made by the owner worker: waits for its file."""
        from hsp_eval.testing import read_kept

        kept, pid = self._kept(key), self.shared / "owner.pid"
        while not kept.exists():
            if pid.exists() and not _alive(int(pid.read_text())):
                raise RuntimeError(f"run {key!r}: the worker making the session's runs stopped before it")
            time.sleep(0.5)
        return read_kept(kept)

    def _result(self, key: str):
        from hsp_eval.run.execute import NotebookFailed

        if key not in self._done:
            self.start(key)
            try:
                self._done[key] = self._jobs[key].result() if key in self._jobs else self._wait_for_owner(key)
            except Exception as e:  # noqa: BLE001 (kept, and raised to every test that reads the run)
                self._done[key] = e
        done = self._done[key]
        if isinstance(done, NotebookFailed):  # (its failed_path does not cross from the background process)
            failed = self._out(key).with_name(self._out(key).stem + ".failed.ipynb")
            raise NotebookFailed(f"run {key!r}: {done} (executed up to the error: {failed})", failed) from done
        if isinstance(done, BaseException):
            raise RuntimeError(f"run {key!r} failed: {type(done).__name__}: {done}") from done
        return done

    def __getitem__(self, key: str) -> ExecutedNotebook:
        out = self._result(key)
        if isinstance(out, dict):
            out = self._done[key] = ExecutedNotebook(key, out["ipynb"], out["html"],
                                                     nbformat.read(out["ipynb"], as_version=4))
        return out

    def template(self, notebook) -> ExecutedNotebook:
        """The run of ``notebook`` (its path) as a template, with no parameters."""
        return self[Path(notebook).resolve().relative_to(NOTEBOOKS).as_posix()]

    def demo_batch(self) -> Path:
        res = self._result(DEMO_BATCH)
        assert set(res.manifest["status"]) == {"ok"}, res.failed[["school", "notebook", "error"]].to_string()
        return res.index.parent

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def pytest_configure(config):
    config.addinivalue_line("markers", "notebooks(*keys): the runs of the notebook_runs fixture (keys of "
                                       "tests/conftest.py's RUNS) the test reads; they start when the session does")


def _reads_runs(item) -> bool:
    return "session_runs" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items):
    """Puts the tests that read the session's runs last, so that the runs are made while the
    other tests run (the order is the same in every xdist worker, as xdist requires)."""
    items[:] = [item for item in items if not _reads_runs(item)] + [item for item in items if _reads_runs(item)]


def _named_runs(items) -> list[str]:
    """The runs the tests ``items`` name, in the order they will read them."""
    keys = []
    for item in items:
        for mark in item.iter_markers("notebooks") if "notebook_runs" in item.fixturenames else ():
            keys += mark.args
        if "demo_batch" in item.fixturenames:
            keys.append(DEMO_BATCH)
    return list(dict.fromkeys(keys))


@pytest.fixture(scope="session")
def session_runs(tmp_path_factory, request):
    """The :class:`SessionRuns`, the runs the selected tests name made (by the owner worker) from
    the first test on. Without xdist, this process is the owner; under xdist, worker ``gw0``."""
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "master")
    base = tmp_path_factory.getbasetemp()
    shared = base / "session_runs" if worker_id == "master" else base.parent / "session_runs"
    runs = SessionRuns(shared, tmp_path_factory.mktemp("own_runs"), owner=worker_id in ("master", "gw0"))
    runs.name(_named_runs(request.session.items))
    yield runs
    runs.close()


@pytest.fixture(scope="session", autouse=True)
def _start_session_runs(session_runs):
    """Starts the background runs as the first test starts."""


@pytest.fixture(scope="session")
def notebook_runs(session_runs) -> SessionRuns:
    """Every run of :data:`RUNS`, each executed once: ``notebook_runs["school_evaluation 0827"].html``,
    ``notebook_runs.template(path).nb``."""
    return session_runs


@pytest.fixture(scope="session")
def demo_batch(session_runs) -> Path:
    """The reports folder of one real batch (2 worker processes) of the project's notebooks on the
    demo: school 0113's evaluation and whānau and Board summary, the national overview and the
    inquiry impact, and the index page. Read it; do not change it."""
    return session_runs.demo_batch()
