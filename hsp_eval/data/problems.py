"""Problems found in input data, and the report a school administrator reads.

A :class:`Problem` names the file, the row as the user counts rows in the file (the
header is row 1, so the first data row is row 2; in a Parquet file the first row is
row 1), the column, the bad value and the reason in plain words.

Examples
--------
>>> p = Problem("enrolments", "enrolments.csv", 7, "year_level", "15", "must be between 0 and 13")
>>> print(p)
enrolments.csv, row 7, column 'year_level': '15' must be between 0 and 13
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: How many problems a printed report lists before it only counts the rest.
REPORT_CAP = 50

PROBLEM_COLUMNS = ["table", "file", "row", "column", "value", "reason"]


@dataclass(frozen=True)
class Problem:
    """One problem in one cell, row or file of the input."""

    table: str
    file: str
    row: int | None  #: file row (header = 1); None for a problem with the whole file
    column: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        what = f"'{self.value}' {self.reason}" if self.value not in (None, "") else self.reason
        return f"{', '.join(where)}: {what}"


@dataclass
class TableAccount:
    """Rows read, accepted and quarantined for one table."""

    table: str
    file: str
    read: int = 0
    accepted: int = 0
    quarantined: int = 0

    def balanced(self) -> bool:
        """True when rows read = rows accepted + rows quarantined."""
        return self.read == self.accepted + self.quarantined


@dataclass
class ValidationReport:
    """Everything the loader found: problems, notices and the row accounting."""

    problems: list[Problem] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    accounts: dict[str, TableAccount] = field(default_factory=dict)
    fatal: bool = False  #: a whole-file problem that quarantine cannot fix

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        """All problems as a DataFrame with columns table, file, row, column, value, reason."""
        return pd.DataFrame([p.__dict__ for p in self.problems], columns=PROBLEM_COLUMNS)

    def format(self, cap: int = REPORT_CAP) -> str:
        """The report as plain text, listing at most ``cap`` problems and counting the rest."""
        lines: list[str] = []
        if self.problems:
            n = len(self.problems)
            lines.append(f"Found {n} problem{'s' if n != 1 else ''} in the data:")
            lines += [f"  - {p}" for p in self.problems[:cap]]
            if n > cap:
                by_table = pd.Series([p.table for p in self.problems[cap:]]).value_counts()
                rest = ", ".join(f"{k}: {v}" for k, v in by_table.sort_index().items())
                lines.append(f"  ... and {n - cap} more ({rest}).")
        for note in self.notices:
            lines.append(f"Note: {note}")
        if self.accounts:
            lines.append("Rows read = accepted + quarantined:")
            for a in self.accounts.values():
                lines.append(f"  {a.table:<24} {a.read:>10,} = {a.accepted:>10,} + {a.quarantined:>8,}")
        return "\n".join(lines)


class DataContractError(ValueError):
    """The dataset breaks the data contract; ``report`` lists every problem found."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(report.format())
