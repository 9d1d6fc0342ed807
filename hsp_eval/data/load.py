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

from hsp_eval.data.checks import RULES, CheckedTable, zeros_lost
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
# the codes kept while parsing, and the tables checked against


#: columns whose codes are kept for the key checks (with each table's own key)
_KEY_COLUMNS = frozenset({"school_id", "year", "family_id", "student_id", "activity_id", "instrument",
                          "item_id", "respondent_id"})
#: tables a table cannot be checked without: when one is missing, the file cannot be used
_NEEDS = {
    "attendance": ("activities", "enrolments"),
    "survey_respondents": ("survey_items",),
    "survey_responses": ("survey_respondents", "survey_items"),
}
#: tables that later tables are checked against
_REFERENCED = frozenset(n for rule in RULES for n in rule.needs)


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
        raw.notices += [f"{raw.path.name}, column '{col.name}': {note}" for note in parsed.notes]
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
    s.sort()  # sorting finds that no key repeats faster than hashing does
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
    exact = _same_rows(typed.frame, pos, first_pos)
    return pd.DataFrame({"pos": pos, "column": col,
                         "value": typed.frame[col].iloc[pos].astype(str).to_numpy(),
                         "reason": [f"repeats row {rows[f]} exactly (the same value in every column), as "
                                    f"when rows are pasted or exported twice; delete one of the two" if same
                                    else f"repeats row {rows[f]}: {what} may appear only once"
                                    for f, same in zip(first_pos, exact)]})


def _same_rows(frame: pd.DataFrame, pos: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For each pair of rows (``pos[i]``, ``other[i]``): whether they hold the same value in every
    column (blank equal to blank)."""
    same = np.ones(len(pos), dtype=bool)
    for col in frame.columns:
        a, b = (frame[col].iloc[p].reset_index(drop=True) for p in (pos, other))
        same &= (a.eq(b).fillna(False) | (a.isna() & b.isna())).to_numpy(dtype=bool)
    return same


def _by_file(notices: list[str], file_names: list[str]) -> list[str]:
    """The notices each file's together, files in ``file_names`` order (others first, kept in order)."""
    def file_of(notice: str) -> int:
        return next((i for i, f in enumerate(file_names) if notice.startswith((f + ":", f + ","))), -1)
    return sorted(notices, key=file_of)


def _zeros_lost(rules: list, checked: CheckedTable, by_rule: list, files: dict) -> tuple[list, list]:
    """The rules' problems, and one problem per column whose unfound IDs differ from the IDs of the
    table the rule looks in only by leading zeros (:func:`~hsp_eval.data.checks.zeros_lost`)."""
    crosses, lost = [], []
    for rule, problems in zip(rules, by_rule):
        ref_file = files[rule.ref_table].name if rule.ref_table in files else ""
        cause, rest = zeros_lost(rule, checked, problems, ref_file)
        crosses += rest
        lost += [cause] if cause else []
    return crosses, lost


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
        head = read_raw(files[name], name, header_only=True)
        report.problems += head.problems
        report.notices += head.notices  # how the file was read: shown also when another file is refused
    if report.problems:
        report.fatal = True
        raise DataContractError(report)

    accepted: dict[str, pd.DataFrame] = {}
    references: dict[str, CodedTable] = {}
    links: dict = {}  # see Dataset.links
    quarantine_dir = Path(quarantine) if quarantine is not None else None
    for name in names:  # then one table at a time, so only one table's raw cells are in memory
        raw = read_raw(files[name], name)
        if raw.problems:  # the file changed since the first look
            report.problems += raw.problems
            report.fatal = True
            raise DataContractError(report)
        typed, cells = _parse_table(raw)
        report.notices += [n for n in raw.notices if n not in report.notices]  # each once
        cells = cells.sort_values(["pos"], kind="stable").reset_index(drop=True)
        for rec in cells.itertuples(index=False):
            v = None if rec.value is None or (isinstance(rec.value, float) and np.isnan(rec.value)) \
                else str(rec.value)
            report.problems.append(Problem(name, raw.path.name, int(raw.rows[rec.pos]), rec.column, v,
                                           rec.reason))
        # the cross-table rules, in threads (hash lookups run outside the GIL); their problems follow
        # the cells' own, rule by rule (the sort at the end keeps that order within a row)
        checked = CheckedTable(name, typed, references, raw.path.name, raw.rows)
        rules = [rule for rule in RULES if rule.table == name and rule.applies(checked)]
        with ThreadPoolExecutor(max_workers=PARSE_THREADS) as pool:
            by_rule = list(pool.map(lambda rule: rule.check(checked), rules))
        crosses, lost = _zeros_lost(rules, checked, by_rule, files)
        found = checked.links()  # kept: each row's row in the tables it refers to; the rest goes now
        del checked
        report.problems += crosses
        if lost:  # a column of IDs a spreadsheet took for numbers: the file cannot be half-used
            report.problems += lost
            report.fatal = True
            report.problems.sort(key=lambda p: (list(TABLES).index(p.table), p.row or 0))
            raise DataContractError(report)
        if crosses:  # as cell problems too: they mark bad rows, and give quarantine reasons
            cells = pd.concat([cells, pd.DataFrame({
                "pos": np.searchsorted(raw.rows, [p.row for p in crosses]), "column": [p.column for p in crosses],
                "value": [p.value for p in crosses], "reason": [p.reason for p in crosses]})], ignore_index=True)
        if raw.bad_records is not None:
            for rec in raw.bad_records.itertuples(index=False):
                report.problems.append(Problem(name, raw.path.name, int(rec.row), None, None, rec.reason))
        bad_pos = distinct(cells["pos"].to_numpy(dtype=np.int64)) if len(cells) else np.array([], int)
        n_bad_records = 0 if raw.bad_records is None else len(raw.bad_records)
        acc = TableAccount(name, raw.path.name, read=len(typed) + n_bad_records)
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
    report.notices = _by_file(report.notices, [files[n].name for n in names])
    if report.problems and quarantine_dir is None:
        raise DataContractError(report)
    release_free_memory()
    return Dataset(accepted, source=folder, report=report, links=links)
