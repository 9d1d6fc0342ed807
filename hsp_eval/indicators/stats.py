"""Interval estimates used by every indicator: vectorised, NaN where undefined.

- proportions: Wilson score interval (statsmodels ``proportion_confint``);
- differences of independent proportions: Newcombe's hybrid score interval
  (statsmodels ``confint_proportions_2indep``, method ``newcomb``);
- means: Student's t interval.

All functions take and return numpy arrays (or anything array-like) so one call
covers every school, year and group at once.

Examples
--------
>>> lo, hi = wilson([3], [10])
>>> round(float(lo[0]), 4), round(float(hi[0]), 4)
(0.1078, 0.6032)
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

Z95 = 0.05


def wilson(count, nobs, alpha: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``count / nobs``; NaN where ``nobs`` is 0 or missing.

    Examples
    --------
    >>> lo, hi = wilson([0, 5], [0, 5])
    >>> np.isnan(lo[0]), float(hi[1])
    (np.True_, 1.0)
    """
    count = np.asarray(count, dtype="float64")
    nobs = np.asarray(nobs, dtype="float64")
    ok = np.isfinite(count) & np.isfinite(nobs) & (nobs > 0)
    lo = np.full(count.shape, np.nan)
    hi = np.full(count.shape, np.nan)
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(count[ok], nobs[ok], alpha=alpha, method="wilson")
        # at 0 and 1 the formula leaves the value a rounding error outside its own interval
        p = count[ok] / nobs[ok]
        lo[ok], hi[ok] = np.minimum(lo[ok], p), np.maximum(hi[ok], p)
    return np.clip(lo, 0, 1), np.clip(hi, 0, 1)


def newcombe(count1, nobs1, count2, nobs2, alpha: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe interval for ``count1/nobs1 - count2/nobs2``; NaN where a ``nobs`` is 0.

    Examples
    --------
    >>> lo, hi = newcombe([3], [10], [6], [10])
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (-0.6011, 0.1177)
    """
    c1, n1, c2, n2 = (np.asarray(x, dtype="float64") for x in (count1, nobs1, count2, nobs2))
    ok = np.isfinite(c1) & np.isfinite(c2) & (n1 > 0) & (n2 > 0)
    lo = np.full(c1.shape, np.nan)
    hi = np.full(c1.shape, np.nan)
    if ok.any():
        lo[ok], hi[ok] = confint_proportions_2indep(c1[ok], n1[ok], c2[ok], n2[ok], method="newcomb",
                                                    compare="diff", alpha=alpha)
    return lo, hi


def t_interval(mean, sd, n, alpha: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Student's t interval for a mean of ``n`` values with standard deviation ``sd``.

    NaN where ``n < 2``.

    Examples
    --------
    >>> lo, hi = t_interval([3.0], [1.0], [4])
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (1.409, 4.591)
    """
    mean, sd, n = (np.asarray(x, dtype="float64") for x in (mean, sd, n))
    ok = np.isfinite(mean) & np.isfinite(sd) & (n >= 2)
    half = np.full(mean.shape, np.nan)
    half[ok] = sps.t.ppf(1 - alpha / 2, n[ok] - 1) * sd[ok] / np.sqrt(n[ok])
    return mean - half, mean + half


def ratio_variance(y, x, yy, xy, xx, clusters) -> np.ndarray:
    """Cluster-robust (linearisation) variance of the ratio ``y / x`` over independent clusters.

    ``y`` and ``x`` are the totals of the numerator and denominator, ``yy``, ``xy`` and ``xx`` the
    sums over clusters of y_c^2, x_c y_c and x_c^2 (y_c, x_c: a cluster's totals) and ``clusters``
    the number of clusters. With r = y / x and G clusters:

        V(r) = G / (G - 1) * sum_c (y_c - r x_c)^2 / x^2

    the Taylor-linearisation (sandwich) variance with the small-sample factor G/(G-1), the
    variance statsmodels gives the intercept of an OLS fit of the units' flags with
    ``cov_type="cluster"``. NaN with fewer than 2 clusters.

    Examples
    --------
    >>> # two families: 3 of 4 contacts and 1 of 4: r = 1/2, residuals 1 and -1
    >>> float(ratio_variance([4], [8], [10], [16], [32], [2])[0])   # 2 * (1 + 1) / 64
    0.0625
    """
    y, x, yy, xy, xx, g = (np.asarray(a, dtype="float64") for a in (y, x, yy, xy, xx, clusters))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = y / x
        resid = np.clip(yy - 2 * r * xy + r * r * xx, 0, None)  # a sum of squares: rounding only below 0
        return np.where(g >= 2, g / (g - 1) * resid / (x * x), np.nan)


def effective_n(p, variance, fallback) -> np.ndarray:
    """The effective sample size of a share ``p`` with ``variance``: p(1-p) / variance.

    Where it cannot be estimated (p is 0 or 1, or the variance is 0 or unknown) it is ``fallback``
    (the number of clusters: as if each cluster were one observation, the cautious choice).

    Examples
    --------
    >>> effective_n([0.5, 0.0], [0.0025, 0.0], [10, 10]).tolist()
    [100.0, 10.0]
    """
    p, v, fb = (np.asarray(a, dtype="float64") for a in (p, variance, fallback))
    with np.errstate(invalid="ignore", divide="ignore"):
        n = p * (1 - p) / v
    return np.where(np.isfinite(n) & (n > 0), n, fb)


def wilson_effective(p, n_eff, alpha: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval for a share ``p`` on an effective sample size ``n_eff`` (inside 0-1 by design).

    Examples
    --------
    >>> lo, hi = wilson_effective([0.3], [10])
    >>> lo2, hi2 = wilson([3], [10])
    >>> bool(np.allclose([lo, hi], [lo2, hi2]))
    True
    """
    p, n = (np.asarray(a, dtype="float64") for a in (p, n_eff))
    return wilson(p * n, n, alpha)


def t_adjusted_n(n_eff, clusters, alpha: float = Z95) -> np.ndarray:
    """The effective sample size shrunk so that a Wilson (normal) interval on it is as wide as a t
    interval with ``clusters - 1`` degrees of freedom: n_eff * (z / t)^2. A cluster-robust variance
    from few clusters is itself uncertain; this keeps coverage near nominal down to about 10 clusters.

    Examples
    --------
    >>> round(float(t_adjusted_n([100.0], [10])[0]), 1)    # (1.960 / 2.262)^2 = 0.75
    75.1
    """
    n, g = (np.asarray(a, dtype="float64") for a in (n_eff, clusters))
    z = sps.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore"):
        t = sps.t.ppf(1 - alpha / 2, np.where(g >= 2, g - 1, np.nan))
    return np.where(np.isfinite(t), n * (z / t) ** 2, n)


def feldt(alpha, n, k, level_alpha: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Feldt's interval for Cronbach's alpha of ``n`` respondents and ``k`` items (Feldt, Woodruff
    and Salih 1987, formulas 6 and 7): 1 - (1 - alpha) F, F the F distribution's quantiles with
    n - 1 and (n - 1)(k - 1) degrees of freedom. NaN with fewer than 2 respondents or items.

    Examples
    --------
    >>> lo, hi = feldt([0.85], [89], [7])    # statpsych::ci.cronbach(.05, .85, 7, 89): .7971254, .8931436
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.7971, 0.8932)
    """
    a, n, k = (np.asarray(x, dtype="float64") for x in (alpha, n, k))
    ok = np.isfinite(a) & (n >= 2) & (k >= 2)
    d1, d2 = np.where(ok, n - 1, 1), np.where(ok, (n - 1) * (k - 1), 1)
    lo = 1 - (1 - a) * sps.f.ppf(1 - level_alpha / 2, d1, d2)
    hi = 1 - (1 - a) * sps.f.ppf(level_alpha / 2, d1, d2)
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)


def mover_difference(p1, lo1, hi1, p2, lo2, hi2) -> tuple[np.ndarray, np.ndarray]:
    """Interval for ``p1 - p2`` from each estimate's own interval (MOVER, Zou and Donner 2008).

    With Wilson limits this is exactly Newcombe's hybrid score interval; with the engine's
    clustered limits (Wilson on an effective size) it carries each side's design effect; with
    symmetric limits it is the usual ``sqrt(se1^2 + se2^2)``.

    Examples
    --------
    >>> l1, h1 = wilson([3], [10]); l2, h2 = wilson([6], [10])
    >>> lo, hi = mover_difference([0.3], l1, h1, [0.6], l2, h2)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)      # as newcombe([3], [10], [6], [10])
    (-0.6011, 0.1177)
    """
    p1, lo1, hi1, p2, lo2, hi2 = (np.asarray(a, dtype="float64") for a in (p1, lo1, hi1, p2, lo2, hi2))
    d = p1 - p2
    return (d - np.sqrt((p1 - lo1) ** 2 + (hi2 - p2) ** 2),
            d + np.sqrt((hi1 - p1) ** 2 + (p2 - lo2) ** 2))
