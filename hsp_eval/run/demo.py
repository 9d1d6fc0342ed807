"""The bundled demo's derived files, made on first use: what notebooks read when given no paths.

A notebook's ``parameters`` cell defaults its paths to ``None``; :func:`paths` then gives the
demo's indicator table (school reports, ``min_n`` 5), its publication table (regional and
national rows randomly rounded, for the national overview) and its trends. They are made by
the batch's own first step (:func:`hsp_eval.run.batch.prepare_data`) from ``data/demo`` and
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

ROOT = Path(__file__).resolve().parents[2]
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
    from hsp_eval.run.batch import prepare_data

    files = prepare_data(DATA, PARAMS, Path(out) if out else OUT, log=None)
    return {"data_dir": DATA, "params_dir": PARAMS, "indicators": files.indicators,
            "publication": files.publication, "trends": files.trends}


def school_inputs(school_id=None, indicators_path=None, trends_path=None, params_path=None):
    """A school notebook's inputs, with the demo's for those left as None.

    The school is :data:`SCHOOL`, the tables are the demo's (:func:`paths`) and, when the indicator
    table is the demo's too, the params file is ``params/demo/<school_id>.yaml`` when it exists.
    Given a table of its own (a batch run), a school without a params file keeps None: the
    defaults, no targets (a school of another dataset may share a demo school's id).

    Examples
    --------
    >>> school_inputs("0042", "i.parquet", "t.parquet", "p.yaml")
    ('0042', 'i.parquet', 't.parquet', 'p.yaml')
    >>> school_inputs("0113", "i.parquet", "t.parquet", None)
    ('0113', 'i.parquet', 't.parquet', None)
    """
    school_id = SCHOOL if school_id in (None, "") else str(school_id)
    if params_path in (None, "") and indicators_path in (None, ""):
        demo_params = PARAMS / f"{school_id}.yaml"
        params_path = os.fspath(demo_params) if demo_params.exists() else None
    return school_id, default(indicators_path, "indicators"), default(trends_path, "trends"), params_path


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
