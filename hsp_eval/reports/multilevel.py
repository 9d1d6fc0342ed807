"""A multilevel model of reach: how much of the variation in reach lies between schools.

The model is a random-intercept logistic model (a binomial GLMM) for family j of school s in
year t:

    logit P(reached) = b0 + b_t + u_s,    u_s ~ N(0, sigma^2),

with one fixed effect per year after the first (the national trend) and one random effect per
school, shared by all its years. The **share of variance between schools** is the intraclass
correlation on the latent scale (Snijders and Bosker 2012, section 17.3; Goldstein, Browne and
Rasbash 2002):

    ICC = sigma^2 / (sigma^2 + pi^2 / 3),

where pi^2/3 is the variance of the standard logistic distribution (the family-level
variation of the latent propensity).

Why fitted on counts: a family's outcome depends on the model only through its school and
year, so the likelihood of the school x year counts (numerator = families reached,
denominator = families; the ``reach`` rows of group ``all`` in the indicator table) is exactly
the likelihood of the family-level data. Fitting on the indicator table needs no unit-level
data, takes about ten seconds of CPU for 2,500 schools x 4 years, and uses only counts every school already
reports. The marginal likelihood integrates each school's effect out by adaptive
Gauss-Hermite quadrature (20 nodes, centred and scaled at each school's mode; Pinheiro and
Bates 1995), which is accurate for the large per-school counts here where the Laplace
approximation and non-adaptive quadrature are not. statsmodels' ``GenericLikelihoodModel``
maximises it and gives the standard errors (from the numerical Hessian); the interval for
sigma^2 and the ICC is the Wald interval of log(sigma) transformed, so it stays positive.
statsmodels' own ``BinomialBayesMixedGLM`` was not used: it needs one row per family and
its variational fit understates the uncertainty.

Suppressed rows (no numerator) are left out; with ``min_n`` suppression that drops the
smallest schools' years, which a reader should know (the returned table says how many rows
were used).

Examples
--------
>>> rng = np.random.default_rng(1)
>>> sim = simulate_counts(rng, n_schools=200, years=(2024, 2025), sigma=1.0, intercept=0.5)
>>> fit = reach_model(sim)
>>> fit.set_index("term").loc["ICC (share of variance between schools)", "estimate"].round(1)
np.float64(0.2)
>>> round(1.0 / (1.0 + np.pi ** 2 / 3), 2)       # the true ICC of the simulation
0.23
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

#: variance of the standard logistic distribution: the family-level variance on the latent scale
LOGISTIC_VARIANCE = np.pi ** 2 / 3
N_NODES = 20
COLUMNS = ["term", "estimate", "std_error", "ci_low", "ci_high", "scale"]


def icc(var_school):
    """Latent-scale intraclass correlation ``var_school / (var_school + pi^2/3)``.

    Examples
    --------
    >>> round(float(icc(np.pi ** 2 / 3)), 3)
    0.5
    """
    v = np.asarray(var_school, dtype="float64")
    return v / (v + LOGISTIC_VARIANCE)


def simulate_counts(rng, n_schools: int = 100, years=(2023, 2024, 2025), sigma: float = 0.7,
                    intercept: float = 0.8, year_effect: float = 0.1, families=(40, 400)) -> pd.DataFrame:
    """Simulated school x year reach counts with a known between-school standard deviation ``sigma``.

    Each school gets ``u_s ~ N(0, sigma^2)`` and a number of families drawn uniformly in
    ``families``; reach in year t is binomial with ``logit p = intercept + year_effect * t + u_s``
    (t = 0, 1, ...). For tests and for checking the model; rows look like the indicator table's.
    The drawn effects ``u_s`` are in ``attrs["school_effects"]``.

    Examples
    --------
    >>> simulate_counts(np.random.default_rng(0), n_schools=2, years=(2024,)).columns.tolist()
    ['area_id', 'year', 'numerator', 'denominator']
    """
    u = rng.normal(0, sigma, n_schools)
    size = rng.integers(families[0], families[1] + 1, n_schools)
    rows = []
    for t, year in enumerate(years):
        p = 1 / (1 + np.exp(-(intercept + year_effect * t + u)))
        rows.append(pd.DataFrame({"area_id": [f"S{i:04d}" for i in range(n_schools)], "year": year,
                                  "numerator": rng.binomial(size, p).astype("float64"),
                                  "denominator": size.astype("float64")}))
    out = pd.concat(rows, ignore_index=True)
    out.attrs["school_effects"] = u
    return out


def _design(rows: pd.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray]:
    years = np.sort(rows["year"].unique())
    cols = [np.ones(len(rows))] + [(rows["year"].to_numpy() == y).astype("float64") for y in years[1:]]
    names = [f"intercept (log-odds of reach, {years[0]})"] + [f"year {y} vs {years[0]} (log-odds)" for y in years[1:]]
    school = pd.factorize(rows["area_id"].astype("str"), sort=True)[0]
    return np.column_stack(cols), names, school


def marginal_loglik(beta, log_sigma, x, y, n, school, n_schools: int, nodes: int = N_NODES) -> np.ndarray:
    """Log-likelihood of each school's counts with its random effect integrated out.

    Adaptive Gauss-Hermite quadrature: each school's integrand is centred at its mode (found by
    Newton's method, vectorised over schools) and scaled by its curvature. The binomial
    coefficients are left out (they do not depend on the parameters).
    """
    sigma2 = np.exp(2 * log_sigma)
    eta = x @ beta

    def h(u_school):  # log integrand per school at u (without the normal's constant)
        lin = eta + u_school[school]
        ll = y * lin - n * np.logaddexp(0, lin)
        return np.bincount(school, ll, n_schools) - u_school ** 2 / (2 * sigma2)

    u = np.zeros(n_schools)
    for _ in range(50):
        p = 1 / (1 + np.exp(-(eta + u[school])))
        grad = np.bincount(school, y - n * p, n_schools) - u / sigma2
        curv = np.bincount(school, n * p * (1 - p), n_schools) + 1 / sigma2
        step = grad / curv
        u += step
        if np.max(np.abs(step)) < 1e-10:
            break
    p = 1 / (1 + np.exp(-(eta + u[school])))
    scale = 1 / np.sqrt(np.bincount(school, n * p * (1 - p), n_schools) + 1 / sigma2)
    t, w = np.polynomial.hermite.hermgauss(nodes)
    logs = np.column_stack([h(u + np.sqrt(2) * scale * tk) + tk ** 2 for tk in t]) + np.log(w)
    m = logs.max(axis=1)
    integral = m + np.log(np.exp(logs - m[:, None]).sum(axis=1))
    return integral + np.log(np.sqrt(2) * scale) - 0.5 * np.log(2 * np.pi * sigma2)


def _model_class():
    from statsmodels.base.model import GenericLikelihoodModel

    class _ReachGLMM(GenericLikelihoodModel):
        def __init__(self, y, n, x, school, **kw):
            self.n_counts, self.school, self.n_schools = n, school, int(school.max()) + 1
            super().__init__(y, x, **kw)

        def loglikeobs(self, params):
            return marginal_loglik(params[:-1], params[-1], self.exog, self.endog, self.n_counts, self.school,
                                   self.n_schools)

    return _ReachGLMM


def reach_model(rows: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Fit the random-intercept logistic model of reach on school x year counts.

    Parameters
    ----------
    rows : school rows of ``reach`` (group ``all``), one per school and year: ``area_id``,
        ``year``, ``numerator`` (families reached), ``denominator`` (families). Rows with a
        blank numerator (suppressed) or no families are left out.
    alpha : 1 - the confidence level of the intervals.

    Returns
    -------
    Tidy DataFrame (columns :data:`COLUMNS`): the intercept and year effects (log-odds),
    ``between-school variance (latent scale)`` (sigma^2), ``ICC (share of variance between
    schools)``, and ``schools`` and ``school-years`` used (in ``estimate``). ``attrs``
    holds ``converged``.

    Raises
    ------
    ValueError
        With fewer than 5 schools (no sensible variance estimate) or a missing column.

    Examples
    --------
    >>> fit = reach_model(simulate_counts(np.random.default_rng(3), n_schools=40))
    >>> fit["term"].tolist()[-2:]
    ['schools', 'school-years']
    """
    from scipy import stats as sps

    missing = [c for c in ("area_id", "year", "numerator", "denominator") if c not in rows]
    if missing:
        raise ValueError(f"reach_model: the rows have no column {', '.join(missing)}")
    r = rows[rows["numerator"].notna() & rows["denominator"].gt(0)].reset_index(drop=True)
    n_schools = r["area_id"].nunique()
    if n_schools < 5:
        raise ValueError(f"reach_model: {n_schools} schools with a shown reach; at least 5 are needed "
                         "to estimate the variance between schools")
    x, names, school = _design(r)
    y, n = r["numerator"].to_numpy(dtype="float64"), r["denominator"].to_numpy(dtype="float64")
    pooled = np.clip(y.sum() / n.sum(), 1e-6, 1 - 1e-6)
    start = np.r_[np.log(pooled / (1 - pooled)), np.zeros(x.shape[1] - 1), np.log(0.5)]
    model = _model_class()(y, n, x, school)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(start_params=start, method="bfgs", maxiter=500, disp=0)
        res = model.fit(start_params=res.params, method="newton", maxiter=50, disp=0)
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    z = sps.norm.ppf(1 - alpha / 2)
    out = [{"term": nm, "estimate": params[i], "std_error": bse[i], "ci_low": params[i] - z * bse[i],
            "ci_high": params[i] + z * bse[i], "scale": "log-odds"} for i, nm in enumerate(names)]
    ls, se = params[-1], bse[-1]
    var = np.exp(2 * np.array([ls, ls - z * se, ls + z * se]))
    out.append({"term": "between-school variance (latent scale)", "estimate": var[0],
                "std_error": 2 * var[0] * se, "ci_low": var[1], "ci_high": var[2], "scale": "log-odds squared"})
    ic = icc(var)
    out.append({"term": "ICC (share of variance between schools)", "estimate": ic[0],
                "std_error": 2 * var[0] * se * LOGISTIC_VARIANCE / (var[0] + LOGISTIC_VARIANCE) ** 2,
                "ci_low": ic[1], "ci_high": ic[2], "scale": "proportion"})
    out.append({"term": "schools", "estimate": float(n_schools), "scale": "count"})
    out.append({"term": "school-years", "estimate": float(len(r)), "scale": "count"})
    table = pd.DataFrame(out, columns=COLUMNS)
    table.attrs["converged"] = bool(res.mle_retvals.get("converged", True)) and bool(np.all(np.isfinite(bse)))
    return table


def reach_model_from_table(table: pd.DataFrame, indicator: str = "reach") -> pd.DataFrame:
    """:func:`reach_model` on the school rows (group ``all``) of ``indicator`` in the indicator table.

    Returns the model's tidy table; when it cannot be fitted (fewer than 5 schools shown),
    an empty table whose ``attrs["reason"]`` says why, so a report can say so instead of failing.
    """
    rows = table[(table["level"] == "school") & (table["indicator"] == indicator) & (table["group_type"] == "all")
                 & (table["group"] == "all")]
    try:
        return reach_model(rows)
    except ValueError as e:
        out = pd.DataFrame(columns=COLUMNS)
        out.attrs["reason"] = str(e)
        return out
