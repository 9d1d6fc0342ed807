"""The bundled demo's derived files, made on first use: what notebooks read when given no paths.

A notebook's ``parameters`` cell defaults its paths to ``None``; :func:`paths` then gives the
demo's indicator table (school reports, ``min_n`` 5), its publication table (regional and
national rows randomly rounded, for the national overview) and its trends, computing them
from ``data/demo`` into ``out/demo/`` the first time. So a notebook opened in JupyterLab, or
run by nbval, works without arguments, and the batch runner passes real paths instead.

Examples
--------
>>> p = paths()                                # doctest: +SKIP
>>> sorted(p)                                  # doctest: +SKIP
['data_dir', 'indicators', 'params_dir', 'publication', 'trends']
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "demo"
PARAMS = ROOT / "params" / "demo"
OUT = ROOT / "out" / "demo"


def _build(out: Path) -> None:
    from . import indicators, provenance
    from .load import load_dataset
    from .params import load_params_dir
    from .trends import compute_trends, targets_frame

    read_at = provenance.now()
    ds = load_dataset(DATA)
    fp = ds.fingerprint()
    for name, publication in (("indicators", False), ("publication", True)):
        path = out / f"{name}.parquet"
        indicators.write_table(indicators.compute(ds, min_n=5, publication=publication), path)
        provenance.write_sidecar(path, provenance.record(fp, DATA, read_at, min_n=5, publication=publication,
                                                         ethnicity="both"))
    trends = compute_trends(indicators.read_table(out / "indicators.parquet"),
                            targets_frame(load_params_dir(PARAMS)))
    indicators.write_table(trends, out / "trends.parquet")


def inputs_hash() -> str:
    """SHA-256 of everything the derived files depend on: the demo data, its params and the code."""
    h = hashlib.sha256()
    for folder, pattern in ((DATA, "*"), (PARAMS, "*.yaml"), (Path(__file__).parent, "*.py")):
        for f in sorted(folder.glob(pattern)):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def paths(out=None) -> dict[str, Path]:
    """Paths of the demo's data, params, indicator table, publication table and trends.

    The three derived files are computed into ``out`` (default ``out/demo/`` in the source
    tree) when any is missing or the demo data, params or code changed since they were made
    (:func:`inputs_hash`); writing is atomic, so concurrent first uses are safe.
    """
    out = Path(out) if out else OUT
    files = {k: out / f"{k}.parquet" for k in ("indicators", "publication", "trends")}
    stamp, digest = out / "inputs.sha256", inputs_hash()
    fresh = stamp.exists() and stamp.read_text().strip() == digest
    if not (fresh and all(p.exists() for p in files.values())):
        out.mkdir(parents=True, exist_ok=True)
        _build(out)
        tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}")
        tmp.write_text(digest + "\n")
        tmp.replace(stamp)
    return {"data_dir": DATA, "params_dir": PARAMS, **files}


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
