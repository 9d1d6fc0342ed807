"""Change over the years, trend tests and the status of a school's targets.

Partnership takes about three years to build, so each school's series of every
proportion indicator (per group) is summarised once it has three or more years:

- the change from the first to the last year, with a Newcombe interval;
- the trend from a binomial (logistic) model of the yearly counts on year, tested at
  the 5% level and classed ``improving``, ``stable`` or ``declining`` according to the
  indicator's better direction (``rising``/``falling`` for indicators with none);
- the status of each target in the school's params file: ``met`` (the value observed
  in the target year, or the latest year before it, reaches the target), ``on_track``
  (the fitted trend reaches it by the target year), ``not_on_track``, or
  ``insufficient_data`` (fewer than three years, or suppressed).

The logistic fits are done for every series at once by Newton-Raphson in numpy
(:func:`logistic_trend`); a test checks them against statsmodels' GLM fit series by
series. Means (and differences) are not modelled: their rows get the change only.

Examples
--------
>>> import numpy as np
>>> fit = logistic_trend(np.array([10, 15, 20.]), np.array([50, 50, 50.]), np.array([2022, 2023, 2024]),
...                      np.array([0, 0, 0]))
>>> round(float(fit["slope"][0]), 3), bool(fit["p_value"][0] < 0.05)
(0.487, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import stats
from .registry import GAP_SUFFIX, REGISTRY

MIN_YEARS = 3
ALPHA = 0.05
TREND_COLUMNS = ["area_id", "indicator", "group_type", "group", "first_year", "last_year", "n_years",
                 "value_first", "value_last", "change", "change_ci_low", "change_ci_high", "slope",
                 "odds_ratio_per_year", "p_value", "trend", "target_value", "target_year",
                 "fitted_at_target_year", "target_status"]


def logistic_trend(num, den, year, series, max_iter: int = 50, tol: float = 1e-10) -> dict:
    """Fit ``logit(p) = a + b * (year - centre)`` to every series at once.

    Parameters
    ----------
    num, den : successes and trials per row.
    year : year per row.
    series : integer series code per row (0..k-1).

    Returns
    -------
    dict of arrays indexed by series: ``intercept`` (at the series' centre year), ``centre``,
    ``slope`` (log-odds per year), ``se`` (of the slope), ``p_value`` (Wald, two-sided).
    """
    num, den, year = (np.asarray(x, dtype="float64") for x in (num, den, year))
    series = np.asarray(series, dtype=np.int64)
    k = int(series.max()) + 1 if len(series) else 0
    w_den = np.bincount(series, weights=den, minlength=k)
    centre = np.bincount(series, weights=den * year, minlength=k) / np.where(w_den > 0, w_den, 1)
    x = year - centre[series]
    a = np.zeros(k)
    b = np.zeros(k)
    for _ in range(max_iter):
        eta = a[series] + b[series] * x
        p = 1 / (1 + np.exp(-eta))
        w = den * p * (1 - p)
        r = num - den * p
        g0, g1 = np.bincount(series, r, k), np.bincount(series, r * x, k)
        h00, h01, h11 = np.bincount(series, w, k), np.bincount(series, w * x, k), np.bincount(series, w * x * x, k)
        det = h00 * h11 - h01 * h01
        ok = det > 1e-12
        da = np.where(ok, (h11 * g0 - h01 * g1) / np.where(ok, det, 1), 0)
        db = np.where(ok, (h00 * g1 - h01 * g0) / np.where(ok, det, 1), 0)
        da, db = np.clip(da, -5, 5), np.clip(db, -5, 5)  # damped: separated series drift, not explode
        a, b = a + da, b + db
        if np.all(np.abs(da) < tol) and np.all(np.abs(db) < tol):
            break
    eta = a[series] + b[series] * x
    p = 1 / (1 + np.exp(-eta))
    w = den * p * (1 - p)
    h00, h01, h11 = np.bincount(series, w, k), np.bincount(series, w * x, k), np.bincount(series, w * x * x, k)
    det = h00 * h11 - h01 * h01
    var_b = np.where(det > 1e-12, h00 / np.where(det > 1e-12, det, 1), np.inf)
    se = np.sqrt(var_b)
    z = np.where(np.isfinite(se) & (se > 0), b / np.where(se > 0, se, 1), 0.0)
    p_value = 2 * sps.norm.sf(np.abs(z))
    return {"intercept": a, "centre": centre, "slope": b, "se": se, "p_value": p_value}


def _classify(slope: np.ndarray, p_value: np.ndarray, better: pd.Series) -> np.ndarray:
    up = (p_value < ALPHA) & (slope > 0)
    down = (p_value < ALPHA) & (slope < 0)
    better = better.to_numpy()
    good_up = np.where(better == "higher", "improving", np.where(better == "lower", "declining", "rising"))
    good_down = np.where(better == "higher", "declining", np.where(better == "lower", "improving", "falling"))
    return np.where(up, good_up, np.where(down, good_down, "stable"))


def compute_trends(table: pd.DataFrame, targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Trend and target status per school, indicator and group (school-level rows only).

    Parameters
    ----------
    table : the indicator table.
    targets : optional DataFrame with columns area_id (school_id), indicator, group_type,
        group, value, year (from the schools' params files; see :func:`targets_frame`).
    """
    t = table[(table["level"] == "school") & ~table["suppressed"].astype(bool)
              & ~table["indicator"].str.endswith(GAP_SUFFIX) & table["value"].notna()].copy()
    keys = ["area_id", "indicator", "group_type", "group"]
    t = t.sort_values(keys + ["year"], kind="stable")
    first = t.groupby(keys, sort=False).head(1).set_index(keys)
    last = t.groupby(keys, sort=False).tail(1).set_index(keys)
    n_years = t.groupby(keys, sort=False)["year"].nunique()
    out = pd.DataFrame({"first_year": first["year"], "last_year": last["year"], "n_years": n_years,
                        "value_first": first["value"], "value_last": last["value"]})
    out["change"] = out["value_last"] - out["value_first"]
    is_prop = out.index.get_level_values("indicator").map(lambda i: REGISTRY[i].kind == "proportion")
    lo, hi = stats.newcombe(last["numerator"], last["denominator"], first["numerator"], first["denominator"])
    out["change_ci_low"] = np.where(is_prop, lo, np.nan)
    out["change_ci_high"] = np.where(is_prop, hi, np.nan)
    # one logistic fit per proportion series with >= MIN_YEARS years, all at once
    series_ok = out[is_prop & (out["n_years"] >= MIN_YEARS)].index
    out["slope"], out["odds_ratio_per_year"], out["p_value"], out["intercept"], out["centre"] = (
        np.nan, np.nan, np.nan, np.nan, np.nan)
    if len(series_ok):
        rows = t.set_index(keys).loc[series_ok].reset_index()
        code = series_ok.get_indexer(pd.MultiIndex.from_frame(rows[keys]))
        fit = logistic_trend(rows["numerator"], rows["denominator"], rows["year"], code)
        for name in ("slope", "p_value", "intercept", "centre"):
            out.loc[series_ok, name] = fit[name]
        out.loc[series_ok, "odds_ratio_per_year"] = np.exp(fit["slope"])
    better = pd.Series(out.index.get_level_values("indicator").map(lambda i: REGISTRY[i].better), index=out.index)
    out["trend"] = np.where(out["slope"].notna(), _classify(out["slope"].to_numpy(), out["p_value"].to_numpy(),
                                                             better), "insufficient_data")
    out = out.reset_index()
    out = _targets(out, t, targets)
    return out[TREND_COLUMNS].sort_values(keys, kind="stable").reset_index(drop=True)


def _targets(out: pd.DataFrame, t: pd.DataFrame, targets: pd.DataFrame | None) -> pd.DataFrame:
    keys = ["area_id", "indicator", "group_type", "group"]
    out = out.assign(target_value=np.nan, target_year=pd.array([pd.NA] * len(out), dtype="Int64"),
                     fitted_at_target_year=np.nan, target_status=None)
    if targets is None or targets.empty:
        return out
    tg = targets.rename(columns={"value": "target_value", "year": "target_year"})
    # targets with no series at all still get a row: insufficient data
    m = tg.merge(out.drop(columns=["target_value", "target_year", "fitted_at_target_year", "target_status"]),
                 on=keys, how="left")
    # the observed value in the target year, or the latest year before it
    obs = t.merge(tg[keys + ["target_year"]], on=keys)
    obs = obs[obs["year"] <= obs["target_year"]].sort_values("year").groupby(keys + ["target_year"]).tail(1)
    m = m.merge(obs[keys + ["target_year", "value"]].rename(columns={"value": "observed"}),
                on=keys + ["target_year"], how="left")
    better = m["indicator"].map(lambda i: REGISTRY[i].better if i in REGISTRY else "higher")
    lower = (better == "lower").to_numpy()
    fitted = 1 / (1 + np.exp(-(m["intercept"] + m["slope"] * (m["target_year"].astype(float) - m["centre"]))))
    m["fitted_at_target_year"] = fitted

    def reaches(v):
        return np.where(lower, v <= m["target_value"], v >= m["target_value"])

    status = np.where(m["observed"].notna() & reaches(m["observed"]), "met",
                      np.where(m["slope"].isna(), "insufficient_data",
                               np.where(reaches(fitted), "on_track", "not_on_track")))
    m["target_status"] = status
    m["trend"] = m["trend"].fillna("insufficient_data")  # a target whose series is withheld or absent
    m["target_year"] = m["target_year"].astype("Int64")
    rest = out.merge(tg[keys], on=keys, how="left", indicator=True)
    rest = rest[rest["_merge"] == "left_only"].drop(columns="_merge")
    return pd.concat([m.drop(columns=["observed"]), rest], ignore_index=True)


def targets_frame(params_by_school: dict[str, dict]) -> pd.DataFrame:
    """All schools' targets from their params (see :mod:`hsp_eval.params`) as one DataFrame."""
    rows = [{"area_id": sid, **{k: t[k] for k in ("indicator", "group_type", "group", "value", "year")}}
            for sid, p in params_by_school.items() for t in p["targets"]]
    return pd.DataFrame(rows, columns=["area_id", "indicator", "group_type", "group", "value", "year"])
