"""The units indicators count, and the groups each unit belongs to.

A **family** is a distinct ``family_id`` with at least one child enrolled at the school
in that year; a family at two schools is a unit at each. A **student** is an enrolment
row (one per student, school and year). Each unit belongs to groups, held in a long
membership table so that one ``groupby`` counts every group at once:

==========================  ==================================================================
group_type                  a family is in the group when
==========================  ==================================================================
``all``                     always (group ``all``)
``ethnicity``               one of its enrolled children at the school that year is in it
                            (total response: a family can be in several groups)
``ethnicity_prioritised``   it is the first of its groups in the order Māori, Pacific, Asian,
                            MELAA, Other, European (``Not stated`` only when nothing else)
``year_band``               a child's year level is in the band (0-3, 4-6, 7-8, 9-10, 11-13)
``target``                  ``target`` when a child is a target student, else ``not_target``
``new_family``              ``new`` when the family had no child at the school the year
                            before, else ``returning``; no group in the school's first year
==========================  ==================================================================

For students the same, with the student's own ethnicity, year band and target status, and
``new_family`` telling whether the student's family is new to the school.

Examples
--------
>>> import pandas as pd
>>> e = pd.DataFrame({"year": [2024, 2024], "school_id": ["0042", "0042"],
...                   "student_id": ["1", "2"], "family_id": ["F", "F"], "year_level": [2, 8],
...                   "ethnicity": ["Māori", "European;Māori"], "target": [False, True]})
>>> fam = family_units(e)
>>> len(fam.frame), sorted(fam.groups.query("group_type == 'year_band'")["group"])
(1, ['0-3', '7-8'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .keys import positions
from .vocab import ETHNIC_GROUPS, NOT_STATED, PRIORITY_ORDER, YEAR_BANDS

GROUP_TYPES = ("all", "ethnicity", "ethnicity_prioritised", "year_band", "target", "new_family")
#: group types whose groups get ``<indicator>_gap_vs_rest`` rows
GAP_GROUP_TYPES = ("ethnicity", "ethnicity_prioritised", "year_band", "target")
KEY = ["school_id", "year"]


@dataclass
class Units:
    """Units (one row each in ``frame``) and their group memberships (``groups``).

    ``frame`` has ``school_id``, ``year`` and the unit's id column; its index is
    0..n-1 and ``groups["unit"]`` refers to it.
    """

    frame: pd.DataFrame
    groups: pd.DataFrame  #: columns unit (int), group_type, group

    def __len__(self) -> int:
        return len(self.frame)

    def locate(self, df: pd.DataFrame, id_col: str) -> np.ndarray:
        """Unit position of each row of ``df`` (matched on school_id, year, ``id_col``); -1 if none."""
        return positions(df, KEY + [id_col], self.frame, KEY + [id_col])


def year_band(year_level: pd.Series) -> pd.Series:
    """Label of the year band of each year level.

    Examples
    --------
    >>> year_band(pd.Series([0, 4, 8, 10, 13])).tolist()
    ['0-3', '4-6', '7-8', '9-10', '11-13']
    """
    edges = [-1] + [hi for _, hi in YEAR_BANDS.values()]
    return pd.cut(year_level.astype("int64"), bins=edges, labels=list(YEAR_BANDS)).astype("str")


ETHNIC_ALL = ETHNIC_GROUPS + (NOT_STATED,)
#: rank of each group of ETHNIC_ALL in the prioritisation order (Not stated last)
_BY_RANK = PRIORITY_ORDER + (NOT_STATED,)
_PRIORITY_RANK = np.array([_BY_RANK.index(g) for g in ETHNIC_ALL])


def _unit_groups(rows_unit: np.ndarray, ethnicity: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (unit, ethnic group index) pairs, sorted by unit, from ';'-joined ethnicity cells.

    Each distinct cell value is split once, then rows are expanded with integer arrays.
    """
    codes, combos = pd.factorize(ethnicity, use_na_sentinel=True)
    groups = [[ETHNIC_ALL.index(x) for x in str(c).split(";") if x in ETHNIC_ALL] for c in combos]
    groups.append([])  # missing ethnicity: no group
    codes = np.where(codes < 0, len(combos), codes)
    lens = np.array([len(x) for x in groups], dtype=np.int64)
    flat = np.array([i for x in groups for i in x], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    rep = lens[codes]
    row = np.repeat(np.arange(len(codes)), rep)
    offs = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
    g = flat[np.repeat(starts[codes], rep) + offs]
    k = len(ETHNIC_ALL)
    key = np.unique(np.asarray(rows_unit, dtype=np.int64)[row] * k + g)
    return key // k, key % k


def _new_flags(frame: pd.DataFrame, id_col: str) -> pd.Series:
    """'new' / 'returning' per unit, NA in the school's first year in the data."""
    cols = ["school_id", "year", id_col]
    prev = frame[cols].assign(year=frame["year"] + 1)
    was = positions(frame[cols], cols, prev, cols) >= 0
    first = frame.groupby("school_id")["year"].transform("min")
    out = np.where(was, "returning", "new").astype(object)
    out[(frame["year"] == first).to_numpy()] = None
    return pd.Series(out, index=frame.index, dtype="str")


def _long(unit: np.ndarray, group_type: str, group) -> pd.DataFrame:
    return pd.DataFrame({"unit": unit, "group_type": group_type, "group": group})


def _memberships(frame: pd.DataFrame, rows_unit: np.ndarray, rows: pd.DataFrame, id_col: str,
                 wanted=None) -> pd.DataFrame:
    """Build the membership table from per-row attributes (one unit may have many rows).

    Also stores each unit's ``target`` (bool) and ``new`` ('new', 'returning' or missing)
    in ``frame``, which indicators need whatever group types are wanted.
    """
    n = len(frame)
    want = set(GROUP_TYPES if wanted is None else wanted)
    parts = [_long(np.arange(n), "all", "all")] if "all" in want else []
    if want & {"ethnicity", "ethnicity_prioritised"}:
        unit, g = _unit_groups(rows_unit, rows["ethnicity"])
        if "ethnicity" in want:
            parts.append(_long(unit, "ethnicity", np.asarray(ETHNIC_ALL, dtype=object)[g]))
        if "ethnicity_prioritised" in want:
            rank = _PRIORITY_RANK[g]
            first = np.r_[True, unit[1:] != unit[:-1]]  # unit is sorted: one block per unit
            best = np.minimum.reduceat(rank, np.flatnonzero(first))
            parts.append(_long(unit[first], "ethnicity_prioritised",
                               np.asarray(_BY_RANK, dtype=object)[best]))
    if "year_band" in want:
        edges = np.array([hi for _, hi in YEAR_BANDS.values()])
        band = np.searchsorted(edges, rows["year_level"].to_numpy(dtype=np.int64))
        key = np.unique(rows_unit.astype(np.int64) * len(edges) + band)
        parts.append(_long(key // len(edges), "year_band", np.asarray(list(YEAR_BANDS), dtype=object)[key % len(edges)]))
    target = rows["target"].fillna(False).astype(bool) if "target" in rows else \
        pd.Series(False, index=rows.index)
    any_target = pd.Series(target.to_numpy()).groupby(rows_unit).any().reindex(range(n), fill_value=False)
    frame["target"] = any_target.to_numpy(dtype=bool)
    if "target" in want:
        parts.append(_long(np.arange(n), "target", np.where(frame["target"], "target", "not_target")))
    frame["new"] = _new_flags(frame, id_col)
    known = frame["new"].notna().to_numpy()
    if "new_family" in want:
        parts.append(_long(np.flatnonzero(known), "new_family", frame["new"][known].to_numpy()))
    return _sorted_groups(parts)


def _sorted_groups(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One membership table from parts, sorted by unit (then group type and group), categorical."""
    if not parts:
        parts = [_long(np.array([], np.int64), "all", "all")]
    unit = np.concatenate([p["unit"].to_numpy(dtype=np.int64) for p in parts])
    gtype = pd.Categorical(np.concatenate([p["group_type"].to_numpy(dtype=object) for p in parts]))
    group = pd.Categorical(np.concatenate([p["group"].to_numpy(dtype=object) for p in parts]))
    order = np.lexsort((group.codes, gtype.codes, unit))
    return pd.DataFrame({"unit": unit[order], "group_type": gtype.take(order), "group": group.take(order)})


def family_units(enrolments: pd.DataFrame, group_types=None) -> Units:
    """Families per school and year, with their groups (see the module docstring).

    ``group_types`` limits the memberships built (default: all of :data:`GROUP_TYPES`).
    """
    e = enrolments.reset_index(drop=True)
    frame = (e[["school_id", "year", "family_id"]].drop_duplicates()
             .sort_values(["school_id", "year", "family_id"]).reset_index(drop=True))
    units = Units(frame, pd.DataFrame())
    rows_unit = units.locate(e, "family_id")
    units.groups = _memberships(frame, rows_unit, e, "family_id", group_types)
    return units


def student_units(enrolments: pd.DataFrame, group_types=None) -> Units:
    """Students per school and year (one per enrolment row), with their groups."""
    e = enrolments.sort_values(["school_id", "year", "student_id"]).reset_index(drop=True)
    frame = e[["school_id", "year", "student_id", "family_id"]].copy()
    units = Units(frame, pd.DataFrame())
    units.groups = _memberships(frame, np.arange(len(frame)), e, "family_id", group_types)
    return units
