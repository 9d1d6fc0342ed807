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
from .units import Units


def attended_rows(activities: pd.DataFrame, attendance: pd.DataFrame) -> pd.DataFrame:
    """Attendance rows joined to their activity: school_id, year, activity_type, focus, invited, attended."""
    a = activities[["activity_id", "school_id", "date", "activity_type"]]
    m = attendance[["activity_id", "family_id", "invited", "attended"]].merge(a, on="activity_id", how="inner")
    m["year"] = m["date"].dt.year.astype("int64")
    m["activity_type"] = m["activity_type"].astype("str")
    m["focus"] = m["activity_type"].map(vocab.ACTIVITY_FOCUS)
    return m.drop(columns="date")


def family_measures(families: Units, rows: pd.DataFrame) -> pd.DataFrame:
    """Per family unit: n_attended, breadth, reached, reached_learning and reached_<type>."""
    att = rows[rows["attended"].astype(bool)]
    unit = families.locate(att, "family_id")
    att = att.assign(_unit=unit)[unit >= 0]
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
    """Every participation indicator as counted school-level rows (before intervals and roll-up).

    Returns columns school_id, year, group_type, group, indicator, numerator, denominator
    (and sum, sumsq for means).
    """
    families, students = ctx.families, ctx.students
    family_cells, student_cells = ctx.family_cells, ctx.student_cells
    rows = attended_rows(ctx.dataset["activities"], ctx.dataset["attendance"])
    fm = family_measures(families, rows)
    parts = []

    def add(df: pd.DataFrame, indicator: str) -> None:
        parts.append(df.assign(indicator=indicator))

    add(count(for_indicator(family_cells, "reach"), fm["reached"].to_numpy()), "reach")
    add(count(for_indicator(family_cells, "reach_learning"), fm["reached_learning"].to_numpy()),
        "reach_learning")
    all_cells = family_cells.only("all")
    for t in vocab.ACTIVITY_TYPES:
        df = count(all_cells, fm[f"reached_{t}"].to_numpy())
        add(df.assign(group_type="activity_type", group=t), "reach_by_type")
    add(moments(for_indicator(family_cells, "attendances_per_family"), fm["n_attended"].to_numpy()),
        "attendances_per_family")
    add(moments(for_indicator(family_cells, "breadth"), fm["breadth"].to_numpy()), "breadth")

    # students whose family attended a learning conference (the family's flag, per child)
    fam_of_student = families.locate(students.frame, "family_id")
    conf = fm["reached_learning_conference"].to_numpy()[fam_of_student]
    add(count(for_indicator(student_cells, "conference_reach"), conf), "conference_reach")

    # attended rows and invitations, counted per family and then into the family's groups
    n = len(families)
    att = rows[rows["attended"].astype(bool)]
    unit = families.locate(att, "family_id")
    add(tally(for_indicator(family_cells, "learning_share"),
              per_unit(unit, (att["focus"] == "learning").to_numpy(dtype="float64"), n),
              per_unit(unit, np.ones(len(att)), n)), "learning_share")
    inv = rows[rows["invited"].fillna(False).astype(bool)]
    unit = families.locate(inv, "family_id")
    add(tally(for_indicator(family_cells, "invitation_uptake"),
              per_unit(unit, inv["attended"].to_numpy(dtype="float64"), n),
              per_unit(unit, np.ones(len(inv)), n)), "invitation_uptake")

    # year over year: retention of last year's reached families, reach of new families
    f = families.frame
    reached_last = f.assign(year=f["year"] + 1)[fm["reached"].to_numpy() == 1][["school_id", "year", "family_id"]]
    was = families.locate(reached_last, "family_id")
    flag = np.full(len(families), np.nan)
    flag[was[was >= 0]] = fm["reached"].to_numpy()[was[was >= 0]]
    add(count(for_indicator(family_cells, "retention"), flag), "retention")

    new = np.flatnonzero((families.frame["new"] == "new").to_numpy(dtype=bool, na_value=False))
    flag = np.full(len(families), np.nan)
    flag[new] = fm["reached"].to_numpy()[new]
    add(count(for_indicator(family_cells, "new_family_reach"), flag), "new_family_reach")
    return pd.concat(parts, ignore_index=True)
