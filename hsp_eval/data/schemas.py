"""pandera schemas of the contract tables, built from :mod:`hsp_eval.data.contract`.

``SCHEMAS[table]`` checks a typed table (as :func:`hsp_eval.load_dataset` returns it):
column dtypes, blanks where a value is required, ranges, and row rules such as
``response_min < response_max``. Every check carries its reason in plain words, which
is what :func:`failures` hands back for each failing cell.

Examples
--------
>>> import pandas as pd
>>> df = pd.DataFrame({"school_id": ["0042"], "school_name": ["Kura"], "region": ["Otago"],
...                    "school_type": ["Contributing"], "eqi": [700]})
>>> df = df.astype({"school_id": "category", "region": SCHEMAS["schools"].columns["region"].dtype.type,
...                 "school_type": SCHEMAS["schools"].columns["school_type"].dtype.type,
...                 "eqi": "Int64"})
>>> failures(df, "schools")[["column", "value", "reason"]].values.tolist()
[['eqi', '700', 'must be between 344 and 569']]
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

from hsp_eval.data.contract import TABLES, Column, Table
from hsp_eval.data.parse import dtype_for

BLANK_REASON = "is blank but a value is required"


def _range_check(col: Column) -> list[pa.Check]:
    def fmt(x):
        return f"{x:g}" if isinstance(x, float) else str(x)

    if col.min is not None and col.max is not None:
        return [pa.Check.in_range(col.min, col.max,
                                  error=f"must be between {fmt(col.min)} and {fmt(col.max)}")]
    if col.min is not None:
        return [pa.Check.ge(col.min, error=f"must be {fmt(col.min)} or more")]
    if col.max is not None:
        return [pa.Check.le(col.max, error=f"must be {fmt(col.max)} or less")]
    return []


_ROW_CHECKS: dict[str, list[tuple[str, str, object]]] = {
    # table -> [(column to blame, reason, row predicate)]
    "survey_items": [
        ("response_max", "must be greater than response_min",
         lambda df: df["response_max"] > df["response_min"]),
        ("favourable_min", "must lie between response_min and response_max",
         lambda df: (df["favourable_min"] >= df["response_min"])
         & (df["favourable_min"] <= df["response_max"])),
    ],
    "progress": [
        ("expected_gain", "must be more than 0 (one year's expected progress)",
         lambda df: df["expected_gain"] > 0),
    ],
}


def build_schema(table: Table) -> pa.DataFrameSchema:
    """Build the pandera schema of one contract table (nullable dtypes for validation)."""
    columns = {
        c.name: pa.Column(
            "category" if c.coded else dtype_for(c.kind, True, c.vocabulary),
            checks=_range_check(c),
            nullable=c.nullable,
            required=True,
        )
        for c in table.columns
    }
    checks = [
        pa.Check(lambda df, f=f: f(df).fillna(True), error=f"{col}|{reason}")
        for col, reason, f in _ROW_CHECKS.get(table.name, [])
    ]
    return pa.DataFrameSchema(columns, checks=checks, name=table.name, strict=True, coerce=False)


SCHEMAS: dict[str, pa.DataFrameSchema] = {name: build_schema(t) for name, t in TABLES.items()}


def failures(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Validate a typed table; return one row per failing cell.

    Returns
    -------
    DataFrame with columns ``index`` (the frame's index label), ``column``, ``value``
    and ``reason``; empty when the table passes.
    """
    out = pd.DataFrame(columns=["index", "column", "value", "reason"])
    try:
        # inplace: no copy of the table first (the schemas do not coerce, so nothing is changed);
        # on the national survey answers that copy was a gigabyte at the load's peak
        SCHEMAS[table].validate(df, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        rows = []
        for rec in fc.itertuples(index=False):
            check = str(rec.check)
            if rec.index is None or (isinstance(rec.index, float) and pd.isna(rec.index)):
                # a whole-column problem (wrong dtype): blame every row
                reason = f"has the wrong type ({check}); this is a bug in the loader, please report it"
                rows += [(i, rec.column, None, reason) for i in df.index]
                continue
            if check == "not_nullable":
                rows.append((rec.index, rec.column, None, BLANK_REASON))
            elif "|" in check:  # a row rule: "column|reason"
                col, reason = check.split("|", 1)
                value = df.at[rec.index, col]
                rows.append((rec.index, col, None if pd.isna(value) else str(value), reason))
            else:
                rows.append((rec.index, rec.column, str(rec.failure_case), check))
        out = pd.DataFrame(rows, columns=["index", "column", "value", "reason"])
        out = out.drop_duplicates(["index", "column", "reason"]).reset_index(drop=True)
    return out
