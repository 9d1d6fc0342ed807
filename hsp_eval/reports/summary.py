"""Plain-language sentences generated from the numbers, for the front of a school's report.

:func:`school_summary` gives three to five sentences: how many families took part, what
changed clearly over the years (from the trend tests), which group of families is reached
least (only groups shown in the report, never a suppressed one), and where the school's
targets stand. The other functions give the one-sentence readings the sections open with.
Words are plain ("likely range" for an interval, "clearly" for a tested change) and never
causal: an association is called an association.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"level": "school", "area_id": "0042", "year": 2024,
...                      "indicator": ["reach", "reach_learning"], "group_type": "all", "group": "all",
...                      "value": [0.62, 0.41], "ci_low": [0.55, 0.34], "ci_high": [0.68, 0.48],
...                      "suppressed": False})
>>> print(reach_sentence(rows))  # doctest: +NORMALIZE_WHITESPACE
In 2024, 62% of families took part in at least one school activity (likely range 55% to 68%), and 41% in an
activity focused on their child's learning (34% to 48%).
"""

from __future__ import annotations

import pandas as pd

from hsp_eval.indicators.registry import REGISTRY, key_indicators
from hsp_eval.reports.labels import fmt_range, fmt_value, group_label
from hsp_eval.reports.school import REACH_GROUPS, TARGET_WORDS, pick, shown, target_trend_row
from hsp_eval.data.vocab import NOT_STATED

#: groups that are not a group of families (missing information), never named as "reached least"
NOT_A_GROUP = {NOT_STATED}


def _school(rows: pd.DataFrame, school_id: str | None) -> pd.DataFrame:
    if "level" in rows:
        rows = rows[rows["level"] == "school"]
    if school_id is not None and "area_id" in rows:
        rows = rows[rows["area_id"] == str(school_id)]
    return rows


def _one(rows, indicator, group_type="all", group="all", year=None):
    r = shown(pick(rows, indicator, group_type, group, year)).sort_values("year")
    return r.iloc[-1] if len(r) else None


def likely_range(row, indicator: str | None = None) -> str:
    """``"55% to 68%"`` from a row's interval (empty when it has none).

    Examples
    --------
    >>> likely_range({"indicator": "reach", "ci_low": 0.5512, "ci_high": 0.68})
    '55% to 68%'
    """
    return fmt_range(row["ci_low"], row["ci_high"], indicator or row["indicator"])


def families(group_type: str, group: str) -> str:
    """A group of families named in a sentence.

    Examples
    --------
    >>> families("ethnicity", "Māori"), families("year_band", "0-3"), families("target", "target")
    ('Māori families', 'families of students in Years 0-3', "target students' families")
    """
    if group_type in ("ethnicity", "ethnicity_prioritised"):
        return "families of another ethnic group" if group == "Other" else f"{group} families"
    if group_type == "year_band":
        return f"families of students in Years {group}"
    return group_label(group_type, group)


def reach_sentence(rows: pd.DataFrame, school_id: str | None = None, year: int | None = None) -> str:
    """How many families took part, and in learning-focused activities, in the latest (or given) year."""
    rows = _school(rows, school_id)
    r = _one(rows, "reach", year=year)
    if r is None:
        return "There are not enough families in the data to report who took part."
    y = int(r["year"])
    text = (f"In {y}, {fmt_value(r['value'], 'reach')} of families took part in at least one school activity "
            f"(likely range {likely_range(r)})")
    rl = _one(rows, "reach_learning", year=y)
    if rl is not None:
        text += (f", and {fmt_value(rl['value'], 'reach_learning')} in an activity focused on their child's "
                 f"learning ({likely_range(rl)})")
    return text + "."


def _change(tr) -> str:
    ind = tr["indicator"]
    return (f"{REGISTRY[ind].phrase} (from {fmt_value(tr['value_first'], ind)} in "
            f"{int(tr['first_year'])} to {fmt_value(tr['value_last'], ind)} in {int(tr['last_year'])})")


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def change_sentences(trends: pd.DataFrame, school_id: str) -> list[str]:
    """What improved clearly, and what moved the wrong way, for all families (trend tests).

    Reads the school's key indicators (registry ``key_for`` ``"school"``), in registry order.
    """
    keys = key_indicators("school")
    t = trends[(trends["area_id"] == str(school_id)) & (trends["group_type"] == "all") & (trends["group"] == "all")
               & trends["indicator"].isin(keys)]
    t = t.assign(_o=t["indicator"].map({k: i for i, k in enumerate(keys)})).sort_values("_o")
    tested = t[t["trend"].notna() & ~t["trend"].isin(["too few years", "not tested"]) & t["first_year"].notna()]
    if tested.empty:
        return ["There are not yet enough years of data to say whether things are changing."]
    out = []
    better = tested[tested["trend"] == "improving"]
    worse = tested[tested["trend"] == "declining"]
    if len(better):
        out.append("Clear improvements over the years: " + _join([_change(r) for _, r in better.head(3).iterrows()])
                   + ".")
    if len(worse):
        out.append("Moving the wrong way: " + _join([_change(r) for _, r in worse.head(2).iterrows()]) + ".")
    if not out:
        y0, y1 = int(tested["first_year"].min()), int(tested["last_year"].max())
        out.append(f"Between {y0} and {y1}, none of the main measures for all families changed clearly; "
                   f"the differences between years are within the margin of error.")
    return out


def least_reached_sentence(rows: pd.DataFrame, school_id: str | None = None, year: int | None = None,
                           indicator: str = "reach") -> str:
    """The group of families reached least in the latest year, among groups shown in the report.

    Only unsuppressed rows are considered, so a group too small to show is never named.
    """
    rows = _school(rows, school_id)
    allr = _one(rows, indicator, year=year)
    if allr is None:
        return ""
    y = int(allr["year"])
    g = shown(pick(rows, indicator, None, year=y))
    g = g[g["group_type"].isin(REACH_GROUPS) & ~g["group"].isin(NOT_A_GROUP)]
    if g.empty:
        return ""
    low = g.sort_values(["value", "group_type", "group"], kind="stable").iloc[0]
    who = families(low["group_type"], low["group"])
    text = (f"In {y}, the families reached least were {who}: {fmt_value(low['value'], indicator)} "
            f"(likely range {likely_range(low)}), against {fmt_value(allr['value'], indicator)} of all families")
    gap = _one(rows, indicator + "_gap_vs_rest", low["group_type"], low["group"], y)
    if gap is not None and gap["ci_high"] < 0:
        text += "; that is clearly below the rest of the school"
    elif gap is not None:
        text += "; the difference from the rest of the school is within the margin of error"
    return text + "."


#: the sentence of a report made without a params file (``params["_from_file"]`` False)
DEFAULTS_SENTENCE = ("This report uses the default settings: no targets were set, it covers every year in the "
                     "data, and it shows no number about fewer than {min_n} people. The school can set its "
                     "own targets (indicators of success) in a params file.")


def target_sentence(trends: pd.DataFrame, params: dict | None, school_id: str) -> str:
    """Where the school's targets (from its params file) stand, counted by status.

    A report made without a params file (``params["_from_file"]`` False, as
    :func:`hsp_eval.reports.school.load_inputs` marks it) says that it uses the defaults.

    Examples
    --------
    >>> target_sentence(pd.DataFrame(), {"targets": [], "min_n": 5, "_from_file": False}, "0042")[:47]
    'This report uses the default settings: no targe'
    """
    targets = (params or {}).get("targets") or []
    if params is not None and params.get("_from_file") is False:
        return DEFAULTS_SENTENCE.format(min_n=params.get("min_n") or 5)
    if not targets:
        return "The school has not yet set targets (indicators of success) in its params file."
    status = []
    behind = []
    for tg in targets:
        r = target_trend_row(trends, tg, school_id)
        s = str(r["target_status"]) if r is not None and pd.notna(r["target_status"]) else "insufficient_data"
        status.append(s)
        if s == "not_on_track":
            what = REGISTRY[tg["indicator"]].phrase
            if tg["group_type"] != "all":
                who = families(tg["group_type"], tg["group"])
                what = f"{who} {what.removeprefix('families ')}" if what.startswith("families ") else \
                    f"{what} ({who})"
            behind.append(f"{what} "
                          f"({fmt_value(r['value_last'], tg['indicator'])} in {int(r['last_year'])}, target "
                          f"{fmt_value(tg['value'], tg['indicator'])} by {tg['year']})")
    counts = [f"{status.count(k)} {'is' if status.count(k) == 1 else 'are'} {w}" for k, w in TARGET_WORDS.items()
              if status.count(k)]
    n = len(targets)
    text = f"Of the school's {n} target{'s' if n != 1 else ''}, {_join(counts)}"
    if behind:
        text += "; not on track: " + "; ".join(behind)
    return text + "."


def school_summary(table: pd.DataFrame, trends: pd.DataFrame, school_id: str, params: dict | None = None,
                   year: int | None = None) -> list[str]:
    """Three to five plain-language sentences about one school, generated from its numbers.

    Parameters
    ----------
    table : the indicator table (or the school's rows of it, already re-suppressed).
    trends : the trends table (:func:`hsp_eval.indicators.trends.compute_trends`).
    school_id : the school.
    params : the school's params (its targets); None when it has none.
    year : the year the "latest" sentences speak of (default: the last year with data).

    Returns
    -------
    list of sentences: who took part; what changed clearly; who is reached least; where the
    targets stand. Deterministic for the same inputs.
    """
    rows = _school(table, school_id)
    out = [reach_sentence(rows, year=year)]
    out += change_sentences(trends, school_id)
    least = least_reached_sentence(rows, year=year)
    if least:
        out.append(least)
    out.append(target_sentence(trends, params, school_id))
    return out[:5]


def learning_sentence(rows: pd.DataFrame, year: int) -> str:
    """Engagement with the school against engagement with learning, in one year."""
    r, rl, ls = (_one(rows, i, year=year) for i in ("reach", "reach_learning", "learning_share"))
    if r is None or rl is None:
        return f"In {year} there are too few families in the data to compare the kinds of activity."
    text = (f"In {year}, {fmt_value(r['value'], 'reach')} of families took part in some activity and "
            f"{fmt_value(rl['value'], 'reach_learning')} in one focused on learning")
    if ls is not None:
        text += (f"; {fmt_value(ls['value'], 'learning_share')} of all attendances were at learning-focused "
                 f"activities (likely range {likely_range(ls)})")
    return text + ". Engagement with the school is not the same as engagement with learning."


def contacts_sentence(rows: pd.DataFrame, year: int) -> str:
    """Good-news against behaviour or attendance contacts, and who starts contacts, in one year."""
    g, d, tw = (_one(rows, i, year=year) for i in ("good_news_share", "deficit_share", "two_way_share"))
    parts = []
    if g is not None and d is not None:
        parts.append(f"of the contacts the school started in {year}, {fmt_value(g['value'], 'good_news_share')} "
                     f"shared good news and {fmt_value(d['value'], 'deficit_share')} were about behaviour or "
                     f"attendance")
    if tw is not None:
        parts.append(f"families started {fmt_value(tw['value'], 'two_way_share')} of all contacts "
                     f"(likely range {likely_range(tw)})")
    if not parts:
        return f"In {year} there are too few contacts in the data to describe."
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


#: beside every accelerated-progress figure (uncertainty spec v2): why it reads high
REGRESSION_NOTE = ("Target students were chosen because their scores were low, so part of their gain is "
                   "regression to the mean (a low score is partly bad luck on the day) and measurement error: "
                   "accelerated progress reads higher than the real acceleration. Compare target students "
                   "with each other, not with all students. A measure's standard error of measurement in the "
                   "params file (measurement_error) raises the bar by that much.")


def codesign_sentence(rows: pd.DataFrame, year: int | None = None) -> str:
    """Accelerated progress with and without co-designed goals, stated as an association."""
    c = _one(rows, "accelerated_by_codesign", "codesign", "codesigned", year)
    n = _one(rows, "accelerated_by_codesign", "codesign", "not_codesigned", year if year else
             (int(c["year"]) if c is not None else None))
    if c is None or n is None:
        return ("There are too few target students with progress data to compare goals co-designed with "
                "whānau and other goals.")
    y = int(c["year"])
    ind = "accelerated_by_codesign"
    return (f"In {y}, {fmt_value(c['value'], ind)} of target students whose goals were co-designed with their "
            f"whānau made accelerated progress (likely range {likely_range(c)}), against "
            f"{fmt_value(n['value'], ind)} of those whose goals were not ({likely_range(n)}). "
            f"This is an association, not proof of cause: families and students who co-design goals may "
            f"differ in other ways.")


def codesign_model_sentence(rows: pd.DataFrame, year: int | None = None) -> str:
    """The adjusted odds ratio of accelerated progress with co-designed goals, as an association.

    Examples
    --------
    >>> r = pd.DataFrame({"indicator": "accelerated_by_codesign", "group_type": "codesign",
    ...                   "group": ["adjusted_odds_ratio", "codesigned", "not_codesigned"], "year": 2025,
    ...                   "value": [2.78, 0.5, 0.25], "ci_low": [0.8, 0.3, 0.1], "ci_high": [9.67, 0.7, 0.4],
    ...                   "suppressed": False})
    >>> print(codesign_model_sentence(r))  # doctest: +NORMALIZE_WHITESPACE
    In 2025, after allowing for students' starting scores and year levels, the odds of accelerated progress
    were 2.8 times as high with co-designed goals (likely range 0.8 to 9.7); a range that includes 1 means no
    clear difference. This is an association, not proof of cause.
    """
    r = _one(rows, "accelerated_by_codesign", "codesign", "adjusted_odds_ratio", year)
    if r is None:
        return ""
    groups = [_one(rows, "accelerated_by_codesign", "codesign", g, int(r["year"])) for g in ("codesigned",
                                                                                         "not_codesigned")]
    if any(g is None for g in groups):  # the two groups it compares are too small to show
        return ""
    text = (f"In {int(r['year'])}, after allowing for students' starting scores and year levels, the odds of "
            f"accelerated progress were {r['value']:.1f} times as high with co-designed goals")
    if pd.notna(r["ci_low"]) and pd.notna(r["ci_high"]):
        text += (f" (likely range {r['ci_low']:.1f} to {r['ci_high']:.1f}); a range that includes 1 means no "
                 f"clear difference")
    return text + ". This is an association, not proof of cause."
