"""Provenance: what a result was computed from, so a reader can tie it to code and data.

Every report ends with its provenance: the hsp_eval version and git commit, the data
fingerprint, the date the data was read and the parameters. ``hsp-eval indicators``
writes the data part next to the indicator table as ``<name>.provenance.json`` (a
sidecar, so the table itself stays byte-identical on rerun); reports read it back.

Examples
--------
>>> rec = record(fingerprint="ab" * 32, data_dir="data/demo", read_at="2026-11-23T10:00:00+13:00")
>>> rec["data_fingerprint"][:4], rec["data_read_at"][:10]
('abab', '2026-11-23')
>>> provenance_table(rec, {"school_id": "0113"}).set_index("item").loc["parameter school_id", "value"]
'0113'
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
from functools import lru_cache
from pathlib import Path

import pandas as pd

from hsp_eval._version import __version__

_PACKAGE_DIR = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def git_commit() -> str:
    """The git commit of the hsp_eval source tree (``+changes`` when it has uncommitted edits).

    Returns ``"not a git checkout"`` for an installed copy without its repository.
    """
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_PACKAGE_DIR, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."],
                               cwd=_PACKAGE_DIR.parent, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return sha + ("+changes" if dirty else "")


def now() -> str:
    """The current local time as an ISO 8601 string with its UTC offset, to the second."""
    return _dt.datetime.now().astimezone().replace(microsecond=0).isoformat()


def record(fingerprint: str | None = None, data_dir=None, read_at: str | None = None, **extra) -> dict:
    """The provenance of one run: version, commit, data fingerprint, data folder and read time.

    Parameters
    ----------
    fingerprint : the dataset's fingerprint (:meth:`hsp_eval.Dataset.fingerprint`).
    data_dir : the folder the data was read from.
    read_at : when the data was read (ISO 8601); now when not given.
    **extra : further fields to keep (e.g. ``min_n``, ``publication``).
    """
    rec = {"hsp_eval_version": __version__, "git_commit": git_commit(), "data_fingerprint": fingerprint,
           "data_dir": None if data_dir is None else str(data_dir), "data_read_at": read_at or now()}
    rec.update(extra)
    return rec


def sidecar_path(table_path) -> Path:
    """``out/indicators.parquet`` -> ``out/indicators.provenance.json``."""
    p = Path(table_path)
    return p.with_name(p.name.rsplit(".", 1)[0] + ".provenance.json")


def write_sidecar(table_path, rec: dict) -> Path:
    """Write ``rec`` as JSON beside the table (atomically); return the sidecar's path."""
    path = sidecar_path(table_path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(rec, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def read_sidecar(table_path) -> dict:
    """The provenance written beside an indicator table, or ``{}`` when there is none."""
    path = sidecar_path(table_path)
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def of_table(table_path, **extra) -> dict:
    """The provenance of a report made from ``table_path``: the data behind the table (its
    sidecar's fingerprint, folder and read time), this run's version and commit, and ``extra``."""
    side = read_sidecar(table_path)
    return record(side.get("data_fingerprint"), side.get("data_dir"), side.get("data_read_at"), **extra)


#: how the fields that hold a file or folder end (``data_dir``, ``indicator_table``, ``params_path``...)
PATH_SUFFIXES = ("_dir", "_path", "_table", "_file")
#: the row that says where the full paths are, when a table shows names only
PATHS_NOTE = {"item": "file locations",
              "value": "names only; the full paths are kept with the run (the batch's manifest.csv and the "
                       "provenance files beside its tables)"}


def path_name(value) -> str:
    """The last part of a file or folder path (POSIX or Windows), the value itself when it is no path.

    Examples
    --------
    >>> path_name("/home/ana/hsp/reports/_data/indicators.parquet"), path_name("C:\\\\kura\\\\data\\\\")
    ('indicators.parquet', 'data')
    >>> path_name("none (no targets)")
    'none (no targets)'
    """
    text = str(value).rstrip("/\\")
    return text.replace("\\", "/").rsplit("/", 1)[-1] or text


def provenance_table(rec: dict, parameters: dict | None = None, full_paths: bool = False) -> pd.DataFrame:
    """Provenance and parameters as a two-column table (``item``, ``value``) for a report's last section.

    Files and folders (fields and parameters named ``*_dir``, ``*_path``, ``*_table``, ``*_file``)
    are shown by name only unless ``full_paths``: a published page must not tell readers where
    the data sit on the machine that made it (``hsp-eval audit`` fails a school's page that
    does). A last row then says where the full paths are kept (:data:`PATHS_NOTE`).

    Examples
    --------
    >>> t = provenance_table({"data_dir": "/home/ana/kura/data"}, {"params_path": "/home/ana/params/0042.yaml"})
    >>> t.values.tolist()[:2]
    [['data folder', 'data'], ['parameter params_path', '0042.yaml']]
    """
    labels = {"hsp_eval_version": "hsp_eval version", "git_commit": "hsp_eval git commit",
              "data_fingerprint": "data fingerprint (SHA-256)", "data_dir": "data folder",
              "data_read_at": "data read at", "report_run_at": "report run at"}
    shortened = False

    def shown(key: str, v) -> str:
        nonlocal shortened
        if v is None:
            return ""
        if full_paths or not key.endswith(PATH_SUFFIXES):
            return str(v)
        name = path_name(v)
        shortened |= name != str(v)
        return name

    rows = [{"item": labels.get(k, k if "." in k else k.replace("_", " ")), "value": shown(k, v)}
            for k, v in rec.items()]
    rows += [{"item": f"parameter {k}", "value": shown(k, v)} for k, v in (parameters or {}).items()]
    if shortened:
        rows.append(PATHS_NOTE)
    return pd.DataFrame(rows, columns=["item", "value"])
