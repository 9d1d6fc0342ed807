"""The bundled demo's derived files, made on first use: what notebooks read when given no paths.

A notebook's ``parameters`` cell defaults its paths to ``None``; :func:`paths` then gives the
demo's indicator table (school reports, ``min_n`` 5), its publication table (regional and
national rows randomly rounded, for the national overview) and its trends. They are made by
the batch's own first step (:func:`hsp_eval.batch.prepare_data`) from ``data/demo`` and
``params/demo`` into ``out/demo/_data/``, and remade when the demo data, its params or the
code change. So a notebook opened in JupyterLab, or run by nbval, works without arguments,
and the batch runner passes real paths instead.

Examples
--------
>>> p = paths()                                # doctest: +SKIP
>>> sorted(p)                                  # doctest: +SKIP
['data_dir', 'indicators', 'params_dir', 'publication', 'trends']
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "demo"
PARAMS = ROOT / "params" / "demo"
#: the school a school report shows when it is run without a school id (the notebooks' default:
#: a template's default must not name a school, or every other school's executed notebook would)
SCHOOL = "0113"
OUT = ROOT / "out" / "demo"


def paths(out=None) -> dict[str, Path]:
    """Paths of the demo's data, params, indicator table, publication table and trends.

    The three tables are made below ``out`` (default ``out/demo/``) when missing or stale;
    writing is atomic, so concurrent first uses are safe.
    """
    from .batch import prepare_data

    files = prepare_data(DATA, PARAMS, Path(out) if out else OUT, log=None)
    return {"data_dir": DATA, "params_dir": PARAMS, "indicators": files.indicators,
            "publication": files.publication, "trends": files.trends}


def default(value, key: str):
    """``value`` unless it is None or empty, else the demo's path for ``key`` (see :func:`paths`).

    Examples
    --------
    >>> default("x.parquet", "indicators")
    'x.parquet'
    """
    if value not in (None, ""):
        return value
    return os.fspath(paths()[key])
