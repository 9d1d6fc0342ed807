"""Change over the years, trend tests and the status of a school's targets.

Partnership takes about three years to build, so each school's series of every proportion
and mean indicator (per group) is summarised once it has three or more years:

- the change from the first to the last year, with an interval built from the two years' own
  intervals (:func:`hsp_eval.indicators.stats.mover_difference`: Newcombe's method on the engine's
  clustered intervals);
- the trend: a straight line through the yearly values, each weighted by the inverse of its
  sampling variance (read from its interval, so clustering counts) **plus a between-year
  variance** that the indicator shows across all schools (:func:`between_year_variance`). A
  school's year is never a perfect measurement of the school: events, staff and cohorts change.
  Without that allowance four ordinary years would often look like a trend; with it, about 5% of
  series with no true change are called changing (the coverage simulation in the tests).
  Classes: ``improving``, ``no clear change``, ``declining`` (``rising``/``falling`` for the
  indicators with no better direction), ``too few years`` (fewer than three), ``not tested``
  (differences and Cronbach's alpha: the change only). Nothing is called "stable": no test shows
  that a series did not change.
- the status of each target in the school's params file: ``met`` (the value observed in the
  target year, or the latest year before it, reaches the target), ``on_track`` (the trend's 95%
  interval at the target year lies wholly on the target's side), ``not_on_track`` (wholly on the
  other side), ``uncertain`` (the interval holds the target), or ``insufficient_data`` (fewer
  than three years, or withheld).

Everything is computed for every series at once with ``np.bincount``; a test checks the fits
against statsmodels' weighted least squares series by series.

Examples
--------
>>> import numpy as np
>>> fit = linear_trend(np.array([.2, .3, .4]), np.full(3, .03 ** 2), np.array([2022, 2023, 2024]),
...                    np.array([0, 0, 0]))
>>> round(float(fit["slope"][0]), 3), bool(fit["p_value"][0] < 0.05)
(0.1, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from hsp_eval.indicators import stats
from hsp_eval.indicators.registry import GAP_SUFFIX, REGISTRY

MIN_YEARS = 3
ALPHA = 0.05
Z = float(sps.norm.ppf(1 - ALPHA / 2))
TESTED_KINDS = ("proportion", "mean")
MIN_VARIANCE = 1e-6  # a row whose interval has no width gets this (0.1 points): a weight, not infinity
TREND_COLUMNS = ["area_id", "indicator", "group_type", "group", "first_year", "last_year", "n_years",
                 "value_first", "value_last", "change", "change_ci_low", "change_ci_high", "centre_year",
                 "fitted_at_centre", "slope", "slope_ci_low", "slope_ci_high", "p_value", "between_year_sd",
                 "trend", "target_value", "target_year", "fitted_at_target_year", "fitted_ci_low",
                 "fitted_ci_high", "target_status"]
KEYS = ["area_id", "indicator", "group_type", "group"]


def row_variance(ci_low, ci_high) -> np.ndarray:
    """The sampling variance of a value read from its 95% interval: ((high - low) / (2 z))^2.

    The engine's intervals already allow for clustering (families, respondents, schools), so the
    trend inherits it. NaN where the interval is missing.

    Examples
    --------
    >>> round(float(row_variance([0.4], [0.6])[0]), 6)    # se 0.051
    0.002603
    """
    lo, hi = (np.asarray(a, dtype="float64") for a in (ci_low, ci_high))
    return ((hi - lo) / (2 * Z)) ** 2


def _sums(w, x, series, k) -> tuple[np.ndarray, ...]:
    return tuple(np.bincount(series, w * x ** e, minlength=k) for e in (0, 1, 2))


def linear_trend(value, variance, year, series, tau2=0.0) -> dict:
    """Weighted least squares line ``value = level + slope * (year - centre)`` per series, all at once.

    Parameters
    ----------
    value, variance, year : per row (variance: the row's sampling variance).
    series : integer series code per row (0..k-1).
    tau2 : the between-year variance added to every row's variance (a scalar, or one per row).

    Returns
    -------
    dict of arrays indexed by series: ``centre`` (the weighted mean year), ``level`` (fitted at the
    centre), ``slope`` (per year), ``se`` (of the slope), ``se_level``, ``p_value`` (two-sided,
    normal), ``q`` (the weighted residual sum of squares), ``c`` (the DerSimonian-Laird scaling
    term) and ``df`` (rows - 2); these last three feed :func:`between_year_variance`.
    """
    y, v, yr = (np.asarray(a, dtype="float64") for a in (value, variance, year))
    series = np.asarray(series, dtype=np.int64)
    k = int(series.max()) + 1 if len(series) else 0
    w = 1 / (np.maximum(v, MIN_VARIANCE) + tau2)
    s0 = np.bincount(series, w, minlength=k)
    centre = np.bincount(series, w * yr, minlength=k) / np.where(s0 > 0, s0, 1)
    x = yr - centre[series]  # centred: the level and slope are uncorrelated
    _, _, s2 = _sums(w, x, series, k)
    sy, sxy = np.bincount(series, w * y, minlength=k), np.bincount(series, w * x * y, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        level = sy / s0
        slope = np.where(s2 > 0, sxy / s2, np.nan)
        se = np.where(s2 > 0, 1 / np.sqrt(s2), np.nan)
        p_value = 2 * sps.norm.sf(np.abs(slope / se))
        # DerSimonian-Laird terms of the weighted fit (Raudenbush 2009, meta-regression)
        q = np.bincount(series, w * (y - level[series] - slope[series] * x) ** 2, minlength=k)
        t0, _, t2 = _sums(w * w, x, series, k)
        c = s0 - (t0 / s0 + t2 / s2)
    df = np.bincount(series, minlength=k) - 2.0
    return {"centre": centre, "level": level, "slope": slope, "se": se, "se_level": 1 / np.sqrt(s0),
            "p_value": p_value, "q": q, "c": c, "df": df}


def between_year_variance(fit: dict, group, scale=1.0) -> pd.Series:
    """The between-year variance of each group of series (an indicator), pooled by DerSimonian-Laird.

    tau^2 = max(0, (sum Q - sum df) / sum c) over the group's series, where Q is a series'
    weighted residual sum of squares about its line (weights 1 / sampling variance), df its
    years minus 2 and c the matching scaling term: the year-to-year scatter about each school's
    line that sampling alone does not explain, the same for every school of the indicator.

    Parameters
    ----------
    fit : :func:`linear_trend` with ``tau2=0``.
    group : the group (indicator) of each series.
    scale : per series, the multiple of tau^2 that applies to it (:func:`shock_scale`).
    """
    f = pd.DataFrame({"g": np.asarray(group), "q": fit["q"], "c": fit["c"] * scale, "df": fit["df"]})
    f = f[(f["df"] > 0) & np.isfinite(f["q"]) & np.isfinite(f["c"])]
    s = f.groupby("g", sort=False)[["q", "c", "df"]].sum()
    return ((s["q"] - s["df"]) / s["c"].where(s["c"] > 0)).clip(lower=0).fillna(0.0)


def shock_scale(mean_value, proportion) -> np.ndarray:
    """How a year's shock scales with a series' level: (4 p (1 - p))^2 for proportions, 1 for means.

    A year that moves every family a little on the log-odds scale moves a share near 50% most and
    one near 5% or 95% far less, so the between-year variance is estimated and applied on that
    scale and reported as it is at 50% (where the multiple is 1).

    Examples
    --------
    >>> shock_scale([0.5, 0.1, 3.2], [True, True, False]).round(4).tolist()
    [1.0, 0.1296, 1.0]
    """
    p = np.clip(np.asarray(mean_value, dtype="float64"), 0.02, 0.98)
    return np.where(np.asarray(proportion, dtype=bool), (4 * p * (1 - p)) ** 2, 1.0)


def classify(slope: np.ndarray, p_value: np.ndarray, better: np.ndarray) -> np.ndarray:
    """The trend class of each slope: changing only when p < 0.05, named by the better direction.

    Examples
    --------
    >>> classify(np.array([.02, -.02, .02, .001]), np.array([.01, .01, .01, .5]),
    ...          np.array(["higher", "higher", "lower", "higher"])).tolist()
    ['improving', 'declining', 'declining', 'no clear change']
    """
    up = (p_value < ALPHA) & (slope > 0)
    down = (p_value < ALPHA) & (slope < 0)
    good_up = np.where(better == "higher", "improving", np.where(better == "lower", "declining", "rising"))
    good_down = np.where(better == "higher", "declining", np.where(better == "lower", "improving", "falling"))
    return np.where(up, good_up, np.where(down, good_down, "no clear change"))


def compute_trends(table: pd.DataFrame, targets: pd.DataFrame | None = None,
                   between_year_var: dict | None = None) -> pd.DataFrame:
    """Trend and target status per area, indicator and group (school-level rows only).

    Parameters
    ----------
    table : the indicator table (shown school rows are used).
    targets : optional DataFrame with columns area_id (school_id), indicator, group_type,
        group, value, year (from the schools' params files; see :func:`targets_frame`).
    between_year_var : optional {indicator: between-year variance} to use instead of estimating
        it from ``table`` (a school report recomputing one school's trends takes the values of
        the trends table, which were estimated across every school).

    Returns
    -------
    DataFrame with :data:`TREND_COLUMNS`, one row per series (and per target).
    """
    t = table[(table["level"] == "school") & ~table["suppressed"].astype(bool)
              & ~table["indicator"].str.endswith(GAP_SUFFIX) & table["value"].notna()]
    t = t[list(dict.fromkeys(KEYS + ["year", "value", "ci_low", "ci_high"]))].sort_values(KEYS + ["year"],
                                                                                       kind="stable")
    g = t.groupby(KEYS, sort=False, observed=True)
    first, last = g.head(1).set_index(KEYS), g.tail(1).set_index(KEYS)
    out = pd.DataFrame({"first_year": first["year"], "last_year": last["year"], "n_years": g["year"].nunique(),
                        "value_first": first["value"], "value_last": last["value"]})
    out["change"] = out["value_last"] - out["value_first"]
    out["change_ci_low"], out["change_ci_high"] = stats.mover_difference(
        last["value"], last["ci_low"], last["ci_high"], first["value"], first["ci_low"], first["ci_high"])
    ind = out.index.get_level_values("indicator")
    kind = np.asarray(ind.map(lambda i: REGISTRY[i].kind))
    for c in ("centre_year", "fitted_at_centre", "slope", "slope_ci_low", "slope_ci_high", "p_value",
              "between_year_sd", "se_level", "se"):
        out[c] = np.nan

    # one line per tested series with >= MIN_YEARS years that have an interval, all at once. t is
    # sorted by series and year, and out's rows are the series in that order (ngroup numbers them so),
    # so a row's series is a position: no lookup of the text keys (docs/performance.md, issue 20)
    t = t.assign(_v=row_variance(t["ci_low"], t["ci_high"]), _s=g.ngroup().to_numpy())
    t = t[np.isfinite(t["_v"])]
    series, year = t["_s"].to_numpy(), t["year"].to_numpy()
    new_year = np.ones(len(t), dtype=bool)  # the first row of each (series, year)
    new_year[1:] = (series[1:] != series[:-1]) | (year[1:] != year[:-1])
    fit_years = np.bincount(series[new_year], minlength=len(out))
    tested = np.isin(kind, TESTED_KINDS) & (fit_years >= MIN_YEARS)
    ok = out.index[tested]
    if len(ok):
        keep = tested[series]
        rows = t[keep].reset_index(drop=True)
        code = (np.cumsum(tested) - 1)[series[keep]]  # the series' position among the tested ones
        series_ind = ok.get_level_values("indicator").to_numpy()
        mean = np.bincount(code, rows["value"], len(ok)) / np.bincount(code, minlength=len(ok))
        scale = shock_scale(mean, np.asarray(pd.Index(series_ind).map(lambda i: REGISTRY[i].kind)) == "proportion")
        tau2 = between_year_variance(linear_trend(rows["value"], rows["_v"], rows["year"], code), series_ind,
                                     scale)
        tau2 = {**tau2.to_dict(), **(between_year_var or {})}
        tau2_row = np.array([tau2.get(i, 0.0) for i in series_ind])
        fit = linear_trend(rows["value"], rows["_v"], rows["year"], code, (tau2_row * scale)[code])
        out.loc[ok, "centre_year"], out.loc[ok, "fitted_at_centre"] = fit["centre"], fit["level"]
        out.loc[ok, "slope"], out.loc[ok, "p_value"] = fit["slope"], fit["p_value"]
        out.loc[ok, "slope_ci_low"] = fit["slope"] - Z * fit["se"]
        out.loc[ok, "slope_ci_high"] = fit["slope"] + Z * fit["se"]
        out.loc[ok, "se"], out.loc[ok, "se_level"] = fit["se"], fit["se_level"]
        out.loc[ok, "between_year_sd"] = np.sqrt(tau2_row)  # as at 50% for proportions
    better = np.asarray(ind.map(lambda i: REGISTRY[i].better))
    tested = out["slope"].notna().to_numpy()
    out["trend"] = np.where(tested, classify(out["slope"].to_numpy(), out["p_value"].to_numpy(), better),
                            np.where(np.isin(kind, TESTED_KINDS), "too few years", "not tested"))
    out = _targets(out.reset_index(), t, targets)
    return out[TREND_COLUMNS].sort_values(KEYS, kind="stable").reset_index(drop=True)


def between_year_variances(trends: pd.DataFrame) -> dict:
    """{indicator: between-year variance} as a trends table carries it (for :func:`compute_trends`)."""
    s = trends.dropna(subset=["between_year_sd"]).groupby("indicator")["between_year_sd"].first()
    return (s ** 2).to_dict()


def _targets(out: pd.DataFrame, t: pd.DataFrame, targets: pd.DataFrame | None) -> pd.DataFrame:
    out = out.assign(target_value=np.nan, target_year=pd.array([pd.NA] * len(out), dtype="Int64"),
                     fitted_at_target_year=np.nan, fitted_ci_low=np.nan, fitted_ci_high=np.nan,
                     target_status=None)
    if targets is None or targets.empty:
        return out
    tg = targets.rename(columns={"value": "target_value", "year": "target_year"})
    # targets with no series at all still get a row: insufficient data
    m = tg.merge(out.drop(columns=["target_value", "target_year", "fitted_at_target_year", "fitted_ci_low",
                                   "fitted_ci_high", "target_status"]), on=KEYS, how="left")
    # the observed value in the target year, or the latest year before it
    obs = t.merge(tg[KEYS + ["target_year"]], on=KEYS)
    obs = obs[obs["year"] <= obs["target_year"]].sort_values("year").groupby(KEYS + ["target_year"]).tail(1)
    m = m.merge(obs[KEYS + ["target_year", "value"]].rename(columns={"value": "observed"}),
                on=KEYS + ["target_year"], how="left")
    lower = (m["indicator"].map(lambda i: REGISTRY[i].better if i in REGISTRY else "higher") == "lower").to_numpy()
    dx = m["target_year"].astype(float) - m["centre_year"]
    fitted = m["fitted_at_centre"] + m["slope"] * dx
    se = np.sqrt(m["se_level"] ** 2 + (dx * m["se"]) ** 2)  # centred: level and slope are uncorrelated
    lo, hi = fitted - Z * se, fitted + Z * se
    prop = (m["indicator"].map(lambda i: REGISTRY[i].kind) == "proportion").to_numpy()
    fitted, lo, hi = (np.where(prop, v.clip(0, 1), v) for v in (fitted, lo, hi))
    m["fitted_at_target_year"], m["fitted_ci_low"], m["fitted_ci_high"] = fitted, lo, hi
    goal = m["target_value"].to_numpy()
    reached = np.where(lower, m["observed"] <= goal, m["observed"] >= goal)
    sure = np.where(lower, hi <= goal, lo >= goal)       # the whole interval reaches the target
    short = np.where(lower, lo > goal, hi < goal)        # the whole interval falls short
    m["target_status"] = np.select(
        [m["observed"].notna().to_numpy() & reached, m["slope"].isna().to_numpy(), sure, short],
        ["met", "insufficient_data", "on_track", "not_on_track"], "uncertain")
    m["trend"] = m["trend"].fillna("too few years")  # a target whose series is withheld or absent
    m["target_year"] = m["target_year"].astype("Int64")
    rest = out.merge(tg[KEYS], on=KEYS, how="left", indicator=True)
    rest = rest[rest["_merge"] == "left_only"].drop(columns="_merge")
    return pd.concat([m.drop(columns=["observed"]), rest], ignore_index=True)


def targets_frame(params_by_school: dict[str, dict]) -> pd.DataFrame:
    """All schools' targets from their params (see :mod:`hsp_eval.indicators.params`) as one DataFrame."""
    rows = [{"area_id": sid, **{k: t[k] for k in ("indicator", "group_type", "group", "value", "year")}}
            for sid, p in params_by_school.items() for t in p["targets"]]
    return pd.DataFrame(rows, columns=["area_id", "indicator", "group_type", "group", "value", "year"])
