"""What a CSV file is written in: its encoding, its separator and its column names.

Spreadsheets save a table in more ways than the contract's one (UTF-8, commas, the contract's
column names). Where the file's own bytes settle how it is written, :func:`open_csv` reads it so
and says what it repaired in a notice, once per file; where they do not, it gives one problem
naming the likely cause. What is settled, and how:

- **encoding**: UTF-8 with or without a byte-order mark (the contract's); UTF-16 with a
  byte-order mark (Excel's "Unicode Text") is read with a notice. Bytes that are not UTF-8 are
  refused: they do not tell Windows-1252 from other encodings, and Excel's plain "CSV" has
  already replaced any macron (docs/decisions.md).
- **separator**: comma, semicolon or tab, whichever splits the header row into the most of the
  table's contract columns (a header row that two separators split equally well is refused).
  ``csv.Sniffer`` guesses from the data instead and is easily misled by the ``;`` inside an
  ethnicity cell or a comma in a title; the header row has to match the contract anyway.
- **column names**: a name written in words (``Student ID``, ``Year level``, ``STUDENT_ID``) is
  the contract's column whose name is the same ignoring case, spaces, hyphens and underscores
  (:func:`column_key`), when exactly one column of the header names it.
- **repeated header rows** (two exports pasted together) are found by :func:`header_repeats`.

Only the head of the file (the byte-order mark, the header line, the first bytes for zero
bytes) is looked at, besides the check that every byte is UTF-8 (:func:`is_utf8`), which
every file gets.

Examples
--------
>>> f = open_csv(b"Year;School ID\\n2024;0042\\n", ("year", "school_id"))
>>> f.separator, f.names, f.notices[0]
(';', ['year', 'school_id'], "the values are separated by ';' rather than commas; read as such")
"""

from __future__ import annotations

import codecs
import csv
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: bytes of the head of a file looked at for signs of its encoding
HEAD_BYTES = 1 << 16
#: separators a CSV file may use, in the order preferred, with how a notice names them
SEPARATORS = {",": "commas", ";": "';'", "\t": "tabs"}
_UTF16 = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_SAVE_AS = "Save it again as 'CSV UTF-8' and retry"


@dataclass
class CsvFile:
    """A CSV file's bytes as UTF-8, its separator and its header, with what was repaired or refused."""

    data: bytes  #: the file as UTF-8 text, without a byte-order mark
    separator: str = ","
    written: list[str] = field(default_factory=list)  #: the header's names as written (stripped)
    names: list[str] = field(default_factory=list)  #: the same, the contract's name where one matches
    notices: list[str] = field(default_factory=list)  #: repairs, in plain words (without the file name)
    problems: list[tuple] = field(default_factory=list)  #: (row, column, reason) that stop the file


def open_csv(data: bytes, columns: tuple[str, ...]) -> CsvFile:
    """Decode a CSV file, find its separator and match its header to the contract's ``columns``.

    Parameters
    ----------
    data : the file's bytes.
    columns : the contract table's column names.

    Returns
    -------
    CsvFile
        With ``problems`` set (and nothing else to rely on) when the file cannot be read as
        text, is empty, or its separator is not settled.

    Examples
    --------
    >>> f = open_csv("student id\\tyear\\n".encode("utf-16"), ("year", "student_id"))
    >>> f.names, len(f.notices)
    (['student_id', 'year'], 3)
    """
    out = _decode(data)
    if out.problems:
        return out
    if out.data.isspace() or not out.data:  # (no copy of the file, as strip() would make)
        out.problems.append((None, None, "the file is empty; it needs at least the header row"))
        return out
    end = out.data.find(b"\n")
    line = out.data[: end if end >= 0 else len(out.data)].decode("utf-8").rstrip("\r")
    separator, problem = _separator(line, columns)
    if problem:
        out.problems.append((1, None, problem))
        return out
    out.separator = separator
    if separator != ",":
        out.notices.append(f"the values are separated by {SEPARATORS[separator]} rather than commas; read as such")
    out.written = header_fields(line, separator)
    out.names = match_header(out.written, columns)
    once = [n for n in out.names if out.names.count(n) == 1]  # a column named twice is refused, not matched
    renamed = [f"'{w}' as {n}" for w, n in zip(out.written, out.names) if w != n and n in columns and n in once]
    if renamed:
        out.notices.append("column names written in words were matched to the contract's "
                           "(ignoring case, spaces, hyphens and underscores): " + ", ".join(renamed))
    return out


# ---------------------------------------------------------------------------
# encoding


def _decode(data: bytes) -> CsvFile:
    """The file as UTF-8 without a byte-order mark, or the problem that stops it."""
    if data.startswith(codecs.BOM_UTF8):  # the contract's own: no notice
        return CsvFile(data[len(codecs.BOM_UTF8):])
    for bom, encoding in _UTF16:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError:
                return CsvFile(b"", problems=[(None, None, (
                    "the file starts as UTF-16 text (Excel's 'Unicode Text') but is broken further on. "
                    + _SAVE_AS))])
            return CsvFile(text.encode("utf-8"), notices=[
                "the file is saved as UTF-16 text (Excel's 'Unicode Text') rather than UTF-8; read as such"])
    if b"\x00" in data[:HEAD_BYTES]:  # no text file holds a zero byte; UTF-16 without a mark does
        return CsvFile(b"", problems=[(None, None, (
            "the file holds zero bytes, which text saved as UTF-8 never does: it looks like UTF-16 "
            "text saved without a byte-order mark, or a workbook renamed to .csv. " + _SAVE_AS))])
    if not is_utf8(data):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:  # where: only Python's decoder says
            return CsvFile(b"", problems=[_not_utf8(data, e.start)])
    return CsvFile(data)


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8, checked by Arrow on the bytes as they are (no copy, no
    Python text: about ten times faster than ``bytes.decode`` on a large file).

    Examples
    --------
    >>> is_utf8("Māori".encode("utf-8")), is_utf8("Māori".encode("utf-16"))
    (True, False)
    """
    offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
    cells = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        cells.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


def _not_utf8(data: bytes, at: int) -> tuple:
    """(row, column, reason) for the first byte that is not UTF-8, at position ``at``."""
    row = data.count(b"\n", 0, at) + 1
    bad = data[at:at + 1].hex().upper()
    reason = f"the file is not saved as UTF-8 text: byte 0x{bad} on this line is not valid UTF-8"
    start = max(data.rfind(sep, 0, at) for sep in (b"\n", b",", b";", b"\t")) + 1
    ends = [e for e in (data.find(sep, at) for sep in (b"\n", b",", b";", b"\t", b"\r")) if e >= 0]
    try:  # Windows-1252 only where the bytes fit it
        shown = data[start:min(ends, default=len(data))].decode("cp1252").strip()[:40]
        reason += (f". In Windows-1252 (what Excel's plain 'CSV' saves) the value would read '{shown}', "
                   "but the same bytes mean other letters in other encodings (a Mac's, say), and plain "
                   "'CSV' cannot hold macrons (ā, ē, ī, ō, ū) and has already replaced any, so hsp_eval "
                   "does not guess")
    except UnicodeDecodeError:
        reason += "; the file is in an encoding hsp_eval does not recognise"
    return row, None, f"{reason}. {_SAVE_AS}"


# ---------------------------------------------------------------------------
# separator and header


def column_key(name: str) -> str:
    """A column name as it is matched: case-folded, without spaces, hyphens and underscores.

    Examples
    --------
    >>> column_key(" Student ID"), column_key("year-level"), column_key("STUDENT_ID")
    ('studentid', 'yearlevel', 'studentid')
    """
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFC", name).casefold())


def header_fields(line: str, separator: str) -> list[str]:
    """The names of a header line split at ``separator`` (quotes as in CSV), stripped.

    Examples
    --------
    >>> header_fields('Year ;School ID', ";")
    ['Year', 'School ID']
    >>> header_fields('year,"school, id"', ",")
    ['year', 'school, id']
    """
    return [n.strip() for n in next(csv.reader([line], delimiter=separator), [])]


def match_header(written: list[str], columns: tuple[str, ...]) -> list[str]:
    """The contract's name for each header name where it is one written in words, else the name.

    A name the contract has as it is stays; another name becomes the contract column it equals
    under :func:`column_key`. Two header names naming one column are left for the caller to
    refuse (the header then names a column twice).

    Examples
    --------
    >>> match_header(["Student ID", "Year Level", "notes"], ("student_id", "year_level"))
    ['student_id', 'year_level', 'notes']
    """
    by_key = {column_key(c): c for c in columns}
    return [n if n in columns else by_key.get(column_key(n), n) for n in written]


def _separator(line: str, columns: tuple[str, ...]) -> tuple[str, str | None]:
    """The separator that splits the header line into the most contract columns, or a problem.

    With no contract column under any separator, the comma: the column checks then say what
    the header lacks.
    """
    found = {sep: len(set(match_header(header_fields(line, sep), columns)) & set(columns))
             for sep in SEPARATORS}
    best = max(found.values())
    tied = [sep for sep, n in found.items() if n == best]
    if best == 0:
        return ",", None
    if len(tied) > 1:
        return ",", ("the header row reads as the contract's columns when split at "
                     + " and when split at ".join(SEPARATORS[s] for s in tied)
                     + ", so which separates the values is not settled. " + _SAVE_AS)
    return tied[0], None


def header_repeats(table: pa.Table, written: list[str]) -> np.ndarray:
    """Positions of the records that repeat the header row: each cell the header's name for its
    column (``written``, as the file writes them), spaces around it aside.

    Only records whose cell under the header's longest name contains that name are compared
    cell by cell, so a large file costs one plain substring search of one column.

    Examples
    --------
    >>> t = pa.table({"a": ["1", "year ", "2"], "b": ["x", "School ID", "y"]})
    >>> header_repeats(t, ["year", "School ID"]).tolist()
    [1]
    """
    none = np.zeros(0, dtype=np.int64)
    if not written or table.num_rows == 0:
        return none
    longest = max(range(len(written)), key=lambda i: len(written[i]))
    hit = pc.match_substring(table.column(longest), written[longest])
    if not pc.any(hit).as_py():
        return none
    pos = pc.indices_nonzero(hit).to_numpy().astype(np.int64)
    same = np.ones(len(pos), dtype=bool)
    for name, column in zip(written, table.take(pa.array(pos)).columns):
        same &= pc.equal(pc.utf8_trim_whitespace(column), name).to_numpy(zero_copy_only=False)
    return pos[same]
