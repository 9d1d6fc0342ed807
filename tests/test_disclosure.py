"""Disclosure control: small counts never leak, rounding is unbiased and repeatable, and a
suppressed group cannot be recovered by subtraction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsp_eval import disclosure


def _table(groups: dict[str, tuple[int, int]], group_type="ethnicity_prioritised", indicator="reach",
           level="school", area="0001"):
    """An indicator table for one cell: the 'all' row plus one row per group (num, den)."""
    num_all = sum(n for n, _ in groups.values())
    den_all = sum(d for _, d in groups.values())
    rows = [("all", "all", num_all, den_all)] + [(group_type, g, n, d) for g, (n, d) in groups.items()]
    t = pd.DataFrame(rows, columns=["group_type", "group", "numerator", "denominator"]).astype(
        {"numerator": "float64", "denominator": "float64"})
    t = t.assign(level=level, area_id=area, year=2024, indicator=indicator, suppressed=False,
                 rest_denominator=np.nan)
    t["value"] = t["numerator"] / t["denominator"]
    t["ci_low"], t["ci_high"] = t["value"] - 0.1, t["value"] + 0.1
    return t


def test_small_denominator_is_suppressed_and_blanked():
    t = disclosure.suppress_small(_table({"Māori": (2, 3), "European": (10, 20), "Pacific": (5, 9)}), min_n=5)
    m = t.set_index("group")
    assert m.loc["Māori", "suppressed"]
    assert np.isnan(m.loc["Māori", ["numerator", "value", "ci_low", "ci_high"]].astype(float)).all()
    assert m.loc["Māori", "denominator"] == 3  # the denominator stays, as the spec says


def test_lone_suppressed_group_gets_a_companion_so_subtraction_cannot_recover_it():
    t = disclosure.suppress_small(
        _table({"Māori": (2, 3), "European": (10, 20), "Pacific": (5, 9), "Asian": (6, 12)}), min_n=5)
    shown = t[~t["suppressed"] & (t["group"] != "all")]
    hidden = t[t["suppressed"]]
    assert sorted(hidden["group"]) == ["Māori", "Pacific"]  # Pacific: the next smallest (9)
    all_row = t[t["group"] == "all"].iloc[0]
    recovered = all_row["numerator"] - shown["numerator"].sum()
    assert recovered == 7  # only the sum of the two hidden groups can be known, not either one


def test_no_companion_needed_when_two_groups_are_small():
    t = disclosure.suppress_small(_table({"Māori": (2, 3), "Pacific": (1, 4), "European": (10, 20)}), min_n=5)
    assert sorted(t.loc[t["suppressed"], "group"]) == ["Māori", "Pacific"]


def test_non_partition_breakdowns_get_no_companion():
    t = disclosure.suppress_small(
        _table({"celebration": (2, 3), "governance": (5, 20)}, group_type="activity_type"), min_n=5)
    assert t.loc[t["suppressed"], "group"].tolist() == ["celebration"]


def test_gap_row_goes_with_its_group_and_with_a_small_rest():
    t = _table({"Māori": (2, 3), "European": (10, 20), "Pacific": (5, 9), "Asian": (6, 12)})
    gaps = t[t["group"] != "all"].assign(indicator="reach_gap_vs_rest",
                                         rest_denominator=lambda d: 44 - d["denominator"])
    gaps.loc[gaps["group"] == "European", "rest_denominator"] = 4  # pretend a small rest
    out = disclosure.suppress_small(pd.concat([t, gaps], ignore_index=True), min_n=5)
    g = out[out["indicator"] == "reach_gap_vs_rest"].set_index("group")["suppressed"]
    assert g.to_dict() == {"Māori": True, "European": True, "Pacific": True, "Asian": False}


def test_categorical_keys_are_suppressed_as_text_keys_are():
    """The engine suppresses with its text keys as categorical codes: the same rows are hidden."""
    t = _table({"Māori": (2, 3), "European": (10, 20), "Pacific": (5, 9), "Asian": (6, 12)})
    gaps = t[t["group"] != "all"].assign(indicator="reach_gap_vs_rest",
                                         rest_denominator=lambda d: 44 - d["denominator"])
    gaps.loc[gaps["group"] == "European", "rest_denominator"] = 4
    other = _table({"Māori": (1, 2), "European": (3, 30)}, indicator="breadth")  # no gap rows
    text = pd.concat([t, gaps, other], ignore_index=True)
    keys = ["level", "area_id", "indicator", "group_type", "group"]
    as_codes = disclosure.suppress_small(text.astype({c: "category" for c in keys}), min_n=5)
    expected = disclosure.suppress_small(text, min_n=5)
    assert as_codes["suppressed"].sum() > 3
    pd.testing.assert_frame_equal(as_codes.astype({c: "str" for c in keys}), expected)


def test_rr3_is_unbiased_repeatable_and_on_base_3():
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 200, size=60_000).astype(float)
    keys = pd.DataFrame({"k": np.arange(len(counts)).astype(str)})
    r = disclosure.rr3(counts, keys)
    assert (np.mod(r, 3) == 0).all() and (np.abs(r - counts) < 3).all()
    assert ((counts % 3 == 0) <= (r == counts)).all()  # multiples of 3 stay
    diff = r - counts
    assert abs(diff.mean()) < 4 * diff.std() / np.sqrt(len(diff))  # unbiased
    ones = counts % 3 == 1
    assert abs((r[ones] < counts[ones]).mean() - 2 / 3) < 0.02  # down with probability 2/3 when 1 above
    assert np.array_equal(r, disclosure.rr3(counts, keys))  # same keys, same draws


def test_rr3_draws_depend_on_the_key_not_the_position():
    counts = np.array([4.0, 4.0, 4.0, 4.0] * 50)
    keys = pd.DataFrame({"k": [f"cell{i}" for i in range(200)]})
    r = disclosure.rr3(counts, keys)
    shuffled = disclosure.rr3(counts[::-1], keys[::-1].reset_index(drop=True))
    assert np.array_equal(r, shuffled[::-1])
    assert set(r) == {3.0, 6.0}


def test_publication_rounds_and_suppresses_small_unrounded_counts():
    t = pd.concat([_table({"Māori": (4, 40), "European": (30, 100)}, level="national", area="NZ"),
                   _table({"Māori": (4, 40), "European": (30, 100)})], ignore_index=True)
    p = disclosure.publication(t)
    nat = p[p["level"] == "national"].set_index("group")
    assert nat.loc["Māori", "suppressed"]  # numerator 4 < 6
    assert not nat.loc["European", "suppressed"]
    assert nat.loc["European", "value"] == pytest.approx(0.3)  # from unrounded counts
    assert (np.mod(nat["denominator"], 3) == 0).all()
    assert np.mod(nat.loc[~nat["suppressed"], "numerator"], 3).eq(0).all()
    school = p[p["level"] == "school"]
    assert school["numerator"].tolist() == t[t["level"] == "school"]["numerator"].tolist()


def test_suppression_and_publication_leave_their_input_table_as_it_was():
    # both work on shallow copies (columns copied only when written); the caller's table must not change
    groups = {"Māori": (2, 3), "European": (31, 100), "Pacific": (4, 9)}
    t = pd.concat([_table(groups, level="national", area="NZ"), _table(groups)], ignore_index=True)
    before = t.copy(deep=True)
    suppressed = disclosure.suppress_small(t, min_n=5)
    suppressed_before = suppressed.copy(deep=True)
    published = disclosure.publication(suppressed)
    pd.testing.assert_frame_equal(t, before)
    pd.testing.assert_frame_equal(suppressed, suppressed_before)
    # and each did change its own result: suppressed rows there, rounded national counts here
    assert suppressed["suppressed"].sum() > t["suppressed"].sum()
    assert not published["numerator"].equals(suppressed["numerator"])


def _with_representation(t: pd.DataFrame) -> pd.DataFrame:
    """Add a respondent_representation row per group, shown unless suppressed with its source."""
    rep = t[t["group_type"] != "all"].assign(indicator="respondent_representation", denominator=40.0, numerator=np.nan,
                                             value=0.01)
    return pd.concat([t, rep], ignore_index=True)


def test_representation_goes_with_its_response_rate_row():
    # Māori: 3 families (suppressed), but 40 respondents in all: the representation row would
    # otherwise show Māori respondents' share and give their count back.
    t = _with_representation(_table({"Māori": (2, 3), "European": (20, 30), "Pacific": (6, 9), "Asian": (12, 20)},
                                    group_type="ethnicity", indicator="survey_response_rate"))
    out = disclosure.suppress_small(t, min_n=5).set_index(["indicator", "group"])
    for g in ("Māori", "Pacific"):  # Pacific: the complementary companion
        assert out.loc[("survey_response_rate", g), "suppressed"]
        assert out.loc[("respondent_representation", g), "suppressed"], g
        assert np.isnan(out.loc[("respondent_representation", g), "value"])
    assert not out.loc[("respondent_representation", "European"), "suppressed"]


def test_publication_suppresses_representation_of_a_small_group():
    t = _with_representation(_table({"Māori": (4, 30), "European": (20, 30)}, group_type="ethnicity",
                                    indicator="survey_response_rate", level="region", area="Otago"))
    out = disclosure.publication(t).set_index(["indicator", "group"])
    assert out.loc[("survey_response_rate", "Māori"), "suppressed"]  # 4 respondents < 6
    assert out.loc[("respondent_representation", "Māori"), "suppressed"]
    assert not out.loc[("respondent_representation", "European"), "suppressed"]


def test_wilson_interval_always_contains_its_value():
    from hsp_eval import stats

    n = np.arange(1, 400, dtype=float)
    for count in (np.zeros_like(n), n, np.floor(n / 3)):
        lo, hi = stats.wilson(count, n)
        p = count / n
        assert (lo <= p).all() and (p <= hi).all()
