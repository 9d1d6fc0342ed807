"""Integer key helpers: the counting shortcut gives exactly what numpy's sort gives."""

from __future__ import annotations

import numpy as np
import pytest

from hsp_eval.keys import dense_unique


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
