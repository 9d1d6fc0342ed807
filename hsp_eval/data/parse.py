"""Turning raw cells into typed values, one column kind at a time.

Every parser takes the raw column (text from a CSV, or typed values from Parquet) and
returns the typed column plus, for each cell it could not read, the reason in plain
words. Blank cells become missing values here; whether a blank is allowed is decided
by the schema (:mod:`hsp_eval.data.schemas`). Parsing is done once per distinct value, so
a column of ten million repeated dates costs a few thousand parses.

Examples
--------
>>> import pandas as pd
>>> values, bad = parse_column(pd.Series(["2024-03-07", "7/03/2024", "31/02/2024"]), "date")
>>> values.dt.strftime("%Y-%m-%d").tolist()[:2], bad.to_dict()
(['2024-03-07', '2024-03-07'], {2: 'is not a real date (use YYYY-MM-DD, or day/month/year as NZ systems export)'})
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hsp_eval.data import vocab
from hsp_eval.data.contract import YEAR_MAX, YEAR_MIN
from hsp_eval.data.dates import date_reader, read_date

DATE_DTYPE = "datetime64[s]"


def dtype_for(kind: str, nullable: bool, vocabulary: str | None = None):
    """The pandas dtype a loaded column of this kind has.

    Examples
    --------
    >>> dtype_for("int", nullable=True)
    'Int64'
    """
    if kind in ("id", "text", "month", "ethnicity"):
        return "str"
    if kind == "int":
        return "Int64" if nullable else "int64"
    if kind == "float":
        return "float64"
    if kind == "bool":
        return "boolean" if nullable else "bool"
    if kind == "date":
        return DATE_DTYPE
    if kind == "category":
        return pd.CategoricalDtype(vocab.VOCABULARIES[vocabulary][0])
    raise ValueError(f"unknown column kind {kind!r}")


def _is_text(s: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def _arrow_text(s: pd.Series):
    """The cells of a text column as Arrow strings (a copy only where they are not Arrow already)."""
    arr = pa.array(s.array) if pd.api.types.is_string_dtype(s.dtype) else \
        pa.array(s.astype("str").array)
    if not is_text_type(arr.type):
        arr = arr.cast(pa.large_string())
    return arr


def _clean_arrow(arr):
    """Strip, NFC-normalise and blank-to-null Arrow strings (each value on its own)."""
    arr = pc.utf8_trim_whitespace(arr)
    if len(arr) and not pc.all(pc.string_is_ascii(arr)).as_py():
        arr = pc.utf8_normalize(arr, "NFC")
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _str_series(arr, index) -> pd.Series:
    """A pandas ``str`` column on Arrow strings, without a copy through Python objects."""
    arr = pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr
    arr = arr.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(arr, dtype=pd.StringDtype("pyarrow", na_value=np.nan)),
                     index=index, copy=False)


def clean_text(s: pd.Series) -> pd.Series:
    """Strip, NFC-normalise and blank-to-missing a text column, vectorised in Arrow.

    Examples
    --------
    >>> clean_text(pd.Series([" 0042 ", "Ma\u0304ori", "", None], dtype="str")).tolist()
    ['0042', 'Māori', nan, nan]
    """
    return _str_series(_clean_arrow(_arrow_text(s)), s.index)


def _unchanged(cleaned, raw) -> bool:
    """True when cleaning changed no value (and blanked none)."""
    return cleaned.null_count == raw.null_count and pc.all(pc.equal(cleaned, raw)).as_py() is not False


def _text_codes(arr) -> tuple[np.ndarray, pa.Array, bool]:
    """:func:`text_codes`, and whether cleaning changed no cell."""
    arr = pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr
    if not pa.types.is_dictionary(arr.type):
        if not is_text_type(arr.type):
            arr = arr.cast(pa.large_string())
        arr = arr.dictionary_encode()  # one dictionary for all chunks
    elif arr.num_chunks > 1:
        arr = arr.unify_dictionaries()
    if arr.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), pa.array([], pa.string()), True
    raw_codes = np.concatenate([pc.fill_null(c.indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)
                                for c in arr.chunks])
    dictionary = arr.chunks[0].dictionary
    cleaned = _clean_arrow(dictionary)
    if _unchanged(cleaned, dictionary):
        return raw_codes, cleaned, True  # the values are still distinct
    cleaned = cleaned.dictionary_encode()  # values that only differed before cleaning share a code
    remap = np.append(pc.fill_null(cleaned.indices, -1).to_numpy(zero_copy_only=False), -1).astype(np.int32)
    return remap[raw_codes], cleaned.dictionary, False


def text_codes(arr) -> tuple[np.ndarray, pa.Array]:
    """Integer codes and cleaned distinct values of Arrow text cells (plain or dictionary-encoded).

    Cleaning (strip, NFC, blank to missing) is done once per distinct value; values that only
    differed before cleaning share a code. Missing cells have code -1.

    Examples
    --------
    >>> codes, uniques = text_codes(pa.chunked_array([["0042", " 0042", "", None, "7"]]))
    >>> codes.tolist(), uniques.to_pylist()
    ([0, 0, -1, -1, 1], ['0042', '7'])
    """
    codes, uniques, _ = _text_codes(arr)
    return codes, uniques


@dataclass
class Parsed:
    """A parsed column: values, the reasons of the cells that could not be read, and codes.

    ``codes`` (when given) number the distinct values: equal values have equal codes, a
    missing value has -1, and ``uniques[code]`` is the value. ``notes`` say, in plain words,
    what reading the column repaired (dates with a midnight time, say), once per column.
    """

    values: pd.Series
    reasons: pd.Series
    codes: np.ndarray | None = None
    uniques: pd.Index | None = None
    notes: list[str] = field(default_factory=list)


def _no_reasons() -> pd.Series:
    return pd.Series(dtype=object)


def categorical(codes: np.ndarray, uniques, index=None) -> pd.Series:
    """The values ``uniques[codes]`` (code -1: missing) as a Categorical over their sorted distinct values.

    This is how the loader holds a ``coded`` column of the contract: one small integer per
    row, and the same order as the text when sorted or grouped. ``uniques`` need not be
    distinct or sorted; values that are equal share a category.

    Examples
    --------
    >>> s = categorical(np.array([1, 0, -1, 2]), ["0042", "0007", "0042"])
    >>> s.tolist(), s.cat.categories.tolist(), s.cat.codes.tolist()
    (['0007', '0042', nan, '0042'], ['0007', '0042'], [0, 1, -1, 1])
    """
    remap, categories = pd.factorize(pd.Index(uniques), sort=True)
    new_codes = np.append(remap, -1).astype(np.int32)[np.asarray(codes)]
    return pd.Series(pd.Categorical.from_codes(new_codes, categories=categories),
                     index=pd.RangeIndex(len(new_codes)) if index is None else index, copy=False)


def _by_codes(codes: np.ndarray, uniques: list, fn, dtype, index, coded: bool = False) -> Parsed:
    """Apply ``fn(value) -> (parsed, reason)`` once per distinct value ``uniques[code]``.

    Returns the parsed column of ``dtype`` (code -1: missing; a :func:`categorical` when
    ``coded``), the reasons of the cells that failed, and codes of the parsed values.
    """
    parsed, reasons = [], []
    for u in uniques:
        p, r = fn(u)
        parsed.append(p)
        reasons.append(r)
    parsed_u = pd.Series(parsed + [None], dtype=object).astype(dtype)
    idx = np.where(codes < 0, len(uniques), codes)
    value_codes, value_uniques = pd.factorize(parsed_u, use_na_sentinel=True)
    value_codes = value_codes.astype(np.int32)[idx]
    values = categorical(value_codes, value_uniques, index) if coded else parsed_u.take(idx).set_axis(index)
    failed_u = np.array([r is not None for r in reasons] + [False])
    bad = failed_u[idx]
    out = Parsed(values, _no_reasons(), value_codes, pd.Index(value_uniques))
    if bad.any():
        reason_u = np.array(reasons + [None], dtype=object)
        out.reasons = pd.Series(reason_u[idx[bad]], index=index[bad])
    return out


def _by_unique(s: pd.Series, fn, dtype) -> tuple[pd.Series, pd.Series]:
    """Apply ``fn(value) -> (parsed, reason)`` once per distinct non-blank value.

    Returns the parsed column of ``dtype`` and the reasons of the cells that failed.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    p = _by_codes(codes, list(uniques), fn, dtype, s.index)
    return p.values, p.reasons


def _category_one(vocabulary: str):
    allowed = vocab.VOCABULARIES[vocabulary][0]

    def one(u):
        c = vocab.canonical(vocabulary, u)
        if c is None:
            return None, f"is not an allowed value (allowed: {', '.join(allowed)})"
        return c, None
    return one


def _text_parser(kind: str, vocabulary: str | None):
    """(function of one cleaned text value, dtype) for a column kind read from text."""
    if kind == "int":
        return _int_one, "Int64"
    if kind == "float":
        return _float_one, "float64"
    if kind == "bool":
        return _bool_one, "boolean"
    if kind == "date":
        return read_date, DATE_DTYPE
    if kind == "month":
        return _month_one, "str"
    if kind == "category":
        return _category_one(vocabulary), dtype_for(kind, True, vocabulary)
    if kind == "ethnicity":
        return vocab.parse_ethnicity, "str"
    raise ValueError(f"unknown column kind {kind!r}")


def parse_text(arr, kind: str, vocabulary: str | None = None, index=None, coded: bool = False) -> Parsed:
    """Parse a column of text cells given as Arrow strings (plain or dictionary-encoded).

    The same as :func:`parse_column` on the same cells as a text Series, with codes of the
    values; every distinct value is cleaned and parsed once. With ``coded`` the values come
    as a :func:`categorical` (as the loader holds a ``coded`` column), made from the codes
    without spelling out every row's text.

    Examples
    --------
    >>> p = parse_text(pa.chunked_array([["3", " 3", "x", ""]]), "int")
    >>> p.values.tolist(), p.reasons.to_dict(), p.codes.tolist()
    ([3, 3, <NA>, <NA>], {2: 'is not a whole number'}, [0, 0, -1, -1])
    """
    codes, uniques, unchanged = _text_codes(arr)
    index = pd.RangeIndex(len(codes)) if index is None else index
    if kind in ("id", "text"):
        distinct = pd.Index(_str_series(uniques, None))
        if coded:
            return Parsed(categorical(codes, distinct, index), _no_reasons(), codes, distinct)
        as_read = unchanged and not pa.types.is_dictionary(arr.type)  # then the cells are the values
        values = _str_series(arr if as_read else pc.take(uniques, pa.array(codes, mask=codes < 0)), index)
        return Parsed(values, _no_reasons(), codes, distinct)
    fn, dtype = _text_parser(kind, vocabulary)
    values = uniques.to_pylist()
    fn, notes = _column_reader(kind, fn, values)
    out = _by_codes(codes, values, fn, dtype, index, coded)
    out.notes = notes
    return out


def _column_reader(kind: str, fn, values: list[str]):
    """The reader of each value of a text column, where the column's distinct ``values`` decide it,
    and notes on what it repairs.

    A date column may be spreadsheet serial numbers or month-first throughout
    (:func:`hsp_eval.data.dates.date_reader`); an ethnicity cell may separate its groups by commas.
    """
    if kind == "date":
        return date_reader(values)
    if kind == "ethnicity":
        comma = next((v for v in values if "," in v and fn(v)[1] is None), None)
        if comma is not None:
            return fn, [f"ethnic groups separated by commas (such as '{comma}') were read as if "
                        f"separated by ';'"]
    return fn, []


def is_text_type(t: pa.DataType) -> bool:
    """True for Arrow's plain and large string types."""
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def parse_arrow(arr, kind: str, vocabulary: str | None = None, coded: bool = False) -> Parsed | None:
    """Parse a Parquet column straight from Arrow where its type already says how; else None.

    Strings, plain or dictionary-encoded (as the loader reads a Parquet file's text columns),
    go through :func:`parse_text`; an integer column of kind ``int`` (but unsigned 64-bit,
    which may not fit), a boolean column of kind ``bool`` and a date column of kind ``date``
    are taken as they are, with a date's year checked. Any other type returns None, and
    the caller parses the column as pandas reads it (:func:`parse_series`).

    Examples
    --------
    >>> import datetime
    >>> p = parse_arrow(pa.chunked_array([[datetime.date(2024, 3, 7), datetime.date(1999, 1, 1)]]), "date")
    >>> p.values.dt.strftime("%Y-%m-%d").tolist(), p.reasons.to_dict()
    (['2024-03-07', nan], {1: 'has a year outside 2000-2100'})
    """
    arr = pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr
    t = arr.type
    if is_text_type(t) or (pa.types.is_dictionary(t) and is_text_type(t.value_type)):
        return parse_text(arr, kind, vocabulary, coded=coded)
    index = pd.RangeIndex(len(arr))
    if kind == "int" and pa.types.is_integer(t) and not pa.types.is_uint64(t):
        # whole numbers already: taken as they are, without a pass through floats
        data = pc.fill_null(arr, 0).cast(pa.int64()).to_numpy()
        mask = arr.is_null().to_numpy(zero_copy_only=False)
        return Parsed(pd.Series(pd.arrays.IntegerArray(data, mask), index=index, copy=False), _no_reasons())
    if kind == "bool" and pa.types.is_boolean(t):
        data = arr.fill_null(False).to_numpy(zero_copy_only=False)
        mask = arr.is_null().to_numpy(zero_copy_only=False)
        return Parsed(pd.Series(pd.arrays.BooleanArray(data, mask), index=index), _no_reasons())
    if kind == "date" and pa.types.is_date32(t):
        values = pd.Series(arr.cast(pa.timestamp("s")).to_numpy(), index=index).astype(DATE_DTYPE)
        year = pc.year(arr).to_numpy(zero_copy_only=False)
        out = Parsed(values, _no_reasons())
        odd = np.flatnonzero(~np.isnan(year) & ((year < YEAR_MIN) | (year > YEAR_MAX)))
        if len(odd):  # read these as the text they show, for the same reasons as from a CSV
            odd_values, out.reasons = _by_unique(
                arr.take(odd).to_pandas().set_axis(odd).astype("str"), read_date, DATE_DTYPE)
            values.iloc[odd] = odd_values
        return out
    return None


def parse_column(s: pd.Series, kind: str, vocabulary: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse one raw column.

    Parameters
    ----------
    s : the raw column.
    kind : a column kind of :mod:`hsp_eval.data.contract`.
    vocabulary : for ``category`` columns, the vocabulary name in :mod:`hsp_eval.data.vocab`.

    Returns
    -------
    (values, reasons) : the typed column (bad cells missing) and a Series of reasons
        indexed like ``s`` holding only the cells that could not be read. Integers and
        booleans come back nullable (``Int64``, ``boolean``); the loader narrows them
        once bad rows are gone. Blanks are never reasons here: the schema decides.
    """
    p = parse_series(s, kind, vocabulary)
    return p.values, p.reasons


def parse_series(s: pd.Series, kind: str, vocabulary: str | None = None, coded: bool = False) -> Parsed:
    """:func:`parse_column`, also giving codes of the values where the column is text.

    Examples
    --------
    >>> p = parse_series(pd.Series(["Otago", "otago", "Mars"]), "category", "region")
    >>> p.values.tolist(), p.codes.tolist()
    (['Otago', 'Otago', nan], [0, 0, -1])
    """
    if _is_text(s):
        return parse_text(_arrow_text(s), kind, vocabulary, s.index, coded)
    none = _no_reasons()
    if kind in ("id", "text"):
        if kind == "id" and pd.api.types.is_numeric_dtype(s.dtype):
            reasons = pd.Series("is stored as a number; identifiers must be stored as text so "
                                "leading zeros are kept (0042 is not 42)", index=s.index[s.notna()])
            return Parsed(pd.Series(pd.NA, index=s.index, dtype="str"), reasons)
        return Parsed(clean_text(s), none)
    if kind == "int":
        if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
            return Parsed(pd.Series(pd.NA, index=s.index, dtype="Int64"),
                          pd.Series("is not a whole number", index=s.index[s.notna()]))
        f = s.astype("float64")
        bad = f.notna() & (f != np.floor(f))
        return Parsed(f.where(~bad).astype("Int64"), pd.Series("is not a whole number", index=s.index[bad]))
    if kind == "float":
        if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            return Parsed(pd.Series(np.nan, index=s.index), pd.Series("is not a number", index=s.index[s.notna()]))
        return Parsed(s.astype("float64"), none)
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s.dtype):
            return Parsed(s.astype("boolean"), none)
        values, reasons = _by_unique(s.astype("str"), _bool_one, "boolean")
        return Parsed(values.astype("boolean"), reasons)
    if kind == "date":
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            return Parsed(s.dt.tz_localize(None).astype(DATE_DTYPE) if getattr(s.dt, "tz", None)
                          else s.astype(DATE_DTYPE), none)
        # pyarrow date32 arrives as object of datetime.date or as timestamp
        return Parsed(*_by_unique(s.astype("str"), read_date, DATE_DTYPE))
    if kind in ("month", "category", "ethnicity"):
        fn, dtype = _text_parser(kind, vocabulary)
        return Parsed(*_by_unique(s.astype("str"), fn, dtype))
    raise ValueError(f"unknown column kind {kind!r}")


def _int_one(u: str):
    f, reason = _float_one(u)
    if reason or f != int(f):
        return None, "is not a whole number"
    return int(f), None


def _float_one(u: str):
    try:
        f = float(u)
    except ValueError:
        return None, "is not a number"
    if not np.isfinite(f):
        return None, "is not a finite number"
    return f, None


def _bool_one(u: str):
    f = vocab.fold(u)
    if f in vocab.BOOL_TRUE:
        return True, None
    if f in vocab.BOOL_FALSE:
        return False, None
    return None, "is not a yes/no value (use true/false, yes/no, y/n or 1/0)"


def _month_one(u: str):
    u = u.strip()
    try:
        ts = pd.to_datetime(u, format="%Y-%m")
    except (ValueError, TypeError):
        ts = None
    if ts is None or len(u) != 7:
        return None, "is not a month written as YYYY-MM (for example 2024-03)"
    return u, None
