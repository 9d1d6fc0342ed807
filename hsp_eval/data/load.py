"""Loading an evaluation dataset: read, parse, validate, cross-check, quarantine.

:func:`load_dataset` reads every contract table found in a folder, in the contract's
order (a table only refers to tables before it), and either returns typed, validated
tables or raises :class:`~hsp_eval.data.problems.DataContractError` listing every problem
found. With ``quarantine=DIR`` the bad rows go to ``DIR/<table>.csv`` with a ``reason``
column and the rest loads; rows read = rows accepted + rows quarantined, per table.

Examples
--------
>>> from hsp_eval import load_dataset
>>> ds = load_dataset("data/demo")                     # doctest: +SKIP
>>> ds["enrolments"].dtypes["year_level"]              # doctest: +SKIP
dtype('int64')
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from hsp_eval.data.contract import REQUIRED_TABLES, TABLES
from hsp_eval.data.keys import CodedTable, codes_of, distinct, pack
from hsp_eval.data.memory import release_free_memory
from hsp_eval.data.dataset import Dataset
from hsp_eval.data.parse import Parsed, categorical, dtype_for, parse_arrow, parse_series
from hsp_eval.data.problems import DataContractError, Problem, TableAccount, ValidationReport
from hsp_eval.data.read import RawTable, read_raw
from hsp_eval.data.schemas import failures

#: threads that parse a table's columns, or run its cross-table checks, at once (the results are
#: the same, in the same order, however many there are)
PARSE_THREADS = min(4, os.cpu_count() or 1)

# ---------------------------------------------------------------------------
# finding the files


def find_table_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Map table name -> file in ``folder``; also return notices about other files."""
    found: dict[str, Path] = {}
    notices: list[str] = []
    for p in sorted(folder.iterdir()):
        if p.is_dir() or p.name.startswith("."):
            continue
        stem, suffix = p.stem, p.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            continue
        if stem in TABLES:
            if stem in found:
                raise DataContractError(ValidationReport(problems=[Problem(
                    stem, p.name, None, None, None,
                    f"the folder holds both {found[stem].name} and {p.name}; keep only one")], fatal=True))
            found[stem] = p
        else:
            notices.append(f"{p.name} is not a table of the data contract and was not read "
                           f"(tables: {', '.join(TABLES)})")
    return found, notices


# ---------------------------------------------------------------------------
# a parsed table and the codes of its columns


#: columns whose codes are kept for the key checks (with each table's own key)
_KEY_COLUMNS = frozenset({"school_id", "year", "family_id", "student_id", "activity_id", "instrument",
                          "item_id", "respondent_id"})
_NEEDS = {
    "attendance": ("activities", "enrolments"),
    "survey_respondents": ("survey_items",),
    "survey_responses": ("survey_respondents", "survey_items"),
}
#: rows a check that needs several temporary arrays per row works through at a time
_BLOCK_ROWS = 1 << 20
#: tables that later tables are checked against
_REFERENCED = frozenset({"schools", "enrolments", *(n for needs in _NEEDS.values() for n in needs)})


def _take(coded: tuple[np.ndarray, pd.Index], pos: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """The codes at positions ``pos`` (-1 where a position is -1)."""
    codes, uniques = coded
    return np.append(codes, -1)[pos], uniques


def _texts(coded: tuple[np.ndarray, pd.Index], pos: np.ndarray) -> pd.Series:
    """The values at ``pos`` (none missing) as text."""
    codes, uniques = coded
    return pd.Series(uniques.take(codes[pos])).astype(str)


# ---------------------------------------------------------------------------
# cross-table checks: each returns (mask of failing rows, value Series, reason text or a function
# giving the failing rows' reasons from their positions: reasons are made for failing rows only)


def _positions(left: list, ref: CodedTable | None, ref_cols: list[str]) -> np.ndarray:
    """Position in ref of the first row with each row's key (codes of the key columns); -1 where none."""
    if ref is None or len(ref) == 0:
        return np.full(len(left[0][0]), -1, dtype=np.int64)
    return ref.lookup(ref_cols).positions(left)


def _keys_in(left: list, ref: CodedTable | None, ref_cols: list[str]) -> np.ndarray:
    """Boolean array: is each row's key (codes of the key columns) among ref's (ref_cols) keys?"""
    return _positions(left, ref, ref_cols) >= 0


def _year_of(series: pd.Series) -> pd.Series:
    """Calendar year of a date or a YYYY-MM month column (computed once per distinct value)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series.dt.year.astype("Int64")
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    years = pd.to_numeric(pd.Series(uniques).str.slice(0, 4), errors="coerce").astype("Int64")
    return pd.concat([years, pd.Series([pd.NA], dtype="Int64")], ignore_index=True).take(
        np.where(codes < 0, len(uniques), codes)).set_axis(series.index)


def _year_codes(table: CodedTable, col: str) -> tuple[np.ndarray, pd.Index]:
    """Codes of the calendar year of a date or YYYY-MM month column of ``table``."""
    if pd.api.types.is_datetime64_any_dtype(table.frame[col].dtype):
        return codes_of(_year_of(table.frame[col]))
    codes, uniques = table.codes(col)
    year_codes, years = codes_of(_year_of(pd.Series(uniques)))
    return np.append(year_codes, -1)[codes], years


def _cross_checks(name: str, table: CodedTable, tables: dict[str, CodedTable], found: dict | None = None) -> list:
    """The checks of table ``name`` against the tables it refers to, as functions of no argument
    that each return (column, failing mask, values, reason). The reason is a text, or a function
    of the failing rows' positions giving one text per row: made for the failing rows only, not
    one per row of the table. They do not depend on one another, so they may run at the same time.

    ``found["enrolments"]`` is set to each row's enrolment row (first row with its school, year
    and family; -1 where none) when the table's families are checked against enrolments,
    ``found["activities"]`` to each attendance row's activity row, and ``found["survey_respondents"]``
    and ``found["survey_items"]`` to each survey response's respondent and item rows.
    """
    df = table.frame
    enrolments = tables.get("enrolments")
    found = {} if found is None else found
    checks = []

    def school_known():
        school = table.codes("school_id")
        ok = _keys_in([school], tables["schools"], ["school_id"]) | (school[0] < 0)
        return ("school_id", ~ok, df["school_id"], "is not in the schools table")

    def enrolled(id_col: str, school, year, ref: CodedTable | None, reason):
        """Rows whose (school, year, id_col) is not in ``ref``, with ``reason(school, year)`` texts."""
        probe = [school, year, table.codes(id_col)]
        pos = _positions(probe, ref, ["school_id", "year", id_col])
        if id_col == "family_id" and ref is enrolments:
            found["enrolments"] = pos
        ok = (pos >= 0) | np.any([codes < 0 for codes, _ in probe], axis=0)
        return (id_col, ~ok, df[id_col], lambda pos: reason(_texts(school, pos), _texts(year, pos)))

    def family_enrolled(school, year, what: str):
        return enrolled("family_id", school, year, enrolments,
                        lambda s, y: "has no child enrolled at school " + s + " in " + y + f" ({what})")

    def student_enrolled(school, year, target_only: bool):
        ref = enrolments
        if ref is not None and target_only:
            ref = ref.rows(ref.frame["target"].fillna(False).astype(bool).to_numpy())
        kind = "a target student" if target_only else "enrolled"
        tail = " (the enrolments table must mark the student as a target student that year)" \
            if target_only else ""
        return enrolled("student_id", school, year, ref,
                        lambda s, y: f"is not {kind} at school " + s + " in " + y + tail)

    def only(rows: np.ndarray, check):
        """``check`` failing only on ``rows`` (those whose other references were found)."""
        def run():
            col, bad, values, reason = check()
            return col, bad & rows, values, reason
        return run

    if name in ("enrolments", "activities", "contacts", "portal_usage", "survey_respondents",
                "inquiry_steps", "progress", "self_review", "reported_participation"):
        checks.append(school_known)
    if name == "attendance":
        acts = tables.get("activities")
        pos = found["activities"] = _positions([table.codes("activity_id")], acts, ["activity_id"])
        ok = pos >= 0
        checks.append(lambda: ("activity_id", ~ok, df["activity_id"], "is not in the activities table"))
        if acts is not None:
            school, year = _take(acts.codes("school_id"), pos), _take(_year_codes(acts, "date"), pos)
            checks.append(only(ok, lambda: family_enrolled(school, year, "the year of this activity")))
            if df["student_id"].notna().any():
                checks.append(only(ok, lambda: student_enrolled(school, year, target_only=False)))
    if name == "contacts":
        school, year = table.codes("school_id"), _year_codes(table, "date")
        checks.append(lambda: family_enrolled(school, year, "the year of this contact"))
        if df["student_id"].notna().any():
            checks.append(lambda: student_enrolled(school, year, target_only=False))
    if name == "portal_usage":
        checks.append(lambda: family_enrolled(table.codes("school_id"), _year_codes(table, "month"),
                                              "the year of this month"))
    if name == "survey_respondents":
        items = tables.get("survey_items")
        ok = _keys_in([table.codes("instrument")], items, ["instrument"])
        checks.append(lambda: ("instrument", ~ok, df["instrument"], "is not an instrument in the survey_items table"))
        linked = df["family_id"].notna().to_numpy()
        if linked.any():
            checks.append(only(linked, lambda: family_enrolled(table.codes("school_id"), table.codes("year"),
                                                               "the survey year")))
    if name == "survey_responses":
        def respondent_known():
            resp_key = ["instrument", "year", "school_id", "respondent_id"]
            pos = found["survey_respondents"] = _positions([table.codes(c) for c in resp_key],
                                                           tables.get("survey_respondents"), resp_key)
            return ("respondent_id", pos < 0, df["respondent_id"],
                    "is not in survey_respondents for this instrument, year and school")

        checks.append(respondent_known)
        items = tables.get("survey_items")
        item = found["survey_items"] = _positions([table.codes("instrument"), table.codes("item_id")], items,
                                                  ["instrument", "item_id"])
        checks.append(lambda: ("item_id", item < 0, df["item_id"], "is not an item of this instrument in survey_items"))
        if items is not None:
            def in_range():
                # each answer against its item's range, a block of rows at a time: the whole column
                # at once made a gigabyte of temporary arrays on the national survey answers
                item_lo = np.append(items.frame["response_min"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
                item_hi = np.append(items.frame["response_max"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
                answers = df["response"].array
                bad = np.zeros(len(df), dtype=bool)
                for start in range(0, len(df), _BLOCK_ROWS):
                    block = slice(start, start + _BLOCK_ROWS)
                    r = answers[block].to_numpy(dtype="float64", na_value=np.nan)
                    lo, hi = item_lo[item[block]], item_hi[item[block]]  # an unknown item (-1): NaN
                    bad[block] = ~np.isnan(r) & ~np.isnan(lo) & ((r < lo) | (r > hi))
                return ("response", bad, df["response"],
                        lambda p: [f"is outside this item's answer range {item_lo[item[i]]:.0f}-"
                                   f"{item_hi[item[i]]:.0f}" for i in p])

            checks.append(in_range)
    if name in ("inquiry_steps", "progress"):
        checks.append(lambda: student_enrolled(table.codes("school_id"), table.codes("year"), target_only=True))
    return checks


# ---------------------------------------------------------------------------
# one table


def _parse_one(raw: RawTable, col) -> Parsed:
    """Parse one column of a raw table: Parquet columns from Arrow where their type allows."""
    parsed = None
    if raw.arrow is not None:
        parsed = parse_arrow(raw.arrow_column(col.name), col.kind, col.vocabulary, col.coded)
    if parsed is None:
        parsed = parse_series(raw.column(col.name), col.kind, col.vocabulary, col.coded)
    if col.coded and not isinstance(parsed.values.dtype, pd.CategoricalDtype):
        # cells that were not text (a Parquet column of numbers, say): none is readable, but the
        # column still takes the dtype of a coded column
        codes, uniques = codes_of(parsed.values)
        parsed.values = categorical(codes, uniques, parsed.values.index)
    return parsed


def _parse_table(raw: RawTable) -> tuple[CodedTable, pd.DataFrame]:
    """Parse a raw table; return (typed table, cell problems with columns pos/column/value/reason)."""
    spec = TABLES[raw.table]
    typed = {}
    codes = {}
    probs = []
    keep_codes = _KEY_COLUMNS | set(spec.key)

    def parse(col) -> Parsed:
        parsed = _parse_one(raw, col)
        if col.name not in keep_codes:
            parsed.codes = parsed.uniques = None  # not kept: free them as soon as the column is done
        return parsed

    # the columns in threads: encoding text (most of the time) runs in Arrow, outside the GIL
    with ThreadPoolExecutor(max_workers=PARSE_THREADS) as pool:
        done = pool.map(parse, spec.columns)
    for col, parsed in zip(spec.columns, done):
        typed[col.name] = parsed.values
        if parsed.codes is not None:  # kept only for key columns (see parse)
            codes[col.name] = (parsed.codes, parsed.uniques)
        if len(parsed.reasons):
            pos = parsed.reasons.index.to_numpy()
            probs.append(pd.DataFrame({"pos": pos, "column": col.name, "value": raw.values_at(col.name, pos),
                                       "reason": parsed.reasons.astype(str).to_numpy()}))
        del parsed
    typed = CodedTable(pd.DataFrame(typed, index=pd.RangeIndex(len(raw)), copy=False), codes)  # no copy of the columns
    f = failures(typed.frame, raw.table).rename(columns={"index": "pos"})
    if len(f) and probs:  # a cell that could not be read is not also "blank"
        unread = pd.concat(probs)[["pos", "column"]].assign(_unread=True)
        f = f.merge(unread, on=["pos", "column"], how="left")
        f = f[f["_unread"].isna()].drop(columns="_unread")
    if len(f):
        probs.append(f)
    if spec.key:
        # a row whose key could not be read is not a repeat of anything
        unread_key = np.zeros(len(typed), dtype=bool)
        for p in probs:
            in_key = p["column"].isin(spec.key).to_numpy()
            unread_key[p["pos"].to_numpy(dtype=np.int64)[in_key]] = True
        dups = _repeated_keys(typed, spec.key, raw.rows, unread_key)
        if len(dups):
            probs.append(dups)
    cells = pd.concat(probs, ignore_index=True) if probs else \
        pd.DataFrame(columns=["pos", "column", "value", "reason"])
    return typed, cells


def _repeated_keys(typed: CodedTable, key: tuple[str, ...], rows: np.ndarray,
                   unread: np.ndarray) -> pd.DataFrame:
    """Cell problems for rows whose key repeats an earlier readable row's key."""
    readable = np.flatnonzero(~unread) if unread.any() else None

    def key_of_rows():  # one column's codes at a time (:func:`pack`)
        return pack(((codes if readable is None else codes[readable]) + 1, len(uniques) + 1)
                    for codes, uniques in map(typed.codes, key))

    s = key_of_rows()
    s.sort()  # finding that no key repeats: sorting is about 1.5x faster than hashing
    if not (s[1:] == s[:-1]).any():
        return pd.DataFrame(columns=["pos", "column", "value", "reason"])
    del s
    packed = key_of_rows()  # again, in row order (sorted in place above, so as not to hold two copies)
    if readable is None:
        readable = np.arange(len(unread))
    dup = pd.Series(packed).duplicated(keep="first").to_numpy()
    group, _ = pd.factorize(packed)  # numbered in order of first appearance, like the first rows
    first = readable[~dup][group]
    pos, first_pos = readable[dup], first[dup]
    col = key[-1]
    what = f"the same {col}" if len(key) == 1 else "the same (" + ", ".join(key) + ")"
    return pd.DataFrame({"pos": pos, "column": col,
                         "value": typed.frame[col].iloc[pos].astype(str).to_numpy(),
                         "reason": [f"repeats row {rows[f]}: {what} may appear only once"
                                    for f in first_pos]})


def _narrow(typed: pd.DataFrame, table: str) -> pd.DataFrame:
    """Give accepted rows their final dtypes (non-nullable ints and bools where allowed).

    A coded column stays categorical, with only the values the accepted rows hold as categories.
    """
    out = {}
    for col in TABLES[table].columns:
        s = typed[col.name]
        if col.coded:
            out[col.name] = s.cat.remove_unused_categories()
            continue
        target = dtype_for(col.kind, col.nullable or s.isna().any(), col.vocabulary)
        out[col.name] = s.astype(target) if str(s.dtype) != str(target) else s
    return pd.DataFrame(out, copy=False).reset_index(drop=True)


def _quarantine_frame(raw: RawTable, cells: pd.DataFrame) -> pd.DataFrame:
    reasons = (cells.assign(text=lambda c: np.where(
        c["value"].notna() & (c["value"].astype(str) != "") & (c["value"].astype(str) != "None"),
        "column '" + c["column"].astype(str) + "': '" + c["value"].astype(str) + "' " + c["reason"],
        "column '" + c["column"].astype(str) + "': " + c["reason"]))
        .groupby("pos", sort=True)["text"].agg("; ".join))
    pos = reasons.index.to_numpy(dtype=np.int64)
    q = raw.frame.reset_index(drop=True).iloc[pos].astype(str).copy()
    q.insert(0, "reason", reasons.to_numpy(dtype=object))
    q.insert(0, "row", raw.rows[pos])
    if raw.bad_records is not None and len(raw.bad_records):
        b = raw.bad_records.rename(columns={"text": "raw_line"})
        q = pd.concat([q, b], ignore_index=True).sort_values("row", kind="stable")
    return q.reset_index(drop=True)


# ---------------------------------------------------------------------------
# the dataset


def load_dataset(path, quarantine=None, tables=None) -> Dataset:
    """Load, validate and cross-check an evaluation dataset folder.

    Parameters
    ----------
    path : folder holding ``<table>.csv`` or ``<table>.parquet`` files.
    quarantine : optional folder; when given, bad rows are written to
        ``quarantine/<table>.csv`` (with ``row`` and ``reason`` columns) and the rest
        loads. Without it, any problem raises :class:`DataContractError`.
    tables : optional list of table names to load (``schools`` and ``enrolments``
        are always loaded).

    Returns
    -------
    Dataset
        Typed tables (categoricals for vocabularies and for the contract's ``coded`` columns,
        such as ``school_id``; other IDs as text; dates as datetimes),
        plus ``report`` (notices and rows read / accepted / quarantined per table).

    Raises
    ------
    DataContractError
        When a file cannot be used at all (not UTF-8, missing column, personal
        information, a required table missing), or any row is bad and no quarantine
        folder was given. Its message lists every problem, in plain words.

    Examples
    --------
    >>> import tempfile
    >>> from hsp_eval import load_dataset, synthetic
    >>> d = tempfile.mkdtemp()
    >>> _ = synthetic.write_dataset(d, n_schools=2, years=[2024], seed=1)
    >>> ds = load_dataset(d)
    >>> sorted(ds.tables)[:3], ds.report.ok
    (['activities', 'attendance', 'contacts'], True)
    """
    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder holding an evaluation dataset")
    files, notices = find_table_files(folder)
    report = ValidationReport(notices=notices)
    wanted = set(TABLES) if tables is None else set(tables) | set(REQUIRED_TABLES)
    for name in REQUIRED_TABLES:
        if name not in files:
            report.problems.append(Problem(name, f"{name}.csv", None, None, None,
                                           f"the required table '{name}' is missing from {folder}"))
    for name, needs in _NEEDS.items():
        if name in files and name in wanted:
            for n in needs:
                if n not in files:
                    report.problems.append(Problem(name, files[name].name, None, None, None,
                                                   f"this table needs the '{n}' table, which is missing"))
    if report.problems:
        report.fatal = True
        raise DataContractError(report)

    names = [n for n in TABLES if n in files and n in wanted]
    for name in names:  # whole-file problems of every file first, without reading the cells
        report.problems += read_raw(files[name], name, header_only=True).problems
    if report.problems:
        report.fatal = True
        raise DataContractError(report)

    accepted: dict[str, pd.DataFrame] = {}
    references: dict[str, CodedTable] = {}
    links: dict = {}  # see Dataset.links
    quarantine_dir = Path(quarantine) if quarantine is not None else None
    for name in names:  # then one table at a time, so only one table's raw cells are in memory
        raw = read_raw(files[name], name)
        report.notices += raw.notices
        if raw.problems:  # the file changed since the first look
            report.problems += raw.problems
            report.fatal = True
            raise DataContractError(report)
        typed, cells = _parse_table(raw)
        crosses = []
        found = {}
        with ThreadPoolExecutor(max_workers=PARSE_THREADS) as pool:  # hash lookups run outside the GIL
            results = list(pool.map(lambda check: check(), _cross_checks(name, typed, references, found)))
        for column, bad, values, reason in results:
            bad = np.asarray(bad, dtype=bool)
            if bad.any():
                pos = np.flatnonzero(bad)
                r = np.asarray(reason(pos), dtype=object) if callable(reason) else reason
                crosses.append(pd.DataFrame({"pos": pos, "column": column,
                                             "value": values.iloc[pos].astype(str).to_numpy(),
                                             "reason": r}))
        if crosses:
            cells = pd.concat([cells, *crosses], ignore_index=True)
        cells = cells.sort_values(["pos"], kind="stable").reset_index(drop=True)
        bad_pos = distinct(cells["pos"].to_numpy(dtype=np.int64)) if len(cells) else np.array([], int)
        n_bad_records = 0 if raw.bad_records is None else len(raw.bad_records)
        acc = TableAccount(name, raw.path.name, read=len(typed) + n_bad_records)
        for rec in cells.itertuples(index=False):
            v = None if rec.value is None or (isinstance(rec.value, float) and np.isnan(rec.value)) \
                else str(rec.value)
            report.problems.append(Problem(name, raw.path.name, int(raw.rows[rec.pos]), rec.column, v,
                                           rec.reason))
        if raw.bad_records is not None:
            for rec in raw.bad_records.itertuples(index=False):
                report.problems.append(Problem(name, raw.path.name, int(rec.row), None, None, rec.reason))
        good = np.ones(len(typed), dtype=bool)
        good[bad_pos] = False
        kept = typed.rows(good) if bad_pos.size else typed
        accepted[name] = _narrow(kept.frame, name)
        for ref, pos in found.items():  # rows of the accepted table in the accepted referenced table
            if ref in references and references[ref].frame is accepted.get(ref):
                links[name, ref] = (accepted[name], accepted[ref], pos[good].astype(np.int32))
        if name in _REFERENCED:
            # later tables are checked against the accepted rows (quarantine) or every readable row
            references[name] = kept.with_frame(accepted[name]) \
                if quarantine_dir is not None or not bad_pos.size else typed
        acc.accepted = int(good.sum())
        acc.quarantined = acc.read - acc.accepted
        report.accounts[name] = acc
        if quarantine_dir is not None and acc.quarantined:
            quarantine_dir.mkdir(parents=True, exist_ok=True)
            _quarantine_frame(raw, cells).to_csv(quarantine_dir / f"{name}.csv", index=False,
                                                 encoding="utf-8")
        raw.free()  # the raw cells are no longer needed
        del typed, kept
    report.problems.sort(key=lambda p: (list(TABLES).index(p.table), p.row or 0))
    if report.problems and quarantine_dir is None:
        raise DataContractError(report)
    release_free_memory()
    return Dataset(accepted, source=folder, report=report, links=links)
