"""Matching rows on multi-column keys fast: codes packed into one integer per row.

Each side's key columns are held as *codes* (an integer per row, -1 where the value is
missing, and the distinct values the codes stand for; a categorical already is), and
:func:`packed_codes` matches two sides by mapping one side's distinct values onto the other's:
a hash of the distinct values only, not of every row. :func:`packed_keys` does this for two
frames' key columns.

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
import pyarrow as pa
import pyarrow.compute as pc

#: packed keys stay below this, so that one more column can always be multiplied in
_PACK_LIMIT = 2 ** 62


def codes_of(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes (-1 where missing) and the distinct values they stand for (categoricals as text).

    Examples
    --------
    >>> codes, uniques = codes_of(pd.Series(["b", None, "a", "b"]))
    >>> codes.tolist(), list(uniques)
    ([0, -1, 1, 0], ['b', 'a'])
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    uniques = pd.Index(uniques)
    if isinstance(uniques, pd.CategoricalIndex):
        uniques = uniques.astype("str")
    return codes, uniques


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: ``np.unique(values)`` by sorting.

    numpy 2.3+ finds plain ``np.unique`` values by hashing, which here is about 15x slower
    than sorting on a few million distinct integers (numpy 2.4.6: 3.2 s against 0.2 s on
    2.9 million family keys; see docs/performance.md).

    Examples
    --------
    >>> distinct(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    s = np.sort(np.asarray(values))
    return s[np.r_[True, s[1:] != s[:-1]]] if len(s) else s


def dense_unique(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(key, return_inverse=True)`` for integer keys all below ``size``.

    Counts instead of sorting while ``size`` is small next to ``len(key)`` (packed cell and
    group keys usually are) and no key is negative: linear time, the same sorted values and
    indexes. Otherwise sorts, as ``np.unique`` does.

    Examples
    --------
    >>> values, inverse = dense_unique(np.array([7, 2, 7, 5]), 8)
    >>> values.tolist(), inverse.tolist()
    ([2, 5, 7], [2, 0, 2, 1])
    """
    key = np.asarray(key, dtype=np.int64)
    if size > 4 * len(key) + 1_000_000 or (len(key) and key.min() < 0):
        values, inverse = np.unique(key, return_inverse=True)
        return values, inverse.ravel()
    values = np.flatnonzero(np.bincount(key, minlength=size))
    index = np.full(size, -1, dtype=np.int64)
    index[values] = np.arange(len(values))
    return values, index[key]


def pack(columns) -> np.ndarray:
    """One integer per row from ``(codes, radix)`` pairs (each code in 0..radix-1).

    Equal rows get equal integers; the key is renumbered before it could overflow.
    ``columns`` may be an iterator: each pair is then made only when it is packed, and
    the key is built in place, so the memory beyond the key is one column's codes.

    Examples
    --------
    >>> import numpy as np
    >>> pack([(np.array([1, 0, 1]), 2), (np.array([2, 2, 2]), 3)]).tolist()
    [5, 2, 5]
    """
    key = None
    span = 1
    for codes, radix in columns:
        codes = np.asarray(codes)
        if codes.dtype.kind != "i":
            codes = codes.astype(np.int64)
        if key is None:
            key = np.zeros(len(codes), dtype=np.int64)
        if span * radix >= _PACK_LIMIT:  # renumber the key so far before it overflows
            key, uniques = pd.factorize(key)
            key, span = key.astype(np.int64), len(uniques)
        key *= radix
        key += codes
        span *= radix
    return np.zeros(0, dtype=np.int64) if key is None else key


def packed_codes(left: list, right: list) -> tuple[np.ndarray, np.ndarray]:
    """One integer per row on each side from the ``(codes, uniques)`` of each key column.

    Equal keys get equal integers on both sides; a missing value equals a missing value,
    and a value only the left side has matches nothing on the right.

    Examples
    --------
    >>> import numpy as np
    >>> l = [(np.array([0, 1, -1]), pd.Index(["x", "y"]))]
    >>> r = [(np.array([0, -1]), pd.Index(["y"]))]
    >>> [k.tolist() for k in packed_codes(l, r)]
    [[2, 1, 0], [1, 0]]
    """
    n_left = len(left[0][0]) if left else 0
    key = pack((np.concatenate([_onto(lc, ru), np.asarray(rc, dtype=np.int64) + 1]), len(ru) + 2)
               for lc, (rc, ru) in zip(left, right))
    return key[:n_left], key[n_left:]


def _held_in_arrow(index: pd.Index) -> bool:
    return isinstance(index.array, pd.arrays.ArrowStringArray)


def indexer(ref: pd.Index, values: pd.Index) -> np.ndarray:
    """``ref.get_indexer(values)`` for distinct ``ref``: the position of each value in ``ref``, -1 where none.

    Text held in Arrow (as the loader holds IDs) is looked up with Arrow's hashing: about 2.5x
    faster than pandas' on a million IDs, and without pandas' check that ``ref`` is distinct
    (a hash pass of its own). Anything else goes to pandas.

    Examples
    --------
    >>> ref = pd.Index(["F1", "F2", "F3"], dtype="str")
    >>> indexer(ref, pd.Index(["F3", "F9", "F1"], dtype="str")).tolist()
    [2, -1, 0]
    """
    if _held_in_arrow(ref) and _held_in_arrow(values):
        found = pc.index_in(pa.array(values.array), value_set=pa.array(ref.array))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return ref.get_indexer(values)


def _onto(left: tuple, right_uniques: pd.Index) -> np.ndarray:
    """Left codes renumbered onto the right side's values: 0 missing, 1.. the right's values,
    ``len(right_uniques) + 1`` a value only the left has."""
    codes, uniques = left
    radix = len(right_uniques) + 2
    to_right = indexer(right_uniques, uniques)
    to_right = np.append(np.where(to_right >= 0, to_right + 1, radix - 1), 0)
    to_right = to_right.astype(np.int32 if radix < 2 ** 31 else np.int64)  # half the memory per row
    return to_right[np.asarray(codes)]  # a code -1 (missing) takes the appended 0


class KeyLookup:
    """The rows of one side by key, built once, to find the keys of any number of other sides.

    Examples
    --------
    >>> import numpy as np
    >>> right = KeyLookup([(np.array([0, 1, 0]), pd.Index(["x", "y"]))])
    >>> right.positions([(np.array([1, 0, -1]), pd.Index(["x", "z"]))]).tolist()
    [-1, 0, -1]
    """

    def __init__(self, right: list):
        self.right = right
        self.radices = [len(u) + 2 for _, u in right]
        self.fits = int(np.prod([float(r) for r in self.radices])) < _PACK_LIMIT
        if self.fits:
            key = pack([(np.asarray(c, dtype=np.int64) + 1, r) for (c, _), r in zip(right, self.radices)])
            first = ~pd.Series(key).duplicated().to_numpy()
            self.index, self.first = pd.Index(key[first]), np.flatnonzero(first)

    def positions(self, left: list) -> np.ndarray:
        """Position of the first right row with each left row's key (-1 where none)."""
        if not self.fits:  # too many values to pack without renumbering both sides together
            return first_positions(*packed_codes(left, self.right))
        key = pack((_onto(lc, u), r) for lc, (_, u), r in zip(left, self.right, self.radices))
        pos = self.index.get_indexer(key)
        return np.where(pos >= 0, self.first[pos], -1)


class CodedTable:
    """A table with the integer codes of its key columns, each made once and shared.

    The loader keeps the codes it made while parsing a table's key columns; the duplicate-key
    check and the cross-table checks (:mod:`hsp_eval.data.checks`) use them, and make any other
    column's codes, or a lookup of the rows by a key, on first use.

    Examples
    --------
    >>> t = CodedTable(pd.DataFrame({"school_id": ["0042", "0007", "0042"]}))
    >>> t.codes("school_id")[0].tolist(), len(t.rows(np.array([True, False, True])))
    ([0, 1, 0], 2)
    """

    def __init__(self, frame: pd.DataFrame, codes: dict | None = None):
        self.frame = frame
        self._codes = dict(codes or {})
        self._lookups: dict[tuple, KeyLookup] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def codes(self, col: str) -> tuple[np.ndarray, pd.Index]:
        """Codes (-1 missing) of column ``col`` and the value of each code."""
        if col not in self._codes:
            self._codes[col] = codes_of(self.frame[col])
        return self._codes[col]

    def lookup(self, cols: list[str]) -> KeyLookup:
        """The rows by their ``cols`` key (built on first use, then shared by every check)."""
        if tuple(cols) not in self._lookups:
            self._lookups[tuple(cols)] = KeyLookup([self.codes(c) for c in cols])
        return self._lookups[tuple(cols)]

    def rows(self, keep: np.ndarray) -> CodedTable:
        """The rows where ``keep`` is true, with their codes."""
        return CodedTable(self.frame[keep].reset_index(drop=True),
                          {c: (codes[keep], uniques) for c, (codes, uniques) in self._codes.items()})

    def with_frame(self, frame: pd.DataFrame) -> CodedTable:
        """The same rows, held as ``frame`` (other dtypes, the same values), with their codes."""
        return CodedTable(frame, self._codes)


def packed_keys(df: pd.DataFrame, cols: list[str], ref: pd.DataFrame, ref_cols: list[str]):
    """One integer per row on each side for the key columns, comparable across the two sides.

    Each key column of each side is numbered on its own (:func:`codes_of`: a categorical by
    its codes, without spelling its values out), and the two sides' distinct values are
    matched (:func:`packed_codes`), so matching keys is a lookup of integers rather than a
    join of text columns.
    """
    return packed_codes([codes_of(df[c]) for c in cols], [codes_of(ref[c]) for c in ref_cols])


def first_positions(key_l: np.ndarray, key_r: np.ndarray) -> np.ndarray:
    """Position in ``key_r`` of the first entry equal to each entry of ``key_l``; -1 where none.

    Examples
    --------
    >>> import numpy as np
    >>> first_positions(np.array([5, 7, 9]), np.array([7, 5, 7])).tolist()
    [1, 0, -1]
    """
    first = ~pd.Series(key_r).duplicated().to_numpy()
    pos = pd.Index(key_r[first]).get_indexer(key_l)
    return np.where(pos >= 0, np.flatnonzero(first)[pos], -1)


def positions(df: pd.DataFrame, cols: list[str], ref: pd.DataFrame, ref_cols: list[str]) -> np.ndarray:
    """Position in ``ref`` of the first row with each row's key; -1 where there is none."""
    if ref is None or len(ref) == 0:
        return np.full(len(df), -1, dtype=np.int64)
    return first_positions(*packed_keys(df, cols, ref, ref_cols))


# --- record keys: which records make up a count ---------------------------------------------------

#: record keys are whole numbers below 2**RECORD_KEY_BITS, so that a cell's sum of them (a float64
#: from np.bincount) is exact, whatever the order, for up to 2**29 records in one cell
RECORD_KEY_BITS = 24


_HASH_SLICE = 1 << 20  #: rows hashed at a time by :func:`record_hashes`


def mix64(x: np.ndarray, copy: bool = True) -> np.ndarray:
    """splitmix64's finaliser: every bit of the input reaches every bit of the output.

    ``copy=False`` mixes a uint64 array in place.

    Examples
    --------
    >>> mix64(np.array([0, 1], dtype=np.uint64)).tolist()[0], int(mix64(np.array([1], dtype=np.uint64))[0]) > 0
    (0, True)
    """
    x = np.asarray(x).astype(np.uint64, copy=copy)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def record_hashes(frame: pd.DataFrame, cols: list[str], kind: str) -> np.ndarray:
    """A fixed 64-bit hash (uint64) per row of the record ``frame[cols]`` names, a different one per ``kind``.

    Text, categorical and integer columns hash by value (a categorical as its text), so the same
    record gets the same hash from whichever table it is read.
    """
    tag = np.uint64(int.from_bytes(kind.encode()[:8].ljust(8, b"\0"), "little"))
    out = np.empty(len(frame), dtype=np.uint64)
    # in slices: hashing text makes a Python string of every value, which for tens of millions of
    # contacts at once cost more memory than the rest of the engine's step (docs/performance.md)
    for start in range(0, len(frame), _HASH_SLICE):
        part = frame[cols].iloc[start:start + _HASH_SLICE]
        out[start:start + len(part)] = pd.util.hash_pandas_object(part, index=False, categorize=True).to_numpy(np.uint64)
    out ^= tag
    return mix64(out, copy=False)


def record_keys(frame: pd.DataFrame, cols: list[str], kind: str) -> np.ndarray:
    """The record key of each row (float64 whole numbers below 2**24): what a cell sums to name its records.

    Not secret: the keyed draw that rounds a count hashes the cell's sum with the secret key
    (:mod:`hsp_eval.indicators.disclosure`). Two cells with the same records have the same sum.

    Examples
    --------
    >>> f = pd.DataFrame({"school_id": ["0042", "0042"], "family_id": ["F1", "F2"]})
    >>> k = record_keys(f, ["school_id", "family_id"], "family")
    >>> again = record_keys(f.iloc[::-1], ["school_id", "family_id"], "family")[::-1]   # any order
    >>> bool(k[0] != k[1] and k.max() < 2 ** 24 and (k == again).all())
    True
    """
    return to_record_keys(record_hashes(frame, cols, kind))


def to_record_keys(hashes: np.ndarray) -> np.ndarray:
    """Record keys (float64 below 2**24) from 64-bit record hashes."""
    h = np.asarray(hashes, dtype=np.uint64)
    out = np.empty(len(h), dtype="float64")
    for start in range(0, len(h), _HASH_SLICE):  # no whole shifted copy of tens of millions of hashes
        out[start:start + _HASH_SLICE] = h[start:start + _HASH_SLICE] >> np.uint64(64 - RECORD_KEY_BITS)
    return out
