"""Participation and communication indicators on a hand-built dataset, every count worked out by hand.

The dataset (two schools in Otago, 2023-2024):

- F1: s1 (Māori, year 2 in 2023, 3 in 2024) and s2 (European;Māori, year 6, target) at 0001;
  also s5 (European, year 10) at 0002 in 2024: a family with children at two schools whose
  children have different ethnicities.
- F2: s3 (European, year 5) at 0001 in 2024. F3: s4 (Pacific, year 1) at 0001 in 2024.
- F4: s6 (Asian, year 4) moves from 0001 to 0002 during 2024 (a row at each school).
- Activities at 0001 in 2024: A1 learning_conference with an invitation list (F1 came, F2 did
  not), A2 celebration open to all (F1 and F3 came). At 0002: A3 information evening (F1 came).
  In 2023 at 0001: A0 celebration (F1 came).
"""

from __future__ import annotations

import numpy as np
import pytest

from hsp_eval.indicators import engine as indicators
from hsp_eval import load_dataset
from hsp_eval.testing import one_row

FILES = {
    "schools": """school_id,school_name,region,school_type
0001,Kura A,Otago,Full Primary
0002,Kura B,Otago,Secondary (Year 7-15)
""",
    "enrolments": """year,school_id,student_id,family_id,year_level,ethnicity,target
2023,0001,s1,F1,2,Māori,false
2024,0001,s1,F1,3,Māori,false
2024,0001,s2,F1,6,European;Māori,true
2024,0001,s3,F2,5,European,false
2024,0001,s4,F3,1,Pacific,false
2024,0002,s5,F1,10,European,false
2024,0001,s6,F4,4,Asian,false
2024,0002,s6,F4,4,Asian,false
""",
    "activities": """activity_id,school_id,date,activity_type
A0,0001,2023-05-01,celebration
A1,0001,2024-03-01,learning_conference
A2,0001,2024-05-01,celebration
A3,0002,2024-05-01,information_evening
""",
    "attendance": """activity_id,family_id,student_id,invited,attended
A0,F1,,,true
A1,F1,s2,true,true
A1,F2,s3,true,false
A2,F1,,,true
A2,F3,,,true
A3,F1,,,true
""",
    "contacts": """contact_id,school_id,date,family_id,student_id,initiated_by,channel,purpose,response_received
C1,0001,2024-02-10,F1,s2,school,phone,good_news,true
C2,0001,2024-03-10,F1,,family,email,learning,
C3,0001,2024-04-10,F2,,school,text,behaviour,false
C4,0001,2024-04-11,F2,,school,text,attendance,
""",
    "portal_usage": """school_id,family_id,month,logins
0001,F1,2024-02,1
0001,F1,2024-03,2
0001,F1,2024-04,0
0001,F1,2024-05,1
0001,F1,2024-06,1
0001,F1,2024-07,1
0001,F1,2024-08,1
0001,F2,2024-02,0
0001,F3,2024-02,3
""",
}


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    d = tmp_path_factory.mktemp("hand")
    for name, text in FILES.items():
        (d / f"{name}.csv").write_text(text, encoding="utf-8")
    return indicators.compute(load_dataset(d), min_n=1)


def row(table, indicator, group_type="all", group="all", area="0001", year=2024, level="school"):
    return one_row(table, indicator, group_type, group, area, year, level)


def counts(table, *args, **kw):
    r = row(table, *args, **kw)
    num = None if np.isnan(r["numerator"]) else int(r["numerator"])
    return num, int(r["denominator"]), round(float(r["value"]), 6)


# school 0001 in 2024 has families F1, F2, F3, F4 and students s1, s2, s3, s4, s6.

def test_reach(table):
    # F1 (A1, A2) and F3 (A2) came; F2 was invited and did not come; F4 came to nothing
    assert counts(table, "reach") == (2, 4, 0.5)
    # F1 is at 0002 too, where it came to A3; F4 is there too and did not
    assert counts(table, "reach", area="0002") == (1, 2, 0.5)


def test_reach_by_ethnicity_uses_the_union_of_the_childrens_groups(table):
    assert counts(table, "reach", "ethnicity", "Māori") == (1, 1, 1.0)     # F1
    assert counts(table, "reach", "ethnicity", "European") == (1, 2, 0.5)  # F1 (via s2), F2
    assert counts(table, "reach", "ethnicity", "Asian") == (0, 1, 0.0)     # F4
    assert counts(table, "reach", "ethnicity_prioritised", "Māori") == (1, 1, 1.0)
    assert counts(table, "reach", "ethnicity_prioritised", "European") == (0, 1, 0.0)  # F2 only
    assert counts(table, "reach", "target", "target") == (1, 1, 1.0)       # F1 (s2)
    assert counts(table, "reach", "year_band", "4-6") == (1, 3, round(1 / 3, 6))  # F1, F2, F4


def test_reach_gap_vs_rest(table):
    r = row(table, "reach_gap_vs_rest", "ethnicity", "European")
    # European 1/2 minus the rest (F3 reached, F4 not) 1/2
    assert (r["numerator"], r["denominator"], r["value"]) == (1, 2, 0.0)
    assert r["ci_low"] < 0 < r["ci_high"]


def test_learning_reach_share_breadth_and_mean(table):
    assert counts(table, "reach_learning") == (1, 4, 0.25)               # F1 at the conference
    assert counts(table, "learning_share") == (1, 3, round(1 / 3, 6))    # A1-F1 of A1-F1, A2-F1, A2-F3
    assert counts(table, "attendances_per_family") == (None, 4, 0.75)    # (2 + 0 + 1 + 0) / 4
    assert counts(table, "breadth") == (None, 4, 0.75)                   # types: F1 2, F3 1
    assert counts(table, "reach_by_type", "activity_type", "celebration") == (2, 4, 0.5)
    assert counts(table, "reach_by_type", "activity_type", "learning_conference") == (1, 4, 0.25)


def test_conference_reach_counts_students(table):
    # s1 and s2 (family F1) of s1, s2, s3, s4, s6
    assert counts(table, "conference_reach") == (2, 5, 0.4)


def test_invitation_uptake_counts_only_invitation_lists(table):
    assert counts(table, "invitation_uptake") == (1, 2, 0.5)


def test_retention_and_new_family_reach(table):
    # reached in 2023: F1, enrolled and reached in 2024
    assert counts(table, "retention") == (1, 1, 1.0)
    # new in 2024 at 0001: F2, F3, F4; reached: F3
    assert counts(table, "new_family_reach") == (1, 3, round(1 / 3, 6))
    # no new-family rows in the school's first year in the data
    assert not ((table["area_id"] == "0001") & (table["year"] == 2023)
                & (table["group_type"] == "new_family")).any()
    assert not ((table["indicator"] == "new_family_reach") & (table["year"] == 2023)).any()


def test_student_changing_school_counts_at_both(table):
    assert counts(table, "conference_reach", area="0002") == (0, 2, 0.0)   # s5, s6


def test_communication(table):
    assert counts(table, "contact_reach") == (2, 4, 0.5)                 # F1, F2
    assert counts(table, "two_way_share") == (1, 4, 0.25)                # C2
    assert counts(table, "reply_rate") == (1, 2, 0.5)                    # C1 yes, C3 no, C4 unknown
    assert counts(table, "good_news_share") == (1, 3, round(1 / 3, 6))
    assert counts(table, "deficit_share") == (2, 3, round(2 / 3, 6))
    assert counts(table, "learning_contact_share") == (1, 4, 0.25)
    assert counts(table, "two_way_share", "ethnicity", "European") == (1, 4, 0.25)  # F1 and F2's contacts


def test_portal(table):
    assert counts(table, "portal_adoption") == (2, 4, 0.5)               # F1, F3 (F2 logged 0)
    assert counts(table, "portal_regular_use") == (1, 2, 0.5)            # F1: 6 months


def test_region_and_national_sum_the_schools(table):
    assert counts(table, "reach", area="Otago", level="region") == (3, 6, 0.5)
    assert counts(table, "reach", area="NZ", level="national") == (3, 6, 0.5)


def test_intervals_are_wilson(table):
    from statsmodels.stats.proportion import proportion_confint

    r = row(table, "reach")
    lo, hi = proportion_confint(2, 4, method="wilson")
    assert r["ci_low"] == pytest.approx(lo) and r["ci_high"] == pytest.approx(hi)


def test_exact_columns(table):
    assert list(table.columns) == indicators.COLUMNS


def test_missing_tables_give_no_rows_and_are_listed(tmp_path):
    for name in ("schools", "enrolments"):
        (tmp_path / f"{name}.csv").write_text(FILES[name], encoding="utf-8")
    ds = load_dataset(tmp_path)
    assert indicators.compute(ds).empty
    assert {"reach", "two_way_share", "portal_adoption"} <= set(indicators.not_available(ds))


def test_prioritised_ethnicity_is_one_rule_for_families_synthetic_data_and_the_inquiry_study():
    """The family units (bit masks), the synthetic data's table and the inquiry study use vocab.prioritised."""
    import pandas as pd

    from hsp_eval.data import vocab
    from hsp_eval.indicators.units import family_units
    from hsp_eval.reports.inquiry_impact import prioritised
    from hsp_eval.synthetic.roll import ETH_STRINGS, PRIO

    e = pd.DataFrame({"year": 2024, "school_id": "A", "student_id": ["1", "2", "3", "4", "5"],
                      "family_id": ["F", "F", "G", "H", "H"], "year_level": 3, "target": False,
                      "ethnicity": ["Not stated", "Pacific", "European;Asian", "MELAA", "Other;Māori"]})
    units = family_units(e, ["ethnicity_prioritised"])
    g = units.groups
    got = dict(zip(units.frame["family_id"].iloc[g["unit"]], g["group"].astype("str")))
    assert got == {"F": "Pacific", "G": "Asian", "H": "Māori"}  # Not stated only when nothing else
    union = e.groupby("family_id")["ethnicity"].agg(lambda s: ";".join(s))
    assert got == {f: vocab.prioritised(u) for f, u in union.items()}
    assert [vocab.ETHNIC_ALL[i] for i in PRIO] == [vocab.prioritised(s) for s in ETH_STRINGS]
    assert prioritised(e["ethnicity"]).tolist() == [vocab.prioritised(s) for s in e["ethnicity"]]
