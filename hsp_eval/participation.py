"""Participation indicators: who takes part in the school's activities, and in what.

Everything is computed from the attended rows of ``attendance`` joined to their
``activities`` (school, year of the date, type and its focus), for every school and
year at once. See :mod:`hsp_eval.registry` for the definitions.

Examples
--------
>>> from hsp_eval import indicators                      # doctest: +SKIP
>>> indicators.compute(ds).query("indicator == 'reach'")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import vocab
from .aggregate import count, for_indicator, moments, per_unit, tally
from .keys import positions
from .units import Units


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
    return _joined(activities, attendance)[0]


def _joined(activities: pd.DataFrame, attendance: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`attended_rows`, and the positions in ``attendance`` of the rows it kept."""
    pos = positions(attendance, ["activity_id"], activities, ["activity_id"])
    keep = np.flatnonzero(pos >= 0)
    pos = pos[keep]
    a = activities.reset_index(drop=True)
    kind = a["activity_type"].astype("str")
    m = attendance[["activity_id", "family_id", "invited", "attended"]].take(keep).reset_index(drop=True)
    m["school_id"] = a["school_id"].take(pos).reset_index(drop=True)
    m["activity_type"] = kind.take(pos).reset_index(drop=True)
    m["year"] = a["date"].dt.year.astype("int64").to_numpy()[pos]
    m["focus"] = kind.map(vocab.ACTIVITY_FOCUS).take(pos).reset_index(drop=True)
    return m, keep


def family_measures(families: Units, rows: pd.DataFrame, unit: np.ndarray | None = None) -> pd.DataFrame:
    """Per family unit: n_attended, breadth, reached, reached_learning and reached_<type>.

    ``unit`` is each row's family unit (``families.locate(rows, "family_id")``) when known.
    """
    attended = rows["attended"].astype(bool).to_numpy()
    unit = families.locate(rows, "family_id") if unit is None else unit
    att = rows[attended].assign(_unit=unit[attended])[unit[attended] >= 0]
    n = len(families)
    out = pd.DataFrame(index=np.arange(n))
    out["n_attended"] = np.bincount(att["_unit"], minlength=n).astype("float64")
    types = att[["_unit", "activity_type"]].drop_duplicates()
    out["breadth"] = np.bincount(types["_unit"], minlength=n).astype("float64")
    out["reached"] = (out["n_attended"] > 0).astype("float64")
    learning = att.loc[att["focus"] == "learning", "_unit"].unique()
    out["reached_learning"] = 0.0
    out.loc[learning, "reached_learning"] = 1.0
    for t in vocab.ACTIVITY_TYPES:
        hit = types.loc[types["activity_type"] == t, "_unit"].to_numpy()
        col = np.zeros(n)
        col[hit] = 1.0
        out[f"reached_{t}"] = col
    return out


def counted(ctx) -> pd.DataFrame:
    """Every participation indicator (that ``ctx`` wants) as counted school-level rows.

    Returns columns school_id, year, group_type, group, indicator, numerator, denominator
    (and sum, sumsq for means), before intervals and roll-up.
    """
    families, family_cells = ctx.families, ctx.family_cells
    rows, kept = _joined(ctx.dataset["activities"], ctx.dataset["attendance"])
    unit = ctx.family_unit_of("attendance", lambda: rows, kept)  # each row's family, once for every use below
    fm = family_measures(families, rows, unit)
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
        for t in vocab.ACTIVITY_TYPES:
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
        add(count(for_indicator(ctx.student_cells, "conference_reach"), conf), "conference_reach")

    # attended rows and invitations, counted per family and then into the family's groups
    n = len(families)
    attended = rows["attended"].astype(bool).to_numpy()
    if ctx.wants("learning_share"):
        att = rows[attended]
        add(tally(for_indicator(family_cells, "learning_share"),
                  per_unit(unit[attended], (att["focus"] == "learning").to_numpy(dtype="float64"), n),
                  per_unit(unit[attended], np.ones(len(att)), n)), "learning_share")
    if ctx.wants("invitation_uptake"):
        invited = rows["invited"].fillna(False).astype(bool).to_numpy()
        inv = rows[invited]
        add(tally(for_indicator(family_cells, "invitation_uptake"),
                  per_unit(unit[invited], inv["attended"].to_numpy(dtype="float64"), n),
                  per_unit(unit[invited], np.ones(len(inv)), n)), "invitation_uptake")

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
