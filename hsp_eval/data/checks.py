"""The checks across tables: a row must refer to things the tables before it hold.

Every rule is in :data:`RULES`, one line each, grouped by the table it checks (in the contract's
order). A rule is a small frozen dataclass; its :meth:`~Rule.check` returns its findings as
:class:`~hsp_eval.data.problems.Problem` objects. :func:`~hsp_eval.data.load.load_dataset`
runs the rules of each table it loads (in threads: no rule depends on another's findings) and lists
their findings after the table's own cell problems, rule by rule in the order of :data:`RULES`.

A rule sees the table through a :class:`CheckedTable`, which finds once, for every rule that
asks, the row of another table each row refers to (its *link*: :data:`LINK_KEYS`) and the school
and year each row happened in (:data:`DATED_BY`). The loader keeps the links as the dataset's
:meth:`~hsp_eval.data.dataset.Dataset.rows_in`.

``docs/decisions.md`` ("Cross-table checks beyond the spec's list") says why the family and
student rules go beyond the contract's attendance rule.

Examples
--------
>>> import pandas as pd
>>> from hsp_eval.data.keys import CodedTable
>>> schools = CodedTable(pd.DataFrame({"school_id": ["0042"]}))
>>> portal = CodedTable(pd.DataFrame({"school_id": ["0042", "0099"]}))
>>> t = CheckedTable("portal_usage", portal, {"schools": schools}, "portal_usage.csv", np.array([2, 3]))
>>> rule = Listed("portal_usage", "school_id", "schools", "is not in the schools table")
>>> [str(p) for p in rule.check(t)]
["portal_usage.csv, row 3, column 'school_id': '0099' is not in the schools table"]
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hsp_eval.data.contract import TABLES
from hsp_eval.data.keys import CodedTable, codes_of
from hsp_eval.data.problems import Problem

#: the columns by which a row names the row of another table it refers to; each table's
#: family links to ``enrolments`` by the row's school, year (:data:`DATED_BY`) and family
LINK_KEYS = {
    "activities": ("activity_id",),
    "enrolments": ("school_id", "year", "family_id"),
    "survey_items": ("instrument", "item_id"),
    "survey_respondents": ("instrument", "year", "school_id", "respondent_id"),
}
#: what gives the year a row happened in, where it is not the row's ``year`` column: an
#: attendance row happened at its activity's school, in the year of the activity's date
DATED_BY = {"attendance": "activity", "contacts": "date", "portal_usage": "month"}
#: rows the answer-range check works through at a time (it needs several temporary arrays per row)
_BLOCK_ROWS = 1 << 20


# ---------------------------------------------------------------------------
# the kinds of rule


@dataclass(frozen=True)
class Rule:
    """A rule that the rows of ``table`` must keep.

    Attributes
    ----------
    table : the table whose rows the rule checks.
    name : a short name, such as ``school_id in schools`` (one per table).
    column : the column its problems name.
    needs : the tables it checks against.
    description : what it asks of each row, in plain words.
    """

    table: str

    def applies(self, t: CheckedTable) -> bool:
        """Whether the rule runs on table ``t``: the tables it needs are loaded, and its column,
        where the contract lets it be blank, is filled in on some row."""
        col = TABLES[self.table].column(self.column)
        return all(n in t.tables for n in self.needs) and (
            not col.nullable or bool(t.table.frame[self.column].notna().any()))

    def check(self, t: CheckedTable) -> list[Problem]:
        """The problems of the rows of ``t`` that break the rule (none: an empty list)."""
        raise NotImplementedError

    @property
    def ref_table(self) -> str | None:
        """The table whose ``column`` the rule looks for each row's value in (None: no such table)."""
        return None


@dataclass(frozen=True)
class Listed(Rule):
    """Each row's ``column`` is a value of the same column of table ``ref`` (with ``skip_blank``,
    where given: a blank is left to the column's own check).

    Examples
    --------
    >>> Listed("survey_respondents", "instrument", "survey_items", "is not listed").description
    "each survey_respondents row's instrument is in the survey_items table"
    """

    column: str
    ref: str
    reason: str
    skip_blank: bool = False

    @property
    def name(self) -> str:
        return f"{self.column} in {self.ref}"

    @property
    def needs(self) -> tuple[str, ...]:
        return (self.ref,)

    @property
    def ref_table(self) -> str:
        return self.ref

    @property
    def description(self) -> str:
        return f"each {self.table} row's {self.column} is in the {self.ref} table" + (
            " (where given)" if self.skip_blank else "")

    def applies(self, t: CheckedTable) -> bool:
        """Always: when ``ref`` was not loaded, no row's value is found in it."""
        return True

    def check(self, t: CheckedTable) -> list[Problem]:
        bad = self.found(t) < 0
        if self.skip_blank:
            bad &= t.codes(self.column)[0] >= 0
        return t.problems(self.column, bad, self.reason)

    def found(self, t: CheckedTable) -> np.ndarray:
        """Position in ``ref`` of a row with each row's value; -1 where none."""
        return t.find([t.codes(self.column)], self.ref, [self.column])


@dataclass(frozen=True)
class Refers(Listed):
    """Each row names a row of table ``ref`` by its :data:`LINK_KEYS` (the last is ``column``);
    the loader keeps the rows found (:meth:`CheckedTable.links`).

    Examples
    --------
    >>> Refers("attendance", "activity_id", "activities", "is not in the activities table").name
    'activity_id in activities'
    """

    @property
    def description(self) -> str:
        return f"each {self.table} row's {', '.join(LINK_KEYS[self.ref])} name a row of the {self.ref} table"

    def found(self, t: CheckedTable) -> np.ndarray:
        return t.link(self.ref)


def _school_listed(table: str) -> Listed:
    """Each row's school, where given, is in the schools table."""
    return Listed(table, "school_id", "schools", "is not in the schools table", skip_blank=True)


@dataclass(frozen=True)
class _Enrolled(Rule):
    """A rule on the enrolments at the school and in the year each row happened in (:data:`DATED_BY`)."""

    @property
    def needs(self) -> tuple[str, ...]:
        return ("activities", "enrolments") if DATED_BY.get(self.table) == "activity" else ("enrolments",)

    @property
    def ref_table(self) -> str:
        return "enrolments"

    def _not_enrolled(self, t: CheckedTable, pos: np.ndarray, reason) -> list[Problem]:
        """Problems of the rows with a school, a year and a ``column`` value but no enrolment row
        at ``pos``; ``reason(schools, years)`` gives their texts from their schools' and years' texts."""
        school, year = t.school_and_year()
        given = np.all([codes >= 0 for codes, _ in (school, year, t.codes(self.column))], axis=0)
        return t.problems(self.column, (pos < 0) & given, lambda p: reason(_texts(school, p), _texts(year, p)))


@dataclass(frozen=True)
class FamilyEnrolled(_Enrolled):
    """The row's family has a child enrolled at the row's school in the row's year (``when``).

    Examples
    --------
    >>> FamilyEnrolled("portal_usage", "the year of this month").description
    "each portal_usage row's family has a child enrolled at its school in the year of this month"
    """

    when: str
    name = "family_id enrolled"
    column = "family_id"

    @property
    def description(self) -> str:
        return f"each {self.table} row's family has a child enrolled at its school in {self.when}"

    def check(self, t: CheckedTable) -> list[Problem]:
        return self._not_enrolled(t, t.link("enrolments"), lambda s, y: (
            "has no child enrolled at school " + s + " in " + y + f" ({self.when})"))


@dataclass(frozen=True)
class StudentEnrolled(_Enrolled):
    """The row's student is enrolled at the row's school in the row's year; with ``target_only``,
    marked there as a target student that year.

    Examples
    --------
    >>> StudentEnrolled("progress", target_only=True).name
    'student_id a target student'
    """

    target_only: bool = False
    column = "student_id"

    @property
    def name(self) -> str:
        return "student_id a target student" if self.target_only else "student_id enrolled"

    @property
    def description(self) -> str:
        kind = "a target student" if self.target_only else "enrolled"
        return f"each {self.table} row's student is {kind} at its school that year"

    def check(self, t: CheckedTable) -> list[Problem]:
        ref = t.tables["enrolments"]
        if self.target_only:
            ref = ref.rows(ref.frame["target"].fillna(False).astype(bool).to_numpy())
        school, year = t.school_and_year()
        pos = t.find([school, year, t.codes(self.column)], ref, ("school_id", "year", self.column))
        kind = "a target student" if self.target_only else "enrolled"
        tail = " (the enrolments table must mark the student as a target student that year)" \
            if self.target_only else ""
        return self._not_enrolled(t, pos, lambda s, y: f"is not {kind} at school " + s + " in " + y + tail)


@dataclass(frozen=True)
class AnswerInRange(Rule):
    """Each survey answer lies within its item's range, ``response_min`` to ``response_max``.

    Examples
    --------
    >>> AnswerInRange("survey_responses").description
    "each survey_responses row's response is within its item's range (response_min to response_max)"
    """

    name = "response in its item's range"
    column = "response"
    needs = ("survey_items",)

    @property
    def description(self) -> str:
        return f"each {self.table} row's response is within its item's range (response_min to response_max)"

    def check(self, t: CheckedTable) -> list[Problem]:
        items, item = t.tables["survey_items"], t.link("survey_items")
        item_lo = np.append(items.frame["response_min"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
        item_hi = np.append(items.frame["response_max"].to_numpy(dtype="float64", na_value=np.nan), np.nan)
        answers = t.table.frame[self.column].array
        bad = np.zeros(len(answers), dtype=bool)
        for start in range(0, len(answers), _BLOCK_ROWS):  # a block at a time: less temporary memory
            block = slice(start, start + _BLOCK_ROWS)
            r = answers[block].to_numpy(dtype="float64", na_value=np.nan)
            lo, hi = item_lo[item[block]], item_hi[item[block]]  # an unknown item (-1): NaN
            bad[block] = ~np.isnan(r) & ~np.isnan(lo) & ((r < lo) | (r > hi))
        return t.problems(self.column, bad, lambda p: [
            f"is outside this item's answer range {item_lo[item[i]]:.0f}-{item_hi[item[i]]:.0f}" for i in p])


# ---------------------------------------------------------------------------
# the rules


#: every cross-table rule, by table in the contract's order; a table's rules in the order its
#: findings are listed for a row
RULES: tuple[Rule, ...] = (
    _school_listed("enrolments"),
    _school_listed("activities"),
    Refers("attendance", "activity_id", "activities", "is not in the activities table"),
    FamilyEnrolled("attendance", "the year of this activity"),
    StudentEnrolled("attendance"),
    _school_listed("contacts"),
    FamilyEnrolled("contacts", "the year of this contact"),
    StudentEnrolled("contacts"),
    _school_listed("portal_usage"),
    FamilyEnrolled("portal_usage", "the year of this month"),
    _school_listed("survey_respondents"),
    Listed("survey_respondents", "instrument", "survey_items", "is not an instrument in the survey_items table"),
    FamilyEnrolled("survey_respondents", "the survey year"),
    Refers("survey_responses", "respondent_id", "survey_respondents",
           "is not in survey_respondents for this instrument, year and school"),
    Refers("survey_responses", "item_id", "survey_items", "is not an item of this instrument in survey_items"),
    AnswerInRange("survey_responses"),
    _school_listed("inquiry_steps"),
    StudentEnrolled("inquiry_steps", target_only=True),
    _school_listed("progress"),
    StudentEnrolled("progress", target_only=True),
    _school_listed("self_review"),
    _school_listed("reported_participation"),
)


# ---------------------------------------------------------------------------
# IDs that a spreadsheet took for numbers


def zeros_lost(rule: Rule, t: CheckedTable, problems: list[Problem], ref_file: str) -> tuple[Problem | None, list]:
    """One problem for the whole column where the IDs ``rule`` did not find are IDs of the table it
    looks in with leading zeros dropped (or added): a spreadsheet took one side's IDs for numbers.

    Parameters
    ----------
    rule : the rule, whose ``problems`` on ``t`` these are.
    ref_file : the file of the table the rule looks in (:attr:`Rule.ref_table`), for the message.

    Returns
    -------
    (problem, rest) : the one problem, None when no unfound ID differs from one of the other
        table's only by leading zeros; and the rule's problems that it does not explain.

    Examples
    --------
    >>> from hsp_eval.data.keys import CodedTable
    >>> enrol = CodedTable(pd.DataFrame({"student_id": ["000004", "000017"]}))
    >>> att = CheckedTable("attendance", CodedTable(pd.DataFrame({"student_id": ["4", "000017"]})),
    ...                    {"enrolments": enrol}, "attendance.csv", np.array([2, 3]))
    >>> found = [Problem("attendance", "attendance.csv", 2, "student_id", "4", "is not enrolled")]
    >>> cause, rest = zeros_lost(StudentEnrolled("attendance"), att, found, "enrolments.csv")
    >>> rest, cause.row, cause.reason[:93]
    ([], None, "1 ID of this column, such as '4' (row 2), looks like an ID of enrolments.csv with its leading")
    """
    ref = t.tables.get(rule.ref_table) if rule.ref_table else None
    if not problems or ref is None or TABLES[rule.table].column(rule.column).kind != "id":
        return None, problems
    numbers = {p.value.lstrip("0") for p in problems if p.value and _DIGITS.fullmatch(p.value)}
    theirs = pd.Index(ref.codes(rule.column)[1]).astype(str)
    theirs = theirs[theirs.str.lstrip("0").isin(numbers) & theirs.str.fullmatch(_DIGITS.pattern)]
    as_theirs = dict(zip(theirs.str.lstrip("0"), theirs))
    hits = [p for p in problems if p.value and _DIGITS.fullmatch(p.value)
            and as_theirs.get(p.value.lstrip("0"), p.value) != p.value]
    if not hits:
        return None, problems
    explained = {id(p) for p in hits}
    return (_zeros_problem(t, rule.column, hits, as_theirs, ref_file),
            [p for p in problems if id(p) not in explained])


_DIGITS = re.compile(r"[0-9]+")


def _zeros_problem(t: CheckedTable, column: str, hits: list[Problem], as_theirs: dict, ref_file: str) -> Problem:
    """The one problem of :func:`zeros_lost` for the rows ``hits``."""
    ids = list(dict.fromkeys(p.value for p in hits))  # each ID once, in row order
    theirs = [as_theirs[v.lstrip("0")] for v in ids]
    n = len(ids)
    such_as = " and ".join(f"'{v}' (row {next(p.row for p in hits if p.value == v)})" for v in ids[:2])
    shown = ", ".join(f"'{v}'" for v in theirs[:2])
    head = f"{n} ID{'s' if n > 1 else ''} of this column, such as {such_as}, "
    if len(ids[0]) < len(theirs[0]):  # this file dropped them
        reason = (head + (f"look like IDs of {ref_file} with their" if n > 1 else
                          f"looks like an ID of {ref_file} with its")
                  + f" leading zeros dropped ({shown} there), as spreadsheets do when they take IDs for "
                    f"numbers; export the column as text (format it as Text before saving) and load again")
    else:  # the other file dropped them
        reason = (head + ("are" if n > 1 else "is") + f" in {ref_file} without leading zeros ({shown} "
                  f"there), as spreadsheets write IDs they take for numbers; export that file's "
                  f"{column} column as text (format it as Text before saving) and load again")
    return Problem(t.name, t.file, None, column, None, reason)


# ---------------------------------------------------------------------------
# the table being checked


class CheckedTable:
    """A table whose rows the rules check, the tables before it, and what the rules share.

    Parameters
    ----------
    name : the contract table's name.
    table : its parsed rows, with the codes of their key columns.
    tables : the tables it may refer to, by name (those loaded so far).
    file : the file's name, for the problems.
    rows : the file row number of each row (as the user counts rows in the file).

    Examples
    --------
    >>> from hsp_eval.data.keys import CodedTable
    >>> acts = CodedTable(pd.DataFrame({"activity_id": ["A1", "A2"]}))
    >>> att = CodedTable(pd.DataFrame({"activity_id": ["A2", "A9"]}))
    >>> CheckedTable("attendance", att, {"activities": acts}, "attendance.csv", np.array([2, 3])).link(
    ...     "activities").tolist()
    [1, -1]
    """

    def __init__(self, name: str, table: CodedTable, tables: dict[str, CodedTable], file: str,
                 rows: np.ndarray):
        self.name, self.table, self.tables, self.file, self.rows = name, table, tables, file, rows
        self._found: dict = {}
        self._locks: dict = {}
        self._lock = threading.Lock()

    def codes(self, col: str) -> tuple[np.ndarray, pd.Index]:
        """Codes (-1 missing) of column ``col`` and the value of each code."""
        return self.table.codes(col)

    def find(self, key: list, ref: str | CodedTable | None, ref_cols) -> np.ndarray:
        """Position in ``ref`` of the first row with each row's ``key`` (codes of the key
        columns); -1 where none, and everywhere when ``ref`` was not loaded."""
        if isinstance(ref, str):
            ref = self.tables.get(ref)
        if ref is None or len(ref) == 0:
            return np.full(len(key[0][0]), -1, dtype=np.int64)
        return ref.lookup(list(ref_cols)).positions(key)

    def link(self, ref: str) -> np.ndarray:
        """For each row, the position of the row of ``ref`` it refers to (:data:`LINK_KEYS`); -1 where none."""
        def find():
            if ref == "enrolments":
                school, year = self.school_and_year()
                return self.find([school, year, self.codes("family_id")], ref, LINK_KEYS[ref])
            return self.find([self.codes(c) for c in LINK_KEYS[ref]], ref, LINK_KEYS[ref])
        return self._once(("link", ref), find)

    def school_and_year(self) -> tuple[tuple, tuple]:
        """Codes of the school and the calendar year each row happened in (:data:`DATED_BY`)."""
        def find():
            dated_by = DATED_BY.get(self.name, "year")
            if dated_by == "activity":
                acts, pos = self.tables["activities"], self.link("activities")
                return _take(acts.codes("school_id"), pos), _take(_year_codes(acts, "date"), pos)
            year = self.codes("year") if dated_by == "year" else _year_codes(self.table, dated_by)
            return self.codes("school_id"), year
        return self._once(("school_and_year",), find)

    def links(self) -> dict[str, np.ndarray]:
        """The links the rules have found so far, by referenced table (in :data:`LINK_KEYS` order)."""
        return {ref: self._found["link", ref] for ref in LINK_KEYS if ("link", ref) in self._found}

    def problems(self, column: str, bad: np.ndarray, reason) -> list[Problem]:
        """One problem for each row where ``bad`` is true, naming the row's value of ``column``.

        ``reason`` is a text, or a function of the failing rows' positions giving one text per
        row (made for the failing rows only, not for every row of the table).
        """
        pos = np.flatnonzero(bad)
        if not len(pos):
            return []
        values = self.table.frame[column].iloc[pos].astype(str).to_numpy()
        reasons = reason(pos) if callable(reason) else [reason] * len(pos)
        return [Problem(self.name, self.file, int(row), column, _text(value), why)
                for row, value, why in zip(self.rows[pos], values, reasons)]

    def _once(self, key: tuple, find):
        """``find()``, made by the first rule that asks and shared with the others (rules run in threads)."""
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._found:
                self._found[key] = find()
        return self._found[key]


# ---------------------------------------------------------------------------
# helpers


def _text(value) -> str | None:
    """A problem's value: None for a missing one."""
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _take(coded: tuple[np.ndarray, pd.Index], pos: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    """The codes at positions ``pos`` (-1 where a position is -1)."""
    codes, uniques = coded
    return np.append(codes, -1)[pos], uniques


def _texts(coded: tuple[np.ndarray, pd.Index], pos: np.ndarray) -> pd.Series:
    """The values at ``pos`` (none missing) as text."""
    codes, uniques = coded
    return pd.Series(uniques.take(codes[pos])).astype(str)


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
