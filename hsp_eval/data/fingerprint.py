"""A fingerprint of a dataset: one hash of all its tables' content.

Every report prints it, so a reader can tell whether two results came from the same
data. It hashes the loaded (typed) tables, so the same data loaded from CSV or from
Parquet has the same fingerprint; row order, column names and values all count.

Examples
--------
>>> import pandas as pd
>>> a = fingerprint({"schools": pd.DataFrame({"school_id": ["0042"]})})
>>> b = fingerprint({"schools": pd.DataFrame({"school_id": ["42"]})})
>>> len(a), a == b
(64, False)
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def _value_dtype(s: pd.Series) -> str:
    """The dtype of the values: a categorical's categories' (how the loader stores a column
    is not part of its content; pandas hashes a categorical's values as it hashes the text)."""
    if isinstance(s.dtype, pd.CategoricalDtype) and not s.dtype.ordered:
        return str(s.dtype.categories.dtype)
    return str(s.dtype)


def table_hash(df: pd.DataFrame) -> str:
    """SHA-256 of one table: its column names, then each column's values in row order.

    Examples
    --------
    >>> text = pd.DataFrame({"school_id": ["0042", "0007"]})
    >>> table_hash(text) == table_hash(text.astype("category"))
    True
    """
    h = hashlib.sha256()
    h.update(("|".join(map(str, df.columns)) + f"#{len(df)}").encode())
    for col in df.columns:
        values = pd.util.hash_pandas_object(df[col], index=False).to_numpy(np.uint64)
        h.update(f"{col}:{_value_dtype(df[col])}".encode())
        h.update(values.tobytes())
    return h.hexdigest()


def fingerprint(tables: dict[str, pd.DataFrame]) -> str:
    """SHA-256 over the tables, in name order."""
    h = hashlib.sha256()
    for name in sorted(tables):
        h.update(name.encode())
        h.update(table_hash(tables[name]).encode())
    return h.hexdigest()
