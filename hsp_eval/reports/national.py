"""National summaries for the Ministry's overview: distributions across schools, funnels, gaps.

Everything here reads the indicator table (usually the publication table: regional and
national counts randomly rounded to base 3 and suppressed under 6; school rows suppressed
under ``min_n``) and returns tidy frames for :mod:`hsp_eval.reports.plots_national`.

- :func:`school_view`: the school rows as the national overview may show them: counts
  randomly rounded to base 3 and suppressed under 6 with the same rule as regional rows
  (:func:`hsp_eval.indicators.disclosure.publication`); rates and intervals stay those of the
  unrounded counts, as the spec asks.
- :func:`distribution` / :func:`distribution_summary`: each key indicator's school values
  and their spread (deciles, quartiles, median) by year.
- :func:`funnel`: one year's funnel table (:func:`hsp_eval.reports.funnel.funnel_table`) with the
  national row's rate as target.
- :func:`area_gaps`: equity-gap rows nationally and by region.
- :func:`band_rows`: rates and equity gaps by **Equity Index band**, summed from school rows
  (the indicator table has no band level). A school-year enters a band's sums only where the
  group's row and the school's ``all`` row are both shown, so suppressed small groups are
  left out (the ``schools`` column says how many school-years were used); the band rows'
  counts are then rounded and suppressed like regional rows.

Equity Index bands (a choice of hsp_eval, not an official grouping): the EQI runs 344-569,
higher meaning more socio-economic barriers; :data:`hsp_eval.reports.prepared.EQI_BANDS` cuts it
at 420 and 480 into *fewer*, *moderate* and *more* barriers; the prepared schools table carries
each school's band.

Examples
--------
>>> t = pd.DataFrame({"level": ["school", "national"], "area_id": ["A", "NZ"], "year": 2024})
>>> restrict(t, years=2024)["area_id"].tolist()
['A', 'NZ']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from hsp_eval.indicators import disclosure, stats
from hsp_eval.reports.funnel import funnel_table
from hsp_eval.indicators.registry import GAP_SUFFIX, REGISTRY, key_indicators
from hsp_eval.reports.labels import fmt_value
from hsp_eval.reports.prepared import EQI_BANDS, NO_EQI

#: key indicators of the national overview (registry ``key_for`` ``"national"``; group "all" rows exist for each)
KEY_INDICATORS = key_indicators("national")
BAND_LEVEL = "eqi_band"
QUANTILES = {"p10": 0.10, "p25": 0.25, "median": 0.50, "p75": 0.75, "p90": 0.90}
#: the fewest shown schools a spread (percentiles) is given for; with fewer it would describe single schools
MIN_SPREAD = 5


def restrict(table: pd.DataFrame, schools: pd.DataFrame | None = None, region: str | None = None,
             years=None) -> pd.DataFrame:
    """The rows of ``table`` for ``years`` and, with ``region``, that region's schools and region rows.

    National rows are kept (the comparison a region is read against).

    Raises
    ------
    ValueError
        When ``region`` has no rows in the table (the message lists the regions there are).

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["school", "school", "region", "national"], "area_id": ["A", "B", "North", "NZ"],
    ...                   "year": 2024})
    >>> s = pd.DataFrame({"school_id": ["A", "B"], "region": ["North", "South"]})
    >>> restrict(t, s, region="North")["area_id"].tolist()
    ['A', 'North', 'NZ']
    """
    t = table
    if years is not None:
        years = [years] if np.isscalar(years) else list(years)
        t = t[t["year"].isin([int(y) for y in years])]
    if region:
        have = sorted(t.loc[t["level"] == "region", "area_id"].unique())
        if region not in have:
            raise ValueError(f"region {region!r} has no rows in the indicator table; regions there: {', '.join(have)}")
        if schools is None:
            raise ValueError("restrict: give the prepared schools table (prepared.read_prepared(path, \"schools\")) "
                             "to pick a region's schools")
        ids = set(schools.loc[schools["region"] == region, "school_id"])
        keep = ((t["level"] == "national") | ((t["level"] == "region") & (t["area_id"] == region))
                | ((t["level"] == "school") & t["area_id"].isin(ids)))
        t = t[keep]
    return t


def school_view(table: pd.DataFrame) -> pd.DataFrame:
    """The school rows of the publication table, as published (publication rules were applied to
    every level when the table was made: rounded counts, values from them, withheld rows blank)."""
    return table[table["level"] == "school"]


def _select(table: pd.DataFrame, level: str, indicators, group_type="all", group="all") -> pd.DataFrame:
    m = (table["level"] == level) & table["indicator"].isin(list(indicators)) & (table["group_type"] == group_type)
    if group is not None:
        m &= table["group"] == group
    return table[m]


def distribution(table: pd.DataFrame, indicators=KEY_INDICATORS) -> pd.DataFrame:
    """Each school's value of each indicator (group ``all``) by year, counts rounded (:func:`school_view`).

    Returns the indicator table's columns for those rows, ordered by indicator, year and school.
    """
    rows = _select(school_view(table), "school", indicators)
    order = {k: i for i, k in enumerate(indicators)}
    return (rows.assign(_o=rows["indicator"].map(order)).sort_values(["_o", "year", "area_id"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))


def distribution_summary(table: pd.DataFrame, indicators=KEY_INDICATORS) -> pd.DataFrame:
    """The spread of each indicator across schools by year, beside the national value.

    Returns
    -------
    DataFrame: indicator, label, year, schools (with a row), shown, suppressed (under the
    publication rules of :func:`school_view`), p10, p25, median, p75, p90 (of the shown school
    values; blank with fewer than :data:`MIN_SPREAD` shown schools) and national (the national
    row's value, NaN when suppressed or absent).

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["school"] * 3 + ["national"], "area_id": ["A", "B", "C", "NZ"], "year": 2024,
    ...                   "indicator": "reach", "group_type": "all", "group": "all",
    ...                   "numerator": [10.0, 20.0, np.nan, np.nan], "denominator": [20.0, 25.0, 4.0, 49.0],
    ...                   "value": [0.5, 0.8, np.nan, np.nan], "ci_low": np.nan, "ci_high": np.nan,
    ...                   "suppressed": [False, False, True, True]})
    >>> distribution_summary(t, ["reach"])[["shown", "suppressed", "median", "national"]].to_dict("records")
    [{'shown': 2, 'suppressed': 1, 'median': nan, 'national': nan}]
    """
    d = _select(school_view(table), "school", indicators)
    nat = _select(table, "national", indicators).set_index(["indicator", "year"])["value"]
    out = []
    for (ind, year), g in d.groupby(["indicator", "year"], sort=False):
        v = g.loc[~g["suppressed"].astype(bool), "value"].dropna()
        row = {"indicator": ind, "label": REGISTRY[ind].label, "year": int(year), "schools": len(g),
               "shown": len(v), "suppressed": int(len(g) - len(v))}
        row.update({k: (float(v.quantile(q)) if len(v) >= MIN_SPREAD else np.nan) for k, q in QUANTILES.items()})
        row["national"] = float(nat.get((ind, year), np.nan))
        out.append(row)
    cols = ["indicator", "label", "year", "schools", "shown", "suppressed", *QUANTILES, "national"]
    res = pd.DataFrame(out, columns=cols)
    order = {k: i for i, k in enumerate(indicators)}
    return res.sort_values(["indicator", "year"], key=lambda c: c.map(order) if c.name == "indicator" else c,
                           kind="stable").reset_index(drop=True)


def funnel(table: pd.DataFrame, indicator: str = "reach", year: int | None = None, group_type: str = "all",
           group: str = "all", overdispersed: bool = False) -> pd.DataFrame:
    """One year's funnel table of school rates (:func:`hsp_eval.reports.funnel.funnel_table`).

    The target is the national row's rate for that year and group (pooled over every
    school, suppressed ones included); without a national row, the pooled rate of the
    shown school rows. ``year`` defaults to the latest year. School counts are rounded
    (:func:`school_view`) before the limits are drawn, so the plot shows no unrounded count.
    ``overdispersed`` widens the limits by the spread between schools
    (:func:`hsp_eval.reports.funnel.overdispersion`).
    """
    s = _select(school_view(table), "school", [indicator], group_type, group)
    if s.empty:
        raise ValueError(f"funnel: the indicator table has no school rows of {indicator} ({group_type}={group})")
    year = int(s["year"].max()) if year is None else int(year)
    s = s[s["year"] == year]
    nat = _select(table, "national", [indicator], group_type, group)
    nat = nat.loc[(nat["year"] == year) & ~nat["suppressed"].astype(bool), "value"]
    out = funnel_table(s, target=float(nat.iloc[0]) if len(nat) else None, overdispersed=overdispersed)
    return out.assign(indicator=indicator, group_type=group_type, group=group)


def area_gaps(table: pd.DataFrame, indicator: str = "reach", group_type: str = "ethnicity_prioritised",
              level: str = "national", years=None) -> pd.DataFrame:
    """Equity-gap rows (``<indicator>_gap_vs_rest``) at ``level`` (national or region), every group.

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["national"], "area_id": ["NZ"], "year": [2024], "indicator": ["reach_gap_vs_rest"],
    ...                   "group_type": ["ethnicity"], "group": ["Māori"], "value": [-0.05], "ci_low": [-0.09],
    ...                   "ci_high": [-0.01]})
    >>> area_gaps(t, group_type="ethnicity")["value"].tolist()
    [-0.05]
    """
    gid = indicator if indicator.endswith(GAP_SUFFIX) else indicator + GAP_SUFFIX
    rows = _select(table, level, [gid], group_type, None)
    if years is not None:
        rows = rows[rows["year"].isin([years] if np.isscalar(years) else list(years))]
    return rows.sort_values(["area_id", "year", "group"], kind="stable").reset_index(drop=True)


def national_trend(table: pd.DataFrame, indicators=KEY_INDICATORS) -> pd.DataFrame:
    """National rows (group ``all``) of ``indicators`` over the years, with their intervals."""
    r = _select(table, "national", indicators)
    order = {k: i for i, k in enumerate(indicators)}
    return (r.assign(_o=r["indicator"].map(order)).sort_values(["_o", "year"], kind="stable").drop(columns="_o")
            .reset_index(drop=True))


def _school_design_ratio(f: pd.DataFrame, num: str, den: str, prefix: str) -> np.ndarray:
    """n_eff / denominator of rows summed over schools: the ratio estimator's variance with schools
    as clusters (:func:`hsp_eval.indicators.stats.ratio_variance`, t-adjusted with schools - 1 degrees of
    freedom), never more than 1 (never narrower than Wilson), to 2 decimals as publication writes it.
    """
    y, x, g = f[num].to_numpy(dtype="float64"), f[den].to_numpy(dtype="float64"), f["schools"].to_numpy(dtype="float64")
    v = stats.ratio_variance(y, x, f[prefix + "yy"], f[prefix + "xy"], f[prefix + "xx"], g)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = stats.t_adjusted_n(stats.effective_n(y / x, v, fallback=g), g)
        ratio = np.round(np.minimum(n_eff, x) / x, 2)
    # one school (or none): its own rows' intervals are the honest ones; no cluster variance here
    return np.clip(np.where(np.isfinite(ratio) & (g >= 2), ratio, 1.0), 0.01, 1.0)


def band_rows(table: pd.DataFrame, schools: pd.DataFrame, indicator: str = "reach",
              group_type: str = "ethnicity_prioritised") -> pd.DataFrame:
    """Rates and equity gaps by Equity Index band, summed from shown school rows, publication rules applied.

    Parameters
    ----------
    table : the indicator table (school rows of ``indicator`` are used).
    schools : the prepared schools table (:func:`hsp_eval.reports.prepared.schools_table`: school_id, eqi_band).
    indicator : a proportion indicator with equity-gap rows.
    group_type : the breakdown of the gaps (ethnicity, ethnicity_prioritised, year_band, target).

    Returns
    -------
    Rows in the indicator table's columns with level ``eqi_band`` and area_id the band: the
    ``all`` rate, each group's rate and its ``<indicator>_gap_vs_rest`` (group minus the rest
    of the band's families, Newcombe interval), plus ``schools`` (school-years summed).
    The counts are the published ones (multiples of 3), rows under 6 are withheld. The band's
    families are nested in its schools, so each interval is Wilson's on the counts times the
    design ratio the schools' spread gives (:func:`_school_design_ratio`; the same rule as the
    engine's region rows), and the gap's sides each take their own.
    """
    if REGISTRY[indicator].kind != "proportion":
        raise ValueError(f"band_rows: {indicator} is not a proportion; bands are summed from counts")
    band_of = schools.set_index("school_id")["eqi_band"]
    s = table[(table["level"] == "school") & (table["indicator"] == indicator)]
    s = s[s["group_type"].isin(["all", group_type])].assign(band=lambda d: d["area_id"].map(band_of).fillna(NO_EQI))
    shown = ~s["suppressed"].astype(bool) & s["numerator"].notna()
    key = ["area_id", "year"]
    all_rows = s[(s["group_type"] == "all") & shown][key + ["numerator", "denominator"]]
    grp = s[(s["group_type"] == group_type) & shown].merge(all_rows, on=key, suffixes=("", "_all"))
    grp = grp.assign(rest_num=grp["numerator_all"] - grp["numerator"],
                     rest_den=grp["denominator_all"] - grp["denominator"])
    # each school's counts and their squares: the band's families are nested in its schools
    sq = {"yy": ("numerator", "numerator"), "xy": ("numerator", "denominator"), "xx": ("denominator", "denominator"),
          "r_yy": ("rest_num", "rest_num"), "r_xy": ("rest_num", "rest_den"), "r_xx": ("rest_den", "rest_den")}
    alls = s[(s["group_type"] == "all") & shown]
    alls = alls.assign(**{k: alls[a] * alls[b] for k, (a, b) in sq.items() if not k.startswith("r_")})
    grp = grp.assign(**{k: grp[a] * grp[b] for k, (a, b) in sq.items()})
    a = (alls.groupby(["band", "year"], as_index=False)
         .agg(numerator=("numerator", "sum"), denominator=("denominator", "sum"), schools=("area_id", "size"),
              yy=("yy", "sum"), xy=("xy", "sum"), xx=("xx", "sum"))
         .assign(group_type="all", group="all", indicator=indicator))
    g = (grp.groupby(["band", "year", "group"], as_index=False)
         .agg(numerator=("numerator", "sum"), denominator=("denominator", "sum"), rest_num=("rest_num", "sum"),
              rest_den=("rest_den", "sum"), schools=("area_id", "size"),
              **{k: (k, "sum") for k in sq})
         .assign(group_type=group_type))
    a["design_ratio"] = _school_design_ratio(a, "numerator", "denominator", "")
    g["design_ratio"] = _school_design_ratio(g, "numerator", "denominator", "")
    rest_ratio = _school_design_ratio(g, "rest_num", "rest_den", "r_")
    rate = pd.concat([a, g.drop(columns=["rest_num", "rest_den"]).assign(indicator=indicator)], ignore_index=True)
    gap = g.assign(indicator=indicator + GAP_SUFFIX, rest_denominator=g["rest_den"])
    p1 = gap["numerator"] / gap["denominator"].where(gap["denominator"] > 0)
    p2 = gap["rest_num"] / gap["rest_den"].where(gap["rest_den"] > 0)
    gap["value"] = p1 - p2
    gf, rf = gap["design_ratio"], rest_ratio
    gap["ci_low"], gap["ci_high"] = stats.newcombe(gap["numerator"] * gf, gap["denominator"] * gf,
                                                   gap["rest_num"] * rf, gap["rest_den"] * rf)
    rate, gap = rate.drop(columns=list(sq), errors="ignore"), gap.drop(columns=list(sq), errors="ignore")
    rows = pd.concat([rate, gap.drop(columns=["rest_num", "rest_den"])], ignore_index=True)
    rows = rows.rename(columns={"band": "area_id"}).assign(level=BAND_LEVEL, suppressed=False)
    if "rest_denominator" not in rows:
        rows["rest_denominator"] = np.nan
    out = disclosure.publish_from_published(rows).drop(columns="rest_denominator")
    order = {lab: i for i, (lab, _, _) in enumerate(EQI_BANDS)}
    out = out.assign(_b=out["area_id"].map(order).fillna(len(order)))
    cols = ["level", "area_id", "year", "indicator", "group_type", "group", "numerator", "denominator", "value",
            "ci_low", "ci_high", "suppressed", "schools"]
    return out.sort_values(["indicator", "_b", "year", "group_type", "group"], kind="stable")[cols].reset_index(drop=True)


def national_trends(table: pd.DataFrame, indicators=KEY_INDICATORS) -> pd.DataFrame:
    """Is the typical school changing? One row per indicator: the national values' change, and the
    schools' own trends combined.

    Each school's trend of the indicator (all families) comes from :func:`hsp_eval.indicators.trends.compute_trends`
    (its shown school rows, with the between-year variance estimated across schools); the slopes
    are combined by a random-effects meta-analysis (Paule-Mandel, with the Hartung-Knapp
    t interval on schools - 1 degrees of freedom, never narrower than the plain random-effects one:
    statsmodels' ``combine_effects``), so schools
    whose trends differ widen the interval. The national series alone would not do: its yearly
    intervals allow for the spread between schools, which does not change from year to year for
    the same schools, and one series cannot show its own between-year variance.

    Returns
    -------
    The trends table's columns for the national rows (first and last value and their change, as
    the table holds them), with ``slope``, its interval, ``p_value`` and ``trend`` from the
    combined school trends, ``schools`` (the number of school series combined) and ``label``.
    """
    from statsmodels.stats.meta_analysis import combine_effects

    from hsp_eval.indicators.trends import ALPHA, classify, compute_trends

    nat = national_trend(table, indicators)
    out = compute_trends(nat.assign(level="school"), between_year_var={i: 0.0 for i in indicators})
    per_school = compute_trends(_select(table, "school", indicators)).dropna(subset=["slope"])
    per_school = per_school[per_school["slope_ci_high"] > per_school["slope_ci_low"]]
    for c in ("slope", "slope_ci_low", "slope_ci_high", "p_value", "between_year_sd"):
        out[c] = np.nan
    out["schools"] = 0
    for i, s in per_school.groupby("indicator", sort=False):
        here = out["indicator"] == i
        out.loc[here, "schools"] = len(s)
        if len(s) < 3 or not here.any():
            continue
        se = (s["slope_ci_high"] - s["slope_ci_low"]) / (2 * sps.norm.ppf(1 - ALPHA / 2))
        res = combine_effects(s["slope"].to_numpy(), (se ** 2).to_numpy(), method_re="iterated", use_t=True)
        # Hartung-Knapp, never narrower than the plain random-effects interval (Jackson et al. 2017)
        eff, sd = res.mean_effect_re, np.sqrt(max(res.var_hksj_re, res.var_eff_w_re))
        q = sps.t.ppf(1 - ALPHA / 2, len(s) - 1)
        out.loc[here, ["slope", "slope_ci_low", "slope_ci_high"]] = eff, eff - q * sd, eff + q * sd
        out.loc[here, "p_value"] = 2 * sps.t.sf(abs(eff / sd), len(s) - 1)
        out.loc[here, "between_year_sd"] = s["between_year_sd"].iloc[0]
    better = out["indicator"].map(lambda i: REGISTRY[i].better).to_numpy()
    out["trend"] = np.where(out["slope"].notna(), classify(out["slope"].to_numpy(), out["p_value"].to_numpy(),
                                                             better), "too few years")
    out = out.assign(label=out["indicator"].map(lambda i: REGISTRY[i].label))
    order = {k: i for i, k in enumerate(indicators)}
    return out.sort_values("indicator", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)


def key_values(table: pd.DataFrame, indicators=("reach", "reach_learning")) -> pd.DataFrame:
    """The national value of each key indicator by year, as text a reader (and a test) can check.

    Returns indicator, year, value (%, one decimal), interval (text) and denominator (as the
    table holds it: rounded in a publication table); "withheld" where the row is.

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["national"], "area_id": ["NZ"], "year": [2024], "indicator": ["reach"],
    ...                   "group_type": ["all"], "group": ["all"], "numerator": [30.0], "denominator": [60.0],
    ...                   "value": [0.5], "ci_low": [0.375], "ci_high": [0.625], "suppressed": [False]})
    >>> key_values(t, ["reach"]).to_dict("records")
    [{'indicator': 'reach', 'year': 2024, 'value': '50.0%', 'interval': '37.5% to 62.5%', 'denominator': 60}]
    """
    r = national_trend(table, indicators)
    sup = r["suppressed"].astype(bool) | r["value"].isna()
    pct = lambda s: (s * 100).map(lambda v: f"{v:.1f}%")  # noqa: E731
    return pd.DataFrame({"indicator": r["indicator"], "year": r["year"].astype(int),
                         "value": pct(r["value"]).where(~sup, "withheld"),
                         "interval": (pct(r["ci_low"]) + " to " + pct(r["ci_high"])).where(~sup, ""),
                         "denominator": r["denominator"].round().astype("Int64")}).reset_index(drop=True)


def readable(rows: pd.DataFrame, label_cols=("area_id", "year", "group")) -> pd.DataFrame:
    """Indicator-table rows as a reader's table: value and interval as text ("72.8%", "+3.1 points"),
    "withheld" where a row is, the denominator as the table holds it (rounded in publication mode).

    Examples
    --------
    >>> t = pd.DataFrame({"area_id": ["NZ", "NZ"], "year": [2024, 2024], "indicator": ["reach", "reach"],
    ...                   "group": ["all", "Māori"], "denominator": [60.0, 3.0], "value": [0.5, np.nan],
    ...                   "ci_low": [0.375, np.nan], "ci_high": [0.625, np.nan], "suppressed": [False, True]})
    >>> readable(t)[["value", "interval"]].values.tolist()
    [['50.0%', '37.5% to 62.5%'], ['withheld', '']]
    """
    sup = rows["suppressed"].astype(bool) | rows["value"].isna()
    out = rows[[c for c in label_cols if c in rows]].copy()
    if "indicator" in rows:
        out.insert(0, "indicator", rows["indicator"].map(lambda i: REGISTRY[i.removesuffix(GAP_SUFFIX)].label
                                                         + (" (gap vs rest)" if i.endswith(GAP_SUFFIX) else "")))

    def text(col: str) -> list[str]:
        return [fmt_value(v, i, 1) for v, i in zip(rows[col], rows["indicator"])]

    out["value"] = np.where(sup, "withheld", text("value"))
    out["interval"] = np.where(sup, "", [f"{a} to {b}" for a, b in zip(text("ci_low"), text("ci_high"))])
    out["denominator"] = rows["denominator"].round().astype("Int64")
    if "schools" in rows:
        out["schools"] = rows["schools"]
    return out.reset_index(drop=True)
