"""Reading one table file (CSV or Parquet) as it is, before any parsing.

:func:`read_raw` returns the file's cells (CSV cells as text, so leading zeros and
odd spellings survive until they are parsed), the row number of every record as the
user counts rows in the file, and the problems that concern the file or a whole
record: not UTF-8, no header, a record with too few or too many values (a cut-off
last line), a column that looks like personal information, a missing column.
How a CSV file is written (UTF-16, ``;`` or tabs, column names in words, a repeated
header row) is settled by :mod:`hsp_eval.data.sniff` and read with a notice.

Examples
--------
>>> import pathlib, tempfile
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "schools.csv").write_text("school_id,school_name,region,school_type\\n0042,A,Otago,Contributing\\n")
>>> raw = read_raw(d / "schools.csv", "schools")
>>> raw.frame["school_id"].tolist(), raw.rows.tolist()
(['0042'], [2])
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from hsp_eval.data.contract import PII_ALLOWED, PII_COLUMN_WORDS, TABLES
from hsp_eval.data.parse import is_text_type
from hsp_eval.data.problems import Problem
from hsp_eval.data.sniff import CsvFile, header_repeats, open_csv


@dataclass
class RawTable:
    """A table file read as it is.

    A CSV's cells are held as text in ``frame``. A Parquet file's are held in ``arrow`` as
    Arrow read them; ``frame`` is then made from them, as pandas reads the file, only when
    it is asked for.
    """

    table: str
    path: Path
    _frame: pd.DataFrame | None  #: the well-formed records, every contract column present
    rows: np.ndarray  #: file row number of each record in ``frame``
    problems: list[Problem] = field(default_factory=list)  #: whole-file problems (fatal)
    bad_records: pd.DataFrame | None = None  #: malformed records: row, text, reason
    notices: list[str] = field(default_factory=list)
    arrow: pa.Table | None = None  #: a Parquet file's contract columns, as read
    #: text columns of a Parquet file read as Arrow dictionaries (:func:`_read_parquet_cells`)
    dictionary_columns: frozenset = frozenset()

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() == ".parquet"

    @property
    def frame(self) -> pd.DataFrame:
        """The records as pandas reads them (CSV: text with ``""`` for blank)."""
        if self._frame is None:
            self._frame = pd.DataFrame({c: self.column(c) for c in TABLES[self.table].column_names})
        return self._frame

    @frame.setter
    def frame(self, value: pd.DataFrame) -> None:
        self._frame = value

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> pd.Series:
        """One column's raw cells as pandas reads them (a Parquet column converted on each call)."""
        if self._frame is not None or self.arrow is None:
            return self.frame[name].reset_index(drop=True)
        if name not in self.arrow.column_names:  # an optional column the file does not have
            return pd.Series([None] * len(self), dtype="object")
        cells = self.arrow.select([name])
        if name in self.dictionary_columns:  # as the file holds them, not as codes
            cells = cells.set_column(0, name, cells.column(0).cast(cells.schema.field(0).type.value_type))
        return cells.to_pandas()[name].reset_index(drop=True)

    def arrow_column(self, name: str) -> pa.ChunkedArray:
        """One column of a Parquet file as Arrow read it (all null when the file lacks it)."""
        if name in self.arrow.column_names:
            return self.arrow.column(name)
        return pa.chunked_array([pa.nulls(len(self), pa.string())])

    def values_at(self, name: str, pos: np.ndarray) -> np.ndarray:
        """The raw cells of column ``name`` at positions ``pos`` as text, as a problem shows them."""
        return self.column(name).iloc[pos].astype(str).to_numpy()

    def free(self) -> None:
        """Drop the cells (they are no longer needed once the table is parsed)."""
        self._frame = None if self.arrow is not None else self.frame.iloc[:0]
        self.arrow = None if self.arrow is None else self.arrow.slice(0, 0)


def _problem(raw: RawTable, reason: str, row=None, column=None, value=None) -> None:
    raw.problems.append(Problem(raw.table, raw.path.name, row, column, value, reason))


def _looks_personal(column: str) -> bool:
    col = re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")
    if col in PII_ALLOWED:
        return False
    parts = col.split("_")
    return col in PII_COLUMN_WORDS or any(p in PII_COLUMN_WORDS for p in parts)


def _read_csv(data: bytes, names: list[str], separator: str, threads: bool) -> tuple[pa.Table, list]:
    invalid: list = []

    def handler(row):
        invalid.append(row)  # a blank line too: it holds no data but keeps the row count right
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(use_threads=threads, column_names=names, skip_rows=1,
                                       block_size=1 << 24),
        parse_options=pacsv.ParseOptions(delimiter=separator, newlines_in_values=True,
                                         ignore_empty_lines=False, invalid_row_handler=handler),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                             strings_can_be_null=False,
                                             quoted_strings_can_be_null=False),
    )
    return table, invalid


def _read_parquet_cells(raw: RawTable, schema: pa.Schema) -> RawTable:
    """Read a Parquet file's contract columns into Arrow (no pandas, no Python objects)."""
    spec = TABLES[raw.table]
    columns = [n for n in schema.names if n in spec.column_names]
    # text columns as Arrow dictionaries: the file's own dictionary pages (pyarrow writes them
    # by default) are kept as they are, not spelled out into every row and encoded again
    text = [n for n in columns if is_text_type(schema.field(n).type)]
    try:
        raw.arrow = pq.read_table(raw.path, columns=columns, read_dictionary=text)
        raw.dictionary_columns = frozenset(text)
    except Exception as e:  # pyarrow raises several types for broken files
        _problem(raw, f"the file could not be read as Parquet ({e})")
        return raw
    raw.rows = np.arange(1, raw.arrow.num_rows + 1, dtype=np.int64)
    raw.frame = None
    return raw


def read_raw(path: Path | str, table: str, header_only: bool = False) -> RawTable:
    """Read ``path`` as table ``table`` of the contract.

    A CSV file's encoding, separator and column names are found from its head
    (:func:`hsp_eval.data.sniff.open_csv`); what was repaired is in ``notices``.

    Parameters
    ----------
    path : path of a ``.csv`` or ``.parquet`` file.
    table : the contract table the file holds.
    header_only : only check the file as a whole (encoding, header, columns) and return
        without reading the cells; the loader does this for every file first, so all
        whole-file problems are reported together before any table is parsed.

    Returns
    -------
    RawTable
        ``frame`` has every column of the contract (optional ones absent from the file
        are added empty) and no others; CSV cells are text with ``""`` for blank.
    """
    path = Path(path)
    spec = TABLES[table]
    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in spec.column_names})
    raw = RawTable(table, path, empty, np.array([], dtype=np.int64))
    if path.suffix.lower() == ".parquet":
        try:
            schema = pq.read_schema(path)
        except Exception as e:  # pyarrow raises several types for broken files
            _problem(raw, f"the file could not be read as Parquet ({e})")
            return raw
        _check_header(raw, list(schema.names), list(schema.names), header_row=None)
        return raw if raw.problems or header_only else _read_parquet_cells(raw, schema)
    text = open_csv(path.read_bytes(), spec.column_names)
    raw.notices += [f"{path.name}: {n}" for n in text.notices]
    for row, column, reason in text.problems:
        _problem(raw, reason, row=row, column=column)
    if raw.problems:
        return raw
    _check_header(raw, text.written, text.names, header_row=1)  # a CSV header is row 1
    return raw if raw.problems or header_only else _read_csv_cells(raw, text)


def _check_header(raw: RawTable, written: list[str], names: list[str], header_row: int | None) -> None:
    """Add the problems of the header's columns, all together, and a notice of columns not used.

    ``written`` are the names as the file has them, ``names`` the contract's names they match.
    """
    spec = TABLES[raw.table]
    first: dict[str, str] = {}  # contract name -> the first header name that gave it
    for w, n in zip(written, names):
        if n in first:
            _problem(raw, "this column appears twice in the header" if first[n] == w else
                     f"this column and '{first[n]}' both name the column '{n}'; keep only one",
                     row=header_row, column=w)
        first.setdefault(n, w)
        if _looks_personal(w):
            _problem(raw, "this column looks like personal information (a name, email, phone number, "
                          "address or birth date). hsp_eval only takes pseudonymous IDs: remove the "
                          "column from the export and load again", row=header_row, column=w)
    for col in spec.columns:
        if col.required and col.name not in names:
            _problem(raw, f"the required column '{col.name}' is missing from the header "
                          f"(the header has: {', '.join(written) or 'nothing'})", row=header_row,
                     column=col.name)
    extra = [w for w, n in zip(written, names) if n not in spec.column_names and not _looks_personal(w)]
    if extra:
        raw.notices.append(f"{raw.path.name}: column(s) {', '.join(extra)} are not part of the data "
                           f"contract and were not used")


def _row_list(rows: np.ndarray) -> str:
    """File rows as a short list: the first ten, then '...'."""
    return ", ".join(map(str, rows[:10])) + (", ..." if len(rows) > 10 else "")


def _read_csv_cells(raw: RawTable, text: CsvFile) -> RawTable:
    """Read a CSV file's records (its header checked) into ``raw``: cells, row numbers, bad records."""
    spec = TABLES[raw.table]
    try:
        arrow, invalid = _read_csv(text.data, text.names, text.separator, threads=True)
        if invalid:  # re-read single-threaded: only then does Arrow number the rows
            arrow, invalid = _read_csv(text.data, text.names, text.separator, threads=False)
    except pa.ArrowInvalid as e:
        _problem(raw, f"the file could not be read as CSV ({e})")
        return raw
    n_records = arrow.num_rows + len(invalid)
    all_rows = np.arange(2, 2 + n_records, dtype=np.int64)  # the first record is row 2
    skipped = np.array(sorted(r.number for r in invalid), dtype=np.int64)
    raw.rows = np.setdiff1d(all_rows, skipped, assume_unique=True) if invalid else all_rows
    invalid = [r for r in invalid if r.text.strip()]
    repeats = np.zeros(arrow.num_rows, dtype=bool)
    repeats[header_repeats(arrow, text.written)] = True
    frame = arrow.select([n for n in text.names if n in spec.column_names]).to_pandas()
    del arrow
    for col in spec.columns:
        if col.name not in frame.columns:
            frame[col.name] = pd.Series([""] * len(frame), dtype="str")
    if repeats.any():  # two exports pasted together: the second's header is no record
        at = raw.rows[repeats]
        raw.notices.append(f"{raw.path.name}: the header row is repeated at row{'s' if len(at) > 1 else ''} "
                           f"{_row_list(at)} (as when two exports are pasted together); "
                           f"{'those rows were' if len(at) > 1 else 'that row was'} skipped")
    empty = (frame == "").all(axis=1).to_numpy()
    if empty.any():  # blank lines: kept for numbering, then skipped
        raw.notices.append(f"{raw.path.name}: {int(empty.sum())} empty row(s) skipped (row "
                           f"{_row_list(raw.rows[empty])})")
    if repeats.any() or empty.any():
        frame = frame[~(repeats | empty)].reset_index(drop=True)
        raw.rows = raw.rows[~(repeats | empty)]
    raw.frame = frame[list(spec.column_names)]
    if invalid:
        raw.bad_records = _bad_records(invalid, all_rows[-1], text.separator)
    return raw


def _bad_records(invalid: list, last_row: int, separator: str) -> pd.DataFrame:
    """The malformed records (row, text, reason), with the likely cause of each."""
    what = {",": "a comma", ";": "a ';'", "\t": "a tab"}[separator]
    invalid = sorted(invalid, key=lambda r: r.number)
    reasons = []
    for r in invalid:
        reason = (f"this row has {r.actual_columns} value(s) but the header has "
                  f"{r.expected_columns} columns")
        if r.number == last_row and r.actual_columns < r.expected_columns:
            reason += "; it is the last row, so the file looks cut off (truncated)"
        elif r.actual_columns > r.expected_columns:
            reason += f"; a value may contain {what} that is not inside quotes"
        reasons.append(reason)
    return pd.DataFrame({"row": np.array([r.number for r in invalid], dtype=np.int64),
                         "text": [r.text for r in invalid], "reason": reasons})
