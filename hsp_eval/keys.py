"""Matching rows on multi-column keys fast: codes packed into one integer per row.

Examples
--------
>>> import pandas as pd
>>> a = pd.DataFrame({"s": ["0042", "0007"], "y": [2024, 2024]})
>>> b = pd.DataFrame({"s": ["0007"], "y": [2024]})
>>> left, right = packed_keys(a, ["s", "y"], b, ["s", "y"])
>>> (left == right[0]).tolist()
[False, True]
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def packed_keys(df: pd.DataFrame, cols: list[str], ref: pd.DataFrame, ref_cols: list[str]):
    """One integer per row on each side for the key columns, comparable across the two sides.

    Each key column is factorised jointly over both sides and the codes are packed into one
    integer, so matching keys is a sorted lookup rather than a join of text columns.
    """
    n_left = len(df)
    key_l = np.zeros(n_left, dtype=np.int64)
    key_r = np.zeros(len(ref), dtype=np.int64)
    for c, rc in zip(cols, ref_cols):
        left, right = df[c], ref[rc]
        if isinstance(left.dtype, pd.CategoricalDtype) or isinstance(right.dtype, pd.CategoricalDtype):
            left, right = left.astype("str"), right.astype("str")
        both = pd.concat([left.reset_index(drop=True), right.reset_index(drop=True)], ignore_index=True)
        codes, uniques = pd.factorize(both, use_na_sentinel=True)
        codes = codes.astype(np.int64) + 1  # missing -> 0
        key_l = key_l * (len(uniques) + 1) + codes[:n_left]
        key_r = key_r * (len(uniques) + 1) + codes[n_left:]
    return key_l, key_r


def positions(df: pd.DataFrame, cols: list[str], ref: pd.DataFrame, ref_cols: list[str]) -> np.ndarray:
    """Position in ``ref`` of the first row with each row's key; -1 where there is none."""
    if ref is None or len(ref) == 0:
        return np.full(len(df), -1, dtype=np.int64)
    key_l, key_r = packed_keys(df, cols, ref, ref_cols)
    first = ~pd.Series(key_r).duplicated().to_numpy()
    pos = pd.Index(key_r[first]).get_indexer(key_l)
    return np.where(pos >= 0, np.flatnonzero(first)[pos], -1)
