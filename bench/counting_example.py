"""The worked example of docs/architecture.md ("The counting layer"), run through the real code.

    .venv/bin/python bench/counting_example.py

Two schools (A and B, both in Otago), one year, five families, the ``all`` and ``ethnicity``
groups, and the ``reach`` flag of each family: the units and their keys, the memberships, the
packed cell codes, the counts by ``np.bincount``, the record-key sums, and the roll-up to region
and nation. Every number docs/architecture.md shows for the example is printed here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsp_eval.data.keys import dense_unique, pack
from hsp_eval.indicators.aggregate import Cells, count
from hsp_eval.indicators.engine import _roll_up
from hsp_eval.indicators.units import family_keys, family_units

enrolments = pd.DataFrame({
    "school_id": ["A", "A", "A", "A", "B", "B"],
    "year": [2024] * 6,
    "student_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
    "family_id": ["F1", "F2", "F2", "F3", "F4", "F5"],
    "year_level": [3, 5, 8, 1, 2, 6],
    "ethnicity": ["Māori", "European;Māori", "European", "Pacific", "European", "Asian"],
    "target": [False] * 6,
})
schools = pd.DataFrame({"school_id": ["A", "B"], "region": ["Otago", "Otago"]})
reached = np.array([1.0, 1.0, 0.0, 1.0, 0.0])  # F1, F2, F4 came to something; F3, F5 did not


def main() -> None:
    pd.set_option("display.width", 120)
    # 1. units: one per (school, year, family), keyed by one integer
    fam = family_units(enrolments, ["all", "ethnicity"])
    print("1. unit key of each enrolment row:", fam.keys.keys.tolist())
    print("   unit of each enrolment row:    ", fam.row_unit.tolist())
    # 2. memberships: (unit, group_type, group), one row each
    print("2. memberships\n" + fam.groups.to_string())
    # 3. cells: each membership's (school, year, group_type, group) packed into one integer
    g = fam.groups
    school, school_ids = pd.factorize(fam.frame["school_id"], sort=True)
    year, years = pd.factorize(fam.frame["year"], sort=True)
    radices = [len(school_ids), len(years), len(g["group_type"].cat.categories), len(g["group"].cat.categories)]
    school, year = school[g["unit"]], year[g["unit"]]
    packed = pack(zip([school, year, g["group_type"].cat.codes, g["group"].cat.codes], radices))
    print("3. group categories:", list(g["group"].cat.categories), "radices (school, year, type, group):", radices)
    print("   packed key of each membership:", packed.tolist())
    values, code = dense_unique(packed, int(np.prod(radices)))
    print("   distinct keys:", values.tolist(), "-> cell code of each membership:", code.tolist())
    cells = Cells.build(fam.frame, fam.groups, family_keys(fam.frame))
    assert (cells.code == code).all() and (cells.row == g["unit"].to_numpy()).all()
    print("   cells\n" + cells.cells.to_string())
    print("   record key of each family:", cells.key.astype(int).tolist())
    # 4. counting: one bincount per column
    print("4. reach numerators by bincount:", np.bincount(cells.code, weights=reached[cells.row]).tolist())
    out = count(cells, reached).assign(indicator="reach")
    print(out[["school_id", "group_type", "group", "numerator", "denominator", "people", "ck_numerator",
               "ck_denominator"]].to_string())
    # 5. roll-up: sums over schools
    up = _roll_up(out, schools)
    print("5. rolled up\n" + up.loc[up["level"] != "school", ["level", "area_id", "group_type", "group", "numerator",
                                                              "denominator", "ck_numerator"]].to_string())


if __name__ == "__main__":
    main()
