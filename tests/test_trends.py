"""Trends, change over the years, target status, and params files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hsp_eval.indicators import stats
from hsp_eval.indicators.params import ParamsError, load_params, parse_params
from hsp_eval.indicators.trends import between_year_variances, compute_trends, linear_trend, targets_frame


def test_vectorised_trend_lines_equal_statsmodels_wls_series_by_series():
    rng = np.random.default_rng(7)
    value, var, year, series = [], [], [], []
    for s in range(120):
        n = int(rng.integers(3, 7))
        ys = np.arange(2019, 2019 + n)
        v = rng.uniform(0.0005, 0.01, size=n)
        value += list(0.5 + 0.02 * (ys - 2021) + rng.normal(0, np.sqrt(v))); var += list(v)
        year += list(ys); series += [s] * n
    value, var, year, series = map(np.asarray, (value, var, year, series))
    tau2 = 0.0007
    fit = linear_trend(value, var, year, series, tau2)
    for s in range(120):
        m = series == s
        x = sm.add_constant(year[m] - fit["centre"][s])
        # known variances: the scale is fixed at 1, and the test is a z test
        r = sm.WLS(value[m], x, weights=1 / (var[m] + tau2)).fit(cov_type="fixed scale", use_t=False)
        assert fit["slope"][s] == pytest.approx(r.params[1], abs=1e-12)
        assert fit["level"][s] == pytest.approx(r.params[0], abs=1e-12)
        assert fit["se"][s] == pytest.approx(r.bse[1], rel=1e-9)
        assert fit["p_value"][s] == pytest.approx(r.pvalues[1], rel=1e-6, abs=1e-12)
        r0 = sm.WLS(value[m], x, weights=1 / var[m]).fit()
        q0 = linear_trend(value[m], var[m], year[m], np.zeros(m.sum(), dtype=int))["q"][0]
        assert q0 == pytest.approx(r0.ssr, rel=1e-9)  # the weighted residual sum of squares


def _simulated(n_series=3000, years=4, logit_sd=0.25, slope=0.0, seed=3):
    """School series with known truth: each school its own level (logit sd 1.2) and size (10-600
    families), each year its own shock (``logit_sd``: events, staff, cohorts), a true change of
    ``slope`` on the logit scale per year, and binomial sampling with Wilson intervals."""
    rng = np.random.default_rng(seed)
    n = rng.integers(10, 600, n_series)
    yrs = np.arange(2022, 2022 + years)
    eta = rng.normal(0, 1.2, n_series)[:, None] + slope * (yrs - yrs.mean()) + rng.normal(0, logit_sd,
                                                                                          (n_series, years))
    k = rng.binomial(np.repeat(n[:, None], years, axis=1), 1 / (1 + np.exp(-eta))).ravel()
    d = np.repeat(n, years)
    lo, hi = stats.wilson(k, d)
    return pd.DataFrame({"level": "school", "area_id": np.repeat(np.arange(n_series), years).astype(str),
                         "year": np.tile(yrs, n_series), "indicator": "reach", "group_type": "all", "group": "all",
                         "numerator": k, "denominator": d, "value": k / d, "ci_low": lo, "ci_high": hi,
                         "suppressed": False})


@pytest.mark.parametrize("years,logit_sd", [(3, 0.25), (4, 0.0), (4, 0.25), (4, 0.5), (5, 0.25)])
def test_with_no_true_trend_about_5_percent_of_series_are_called_changing(years, logit_sd):
    t = _simulated(years=years, logit_sd=logit_sd)
    tr = compute_trends(t)
    changing = (tr["trend"] != "no clear change").mean()
    assert 0.03 <= changing <= 0.07, changing
    # the between-year variance is recovered (reported as at 50%: logit sd / 4)
    assert tr["between_year_sd"].iloc[0] == pytest.approx(logit_sd / 4, abs=0.01)
    if logit_sd >= 0.25:  # the binomial-only test (v1's) cries wolf
        naive = compute_trends(t, between_year_var={"reach": 0.0})
        assert (naive["trend"] != "no clear change").mean() > 0.15


def test_a_true_trend_is_found():
    # about +10 points a year at 50% over four years: found in most schools (82% in this draw),
    # never the wrong way; +5 points a year is found in about a third (the price of honesty)
    tr = compute_trends(_simulated(slope=0.4, logit_sd=0.25, seed=4))
    assert (tr["trend"] == "improving").mean() > 0.7
    assert (tr["trend"] == "declining").mean() < 0.01


def test_one_schools_trends_take_the_between_year_variance_they_are_given():
    t = _simulated(n_series=400, logit_sd=0.5)
    alone = t[t["area_id"] == "7"]
    tau2 = between_year_variances(compute_trends(t))
    mine = compute_trends(alone, between_year_var=tau2)
    assert mine["between_year_sd"].iloc[0] == pytest.approx(np.sqrt(tau2["reach"]))
    assert mine["slope_ci_high"].iloc[0] - mine["slope_ci_low"].iloc[0] > \
        compute_trends(alone)["slope_ci_high"].iloc[0] - compute_trends(alone)["slope_ci_low"].iloc[0]


def _table(series: dict, indicator="reach", school="0001", group_type="all", group="all"):
    rows = []
    for year, (n, d) in series.items():
        lo, hi = stats.wilson([n], [d])
        rows.append(dict(level="school", area_id=school, year=year, indicator=indicator, group_type=group_type,
                         group=group, numerator=float(n), denominator=float(d), value=n / d, ci_low=lo[0],
                         ci_high=hi[0], suppressed=False))
    return pd.DataFrame(rows)


def test_improving_declining_no_clear_change_respect_the_better_direction():
    rising = {2022: (20, 100), 2023: (35, 100), 2024: (50, 100)}
    flat = {2022: (30, 100), 2023: (31, 100), 2024: (30, 100)}
    t = pd.concat([_table(rising), _table(rising, indicator="deficit_share"), _table(flat, school="0002")])
    tr = compute_trends(t).set_index(["area_id", "indicator"])
    assert tr.loc[("0001", "reach"), "trend"] == "improving"
    assert tr.loc[("0001", "deficit_share"), "trend"] == "declining"  # more problem-focused contact
    assert tr.loc[("0002", "reach"), "trend"] == "no clear change"  # never "stable": nothing shows that
    r = tr.loc[("0001", "reach")]
    assert (r["first_year"], r["last_year"], r["n_years"]) == (2022, 2024, 3)
    assert r["change"] == pytest.approx(0.3)
    lo, hi = stats.newcombe([50], [100], [20], [100])  # Wilson limits give Newcombe's interval
    assert (r["change_ci_low"], r["change_ci_high"]) == pytest.approx((lo[0], hi[0]))


def test_two_years_is_insufficient_for_a_trend_and_suppressed_years_do_not_count():
    t = _table({2023: (20, 100), 2024: (50, 100)})
    sup = _table({2025: (1, 3)}).assign(suppressed=True, numerator=np.nan, value=np.nan)
    tr = compute_trends(pd.concat([t, sup]))
    assert tr["trend"].tolist() == ["too few years"] and tr["last_year"].tolist() == [2024]


def test_target_status():
    rising = {2022: (20, 100), 2023: (30, 100), 2024: (40, 100)}
    big = {2022: (1000, 5000), 2023: (1500, 5000), 2024: (2000, 5000)}
    t = pd.concat([_table(rising), _table(rising, school="0002"), _table(rising, school="0003"),
                   _table({2024: (40, 100)}, school="0004"), _table(big, school="0005")])
    params = {
        "0001": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.35, "year": 2024}]},
        "0002": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.55, "year": 2026}]},
        "0003": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.9, "year": 2025}]},
        "0004": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.9, "year": 2025}]},
        "0005": {"targets": [{"indicator": "reach", "group_type": "all", "group": "all", "value": 0.55, "year": 2026}]},
    }
    tr = compute_trends(t, targets_frame(params)).set_index("area_id")
    assert tr.loc["0001", "target_status"] == "met"            # 0.40 >= 0.35 in 2024
    # +10 points a year would reach 0.55 by 2026, but three years of 100 families leave it unclear
    assert tr.loc["0002", "target_status"] == "uncertain"
    r = tr.loc["0002"]
    assert r["fitted_at_target_year"] == pytest.approx(0.6) and r["fitted_ci_low"] < 0.55 < r["fitted_ci_high"]
    assert tr.loc["0003", "target_status"] == "not_on_track"   # 0.9 by 2025 is out of reach even at the top
    assert tr.loc["0003", "fitted_ci_high"] < 0.9
    assert tr.loc["0004", "target_status"] == "insufficient_data"
    assert tr.loc["0005", "target_status"] == "on_track"       # the same line from 5,000 families a year
    assert tr.loc["0005", "fitted_ci_low"] >= 0.55


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

    from hsp_eval.indicators import engine as indicators
    from hsp_eval import load_dataset
    from hsp_eval.indicators.params import load_params_dir

    root = Path(__file__).resolve().parents[1]
    params = load_params_dir(root / "params" / "demo")
    assert "0113" in params and params["0113"]["targets"]
    table = indicators.compute(load_dataset(root / "data" / "demo"), indicators=["reach", "reach_learning"])
    tr = compute_trends(table, targets_frame(params))
    status = tr.dropna(subset=["target_value"]).set_index(["indicator", "group"])["target_status"]
    assert status[("reach", "Māori")] == "met"  # 0.60 in 2025 against a target of 0.6
