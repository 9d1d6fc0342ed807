"""Self-review indicators: the school's rubric self-review of its partnership practice.

Leaders, staff and whānau representatives rate the same rubric (1 not occurring, 2 rarely,
3 sometimes, 4 frequently / embedded). ``self_review_rating`` is the mean rating per
dimension and rater group (group ``"<dimension>:<rater_group>"``, e.g.
``vision_and_culture:leaders``); it is counted through n, sum and sum of squares, so region
and national means pool the ratings of their schools. ``self_review_gap`` is the leaders'
mean minus the whānau mean per dimension: positive when leaders rate the school's practice
higher than whānau do. It is computed from the ratings themselves at every level (the
ratings of every school of a region pooled, as for the mean), with a Welch t interval for
the difference of two means; its numerator is blank and its denominator is the number of
whānau ratings. Ratings of several frameworks that share a dimension name in one school
and year are pooled.

Examples
--------
>>> from hsp_eval import indicators                                   # doctest: +SKIP
>>> indicators.compute(ds).query("indicator == 'self_review_gap'")    # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from hsp_eval.data.keys import record_keys
from hsp_eval.indicators.stats import Z95

FINAL = ["level", "area_id", "year", "indicator", "group_type", "group", "numerator", "denominator", "people",
         "value", "ci_low", "ci_high"]


def rating_counts(ratings: pd.DataFrame) -> pd.DataFrame:
    """``self_review_rating``'s counted rows: n, sum and sum of squares of the ratings per school, year
    and group ``"<dimension>:<rater_group>"`` (group_type ``dimension``), with their record keys' sums.

    Each rating is in exactly one group, so this is one plain group-by over the loaded columns
    (the packed-integer cells of :mod:`hsp_eval.indicators.aggregate` buy nothing here: a
    ``groupby`` takes 0.57x their time nationally, docs/architecture.md). A rating's record is
    its school, year, framework, dimension and rater group, and which of that group's ratings it
    is (several leaders may each rate). Rows are ordered by school, year and group.

    Examples
    --------
    >>> r = pd.DataFrame({"school_id": ["A", "A", "A"], "year": [2024] * 3, "dimension": ["time"] * 3,
    ...                   "rater_group": ["whanau", "leaders", "whanau"], "rating": [2, 3, 4]})
    >>> rating_counts(r)[["group", "denominator", "sum", "sumsq"]].to_numpy().tolist()
    [['time:leaders', 1.0, 3.0, 9.0], ['time:whanau', 2.0, 6.0, 20.0]]
    """
    r = ratings.reset_index(drop=True)
    record = [c for c in ("school_id", "year", "framework", "dimension", "rater_group") if c in r]
    nth = r.groupby(record, observed=True, sort=False).cumcount()
    key = record_keys(r[record].assign(nth=nth.to_numpy()), record + ["nth"], "rating")
    v = r["rating"].to_numpy(dtype="float64")
    known = ~np.isnan(v)  # a blank rating counts in no group
    v0 = np.where(known, v, 0.0)
    by = ["school_id", "year", "dimension", "rater_group"]
    sums = (r[by].assign(denominator=known.astype("float64"), sum=v0, sumsq=v0 * v0,
                         ck_denominator=np.where(known, key, 0.0))
            .groupby(by, observed=True, sort=False).sum().reset_index())
    sums = sums[sums["denominator"] > 0]
    out = pd.DataFrame({"school_id": sums["school_id"].astype("str"), "year": sums["year"],
                        "group_type": "dimension",
                        "group": sums["dimension"].astype("str") + ":" + sums["rater_group"].astype("str"),
                        "denominator": sums["denominator"], "sum": sums["sum"], "sumsq": sums["sumsq"],
                        "people": sums["denominator"],  # one rating per unit: the people behind a mean are its n
                        "people_num": np.nan, "ck_numerator": np.nan,
                        # the records of a mean are its units: its n and its people have the same keys
                        "ck_denominator": sums["ck_denominator"], "ck_people": sums["ck_denominator"]})
    return out.sort_values(["school_id", "year", "group"], kind="stable").reset_index(drop=True)


def counted(ctx) -> pd.DataFrame:
    """``self_review_rating`` as n/sum/sumsq rows per school, year, dimension and rater group.

    The numerator column is there (blank) so the engine can finish its proportions when no
    other topic has any.
    """
    return rating_counts(ctx.dataset["self_review"]).assign(indicator="self_review_rating", numerator=np.nan)


def welch_interval(mean1, sd1, n1, mean2, sd2, n2, alpha: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Welch t interval for ``mean1 - mean2`` (unequal variances, Welch-Satterthwaite df).

    NaN where a group has fewer than 2 values; when both standard deviations are 0 the
    interval is the difference itself (as a t interval of a constant mean is the mean).

    Examples
    --------
    >>> lo, hi = welch_interval([3.0], [1.0], [10], [2.0], [1.0], [10])
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.06, 1.94)
    """
    m1, s1, n1, m2, s2, n2 = (np.asarray(x, dtype="float64") for x in (mean1, sd1, n1, mean2, sd2, n2))
    ok = (n1 >= 2) & (n2 >= 2) & np.isfinite(s1) & np.isfinite(s2)
    v1 = np.where(ok, s1 ** 2 / np.where(ok, n1, 1), np.nan)
    v2 = np.where(ok, s2 ** 2 / np.where(ok, n2, 1), np.nan)
    se = np.sqrt(v1 + v2)
    pos = ok & (se > 0)
    den = np.where(pos, v1 ** 2 / np.maximum(n1 - 1, 1) + v2 ** 2 / np.maximum(n2 - 1, 1), 1.0)
    df = np.where(pos, (v1 + v2) ** 2 / den, np.nan)
    half = np.where(pos, sps.t.ppf(1 - alpha / 2, np.where(pos, df, 1.0)) * se, np.where(ok, 0.0, np.nan))
    diff = m1 - m2
    return diff - half, diff + half


def _by_area(ratings: pd.DataFrame, region_of: pd.Series) -> pd.DataFrame:
    """The leaders' and whānau ratings once per level: columns level, area_id, year, dimension, rater, rating."""
    r = ratings[ratings["rater_group"].astype("str").isin(["leaders", "whanau"])]
    base = pd.DataFrame({"year": r["year"].to_numpy(), "dimension": r["dimension"].astype("str").to_numpy(),
                         "rater": r["rater_group"].astype("str").to_numpy(),
                         "rating": r["rating"].to_numpy(dtype="float64")})
    school = r["school_id"].astype("str").to_numpy()
    areas = {"school": school, "region": pd.Series(school).map(region_of).astype("str").to_numpy(),
             "national": np.full(len(r), "NZ", dtype=object)}
    return pd.concat([base.assign(level=lvl, area_id=a) for lvl, a in areas.items()], ignore_index=True)


def gap_rows(ratings: pd.DataFrame, region_of: pd.Series) -> pd.DataFrame:
    """``self_review_gap`` rows (final columns) at school, region and national level.

    Examples
    --------
    >>> r = pd.DataFrame({"school_id": ["A"] * 4, "year": [2024] * 4, "dimension": ["time"] * 4,
    ...                   "rater_group": ["leaders", "leaders", "whanau", "whanau"], "rating": [4, 4, 2, 3]})
    >>> g = gap_rows(r, pd.Series({"A": "Otago"}))
    >>> g.loc[g["level"] == "school", ["value", "denominator"]].values.tolist()
    [[1.5, 2.0]]
    """
    long = _by_area(ratings, region_of)
    keys = ["level", "area_id", "year", "dimension"]
    s = long.groupby(keys + ["rater"], sort=True)["rating"].agg(["count", "mean", "std"]).unstack("rater")
    if s.empty or "leaders" not in s["count"] or "whanau" not in s["count"]:
        return pd.DataFrame(columns=FINAL)
    s = s[s[("count", "leaders")].notna() & s[("count", "whanau")].notna()]
    lead = {k: s[(k, "leaders")].to_numpy(dtype="float64") for k in ("count", "mean", "std")}
    wh = {k: s[(k, "whanau")].to_numpy(dtype="float64") for k in ("count", "mean", "std")}
    lo, hi = welch_interval(lead["mean"], lead["std"], lead["count"], wh["mean"], wh["std"], wh["count"])
    out = s.index.to_frame(index=False).rename(columns={"dimension": "group"})
    return out.assign(indicator="self_review_gap", group_type="dimension", numerator=np.nan,
                      denominator=wh["count"], people=np.minimum(lead["count"], wh["count"]),
                      value=lead["mean"] - wh["mean"], ci_low=lo, ci_high=hi)[FINAL]


def pooled(ctx) -> dict[str, pd.DataFrame]:
    """The leaders' and whānau ratings (per school), pooled by the engine for every level."""
    r = ctx.dataset["self_review"]
    return {"self_review.ratings": r[r["rater_group"].astype("str").isin(["leaders", "whanau"])]}


def derived(table: pd.DataFrame, pooled: dict, region_of: pd.Series) -> pd.DataFrame:
    """``self_review_gap`` rows, from the ratings (not from the finished table) at every level."""
    return gap_rows(pooled["self_review.ratings"], region_of)
