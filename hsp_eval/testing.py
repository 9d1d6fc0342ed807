"""Small helpers for tests and examples: datasets from CSV text, single indicator rows.

Examples
--------
>>> import tempfile
>>> ds = load_csv_texts(tempfile.mkdtemp(), {
...     "schools": "school_id,school_name,region,school_type\\n0042,A,Otago,Contributing\\n",
...     "enrolments": "year,school_id,student_id,family_id,year_level,ethnicity\\n2024,0042,1,F,3,Asian\\n"})
>>> ds["enrolments"]["school_id"].tolist()
['0042']
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hsp_eval.indicators.engine import select
from hsp_eval.data.load import load_dataset


def write_csv_texts(folder, files: dict[str, str]) -> Path:
    """Write ``{table: csv text}`` as ``folder/<table>.csv`` (UTF-8); return the folder."""
    folder = Path(folder)
    for name, text in files.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def load_csv_texts(folder, files: dict[str, str], **kwargs):
    """Write ``{table: csv text}`` into ``folder`` and load it with :func:`hsp_eval.load_dataset`."""
    return load_dataset(write_csv_texts(folder, files), **kwargs)


def one_row(table: pd.DataFrame, indicator: str, group_type: str = "all", group: str = "all",
            area_id: str | None = None, year: int | None = None, level: str = "school") -> pd.Series:
    """The single row of the indicator table for these keys; AssertionError if not exactly one."""
    r = select(table, indicator, group_type, group, area_id, year, level)
    assert len(r) == 1, f"{indicator} {group_type}={group} {area_id} {year} {level}: {len(r)} rows"
    return r.iloc[0]


def kept_result(path, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, its result (or the exception it raised) also pickled to ``path``.

    For work made once and read by several processes (the test suite's notebook runs, read by every
    pytest-xdist worker): :func:`read_kept` gives the result back. The file is written atomically,
    so a reader that finds it finds it whole.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "results" / "sum.pickle"
    >>> kept_result(p, sum, [1, 2]), read_kept(p)
    (3, 3)
    """
    import os
    import pickle

    path = Path(path)
    try:
        value, kept = fn(*args, **kwargs), None
    except Exception as e:  # noqa: BLE001 (kept for the readers, then raised here too)
        value, kept = None, e
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    part.write_bytes(pickle.dumps((value, kept)))
    os.replace(part, path)
    if kept is not None:
        raise kept
    return value


def read_kept(path):
    """The result :func:`kept_result` pickled to ``path`` (raising the exception it kept, if any)."""
    import pickle

    value, kept = pickle.loads(Path(path).read_bytes())
    if kept is not None:
        raise kept
    return value
