"""Shared plotting helpers for every report: tidy indicator rows in, a labelled matplotlib figure out.

Every chart takes rows of the indicator table (``hsp_eval.indicators.engine``), draws the interval
of every rate, and shows a withheld cell as the word "withheld", never as a zero. Axis labels,
values and group names are written as :mod:`hsp_eval.reports.labels` says, from the registry
("share of families, %", "difference, percentage points"); shares are drawn as percentages.
Colours come from :data:`PALETTE` (seaborn's colour-blind-safe palette). Nothing here needs a
display (Agg-safe). Every figure has a text alternative for readers who do not see it
(:func:`alt_text`: its titles, axes, key and notes, and the values added by :func:`describe`);
in a notebook it goes with the figure (:func:`style`) and becomes the ``alt`` of the report's image.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"indicator": "reach", "group_type": "all", "group": "all", "year": [2022, 2023],
...                      "value": [0.4, float("nan")], "ci_low": [0.35, float("nan")],
...                      "ci_high": [0.45, float("nan")], "suppressed": [False, True]})
>>> ax = by_year(rows)
>>> ax.get_ylabel()
'share of families, %'
>>> [t.get_text() for t in ax.texts]
['withheld']
>>> alt_text(ax.figure)        # doctest: +NORMALIZE_WHITESPACE
'Chart: Families who took part in at least one activity. Horizontal axis: year. Vertical axis: share of
families, %. Values: 40% in 2022, withheld in 2023. Written on the chart: withheld.'
"""

from __future__ import annotations

import functools
import re
import weakref

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from hsp_eval.indicators.registry import GAP_SUFFIX, REGISTRY, base_id
from hsp_eval.reports.labels import SUPPRESSED, axis_label, fmt_value, group_label, hint as hint_of, percent_scale

#: colour-blind-safe colours (seaborn "colorblind"), used by every chart in every report
PALETTE = sns.color_palette("colorblind")
#: grey for the word "suppressed", reference lines and targets
GREY = "0.35"


def style(context: str = "notebook") -> None:
    """Set the reports' look: white grid, :data:`PALETTE`, readable font sizes, compact figures.

    In a notebook, tables are then shown without an index of row numbers
    (:func:`hsp_eval.reports.sections.table_html`), and the figures as SVG whose words stay
    text (:func:`_inline_svg`): sharp at any zoom and in print, searchable, about half the size
    of the PNGs, and about a quarter cheaper to make (no rasterising or font rendering in the kernel). Element ids are
    salted with a fixed string and the date is left out, so a rerun gives the same bytes. Each
    figure's output carries its text alternative (:func:`alt_text`) in its metadata,
    ``{"image/svg+xml": {"alt": ...}}``, which the HTML page writes as the image's ``alt``
    (:func:`hsp_eval.run.execute.to_html`).

    Examples
    --------
    >>> style()
    >>> matplotlib.rcParams["axes.titlesize"] >= 13
    True
    """
    sns.set_theme(context=context, style="whitegrid", palette=PALETTE)
    matplotlib.rcParams.update({"figure.figsize": (8, 4.5), "figure.dpi": 100, "axes.titlesize": 14,
                                "axes.titleweight": "bold", "axes.labelsize": 12, "legend.fontsize": 10,
                                "legend.frameon": False, "savefig.bbox": "tight",
                                "svg.fonttype": "none", "svg.hashsalt": "hsp_eval"})
    _inline_svg()
    from hsp_eval.reports.sections import install_table_format

    install_table_format()


def _inline_svg() -> None:
    """Show a notebook's figures as SVG with real text, without a date (nothing outside IPython).

    The reader's browser draws the text in the first font of the theme's list it has (Arial,
    DejaVu Sans, Liberation Sans, ..., sans-serif); the layout was measured with the first one
    matplotlib found (DejaVu Sans where Arial is not installed). Arial and Liberation Sans run
    about 11% narrower than DejaVu Sans, so text may sit a little loose but is never cut off.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is None or "inline" not in matplotlib.get_backend():
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg", metadata={"Date": None})
    svg = get_ipython().display_formatter.formatters["image/svg+xml"]
    svg.for_type(plt.Figure, functools.partial(_with_alt_text, svg.lookup_by_type(plt.Figure)))


def _with_alt_text(draw, fig):
    """The figure as ``draw`` (an IPython formatter) makes it, with its :func:`alt_text` as the output's metadata.

    IPython files a formatter's ``(data, metadata)`` under the output's mimetype.

    Examples
    --------
    >>> fig, ax = plt.subplots(); _ = ax.set_title("Reach")
    >>> _with_alt_text(lambda f: "<svg/>", fig)
    ('<svg/>', {'alt': 'Chart: Reach.'})
    >>> plt.close(fig)
    """
    data = draw(fig)
    return None if data is None else (data, {"alt": alt_text(fig)})


#: what a chart's values are, in words (:func:`describe`), by chart
_DESCRIPTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def describe(ax, text: str) -> None:
    """Add ``text`` (what chart ``ax`` shows that its titles and labels do not say: its values) to its :func:`alt_text`.

    Each call adds a sentence; a chart made by a function of this module already has its values.

    Examples
    --------
    >>> fig, ax = plt.subplots(); _ = ax.set_title("Reach")
    >>> describe(ax, "Values: 40% in 2022, withheld in 2023.")
    >>> alt_text(fig)
    'Chart: Reach. Values: 40% in 2022, withheld in 2023.'
    >>> plt.close(fig)
    """
    _DESCRIPTIONS.setdefault(ax, []).append(text.strip())


def _line(text) -> str:
    return " ".join(str(text).split())


def _sentence(text: str) -> str:
    text = _line(text)
    return text if not text or text[-1] in ".!?" else text + "."


def _named_ticks(axis) -> list[str]:
    """The tick labels of an axis whose ticks are names (groups, categories), else []."""
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.ticker import FixedFormatter

    if not isinstance(axis.get_major_formatter(), (FixedFormatter, StrCategoryFormatter)):
        return []
    names = [_line(t.get_text()) for t in axis.get_ticklabels()]
    names = [n for n in names if n]
    return [] if all(re.fullmatch(r"[-+\u2212]?[0-9.,%]+", n) for n in names) else names


def _chart_text(ax) -> str:
    """One chart in words: title, axes, groups (unless described), key, values, notes."""
    out = [_sentence(f"Chart: {_line(ax.get_title())}" if _line(ax.get_title()) else "Chart")]
    for where, label in (("Horizontal axis", ax.get_xlabel()), ("Vertical axis", ax.get_ylabel())):
        if _line(label):
            out.append(_sentence(f"{where}: {_line(label)}"))
    if ax not in _DESCRIPTIONS:
        for where, axis in (("Down the side", ax.yaxis), ("Along the bottom", ax.xaxis)):
            names = _named_ticks(axis)
            if names:
                out.append(_sentence(f"{where}: {', '.join(names)}"))
    legend = ax.get_legend()
    if legend is not None and legend.get_visible():
        entries = [_line(t.get_text()) for t in legend.get_texts() if _line(t.get_text())]
        heading = _line(legend.get_title().get_text())
        if entries:
            out.append(_sentence(f"Key{f' ({heading})' if heading else ''}: {', '.join(entries)}"))
    out += _DESCRIPTIONS.get(ax, [])
    notes = list(dict.fromkeys(_line(t.get_text()) for t in ax.texts if t.get_visible() and _line(t.get_text())))
    if notes:
        out.append(_sentence("Written on the chart: " + "; ".join(notes)))
    return " ".join(out)


def alt_text(fig) -> str:
    """The text alternative of a figure: what a reader who does not see it needs to know.

    Built from the figure itself, so every chart has one, whoever drew it: the figure's title,
    then for each chart its title, axis labels, the names down the side or along the bottom, the
    key, the values :func:`describe` added (this module's charts add each group's value in each
    year, so the names are not listed again) and any words written on it ("withheld",
    footnotes). Line breaks become spaces.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> _ = ax.barh(["Māori", "Pacific"], [62, 55], label="2025"), ax.legend(title="year")
    >>> _ = ax.set_title("Families\\nreached"), ax.set_xlabel("share of families, %")
    >>> alt_text(fig)
    'Chart: Families reached. Horizontal axis: share of families, %. Down the side: Māori, Pacific. Key (year): 2025.'
    >>> plt.close(fig)
    """
    charts = [ax for ax in fig.axes if ax.get_visible() and (ax.axison or ax.has_data() or ax.texts)]
    suptitle = getattr(fig, "_suptitle", None)
    out = []
    if suptitle is not None and _line(suptitle.get_text()):
        out.append(_sentence(f"Figure: {_line(suptitle.get_text())}"))
    if len(charts) > 1:
        out.append(f"{len(charts)} charts.")
    out += [_chart_text(ax) for ax in charts]
    notes = [_line(t.get_text()) for t in fig.texts if t is not suptitle and t.get_visible() and _line(t.get_text())]
    if notes:
        out.append(_sentence("Written on the figure: " + "; ".join(dict.fromkeys(notes))))
    return " ".join(out) or "A figure with no chart."


def _title(rows: pd.DataFrame, title: str | None) -> str:
    if title:
        return title
    ind = rows["indicator"].iloc[0] if len(rows) else ""
    return REGISTRY[base_id(ind)].label if base_id(ind) in REGISTRY else str(ind)


def _labels(rows: pd.DataFrame) -> pd.Series:
    return pd.Series([group_label(gt, g) for gt, g in zip(rows["group_type"], rows["group"])], index=rows.index)


def _group_order(rows: pd.DataFrame) -> list[str]:
    """Group labels in reading order: year bands by their first year level, others as they come."""
    def key(gt_g):
        gt, g = gt_g
        head = str(g).split("-", 1)[0]
        return int(head) if gt == "year_band" and head.isdigit() else 0
    pairs = list(dict.fromkeys(zip(rows["group_type"], rows["group"])))
    return [group_label(gt, g) for gt, g in sorted(pairs, key=key)]


def _suppressed(rows: pd.DataFrame) -> np.ndarray:
    return rows["suppressed"].astype(bool).to_numpy() | rows["value"].isna().to_numpy()


def _check(rows: pd.DataFrame, what: str) -> None:
    need = {"indicator", "group_type", "group", "year", "value", "ci_low", "ci_high", "suppressed"}
    missing = need - set(rows.columns)
    if missing:
        raise ValueError(f"{what}: the rows need the indicator table's columns; missing {', '.join(sorted(missing))}")
    if rows["indicator"].nunique() > 1:
        raise ValueError(f"{what}: give rows of one indicator, not {sorted(rows['indicator'].unique())}")


def _grid(rows: pd.DataFrame, outer: list, inner: list, outer_col: str, inner_col: str,
          missing_suppressed: bool) -> dict[str, np.ndarray]:
    """The rows laid out as ``len(outer) x len(inner)`` arrays in one pass (a cell without a row is NaN).

    ``present`` says which cells have a row; ``suppressed`` is True for a suppressed or blank
    value (and for a missing cell when ``missing_suppressed``); ``value``, ``ci_low`` and
    ``ci_high`` are NaN wherever ``suppressed`` is True.
    """
    g = rows.set_index([outer_col, inner_col]).reindex(pd.MultiIndex.from_product([outer, inner]))
    shape = (len(outer), len(inner))
    present = g["suppressed"].notna().to_numpy().reshape(shape)
    sup = g["suppressed"].fillna(missing_suppressed).astype(bool).to_numpy().reshape(shape) | \
        g["value"].isna().to_numpy().reshape(shape)
    out = {c: np.where(sup, np.nan, g[c].to_numpy(dtype=float).reshape(shape)) for c in ("value", "ci_low", "ci_high")}
    return {**out, "suppressed": sup, "present": present}


def _always_suppressed(rows: pd.DataFrame, groups: list[str]) -> tuple[list[str], list[str]]:
    """Split group labels into those with at least one shown value and those suppressed in every row."""
    shown = set(rows.loc[~_suppressed(rows), "_label"])
    return [g for g in groups if g in shown], [g for g in groups if g not in shown]


def _note_suppressed(ax, hidden: list[str], every_year: bool) -> None:
    """A footnote under the chart naming the groups that are suppressed throughout."""
    if not hidden:
        return
    when = " in every year" if every_year else ""
    ax.annotate(f"Suppressed{when} (too few to show safely): {', '.join(hidden)}.", xy=(0, 0),
                xycoords="axes fraction", xytext=(0, -56), textcoords="offset points", va="top", ha="left",
                fontsize=9, color=GREY, style="italic")


def _wrap(text: str, width: int = 62) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) if text else text


def _set_title(ax, text: str) -> None:
    """The chart's title, at a fixed height just above the axes.

    Without a height matplotlib works out at every layout pass and every draw whether tick
    labels on top of the axes push the title up, measuring every value-axis tick label each
    time. These charts have no tick labels on top, so the title lands where it would anyway;
    fixing it saves about a tenth of a chart's CPU.

    Examples
    --------
    >>> _, ax = plt.subplots()
    >>> _set_title(ax, "Families reached")
    >>> ax.get_title(), ax.title.get_position()[1]
    ('Families reached', 1.0)
    >>> plt.close("all")
    """
    ax.set_title(text, y=1.0)


def _new_ax(ax, figsize=None):
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize or matplotlib.rcParams["figure.figsize"])
    return ax


def layout(fig) -> None:
    """Lay a finished figure out for printing: nothing to do for one chart, ``tight_layout`` for several.

    A figure holding one chart keeps matplotlib's fixed margins, so every chart's plotting area
    has the same size for its figure size, and is printed cropped to what is drawn (the inline
    backend's ``bbox_inches="tight"``, and :func:`save`'s): labels, legends and footnotes outside
    the plotting area are never cut, only the empty margin is. A layout pass would measure every
    label once more to shrink the plotting area into the figure; that was about a sixth of a
    school evaluation's CPU (docs/performance.md). Several charts in one figure are spaced by
    ``tight_layout`` so that their labels do not overlap.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> layout(fig); fig.subplotpars.left     # one chart: matplotlib's fixed margin stays
    0.125
    >>> fig, axes = plt.subplots(1, 2)
    >>> layout(fig); bool(fig.subplotpars.left < 0.125)   # two charts: fitted by tight_layout
    True
    >>> plt.close("all")
    """
    if len(fig.axes) > 1:
        fig.tight_layout()


def _finish(ax, legend_title: str | None = None, n_items: int = 1):
    if n_items > 1:
        ax.legend(title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    layout(ax.figure)
    return ax


def by_year(rows: pd.DataFrame, title: str | None = None, ax=None, order=None, ylim=None):
    """Line chart of one indicator over the years with interval bars, one line per group.

    Parameters
    ----------
    rows : indicator-table rows of one indicator (any number of groups and years).
    title : the chart title (default: the indicator's label).
    ax : an Axes to draw on (default: a new figure).
    order : groups in legend order (default: as they come).
    ylim : value-axis limits in displayed units (default: 0-100 for shares).

    Returns
    -------
    The matplotlib Axes. A suppressed year is written as "suppressed" above the year on the
    bottom of the chart, in the group's colour, and the line breaks there.
    """
    _check(rows, "by_year")
    ax = _new_ax(ax)
    if rows.empty:
        _set_title(ax, _title(rows, title))
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color=GREY)
        return ax
    ind = rows["indicator"].iloc[0]
    scale = percent_scale(ind)
    rows = rows.assign(_label=_labels(rows))
    groups = list(order) if order is not None else _group_order(rows)
    groups, hidden = _always_suppressed(rows, groups)
    present_years = set(int(y) for y in rows["year"].unique())
    years = list(range(min(present_years), max(present_years) + 1))  # a year with no data breaks the line
    for yr in sorted(set(years) - present_years):
        ax.text(yr, 0.03, "no data", transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=9,
                color=GREY, style="italic")
    if not groups:
        ax.text(0.5, 0.5, f"{SUPPRESSED} (too few to show safely)", transform=ax.transAxes, ha="center",
                color=GREY, style="italic")
    width = 0.25 if len(groups) > 1 else 0.0
    offsets = np.linspace(-width / 2, width / 2, len(groups)) if len(groups) > 1 else [0.0]
    sup_count: dict[int, int] = {}
    grid = _grid(rows, groups, years, "_label", "year", missing_suppressed=False)
    for k, (grp, off) in enumerate(zip(groups, offsets)):
        colour = PALETTE[k % len(PALETTE)]
        sup, present = grid["suppressed"][k], grid["present"][k]
        x = np.asarray(years, dtype=float) + off
        y, lo, hi = (grid[c][k] * scale for c in ("value", "ci_low", "ci_high"))
        yerr = np.clip(np.nan_to_num(np.vstack([y - lo, hi - y])), 0, None)  # rounding can put a value a hair outside
        ax.plot(x, y, "-o", color=colour, label=grp, lw=2, ms=7)
        ax.errorbar(x, y, yerr=yerr, fmt="none", ecolor=colour, elinewidth=1.5, capsize=4)
        for yr, xi, s, p in zip(years, x, sup, present):
            if s and p:
                n = sup_count.get(yr, 0)
                sup_count[yr] = n + 1
                ax.text(xi, 0.03 + 0.07 * n, SUPPRESSED if len(groups) == 1 else f"{grp}: {SUPPRESSED}",
                        transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=9,
                        color=colour, style="italic")
    ax.set_xticks(years)
    ax.set_xticklabels([str(y) for y in years])
    ax.set_xlim(min(years) - 0.5, max(years) + 0.5)
    if ylim is not None:
        ax.set_ylim(*ylim)
    elif scale == 100 and not ind.endswith(GAP_SUFFIX) and REGISTRY[base_id(ind)].kind == "proportion":
        ax.set_ylim(0, 102)  # room for a marker at 100%
        ax.set_yticks(range(0, 101, 20))
    ax.set_xlabel("year")
    ax.set_ylabel(axis_label(ind))
    _set_title(ax, _wrap(_title(rows, title)))
    _note_suppressed(ax, hidden, every_year=len(years) > 1)
    _describe_values(ax, grid, groups, years, ind, groups_first=True)
    return _finish(ax, legend_title=None, n_items=len(groups))


def _describe_values(ax, grid: dict, outer: list, inner: list, ind: str, groups_first: bool) -> None:
    """Add each group's value in each year (a :func:`_grid` of ``outer x inner``) to the chart's :func:`alt_text`.

    ``groups_first``: ``outer`` are the groups and ``inner`` the years (a line chart, whose one
    group goes unnamed: the title names it); else the other way round. A withheld cell reads
    "withheld"; a cell without a row, "no data".
    """
    groups, years = (outer, inner) if groups_first else (inner, outer)
    parts = []
    for g, grp in enumerate(groups):
        cells = []
        for y, yr in enumerate(years):
            k = (g, y) if groups_first else (y, g)
            cells.append((fmt_value(grid["value"][k], ind) if grid["present"][k] else "no data")
                         + (f" in {yr}" if len(years) > 1 else ""))
        named = not groups_first or len(groups) > 1
        parts.append(f"{grp}: {', '.join(cells)}" if named else ", ".join(cells))
    if parts:
        describe(ax, f"Values: {'; '.join(parts)}.")


def _horizontal(rows: pd.DataFrame, bars: bool, title: str, ax, order, xlim, hint: str = ""):
    """Groups down the side, one bar (``bars``) or point per year, interval bars, "suppressed" labels."""
    rows = rows.assign(_label=_labels(rows))
    groups = list(order) if order is not None else _group_order(rows)
    years = sorted(rows["year"].unique())
    groups, hidden = _always_suppressed(rows, groups) if len(years) > 1 else (groups, [])
    ax = _new_ax(ax, figsize=(8, max(2.8, 0.28 * len(groups) * max(1, len(years)) + 1.6)))
    if rows.empty or not groups:
        _set_title(ax, _wrap(title))
        ax.text(0.5, 0.5, "no data" if rows.empty else f"{SUPPRESSED} (too few to show safely)",
                transform=ax.transAxes, ha="center", color=GREY, style="italic")
        ax.set_xticks([])
        ax.set_yticks([])
        return ax
    ind = rows["indicator"].iloc[0]
    scale = percent_scale(ind)
    if not bars:
        ax.axvline(0, color=GREY, lw=1.2, zorder=1)
    h = 0.8 / len(years)
    grid = _grid(rows, years, groups, "year", "_label", missing_suppressed=True)
    for k, yr in enumerate(years):
        colour = PALETTE[k % len(PALETTE)]
        ypos = np.arange(len(groups)) - 0.4 + h * (k + 0.5)
        sup = grid["suppressed"][k]
        v, lo, hi = (grid[c][k] * scale for c in ("value", "ci_low", "ci_high"))
        xerr = np.clip(np.nan_to_num(np.vstack([v - lo, hi - v])), 0, None)
        label = str(yr) if len(years) > 1 else None
        if bars:
            ax.barh(ypos, np.nan_to_num(v), height=h * 0.9, color=colour, alpha=0.85, label=label)
            ax.errorbar(v, ypos, xerr=xerr, fmt="none", ecolor="0.2", elinewidth=1.3, capsize=3)
        else:
            ax.errorbar(v, ypos, xerr=xerr, fmt="o", color=colour, ecolor=colour, elinewidth=1.8, capsize=3,
                        ms=7, label=label, zorder=3)
        for yp, s_, p_ in zip(ypos, sup, grid["present"][k]):
            if s_ and p_:
                ax.text(0.01, yp, SUPPRESSED, transform=ax.get_yaxis_transform(), va="center", ha="left",
                        fontsize=9, color=GREY, style="italic")
    if xlim is not None:
        ax.set_xlim(*xlim)
    elif bars and scale == 100 and REGISTRY[base_id(ind)].kind == "proportion" and not ind.endswith(GAP_SUFFIX):
        ax.set_xlim(0, 100)
    elif not bars:
        vals = rows[["value", "ci_low", "ci_high"]].to_numpy(dtype=float) * scale
        step = 5.0 if scale == 100 else 0.5
        lim = np.nanmax(np.abs(vals)) if np.isfinite(vals).any() else 2 * step
        ax.set_xlim(-max(step, np.ceil(lim / step) * step), max(step, np.ceil(lim / step) * step))
    ax.set_yticks(np.arange(len(groups)))
    ax.set_yticklabels(groups)
    ax.set_ylim(len(groups) - 0.5, -0.5)  # top to bottom, with room for the first and last group
    ax.set_xlabel(axis_label(ind) + (f"\n({hint})" if hint else ""))
    ax.set_ylabel("")
    ax.grid(False, axis="y")
    _set_title(ax, _wrap(title))
    _note_suppressed(ax, hidden, every_year=len(years) > 1)
    _describe_values(ax, grid, years, groups, ind, groups_first=False)
    return _finish(ax, legend_title="year", n_items=len(years))


def by_group(rows: pd.DataFrame, title: str | None = None, ax=None, order=None, xlim=None):
    """Horizontal bars of one indicator per group with interval bars; several years side by side.

    Parameters
    ----------
    rows : indicator-table rows of one indicator (one or more years).
    title, ax, order, xlim : as in :func:`by_year` (``order`` lists group labels top to bottom).

    Returns
    -------
    The matplotlib Axes. A suppressed group has no bar and reads "suppressed" (with several
    years, a group suppressed in all of them is named in a footnote instead).
    """
    _check(rows, "by_group")
    return _horizontal(rows, True, _title(rows, title), ax, order, xlim)


def gap_chart(rows: pd.DataFrame, title: str | None = None, ax=None, order=None, hint: str | None = None):
    """Differences with their intervals around a zero line: equity gaps or other differences.

    ``rows`` are ``<id>_gap_vs_rest`` rows (each group against the rest of the school) or rows
    of a difference indicator (``perception_gap``: staff minus whānau; ``self_review_gap``:
    leaders minus whānau). One point with its interval per group (and year, side by side): an
    interval crossing zero means no clear difference. Suppressed cells read "suppressed".

    Parameters
    ----------
    hint : what left and right of zero mean, under the axis label (default from the indicator).

    Returns
    -------
    The matplotlib Axes.
    """
    _check(rows, "gap_chart")
    ind = str(rows["indicator"].iloc[0]) if len(rows) else ""
    if ind and not (ind.endswith(GAP_SUFFIX) or REGISTRY[base_id(ind)].kind == "difference"):
        raise ValueError(f"gap_chart: give {GAP_SUFFIX} rows or a difference indicator, not {ind!r}")
    if ind.endswith(GAP_SUFFIX):
        title = title or f"{REGISTRY[base_id(ind)].label}: each group compared with the rest of the school"
    elif ind:
        title = title or REGISTRY[ind].label
    if ind and hint is None:
        hint = hint_of(ind)
    return _horizontal(rows, False, title or "", ax, order, None, hint or "")


def fitted_trend(rows: pd.DataFrame, years, trends_row=None) -> np.ndarray:
    """The trend line (as in :mod:`hsp_eval.indicators.trends`) of one series, at ``years``.

    The line of ``trends_row`` (a row of the trends table) when it has one; otherwise the line
    fitted to ``rows`` with no between-year variance. NaN everywhere when the series has fewer
    than 3 shown years.

    Examples
    --------
    >>> r = pd.DataFrame({"year": [2022, 2023, 2024], "value": [0.2, 0.3, 0.4], "ci_low": [0.1] * 3,
    ...                   "ci_high": [0.3] * 3, "suppressed": False})
    >>> np.round(fitted_trend(r, [2022, 2025]), 2).tolist()
    [0.2, 0.5]
    """
    from hsp_eval.indicators.trends import MIN_YEARS, linear_trend, row_variance

    years = np.asarray(years, dtype=float)
    if trends_row is not None and not pd.isna(trends_row.get("slope", np.nan)):
        centre, level, slope = (float(trends_row[k]) for k in ("centre_year", "fitted_at_centre", "slope"))
    else:
        ok = rows[~_suppressed(rows) & rows["value"].notna()]
        if ok["year"].nunique() < MIN_YEARS:
            return np.full(len(years), np.nan)
        fit = linear_trend(ok["value"], row_variance(ok["ci_low"], ok["ci_high"]), ok["year"],
                           np.zeros(len(ok), dtype=int))
        centre, level, slope = fit["centre"][0], fit["level"][0], fit["slope"][0]
    line = level + slope * (years - centre)
    share = len(rows) and "indicator" in rows and REGISTRY[base_id(rows["indicator"].iloc[0])].kind == "proportion"
    return np.clip(line, 0, 1) if share else line


def target_chart(rows: pd.DataFrame, trends_row=None, title: str | None = None, ax=None):
    """A target (indicator of success): the observed series, the fitted trend and the target.

    Parameters
    ----------
    rows : indicator-table rows of the target's indicator and group (one area, all years).
    trends_row : the matching row of the trends table (a Series or dict with ``target_value``,
        ``target_year``, ``target_status``); None draws the series and its trend only.

    Returns
    -------
    The matplotlib Axes.
    """
    _check(rows, "target_chart")
    if title is None and len(rows) and (rows["group"].iloc[0] != "all"):
        title = f"{_title(rows, None)}: {group_label(rows['group_type'].iloc[0], rows['group'].iloc[0])}"
    ax = by_year(rows, title=title, ax=ax)
    if rows.empty:
        return ax
    ind = rows["indicator"].iloc[0]
    scale = percent_scale(ind)
    years = sorted(rows["year"].unique())
    t_year = t_value = None
    status = None
    if trends_row is not None:
        tv, ty = trends_row.get("target_value"), trends_row.get("target_year")
        if tv is not None and not pd.isna(tv) and ty is not None and not pd.isna(ty):
            t_value, t_year = float(tv), int(ty)
        status = trends_row.get("target_status")
    end = max(years + ([t_year] if t_year else []))
    if REGISTRY[base_id(ind)].kind in ("proportion", "mean"):
        xs = np.linspace(min(years), end, 50)
        fit = fitted_trend(rows, xs, trends_row)
        if not np.isnan(fit).all():
            ax.plot(xs, fit * scale, "--", color=GREY, lw=1.5, label="fitted trend")
    if t_year is not None:
        ax.axhline(t_value * scale, color=PALETTE[3], lw=1, ls=":")
        ax.plot([t_year], [t_value * scale], marker="*", ms=16, color=PALETTE[3], ls="none",
                label=f"target: {fmt_value(t_value, ind)} by {t_year}")
        ticks = list(range(min(years), end + 1))
        ax.set_xticks(ticks, labels=[str(t) for t in ticks])
        ax.set_xlim(min(years) - 0.5, end + 0.5)
    if status and not pd.isna(status):
        ax.text(0.99, 0.02, f"status: {str(status).replace('_', ' ')}", transform=ax.transAxes, ha="right",
                va="bottom", fontsize=10, color=GREY)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    layout(ax.figure)
    return ax


def reference_chart(compared: pd.DataFrame, year: int | None = None, title: str | None = None, ax=None):
    """The school beside schools like ours in ``year`` (default the latest): one row a measure.

    Parameters
    ----------
    compared : rows of :func:`hsp_eval.reports.reference.compare` (measures of one scale: all shares).
    year : the year drawn.

    Each measure gets a grey bar for the reference group's middle half (25th to 75th percentile),
    a dark tick at its median, and the school's value as a point with its likely range. A
    withheld value or a measure without a reference reads so in words. No other school is drawn.

    Returns
    -------
    The matplotlib Axes.
    """
    from hsp_eval.reports.reference import READINGS, group_noun, reading_words

    if compared.empty:
        raise ValueError("reference_chart: no rows to draw")
    year = int(compared["year"].max()) if year is None else int(year)
    r = compared[compared["year"] == year].reset_index(drop=True)
    scales = {percent_scale(i) for i in r["indicator"]}
    if len(scales) > 1:
        raise ValueError("reference_chart: give measures of one scale (all shares, or all means)")
    scale = scales.pop()
    labels = [_wrap(REGISTRY[i].label, 34) for i in r["indicator"]]
    ax = _new_ax(ax, figsize=(7, max(3.2, 0.62 * len(r) + 1.8)))
    y = np.arange(len(r))
    has_ref = r["q25"].notna().to_numpy() & r["q75"].notna().to_numpy()
    q25, med, q75 = (r[c].to_numpy(dtype=float) * scale for c in ("q25", "median", "q75"))
    # the group most measures were compared with names the legend ("schools like ours", or a wider one)
    main = r.loc[has_ref, "grouping"].mode()
    noun = group_noun(main.iloc[0] if len(main) else "type_and_band", r["school_type"].iloc[0])
    ax.barh(y[has_ref], (q75 - q25)[has_ref], left=q25[has_ref], height=0.5, color="0.82",
            label=f"{noun}: middle half")
    ax.plot(med[has_ref], y[has_ref], "|", ms=18, mew=2.5, color=GREY, ls="none", label=f"{noun}: median")
    shown = ~r["suppressed"].astype(bool).to_numpy()
    v, lo, hi = (r[c].to_numpy(dtype=float) * scale for c in ("value", "ci_low", "ci_high"))
    xerr = np.clip(np.nan_to_num(np.vstack([v - lo, hi - v])), 0, None)
    ax.errorbar(v[shown], y[shown], xerr=xerr[:, shown], fmt="o", color=PALETTE[0], ecolor=PALETTE[0],
                elinewidth=1.8, capsize=3, ms=7, zorder=3, label="our school (likely range)")
    words = {"withheld": SUPPRESSED, "too few schools": "too few schools to compare",
             "no reference": "no reference for that year"}
    for k, reading in enumerate(r["reading"]):
        if reading in words:
            # just above the row, so it never lies over the school's own likely range
            ax.text(0.01, k - 0.16, words[reading], transform=ax.get_yaxis_transform(), va="bottom", ha="left",
                    fontsize=9, color=GREY, style="italic")
    if scale == 100:
        ax.set_xlim(0, 100)
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.set_ylim(len(r) - 0.5, -0.5)
    ax.set_xlabel("%, each measure's own share" if scale == 100 else "value")
    ax.grid(False, axis="y")
    ref_year = int(r["reference_year"].iloc[0])
    _set_title(ax, _wrap(title or (f"Our school and {noun}, {year}" if ref_year == year
                                   else f"Our school in {year} and {noun} in {ref_year}")))
    parts = []
    for row, label in zip(r.to_dict("records"), r["indicator"].map(lambda i: REGISTRY[i].label)):
        ind = row["indicator"]
        own = SUPPRESSED if row["suppressed"] else fmt_value(row["value"], ind)
        text = f"{label}: our school {own}"
        if pd.notna(row["q25"]):
            text += (f"; {group_noun(row['grouping'], row['school_type'])}, middle half {fmt_value(row['q25'], ind)}"
                     f" to {fmt_value(row['q75'], ind)}, median {fmt_value(row['median'], ind)}")
        text += f" ({reading_words(row) if row['reading'] in READINGS else row['reading']})"
        parts.append(text)
    describe(ax, "Values: " + "; ".join(parts) + ".")
    # below the axis, so the chart is no wider than the page's other charts
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False, fontsize=9)
    layout(ax.figure)
    return ax


def save(ax_or_fig, path) -> None:
    """Save a chart (Axes or Figure) as PNG (or the format ``path`` names), cropped to its content, and close it."""
    fig = ax_or_fig.figure if hasattr(ax_or_fig, "figure") and not isinstance(ax_or_fig, plt.Figure) else ax_or_fig
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
