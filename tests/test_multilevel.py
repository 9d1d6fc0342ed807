"""The reach GLMM recovers a known between-school variance on simulated counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hsp_eval.reports.multilevel import COLUMNS, LOGISTIC_VARIANCE, icc, marginal_loglik, reach_model, simulate_counts


def _est(fit, term):
    return fit.set_index("term").loc[term]


@pytest.mark.parametrize("sigma", [0.4, 1.0])
def test_recovers_between_school_variance(sigma):
    sim = simulate_counts(np.random.default_rng(20261124), n_schools=400, sigma=sigma, year_effect=0.15)
    fit = reach_model(sim)
    assert list(fit.columns) == COLUMNS and fit.attrs["converged"]
    var = _est(fit, "between-school variance (latent scale)")
    realised = np.var(sim.attrs["school_effects"], ddof=1)
    assert var["estimate"] == pytest.approx(realised, rel=0.10)
    assert var["ci_low"] < sigma ** 2 < var["ci_high"]
    share = _est(fit, "ICC (share of variance between schools)")
    assert share["estimate"] == pytest.approx(var["estimate"] / (var["estimate"] + np.pi ** 2 / 3))
    assert share["ci_low"] < icc(sigma ** 2) < share["ci_high"]
    # the year effects: 0.15 per year
    assert _est(fit, "year 2025 vs 2023 (log-odds)")["estimate"] == pytest.approx(0.30, abs=0.05)
    assert _est(fit, "schools")["estimate"] == 400 and _est(fit, "school-years")["estimate"] == 1200


def test_icc_formula():
    assert icc(LOGISTIC_VARIANCE) == pytest.approx(0.5)
    assert icc(0.0) == 0.0


def test_quadrature_matches_direct_integration():
    # one school, two years: the marginal likelihood by brute-force integration over u
    from scipy import integrate

    x = np.array([[1.0, 0.0], [1.0, 1.0]])
    y, n = np.array([30.0, 45.0]), np.array([50.0, 60.0])
    beta, log_sigma = np.array([0.3, 0.2]), np.log(0.9)
    got = marginal_loglik(beta, log_sigma, x, y, n, np.array([0, 0]), 1)[0]

    def f(u):
        lin = x @ beta + u
        return np.exp(np.sum(y * lin - n * np.logaddexp(0, lin))) * np.exp(-u ** 2 / (2 * 0.81)) / np.sqrt(2 * np.pi * 0.81)

    want = np.log(integrate.quad(f, -8, 8, epsabs=0, epsrel=1e-12, points=[0.0])[0])
    assert got == pytest.approx(want, abs=1e-8)


def test_suppressed_rows_left_out_and_too_few_schools():
    sim = simulate_counts(np.random.default_rng(5), n_schools=20, years=(2024, 2025))
    sim.loc[[0, 1], "numerator"] = np.nan
    fit = reach_model(sim)
    assert _est(fit, "school-years")["estimate"] == 38
    with pytest.raises(ValueError, match="at least 5"):
        reach_model(sim[sim["area_id"].isin(["S0000", "S0001", "S0002"])])
    with pytest.raises(ValueError, match="no column year"):
        reach_model(pd.DataFrame({"area_id": ["A"], "numerator": [1.0], "denominator": [2.0]}))
