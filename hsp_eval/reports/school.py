"""Data preparation for one school's report sections: its rows, re-suppressed, in readable tables.

The school notebooks call these to pick and shape rows of the indicator table; the charts
come from :mod:`hsp_eval.reports.plots`, the sentences from :mod:`hsp_eval.reports.summary` and the words
and number formats from :mod:`hsp_eval.reports.labels`. Everything
here is tidy DataFrame in, DataFrame out, and never turns a suppressed cell into a number.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"level": "school", "area_id": "0042", "year": [2024, 2024], "indicator": ["reach",
...                   "reach_learning"], "group_type": "all", "group": "all", "numerator": [40.0, 20.0],
...                   "denominator": 100.0, "value": [0.4, 0.2], "ci_low": [0.31, 0.13], "ci_high": [0.5, 0.29],
...                   "suppressed": False})
>>> compare(t, {"reach": "any activity", "reach_learning": "learning-focused"})["group"].tolist()
['any activity', 'learning-focused']
>>> value_table(t[t["indicator"] == "reach"]).iloc[0, 0]
'40% (31% to 50%)'
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from hsp_eval.indicators import disclosure
from hsp_eval.reports import prepared
from hsp_eval.indicators.registry import GAP_SUFFIX, REGISTRY, base_id
from hsp_eval.reports.labels import SUPPRESSED, fmt_range, fmt_value, group_label, row_label, short_label
from hsp_eval.data.vocab import ACTIVITY_FOCUS

#: group types of families that "who is and is not reached" is broken down by
REACH_GROUPS = ("ethnicity", "year_band", "target", "new_family")
#: a group type as the end of a chart title ("Families reached, by ethnicity")
GROUP_TYPE_WORDS = {"ethnicity": "by ethnicity (total response)", "ethnicity_prioritised": "by prioritised ethnicity",
                    "year_band": "by year band", "target": "target students' families and other families",
                    "new_family": "new and returning families"}
FOCUS_WORDS = {"learning": "learning-focused", "voice": "family voice", "school": "school-focused",
               "community": "community"}


def resuppress(rows: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Suppress again with a larger ``min_n`` (complementary suppression and gap rows included).

    Disclosure control of school reports (:func:`hsp_eval.indicators.disclosure.protect`) on the school's rows:
    the rest of the school behind each group is the ``all`` row's people minus the group's.

    Examples
    --------
    >>> t = pd.DataFrame({"level": "school", "area_id": "1", "year": 2024, "indicator": "reach",
    ...                   "group_type": ["all", "year_band", "year_band"], "group": ["all", "0-3", "4-6"],
    ...                   "numerator": [10.0, 4.0, 6.0], "denominator": [20.0, 8.0, 12.0],
    ...                   "value": [0.5, 0.5, 0.5], "ci_low": 0.3, "ci_high": 0.7, "suppressed": False})
    >>> resuppress(t, 10)["suppressed"].tolist()   # 0-3 is small; 4-6 goes with it (subtraction)
    [False, True, True]
    """
    t = rows.copy()
    if "people" not in t:
        t["people"] = t["denominator"]
    return disclosure.protect(t, min_n=min_n).drop(columns="withheld_rule")


def school_rows(table: pd.DataFrame, school_id: str, years=None, min_n: int | None = None,
                table_min_n: int | None = None) -> pd.DataFrame:
    """One school's rows of the indicator table, for the years asked, suppressed with ``min_n``.

    Parameters
    ----------
    table : the indicator table.
    school_id : the school (``area_id`` of its ``school`` rows).
    years : a list of years, a ``"2022-2025"`` range, or None for all.
    min_n : the report's threshold; when larger than ``table_min_n`` the rows are suppressed again.
    table_min_n : the threshold the table was made with (its provenance ``min_n``; default 5).

    Respondent-representation rows (a difference of shares, which the engine leaves unsuppressed)
    are suppressed here when fewer than ``min_n`` respondents are in the group or the group's
    survey response row is suppressed, so no report can show a group of one or two families.

    Raises
    ------
    ValueError
        When the table has no rows for the school (naming the school and the years asked).
    """
    if isinstance(years, str) and "-" in years:
        lo, hi = years.split("-", 1)
        years = list(range(int(lo), int(hi) + 1))
    t = table[(table["level"] == "school") & (table["area_id"] == str(school_id))]
    if years is not None:
        t = t[t["year"].isin([int(y) for y in years])]
    if t.empty:
        raise ValueError(f"the indicator table has no rows for school {school_id!r}"
                         + (f" in years {list(years)}" if years is not None else "")
                         + "; check school_id (a quoted text such as \"0042\") and years")
    t = t.copy()
    min_n = int(min_n or 5)
    if min_n > int(table_min_n or 5):
        t = resuppress(t, min_n)
    rep = t["indicator"] == "respondent_representation"
    if rep.any():
        srr = t[(t["indicator"] == "survey_response_rate")][["year", "group_type", "group", "suppressed"]]
        m = t[rep].reset_index().merge(srr.rename(columns={"suppressed": "_s"}), how="left",
                                       on=["year", "group_type", "group"]).set_index("index")
        small = (m["numerator"].fillna(0) < min_n) | m["_s"].fillna(True).astype(bool)
        idx = small[small].index
        t.loc[idx, "suppressed"] = True
        t.loc[idx, ["numerator", "value", "ci_low", "ci_high"]] = np.nan
    return t.sort_values(["year", "indicator", "group_type", "group"], kind="stable").reset_index(drop=True)


def read_area(path, area_id: str, level: str | None = None) -> pd.DataFrame:
    """The rows of one area (and ``level``) of an indicator or trends table, read alone when it is Parquet.

    A Parquet table is filtered while pyarrow reads it, so a school's report converts its own
    rows, not every school's (in a fresh process with 800 schools' rows, 2.8 million:
    :func:`load_inputs` 0.4 s instead of 1.1 s). A CSV table is read whole, then filtered.
    The rows, columns and types are the same either way; the index is 0, 1, 2, ...

    Parameters
    ----------
    path : an indicator table or trends table (:func:`hsp_eval.indicators.engine.write_table`).
    area_id : the area (a school's id for school rows).
    level : only rows of this ``level`` (None: any level, or a table without levels).

    Examples
    --------
    >>> import tempfile
    >>> t = pd.DataFrame({"level": ["school", "school", "region"], "area_id": ["0042", "0113", "0042"],
    ...                   "value": [0.4, 0.5, 0.6]})
    >>> path = Path(tempfile.mkdtemp()) / "t.parquet"
    >>> t.to_parquet(path)
    >>> read_area(path, "0042", "school")["value"].tolist()
    [0.4]
    """
    from hsp_eval.indicators.engine import read_table

    where = {"area_id": str(area_id), **({"level": level} if level is not None else {})}
    if Path(path).suffix.lower() == ".parquet":
        return pd.read_parquet(path, filters=[(col, "==", v) for col, v in where.items()])
    t = read_table(path)
    keep = np.logical_and.reduce([t[col] == v for col, v in where.items()])
    return t[keep].reset_index(drop=True)


def pick(rows: pd.DataFrame, indicator: str, group_type: str | None = "all", group: str | None = None,
         year=None) -> pd.DataFrame:
    """Rows of one indicator, optionally one group type, group and year (None: any).

    Examples
    --------
    >>> t = pd.DataFrame({"indicator": ["reach", "reach"], "group_type": ["all", "year_band"],
    ...                   "group": ["all", "0-3"], "year": [2024, 2024]})
    >>> len(pick(t, "reach", None)), len(pick(t, "reach"))
    (2, 1)
    """
    m = rows["indicator"] == indicator
    if group_type is not None:
        m &= rows["group_type"] == group_type
    if group is not None:
        m &= rows["group"] == group
    if year is not None:
        m &= rows["year"] == year
    return rows[m]


def latest_year(rows: pd.DataFrame, indicator: str = "reach") -> int | None:
    """The last year with rows for ``indicator`` (None when there are none)."""
    y = rows.loc[rows["indicator"] == indicator, "year"]
    return int(y.max()) if len(y) else None


def _labelled(indicators, label) -> dict[str, str]:
    """``indicators`` as id -> label: a dict as given, a list of ids labelled by ``label(id)``."""
    return dict(indicators) if isinstance(indicators, dict) else {i: label(i) for i in indicators}


def compare(rows: pd.DataFrame, indicators, group_type: str = "all", group: str = "all") -> pd.DataFrame:
    """Several indicators of the same unit as groups of one series, to draw them on one chart.

    ``indicators`` lists indicator ids, each shown by its short label from the registry
    (:func:`hsp_eval.reports.labels.short_label`), or maps ids to the labels to show. The rows
    keep the first indicator's id (so the chart's axis, unit and default title are right) with
    ``group_type`` ``"compare"`` and the label as ``group``.

    Examples
    --------
    >>> t = pd.DataFrame({"indicator": ["good_news_share", "deficit_share"], "group_type": "all", "group": "all"})
    >>> compare(t, ["good_news_share", "deficit_share"])["group"].tolist()
    ['good news', 'behaviour or attendance']
    """
    indicators = _labelled(indicators, short_label)
    ids = list(indicators)
    units = {(REGISTRY[base_id(i)].unit, REGISTRY[base_id(i)].kind) for i in ids}
    if len(units) > 1:
        raise ValueError(f"compare: {ids} are not in the same unit ({sorted(units)}); draw them separately")
    parts = [pick(rows, i, group_type, group).assign(group=indicators[i]) for i in ids]
    out = pd.concat(parts, ignore_index=True) if parts else rows.iloc[:0]
    return out.assign(indicator=ids[0], group_type="compare")


def indicator_table(rows: pd.DataFrame, indicators) -> pd.DataFrame:
    """A readable table of several all-family indicators (any units) by year.

    ``indicators`` lists indicator ids, each row labelled as :func:`hsp_eval.reports.labels.row_label`
    says, or maps ids to the labels to show.
    """
    parts = [pick(rows, i).assign(group_type="compare", group=label)
             for i, label in _labelled(indicators, row_label).items()]
    return value_table(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame()


def activity_types(rows: pd.DataFrame, year: int) -> pd.DataFrame:
    """Families reached by each type of activity in ``year``, learning-focused types first.

    Each group reads like ``"learning conference (learning-focused)"``.
    """
    r = pick(rows, "reach_by_type", "activity_type", year=year).copy()
    focus = r["group"].map(ACTIVITY_FOCUS).fillna("school")
    order = {f: k for k, f in enumerate(FOCUS_WORDS)}
    r["_o"] = focus.map(order)
    r["group"] = [f"{group_label('activity_type', g)} ({FOCUS_WORDS.get(f, f)})" for g, f in zip(r["group"], focus)]
    r = r.sort_values(["_o", "value", "group"], ascending=[True, False, True], kind="stable").drop(columns="_o")
    return r.assign(group_type="compare")


def rater_rows(rows: pd.DataFrame, indicator: str, rater: str) -> pd.DataFrame:
    """Rows of a ``"rater:scale"`` indicator (scale scores, favourable shares) for one rater, by scale.

    Examples
    --------
    >>> t = pd.DataFrame({"indicator": "scale_score", "group_type": "scale",
    ...                   "group": ["whanau:time", "staff:time"], "year": 2024})
    >>> rater_rows(t, "scale_score", "whanau")["group"].tolist()
    ['time']
    """
    r = pick(rows, indicator, None)
    r = r[r["group"].str.startswith(rater + ":")]
    return r.assign(group=r["group"].str.split(":", n=1).str[1])


def with_item_text(rows: pd.DataFrame, texts: dict[str, str]) -> pd.DataFrame:
    """Replace item ids by their text (shortened to 60 characters) as the group to show."""
    def short(s: str) -> str:
        return s if len(s) <= 60 else s[:57].rstrip() + "..."
    return rows.assign(group_type="compare", group=[short(texts.get(g, g)) for g in rows["group"]])


def value_table(rows: pd.DataFrame, index: str = "group", columns: str = "year") -> pd.DataFrame:
    """A readable table: each cell ``"43% (37% to 48%)"``, or ``"withheld"``; groups by years.

    Rows of one indicator; index labels are the groups as a reader says them.
    """
    if rows.empty:
        return pd.DataFrame()
    cells = []
    for r in rows.itertuples(index=False):
        ind = r.indicator
        if bool(r.suppressed) or pd.isna(r.value):
            text = SUPPRESSED
        else:
            digits = 0 if fmt_value(r.value, ind).endswith(("%", "points")) else 2
            text = fmt_value(r.value, ind, digits)
            interval = fmt_range(r.ci_low, r.ci_high, ind, digits).removesuffix(" points")
            if interval:
                text += f" ({interval})"
        label = group_label(r.group_type, r.group) if index == "group" else getattr(r, index)
        cells.append({"_i": label, "_c": getattr(r, columns), "cell": text})
    out = pd.DataFrame(cells).pivot_table(index="_i", columns="_c", values="cell", aggfunc="first", sort=False)
    out.index.name, out.columns.name = None, None
    return out.fillna("")


def ratings_table(rows: pd.DataFrame, year: int) -> pd.DataFrame:
    """Self-review mean ratings in ``year``: dimensions down, raters (leaders, staff, whānau) across."""
    r = pick(rows, "self_review_rating", "dimension", year=year)
    if r.empty:
        return pd.DataFrame()
    parts = r["group"].str.split(":", n=1, expand=True)
    r = r.assign(group=parts[0].str.replace("_", " "), rater=parts[1].replace({"whanau": "whānau"}),
                 group_type="dimension_name")
    return value_table(r, index="group", columns="rater")


#: a target's status in words (the trends table's ``target_status``)
TARGET_WORDS = {"met": "met", "on_track": "on track", "uncertain": "not yet clear either way",
                "not_on_track": "not on track", "insufficient_data": "without enough data yet"}


def targets_table(trends: pd.DataFrame, params: dict, school_id: str) -> pd.DataFrame:
    """The school's targets (indicators of success) with the latest value and status in words."""
    cols = ["indicator", "group", "target", "by year", "latest value", "status"]
    rows = []
    for tg in params.get("targets", []):
        row = target_trend_row(trends, tg, school_id)
        latest = "no data" if row is None or pd.isna(row["value_last"]) else \
            f"{fmt_value(row['value_last'], tg['indicator'])} in {int(row['last_year'])}"
        status = TARGET_WORDS["insufficient_data" if row is None or pd.isna(row["target_status"])
                              else str(row["target_status"])]
        rows.append({"indicator": REGISTRY[base_id(tg["indicator"])].label,
                     "group": group_label(tg["group_type"], tg["group"]),
                     "target": fmt_value(tg["value"], tg["indicator"]), "by year": tg["year"],
                     "latest value": latest, "status": status})
    return pd.DataFrame(rows, columns=cols)


def target_trend_row(trends: pd.DataFrame, target: dict, school_id: str):
    """The trends row of one target (a dict from the params file), or None."""
    t = trends[(trends["area_id"] == str(school_id)) & (trends["indicator"] == target["indicator"])
               & (trends["group_type"] == target["group_type"]) & (trends["group"] == target["group"])]
    t = t[t["target_year"].astype("float") == target["year"]]
    return t.iloc[0] if len(t) else None


def key_values(rows: pd.DataFrame, indicators=("reach", "reach_learning")) -> dict:
    """Key all-family values by year, rounded to 3 places (None when suppressed), for checks.

    Examples
    --------
    >>> t = pd.DataFrame({"indicator": "reach", "group_type": "all", "group": "all", "year": [2023, 2024],
    ...                   "value": [0.41234, float("nan")], "suppressed": [False, True]})
    >>> key_values(t, ["reach"])
    {'reach': {'2023': 0.412, '2024': None}}
    """
    out = {}
    for ind in indicators:
        r = pick(rows, ind).sort_values("year")
        out[ind] = {str(int(y)): (None if bool(s) or pd.isna(v) else round(float(v), 3))
                    for y, v, s in zip(r["year"], r["value"], r["suppressed"])}
    return out


VALUES_MIME = "application/vnd.hsp-eval.values+json"


def record_values(values: dict) -> None:
    """Record key values in the notebook's output, for tests and nbval, without showing them in the HTML.

    The output has only the mimetype :data:`VALUES_MIME`, which the published HTML does not
    render; :func:`recorded_values` reads it back from the executed notebook.
    """
    from IPython.display import display

    display({VALUES_MIME: json.loads(json.dumps(values, sort_keys=True))}, raw=True)


def recorded_values(nb) -> dict:
    """The values a notebook recorded with :func:`record_values` (``nb`` an nbformat node or path)."""
    if not hasattr(nb, "cells"):
        import nbformat

        nb = nbformat.read(str(nb), as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            if VALUES_MIME in data:
                return dict(data[VALUES_MIME])
    raise ValueError(f"the notebook recorded no values (no output of type {VALUES_MIME})")


def shown(rows: pd.DataFrame) -> pd.DataFrame:
    """Only the rows that are not suppressed (for the whānau and Board summary: no small numbers)."""
    return rows[~rows["suppressed"].astype(bool) & rows["value"].notna()]


def _school_name(school_id: str, params: dict | None, indicators_path) -> str:
    """The school's own name: its params display_name, else the prepared schools table's, else "School <id>"."""
    if params and params.get("display_name") and params.get("_from_file"):
        return params["display_name"]
    return prepared.school_name(indicators_path, school_id) or f"School {school_id}"


def load_inputs(school_id: str, years=None, indicators_path=None, trends_path=None, params_path=None,
                min_n: int = 5) -> dict:
    """Everything a school report reads, checked: the school's rows, trends, params and provenance.

    ``params_path`` None means no params file: the defaults, and no targets. The
    rows are suppressed again when ``min_n`` (or the params file's ``min_n``) is larger than
    the table's. The school's trends are recomputed from its rows when they were suppressed
    again or when a target of the params file is missing from the trends file.

    Returns
    -------
    dict with ``school_id``, ``name``, ``rows`` (the school's rows), ``trends``, ``params``,
    ``item_texts`` (survey item id -> wording, from the prepared items table),
    ``min_n`` (the threshold used), ``latest`` (last year with reach rows), ``provenance``
    (a record for :func:`hsp_eval.reports.provenance.provenance_table`) and ``parameters``.
    """
    from hsp_eval.indicators import params as params_mod
    from hsp_eval.indicators.trends import between_year_variances, compute_trends, targets_frame
    from hsp_eval.reports import provenance

    if school_id in (None, "") or indicators_path in (None, "") or trends_path in (None, ""):
        raise ValueError("load_inputs needs the school id, the indicator table and the trends table "
                         "(a notebook run without them takes the demo's: hsp_eval.run.demo.school_inputs)")
    school_id = str(school_id)
    parameters = {"school_id": school_id, "years": years, "indicators_path": indicators_path,
                  "trends_path": trends_path, "params_path": params_path, "min_n": min_n}
    params = None if params_path in (None, "") else params_mod.load_params(params_path)
    if params is not None:
        if params["school_id"] != school_id:
            raise ValueError(f"{params_path}: the params file is for school {params['school_id']!r}, "
                             f"not {school_id!r}")
        params = {**params, "_from_file": True}
    else:
        params = {**params_mod.parse_params({"school_id": school_id}, "(no params file)"), "_from_file": False}
    if years is None and params.get("years"):
        years = params["years"]
    side = provenance.read_sidecar(indicators_path)
    table_min_n = int(side.get("min_n") or 5)
    used_min_n = max(int(min_n or 5), int(params.get("min_n") or 5))
    table = read_area(indicators_path, school_id, "school")
    all_years = set(table["year"])
    rows = school_rows(table, school_id, years, used_min_n, table_min_n)
    trends = read_area(trends_path, school_id)
    complete = all(target_trend_row(trends, t, school_id) is not None for t in params["targets"])
    if used_min_n > table_min_n or not complete or set(rows["year"]) != all_years:
        targets = targets_frame({school_id: params})
        # one school's rows cannot show the between-year variance: take the all-school estimate
        trends = compute_trends(rows, targets if len(targets) else None, between_year_variances(trends))
    rec = provenance.record(side.get("data_fingerprint"), side.get("data_dir"), side.get("data_read_at"),
                            indicator_table=str(indicators_path), trends_table=str(trends_path),
                            params_file=str(params_path) if params["_from_file"] else "none (no targets)",
                            min_n_used=used_min_n, report_run_at=provenance.now())
    return {"school_id": school_id, "name": _school_name(school_id, params, indicators_path), "rows": rows,
            "trends": trends, "params": params, "min_n": used_min_n, "latest": latest_year(rows),
            "years": sorted(int(y) for y in rows["year"].unique()), "provenance": rec, "parameters": parameters,
            "item_texts": prepared.item_texts(indicators_path)}
