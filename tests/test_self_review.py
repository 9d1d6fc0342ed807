"""Self-review indicators on a hand-built dataset, every value worked out by hand.

Ratings (1-4) of the partnership self-review; 0001 and 0002 in Otago, 0003 in Canterbury:

- 0001, 2024: vision_and_culture: leaders 4, 4, 3; whānau 2, 3; staff 3.
  time: leaders 2, 2; whānau 3, 4, 4 (whānau rate it higher: a negative gap).
- 0002, 2024: vision_and_culture: leaders 3; whānau 3, 2. time: leaders 3 (no whānau rating).
- 0003, 2024: vision_and_culture: whānau 4 (no leaders' rating).
- 0001, 2023: vision_and_culture: leaders 3; whānau 3 (one rating each: no interval).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from hsp_eval.indicators import engine as indicators
from hsp_eval import load_dataset
from hsp_eval.indicators.topics.self_review import welch_interval
from hsp_eval.testing import one_row

ENROL = ["0001,a1,FA,3,Māori", "0002,b1,FB,9,European", "0003,c1,FC,2,Pacific"]
RATINGS = {
    ("0001", 2024, "vision_and_culture", "leaders"): [4, 4, 3],
    ("0001", 2024, "vision_and_culture", "whanau"): [2, 3],
    ("0001", 2024, "vision_and_culture", "staff"): [3],
    ("0001", 2024, "time", "leaders"): [2, 2],
    ("0001", 2024, "time", "whānau"): [3, 4, 4],          # the macron alias of whanau
    ("0002", 2024, "vision_and_culture", "leaders"): [3],
    ("0002", 2024, "vision_and_culture", "whanau"): [3, 2],
    ("0002", 2024, "time", "leaders"): [3],
    ("0003", 2024, "vision_and_culture", "whanau"): [4],
    ("0001", 2023, "vision_and_culture", "leaders"): [3],
    ("0001", 2023, "vision_and_culture", "whanau"): [3],
}
FILES = {
    "schools": """school_id,school_name,region,school_type
0001,Kura A,Otago,Full Primary
0002,Kura B,Otago,Secondary (Year 7-15)
0003,Kura C,Canterbury,Contributing
""",
    "enrolments": "year,school_id,student_id,family_id,year_level,ethnicity\n"
                  + "".join(f"{y},{e}\n" for y in (2023, 2024) for e in ENROL),
    "self_review": "year,school_id,framework,dimension,rater_group,rating\n"
                   + "".join(f"{y},{s},partnership_self_review,{d},{g},{r}\n"
                             for (s, y, d, g), rs in RATINGS.items() for r in rs),
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("self_review")
    for name, text in FILES.items():
        (d / f"{name}.csv").write_text(text, encoding="utf-8")
    return load_dataset(d)


@pytest.fixture(scope="module")
def table(dataset):
    return indicators.compute(dataset, min_n=1)


def row(table, indicator, group, area="0001", year=2024, level="school"):
    return one_row(table, indicator, "dimension", group, area, year, level)


def has(table, indicator, group, area="0001", year=2024, level="school"):
    return ((table["level"] == level) & (table["area_id"] == area) & (table["year"] == year)
            & (table["indicator"] == indicator) & (table["group"] == group)).any()


def test_rating_means_per_dimension_and_rater(table):
    r = row(table, "self_review_rating", "vision_and_culture:leaders")
    assert np.isnan(r["numerator"]) and r["denominator"] == 3
    assert r["value"] == pytest.approx(11 / 3)
    lo, hi = DescrStatsW(np.array([4.0, 4, 3])).tconfint_mean()
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))
    r = row(table, "self_review_rating", "vision_and_culture:whanau")
    assert (r["denominator"], r["value"]) == (2, 2.5)
    r = row(table, "self_review_rating", "time:whanau")                 # the alias whānau -> whanau
    assert (r["denominator"], r["value"]) == (3, pytest.approx(11 / 3))
    r = row(table, "self_review_rating", "vision_and_culture:staff")
    assert (r["denominator"], r["value"]) == (1, 3.0) and np.isnan(r["ci_low"])


def test_rating_rolls_up_by_pooling_ratings(table):
    r = row(table, "self_review_rating", "vision_and_culture:leaders", area="Otago", level="region")
    assert (r["denominator"], r["value"]) == (4, 3.5)                   # 4, 4, 3 and 3
    r = row(table, "self_review_rating", "vision_and_culture:whanau", area="NZ", level="national")
    assert (r["denominator"], r["value"]) == (5, pytest.approx(14 / 5))  # 2, 3, 3, 2, 4
    lo, hi = DescrStatsW(np.array([2.0, 3, 3, 2, 4])).tconfint_mean()
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))


def test_gap_is_leaders_minus_whanau_with_a_welch_interval(table):
    r = row(table, "self_review_gap", "vision_and_culture")
    assert np.isnan(r["numerator"]) and r["denominator"] == 2           # whānau ratings
    assert r["value"] == pytest.approx(11 / 3 - 5 / 2) and r["value"] > 0
    lo, hi = CompareMeans(DescrStatsW(np.array([4.0, 4, 3])), DescrStatsW(np.array([2.0, 3]))
                          ).tconfint_diff(usevar="unequal")
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))


def test_gap_sign_when_whanau_rate_higher(table):
    r = row(table, "self_review_gap", "time")
    assert r["value"] == pytest.approx(2 - 11 / 3) and r["value"] < 0 and r["denominator"] == 3
    assert r["ci_low"] < r["value"] < r["ci_high"]
    lo, hi = CompareMeans(DescrStatsW(np.array([2.0, 2])), DescrStatsW(np.array([3.0, 4, 4]))
                          ).tconfint_diff(usevar="unequal")
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((lo, hi))


def test_gap_needs_both_rater_groups(table):
    assert not has(table, "self_review_gap", "time", area="0002")           # no whānau rating
    assert not has(table, "self_review_gap", "vision_and_culture", area="0003")  # no leaders' rating
    r = row(table, "self_review_gap", "vision_and_culture", area="0002")
    assert (r["denominator"], r["value"]) == (2, 0.5) and np.isnan(r["ci_low"])  # one leader: no interval


def test_gap_at_region_and_national_pools_ratings(table):
    r = row(table, "self_review_gap", "vision_and_culture", area="Otago", level="region")
    assert (r["denominator"], r["value"]) == (4, 1.0)                   # 3.5 - 2.5
    r = row(table, "self_review_gap", "vision_and_culture", area="NZ", level="national")
    assert r["denominator"] == 5 and r["value"] == pytest.approx(3.5 - 2.8)
    assert not has(table, "self_review_gap", "vision_and_culture", area="Canterbury", level="region")
    r = row(table, "self_review_gap", "vision_and_culture", year=2023)
    assert (r["denominator"], r["value"]) == (1, 0.0) and np.isnan(r["ci_high"])


def test_default_min_n_suppresses_small_rows(dataset):
    t = indicators.compute(dataset)
    r = row(t, "self_review_gap", "vision_and_culture")                 # 2 whānau ratings
    assert r["suppressed"] and np.isnan(r["value"]) and np.isnan(r["ci_low"])
    # 5 whānau ratings nationally, but only 4 leaders': the leaders' rating is withheld, and the gap
    # computed from it with it (disclosure spec v2: a derived row goes with its sources)
    assert row(t, "self_review_rating", "vision_and_culture:leaders", area="NZ", level="national")["suppressed"]
    # (the nation's 5 whānau ratings go too: they are two regions' withheld ratings, 1 and 4, and a
    # shown 5 would prove each at most 4)
    assert row(t, "self_review_rating", "vision_and_culture:whanau", area="NZ", level="national")["suppressed"]
    r = row(t, "self_review_gap", "vision_and_culture", area="NZ", level="national")
    assert r["suppressed"] and np.isnan(r["value"])
    r = row(t, "self_review_rating", "vision_and_culture:leaders")      # 3 ratings
    assert r["suppressed"] and np.isnan(r["value"])


def test_welch_interval_edge_cases():
    lo, hi = welch_interval([3.0, 3.0, 2.0], [0.0, 1.0, 1.0], [4, 1, 5], [2.0, 2.0, 1.0], [0.0, 1.0, 0.5], [3, 5, 8])
    assert (lo[0], hi[0]) == (1.0, 1.0)                 # no spread in either group
    assert np.isnan(lo[1]) and np.isnan(hi[1])          # one value in a group
    se = np.sqrt(1 / 5 + 0.25 / 8)
    df = se ** 4 / ((1 / 5) ** 2 / 4 + (0.25 / 8) ** 2 / 7)
    half = sps.t.ppf(0.975, df) * se
    assert (lo[2], hi[2]) == pytest.approx((1 - half, 1 + half))
