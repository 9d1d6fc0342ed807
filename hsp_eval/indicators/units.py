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
``new_family`` telling whether the student's family is new to the school. The prioritised
group is :func:`hsp_eval.data.vocab.prioritised` of the unit's groups.

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

from hsp_eval.data.keys import codes_of, distinct, positions, record_keys
from hsp_eval.data.vocab import ETHNIC_ALL, PRIORITISED_BY_MASK, YEAR_BANDS

GROUP_TYPES = ("all", "ethnicity", "ethnicity_prioritised", "year_band", "target", "new_family")
#: group types whose groups get ``<indicator>_gap_vs_rest`` rows
GAP_GROUP_TYPES = ("ethnicity", "ethnicity_prioritised", "year_band", "target")
KEY = ["school_id", "year"]


class UnitKeys:
    """(school_id, year, id) as one integer per row, in codes numbered over sorted distinct values.

    The codes of ``frame`` (its school ids and ids sorted, so integers sort as the text does)
    are made once; any other frame's rows are then given integers in the same numbering,
    hashing only that frame's distinct values against these. A row with a school, id or
    year the frame does not have gets -1.

    Examples
    --------
    >>> f = pd.DataFrame({"school_id": ["B", "A"], "year": [2024, 2025], "family_id": ["F", "G"]})
    >>> k = UnitKeys(f, "family_id")
    >>> k.keys.tolist(), k.of(pd.DataFrame({"school_id": ["A", "C"], "year": [2025, 2025],
    ...                                     "family_id": ["G", "G"]})).tolist()
    ([4, 3], [3, -1])
    """

    def __init__(self, frame: pd.DataFrame, id_col: str):
        self.id_col = id_col
        school, self.schools = pd.factorize(frame["school_id"], sort=True)
        ids, self.ids = pd.factorize(frame[id_col], sort=True)
        years = frame["year"].to_numpy(dtype=np.int64)
        self.year0 = int(years.min()) if len(years) else 0
        self.n_years = int(years.max()) - self.year0 + 1 if len(years) else 0
        self.keys = self._pack(school, years, ids)

    def _pack(self, school: np.ndarray, years: np.ndarray, ids: np.ndarray) -> np.ndarray:
        y = years - self.year0
        ok = (school >= 0) & (ids >= 0) & (y >= 0) & (y < self.n_years)
        key = (school.astype(np.int64) * self.n_years + y) * len(self.ids) + ids
        return np.where(ok, key, -1)

    def _codes(self, s: pd.Series, uniques: pd.Index) -> np.ndarray:
        codes, values = codes_of(s)
        return np.append(uniques.get_indexer(values), -1)[codes]

    def of(self, df: pd.DataFrame, id_col: str | None = None) -> np.ndarray:
        """The integer of each row of ``df`` (its ``id_col``, default this frame's id column); -1 if unknown."""
        years = pd.to_numeric(df["year"]).to_numpy(dtype="float64", na_value=np.nan)
        whole = ~np.isnan(years) & (years == np.round(years))
        y = np.where(whole, years, self.year0 - 1).astype(np.int64)
        return self._pack(self._codes(df["school_id"], self.schools), y,
                          self._codes(df[id_col or self.id_col], self.ids))

    def earlier(self, keys: np.ndarray) -> np.ndarray:
        """The integers of the same school and id one year before (-1 where that year is not covered)."""
        year = (keys // len(self.ids)) % self.n_years
        return np.where((keys >= 0) & (year > 0), keys - len(self.ids), -1)


def _find(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each of ``keys`` in ``sorted_keys`` (distinct, ascending); -1 where absent."""
    pos = np.minimum(np.searchsorted(sorted_keys, keys), max(len(sorted_keys) - 1, 0))
    hit = (keys >= 0) & (len(sorted_keys) > 0)
    hit &= sorted_keys[pos] == keys if len(sorted_keys) else False
    return np.where(hit, pos, -1)


@dataclass
class Units:
    """Units (one row each in ``frame``) and their group memberships (``groups``).

    ``frame`` has ``school_id``, ``year`` and the unit's id column; its index is
    0..n-1 and ``groups["unit"]`` refers to it.
    """

    frame: pd.DataFrame
    groups: pd.DataFrame  #: columns unit (int), group_type, group
    keys: UnitKeys | None = None  #: the units' own keys; unit i has the i-th smallest (``sorted_keys``)
    sorted_keys: np.ndarray | None = None
    row_unit: np.ndarray | None = None  #: the unit of each row of the enrolments the units were made from

    def __len__(self) -> int:
        return len(self.frame)

    def locate(self, df: pd.DataFrame, id_col: str) -> np.ndarray:
        """Unit position of each row of ``df`` (matched on school_id, year, ``id_col``); -1 if none."""
        if self.keys is not None and id_col == self.keys.id_col:
            return _find(self.sorted_keys, self.keys.of(df))
        return positions(df, KEY + [id_col], self.frame, KEY + [id_col])

    def of_rows(self, rows: np.ndarray) -> np.ndarray:
        """Unit position of each enrolment row in ``rows`` (positions in the enrolments the units
        were made from; -1 stays -1).

        Examples
        --------
        >>> e = pd.DataFrame({"school_id": ["A", "A"], "year": [2024, 2024], "student_id": ["1", "2"],
        ...                   "family_id": ["F", "F"], "year_level": [1, 2], "ethnicity": ["Asian"] * 2,
        ...                   "target": [False, False]})
        >>> family_units(e, ["all"]).of_rows(np.array([1, -1, 0])).tolist()
        [0, -1, 0]
        """
        return np.append(self.row_unit, -1)[rows]


def year_band(year_level: pd.Series) -> pd.Series:
    """Label of the year band of each year level.

    Examples
    --------
    >>> year_band(pd.Series([0, 4, 8, 10, 13])).tolist()
    ['0-3', '4-6', '7-8', '9-10', '11-13']
    """
    edges = [-1] + [hi for _, hi in YEAR_BANDS.values()]
    return pd.cut(year_level.astype("int64"), bins=edges, labels=list(YEAR_BANDS)).astype("str")


#: a unit's groups as a bit mask over ETHNIC_ALL -> its prioritised group (an index of ETHNIC_ALL)
_PRIORITISED = np.array(PRIORITISED_BY_MASK, dtype=np.int64)


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
    key = distinct(np.asarray(rows_unit, dtype=np.int64)[row] * k + g)
    return key // k, key % k


def _new_codes(frame: pd.DataFrame, id_col: str, keys: tuple | None = None) -> np.ndarray:
    """Per unit: 0 new (no ``id_col`` at the school the year before), 1 returning, -1 in the
    school's first year in the data."""
    if keys is None:
        unit_keys = UnitKeys(frame, id_col)
        keys = unit_keys, unit_keys.keys
    unit_keys, row_keys = keys
    was = _find(distinct(row_keys), unit_keys.earlier(row_keys)) >= 0
    school = row_keys // (unit_keys.n_years * len(unit_keys.ids))  # the school's code
    years = frame["year"].to_numpy(dtype=np.int64)
    first = np.full(len(unit_keys.schools), np.iinfo(np.int64).max)
    np.minimum.at(first, school, years)
    return np.where(years == first[school], -1, was.astype(np.int64))


def _part(unit: np.ndarray, group_type: str, codes: np.ndarray, labels) -> tuple:
    """Memberships of one group type: unit positions, and each one's group as a code into ``labels``."""
    return np.asarray(unit, dtype=np.int64), group_type, np.asarray(codes, dtype=np.int64), list(labels)


def _memberships(frame: pd.DataFrame, rows_unit: np.ndarray, rows: pd.DataFrame, id_col: str,
                 wanted=None, keys: tuple | None = None) -> pd.DataFrame:
    """Build the membership table from per-row attributes (one unit may have many rows).

    Also stores each unit's ``target`` (bool) and ``new`` ('new', 'returning' or missing)
    in ``frame``, which indicators need whatever group types are wanted. ``keys`` (a
    :class:`UnitKeys` of ``frame`` by ``id_col`` and its integer per row) saves making them again.
    """
    n = len(frame)
    want = set(GROUP_TYPES if wanted is None else wanted)
    parts = [_part(np.arange(n), "all", np.zeros(n), ["all"])] if "all" in want else []
    if want & {"ethnicity", "ethnicity_prioritised"}:
        unit, g = _unit_groups(rows_unit, rows["ethnicity"])
        if "ethnicity" in want:
            parts.append(_part(unit, "ethnicity", g, ETHNIC_ALL))
        if "ethnicity_prioritised" in want:
            bits = np.left_shift(1, g)
            first = np.r_[True, unit[1:] != unit[:-1]]  # unit is sorted: one block per unit
            mask = np.bitwise_or.reduceat(bits, np.flatnonzero(first)) if len(unit) else bits
            parts.append(_part(unit[first], "ethnicity_prioritised", _PRIORITISED[mask], ETHNIC_ALL))
            del bits, first, mask
        del unit, g  # the parts hold what is kept (see _sorted_groups)
    if "year_band" in want:
        edges = np.array([hi for _, hi in YEAR_BANDS.values()])
        band = np.searchsorted(edges, rows["year_level"].to_numpy(dtype=np.int64))
        key = distinct(rows_unit.astype(np.int64) * len(edges) + band)
        parts.append(_part(key // len(edges), "year_band", key % len(edges), YEAR_BANDS))
        del band, key
    target = rows["target"].fillna(False).astype(bool).to_numpy() if "target" in rows else \
        np.zeros(len(rows), dtype=bool)
    any_target = np.zeros(n, dtype=bool)
    any_target[np.asarray(rows_unit)[target]] = True
    frame["target"] = any_target
    if "target" in want:
        parts.append(_part(np.arange(n), "target", np.where(any_target, 0, 1), ["target", "not_target"]))
    new = _new_codes(frame, id_col, keys)  # 0 new, 1 returning, -1 the school's first year
    frame["new"] = pd.Series(np.array(["new", "returning", None], dtype=object)[new], index=frame.index,
                             dtype="str")
    if "new_family" in want:
        known = np.flatnonzero(new >= 0)
        parts.append(_part(known, "new_family", new[known], ["new", "returning"]))
        del known
    return _sorted_groups(parts)


def _sorted_groups(parts: list[tuple]) -> pd.DataFrame:
    """One membership table from parts, sorted by unit (then group type and group), categorical.

    The categories are the group types and groups that occur, sorted, as pandas makes them
    from the labels; the codes are made from the parts' integer codes without any text.
    ``parts`` is emptied: each part's arrays are let go once copied into the table's (tens
    of millions of memberships for students nationally).
    """
    kept = [p for p in parts if len(p[0])]
    parts.clear()
    if not kept:
        empty = pd.Categorical(np.array([], dtype=object))
        return pd.DataFrame({"unit": np.array([], np.int64), "group_type": empty, "group": empty})
    types = sorted({p[1] for p in kept})
    used = [distinct(p[2]) for p in kept]
    groups = sorted({p[3][c] for p, u in zip(kept, used) for c in u})
    gtype = np.concatenate([np.full(len(p[0]), types.index(p[1]), dtype=np.int8) for p in kept])
    group = np.concatenate([np.array([groups.index(x) if x in groups else -1 for x in p[3]],
                                     dtype=np.int32)[p[2]] for p in kept])
    unit = np.concatenate([p[0] for p in kept])
    del kept, used
    # one integer per membership that sorts as (unit, group type, group), built in place; its
    # sort is stable, as lexsort is, and finds the parts' runs of ascending units (5x faster
    # than lexsort)
    key = unit * len(types)
    key += gtype
    key *= max(len(groups), 1)
    key += group
    order = np.argsort(key, kind="stable")
    del key
    unit = unit[order]
    gtype = pd.Categorical.from_codes(gtype[order], categories=pd.Index(types))
    group = pd.Categorical.from_codes(group[order], categories=pd.Index(groups))
    del order
    return pd.DataFrame({"unit": unit, "group_type": gtype, "group": group}, copy=False)


def family_keys(frame: pd.DataFrame) -> np.ndarray:
    """The record key of each family row (school_id, family_id): one family, one key, every year.

    Examples
    --------
    >>> f = pd.DataFrame({"school_id": ["A", "A"], "year": [2023, 2024], "family_id": ["F1", "F1"]})
    >>> k = family_keys(f); bool(k[0] == k[1])
    True
    """
    return record_keys(frame, ["school_id", "family_id"], "family")


def family_units(enrolments: pd.DataFrame, group_types=None) -> Units:
    """Families per school and year, with their groups (see the module docstring).

    ``group_types`` limits the memberships built (default: all of :data:`GROUP_TYPES`).
    """
    e = enrolments.reset_index(drop=True)
    keys = UnitKeys(e, "family_id")
    unique_keys, first, rows_unit = np.unique(keys.keys, return_index=True, return_inverse=True)
    # one row per (school_id, year, family_id), in that order: the keys sort as the text does
    frame = e[["school_id", "year", "family_id"]].take(first).reset_index(drop=True)
    units = Units(frame, pd.DataFrame(), keys, unique_keys, rows_unit.ravel())
    units.groups = _memberships(frame, units.row_unit, e, "family_id", group_types, (keys, unique_keys))
    return units


def student_units(enrolments: pd.DataFrame, group_types=None, families: Units | None = None) -> Units:
    """Students per school and year (one per enrolment row), with their groups.

    ``families`` (the :func:`family_units` of the same enrolments) saves numbering the
    family IDs again to tell new families from returning ones.
    """
    keys = UnitKeys(enrolments, "student_id")
    order = np.argsort(keys.keys, kind="stable")  # by school_id, year, student_id
    e = enrolments.take(order).reset_index(drop=True)
    frame = e[["school_id", "year", "student_id", "family_id"]].copy()
    units = Units(frame, pd.DataFrame(), keys, keys.keys[order])
    family_keys = None
    if families is not None and families.keys is not None and len(families.keys.keys) == len(enrolments):
        family_keys = (families.keys, families.keys.keys[order])
    units.groups = _memberships(frame, np.arange(len(frame)), e, "family_id", group_types, family_keys)
    return units
