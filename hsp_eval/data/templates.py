"""Empty CSV templates, one per contract table, for schools filling in their own data.

Examples
--------
>>> import tempfile, pathlib
>>> paths = write_templates(tempfile.mkdtemp())
>>> pathlib.Path(paths[0]).read_text(encoding="utf-8").strip()
'school_id,school_name,region,school_type,eqi'
"""

from __future__ import annotations

from pathlib import Path

from hsp_eval.data.contract import TABLES


def template_header(table: str) -> str:
    """The header line of ``table``'s CSV template."""
    return ",".join(TABLES[table].column_names)


def write_templates(out_dir) -> list[Path]:
    """Write ``<table>.csv`` (header only) for every contract table; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLES:
        p = out / f"{name}.csv"
        p.write_text(template_header(name) + "\n", encoding="utf-8")
        paths.append(p)
    return paths
