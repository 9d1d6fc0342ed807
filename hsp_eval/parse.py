"""Turning raw cells into typed values, one column kind at a time.

Every parser takes the raw column (text from a CSV, or typed values from Parquet) and
returns the typed column plus, for each cell it could not read, the reason in plain
words. Blank cells become missing values here; whether a blank is allowed is decided
by the schema (:mod:`hsp_eval.schemas`). Parsing is done once per distinct value, so
a column of ten million repeated dates costs a few thousand parses.

Examples
--------
>>> import pandas as pd
>>> values, bad = parse_column(pd.Series(["2024-03-07", "7/03/2024", "31/02/2024"]), "date")
>>> values.dt.strftime("%Y-%m-%d").tolist()[:2], bad.to_dict()
(['2024-03-07', '2024-03-07'], {2: 'is not a real date (use YYYY-MM-DD, or day/month/year as NZ systems export)'})
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import vocab
from .contract import YEAR_MAX, YEAR_MIN

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


def clean_text(s: pd.Series) -> pd.Series:
    """Strip, NFC-normalise and blank-to-missing a text column, vectorised in Arrow.

    Examples
    --------
    >>> clean_text(pd.Series([" 0042 ", "Ma\u0304ori", "", None], dtype="str")).tolist()
    ['0042', 'Māori', nan, nan]
    """
    arr = pa.array(s.array) if pd.api.types.is_string_dtype(s.dtype) else \
        pa.array(s.astype("str").array)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    arr = pc.utf8_trim_whitespace(arr)
    if len(arr) and not pc.all(pc.string_is_ascii(arr)).as_py():
        arr = pc.utf8_normalize(arr, "NFC")
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
    return pd.Series(arr.to_pandas(), index=s.index).astype("str")


def _by_unique(s: pd.Series, fn, dtype) -> tuple[pd.Series, pd.Series]:
    """Apply ``fn(value) -> (parsed, reason)`` once per distinct non-blank value.

    Returns the parsed column of ``dtype`` and the reasons of the cells that failed.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed, reasons = [], []
    for u in uniques:
        p, r = fn(u)
        parsed.append(p)
        reasons.append(r)
    parsed_u = pd.Series(parsed + [None], dtype=object).astype(dtype)
    idx = np.where(codes < 0, len(uniques), codes)
    values = parsed_u.take(idx).set_axis(s.index)
    failed_u = np.array([r is not None for r in reasons] + [False])
    bad = failed_u[idx]
    if not bad.any():
        return values, pd.Series(dtype=object)
    reason_u = np.array(reasons + [None], dtype=object)
    return values, pd.Series(reason_u[idx[bad]], index=s.index[bad])


def _blank_to_na(s: pd.Series) -> pd.Series:
    return clean_text(s) if _is_text(s) else s


def parse_column(s: pd.Series, kind: str, vocabulary: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Parse one raw column.

    Parameters
    ----------
    s : the raw column.
    kind : a column kind of :mod:`hsp_eval.contract`.
    vocabulary : for ``category`` columns, the vocabulary name in :mod:`hsp_eval.vocab`.

    Returns
    -------
    (values, reasons) : the typed column (bad cells missing) and a Series of reasons
        indexed like ``s`` holding only the cells that could not be read. Integers and
        booleans come back nullable (``Int64``, ``boolean``); the loader narrows them
        once bad rows are gone. Blanks are never reasons here: the schema decides.
    """
    s = _blank_to_na(s)
    text = _is_text(s)
    if kind in ("id", "text"):
        if not text:
            if kind == "id" and pd.api.types.is_numeric_dtype(s.dtype):
                reasons = pd.Series("is stored as a number; identifiers must be stored as text so "
                                    "leading zeros are kept (0042 is not 42)", index=s.index[s.notna()])
                return pd.Series(pd.NA, index=s.index, dtype="str"), reasons
        return (s if text else clean_text(s)), pd.Series(dtype=object)
    if kind == "int":
        if text:
            return _by_unique(s, _int_one, "Int64")
        if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
            return pd.Series(pd.NA, index=s.index, dtype="Int64"), pd.Series(
                "is not a whole number", index=s.index[s.notna()])
        f = s.astype("float64")
        bad = f.notna() & (f != np.floor(f))
        return f.where(~bad).astype("Int64"), pd.Series("is not a whole number", index=s.index[bad])
    if kind == "float":
        if text:
            return _by_unique(s, _float_one, "float64")
        if not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
            return pd.Series(np.nan, index=s.index), pd.Series("is not a number", index=s.index[s.notna()])
        return s.astype("float64"), pd.Series(dtype=object)
    if kind == "bool":
        if text:
            values, reasons = _by_unique(s, _bool_one, "boolean")
        elif pd.api.types.is_bool_dtype(s.dtype):
            values, reasons = s.astype("boolean"), pd.Series(dtype=object)
        else:
            values, reasons = _by_unique(s.astype("str"), _bool_one, "boolean")
        return values.astype("boolean"), reasons
    if kind == "date":
        if text:
            return _by_unique(s, _date_one, DATE_DTYPE)
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            return s.dt.tz_localize(None).astype(DATE_DTYPE) if getattr(s.dt, "tz", None) \
                else s.astype(DATE_DTYPE), pd.Series(dtype=object)
        # pyarrow date32 arrives as object of datetime.date or as timestamp
        return _by_unique(s.astype("str"), _date_one, DATE_DTYPE)
    if kind == "month":
        return _by_unique(s.astype("str"), _month_one, "str")
    if kind == "category":
        allowed = vocab.VOCABULARIES[vocabulary][0]

        def one(u):
            c = vocab.canonical(vocabulary, u)
            if c is None:
                return None, f"is not an allowed value (allowed: {', '.join(allowed)})"
            return c, None
        return _by_unique(s.astype("str") if not text else s, one, dtype_for(kind, True, vocabulary))
    if kind == "ethnicity":
        return _by_unique(s.astype("str") if not text else s, vocab.parse_ethnicity, "str")
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


_DATE_REASON = "is not a real date (use YYYY-MM-DD, or day/month/year as NZ systems export)"


def _date_one(u: str):
    u = u.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            ts = pd.to_datetime(u, format=fmt)
        except (ValueError, TypeError):
            continue
        if fmt == "%Y-%m-%d" and len(u) != 10:
            break
        if not YEAR_MIN <= ts.year <= YEAR_MAX:
            return None, f"has a year outside {YEAR_MIN}-{YEAR_MAX}"
        return ts, None
    if "/" in u and len(u.split("/")) == 3 and len(u.split("/")[2]) == 2:
        return None, "has a two-digit year; write the year in full (7/03/2024)"
    return None, _DATE_REASON


def _month_one(u: str):
    u = u.strip()
    try:
        ts = pd.to_datetime(u, format="%Y-%m")
    except (ValueError, TypeError):
        ts = None
    if ts is None or len(u) != 7:
        return None, "is not a month written as YYYY-MM (for example 2024-03)"
    return u, None
