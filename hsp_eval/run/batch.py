"""The batch runner: every school's reports and the national overview, behind ``hsp-eval batch`` and ``report``.

A run has two steps.

1. **Data** (:func:`prepare_data`): the dataset is loaded and validated once and its tables
   are written to ``REPORTS/_data/`` (``_data_<years>/`` when only some years are asked
   for): ``indicators.parquet`` (school reports, ``min_n`` 5), ``publication.parquet``
   (regional and national counts randomly rounded, for the national overview),
   ``trends.parquet`` (with every good params file's targets), each with its provenance
   sidecar, and the prepared tables the notebooks read besides them
   (:mod:`hsp_eval.reports.prepared`: schools with region and Equity Index, survey item texts,
   the inquiry study's comparisons and pooled model, already disclosure-controlled). No
   notebook reads the data folder. A stamp (``inputs.json``) holds a hash of the data files, the
   hsp_eval code and the years; when they have not changed the tables are reused without
   reading the data again, and when only params files changed just the trends are
   recomputed. ``hsp-eval report`` uses the same step, so it recomputes only what is stale.
2. **Reports** (:func:`build_tasks`, :func:`execute`): one :class:`Task` per report, run by
   :func:`run_task` (:func:`hsp_eval.run.execute.run_notebook`: papermill's Python API, kernel
   ``python3``, HTML with the code hidden, atomic writes) inline (``workers=1``), in a pool of
   worker processes (``concurrent.futures`` with the ``forkserver`` start method, so no
   worker inherits the parent's state) or, given a scheduler address, on a
   ``dask.distributed`` cluster (its workers must see the same files at the same paths). The
   same function runs in every case; ``engine_name`` selects the papermill engine.

Notebook parameters (all paths absolute, so the notebooks run in any folder or worker):

- school notebooks (``school_evaluation``, ``whanau_board_summary``): ``school_id``, ``years``
  (list, or None for every year), ``indicators_path``, ``trends_path``, ``params_path`` and
  ``min_n`` (from the params file);
- ``national_overview``: ``years``, ``indicators_path`` (the publication table) and ``region``
  (None);
- ``inquiry_impact``: ``school_id`` (``"all"``), ``years``, ``measure`` (None) and ``indicators_path``
  (the publication table).

Outputs have fixed names: ``REPORTS/<school_id>/<notebook>.ipynb`` and ``.html``,
``REPORTS/national/national_overview.*``, ``REPORTS/manifest.csv`` (:data:`MANIFEST_COLUMNS`:
one row per report with status ``ok``, ``failed`` or ``skipped``, seconds, the error, and the
provenance: hsp_eval version and git commit, data fingerprint, date the data was read and the
parameters as JSON) and ``REPORTS/index.html`` (:mod:`hsp_eval.run.index_page`).

Failure is kept to its report: a notebook that raises, a kernel that dies, a missing or bad
params file (the :class:`~hsp_eval.indicators.params.ParamsError` message goes into the manifest) fails
that report only; the others go on and the caller exits non-zero at the end, naming them. (A
pool *worker* process that dies, which is rare since notebooks run in their own kernel
processes, fails the reports still waiting in that pool.) A failed report leaves no
``.ipynb``/``.html`` of its name; the executed notebook is kept as
``<notebook>.failed.ipynb`` for whoever fixes it. A school without a params file (or a run
without a params folder) gets the defaults (:func:`hsp_eval.indicators.params.default_params`:
every year, ``min_n`` 5, no targets): its reports say so, the manifest's ``params`` column
says ``defaults`` (else the file's name), and the run says how to write starter files
(``hsp-eval params init --all``).

**Resume**: each report's ``inputs_hash`` (:func:`inputs_hash`) covers the notebook file, the
parameters other than paths, the data fingerprint, the indicator table's bytes, the school's
own rows of the trends table, the school's params file and the hsp_eval version. A report
whose hash equals the one of its last successful run, and whose files are still there, is
``skipped``; so changing one school's params file reruns that school only. The git commit
is recorded but is not part of the hash (a commit that changes no input should not rerun
2,500 reports): a code change that changes the tables changes their hash, but one that only
changes how reports look needs ``force=True`` (``--force``), which reruns everything.

The manifest is rewritten (atomically) as reports finish, so an interrupted run resumes
where it stopped; it keeps the rows of earlier runs for schools not asked for this time.
A run killed outright leaves hidden files in the reports' folders (``.<notebook>.<pid>.running.ipynb``,
``.<file>.<pid>.tmp``); the next run removes those of each report it skips or runs again, once
their process is gone (:func:`remove_leftovers`). Two runs must not write into the same
reports folder at once.

Examples
--------
>>> report_paths("reports", "0113", "school_evaluation")["html"].as_posix()
'reports/0113/school_evaluation.html'
>>> report_paths("reports", NATIONAL, "national_overview")["ipynb"].as_posix()
'reports/national/national_overview.ipynb'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hsp_eval._version import __version__
from hsp_eval.indicators import disclosure, disclosure_key
from hsp_eval.reports import prepared, provenance, reference
from hsp_eval.reports.prepared import FILES as PREPARED, prepared_path
from hsp_eval.run.execute import write_text_atomic
from hsp_eval.run.index_page import NATIONAL, write_index
from hsp_eval.indicators.params import default_params, load_params_each, margins_frame, params_path

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
SCHOOL_NOTEBOOKS = ("school_evaluation", "whanau_board_summary")
NATIONAL_NOTEBOOK = "national_overview"
#: reports over every school: the overview and the inquiry-impact study (both from the publication table)
NATIONAL_NOTEBOOKS = (NATIONAL_NOTEBOOK, "inquiry_impact")
NATIONAL_NAMES = {NATIONAL_NOTEBOOK: "National overview", "inquiry_impact": "Inquiry impact"}
TITLES = {"school_evaluation": "home-school partnership evaluation",
          "whanau_board_summary": "summary for whānau and the Board",
          "national_overview": "National overview of home-school partnership",
          "inquiry_impact": "Inquiry impact: target students, whānau and accelerated progress"}
DATA_MIN_N = 5
MANIFEST_COLUMNS = ["school", "notebook", "status", "seconds", "error", "display_name", "html", "ipynb",
                    "run_at", "hsp_eval_version", "git_commit", "data_fingerprint", "data_read_at",
                    "params", "parameters", "inputs_hash"]
#: the manifest's ``params`` of a school report made without a params file (the defaults: no targets)
PARAMS_DEFAULTS = "defaults"
PATH_PARAMETERS = frozenset({"indicators_path", "trends_path", "params_path"})
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class BatchError(RuntimeError):
    """The run cannot start at all (e.g. the dataset does not meet the data contract)."""


# ---------------------------------------------------------------------------------------------
# hashing

def file_sha256(path) -> str:
    """SHA-256 of a file's bytes, read in 1 MB blocks.

    Examples
    --------
    >>> file_sha256(__file__) == file_sha256(__file__)
    True
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _json_sha256(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def _folder_sha256(folder: Path, pattern: str = "*", recursive: bool = False) -> str:
    """Hash of the relative names and bytes of the files matching ``pattern`` in ``folder``.

    ``recursive`` takes the files of every subfolder too (the package's code: a module moved to
    another subpackage changes the hash, as an edited one does).
    """
    folder = Path(folder)
    files = folder.rglob(pattern) if recursive else folder.glob(pattern)
    return _json_sha256({f.relative_to(folder).as_posix(): file_sha256(f) for f in sorted(files) if f.is_file()})


# ---------------------------------------------------------------------------------------------
# step 1: the data

@dataclass
class DataFiles:
    """The tables of step 1 in ``REPORTS/_data`` and what was done to make them."""

    folder: Path
    data_dir: Path
    indicators: Path
    publication: Path
    trends: Path
    schools: Path
    rebuilt: list[str] = field(default_factory=list)

    @property
    def provenance(self) -> dict:
        """The provenance sidecar of the indicator table (data fingerprint, read date, ...)."""
        return provenance.read_sidecar(self.indicators)

    def school_table(self) -> pd.DataFrame:
        """The prepared schools table (:func:`hsp_eval.reports.prepared.schools_table`) of the dataset."""
        return pd.read_parquet(self.schools)

    def prepared(self, name: str) -> Path:
        """The path of prepared table ``name`` (:data:`hsp_eval.reports.prepared.FILES`)."""
        return prepared_path(self.indicators, name)


def data_paths(reports, years=None) -> dict[str, Path]:
    """Paths of step 1's files below ``reports``: ``_data/`` for all years, ``_data_<years>/`` for some.

    Tables for a subset of years live apart, so a ``report --years`` run does not replace
    the tables a full batch made (and the next full batch need not recompute them).

    Examples
    --------
    >>> data_paths("reports")["trends"].as_posix()
    'reports/_data/trends.parquet'
    >>> data_paths("reports", [2023, 2024, 2025])["folder"].name, data_paths("reports", [2022, 2024])["folder"].name
    ('_data_2023-2025', '_data_2022_2024')
    """
    name = "_data"
    if years is not None:
        ys = sorted(int(y) for y in years)
        name += f"_{ys[0]}-{ys[-1]}" if ys == list(range(ys[0], ys[-1] + 1)) and len(ys) > 1 else \
            "_" + "_".join(map(str, ys))
    folder = Path(reports) / name
    return {"folder": folder, "indicators": folder / "indicators.parquet",
            "publication": folder / "publication.parquet", "trends": folder / "trends.parquet",
            "schools": prepared_path(folder / "indicators.parquet", "schools"), "stamp": folder / "inputs.json",
            "log": folder / "disclosure_log.parquet"}


def _write_prepared(ds, indicators_path: Path, years, key: bytes | None) -> None:
    """The prepared tables (:mod:`hsp_eval.reports.prepared`) beside the indicator table; the inquiry
    study's (regional and national rows, randomly rounded) only with the publication ``key``."""
    tables = {"schools": prepared.schools_table(ds["schools"]), "items": prepared.items_table(ds),
              **(prepared.inquiry_tables(ds, years=years, key=key, min_n=DATA_MIN_N) if key is not None else {})}
    if key is not None:  # schools like ours, from the published school values (publication.parquet)
        tables["reference"] = reference.reference_table(
            reference.publication_school_rows(indicators_path.with_name("publication.parquet")), tables["schools"])
    for name, table in tables.items():
        _write_parquet_atomic(table, prepared_path(indicators_path, name))


def _write_parquet_atomic(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` to ``path`` through a temporary file, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    table.to_parquet(tmp, index=False, compression="zstd")
    tmp.replace(path)


def _data_stamp(data_dir: Path, years) -> str:
    code = _folder_sha256(PACKAGE, "*.py", recursive=True)
    return _json_sha256({"data": _folder_sha256(data_dir), "code": code, "version": __version__,
                         "years": None if years is None else sorted(years), "min_n": DATA_MIN_N})


def prepare_data(data_dir, params_dir, reports, years=None, force: bool = False, workers: int = 1,
                 log=print, key_file=None, national: bool = True) -> DataFiles:
    """Step 1: the indicator, publication and trends tables of ``data_dir`` in ``reports/_data``.

    Parameters
    ----------
    data_dir : the dataset folder (data contract).
    params_dir : folder of ``<school_id>.yaml`` params files (their targets go into the trends;
        bad files are left out here and reported against their school in step 2); None, or a
        folder that does not exist, when no school has one.
    reports : the reports folder.
    years : years to keep (None: all).
    force : recompute even when the stamp says the tables are current.
    workers : processes for the indicator engine (the table is the same whatever the number).
    log : where to say what was done (``print``; ``None`` for silence).
    key_file : the publication key (:func:`hsp_eval.indicators.disclosure_key.key_path`: default the file named
        by ``HSP_EVAL_KEY_FILE``, else ``disclosure.key`` in the data folder). The reports' kernels
        find it through ``HSP_EVAL_KEY_FILE``, which is set to it here.
    national : reports beyond a school will be made, so the publication tables are needed and so
        is the key. With False and no key anywhere, only the school reports' tables are made
        (publication tables left from an earlier run with a key are kept while the data are
        unchanged): a school making its own report needs no publication key.

    Raises
    ------
    BatchError
        When the dataset does not meet the data contract (the message lists the problems), or
        the key is needed and missing.
    """
    from hsp_eval.indicators import engine as indicators
    from hsp_eval.indicators.topics.inquiry import with_margins
    from hsp_eval.data.load import load_dataset
    from hsp_eval.data.problems import DataContractError
    from hsp_eval.indicators.trends import compute_trends, targets_frame

    log = log or (lambda *a, **k: None)
    data_dir = Path(data_dir).resolve()
    params_dir = None if params_dir is None else Path(params_dir).resolve()
    if not data_dir.is_dir():
        raise BatchError(f"{data_dir}: no such data folder")
    p = data_paths(Path(reports).resolve(), years)
    files = DataFiles(p["folder"], data_dir, p["indicators"], p["publication"], p["trends"], p["schools"])
    key = None
    if national or disclosure_key.key_path(key_file, data_dir) is not None:
        try:
            key = disclosure_key.find_key(key_file, data_dir)
        except disclosure_key.KeyProblem as e:
            raise BatchError(f"the publication tables and national reports: {e}") from None
        os.environ[disclosure_key.ENV_VAR] = str(disclosure_key.key_path(key_file, data_dir).resolve())
    old = json.loads(p["stamp"].read_text()) if p["stamp"].exists() else {}
    good, _ = load_params_each(params_dir)
    margins = margins_frame(good)  # the schools' standard errors of measurement change the indicators
    stamp = {"data": _data_stamp(data_dir, years),
             "params": _folder_sha256(params_dir, "*.yaml") if params_dir is not None else _json_sha256({}),
             "key": None if key is None else hashlib.sha256(b"hsp_eval key check " + key).hexdigest()[:16],
             "margins": _json_sha256(margins.to_dict("records"))}
    # the school reports' tables; the publication ones (and the inquiry study's) when there is a key
    school_only = [p["indicators"], p["trends"], p["log"], prepared_path(p["indicators"], "schools"),
                   prepared_path(p["indicators"], "items")]
    publication_only = [p["publication"], *(prepared_path(p["indicators"], name) for name in PREPARED
                                            if name not in ("schools", "items"))]
    have = all(f.exists() for f in school_only + (publication_only if key is not None else []))
    if (force or not have or old.get("data") != stamp["data"]
            or (key is not None and old.get("key") != stamp["key"])
            or old.get("margins", _json_sha256([])) != stamp["margins"]):
        read_at = provenance.now()
        t0 = time.perf_counter()
        try:
            ds = load_dataset(data_dir)
        except DataContractError as e:
            raise BatchError(f"{data_dir} does not meet the data contract; run 'hsp-eval validate {data_dir}'.\n"
                             + e.report.format(cap=20)) from None
        fp = ds.fingerprint()
        ds = with_margins(ds, margins)
        logs = []
        for f in publication_only:  # none left from an earlier run: they would not match these tables
            f.unlink(missing_ok=True)
        for name, publication in (("indicators", False), ("publication", True))[:2 if key is not None else 1]:
            table = indicators.compute(ds, years=years, min_n=DATA_MIN_N, publication=publication, workers=workers,
                                       key=key if publication else None, rules=True)
            logs.append(disclosure.log_of(table, name, disclosure.PUBLICATION_MIN if publication else DATA_MIN_N))
            indicators.write_table(table.drop(columns="withheld_rule"), p[name])
            provenance.write_sidecar(p[name], provenance.record(
                fp, data_dir, read_at, min_n=DATA_MIN_N, publication=publication, ethnicity="both",
                years=None if years is None else f"{min(years)}-{max(years)}"))
        # the disclosure log: every cell of both tables, shown or withheld, and why (no counts in it)
        _write_parquet_atomic(pd.concat(logs, ignore_index=True), p["log"])
        _write_prepared(ds, p["indicators"], years, key)
        files.rebuilt += ["indicators", "publication"] if key is not None else ["indicators"]
        log(f"Data: {data_dir} read and validated; indicator tables written to {p['folder']} "
            f"({time.perf_counter() - t0:.1f} s; fingerprint {fp[:16]}).")
        if key is None:
            log("Data: no publication key, so the tables for reports beyond the school (publication.parquet) "
                "were not made; the school reports do not need them.")
    if files.rebuilt or old.get("params") != stamp["params"]:
        trends = compute_trends(indicators.read_table(p["indicators"]), targets_frame(good))
        indicators.write_table(trends, p["trends"])
        provenance.write_sidecar(p["trends"], {**provenance.read_sidecar(p["indicators"]),
                                               "params_dir": str(params_dir or ""), "params_hash": stamp["params"]})
        files.rebuilt.append("trends")
        if "indicators" not in files.rebuilt:
            log(f"Data: unchanged; trends recomputed for changed params files in {params_dir}.")
    else:
        log(f"Data: unchanged since the tables in {p['folder']} were made; reusing them.")
    if key is None:  # the publication tables of an earlier run with a key stay while they are current
        stamp["key"] = old.get("key") if "indicators" not in files.rebuilt else None
    write_text_atomic(p["stamp"], json.dumps(stamp, indent=2, sort_keys=True) + "\n")
    return files


# ---------------------------------------------------------------------------------------------
# step 2: the reports

@dataclass(frozen=True)
class Task:
    """One report to run: what :func:`run_task` needs, plain values only (it crosses processes)."""

    school: str
    notebook: str
    template: str
    output: str
    parameters: dict
    title: str
    inputs_hash: str
    display_name: str = ""
    engine_name: str | None = None
    #: the school's params: its file's name, or :data:`PARAMS_DEFAULTS` (empty for national reports)
    params: str = ""


def report_paths(reports, school: str, notebook: str) -> dict[str, Path]:
    """The fixed paths of a report: ``reports/<school>/<notebook>.ipynb`` and ``.html``."""
    base = Path(reports) / school / notebook
    return {"ipynb": base.with_suffix(".ipynb"), "html": base.with_suffix(".html")}


def inputs_hash(template, parameters: dict, data_fingerprint: str | None, tables: dict[str, str],
                params_file=None) -> str:
    """The resume key of a report: a hash of everything its output depends on.

    Parameters
    ----------
    template : the notebook file (its bytes are hashed).
    parameters : the parameters given to the notebook.
    data_fingerprint : the dataset's fingerprint.
    tables : hashes of the tables the notebook reads (name -> hash).
    params_file : the school's params file, if any (its bytes are hashed).

    Parameters that are paths (:data:`PATH_PARAMETERS`) are left out: what the files hold is
    in the key (data fingerprint, table hashes, params file), where they are is not, so a
    moved reports or params folder does not rerun every report.

    Examples
    --------
    >>> a = inputs_hash(__file__, {"school_id": "0113"}, "ab", {})
    >>> a == inputs_hash(__file__, {"school_id": "0828"}, "ab", {})
    False
    """
    return _inputs_hash(file_sha256(template), parameters, data_fingerprint, tables,
                        None if params_file is None else file_sha256(params_file))


def _inputs_hash(template_sha: str, parameters: dict, data_fingerprint: str | None, tables: dict[str, str],
                 params_sha: str | None) -> str:
    """:func:`inputs_hash` from the hashes of the notebook and params files (each file hashed once a run)."""
    values = {k: v for k, v in parameters.items() if k not in PATH_PARAMETERS}
    return _json_sha256({"notebook": template_sha, "parameters": values,
                         "data_fingerprint": data_fingerprint, "tables": tables,
                         "params_file": params_sha, "hsp_eval_version": __version__})


def _trend_hashes(trends_path: Path) -> dict[str, str]:
    """A hash of each area's rows of the trends table (a school's targets change only its rows)."""
    t = pd.read_parquet(trends_path)
    rows = pd.util.hash_pandas_object(t, index=False)
    return {str(a): hashlib.sha256(rows[idx].to_numpy().tobytes()).hexdigest()
            for a, idx in t.groupby("area_id", sort=True).groups.items()}


def _row(school, notebook, status, *, error="", display_name="", task: Task | None = None, rec=None,
         reports: Path | None = None, **extra) -> dict:
    rec = rec or {}
    row = {c: "" for c in MANIFEST_COLUMNS}
    row.update(school=school, notebook=notebook, status=status, seconds=0.0, error=error, display_name=display_name,
               hsp_eval_version=__version__, git_commit=provenance.git_commit(),
               data_fingerprint=rec.get("data_fingerprint") or "", data_read_at=rec.get("data_read_at") or "")
    if task is not None:
        paths = report_paths(reports, school, notebook)
        row.update(parameters=json.dumps(task.parameters, sort_keys=True, ensure_ascii=False),
                   inputs_hash=task.inputs_hash, params=task.params, html=paths["html"].relative_to(reports).as_posix(),
                   ipynb=paths["ipynb"].relative_to(reports).as_posix())
    row.update(extra)
    return row


def build_tasks(files: DataFiles, params_dir, reports, schools="all", years=None, summary: bool = True,
                national: bool = True, notebooks_dir=None, engine_name: str | None = None):
    """Tasks of step 2, and manifest rows of the reports that fail before running.

    Parameters
    ----------
    files : step 1's tables (:func:`prepare_data`).
    params_dir : folder of the schools' params files (None, or a missing folder: no school has one).
    reports : the reports folder.
    schools : ``"all"`` (every school of the dataset) or a list of school ids.
    years : years given to every notebook (None: all).
    summary : also the whānau and Board summary of each school.
    national : also the national overview.
    notebooks_dir : folder of the template notebooks (default: the project's ``notebooks/``).
    engine_name : papermill engine (None: papermill's standard engine).

    Returns
    -------
    (tasks, failed_rows): a list of :class:`Task` in a fixed order (schools by id, then the
    national overview) and the rows of reports that cannot run (bad params file, school not in
    the dataset, missing notebook). A school without a params file gets the defaults
    (:func:`hsp_eval.indicators.params.default_params`: no targets); its task's ``params`` says
    ``defaults``, else the params file's name.

    The params folder is read once and every file (notebook, params file) is hashed once: the
    tasks are made before the first report can start (docs/performance.md, issue 20).
    """
    reports = Path(reports).resolve()
    params_dir = None if params_dir is None else Path(params_dir).resolve()
    nb_dir = Path(notebooks_dir or NOTEBOOKS_DIR).resolve()
    known = files.school_table()
    names = dict(zip(known["school_id"], known["school_name"]))
    wanted = sorted(names) if schools == "all" else list(dict.fromkeys(schools))
    rec = files.provenance
    fp = rec.get("data_fingerprint")
    years = None if years is None else sorted(int(y) for y in years)
    # the school notebooks read the indicator table and, beside it, the school's name, the item texts and
    # the reference figures of schools like ours
    tables = {"indicators": file_sha256(files.indicators), "schools": file_sha256(files.schools),
              "items": file_sha256(files.prepared("items")),
              # (made only with the publication key: without it the reports compare with no other school)
              "reference": file_sha256(files.prepared("reference")) if files.prepared("reference").exists() else ""}
    trend_rows = _trend_hashes(files.trends)
    good, bad = load_params_each(params_dir)
    notebooks = SCHOOL_NOTEBOOKS if summary else SCHOOL_NOTEBOOKS[:1]
    templates = {nb: nb_dir / f"{nb}.ipynb" for nb in notebooks}
    template_sha = {nb: file_sha256(t) for nb, t in templates.items() if t.exists()}
    tasks, failed = [], []
    for sid in wanted:
        sid = str(sid)
        problem, params, pfile = None, None, None
        if sid not in names:
            problem = f"school {sid} is not in {files.data_dir}/schools"
        elif not _SAFE_ID.fullmatch(sid) or sid == NATIONAL:
            problem = f"school id {sid!r} cannot be used as a folder name under {reports}"
        elif sid in bad:
            problem = bad[sid]
        elif sid in good:
            params, pfile = good[sid], params_path(params_dir, sid)
        else:  # no params file: the defaults, said in the report and in the manifest's params column
            params = default_params(sid, str(names[sid]))
        display = params["display_name"] if params else names.get(sid, "")
        used = (params_path(params_dir, sid).name if sid in bad else pfile.name if pfile is not None
                else PARAMS_DEFAULTS if params is not None else "")
        params_sha = file_sha256(pfile) if pfile is not None else None
        for nb in notebooks:
            template = templates[nb]
            if problem is None and nb not in template_sha:
                failed.append(_row(sid, nb, "failed", error=f"{template}: no such notebook",
                                   display_name=display, rec=rec, params=used))
                continue
            if problem is not None:
                failed.append(_row(sid, nb, "failed", error=problem, display_name=display, rec=rec, params=used))
                continue
            parameters = {"school_id": sid, "years": years, "indicators_path": str(files.indicators),
                          "trends_path": str(files.trends), "params_path": None if pfile is None else str(pfile),
                          "min_n": params["min_n"]}
            key = _inputs_hash(template_sha[nb], parameters, fp, {**tables, "trends": trend_rows.get(sid)},
                               params_sha)
            tasks.append(Task(sid, nb, str(template), str(report_paths(reports, sid, nb)["ipynb"]), parameters,
                              f"{display}: {TITLES.get(nb, nb.replace('_', ' '))}", key, display, engine_name,
                              used))
    if national:
        nrec = provenance.read_sidecar(files.publication)
        for nb in NATIONAL_NOTEBOOKS:
            template = nb_dir / f"{nb}.ipynb"
            if not template.exists():
                failed.append(_row(NATIONAL, nb, "failed", error=f"{template}: no such notebook",
                                   display_name=NATIONAL_NAMES[nb], rec=nrec))
                continue
            parameters = {"years": years, "indicators_path": str(files.publication),
                          **({"region": None} if nb == NATIONAL_NOTEBOOK else {"school_id": "all", "measure": None})}
            read = ["schools"] if nb == NATIONAL_NOTEBOOK else ["inquiry_compared", "inquiry_model"]
            key = inputs_hash(template, parameters, nrec.get("data_fingerprint"),
                              {"publication": file_sha256(files.publication),
                               **{name: file_sha256(files.prepared(name)) for name in read}})
            tasks.append(Task(NATIONAL, nb, str(template), str(report_paths(reports, NATIONAL, nb)["ipynb"]),
                              parameters, TITLES[nb], key, NATIONAL_NAMES[nb], engine_name))
    return tasks, failed


def run_task(task: Task) -> dict:
    """Run one report (any process, any machine with the same files); never raises.

    Returns ``{"school", "notebook", "status" ("ok" | "failed"), "seconds", "error", "run_at"}``.
    """
    from hsp_eval.run.execute import NotebookFailed, run_notebook

    t0 = time.perf_counter()
    status, error = "ok", ""
    try:
        run_notebook(task.template, task.output, task.parameters, title=task.title, engine_name=task.engine_name)
    except NotebookFailed as e:
        status, error = "failed", str(e)
        if e.failed_path is not None:
            error += f" (the executed notebook is kept as {Path(e.failed_path).name})"
    except Exception as e:  # a report's failure must never stop the others
        status, error = "failed", f"{type(e).__name__}: {e}"
    return {"school": task.school, "notebook": task.notebook, "status": status,
            "seconds": round(time.perf_counter() - t0, 2), "error": error, "run_at": provenance.now()}


#: seconds between two progress lines when standard error is not a terminal
PROGRESS_EVERY = 30.0


def format_duration(seconds: float) -> str:
    """A duration as people read it.

    Examples
    --------
    >>> format_duration(4.2), format_duration(125), format_duration(3 * 3600 + 61)
    ('4 s', '2 min 05 s', '3 h 01 min')
    """
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """How far a run of ``total`` reports is, on ``stream`` (standard error by default).

    On a terminal, tqdm's bar. Anywhere else (a log file, CI, a pipe) a bar's redraws would be
    kept as one long line, so there it is a plain line when the run starts and then at most
    every :data:`PROGRESS_EVERY` seconds. A report that fails is named at once either way; why
    it failed is in the manifest and in the list ``hsp-eval`` prints at the end.

    Examples
    --------
    >>> import io
    >>> out, now = io.StringIO(), [0.0]
    >>> p = Progress(3, stream=out, clock=lambda: now[0])
    >>> p.update("0113 school_evaluation", "ok"); now[0] = 31.0
    >>> p.update("0828 school_evaluation", "failed", "school_evaluation.ipynb failed: ValueError: no data")
    >>> p.close()
    >>> print(out.getvalue(), end="")
    reports: 3 to run
    0828 school_evaluation: school_evaluation.ipynb failed: ValueError: no data
    reports: 2 of 3 done (1 failed), 31 s
    """

    def __init__(self, total: int, enabled: bool = True, stream=None, clock=time.monotonic):
        import sys

        self.total, self.done, self.failed = total, 0, 0
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and total > 0
        self._clock = clock
        self._start = self._last = clock()
        self._bar = None
        if self.enabled and _is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="reports", unit="report", file=self.stream, dynamic_ncols=True)
        elif self.enabled:
            self._say(f"reports: {total} to run")

    def update(self, name: str, status: str, error: str = "") -> None:
        """One report ``name`` finished with ``status`` (``ok`` or ``failed``, with its ``error``)."""
        self.done += 1
        self.failed += status == "failed"
        if not self.enabled:
            return
        if status == "failed":
            self._say(f"{name}: {(error.splitlines() or ['failed'])[0][:200]}")
        if self._bar is not None:
            self._bar.set_postfix_str(f"{name} {status}", refresh=False)
            self._bar.update(1)
        elif self._clock() - self._last >= PROGRESS_EVERY and self.done < self.total:
            self._last = self._clock()
            failed = f" ({self.failed} failed)" if self.failed else ""
            self._say(f"reports: {self.done} of {self.total} done{failed}, "
                      f"{format_duration(self._last - self._start)}")

    def _say(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or closed
        return False


def _crashed(task: Task, e: BaseException) -> dict:
    return {"school": task.school, "notebook": task.notebook, "status": "failed", "seconds": 0.0,
            "error": f"the worker running it stopped: {type(e).__name__}: {e}", "run_at": provenance.now()}


#: modules multiprocessing's fork server imports before forking the pool's workers (a name that
#: fails to import is skipped silently there, so tests/test_warm.py imports each)
WORKER_PRELOAD = ("hsp_eval.run.batch", "hsp_eval.run.execute", "hsp_eval.run.warm")


def _results_local(tasks: list[Task], workers: int):
    if workers <= 1:
        for t in tasks:
            yield t, run_task(t)
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":  # workers start with papermill and hsp_eval imported once
        ctx.set_forkserver_preload(list(WORKER_PRELOAD))
    from hsp_eval.run import warm

    # with the warm engine, the workers fork their kernels from one server: its imports once a batch
    uses_warm = any(t.engine_name == "warm" for t in tasks)
    with warm.shared_server() if uses_warm else contextlib.nullcontext() as shared:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=warm.attach if shared else None,
                                   initargs=shared or ())
        try:
            futures = {pool.submit(run_task, t): t for t in tasks}
            for fut in as_completed(futures):
                try:
                    yield futures[fut], fut.result()
                except Exception as e:  # BrokenProcessPool: a worker died (e.g. out of memory)
                    yield futures[fut], _crashed(futures[fut], e)
        finally:  # on Ctrl-C (or the caller stopping early) reports not started are not started
            pool.shutdown(wait=True, cancel_futures=True)


def _results_dask(tasks: list[Task], address: str):
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(address) as client:
        futures = client.map(run_task, tasks, pure=False)
        by_key = {f.key: t for f, t in zip(futures, tasks)}
        for fut in dask_completed(futures):
            try:
                yield by_key[fut.key], fut.result()
            except Exception as e:  # the worker was lost
                yield by_key[fut.key], _crashed(by_key[fut.key], e)


def execute(tasks: list[Task], workers: int = 1, scheduler: str | None = None, progress: bool = True):
    """Run tasks; yield ``(task, result)`` as each finishes (see :func:`run_task`).

    ``workers`` processes on this machine (1: in this process), or with ``scheduler`` (a
    ``dask.distributed`` address such as ``tcp://10.0.0.5:8786``) on that cluster's workers.
    With ``progress``, says how far the run is on standard error (:class:`Progress`: a bar on a
    terminal, plain lines elsewhere).
    """
    results = _results_dask(tasks, scheduler) if scheduler else _results_local(tasks, workers)
    with Progress(len(tasks), progress) as shown:
        for task, result in results:
            shown.update(f"{task.school} {task.notebook}", result["status"], result["error"])
            yield task, result


# ---------------------------------------------------------------------------------------------
# the manifest

def read_manifest(reports) -> pd.DataFrame:
    """``reports/manifest.csv`` as text columns (empty with :data:`MANIFEST_COLUMNS` when absent)."""
    path = Path(reports) / "manifest.csv"
    if not path.exists():
        return pd.DataFrame(columns=MANIFEST_COLUMNS, dtype=str)
    m = pd.read_csv(path, dtype=str, keep_default_na=False)
    return m.reindex(columns=MANIFEST_COLUMNS, fill_value="")


def write_manifest(reports, rows: dict) -> Path:
    """Write the manifest (rows keyed by (school, notebook)) atomically, in a fixed order."""
    order = {nb: k for k, nb in enumerate((*SCHOOL_NOTEBOOKS, *NATIONAL_NOTEBOOKS))}
    keys = sorted(rows, key=lambda k: (k[0] == NATIONAL, k[0], order.get(k[1], 99), k[1]))
    m = pd.DataFrame([rows[k] for k in keys], columns=MANIFEST_COLUMNS)
    path = Path(reports) / "manifest.csv"
    write_text_atomic(path, m.to_csv(index=False, lineterminator="\n"))
    return path


def _unchanged(prev: dict | None, task: Task, reports: Path) -> bool:
    if not prev or prev.get("status") not in ("ok", "skipped") or prev.get("inputs_hash") != task.inputs_hash:
        return False
    return all(p.exists() for p in report_paths(reports, task.school, task.notebook).values())


def _the_only_school(files: DataFiles) -> list[str]:
    """``[id]`` of the dataset's only school; a :class:`BatchError` listing the ids when there are several."""
    ids = sorted(files.school_table()["school_id"].astype(str))
    if not ids:
        raise BatchError(f"{files.data_dir}/schools has no school in it")
    if len(ids) != 1:
        shown = ", ".join(ids[:10]) + (", ..." if len(ids) > 10 else "")
        raise BatchError(f"{files.data_dir} holds {len(ids):,} schools ({shown}); say which one with "
                         f"--school ID, for example --school {ids[0]}")
    return ids


def _schools_in_words(ids: list[str]) -> str:
    """``school 0042 has`` / ``3 schools (0042, 0043, 0044) have`` / ``2,500 schools have``.

    Examples
    --------
    >>> _schools_in_words(["0042"]), _schools_in_words(["0042", "0043"])
    ('school 0042 has', '2 schools (0042, 0043) have')
    """
    if len(ids) == 1:
        return f"school {ids[0]} has"
    return f"{len(ids):,} schools" + (f" ({', '.join(ids)})" if len(ids) <= 5 else "") + " have"


# ---------------------------------------------------------------------------------------------
# hidden files of an interrupted run

#: the hidden files a report is written through: ``.<notebook>.<pid>.running.ipynb`` (papermill's
#: output while it runs, :func:`hsp_eval.run.execute.run_notebook`) and ``.<file>.<pid>.tmp``
#: (:func:`hsp_eval.run.execute.write_text_atomic`); a run killed outright leaves them behind
_LEFTOVER = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.(?:running\.ipynb|tmp)")


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (True when that cannot be known)."""
    if pid == os.getpid():
        return True
    if os.name != "posix":  # os.kill(pid, 0) would not only ask there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, and belongs to someone else
        return True
    return True


def remove_leftovers(reports, school: str, notebook: str) -> list[Path]:
    """Remove the hidden files an interrupted run left for report (``school``, ``notebook``).

    Only files of that report's own names are looked at, and a file whose process is still
    running on this machine is left alone (its pid is in its name): it is a live run's.

    Parameters
    ----------
    reports : the reports folder.
    school, notebook : the report (``reports/<school>/<notebook>.*``).

    Returns
    -------
    The files removed.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "0042"
    >>> folder.mkdir()
    >>> dead, live = 999999999, os.getpid()   # no process has pid 999999999 (above Linux's pid_max)
    >>> for name in (f".school_evaluation.{dead}.running.ipynb", f".school_evaluation.html.{dead}.tmp",
    ...              f".school_evaluation.{live}.running.ipynb", f".whanau_board_summary.{dead}.running.ipynb"):
    ...     (folder / name).touch()
    >>> [p.name for p in remove_leftovers(folder.parent, "0042", "school_evaluation")]
    ['.school_evaluation.999999999.running.ipynb', '.school_evaluation.html.999999999.tmp']
    """
    folder = Path(reports) / school
    mine = {notebook, f"{notebook}.ipynb", f"{notebook}.html"}
    try:
        names = sorted(os.listdir(folder), key=lambda n: (not n.endswith(".running.ipynb"), n))
    except (FileNotFoundError, NotADirectoryError):
        return []
    removed = []
    for name in names:
        m = _LEFTOVER.fullmatch(name)
        if m and m["name"] in mine and not _pid_alive(int(m["pid"])):
            (folder / name).unlink(missing_ok=True)
            removed.append(folder / name)
    return removed


# ---------------------------------------------------------------------------------------------
# the whole run

@dataclass
class BatchResult:
    """What a run did: the manifest, the index page, and the reports that failed."""

    manifest: pd.DataFrame
    index: Path
    data: DataFiles

    @property
    def failed(self) -> pd.DataFrame:
        return self.manifest[self.manifest["status"] == "failed"]

    def counts(self) -> dict[str, int]:
        return {s: int((self.manifest["status"] == s).sum()) for s in ("ok", "skipped", "failed")}


def run_batch(data_dir, params_dir, reports, schools="all", years=None, workers: int = 1,
              scheduler: str | None = None, summary: bool = True, national: bool = True,
              engine_name: str | None = None, notebooks_dir=None, force: bool = False,
              progress: bool = True, log=print, key_file=None) -> BatchResult:
    """Steps 1 and 2, the manifest and the index page; see the module's description.

    Parameters
    ----------
    data_dir, params_dir, reports : the dataset, the params files and the output folder (``params_dir``
        None, or a folder that does not exist: every school gets the default params).
    schools : ``"all"``, a list of school ids, or ``"only"``: the dataset's one school (a
        :class:`BatchError` naming the schools when it has several).
    years : years to report (None: all in the data).
    workers : worker processes (1: run in this process).
    scheduler : a ``dask.distributed`` scheduler address; the reports then run on its workers.
    summary : also each school's whānau and Board summary.
    national : also the national overview.
    engine_name : papermill engine name passed to :func:`hsp_eval.run.execute.run_notebook`.
    notebooks_dir : folder of the template notebooks (default: the project's ``notebooks/``).
    force : recompute the tables and rerun every report, unchanged or not.
    progress : say how far the reports are (see :class:`Progress`), on standard error.
    log : where to say what was done (``None`` for silence).
    key_file : the publication key file (see :func:`prepare_data`).

    Returns
    -------
    BatchResult
        ``manifest`` holds this run's rows only (``reports/manifest.csv`` also keeps the rows of
        earlier runs for schools not asked for this time); ``failed`` the failed ones.

    Raises
    ------
    BatchError
        When the run cannot start (dataset not meeting the data contract, no such folder).
    """
    reports = Path(reports).resolve()
    reports.mkdir(parents=True, exist_ok=True)
    if log and params_dir is not None and not Path(params_dir).is_dir():
        log(f"Params: {params_dir} does not exist; every school gets the default settings (no targets).")
    files = prepare_data(data_dir, params_dir, reports, years=years, force=force,
                         workers=1 if scheduler else max(1, workers), log=log, key_file=key_file, national=national)
    if schools == "only":
        schools = _the_only_school(files)
    tasks, failed = build_tasks(files, params_dir, reports, schools, years, summary, national,
                                notebooks_dir, engine_name)
    defaults = sorted({t.school for t in tasks if t.params == PARAMS_DEFAULTS})
    if log and defaults:
        log(f"Params: {_schools_in_words(defaults)} no params file, so {'its' if len(defaults) == 1 else 'their'} "
            f"reports use the default settings (no targets).")
    known = set(files.school_table()["school_id"]) | {NATIONAL}
    rows = {(r["school"], r["notebook"]): r for r in read_manifest(reports).to_dict("records")
            if r["school"] in known}
    previous = dict(rows)
    this_run = {}
    for r in failed:
        rows[(r["school"], r["notebook"])] = this_run[(r["school"], r["notebook"])] = r
        for p in report_paths(reports, r["school"], r["notebook"]).values():
            p.unlink(missing_ok=True)   # a stale report must not be listed as current
        remove_leftovers(reports, r["school"], r["notebook"])
    todo, by_key = [], {}
    for t in tasks:
        key = (t.school, t.notebook)
        by_key[key] = t
        prev = previous.get(key)
        if not force and _unchanged(prev, t, reports):
            rows[key] = this_run[key] = {**prev, "status": "skipped", "seconds": 0.0, "error": "",
                                         "params": t.params}
            remove_leftovers(reports, t.school, t.notebook)
        else:
            todo.append(t)
    if log and len(todo) < len(tasks):
        log(f"Resume: {len(tasks) - len(todo)} report(s) unchanged since their last run, skipped.")
    write_manifest(reports, rows)
    recs = {NATIONAL: provenance.read_sidecar(files.publication)}
    last_write = time.monotonic()
    for task, result in execute(todo, workers, scheduler, progress):
        key = (task.school, task.notebook)
        rec = recs.get(task.school) or files.provenance
        row = _row(task.school, task.notebook, result["status"], error=result["error"], task=task, rec=rec,
                   reports=reports, display_name=task.display_name, seconds=result["seconds"],
                   run_at=result["run_at"])
        if row["status"] != "ok":
            row.update(html="", ipynb="")   # nothing was published under those names
        rows[key] = this_run[key] = row
        remove_leftovers(reports, task.school, task.notebook)   # an interrupted earlier run's hidden files
        if time.monotonic() - last_write > 1.0:
            write_manifest(reports, rows)
            last_write = time.monotonic()
    write_manifest(reports, rows)
    manifest = read_manifest(reports)
    index = write_index(reports, manifest, files.provenance)
    mine = manifest[[(s, n) in this_run for s, n in zip(manifest["school"], manifest["notebook"])]]
    return BatchResult(mine.reset_index(drop=True), index, files)
