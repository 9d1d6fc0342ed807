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
