"""Participation indicators: who takes part in the school's activities, and in what.

Everything is computed from the attended rows of ``attendance`` joined to their
``activities`` (school, year of the date, type and its focus), for every school and
year at once. See :mod:`hsp_eval.indicators.registry` for the definitions.

Examples
--------
>>> from hsp_eval import indicators                      # doctest: +SKIP
>>> indicators.compute(ds).query("indicator == 'reach'")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsp_eval.data import vocab
from hsp_eval.indicators.aggregate import count, for_indicator, moments, per_unit, tally
from hsp_eval.data.keys import positions, record_keys


def attended_rows(activities: pd.DataFrame, attendance: pd.DataFrame) -> pd.DataFrame:
    """Attendance rows joined to their activity: school_id, year, activity_type, focus, invited, attended.

    Rows whose activity is not in ``activities`` are left out. Each activity's year, type and
    focus are worked out once per activity (activity_id is the activities table's key) and
    then given to its rows.

    Examples
    --------
    >>> acts = pd.DataFrame({"activity_id": ["A", "B"], "school_id": ["0042", "0042"],
    ...                      "date": pd.to_datetime(["2024-03-07", "2025-05-01"]),
    ...                      "activity_type": ["celebration", "goal_setting"]})
    >>> att = pd.DataFrame({"activity_id": ["B", "X", "A"], "family_id": ["F1", "F2", "F1"],
    ...                     "invited": [True, False, False], "attended": [True, True, False]})
    >>> attended_rows(acts, att)[["activity_id", "year", "focus"]].values.tolist()
    [['B', 2025, 'learning'], ['A', 2024, 'school']]
    """
    return _joined(activities, attendance, positions(attendance, ["activity_id"], activities, ["activity_id"]))


def _joined(activities: pd.DataFrame, attendance: pd.DataFrame, pos: np.ndarray) -> pd.DataFrame:
    """:func:`attended_rows`, given each attendance row's activity row ``pos`` (-1 where none)."""
    keep = np.flatnonzero(pos >= 0)
    pos = pos[keep]
    a = activities.reset_index(drop=True)
    kind = a["activity_type"].astype("str")
    m = attendance[["activity_id", "family_id", "invited", "attended"]].take(keep).reset_index(drop=True)
    m["school_id"] = a["school_id"].take(pos).reset_index(drop=True)
    m["activity_type"] = kind.take(pos).reset_index(drop=True)
    m["year"] = a["date"].dt.year.astype("int64").to_numpy()[pos]
    m["focus"] = kind.map(vocab.ACTIVITY_FOCUS).take(pos).reset_index(drop=True)
    return m


#: the activity types, in the order of the columns ``reached_<type>``
TYPES = tuple(vocab.ACTIVITY_TYPES)
_LEARNING = np.array([vocab.ACTIVITY_FOCUS[t] == "learning" for t in TYPES])


def register_rows(activities: pd.DataFrame, attendance: pd.DataFrame, pos: np.ndarray | None = None) -> pd.DataFrame:
    """The attendance rows whose activity is known, as numbers: ``row`` (position in
    ``attendance``), ``type`` (the activity type's position in :data:`TYPES`), ``attended``
    and ``invited`` (missing as False).

    ``pos`` is each attendance row's activity row when known (the loader finds it).

    Examples
    --------
    >>> acts = pd.DataFrame({"activity_id": ["A", "B"], "activity_type": ["celebration", "goal_setting"]})
    >>> att = pd.DataFrame({"activity_id": ["B", "X", "A"], "invited": [True, None, None],
    ...                     "attended": [True, True, False]})
    >>> register_rows(acts, att).values.tolist()
    [[0, 1, True, True], [2, 8, False, False]]
    """
    if pos is None:
        pos = positions(attendance, ["activity_id"], activities, ["activity_id"])
    keep = np.flatnonzero(pos >= 0)
    type_of = pd.Categorical(activities["activity_type"].astype("str"), categories=list(TYPES)).codes
    return pd.DataFrame({
        "row": keep,
        "type": type_of[pos[keep]].astype(np.int8),
        "attended": attendance["attended"].to_numpy(dtype=bool, na_value=False)[keep],
        "invited": attendance["invited"].to_numpy(dtype=bool, na_value=False)[keep],
    })


def attendance_keys(attendance: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The record key of the attendance rows at ``rows``: an activity and who it was about (family,
    and the student where the register names one)."""
    cols = ["activity_id", "family_id"] + (["student_id"] if "student_id" in attendance else [])
    return record_keys(attendance[cols].take(rows).reset_index(drop=True), cols, "attendance")


def family_measures(n_units: int, unit: np.ndarray, rows: pd.DataFrame) -> pd.DataFrame:
    """Per family unit: n_attended, breadth, reached, reached_learning and reached_<type>.

    ``rows`` are :func:`register_rows`; ``unit`` is each one's family unit (-1 none) among
    ``n_units``. Which types each family attended is one boolean matrix (family x type).

    Examples
    --------
    >>> rows = pd.DataFrame({"type": [0, 0, 6, 1], "attended": [True, True, True, False]})
    >>> m = family_measures(2, np.array([0, 0, 0, 1]), rows)
    >>> m[["n_attended", "breadth", "reached", "reached_learning"]].values.tolist()
    [[3.0, 2.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    """
    came = rows["attended"].to_numpy(dtype=bool) & (unit >= 0)
    u, t = unit[came], rows["type"].to_numpy(dtype=np.int64)[came]
    went = np.zeros((n_units, len(TYPES)), dtype=bool)  # family x activity type
    went[u[t >= 0], t[t >= 0]] = True
    out = pd.DataFrame({"n_attended": np.bincount(u, minlength=n_units).astype("float64"),
                        "breadth": went.sum(axis=1).astype("float64")})
    out["reached"] = (out["n_attended"] > 0).astype("float64")
    out["reached_learning"] = went[:, _LEARNING].any(axis=1).astype("float64")
    for j, t in enumerate(TYPES):
        out[f"reached_{t}"] = went[:, j].astype("float64")
    return out


def counted(ctx) -> pd.DataFrame:
    """Every participation indicator (that ``ctx`` wants) as counted school-level rows.

    Returns columns school_id, year, group_type, group, indicator, numerator, denominator
    (and sum, sumsq for means), before intervals and roll-up.
    """
    families, family_cells = ctx.families, ctx.family_cells
    activities, attendance = ctx.dataset["activities"], ctx.dataset["attendance"]
    pos = ctx.dataset.rows_in("attendance", "activities")  # each row's activity, found by the loader
    if pos is None:
        pos = positions(attendance, ["activity_id"], activities, ["activity_id"])
    rows = register_rows(activities, attendance, pos)
    # each row's family, once for every use below
    unit = ctx.family_unit_of("attendance", lambda: _joined(activities, attendance, pos), rows["row"].to_numpy())
    fm = family_measures(len(families), unit, rows)
    parts = []

    def add(df: pd.DataFrame, indicator: str) -> None:
        parts.append(df.assign(indicator=indicator))

    if ctx.wants("reach"):
        add(count(for_indicator(family_cells, "reach"), fm["reached"].to_numpy()), "reach")
    if ctx.wants("reach_learning"):
        add(count(for_indicator(family_cells, "reach_learning"), fm["reached_learning"].to_numpy()),
            "reach_learning")
    if ctx.wants("reach_by_type"):
        all_cells = family_cells.only("all")
        for t in TYPES:
            df = count(all_cells, fm[f"reached_{t}"].to_numpy())
            add(df.assign(group_type="activity_type", group=t), "reach_by_type")
    if ctx.wants("attendances_per_family"):
        add(moments(for_indicator(family_cells, "attendances_per_family"), fm["n_attended"].to_numpy()),
            "attendances_per_family")
    if ctx.wants("breadth"):
        add(moments(for_indicator(family_cells, "breadth"), fm["breadth"].to_numpy()), "breadth")

    if ctx.wants("conference_reach"):  # students whose family attended a learning conference (per child)
        students = ctx.students
        fam_of_student = families.locate(students.frame, "family_id")
        conf = fm["reached_learning_conference"].to_numpy()[fam_of_student]
        # siblings share their family's attendance: the students are clustered in their families.
        # Each student carries its family's sums, with x_c its family's enrolled children w: summed over
        # a cell's students, w gives sum_c x_c^2 exactly where all siblings share the cell (the all
        # row) and more where some do not (a wider, cautious interval), with no (cell, family) pairs
        # to sort (tens of millions of memberships nationally)
        w = np.bincount(fam_of_student, minlength=len(families)).astype("float64")[fam_of_student]
        sums = (w * conf, w * conf, w, 1.0 / w)
        add(count(for_indicator(ctx.student_cells, "conference_reach"), conf, cluster_sums=sums), "conference_reach")

    # attended rows and invitations, counted per family and then into the family's groups
    n = len(families)
    attended = rows["attended"].to_numpy()
    if ctx.wants("learning_share", "invitation_uptake"):
        row_key = attendance_keys(attendance, rows["row"].to_numpy())
    if ctx.wants("learning_share"):
        learning = _LEARNING[rows["type"].to_numpy()[attended]]
        k = row_key[attended]
        add(tally(for_indicator(family_cells, "learning_share"),
                  per_unit(unit[attended], learning.astype("float64"), n),
                  per_unit(unit[attended], None, n),
                  keys=(per_unit(unit[attended], np.where(learning, k, 0.0), n), per_unit(unit[attended], k, n), None), clustered=True),
            "learning_share")
    if ctx.wants("invitation_uptake"):
        invited = rows["invited"].to_numpy()
        k = row_key[invited]
        add(tally(for_indicator(family_cells, "invitation_uptake"),
                  per_unit(unit[invited], attended[invited].astype("float64"), n),
                  per_unit(unit[invited], None, n),
                  keys=(per_unit(unit[invited], np.where(attended[invited], k, 0.0), n),
                        per_unit(unit[invited], k, n), None), clustered=True),
            "invitation_uptake")

    # year over year: retention of last year's reached families, reach of new families
    if ctx.wants("retention"):
        f = families.frame
        reached_last = f.assign(year=f["year"] + 1)[fm["reached"].to_numpy() == 1][["school_id", "year", "family_id"]]
        was = families.locate(reached_last, "family_id")
        flag = np.full(len(families), np.nan)
        flag[was[was >= 0]] = fm["reached"].to_numpy()[was[was >= 0]]
        add(count(for_indicator(family_cells, "retention"), flag), "retention")

    if ctx.wants("new_family_reach"):
        new = np.flatnonzero((families.frame["new"] == "new").to_numpy(dtype=bool, na_value=False))
        flag = np.full(len(families), np.nan)
        flag[new] = fm["reached"].to_numpy()[new]
        add(count(for_indicator(family_cells, "new_family_reach"), flag), "new_family_reach")
    return pd.concat(parts, ignore_index=True)
