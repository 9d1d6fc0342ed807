"""Raw files of an external dataset: their SHA-256, the provenance record, and row accounting.

A public dataset is read from files copied byte-identical into ``data/external/<name>/``.
A report ties its numbers to those exact bytes by printing each file's SHA-256
(:func:`provenance_record`), and says what became of every row read: used, or excluded with a
reason in plain words (:func:`accounting`), so rows read = rows used + rows excluded.

Examples
--------
>>> import pandas as pd
>>> excluded = pd.DataFrame({"file": ["a.csv"], "row": [9], "reason": ["the row is cut off"]})
>>> accounting({"a.csv": 8}, excluded)[["file", "outcome", "rows"]].values.tolist()
[['a.csv', 'used', 7], ['a.csv', 'excluded: the row is cut off', 1]]
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pandas as pd

from hsp_eval.reports import provenance

ACCOUNTING_COLUMNS = ["file", "outcome", "rows"]
#: why a row of a file is missing from the frame read from it (a reader stops at a bad row with an error)
NOT_READ = "not read (see the error from read)"


def sha256(path) -> str:
    """SHA-256 (hex) of a file's bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def count_records(data: bytes, delimiter: str = ",") -> int:
    """Data rows of a UTF-8 CSV file's bytes, counted with the csv module (header not counted).

    Counted on their own, not by the reader that parses the cells, so rows that reader passes
    over (blank lines) still count as read; a quoted value spanning lines is one row.

    Examples
    --------
    >>> count_records(b'a,b\\n1,"x\\ny"\\n\\n2,3\\n')
    3
    """
    return sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)) - 1


def provenance_record(files, data_dir, read_at: str | None = None, **extra) -> dict:
    """:func:`hsp_eval.reports.provenance.record` for raw files: one ``sha256 <file>`` entry per file.

    The data fingerprint is the SHA-256 over the files' names and hashes in the order given,
    so it changes when any byte of any file changes.

    Parameters
    ----------
    files : paths of the raw files read (relative names are shown relative to ``data_dir``).
    data_dir : the dataset's folder.
    read_at : when the files were read (ISO 8601); now when not given.
    **extra : further fields (e.g. ``allow_truncated``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "x.txt").write_bytes(b"abc")
    >>> rec = provenance_record([d / "x.txt"], d, read_at="2026-11-24T10:00:00+00:00")
    >>> rec["sha256 x.txt"][:12], len(rec["data_fingerprint"])
    ('ba7816bf8f01', 64)
    """
    data_dir = Path(data_dir)
    hashes = {}
    for f in files:
        f = Path(f)
        name = f.relative_to(data_dir).as_posix() if f.is_relative_to(data_dir) else f.name
        hashes[f"sha256 {name}"] = sha256(f)
    combined = hashlib.sha256("".join(f"{k}={v}\n" for k, v in hashes.items()).encode()).hexdigest()
    return provenance.record(fingerprint=combined, data_dir=data_dir, read_at=read_at, **hashes, **extra)


def accounting(rows_read: dict, excluded: pd.DataFrame) -> pd.DataFrame:
    """What became of every row read: per file, rows used and rows excluded per reason.

    Parameters
    ----------
    rows_read : file name -> number of data rows read from it (header not counted).
    excluded : one row per excluded record with columns ``file`` and ``reason``.

    Returns
    -------
    DataFrame with columns file, outcome (``used`` or ``excluded: <reason>``), rows; per file
    the rows add up to the rows read (:func:`tally` of the excluded records' counts).

    Raises
    ------
    ValueError
        When a file has more excluded rows than rows read, or an excluded row names a file
        that was not read.
    """
    unknown = sorted(set(excluded["file"]) - set(rows_read))
    counts = {file: excluded.loc[excluded["file"] == file, "reason"].value_counts(sort=False).to_dict()
              for file in rows_read}
    out = tally(rows_read, counts)
    if unknown:
        raise ValueError(f"excluded rows name file(s) not read: {', '.join(unknown)}")
    return out


def tally(rows_read: dict, excluded: dict) -> pd.DataFrame:
    """:func:`accounting` from counts: per file, rows used and rows excluded per reason.

    Parameters
    ----------
    rows_read : file name -> number of data rows read from it (header not counted).
    excluded : file name -> {reason: number of rows excluded for it}; a file not named, or a
        reason counted 0 (or less), excludes nothing and gets no ``excluded`` row.

    Returns
    -------
    DataFrame with columns file, outcome (``used`` or ``excluded: <reason>``), rows.

    Raises
    ------
    ValueError
        When a file has more excluded rows than rows read.

    Examples
    --------
    >>> tally({"a.csv": 8, "a.csv: x": 7}, {"a.csv": {"cut off": 1}, "a.csv: x": {"skip": 0}}).values.tolist()
    [['a.csv', 'used', 7], ['a.csv', 'excluded: cut off', 1], ['a.csv: x', 'used', 7]]
    """
    out = []
    for file, n in rows_read.items():
        reasons = {r: int(k) for r, k in excluded.get(file, {}).items() if k > 0}
        gone = sum(reasons.values())
        if gone > n:
            raise ValueError(f"{file}: {gone} rows excluded but only {n} read")
        out.append({"file": file, "outcome": "used", "rows": int(n - gone)})
        out += [{"file": file, "outcome": f"excluded: {r}", "rows": k} for r, k in reasons.items()]
    return pd.DataFrame(out, columns=ACCOUNTING_COLUMNS)


def tally_columns(file: str, rows_read: int, values: pd.DataFrame, reason) -> pd.DataFrame:
    """:func:`tally` for a file read into one frame: the file's rows, then each column's.

    The file's block: ``rows_read`` rows, those in the frame used, the rest excluded as
    :data:`NOT_READ`. Then a block per column of ``values`` (one row per record read),
    ``file`` named ``<file>: <column>``: rows with a value used, rows without one (NaN)
    excluded for the column's reason.

    Parameters
    ----------
    file : the file's name.
    rows_read : data rows in the file (header not counted).
    values : one column per item counted, one row per record read.
    reason : why a row without a value is excluded: one text for every column, or column -> text.

    Examples
    --------
    >>> v = pd.DataFrame({"q1": [1.0, None, 0.0], "q2": [1.0, 1.0, 1.0]})
    >>> t = tally_columns("a.csv", 4, v, "skipped")
    >>> t["file"].tolist()
    ['a.csv', 'a.csv', 'a.csv: q1', 'a.csv: q1', 'a.csv: q2']
    >>> t["outcome"].str.removeprefix("excluded: ").tolist(), t["rows"].tolist()
    (['used', 'not read (see the error from read)', 'used', 'skipped', 'used'], [3, 1, 2, 1, 3])
    """
    reasons = reason if isinstance(reason, dict) else dict.fromkeys(values.columns, reason)
    missing = values.isna().sum()
    counts = {file: rows_read, **{f"{file}: {c}": len(values) for c in values.columns}}
    excluded = {file: {NOT_READ: rows_read - len(values)},
                **{f"{file}: {c}": {reasons[c]: int(missing[c])} for c in values.columns}}
    return tally(counts, excluded)


def accounting_summary(acc: pd.DataFrame, counted: str = "indicators", where: str = "in the appendix"):
    """One sentence for the front of a report whose full :func:`accounting` table is further on.

    Rows read and used are the files' own rows (``file`` without ``": "``); the blocks of a
    file's columns (``"<file>: <column>"``, :func:`tally_columns`) are summed up as how many rows
    each leaves out. ``counted`` names those columns; ``where`` says where the table is.

    Returns
    -------
    :class:`hsp_eval.reports.sections.Sentence` (shown as Markdown in a notebook).

    Examples
    --------
    >>> v = pd.DataFrame({"q1": [1.0, None, 0.0], "q2": [1.0, None, None]})
    >>> print(accounting_summary(tally_columns("a.csv", 3, v, "skipped")))  # doctest: +NORMALIZE_WHITESPACE
    Of 3 records read, 3 were used; the 2 indicators leave out between 1 and 2 of them, each with its reason.
    The full accounting is in the appendix.
    """
    from hsp_eval.reports.sections import Sentence

    whole = ~acc["file"].str.contains(": ", regex=False)
    files, parts = acc[whole], acc[~whole]
    read, used = int(files["rows"].sum()), int(files.loc[files["outcome"] == "used", "rows"].sum())
    text = f"Of {read:,} records read, {used:,} were used"
    if len(parts):
        left_out = parts["rows"].where(parts["outcome"] != "used", 0).groupby(parts["file"], sort=False).sum()
        n, lo, hi = len(left_out), int(left_out.min()), int(left_out.max())
        if hi == 0:
            text += f"; each of the {n} {counted} uses all of them"
        elif lo == hi:
            text += f"; each of the {n} {counted} leaves out {hi:,} of them, with the reason"
        else:
            text += f"; the {n} {counted} leave out between {lo:,} and {hi:,} of them, each with its reason"
    return Sentence(f"{text}. The full accounting is {where}.")


def provenance_frame(rec: dict, parameters: dict | None = None) -> pd.DataFrame:
    """:func:`hsp_eval.reports.provenance.provenance_table` with the raw files' names kept exactly as spelt.

    ``provenance_table`` turns ``_`` into spaces in item names, which would misspell file
    names such as ``survey_d75.txt``; the ``sha256 <file>`` items are put back as recorded.

    Examples
    --------
    >>> rec = {"hsp_eval_version": "0.1", "sha256 a_b.txt": "ff"}
    >>> provenance_frame(rec, {"data_dir": "x"})["item"].tolist()
    ['hsp_eval version', 'sha256 a_b.txt', 'parameter data_dir']
    """
    t = provenance.provenance_table(rec, parameters)
    for i, key in enumerate(rec):
        if key.startswith("sha256 "):
            t.loc[i, "item"] = key
    return t
