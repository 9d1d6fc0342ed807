"""Funnel plots: each school's rate against its number of families, instead of a league table.

A funnel plot (Spiegelhalter 2005) puts each school's rate on the y axis against the size of
its denominator on the x axis, with a horizontal line at the **target** (the pooled national
rate) and control limits that narrow as the denominator grows. A school outside the limits
differs from the target by more than chance alone would usually give; a school inside does not.
Schools are never ranked: ranks of rates with overlapping intervals mislead (Goldstein and
Spiegelhalter 1996), and a small school near the top or bottom of a ranking is usually there
by chance.

Limits (the choice made here): the normal approximation to the binomial of Spiegelhalter
(2005), section 3.1,

    p0 +/- z * sqrt(p0 * (1 - p0) / n),

with ``z`` = 1.959964 (95%, "two standard deviations") and 3.090232 (99.8%, "three standard
deviations"), clipped to [0, 1]. Exact binomial limits step as n changes and the normal ones
are what most published funnel plots of rates show; for the school sizes here (tens to hundreds
of families) the two differ by less than a percentage point except for rates near 0 or 1.

Over-dispersion (optional, ``overdispersed=True``): when schools differ by more than sampling
error alone, most fall outside plain limits and the plot flags everyone. Spiegelhalter (2005),
section 3.4, estimates the over-dispersion from winsorised z-scores (10% each tail),
``phi = mean(z_w^2)``, and, when ``I * phi`` exceeds ``I - 1`` (I schools), an additive
between-school variance (a DerSimonian-Laird-type moment estimate)

    tau^2 = (I * phi - (I - 1)) / (sum w_i - sum w_i^2 / sum w_i),   w_i = n_i / (p0 (1 - p0)),

and widens the limits to ``p0 +/- z * sqrt(p0 (1 - p0) / n + tau^2)``. Schools outside those
limits differ by more than the usual spread between schools. Both plots are worth showing:
the plain one answers "is this school's rate different from the national rate?", the adjusted
one "is it unusual among schools?".

References
----------
Spiegelhalter, D. J. (2005). Funnel plots for comparing institutional performance.
*Statistics in Medicine*, 24(8), 1185-1202. https://doi.org/10.1002/sim.1970

Examples
--------
>>> lo, hi = funnel_limits(0.5, 100, 1.959964)
>>> round(float(lo), 4), round(float(hi), 4)
(0.402, 0.598)
>>> rows = pd.DataFrame({"area_id": ["A", "B"], "numerator": [90.0, 30.0], "denominator": [100.0, 100.0]})
>>> funnel_table(rows)["band"].tolist()
['above 99.8% limit', 'below 99.8% limit']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: z for two-sided 95% and 99.8% limits (standard normal quantiles 0.975 and 0.999)
Z95 = 1.959964
Z998 = 3.090232
#: funnel bands, from high to low; "withheld" for rows whose rate is not shown
BANDS = ("above 99.8% limit", "above 95% limit", "within 95% limits", "below 95% limit",
         "below 99.8% limit", "withheld")
COLUMNS = ["area_id", "year", "numerator", "denominator", "value", "target", "lo95", "hi95", "lo998", "hi998",
           "band", "phi", "tau2"]


def funnel_limits(p0, n, z: float, tau2: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper funnel limits ``p0 +/- z sqrt(p0 (1 - p0) / n + tau2)``, clipped to [0, 1].

    Parameters
    ----------
    p0 : target proportion (scalar or array).
    n : denominators (scalar or array); NaN or 0 gives NaN limits.
    z : standard normal quantile (:data:`Z95`, :data:`Z998`).
    tau2 : additive between-school variance (:func:`overdispersion`); 0 for plain limits.

    Examples
    --------
    >>> lo, hi = funnel_limits(0.8, [25, 400], Z998)
    >>> np.round(lo, 4).tolist(), np.round(hi, 4).tolist()
    ([0.5528, 0.7382], [1.0, 0.8618])
    """
    p0 = np.asarray(p0, dtype="float64")
    n = np.asarray(n, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        half = z * np.sqrt(p0 * (1 - p0) / np.where(n > 0, n, np.nan) + tau2)
    return np.clip(p0 - half, 0, 1), np.clip(p0 + half, 0, 1)


def pooled_rate(rows: pd.DataFrame) -> float:
    """Sum of numerators over sum of denominators of the rows whose numerator is shown.

    Examples
    --------
    >>> pooled_rate(pd.DataFrame({"numerator": [1.0, 3.0, np.nan], "denominator": [2.0, 6.0, 4.0]}))
    0.5
    """
    shown = rows["numerator"].notna() & rows["denominator"].gt(0)
    den = rows.loc[shown, "denominator"].sum()
    return float(rows.loc[shown, "numerator"].sum() / den) if den > 0 else float("nan")


def winsorised_z(z: np.ndarray, share: float = 0.10) -> np.ndarray:
    """z-scores with the lowest and highest ``share`` pulled in to the share's quantiles (Spiegelhalter 2005).

    Examples
    --------
    >>> winsorised_z(np.arange(10.0)).tolist()
    [1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 8.0]
    """
    z = np.asarray(z, dtype="float64")
    k = int(np.floor(share * len(z)))
    if k == 0:
        return z.copy()
    s = np.sort(z)
    return np.clip(z, s[k], s[len(z) - 1 - k])


def overdispersion(value, n, p0: float) -> dict:
    """Over-dispersion ``phi`` and additive between-school variance ``tau2`` of rates around ``p0``.

    Spiegelhalter (2005), section 3.4: z-scores ``(y - p0) / sqrt(p0 (1 - p0) / n)`` winsorised
    at 10% each tail, ``phi = mean(z^2)``; ``tau2`` is 0 unless ``I * phi > I - 1``. Rows with a
    blank rate are left out.

    Returns
    -------
    dict with ``phi``, ``tau2`` and ``schools`` (I).

    Examples
    --------
    >>> d = overdispersion([0.4, 0.6, 0.5, 0.45, 0.55], [100] * 5, 0.5)
    >>> round(d["phi"], 2), round(d["tau2"], 5), d["schools"]
    (2.0, 0.00375, 5)
    """
    v, n = np.asarray(value, dtype="float64"), np.asarray(n, dtype="float64")
    ok = np.isfinite(v) & (n > 0)
    v, n = v[ok], n[ok]
    i = len(v)
    if i < 2 or not 0 < p0 < 1:
        return {"phi": float("nan"), "tau2": 0.0, "schools": i}
    var = p0 * (1 - p0) / n
    phi = float(np.mean(winsorised_z((v - p0) / np.sqrt(var)) ** 2))
    w = 1 / var
    tau2 = max(0.0, (i * phi - (i - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    return {"phi": phi, "tau2": float(tau2), "schools": i}


def _band(value: np.ndarray, lo95, hi95, lo998, hi998) -> np.ndarray:
    out = np.full(value.shape, BANDS[2], dtype=object)
    out[value < lo95] = BANDS[3]
    out[value < lo998] = BANDS[4]
    out[value > hi95] = BANDS[1]
    out[value > hi998] = BANDS[0]
    out[~np.isfinite(value)] = BANDS[5]
    return out


def funnel_table(rows: pd.DataFrame, target: float | None = None, overdispersed: bool = False) -> pd.DataFrame:
    """One row per school (and year) with its rate, denominator, funnel limits and band.

    Parameters
    ----------
    rows : school rows of one indicator and group: ``area_id``, ``numerator``,
        ``denominator`` and optionally ``year``, ``value`` (the rate; numerator / denominator
        when absent) and ``suppressed``. A suppressed row (numerator blank) stays in the table
        with band ``"withheld"`` and no rate.
    target : the target rate (the pooled national rate, e.g. the national row's ``value``);
        default: :func:`pooled_rate` of ``rows`` within each year.
    overdispersed : widen the limits by the between-school variance ``tau2`` of
        :func:`overdispersion` (estimated within each year).

    Returns
    -------
    DataFrame with columns :data:`COLUMNS` (``phi`` and ``tau2`` the year's over-dispersion;
    ``tau2`` is 0 in the limits unless ``overdispersed``), ordered by year and school id
    (never by rate: a funnel plot is not a ranking).

    Raises
    ------
    ValueError
        When a column the table needs is missing, or a denominator is negative.
    """
    missing = [c for c in ("area_id", "numerator", "denominator") if c not in rows]
    if missing:
        raise ValueError(f"funnel_table: the rows have no column {', '.join(missing)}")
    r = rows.copy()
    if (r["denominator"] < 0).any():
        bad = r.index[(r["denominator"] < 0).to_numpy()][0]
        raise ValueError(f"funnel_table: row {bad}, column denominator: a negative number of families")
    if "year" not in r:
        r["year"] = np.nan
    if "value" not in r:
        r["value"] = r["numerator"] / r["denominator"].where(r["denominator"] > 0)
    if "suppressed" in r:
        r.loc[r["suppressed"].astype(bool), "value"] = np.nan
    if target is None:
        by_year = {y: pooled_rate(g) for y, g in r.groupby("year", dropna=False, sort=False)}
        r["target"] = r["year"].map(by_year) if r["year"].notna().all() else pooled_rate(r)
    else:
        r["target"] = float(target)
    r["phi"], r["tau2"] = np.nan, 0.0
    for _, idx in r.groupby("year", dropna=False, sort=False).groups.items():
        g = r.loc[idx]
        d = overdispersion(g["value"], g["denominator"], float(g["target"].iloc[0]))
        r.loc[idx, "phi"] = d["phi"]
        r.loc[idx, "tau2"] = d["tau2"] if overdispersed else 0.0
    n = r["denominator"].to_numpy(dtype="float64")
    p0 = r["target"].to_numpy(dtype="float64")
    tau2 = r["tau2"].to_numpy(dtype="float64")
    r["lo95"], r["hi95"] = funnel_limits(p0, n, Z95, tau2)
    r["lo998"], r["hi998"] = funnel_limits(p0, n, Z998, tau2)
    r["band"] = _band(r["value"].to_numpy(dtype="float64"), r["lo95"].to_numpy(), r["hi95"].to_numpy(),
                      r["lo998"].to_numpy(), r["hi998"].to_numpy())
    return r.sort_values(["year", "area_id"], kind="stable")[COLUMNS].reset_index(drop=True)


def band_counts(funnel: pd.DataFrame) -> pd.DataFrame:
    """How many schools fall in each funnel band (every band listed, zeros included), by year.

    Examples
    --------
    >>> f = pd.DataFrame({"year": [2024, 2024], "band": ["within 95% limits", "withheld"]})
    >>> band_counts(f).set_index("band").loc["within 95% limits", "schools"]
    np.int64(1)
    """
    cat = pd.Categorical(funnel["band"], categories=list(BANDS))
    out = (pd.DataFrame({"year": funnel["year"].to_numpy(), "band": cat})
           .groupby(["year", "band"], observed=False, dropna=False).size().rename("schools").reset_index())
    return out
