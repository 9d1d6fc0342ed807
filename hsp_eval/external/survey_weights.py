"""Weighted estimates from survey microdata with replicate weights: shares, means and their errors.

Public-use files of national surveys (NCES's SSOCS, NHES, NTPS; PISA; many census-bureau files)
come with a full-sample weight and a set of *replicate weights*. An estimate is computed once
with the full-sample weight, and once with each replicate weight; the spread of the replicate
estimates around the full-sample one gives its sampling variance, with the survey's design
(strata, clusters, non-response and calibration adjustments) built into the weights.

The variance formula
--------------------
For an estimate :math:`\\hat\\theta` from the full-sample weight and :math:`\\hat\\theta_r`
from replicate weight :math:`r = 1, \\dots, R`:

.. math::

    v(\\hat\\theta) = c \\sum_{r=1}^{R} (\\hat\\theta_r - \\hat\\theta)^2, \\qquad
    \\mathrm{SE} = \\sqrt{v(\\hat\\theta)}

centred on the full-sample estimate (not on the mean of the replicates: the "MSE" form that
NCES, SAS ``REPWEIGHTS`` and R ``survey::svrepdesign(mse = TRUE)`` use), with the multiplier
:math:`c` set by how the replicates were built (:func:`multiplier`):

======== =========================================== =====================================
method   replicates                                  :math:`c`
======== =========================================== =====================================
``JK1``  delete-a-group jackknife: each unit's       :math:`(R - 1) / R`
         weight is 0 in one replicate and scaled by
         :math:`R / (R - 1)` in the others
``JK2``  paired jackknife (one unit of each pair     :math:`1`
         dropped, its partner doubled)
``BRR``  balanced repeated replication (half         :math:`1 / R`
         samples, weights 0 or 2)
``Fay``  BRR with Fay's factor :math:`\\rho`         :math:`1 / (R (1 - \\rho)^2)`
         (weights :math:`\\rho` or :math:`2 - \\rho`)
======== =========================================== =====================================

Sources: K. M. Wolter (2007), *Introduction to Variance Estimation*, 2nd ed., Springer,
chapters 3 (BRR, Fay) and 4 (jackknife); K. F. Rust and J. N. K. Rao (1996), Variance
estimation for complex surveys using replication techniques, *Statistical Methods in Medical
Research* 5(3), 283-310; the ``scale`` of each ``type`` in R's ``survey::svrepdesign``
(T. Lumley). Which method a file needs is the file's documentation's to say (for SSOCS 2019-20:
JK1 with 50 replicates, see :mod:`hsp_eval.external.ssocs`); :func:`check_jk1` checks the
pattern of JK1 weights in the data themselves.

A share is the weighted mean of a 0/1 variable, and a weighted mean is a ratio of two weighted
totals, so both are computed as ratios for the full sample and every replicate alike. Domain
(subgroup) estimates take the rows of the domain with their replicate weights, which is correct
for replicate variance estimation (each replicate re-computes the same ratio on its own weights);
a domain so small that some replicate gives it no weight at all has no replicate variance, and
its SE is NaN (never a made-up 0).
The 95% interval is :math:`\\hat\\theta \\pm t_{0.975, R-1}\\,\\mathrm{SE}`, t with the
replicates' degrees of freedom (pass ``df_t`` for others, e.g. the number of variance strata),
clipped to [0, 1] for shares. ``cv`` is
SE / estimate: NCES asks readers to interpret estimates with a CV of 30-50% with caution and
does not report those at 50% or more (``flag``).

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"yes": [1, 2, 1, 1], "w": [1.0, 1.0, 2.0, 2.0],
...                   "r1": [0.0, 2.0, 2.0, 2.0], "r2": [2.0, 0.0, 2.0, 2.0]})
>>> r = weighted_proportion(d, "yes", "w", ["r1", "r2"], yes=1, method="JK1")
>>> round(float(r["estimate"].iloc[0]), 4), round(float(r["se"].iloc[0]), 4)
(0.8333, 0.1667)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

METHODS = ("JK1", "JK2", "BRR", "Fay")
#: NCES's reliability bands of the coefficient of variation
CV_CAUTION, CV_UNRELIABLE = 0.30, 0.50
RESULT_COLUMNS = ["variable", "n", "n_yes", "weighted_n", "estimate", "se", "ci_low", "ci_high", "cv", "flag",
                  "method", "replicates"]


def multiplier(method: str, n_replicates: int, fay_rho: float | None = None) -> float:
    """The factor :math:`c` of the replicate variance for ``method`` with ``n_replicates`` replicates.

    Examples
    --------
    >>> multiplier("JK1", 50), multiplier("JK2", 50), multiplier("BRR", 80), multiplier("Fay", 80, 0.5)
    (0.98, 1.0, 0.0125, 0.05)
    """
    if n_replicates < 2:
        raise ValueError(f"replicate variance needs at least 2 replicate weights, got {n_replicates}")
    if method == "JK1":
        return (n_replicates - 1) / n_replicates
    if method == "JK2":
        return 1.0
    if method == "BRR":
        return 1.0 / n_replicates
    if method == "Fay":
        if fay_rho is None or not 0 <= fay_rho < 1:
            raise ValueError(f"method 'Fay' needs fay_rho in [0, 1), got {fay_rho!r}")
        return 1.0 / (n_replicates * (1.0 - fay_rho) ** 2)
    raise ValueError(f"unknown replication method {method!r}; use one of {', '.join(METHODS)}")


def replicate_se(estimate, replicate_estimates, method: str, fay_rho: float | None = None) -> np.ndarray:
    """Standard error from replicate estimates: ``sqrt(c * sum_r (theta_r - theta)^2)``.

    Parameters
    ----------
    estimate : full-sample estimates, shape (k,).
    replicate_estimates : shape (k, R), one column per replicate.
    method, fay_rho : see :func:`multiplier`.

    Examples
    --------
    >>> replicate_se([0.5], [[0.6, 0.4]], "JK1").round(4).tolist()
    [0.1]
    """
    theta = np.asarray(estimate, dtype="float64")
    reps = np.atleast_2d(np.asarray(replicate_estimates, dtype="float64"))
    c = multiplier(method, reps.shape[1], fay_rho)
    return np.sqrt(c * np.sum((reps - theta[:, None]) ** 2, axis=1))


def check_jk1(df: pd.DataFrame, weight: str, replicate_weights: Sequence[str], tol: float = 0.2) -> dict:
    """Whether the replicate weights look like a delete-a-group jackknife (JK1).

    In JK1 with R groups every unit has weight 0 in exactly one replicate and about
    ``R / (R - 1)`` times its full weight in the others (before any re-adjustment).

    Returns
    -------
    dict with ``zero_once`` (share of units with exactly one zero replicate weight),
    ``median_ratio`` (median of non-zero replicate / full weight), ``expected_ratio``
    (``R / (R - 1)``) and ``jk1`` (True when every unit has one zero and the median ratio is
    within ``tol`` of the expected one).

    Examples
    --------
    >>> d = pd.DataFrame({"w": [1.0, 1.0], "r1": [0.0, 2.0], "r2": [2.0, 0.0]})
    >>> check_jk1(d, "w", ["r1", "r2"])["jk1"]
    True
    """
    w = df[weight].to_numpy(dtype="float64")
    reps = df[list(replicate_weights)].to_numpy(dtype="float64")
    zeros = (reps == 0).sum(axis=1)
    ratio = reps[reps > 0] / np.repeat(w, (reps > 0).sum(axis=1))
    r = reps.shape[1]
    med = float(np.median(ratio)) if ratio.size else float("nan")
    expected = r / (r - 1)
    zero_once = float(np.mean(zeros == 1))
    return {"zero_once": zero_once, "median_ratio": med, "expected_ratio": expected,
            "jk1": bool(zero_once == 1.0 and abs(med - expected) <= tol * (expected - 1 + 1e-12) + 1e-9)}


def _check(df: pd.DataFrame, columns: list[str], weights: list[str], name: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: no column {', '.join(repr(c) for c in missing)} in the data "
                         f"(columns: {', '.join(map(str, df.columns[:8]))}, ...)")
    w = df[weights]
    bad = w.isna() | (w < 0)
    if bad.to_numpy().any():
        i, j = np.argwhere(bad.to_numpy())[0]
        raise ValueError(f"{name}: row {df.index[i]!r}, column {weights[j]!r}: weight {float(w.iat[i, j])!r} is "
                         "missing or negative (weights must be numbers >= 0)")


def _flag(cv: np.ndarray) -> list[str]:
    """NCES's reliability note of each coefficient of variation (blank below 30% or when unknown).

    Examples
    --------
    >>> _flag(np.array([0.1, 0.3, 0.5, np.nan, np.inf]))
    ['', 'interpret with caution (CV 30-50%)', 'unreliable (CV >= 50%)', '', '']
    """
    cv = np.asarray(cv, dtype="float64")
    known = np.isfinite(cv)
    return np.select([known & (cv >= CV_UNRELIABLE), known & (cv >= CV_CAUTION)],
                     ["unreliable (CV >= 50%)", "interpret with caution (CV 30-50%)"], "").tolist()


def _estimate(df: pd.DataFrame, y: np.ndarray, used: np.ndarray, variable: str, weight: str,
              replicate_weights: list[str], by: list[str], method: str, fay_rho, alpha: float, df_t,
              share: bool) -> pd.DataFrame:
    d = df.loc[used]
    y = y[used]
    cols = [weight] + replicate_weights
    W = d[cols].to_numpy(dtype="float64")
    keys = [d[b] for b in by] if by else [pd.Series(0, index=d.index)]
    frame = pd.DataFrame(np.hstack([W * y[:, None], W]), index=d.index)
    frame["_n"] = 1
    frame["_yes"] = (y != 0).astype("int64") if share else 0
    g = frame.groupby(keys, sort=True, dropna=False, observed=True)  # categorical domains keep their order
    sums = g.sum()
    k = len(cols)
    num = sums.iloc[:, :k].to_numpy()
    den = sums.iloc[:, k:2 * k].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        est = num / den
    theta = est[:, 0]
    se = replicate_se(theta, est[:, 1:], method, fay_rho)
    # t with the replicates' degrees of freedom (R - 1) unless told otherwise (uncertainty spec v2):
    # a variance from R replicates is itself uncertain
    q = sps.t.ppf(1 - alpha / 2, df_t if df_t else max(len(replicate_weights) - 1, 1))
    lo, hi = theta - q * se, theta + q * se
    if share:
        lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = np.where(theta != 0, se / np.abs(theta), np.nan)
    out = pd.DataFrame({"variable": variable, "n": sums["_n"].to_numpy(),
                        "n_yes": sums["_yes"].to_numpy() if share else pd.NA, "weighted_n": den[:, 0],
                        "estimate": theta, "se": se, "ci_low": lo, "ci_high": hi, "cv": cv, "flag": _flag(cv),
                        "method": method, "replicates": len(replicate_weights)})
    if by:
        idx = sums.index.to_frame(index=False)
        idx.columns = by
        out = pd.concat([idx, out], axis=1)
    return out


def _by(by) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def weighted_proportion(df: pd.DataFrame, var: str, weight: str, replicate_weights: Sequence[str], by=None, *,
                        method: str, yes=1, exclude=(), fay_rho: float | None = None,
                        alpha: float = 0.05, df_t: int | None = None) -> pd.DataFrame:
    """Weighted share of units with ``var`` in ``yes``, with its replicate-weight SE and interval.

    Parameters
    ----------
    df : one row per sampled unit.
    var : the item; a row counts as "yes" when its value is in ``yes`` (a value or a list).
    weight : full-sample weight column.
    replicate_weights : the replicate weight columns, in any order.
    by : column name(s) of domains (school level, urbanicity...); None for the whole sample.
    method, fay_rho : replication method, required (a wrong multiplier gives wrong errors without
        any sign): ``JK1``, ``JK2``, ``BRR`` or ``Fay`` (with ``fay_rho``); see the module notes
        and :func:`multiplier`. The survey's documentation says which.
    exclude : values that are not answers (valid skips, missing codes): those rows are left out
        of the denominator, as are missing values (NaN).
    alpha : 1 - confidence level of the interval; ``df_t``: degrees of freedom for a t quantile
        (default: R - 1, the replicates').

    Returns
    -------
    DataFrame, one row per domain: the ``by`` columns, then variable, n (unweighted rows used),
    n_yes, weighted_n (sum of full-sample weights), estimate, se, ci_low, ci_high, cv, flag,
    method, replicates.

    Examples
    --------
    Four schools, weights 1, 1, 2, 2 and two JK1 replicates; three say yes (code 1):
    estimate (1 + 2 + 2) / 6; replicate 1 gives (0 + 2 + 2) / 6 = 2/3, replicate 2 gives
    (2 + 2 + 2) / 6 = 1; SE = sqrt(1/2 * ((2/3 - 5/6)^2 + (1 - 5/6)^2)) = 1/6.

    >>> d = pd.DataFrame({"c": [1, 2, 1, 1], "w": [1.0, 1.0, 2.0, 2.0],
    ...                   "r1": [0.0, 2.0, 2.0, 2.0], "r2": [2.0, 0.0, 2.0, 2.0]})
    >>> r = weighted_proportion(d, "c", "w", ["r1", "r2"], method="JK1")
    >>> round(float(r["estimate"].iloc[0]), 4), round(float(r["se"].iloc[0]), 4), int(r["n_yes"].iloc[0])
    (0.8333, 0.1667, 3)
    """
    by = _by(by)
    replicate_weights = list(replicate_weights)
    _check(df, [var, weight, *replicate_weights, *by], [weight, *replicate_weights], f"weighted_proportion({var!r})")
    values = df[var]
    yes_values = list(yes) if isinstance(yes, (list, tuple, set, frozenset)) else [yes]
    used = (values.notna() & ~values.isin(list(exclude))).to_numpy()
    y = values.isin(yes_values).to_numpy(dtype="float64")
    return _estimate(df, y, used, var, weight, replicate_weights, by, method, fay_rho, alpha, df_t, share=True)


def weighted_mean(df: pd.DataFrame, var: str, weight: str, replicate_weights: Sequence[str], by=None, *,
                  method: str, exclude=(), fay_rho: float | None = None, alpha: float = 0.05,
                  df_t: int | None = None) -> pd.DataFrame:
    """Weighted mean of a numeric ``var`` with its replicate-weight SE and interval.

    Same parameters and columns as :func:`weighted_proportion` (``n_yes`` is empty).

    Examples
    --------
    >>> d = pd.DataFrame({"x": [2.0, 4.0], "w": [1.0, 3.0], "r1": [0.0, 6.0], "r2": [2.0, 0.0]})
    >>> r = weighted_mean(d, "x", "w", ["r1", "r2"], method="JK1")
    >>> float(r["estimate"].iloc[0]), round(float(r["se"].iloc[0]), 4)
    (3.5, 1.118)
    """
    by = _by(by)
    replicate_weights = list(replicate_weights)
    _check(df, [var, weight, *replicate_weights, *by], [weight, *replicate_weights], f"weighted_mean({var!r})")
    values = pd.to_numeric(df[var], errors="coerce")
    used = (values.notna() & ~df[var].isin(list(exclude))).to_numpy()
    y = values.fillna(0).to_numpy(dtype="float64")
    return _estimate(df, y, used, var, weight, replicate_weights, by, method, fay_rho, alpha, df_t, share=False)


def weighted_proportions(df: pd.DataFrame, variables: Sequence[str], weight: str, replicate_weights: Sequence[str],
                         by=None, **kwargs) -> pd.DataFrame:
    """:func:`weighted_proportion` of several items, stacked (one row per item and domain).

    Examples
    --------
    >>> d = pd.DataFrame({"a": [1, 2], "b": [1, 1], "w": [1.0, 1.0], "r1": [0.0, 2.0], "r2": [2.0, 0.0]})
    >>> weighted_proportions(d, ["a", "b"], "w", ["r1", "r2"], method="JK1")[["variable", "estimate"]].values.tolist()
    [['a', 0.5], ['b', 1.0]]
    """
    return pd.concat([weighted_proportion(df, v, weight, replicate_weights, by=by, **kwargs) for v in variables],
                     ignore_index=True)
