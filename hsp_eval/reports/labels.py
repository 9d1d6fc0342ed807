"""Words and number formats of every report, derived from the indicator registry.

How a value reads (``"43%"``, ``"+5 points"``, ``"2.1"``, ``"withheld"``), what a value axis
says, what either side of zero means on a chart of differences, how an indicator reads in a
legend or a table, and how a group of families is named. The facts behind them (percentages
or not, the axis of a mean, a difference's hint, a short label) are fields of
:class:`hsp_eval.indicators.registry.Indicator`; this module only turns them into text, for
the computation modules (school, summary, national, inquiry_impact) and the charts alike.
Equity-gap ids (``<id>_gap_vs_rest``) are understood wherever an indicator id is.

Examples
--------
>>> fmt_value(0.4263, "reach"), fmt_range(0.3512, 0.48, "reach"), axis_label("reach")
('43%', '35% to 48%', 'share of families, %')
>>> short_label("good_news_share"), row_label("retention")
('good news', 'families reached again the next year')
"""

from __future__ import annotations

import pandas as pd

from hsp_eval.indicators.registry import GAP_SUFFIX, REGISTRY, base_id, lower_first

#: what a withheld cell reads as, in tables, sentences and charts (never 0)
SUPPRESSED = "withheld"
#: the value axis of equity-gap rows (each group against the rest of the school)
GAP_AXIS = "difference from the rest of the school, percentage points"
#: what either side of zero means for equity-gap rows
GAP_HINT = "left of 0: lower than the rest of the school; right: higher"
#: (group_type, group) -> the group as a reader says it, where the group's own name will not do
GROUP_LABELS = {
    ("all", "all"): "whole school",
    ("target", "target"): "target students' families",
    ("target", "not_target"): "other families",
    ("new_family", "new"): "new families",
    ("new_family", "returning"): "returning families",
    ("codesign", "codesigned"): "goals co-designed with whānau",
    ("codesign", "not_codesigned"): "goals not co-designed",
    ("activity_type", "iep_meeting"): "IEP meeting",
}


def group_label(group_type: str, group: str) -> str:
    """A group's name as a reader says it.

    Examples
    --------
    >>> group_label("year_band", "4-6"), group_label("target", "not_target"), group_label("ethnicity", "Māori")
    ('Years 4-6', 'other families', 'Māori')
    """
    if (group_type, group) in GROUP_LABELS:
        return GROUP_LABELS[(group_type, group)]
    if group_type == "year_band":
        return f"Years {group}"
    if group_type == "activity_type":
        return str(group).replace("_", " ")
    if group_type == "dimension" and ":" in str(group):
        dim, rater = str(group).split(":", 1)
        return f"{dim.replace('_', ' ')} ({rater})"
    return str(group).replace("_", " ")


def percent_scale(indicator: str) -> float:
    """100 when the indicator (or its gap) is shown as a percentage (registry ``percent``), else 1.

    Examples
    --------
    >>> percent_scale("reach"), percent_scale("reach_gap_vs_rest"), percent_scale("breadth")
    (100.0, 100.0, 1.0)
    """
    return 100.0 if REGISTRY[base_id(indicator)].percent else 1.0


def axis_label(indicator: str) -> str:
    """The value axis label with its unit (registry ``axis``; equity gaps in percentage points).

    Examples
    --------
    >>> axis_label("reach"), axis_label("reach_gap_vs_rest")
    ('share of families, %', 'difference from the rest of the school, percentage points')
    >>> axis_label("breadth")
    'kinds of activity per family'
    """
    if indicator.endswith(GAP_SUFFIX):
        return GAP_AXIS
    return REGISTRY[base_id(indicator)].axis


def hint(indicator: str) -> str:
    """What left and right of zero mean for an equity gap or a difference ("" for other indicators).

    Examples
    --------
    >>> hint("perception_gap")
    'right of 0: staff more favourable than whānau; left: less'
    """
    if indicator.endswith(GAP_SUFFIX):
        return GAP_HINT
    return REGISTRY[base_id(indicator)].hint


def short_label(indicator: str) -> str:
    """The indicator in a few words, for a legend beside indicators of the same unit (registry ``short``).

    Examples
    --------
    >>> short_label("target_family_goal")
    'brought a goal of their own'
    """
    return REGISTRY[base_id(indicator)].short


def row_label(indicator: str) -> str:
    """The indicator as a row of a table of several indicators: its label, in lower case.

    Examples
    --------
    >>> row_label("conference_reach")
    'students whose family came to a learning conference'
    """
    return lower_first(REGISTRY[base_id(indicator)].label)


def fmt_value(value: float, indicator: str, digits: int = 0) -> str:
    """A value as text: ``"43%"`` for shares, ``"+5 points"`` for gaps, ``"2.1"`` for means.

    Examples
    --------
    >>> fmt_value(0.4263, "reach"), fmt_value(-0.052, "reach_gap_vs_rest"), fmt_value(2.14, "breadth", 1)
    ('43%', '-5 points', '2.1')
    >>> fmt_value(float("nan"), "reach")
    'withheld'
    """
    if value is None or pd.isna(value):
        return SUPPRESSED
    scale = percent_scale(indicator)
    if indicator.endswith(GAP_SUFFIX) or REGISTRY[base_id(indicator)].kind == "difference":
        v = round(value * scale, digits) + 0.0  # + 0.0: no "-0"
        return f"{v:+.{digits}f} points" if v != 0 else f"{0:.{digits}f} points"
    if scale == 100:
        return f"{value * 100:.{digits}f}%"
    return f"{value:.{max(digits, 1)}f}"


def fmt_range(low: float, high: float, indicator: str, digits: int = 0) -> str:
    """An interval as text, ``"55% to 68%"`` or ``"-9 to -1 points"``; empty when either end is blank.

    Examples
    --------
    >>> fmt_range(-0.09, -0.012, "reach_gap_vs_rest"), fmt_range(float("nan"), 0.5, "reach")
    ('-9 to -1 points', '')
    """
    if pd.isna(low) or pd.isna(high):
        return ""
    return f"{fmt_value(low, indicator, digits).removesuffix(' points')} to {fmt_value(high, indicator, digits)}"
