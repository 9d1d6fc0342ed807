"""Charts of the national overview and the inquiry-impact study (tidy rows in, matplotlib Axes out).

Built on :mod:`hsp_eval.reports.plots` (its :data:`~hsp_eval.reports.plots.PALETTE` and charts) and
:mod:`hsp_eval.reports.labels` (words and number formats from the registry), with
the charts those reports add: the funnel plot, the spread of indicators across schools,
comparisons of areas (regions, Equity Index bands), the inquiry steps, accelerated progress
with and without each step, and the odds ratio of the codesign model. Every rate is drawn
with its interval; a withheld row reads "withheld", never 0.

Examples
--------
>>> from hsp_eval.reports.funnel import funnel_table
>>> ft = funnel_table(pd.DataFrame({"area_id": ["A", "B", "C"], "year": 2024, "numerator": [40.0, 70.0, 90.0],
...                                 "denominator": [100.0, 100.0, 120.0]})).assign(indicator="reach")
>>> ax = funnel_plot(ft)
>>> ax.get_xlabel()
'families at the school (number)'
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hsp_eval.reports import plots
from hsp_eval.reports.funnel import BANDS, Z95, Z998, funnel_limits
from hsp_eval.reports.labels import SUPPRESSED, axis_label, fmt_value, percent_scale, short_label
from hsp_eval.reports.plots import GREY, PALETTE
from hsp_eval.indicators.registry import REGISTRY, base_id

_BAND_COLOUR = {BANDS[0]: PALETTE[1], BANDS[1]: PALETTE[1], BANDS[2]: PALETTE[0], BANDS[3]: PALETTE[3],
                BANDS[4]: PALETTE[3]}
_BAND_MARKER = {BANDS[0]: "^", BANDS[1]: "^", BANDS[2]: "o", BANDS[3]: "v", BANDS[4]: "v"}
#: a chart with more school markers than this draws them as an image inside the SVG (text,
#: axes and limits stay vector): one vector marker per school would make a national overview
#: of 2,500 schools several megabytes
RASTER_POINTS = 500


def _errors(v, lo, hi) -> np.ndarray:
    """Error-bar lengths below and above each value: 0 where unknown, never negative (as in :mod:`hsp_eval.reports.plots`).

    Examples
    --------
    >>> _errors(np.array([50.0, np.nan]), np.array([40.0, np.nan]), np.array([50.0 - 1e-14, np.nan])).tolist()
    [[10.0, 0.0], [0.0, 0.0]]
    """
    return np.clip(np.nan_to_num(np.vstack([v - lo, hi - v])), 0, None)


def funnel_plot(ft: pd.DataFrame, title: str | None = None, ax=None, label_outside: bool = True):
    """Funnel plot of one year: school rate against its number of families, 95% and 99.8% limits.

    Parameters
    ----------
    ft : :func:`hsp_eval.reports.funnel.funnel_table` rows of one year (with an ``indicator`` column); its
        ``tau2`` (over-dispersion, 0 for plain limits) widens the drawn limits.
    label_outside : write the school id beside schools outside the 99.8% limits (so a reader
        can follow them up; schools are not ranked).

    Returns
    -------
    The matplotlib Axes. Suppressed schools are not drawn; a footnote counts them.
    """
    ax = plots._new_ax(ax, figsize=(8.5, 5.2))
    ind = str(ft["indicator"].iloc[0]) if "indicator" in ft and len(ft) else "reach"
    scale = percent_scale(ind)
    shown = ft[ft["band"] != BANDS[5]]
    p0 = float(ft["target"].dropna().iloc[0]) if ft["target"].notna().any() else np.nan
    # every school may be withheld (a region's few schools, in publication): the limits still draw
    n = ft["denominator"].dropna() if len(ft) else pd.Series(dtype="float64")
    n_max = float(n.max()) if len(n) else 100.0
    grid = np.linspace(max(5.0, 0.8 * float(n.clip(lower=5).min())) if len(n) else 5.0, 1.08 * n_max, 300)
    tau2 = float(ft["tau2"].iloc[0]) if "tau2" in ft and len(ft) else 0.0
    extra = ", widened" if tau2 > 0 else ""
    for z, style, lab in ((Z998, ":", f"99.8% limits{extra}"), (Z95, "--", f"95% limits{extra}")):
        lo, hi = funnel_limits(p0, grid, z, tau2)
        ax.plot(grid, lo * scale, style, color=GREY, lw=1.4, label=lab)
        ax.plot(grid, hi * scale, style, color=GREY, lw=1.4)
    ax.axhline(p0 * scale, color="0.15", lw=1.4, label=f"national rate ({fmt_value(p0, ind)})")
    many = len(shown) > RASTER_POINTS
    for band in BANDS[:5]:
        b = shown[shown["band"] == band]
        if len(b):  # beyond 99.8%: filled; between 95% and 99.8%: open; within: filled circles
            hollow = band in (BANDS[1], BANDS[3])
            ax.scatter(b["denominator"], b["value"] * scale, s=52, marker=_BAND_MARKER[band], zorder=3,
                       facecolor="white" if hollow else _BAND_COLOUR[band], edgecolor=_BAND_COLOUR[band],
                       lw=1.6 if hollow else 0.6, label=f"{band} ({len(b)})", rasterized=many)
    if label_outside:
        out = shown[shown["band"].isin([BANDS[0], BANDS[4]])].sort_values("denominator")
        placed: list[tuple[float, float, bool]] = []
        for r in out.itertuples():  # a label close to one already placed on the right goes to the left
            x, y = r.denominator, r.value * scale
            left = any(not lf and abs(x - px) < 0.08 * n_max and abs(y - py) < 5 for px, py, lf in placed)
            ax.annotate(str(r.area_id), (x, y), xytext=(-6 if left else 6, -12 if left else 4),
                        textcoords="offset points", fontsize=9, color="0.2", ha="right" if left else "left")
            placed.append((x, y, left))
    n_sup = int((ft["band"] == BANDS[5]).sum())
    if n_sup:
        ax.annotate(f"{n_sup} school(s) not drawn: {SUPPRESSED} (too few families to show safely).", xy=(0, 0),
                    xycoords="axes fraction", xytext=(0, -46), textcoords="offset points", fontsize=9,
                    color=GREY, style="italic", va="top")
    ax.set_xlim(0, 1.1 * n_max)
    ax.set_ylim(max(0.0, ax.get_ylim()[0]), min(100.0 if scale == 100 else ax.get_ylim()[1], ax.get_ylim()[1]))
    ax.set_xlabel("families at the school (number)" if REGISTRY[base_id(ind)].unit == "families"
                  else f"{REGISTRY[base_id(ind)].unit} at the school (number)")
    ax.set_ylabel(axis_label(ind))
    year = ft["year"].iloc[0] if "year" in ft and len(ft) else ""
    default = (f"{REGISTRY[base_id(ind)].label}, {year}: each school against the national rate"
               + (", allowing for the usual spread between schools" if tau2 > 0 else ""))
    ax.set_title(plots._wrap(title or default))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, fontsize=9)
    plots.layout(ax.figure)
    return ax


def distribution_plot(dist: pd.DataFrame, national: pd.DataFrame | None = None, year: int | None = None,
                      title: str | None = None, ax=None):
    """The spread of several share indicators across schools in one year, beside the national value.

    A box (quartiles, whiskers to the most extreme school within 1.5 box lengths) and a dot per
    school; the national value as a diamond with its interval. Each school's own interval is
    in its funnel plot and its school report.

    Parameters
    ----------
    dist : :func:`hsp_eval.reports.national.distribution` rows (school rows of group ``all``).
    national : :func:`hsp_eval.reports.national.national_trend` rows (optional).
    year : the year to show (default: the latest).
    """
    year = int(dist["year"].max()) if year is None else int(year)
    d = dist[(dist["year"] == year) & ~dist["suppressed"].astype(bool)]
    inds = list(dict.fromkeys(dist["indicator"]))
    ax = plots._new_ax(ax, figsize=(9, 0.62 * len(inds) + 1.8))
    data = [d.loc[d["indicator"] == i, "value"].dropna().to_numpy() * 100 for i in inds]
    pos = np.arange(len(inds))
    ax.boxplot([x if len(x) else [np.nan] for x in data], positions=pos, vert=False, widths=0.55, showfliers=False,
               patch_artist=True, boxprops={"facecolor": (*PALETTE[0], 0.25), "edgecolor": "0.3"},
               medianprops={"color": "0.1"}, whiskerprops={"color": "0.3"}, capprops={"color": "0.3"})
    rng = np.random.default_rng(0)  # fixed jitter: the same picture every run
    for k, x in enumerate(data):
        ax.scatter(x, k + rng.uniform(-0.16, 0.16, len(x)), s=14, color=PALETTE[0], alpha=0.7, zorder=3,
                   label="a school" if k == 0 else None, rasterized=len(x) > RASTER_POINTS)
        n_sup = int(((dist["indicator"] == inds[k]) & (dist["year"] == year) & dist["suppressed"].astype(bool)).sum())
        if n_sup:
            ax.text(101, k, f"{n_sup} {SUPPRESSED}", va="center", fontsize=8, color=GREY, style="italic")
    if national is not None and len(national):
        n = national[national["year"] == year].set_index("indicator").reindex(inds)
        v, lo, hi = (n[c].to_numpy(dtype=float) * 100 for c in ("value", "ci_low", "ci_high"))
        ax.errorbar(v, pos, xerr=_errors(v, lo, hi), fmt="D", color=PALETTE[1], ms=7,
                    capsize=3, zorder=4, label="national (95% interval)")
    ax.set_yticks(pos)
    ax.set_yticklabels([plots._wrap(REGISTRY[i].label, 38) for i in inds], fontsize=9)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("share, % (of families, contacts, attendances or students: see each label)")
    ax.set_title(plots._wrap(title or f"How schools differ, {year}: each dot is one school"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    plots.layout(ax.figure)
    return ax


def _as_groups(rows: pd.DataFrame, label: pd.Series) -> pd.DataFrame:
    return rows.assign(group_type="area", group=label.astype("str").to_numpy())


def area_gap_chart(rows: pd.DataFrame, title: str | None = None, ax=None, order=None, whom: str = "area"):
    """Equity gaps of one group in several areas (regions or Equity Index bands): one row per area.

    ``rows`` are ``<id>_gap_vs_rest`` rows of one group_type and group with an ``area_id``; the
    chart is :func:`hsp_eval.reports.plots.gap_chart` with the areas down the side. ``whom`` names the
    comparison in the axis label ("the rest of the region's families").
    """
    ax = plots.gap_chart(_as_groups(rows, rows["area_id"]), title=title, ax=ax, order=order)
    return _gap_label(ax, f"the rest of the {whom}'s families")


def _gap_label(ax, whom: str):
    ax.set_xlabel(f"difference from {whom}, percentage points\n(left of 0: lower than the rest; right: higher)")
    return ax


def national_gap_chart(rows: pd.DataFrame, title: str | None = None, ax=None):
    """National equity gaps (:func:`hsp_eval.reports.plots.gap_chart`), each group against the rest of the country."""
    if title is None and len(rows):
        ind = REGISTRY[base_id(rows["indicator"].iloc[0])]
        title = f"{ind.label}: each group compared with the rest of the country"
    return _gap_label(plots.gap_chart(rows, title=title, ax=ax), "the rest of the country's families")


def area_chart(rows: pd.DataFrame, title: str | None = None, ax=None, order=None):
    """One indicator's rate in several areas (bars with intervals, one bar per year): areas down the side."""
    return plots.by_group(_as_groups(rows, rows["area_id"]), title=title, ax=ax, order=order)


def trend_grid(rows: pd.DataFrame, title: str | None = None, ncols: int = 3):
    """Small multiples of national rows over the years (:func:`hsp_eval.reports.plots.by_year`), one per indicator."""
    inds = list(dict.fromkeys(rows["indicator"]))
    nrows = int(np.ceil(len(inds) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.5 * nrows), squeeze=False)
    for ax, ind in zip(axes.flat, inds):
        plots.by_year(rows[rows["indicator"] == ind], ax=ax)
        ax.set_title(plots._wrap(REGISTRY[ind].label, 36), fontsize=11)
        ax.set_ylabel(axis_label(ind), fontsize=10)
    for ax in list(axes.flat)[len(inds):]:
        ax.set_visible(False)
    fig.suptitle(title or "National values over the years (95% intervals)", fontsize=14, fontweight="bold")
    fig.tight_layout()
    return fig


def step_chart(rows: pd.DataFrame, title: str | None = None, ax=None):
    """How whānau took part at each inquiry step (:func:`hsp_eval.reports.inquiry_impact.steps` rows, group all)."""
    r = rows.assign(indicator=rows["indicator"].iloc[0], group_type="step", group=rows["step"])
    ax = plots.by_group(r, title=title or "Target students whose whānau took part at each step of the inquiry",
                        ax=ax, order=list(dict.fromkeys(rows["step"])))
    ax.set_xlabel("share of target students, %")
    return ax


def with_without_chart(rows: pd.DataFrame, labels: dict | None = None, title: str | None = None, ax=None):
    """Accelerated progress with and without each partnership step (``step:*`` rows of
    :func:`hsp_eval.reports.inquiry_impact.with_and_without`): two points with intervals per step.

    Each step is named by ``labels`` (step indicator id -> words), else by its registry short label.
    """
    r = rows[rows["group_type"].str.startswith("step:")]
    steps = list(dict.fromkeys(r["group_type"]))
    names = [(labels or {}).get(s.removeprefix("step:")) or short_label(s.removeprefix("step:")) for s in steps]
    ax = plots._new_ax(ax, figsize=(9, 0.9 * len(steps) + 1.8))
    for k, (grp, dy) in enumerate((("with step", -0.15), ("without step", 0.15))):
        g = r[r["group"] == grp].set_index("group_type").reindex(steps)
        sup = g["suppressed"].fillna(True).astype(bool).to_numpy()
        v, lo, hi = (np.where(sup, np.nan, g[c].to_numpy(dtype=float) * 100) for c in ("value", "ci_low", "ci_high"))
        ypos = np.arange(len(steps)) + dy
        ax.errorbar(v, ypos, xerr=_errors(v, lo, hi), fmt="o" if k == 0 else "s",
                    color=PALETTE[k], capsize=3, ms=7, label=f"whānau {'took part' if k == 0 else 'did not take part'}")
        for yp, s in zip(ypos, sup):
            if s:
                ax.text(1, yp, SUPPRESSED, va="center", fontsize=9, color=GREY, style="italic")
    ax.set_yticks(np.arange(len(steps)))
    ax.set_yticklabels([plots._wrap(n, 30) for n in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("target students who made accelerated progress, %")
    ax.set_title(plots._wrap(title or "Accelerated progress with and without each step (associations, not causes)"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    plots.layout(ax.figure)
    return ax


def odds_ratio_chart(or_rows: pd.DataFrame, label_col: str = "year", title: str | None = None, ax=None):
    """Forest plot of adjusted odds ratios (``odds_ratio``, ``ci_low``, ``ci_high``) on a log scale, line at 1."""
    ax = plots._new_ax(ax, figsize=(8, 0.55 * max(len(or_rows), 1) + 2.0))
    y = np.arange(len(or_rows))
    v, lo, hi = (or_rows[c].to_numpy(dtype=float) for c in ("odds_ratio", "ci_low", "ci_high"))
    ax.axvline(1, color=GREY, lw=1.2)
    if len(or_rows):
        ax.errorbar(v, y, xerr=np.vstack([v - lo, hi - v]), fmt="o", color=PALETTE[0], capsize=3, ms=7)
        ax.set_xscale("log")
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.text(0.5, 0.5, "no model could be fitted (too few students)", transform=ax.transAxes, ha="center",
                color=GREY)
    ax.set_yticks(y)
    ax.set_yticklabels([str(x) for x in or_rows[label_col]] if len(or_rows) else [])
    ax.invert_yaxis()
    ax.set_xlabel("adjusted odds ratio, log scale (above 1: accelerated progress more common with co-design)")
    ax.set_title(plots._wrap(title or "Co-design and accelerated progress: adjusted odds ratio (an association)"))
    plots.layout(ax.figure)
    return ax
