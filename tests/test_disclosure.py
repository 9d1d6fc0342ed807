"""Disclosure control v2 (docs/disclosure.md): thresholds count people, a withheld cell cannot be
worked out from linked rows (groups, levels, indicators, derived rows), and publication rounds
every shown count by a keyed draw and computes values from the rounded counts."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from hsp_eval.indicators import disclosure
from hsp_eval.indicators.disclosure_key import KeyProblem

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
COLS = ["level", "area_id", "year", "indicator", "group_type", "group", "numerator", "denominator", "people",
        "value", "ci_low", "ci_high", "suppressed"]


def _table(groups: dict, group_type="ethnicity_prioritised", indicator="reach", level="school", area="0001",
           all_row=None, year=2024):
    """One cell's rows: the 'all' row plus one row per group, ``(num, den)`` or ``(num, den, people)``
    (people defaults to den). The all row sums the groups unless ``all_row`` gives it."""
    groups = {g: tuple(v) if len(v) == 3 else (v[0], v[1], v[1]) for g, v in groups.items()}
    if all_row is None:
        all_row = tuple(sum(v[i] for v in groups.values()) for i in range(3))
    elif len(all_row) == 2:
        all_row = (all_row[0], all_row[1], all_row[1])
    rows = [("all", "all", *all_row)] + [(group_type, g, *v) for g, v in groups.items()]
    t = pd.DataFrame(rows, columns=["group_type", "group", "numerator", "denominator", "people"]).astype(
        {"numerator": "float64", "denominator": "float64", "people": "float64"})
    t = t.assign(level=level, area_id=area, year=year, indicator=indicator, suppressed=False)
    t["value"] = t["numerator"] / t["denominator"]
    t["ci_low"], t["ci_high"] = t["value"] - 0.1, t["value"] + 0.1
    return t[COLS]


def _row(indicator, group_type="all", group="all", num=10.0, den=20.0, people=None, level="school", area="0001",
         year=2024):
    """One row as a one-row table."""
    return _table({}, indicator=indicator, level=level, area=area, year=year,
                  all_row=(num, den, den if people is None else people)).assign(group_type=group_type, group=group)


def _cat(*tables):
    return pd.concat(tables, ignore_index=True)


def _by(out, *cols):
    return out.set_index(list(cols))


# --- regime 1: school reports ----------------------------------------------------------------------

def test_primary_withholding_counts_people_not_contacts():
    # 40 contacts from 3 families: too few people; 40 contacts from 5 families: enough
    few = disclosure.protect(_row("two_way_share", num=10, den=40, people=3), min_n=5)
    assert few["suppressed"].tolist() == [True] and few["withheld_rule"].tolist() == ["small"]
    enough = disclosure.protect(_row("two_way_share", num=10, den=40, people=5), min_n=5)
    assert enough["suppressed"].tolist() == [False] and enough["withheld_rule"].tolist() == [""]


def test_a_withheld_row_keeps_its_keys_and_blanks_its_counts_value_and_interval():
    t = _cat(_row("two_way_share", num=10, den=40, people=3), _row("reach", num=10, den=40))
    out = disclosure.protect(t, min_n=5)
    hidden = out[out["suppressed"]]
    assert len(hidden) == 1
    assert hidden[disclosure.KEY_COLS].iloc[0].tolist() == ["school", "0001", 2024, "two_way_share", "all", "all"]
    blanked = ["numerator", "denominator", "people", "value", "ci_low", "ci_high"]
    assert hidden[blanked].isna().all().all()  # denominator and people included
    assert out.loc[~out["suppressed"], blanked].notna().all().all()


def test_a_lone_withheld_group_of_a_partition_takes_the_smallest_shown_group_with_it():
    t = _table({"Māori": (2, 3), "European": (10, 20), "Pacific": (5, 9), "Asian": (6, 12)})
    out = _by(disclosure.protect(t, min_n=5), "group")
    assert out["withheld_rule"].to_dict() == {"all": "", "Māori": "small", "European": "", "Pacific": "secondary",
                                              "Asian": ""}


def test_withheld_groups_covering_fewer_than_min_n_people_take_more_companions():
    # Māori and Pacific: two withheld groups, but 2 + 2 = 4 people (under 5): Asian (8) goes too
    t = _table({"Māori": (1, 2), "Pacific": (1, 2), "European": (10, 20), "Asian": (5, 8)})
    out = _by(disclosure.protect(t, min_n=5), "group")
    assert out["withheld_rule"].to_dict() == {"all": "", "Māori": "small", "Pacific": "small", "European": "",
                                              "Asian": "secondary"}


def test_non_partition_breakdowns_get_no_companion():
    t = _table({"celebration": (2, 3), "governance": (5, 20)}, group_type="activity_type",
               all_row=(30, 60))  # an activity type is not a part of the all row's population
    t = t.assign(indicator="two_way_share")  # (an indicator of no shared population: see below)
    out = _by(disclosure.protect(t, min_n=5), "group")
    assert out["suppressed"].to_dict() == {"all": False, "celebration": True, "governance": False}


def _gaps(t: pd.DataFrame) -> pd.DataFrame:
    """A ``<indicator>_gap_vs_rest`` row per group row of ``t``."""
    g = t[t["group_type"] != "all"]
    return g.assign(indicator=g["indicator"] + "_gap_vs_rest", value=0.05, ci_low=-0.1, ci_high=0.2)


def test_total_response_group_with_a_small_rest_is_withheld_with_its_gap_row():
    # total-response ethnicity overlaps: 20 families, 17 of them Māori, so the rest is 3 families
    t = _table({"Māori": (9, 17), "Pacific": (3, 6)}, group_type="ethnicity", all_row=(10, 20))
    out = _by(disclosure.protect(_cat(t, _gaps(t)), min_n=5), "indicator", "group")
    assert out.loc[("reach", "Māori"), "withheld_rule"] == "rest_small"
    assert out.loc[("reach_gap_vs_rest", "Māori"), "suppressed"]
    assert not out.loc[("reach", "Pacific"), "suppressed"]  # rest 14
    assert not out.loc[("reach_gap_vs_rest", "Pacific"), "suppressed"]
    assert not out.loc[("reach", "all"), "suppressed"]


def test_a_gap_row_goes_with_its_withheld_group():
    t = _table({"Māori": (2, 3), "European": (10, 20), "Pacific": (5, 9), "Asian": (6, 12)})
    out = _by(disclosure.protect(_cat(t, _gaps(t)), min_n=5), "indicator", "group")
    gaps = out.loc["reach_gap_vs_rest", "withheld_rule"].to_dict()
    # Māori's gap row has Māori's 3 people (small in itself); Pacific's goes because its group went
    assert gaps == {"Māori": "small", "European": "", "Pacific": "source", "Asian": ""}
    assert out.loc[("reach", "Pacific"), "withheld_rule"] == "secondary"


def test_a_region_of_one_school_is_withheld_with_its_school():
    t = _cat(_row("reach", num=2, den=3, area="0001"), _row("reach", num=2, den=8, level="region", area="Otago"))
    out = _by(disclosure.protect(t, min_n=5, region_of=pd.Series({"0001": "Otago"})), "area_id")
    assert out.loc["0001", "withheld_rule"] == "small"
    assert out.loc["Otago", "withheld_rule"] == "secondary"
    # the relation is what withholds it: without the school's region the region row would show
    assert not _by(disclosure.protect(t, min_n=5), "area_id").loc["Otago", "suppressed"]


def test_a_region_of_two_schools_does_not_give_away_the_withheld_one():
    t = _cat(_row("reach", num=2, den=3, area="0001"), _row("reach", num=8, den=20, area="0002"),
             _row("reach", num=10, den=23, level="region", area="Otago"))
    out = _by(disclosure.protect(t, min_n=5, region_of=pd.Series({"0001": "Otago", "0002": "Otago"})), "area_id")
    assert out.loc["0001", "suppressed"]
    assert out.loc["0002", "suppressed"] or out.loc["Otago", "suppressed"]  # no subtraction 23 - 20


def test_indicators_of_one_population_are_withheld_together():
    # reach and contact_reach count the same families in a cell; two_way_share does not
    t = _cat(_row("reach", num=2, den=4), _row("contact_reach", num=3, den=6), _row("two_way_share", num=3, den=6),
             _row("contact_reach", num=3, den=6, year=2023))
    out = _by(disclosure.protect(t, min_n=5), "year", "indicator")
    assert out.loc[(2024, "reach"), "withheld_rule"] == "small"
    assert out.loc[(2024, "contact_reach"), "withheld_rule"] == "population"
    assert not out.loc[(2024, "two_way_share"), "suppressed"]
    assert not out.loc[(2023, "contact_reach"), "suppressed"]  # another cell


def test_self_review_gap_goes_with_the_leaders_rating():
    rating = lambda g, people: _row("self_review_rating", "dimension", g, num=np.nan, den=people)  # noqa: E731
    gap = lambda g: _row("self_review_gap", "dimension", g, num=np.nan, den=np.nan, people=np.nan)  # noqa: E731
    t = _cat(rating("partnership:leaders", 3), rating("partnership:whanau", 30), gap("partnership"),
             rating("goals:leaders", 6), rating("goals:whanau", 30), gap("goals"))
    out = _by(disclosure.protect(t, min_n=5), "indicator", "group")
    assert out.loc[("self_review_rating", "partnership:leaders"), "withheld_rule"] == "small"
    assert out.loc[("self_review_gap", "partnership"), "withheld_rule"] == "source"
    assert not out.loc[("self_review_gap", "goals"), "suppressed"]


def test_protect_leaves_its_input_table_as_it_was():
    t = _table({"Māori": (2, 3), "European": (31, 100), "Pacific": (4, 9)})
    t = _cat(t, t.assign(level="region", area_id="Otago"), _gaps(t))
    t["people_num"] = t["numerator"]
    t["rest_people"] = np.nan
    before = copy.deepcopy(t)
    protected = disclosure.protect(t, min_n=5, region_of=pd.Series({"0001": "Otago"}))
    published = disclosure.protect(t, publication=True, key=KEY, region_of=pd.Series({"0001": "Otago"}))
    pd.testing.assert_frame_equal(t, before)
    # and each did change its own result: withheld rows there, rounded counts here
    assert protected["suppressed"].sum() > 0
    shown = ~published["suppressed"]
    assert not published.loc[shown, "denominator"].equals(t.loc[shown, "denominator"])


def test_categorical_keys_are_protected_as_text_keys_are():
    """The engine works with its text keys as categoricals: the same rows are withheld."""
    t = _table({"Māori": (2, 3), "European": (10, 20), "Pacific": (5, 9), "Asian": (6, 12)})
    text = _cat(t, _gaps(t), t.assign(level="region", area_id="Otago"))
    keys = ["level", "area_id", "indicator", "group_type", "group"]
    region_of = pd.Series({"0001": "Otago"})
    expected = disclosure.protect(text, min_n=5, region_of=region_of)
    as_codes = disclosure.protect(text.astype({c: "category" for c in keys}), min_n=5, region_of=region_of)
    assert expected["suppressed"].sum() >= 4
    pd.testing.assert_frame_equal(as_codes.astype({c: "str" for c in keys}), expected.astype({c: "str" for c in keys}))


# --- the disclosure log ----------------------------------------------------------------------------

def test_log_has_one_row_per_cell_with_a_plain_reason_for_each_withheld():
    t = _table({"Māori": (2, 3), "European": (10, 20), "Pacific": (5, 9), "Asian": (6, 12)})
    out = disclosure.protect(t, min_n=5)
    log = disclosure.log_of(out, "indicators", 5)
    assert len(log) == len(out) and not log.duplicated(disclosure.KEY_COLS).any()
    assert set(log["status"]) == {"shown", "withheld"}
    assert (log["status"] == "withheld").tolist() == out["suppressed"].tolist()
    withheld = log[log["status"] == "withheld"].set_index("group")
    assert withheld["rule"].to_dict() == {"Māori": "small", "Pacific": "secondary"}
    assert withheld.loc["Māori", "reason"] == "fewer than 5 people: too few to show safely"
    assert (withheld["reason"].str.len() > 10).all() and not withheld["reason"].str.contains("{").any()
    assert (log.loc[log["status"] == "shown", "reason"] == "").all()
    assert (log["table"] == "indicators").all() and "numerator" not in log


# --- regime 2: publication -------------------------------------------------------------------------

def _pub_table(n=200, seed=3):
    """``n`` school 'all' rows of reach with counts that are not multiples of 3 (people = families)."""
    rng = np.random.default_rng(seed)
    den = 3 * rng.integers(4, 60, n) + rng.integers(1, 3, n)
    num = np.minimum(3 * rng.integers(2, 20, n) + rng.integers(1, 3, n), den - 1)
    t = pd.concat([_row("reach", num=a, den=b, area=f"{i:04d}") for i, (a, b) in enumerate(zip(num, den))],
                  ignore_index=True)
    return t.assign(people_num=t["numerator"])


def test_publication_without_a_key_refuses_and_says_how_to_make_one():
    with pytest.raises(KeyProblem, match="hsp-eval key new"):
        disclosure.protect(_pub_table(5), publication=True)


def test_publication_counts_are_on_base_3_at_least_6_and_values_come_from_them():
    t = _cat(_pub_table(60), _row("reach", num=0, den=40, area="9001").assign(people_num=0.0))
    out = disclosure.protect(t, publication=True, key=KEY)
    shown = out[~out["suppressed"]]
    # nothing withheld but rows whose rounded numerator passed its rounded denominator
    assert out["withheld_rule"].isin(["", "rounding"]).all() and len(shown) > 50
    for c in ("numerator", "denominator", "people"):
        assert (np.mod(shown[c], 3) == 0).all(), c
        assert ((shown[c] >= 6) | ((c == "numerator") & (shown[c] == 0))).all(), c
    assert (shown["numerator"] != t["numerator"].reset_index(drop=True)[shown.index]).any()  # rounded, not exact
    np.testing.assert_array_equal(shown["value"], np.round(shown["numerator"] / shown["denominator"], 3))
    ci = shown[["ci_low", "ci_high"]].dropna()
    assert len(ci) > 50 and (ci == np.round(ci, 3)).all().all()


def test_publication_withholds_a_numerator_of_1_to_5_people():
    # 12 contacts from 5 families in a year, and from 6 families in another
    t = _cat(_row("two_way_share", num=12, den=40, people=30, year=2024).assign(people_num=5.0),
             _row("two_way_share", num=12, den=40, people=30, year=2023).assign(people_num=6.0))
    out = _by(disclosure.protect(t, publication=True, key=KEY), "year")
    assert out.loc[2024, "withheld_rule"] == "small_count"
    assert not out.loc[2023, "suppressed"]


def test_publication_withholds_everyone_or_no_one_of_fewer_than_10_people():
    t = _cat(_row("reach", num=9, den=9, year=2021), _row("reach", num=0, den=8, year=2022),
             _row("reach", num=10, den=10, year=2023), _row("reach", num=7, den=9, year=2024))
    out = _by(disclosure.protect(t.assign(people_num=t["numerator"]), publication=True, key=KEY), "year")
    rules = out["withheld_rule"].to_dict()
    assert rules[2021] == "extreme" and rules[2022] == "extreme" and rules[2023] == ""
    # 7 of 9 is not extreme, but rounded it may read 9 of 9 (or 6 of 6): then it is withheld as well
    shown = out[~out["suppressed"]]
    assert not (((shown["value"] == 0) | (shown["value"] == 1)) & (shown.index != 2023)).any()


def test_publication_threshold_is_6_people():
    t = _cat(_row("two_way_share", num=10, den=40, people=5, year=2023),
             _row("two_way_share", num=10, den=40, people=6, year=2024)).assign(people_num=6.0)
    out = _by(disclosure.protect(t, min_n=5, publication=True, key=KEY), "year")
    assert out["withheld_rule"].to_dict() == {2023: "small", 2024: ""}


def test_the_same_key_gives_the_same_publication_and_another_key_another():
    t = _pub_table(200)
    a = disclosure.protect(t, publication=True, key=KEY)
    pd.testing.assert_frame_equal(a, disclosure.protect(t, publication=True, key=KEY))
    b = disclosure.protect(t, publication=True, key=OTHER_KEY)
    assert (a["denominator"] != b["denominator"]).any() and (a["numerator"] != b["numerator"]).any()


def _with_record_keys(t, seed=5):
    """``t`` with sums of record keys for its counts, as the engine gives them (one set per row)."""
    rng = np.random.default_rng(seed)
    return t.assign(**{f"ck_{c}": rng.integers(0, 2 ** 30, len(t)).astype("float64")
                       for c in ("numerator", "denominator", "people")})


def test_the_same_records_get_the_same_published_count_wherever_they_are_counted():
    # a region of one school counts that school's records; so does another indicator of the same
    # families: the engine gives them the same sums of record keys, so they must round alike
    school = _with_record_keys(_pub_table(40).assign(area_id="0001", year=lambda d: 2000 + np.arange(len(d))))
    t = _cat(school, school.assign(level="region", area_id="Otago"),
             school.assign(indicator="reach_learning"))
    out = disclosure.protect(t, publication=True, key=KEY, region_of=pd.Series({"0001": "Otago"}))
    assert not out["suppressed"].any()
    assert not any(c.startswith("ck_") for c in out.columns)  # the key sums stay inside
    n = len(school)
    s, r, other = (out.iloc[i * n:(i + 1) * n].reset_index(drop=True) for i in range(3))
    for c in ("numerator", "denominator", "people", "value"):
        pd.testing.assert_series_equal(s[c], r[c], check_names=False)
        pd.testing.assert_series_equal(s[c], other[c], check_names=False)


def test_one_record_more_or_less_gives_an_independent_draw():
    # the same labels and counts, but other records (another sum of keys): rounded independently
    a = _with_record_keys(_pub_table(300), seed=5)
    b = a.assign(ck_numerator=a["ck_numerator"] + 1, ck_denominator=a["ck_denominator"] + 1,
                 ck_people=a["ck_people"] + 1)
    pa_, pb = (disclosure.protect(x, publication=True, key=KEY) for x in (a, b))
    moved = (pa_["denominator"] != pb["denominator"]).mean()
    # two independent roundings of a count that is not a multiple of 3 differ with probability 4/9
    assert 0.3 < moved < 0.6, moved


def test_publication_never_shows_a_proportion_outside_0_to_1():
    # 19 of 20: the numerator goes up to 21 with probability 1/3 and the denominator down to 18 with 1/3
    t = pd.concat([_row("reach", num=19, den=20, area=f"{i:04d}") for i in range(100)], ignore_index=True)
    out = disclosure.protect(t.assign(people_num=19.0), publication=True, key=KEY)
    shown = out[~out["suppressed"]]
    assert ((shown["value"] >= 0) & (shown["value"] <= 1)).all()
    assert shown[["ci_low", "ci_high"]].notna().all().all()


def test_schools_released_without_their_region_are_not_linked_to_each_other():
    t = _cat(_row("two_way_share", num=10, den=40, people=3, area="0001"),
             _row("two_way_share", num=10, den=40, people=30, area="0002"))
    for region_of in (None, pd.Series({"0001": "Otago", "0002": "Otago"})):
        out = _by(disclosure.protect(t, min_n=5, region_of=region_of), "area_id")
        assert out["withheld_rule"].to_dict() == {"0001": "small", "0002": ""}


# --- rr3 and keyed draws ---------------------------------------------------------------------------

def test_rr3_is_unbiased_and_keeps_multiples_of_3():
    u = np.random.default_rng(0).random(20000)
    for count in (7.0, 8.0):
        r = disclosure.rr3(np.full(len(u), count), u)
        assert set(np.unique(r)) == {count - count % 3, count - count % 3 + 3}
        assert abs(r.mean() - count) < 0.05, count
    kept = np.array([0.0, 3.0, 6.0, 9.0, 300.0])
    assert disclosure.rr3(kept, np.array([0.0, 0.3, 0.5, 0.7, 0.999])).tolist() == kept.tolist()
    assert np.isnan(disclosure.rr3(np.array([np.nan]), np.array([0.5]))[0])


def test_keyed_uniform_depends_on_the_key_and_the_label():
    a = disclosure.keyed_uniform(KEY, ["x", "y", "x"])
    assert ((a >= 0) & (a < 1)).all()
    assert a[0] == a[2] and a[0] != a[1]
    assert disclosure.keyed_uniform(KEY, ["x"])[0] == a[0]
    assert disclosure.keyed_uniform(OTHER_KEY, ["x"])[0] != a[0]


def test_wilson_interval_always_contains_its_value():
    from hsp_eval.indicators import stats

    n = np.arange(1, 400, dtype=float)
    for count in (np.zeros_like(n), n, np.floor(n / 3)):
        lo, hi = stats.wilson(count, n)
        p = count / n
        assert (lo <= p).all() and (p <= hi).all()
