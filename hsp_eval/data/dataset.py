"""The :class:`Dataset`: the validated tables of one evaluation dataset.

Examples
--------
>>> import pandas as pd
>>> ds = Dataset({"schools": pd.DataFrame({"school_id": ["0042"]})})
>>> ds.has("contacts"), list(ds["schools"]["school_id"])
(False, ['0042'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hsp_eval.data.contract import TABLES
from hsp_eval.data.fingerprint import fingerprint
from hsp_eval.data.keys import codes_of
from hsp_eval.data.problems import ValidationReport


@dataclass
class Dataset:
    """Typed, validated tables keyed by contract table name."""

    tables: dict[str, pd.DataFrame]
    source: Path | None = None
    report: ValidationReport = field(default_factory=ValidationReport)
    #: per (table, referenced table), ``(table, referenced, rows)``: for each row of ``table``,
    #: the position of the row of ``referenced`` it refers to (-1 where none). The loader finds
    #: them while checking that each row's family is enrolled, each attendance row's activity
    #: exists and each survey response's respondent and item exist; see :meth:`rows_in`.
    links: dict = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            raise KeyError(f"the dataset has no '{name}' table")
        return self.tables[name]

    def has(self, name: str) -> bool:
        """True when the dataset holds table ``name``."""
        return name in self.tables

    def rows_in(self, name: str, ref: str) -> np.ndarray | None:
        """For each row of table ``name``, the position of the row of table ``ref`` it refers to.

        -1 where there is none. ``ref`` is ``enrolments`` (the first row with the row's school,
        year and family: attendance, contacts, portal_usage, survey_respondents), ``activities``
        (attendance), ``survey_respondents`` or ``survey_items`` (survey_responses). Known only
        for what the loader checked, and only while the dataset still holds the very frames it
        was found for; otherwise None, and callers match the keys themselves.
        """
        link = self.links.get((name, ref))
        if link is None or link[0] is not self.tables.get(name) or link[1] is not self.tables.get(ref):
            return None
        return link[2]

    def enrolment_rows(self, name: str) -> np.ndarray | None:
        """:meth:`rows_in` ``(name, "enrolments")``: each row's enrolment row (school, year, family)."""
        return self.rows_in(name, "enrolments")

    def for_schools(self, school_ids) -> Dataset:
        """The same dataset restricted to the schools ``school_ids``.

        Tables with a ``school_id`` keep those schools' rows (in their order); attendance keeps
        the rows of those schools' activities; survey_items (shared by every school) is kept
        whole. Indicators are school-local, so computing on each part gives the same school rows.

        Examples
        --------
        >>> ds = Dataset({"schools": pd.DataFrame({"school_id": ["0042", "0043"]}),
        ...               "activities": pd.DataFrame({"activity_id": ["A", "B"], "school_id": ["0042", "0043"]}),
        ...               "attendance": pd.DataFrame({"activity_id": ["A", "B", "B"]})})
        >>> sub = ds.for_schools(["0043"])
        >>> sub["schools"]["school_id"].tolist(), len(sub["attendance"])
        (['0043'], 2)
        """
        keep = pd.Index(list(school_ids)).astype("str")
        tables, masks = {}, {}
        for name, df in self.tables.items():
            if "school_id" in df.columns:
                codes, ids = codes_of(df["school_id"])  # each distinct id tested once, not every row
                masks[name] = np.append(ids.astype("str").isin(keep), False)[codes]
        if "attendance" in self.tables and "activities" in self.tables:
            kept = self.tables["activities"]["activity_id"][masks["activities"]]
            masks["attendance"] = self.tables["attendance"]["activity_id"].isin(kept).to_numpy()
        for name, df in self.tables.items():
            tables[name] = df[masks[name]] if name in masks else df
        out = Dataset(tables, self.source, self.report)
        for name, ref in self.links:  # a kept row refers to a row of the same school, kept too
            rows = self.rows_in(name, ref)
            if rows is not None and name in masks and ref in masks:
                renumber = np.append(np.where(masks[ref], np.cumsum(masks[ref]) - 1, -1), -1)
                out.links[name, ref] = (tables[name], tables[ref], renumber[rows[masks[name]]])
        return out

    def with_table(self, name: str, frame: pd.DataFrame) -> Dataset:
        """The same dataset with table ``name`` replaced by ``frame`` (this one is unchanged).

        Links that do not involve ``name`` are kept.

        Examples
        --------
        >>> ds = Dataset({"schools": pd.DataFrame({"school_id": ["0042"]})})
        >>> ds.with_table("schools", pd.DataFrame({"school_id": ["0043"]}))["schools"]["school_id"].tolist()
        ['0043']
        """
        out = Dataset({**self.tables, name: frame}, self.source, self.report)
        out.links = {k: v for k, v in self.links.items() if name not in k}
        return out

    def fingerprint(self) -> str:
        """SHA-256 of the dataset's tables (see :func:`hsp_eval.data.fingerprint.fingerprint`)."""
        return fingerprint(self.tables)

    def summary(self) -> pd.DataFrame:
        """Rows per table, with the schools, years, students and families covered."""
        e = self.tables.get("enrolments")
        rows = [{"table": n, "rows": len(self.tables[n])} for n in TABLES if n in self.tables]
        out = pd.DataFrame(rows)
        if e is not None and len(e):
            out.attrs.update(
                schools=int(self.tables["schools"]["school_id"].nunique()),
                years=sorted(int(y) for y in e["year"].unique()),
                students=int(e["student_id"].nunique()),
                families=int(e["family_id"].nunique()),
            )
        return out

    def describe(self) -> str:
        """A short plain-text summary for the command line."""
        s = self.summary()
        a = s.attrs
        lines = []
        if a:
            yrs = a["years"]
            span = f"{yrs[0]}-{yrs[-1]}" if len(yrs) > 1 else str(yrs[0])
            lines.append(f"{a['schools']} schools, years {span}, {a['students']:,} students, "
                         f"{a['families']:,} families")
        lines.append(f"fingerprint {self.fingerprint()[:16]}")
        lines += [f"  {r.table:<24} {r.rows:>12,} rows" for r in s.itertuples()]
        missing = [n for n in TABLES if n not in self.tables]
        if missing:
            lines.append("  not in this dataset: " + ", ".join(missing))
        return "\n".join(lines)
