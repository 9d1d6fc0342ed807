"""Trends, change over the years, target status, and params files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hsp_eval import stats
from hsp_eval.params import ParamsError, load_params, parse_params
from hsp_eval.trends import compute_trends, logistic_trend, targets_frame


def test_vectorised_logistic_trend_equals_statsmodels_glm_series_by_series():
    rng = np.random.default_rng(7)
    num, den, year, series = [], [], [], []
    for s in range(120):
        n = int(rng.integers(3, 7))
        ys = np.arange(2019, 2019 + n)
        d = rng.integers(5, 400, size=n)
        p = 1 / (1 + np.exp(-(rng.normal() + rng.normal() * 0.3 * (ys - 2021))))
        num += list(rng.binomial(d, p)); den += list(d); year += list(ys); series += [s] * n
    num, den, year, series = map(np.asarray, (num, den, year, series))
    fit = logistic_trend(num, den, year, series)
    for s in range(120):
        m = series == s
        x = sm.add_constant(year[m] - fit["centre"][s])
        r = sm.GLM(np.c_[num[m], den[m] - num[m]], x, family=sm.families.Binomial()).fit()
        assert fit["slope"][s] == pytest.approx(r.params[1], abs=1e-8)
        assert fit["se"][s] == pytest.approx(r.bse[1], rel=1e-5)
        assert fit["p_value"][s] == pytest.approx(r.pvalues[1], abs=1e-5)  # statsmodels stops at tol 1e-8


def test_separated_series_is_not_significant_and_does_not_blow_up():
    fit = logistic_trend(np.array([0, 0, 5.]), np.array([5, 5, 5.]), np.array([2022, 2023, 2024]),
                         np.array([0, 0, 0]))
    assert np.isfinite(fit["slope"][0]) and fit["p_value"][0] > 0.05


def _table(series: dict, indicator="reach", school="0001", group_type="all", group="all"):
    rows = []
    for year, (n, d) in series.items():
        lo, hi = stats.wilson([n], [d])
        rows.append(dict(level="school", area_id=school, year=year, indicator=indicator, group_type=group_type,
                         group=group, numerator=float(n), denominator=float(d), value=n / d, ci_low=lo[0],
                         ci_high=hi[0], suppressed=False))
    return pd.DataFrame(rows)


def test_improving_declining_stable_respect_the_better_direction():
    rising = {2022: (20, 100), 2023: (35, 100), 2024: (50, 100)}
    flat = {2022: (30, 100), 2023: (31, 100), 2024: (30, 100)}
    t = pd.concat([_table(rising), _table(rising, indicator="deficit_share"), _table(flat, school="0002")])
    tr = compute_trends(t).set_index(["area_id", "indicator"])
    assert tr.loc[("0001", "reach"), "trend"] == "improving"
    assert tr.loc[("0001", "deficit_share"), "trend"] == "declining"  # more problem-focused contact
    assert tr.loc[("0002", "reach"), "trend"] == "stable"
    r = tr.loc[("0001", "reach")]
    assert (r["first_year"], r["last_year"], r["n_years"]) == (2022, 2024, 3)
    assert r["change"] == pytest.approx(0.3)
    lo, hi = stats.newcombe([50], [100], [20], [100])
    assert (r["change_ci_low"], r["change_ci_high"]) == pytest.approx((lo[0], hi[0]))


def test_two_years_is_insufficient_for_a_trend_and_suppressed_years_do_not_count():
    t = _table({2023: (20, 100), 2024: (50, 100)})
    sup = _table({2025: (1, 3)}).assign(suppressed=True, numerator=np.nan, value=np.nan)
    tr = compute_trends(pd.concat([t, sup]))
    assert tr["trend"].tolist() == ["insufficient_data"] and tr["last_year"].tolist() == [2024]


def test_target_status():
    rising = {2022: (20, 100), 2023: (30, 100), 2024: (40, 100)}
    t = pd.concat([_table(rising), _table(rising, school="0002"), _table(rising, school="0003"),
                   _table({2024: (40, 100)}, school="0004")])
    params = {
        "0001": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.35, "year": 2024}]},
        "0002": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.55, "year": 2026}]},
        "0003": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.9, "year": 2025}]},
        "0004": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.9, "year": 2025}]},
    }
    tr = compute_trends(t, targets_frame(params)).set_index("area_id")
    assert tr.loc["0001", "target_status"] == "met"            # 0.40 >= 0.35 in 2024
    assert tr.loc["0002", "target_status"] == "on_track"       # +10 points a year reaches 0.55 by 2026
    assert tr.loc["0003", "target_status"] == "not_on_track"   # 0.9 by 2025 is out of reach
    assert tr.loc["0004", "target_status"] == "insufficient_data"
    assert 0.55 < tr.loc["0002", "fitted_at_target_year"] < 0.7


def test_params_file_is_checked_with_plain_messages(tmp_path):
    good = tmp_path / "0042.yaml"
    good.write_text('school_id: "0042"\nyears: 2022-2025\ntargets:\n'
                    '  - {indicator: reach, group_type: ethnicity, group: Māori, value: 0.6, year: 2025}\n')
    p = load_params(good)
    assert p["years"] == [2022, 2023, 2024, 2025] and p["targets"][0]["group"] == "Māori"
    with pytest.raises(ParamsError, match="quoted text"):
        parse_params({"school_id": 42}, "x.yaml")
    with pytest.raises(ParamsError, match="not an indicator"):
        parse_params({"school_id": "1", "targets": [{"indicator": "happiness", "value": 1, "year": 2025}]}, "x")
    with pytest.raises(ParamsError, match="between 0 and 1"):
        parse_params({"school_id": "1", "targets": [{"indicator": "reach", "value": 60, "year": 2025}]}, "x")
    with pytest.raises(ParamsError, match="unknown field"):
        parse_params({"school_id": "1", "colour": "red"}, "x")


def test_demo_params_load_and_their_targets_get_a_status():
    from pathlib import Path

    from hsp_eval import indicators, load_dataset
    from hsp_eval.params import load_params_dir

    root = Path(__file__).resolve().parents[1]
    params = load_params_dir(root / "params" / "demo")
    assert "0113" in params and params["0113"]["targets"]
    table = indicators.compute(load_dataset(root / "data" / "demo"), indicators=["reach", "reach_learning"])
    tr = compute_trends(table, targets_frame(params))
    status = tr.dropna(subset=["target_value"]).set_index(["indicator", "group"])["target_status"]
    assert status[("reach", "Māori")] == "met"  # 0.60 in 2025 against a target of 0.6
