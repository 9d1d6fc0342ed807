"""Key helpers: the counting shortcut gives exactly what numpy's sort gives; Arrow lookups what pandas' give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from hsp_eval.data.keys import dense_unique, indexer


@pytest.mark.parametrize("size", [50, 10_000_000])  # counted, and too sparse to count (sorted)
def test_dense_unique_equals_numpy_unique(size):
    key = np.random.default_rng(3).integers(0, 50, 1_000) * (size // 50)
    values, inverse = dense_unique(key, size)
    expected_values, expected_inverse = np.unique(key, return_inverse=True)
    assert values.tolist() == expected_values.tolist()
    assert inverse.tolist() == expected_inverse.ravel().tolist()
    assert (values[inverse] == key).all()


def test_dense_unique_with_a_negative_key_sorts():
    values, inverse = dense_unique(np.array([3, -1, 3, 0]), 4)
    assert values.tolist() == [-1, 0, 3] and inverse.tolist() == [2, 0, 2, 1]


def _arrow_index(values, chunks: int) -> pd.Index:
    parts = np.array_split(np.asarray(values, dtype=object), chunks)
    arr = pa.chunked_array([pa.array(list(p), pa.large_string()) for p in parts])
    return pd.Index(pd.arrays.ArrowStringArray(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan)))


@pytest.mark.parametrize("chunks", [1, 3])
def test_indexer_on_arrow_text_equals_pandas_get_indexer(chunks):
    rng = np.random.default_rng(5)
    ids = np.array([f"F{i:05d}" for i in range(2_000)] + ["Ma\u0304ori", "Māori", " F00001"], dtype=object)
    ref = _arrow_index(rng.permutation(ids)[:1_500], chunks)
    values = _arrow_index(rng.permutation(ids)[:1_800], chunks + 1)
    got = indexer(ref, values)
    assert isinstance(ref.array, pd.arrays.ArrowStringArray)  # the Arrow path, not pandas'
    assert got.tolist() == pd.Index(ref.astype(object)).get_indexer(values.astype(object)).tolist()
    assert (got >= 0).sum() > 1_000 and (got == -1).sum() > 300  # found and not found both tested
