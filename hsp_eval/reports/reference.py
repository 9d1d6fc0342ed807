"""Schools like ours: reference groups of similar schools, and one school read against them.

The first question asked of any number is "is that good for a school like ours?". The batch's
data step (:func:`reference_table`, written as ``_data/reference.parquet``) gives, for each key
indicator and year, the spread of the values of similar schools; a school's reports set the
school's own value and likely range beside it (:func:`compare`) and say in one plain sentence
where it stands, never by rank. ``docs/reference-groups.md`` explains the choices.

**Reference group.** Schools of the same type and Equity Index band
(:data:`hsp_eval.reports.prepared.EQI_BANDS`). When that group has fewer than
:data:`MIN_SCHOOLS` schools with a value for the indicator in the year, the type alone; then all
schools; with fewer than :data:`MIN_SCHOOLS` even then, no reference (grouping ``"none"``). A
school without an Equity Index is compared with its type, then all schools. The school is part of
its own group, so every school of a group sees the same figures.

**Which values.** Only school values shown in the **publication** table (``suppressed`` False,
a value given): anything shown beyond a school is made from it, and the reference figures are
shown in other schools' reports. They are therefore a function of published values alone: a
withheld value does not enter, so nothing about it can be worked out from them (a value the
release does not hold cannot be recovered from figures that do not depend on it).

**Figures.** The median and the middle half (25th and 75th percentiles, pandas' linear
interpolation) of the school values, the number of schools, and which grouping was used;
values written rounded as publication writes them (3 decimals for shares, 2 for means).

**Reading** (:func:`reading`), funnel-plot logic rather than a rank: *above most schools like
ours* when the school's whole 95% interval lies above the group's 75th percentile, *below most
schools like ours* when it lies wholly below the 25th, otherwise *within the usual range*. A small
school with a wide interval is called above or below only when even its interval says so.

Examples
--------
>>> rows = pd.DataFrame({"area_id": [f"{i:04d}" for i in range(30)], "year": 2025, "indicator": "reach",
...                      "group_type": "all", "group": "all", "value": [i / 40 for i in range(30)],
...                      "suppressed": False})
>>> schools = pd.DataFrame({"school_id": rows["area_id"], "school_type": ["Contributing"] * 22 + ["Special"] * 8,
...                         "eqi_band": "moderate barriers (420-479)"})
>>> ref = reference_table(rows, schools, ["reach"])
>>> ref[["school_type", "grouping", "schools", "q25", "median", "q75"]].values.tolist()
[['Contributing', 'type_and_band', 22, 0.131, 0.262, 0.394], ['Special', 'all', 30, 0.181, 0.362, 0.544]]
>>> reading(0.62, 0.55, 0.68, 0.3, 0.5), reading(0.62, 0.45, 0.68, 0.3, 0.5)
('above', 'within')
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from hsp_eval.indicators.registry import REGISTRY, key_indicators
from hsp_eval.reports import prepared
from hsp_eval.reports.labels import fmt_range, fmt_value, row_label

#: a reference figure is an aggregate of at least this many schools' values
MIN_SCHOOLS = 20
#: the groupings tried, narrowest first; "none" when even all schools are too few
GROUPINGS = ("type_and_band", "type", "all", "none")
#: the school's reading against its reference group, as the reports say it
READINGS = {"above": "above most schools like ours", "within": "within the usual range",
            "below": "below most schools like ours"}
#: the columns of the prepared reference table, one row per (type, band) cell, year and indicator
COLUMNS = ["school_type", "eqi_band", "year", "indicator", "grouping", "compared_with", "schools", "q25",
           "median", "q75"]
#: the columns of :func:`compare`: a school's rows beside their reference
COMPARED = ["indicator", "year", "value", "ci_low", "ci_high", "suppressed", "school_type", "eqi_band",
            "reference_year", "grouping", "compared_with", "schools", "q25", "median", "q75", "reading"]
#: the notebook output recording the reference figures a school report shows (for the audit; not shown in HTML)
REFERENCE_MIME = "application/vnd.hsp-eval.reference+json"
#: the headline indicators the whānau and Board summary compares with schools like ours (registry ``key_for``)
HEADLINE = key_indicators("summary")
#: what every section comparing with schools like ours says about cause
CAUSE_NOTE = ("This describes where the school stands among schools like it, not why: schools differ in many "
              "ways that type and Equity Index do not capture, so a difference is an association, not a "
              "judgement of cause.")


def reference_indicators() -> tuple[str, ...]:
    """The indicators with reference figures: the school evaluation's key indicators and the summary's headline ones.

    Examples
    --------
    >>> reference_indicators()[:3]
    ('reach', 'reach_learning', 'contact_reach')
    """
    return tuple(dict.fromkeys(key_indicators("school") + key_indicators("summary")))


def type_words(school_type: str) -> str:
    """A school type as a group of schools in a sentence.

    Examples
    --------
    >>> type_words("Contributing"), type_words("Secondary (Year 9-15)"), type_words("Teen Parent Unit")
    ('contributing schools', 'secondary schools (Years 9-15)', 'teen parent units')
    """
    m = re.fullmatch(r"(.*?) \(Year (.*)\)", str(school_type))
    base, years = (m.group(1), f" (Years {m.group(2)})") if m else (str(school_type), "")
    base = base.lower()
    return (f"{base}s" if base.endswith(("unit", "school")) else f"{base} schools") + years


def band_words(eqi_band: str) -> str:
    """An Equity Index band as words after "schools with".

    Examples
    --------
    >>> band_words("moderate barriers (420-479)")
    'moderate barriers (Equity Index 420-479)'
    """
    m = re.fullmatch(r"(.*) \((\d+-\d+)\)", str(eqi_band))
    return f"{m.group(1)} (Equity Index {m.group(2)})" if m else str(eqi_band)


def group_words(grouping: str, school_type: str, eqi_band: str) -> str:
    """The reference group in words ("" when there is none).

    Examples
    --------
    >>> group_words("type_and_band", "Contributing", "moderate barriers (420-479)")
    'contributing schools with moderate barriers (Equity Index 420-479)'
    >>> group_words("type", "Full Primary", "more barriers (480-569)"), group_words("all", "Special", "")
    ('all full primary schools', 'all schools in the data')
    """
    if grouping == "type_and_band":
        return f"{type_words(school_type)} with {band_words(eqi_band)}"
    if grouping == "type":
        return f"all {type_words(school_type)}"
    return "all schools in the data" if grouping == "all" else ""


def _decimals(indicator: str) -> int:
    return 3 if REGISTRY[indicator].kind == "proportion" else 2


# ---------------------------------------------------------------------------------------------
# made by the data step

def publication_school_rows(path, indicators=None) -> pd.DataFrame:
    """The school rows (group ``all``) of the reference indicators in a publication table (Parquet)."""
    indicators = list(indicators or reference_indicators())
    return pd.read_parquet(path, columns=["level", "area_id", "year", "indicator", "group_type", "group", "value",
                                          "suppressed"],
                           filters=[("level", "==", "school"), ("group_type", "==", "all"),
                                    ("indicator", "in", indicators)])


def reference_table(rows: pd.DataFrame, schools: pd.DataFrame, indicators=None,
                    min_schools: int = MIN_SCHOOLS) -> pd.DataFrame:
    """The reference figures of every (school type, Equity Index band) cell, year and indicator.

    Parameters
    ----------
    rows : school rows of the **publication** table (``area_id``, ``year``, ``indicator``,
        ``group_type``, ``group``, ``value``, ``suppressed``; other levels and groups are left
        out). Only shown values count: a suppressed row or a blank value is not a school's value.
    schools : the prepared schools table (``school_id``, ``school_type``, ``eqi_band``;
        :func:`hsp_eval.reports.prepared.schools_table`).
    indicators : the indicators (default :func:`reference_indicators`).
    min_schools : the fewest schools a reference figure is made of (:data:`MIN_SCHOOLS`).

    Returns
    -------
    DataFrame with :data:`COLUMNS`: one row per (type, band) cell of ``schools``, year and
    indicator of ``rows``, with the grouping used (``type_and_band``, ``type``, ``all``, or
    ``none`` with blank figures when even all schools with a value are fewer than
    ``min_schools``), the group in words, its number of schools with a value (for ``none``: of all
    schools) and the 25th percentile, median and 75th percentile of their values (rounded to 3
    decimals for shares, 2 for means). No school id.

    Examples
    --------
    >>> rows = pd.DataFrame({"area_id": ["a", "b", "c"], "year": 2025, "indicator": "reach", "group_type": "all",
    ...                      "group": "all", "value": [0.2, 0.4, 0.6], "suppressed": [False, False, True]})
    >>> schools = pd.DataFrame({"school_id": ["a", "b", "c"], "school_type": "Contributing",
    ...                         "eqi_band": "no Equity Index"})
    >>> reference_table(rows, schools, ["reach"], min_schools=2)[["grouping", "schools", "median"]].values.tolist()
    [['type', 2, 0.3]]
    >>> reference_table(rows, schools, ["reach"])[["grouping", "schools", "median"]].values.tolist()
    [['none', 2, nan]]
    """
    indicators = list(indicators or reference_indicators())
    r = rows
    if "level" in r:
        r = r[r["level"] == "school"]
    r = r[(r["group_type"] == "all") & (r["group"] == "all") & r["indicator"].isin(indicators)]
    kinds = r[["year", "indicator"]].drop_duplicates()
    shown = r[~r["suppressed"].astype(bool) & r["value"].notna()]
    s = schools[["school_id", "school_type", "eqi_band"]].astype({"school_id": "str"})
    v = shown[["area_id", "year", "indicator", "value"]].astype({"area_id": "str"}).merge(
        s, left_on="area_id", right_on="school_id", how="inner")
    levels = {"type_and_band": ["school_type", "eqi_band"], "type": ["school_type"], "all": []}
    stats = {}
    for name, keys in levels.items():
        vv = v[v["eqi_band"] != prepared.NO_EQI] if name == "type_and_band" else v
        g = vv.groupby(["year", "indicator", *keys], sort=True)["value"]
        st = pd.DataFrame({"schools": g.size(), "q25": g.quantile(0.25), "median": g.quantile(0.5),
                           "q75": g.quantile(0.75)}).reset_index()
        stats[name] = st.rename(columns={c: f"{c}_{name}" for c in ("schools", "q25", "median", "q75")})
    cells = s[["school_type", "eqi_band"]].drop_duplicates().merge(kinds, how="cross")
    for name, keys in levels.items():
        cells = cells.merge(stats[name], on=["year", "indicator", *keys], how="left")
    n = {name: cells[f"schools_{name}"].fillna(0).astype("int64") for name in levels}
    pick = np.select([n[name] >= min_schools for name in levels], list(levels), "none")
    out = cells[["school_type", "eqi_band", "year", "indicator"]].copy()
    out["grouping"] = pick
    out["compared_with"] = [group_words(gr, t, b) for gr, t, b in zip(pick, out["school_type"], out["eqi_band"])]
    out["schools"] = np.select([pick == name for name in levels], [n[name] for name in levels], n["all"])
    for c in ("q25", "median", "q75"):
        vals = np.select([pick == name for name in levels], [cells[f"{c}_{name}"] for name in levels], np.nan)
        digits = out["indicator"].map(_decimals).to_numpy()
        out[c] = np.where(digits == 3, np.round(vals, 3), np.round(vals, 2))
    out["schools"] = out["schools"].astype("int64")
    order = {k: i for i, k in enumerate(indicators)}
    out = out.assign(_o=out["indicator"].map(order)).sort_values(["school_type", "eqi_band", "year", "_o"],
                                                                 kind="stable")
    return out[COLUMNS].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# read by the reports

def reading(value, ci_low, ci_high, q25, q75):
    """``"above"``, ``"within"`` or ``"below"``: the school's interval against the group's middle half.

    Above when the interval's low end is above the 75th percentile, below when its high end is
    below the 25th, within otherwise. A blank interval end is taken as the value itself. Arrays
    give an array.

    Examples
    --------
    >>> reading(0.12, 0.08, 0.16, 0.35, 0.45), reading(0.48, 0.40, 0.56, 0.35, 0.45)
    ('below', 'within')
    """
    value, lo, hi, q25, q75 = (np.asarray(x, dtype="float64") for x in (value, ci_low, ci_high, q25, q75))
    lo, hi = np.where(np.isnan(lo), value, lo), np.where(np.isnan(hi), value, hi)
    out = np.select([lo > q75, hi < q25], ["above", "below"], "within")
    return out.item() if out.ndim == 0 else out


def compare(rows: pd.DataFrame, reference: pd.DataFrame, school_type: str, eqi_band: str, indicators=None,
            reference_year: int | None = None) -> pd.DataFrame:
    """A school's rows of the reference indicators beside their reference figures, with its reading.

    Parameters
    ----------
    rows : the school's rows (its report's rows: already suppressed with its ``min_n``); a
        missing row counts as not shown.
    reference : the reference table (:func:`reference_table`).
    school_type, eqi_band : the school's cell (from the prepared schools table).
    indicators : the indicators (default :func:`reference_indicators`), in this order.
    reference_year : compare every year with the reference of this year (a frozen yardstick);
        None: each year with its own.

    Returns
    -------
    DataFrame with :data:`COMPARED`, one row per indicator and year of ``rows``; ``reading`` is
    ``above``, ``within``, ``below``, ``withheld`` (the school's value is not shown), ``too few
    schools`` (fewer than :data:`MIN_SCHOOLS` schools with a value, even all of them) or
    ``no reference`` (the reference year is not in the table).

    Examples
    --------
    >>> ref = pd.DataFrame({"school_type": "Contributing", "eqi_band": "x", "year": [2024, 2025],
    ...                     "indicator": "reach", "grouping": "type", "compared_with": "all contributing schools",
    ...                     "schools": 25, "q25": [0.5, 0.6], "median": [0.6, 0.7], "q75": [0.7, 0.8]})
    >>> own = pd.DataFrame({"indicator": "reach", "group_type": "all", "group": "all", "year": [2024, 2025],
    ...                     "value": [0.75, 0.75], "ci_low": [0.72, 0.72], "ci_high": [0.78, 0.78], "suppressed": False})
    >>> compare(own, ref, "Contributing", "x", ["reach"])["reading"].tolist()
    ['above', 'within']
    >>> compare(own, ref, "Contributing", "x", ["reach"], reference_year=2024)["reading"].tolist()
    ['above', 'above']
    """
    indicators = list(indicators or reference_indicators())
    years = sorted(int(y) for y in rows["year"].unique())
    own = rows[(rows["group_type"] == "all") & (rows["group"] == "all") & rows["indicator"].isin(indicators)]
    grid = pd.DataFrame([(i, y) for i in indicators for y in years], columns=["indicator", "year"])
    out = grid.merge(own[["indicator", "year", "value", "ci_low", "ci_high", "suppressed"]], how="left",
                     on=["indicator", "year"])
    out["suppressed"] = out["suppressed"].fillna(True).astype(bool) | out["value"].isna()
    out["reference_year"] = out["year"] if reference_year is None else int(reference_year)
    ref = reference[(reference["school_type"] == school_type) & (reference["eqi_band"] == eqi_band)]
    ref = ref.drop(columns=["school_type", "eqi_band"]).rename(columns={"year": "reference_year"})
    out = out.merge(ref, how="left", on=["indicator", "reference_year"])
    read = reading(out["value"], out["ci_low"], out["ci_high"], out["q25"], out["q75"])
    out["reading"] = np.select([out["grouping"].isna(), out["grouping"] == "none", out["suppressed"]],
                               ["no reference", "too few schools", "withheld"], read)
    out["schools"] = out["schools"].astype("Int64")
    out["school_type"], out["eqi_band"] = str(school_type), str(eqi_band)
    return out[COMPARED]


def school_cell(indicators_path, school_id: str) -> tuple[str, str]:
    """The school's (type, Equity Index band) in the prepared schools table beside ``indicators_path``."""
    s = prepared.read_prepared(indicators_path, "schools")
    s = s[s["school_id"] == str(school_id)]
    if s.empty:
        raise ValueError(f"school {school_id!r} is not in the prepared schools table beside {indicators_path}")
    return str(s["school_type"].iloc[0]), str(s["eqi_band"].iloc[0])


def school_reference(indicators_path, school_id: str, rows: pd.DataFrame, reference_year: int | None = None,
                     indicators=None) -> pd.DataFrame:
    """:func:`compare` for one school, reading its cell and the reference table prepared beside ``indicators_path``."""
    school_type, eqi_band = school_cell(indicators_path, school_id)
    if prepared.prepared_path(indicators_path, "reference").exists():
        reference = prepared.read_prepared(indicators_path, "reference")
    else:  # a school's own run (no publication key): no published values of other schools to compare with
        reference = reference_table(rows.iloc[:0], prepared.read_prepared(indicators_path, "schools"))
    return compare(rows, reference, school_type, eqi_band, indicators, reference_year)


def fallback_words(grouping: str, school_type: str, eqi_band: str) -> str:
    """Why a wider group than the school's own type and band was used ("" when it was not).

    Examples
    --------
    >>> fallback_words("all", "Secondary (Year 9-15)", "moderate barriers (420-479)")
    'fewer than 20 secondary schools (Years 9-15) have a value, so all schools are used'
    """
    if grouping == "type" and eqi_band == prepared.NO_EQI:
        return f"the school has no Equity Index, so all {type_words(school_type)} are used"
    if grouping == "type":
        return (f"fewer than {MIN_SCHOOLS} {type_words(school_type)} with {band_words(eqi_band)} have a value, "
                f"so all {type_words(school_type)} are used")
    if grouping == "all":
        return f"fewer than {MIN_SCHOOLS} {type_words(school_type)} have a value, so all schools are used"
    return ""


def group_noun(grouping: str, school_type: str) -> str:
    """The schools a value was compared with, as words that fit "most ...": the reports say "schools
    like ours" only when the group is the school's own type and band, and name a wider group.

    Examples
    --------
    >>> group_noun("type_and_band", "Contributing"), group_noun("type", "Contributing"), group_noun("all", "x")
    ('schools like ours', 'contributing schools', 'schools in the data')
    """
    if grouping == "type":
        return type_words(school_type)
    if grouping == "all":
        return "schools in the data"
    return "schools like ours"


def _yardstick(row) -> str:
    """ "schools like ours" (or the wider group used), with " in 2022" for a frozen reference year."""
    same = int(row["reference_year"]) == int(row["year"])
    noun = group_noun(row.get("grouping"), row.get("school_type", ""))
    return noun + ("" if same else f" in {int(row['reference_year'])}")


def reading_words(row) -> str:
    """Where a compared row stands, naming its group: "below most schools in the data", "within the usual range"."""
    r = row["reading"]
    return READINGS[r] if r == "within" else f"{r} most {_yardstick(row)}"


def _likely(row) -> str:
    """ " (likely range 55% to 68%)" from a row's interval ("" without one)."""
    interval = fmt_range(row["ci_low"], row["ci_high"], row["indicator"])
    return f" (likely range {interval})" if interval else ""


def reading_sentence(row) -> str:
    """One plain sentence: the school's value, its likely range and where it stands (a row of :func:`compare`).

    Examples
    --------
    >>> row = pd.Series({"indicator": "two_way_share", "year": 2025, "value": 0.1, "ci_low": 0.08,
    ...                  "ci_high": 0.12, "reference_year": 2025, "q25": 0.36, "median": 0.4, "q75": 0.43,
    ...                  "reading": "below"})  # a row of compare()
    >>> print(reading_sentence(row))  # doctest: +NORMALIZE_WHITESPACE
    Contacts started by families: 10% in 2025 (likely range 8% to 12%), below most schools like ours; the middle
    half of schools like ours had 36% to 43% (median 40%).
    """
    ind, year = row["indicator"], int(row["year"])
    what = REGISTRY[ind].phrase
    what = what[:1].upper() + what[1:]
    r = row["reading"]
    if r == "withheld":
        return f"{what}: withheld in {year} (too few people to show safely), so not compared."
    if r == "too few schools":
        return f"{what}: not compared in {year}; fewer than {MIN_SCHOOLS} schools have a value to compare with."
    if r == "no reference":
        return f"{what}: not compared in {year}; the data has no reference for {int(row['reference_year'])}."
    return (f"{what}: {fmt_value(row['value'], ind)} in {year}{_likely(row)}, {reading_words(row)}; the middle "
            f"half of {_yardstick(row)} had {fmt_range(row['q25'], row['q75'], ind)} "
            f"(median {fmt_value(row['median'], ind)}).")


def plain_sentence(row) -> str:
    """The same as :func:`reading_sentence` in plainer words, for whānau and the Board ("" when not compared).

    Examples
    --------
    >>> row = {"indicator": "reach", "year": 2025, "value": 0.62, "ci_low": 0.55, "ci_high": 0.68,
    ...        "reference_year": 2025, "q25": 0.58, "median": 0.66, "q75": 0.74, "reading": "within"}
    >>> print(plain_sentence(row))  # doctest: +NORMALIZE_WHITESPACE
    Families taking part in at least one activity, 2025: 62% (likely range 55% to 68%). That is within the
    usual range for schools like ours: half of them are between 58% and 74%.
    """
    r = row["reading"]
    if r not in READINGS:
        return ""
    ind, year = row["indicator"], int(row["year"])
    what = REGISTRY[ind].phrase
    where = reading_words(row) if r != "within" else f"within the usual range for {_yardstick(row)}"
    return (f"{what[:1].upper() + what[1:]}, {year}: {fmt_value(row['value'], ind)}{_likely(row)}. That is "
            f"{where}: half of them are between {fmt_value(row['q25'], ind)} and {fmt_value(row['q75'], ind)}.")


def _year(compared: pd.DataFrame, year) -> int:
    """``year``, or the latest year of ``compared`` when None."""
    return int(compared["year"].max()) if year is None else int(year)


def group_sentence(compared: pd.DataFrame, year: int | None = None) -> str:
    """Who the school was compared with in ``year`` (default: the latest), or why it was not.

    Names the group most indicators were compared with and its number of schools, any wider group
    used where the narrower one had too few schools with a value, and a frozen reference year.
    One sentence when there are too few schools to compare with at all.

    Examples
    --------
    >>> c = pd.DataFrame({"indicator": ["reach", "two_way_share"], "year": 2025, "reference_year": 2025,
    ...                   "grouping": "none", "compared_with": "", "schools": [10, 9]})
    >>> print(group_sentence(c))  # doctest: +NORMALIZE_WHITESPACE
    There are too few schools in the data to compare this school with schools like it: a comparison needs at least
    20 schools with a published value, and here at most 10 have one.
    """
    if compared.empty:
        return "There is nothing to compare with schools like ours."
    year = _year(compared, year)
    c = compared[compared["year"] == year]
    known = c[c["grouping"].notna() & (c["grouping"] != "none")]
    ref_year = int(c["reference_year"].iloc[0])
    if c["grouping"].isna().all():
        return (f"The params file asks to compare every year with schools like ours in {ref_year}, but the data has "
                f"no reference for {ref_year}.")
    if known.empty:
        n = int(c["schools"].max()) if c["schools"].notna().any() else 0
        return (f"There are too few schools in the data to compare this school with schools like it: a comparison "
                f"needs at least {MIN_SCHOOLS} schools with a published value, and here at most {n} have one.")
    groups = known.groupby("compared_with", sort=False).agg(n=("indicator", "size"), schools=("schools", "max"),
                                                            first=("indicator", "first"))
    groups = groups.sort_values("n", ascending=False, kind="stable")
    text = (f"Compared with {groups.index[0]}: {int(groups['schools'].iloc[0])} schools with a value in "
            f"{ref_year}")
    main = known[known["compared_with"] == groups.index[0]].iloc[0]
    why = fallback_words(main["grouping"], main["school_type"], main["eqi_band"])
    if why:
        text += f" ({why})"
    others = [f"{row_label(g['first']) if g['n'] == 1 else str(g['n']) + ' measures'}, {name} "
              f"({int(g['schools'])} schools)" for name, g in groups.iloc[1:].iterrows()]
    if others:
        text += (f"; where fewer than {MIN_SCHOOLS} of them have a value, with a wider group ("
                 + "; ".join(others) + ")")
    text += "."
    if ref_year != year:
        text += (f" Every year is compared with {group_noun(main['grouping'], main['school_type'])} in {ref_year}, "
                 f"a fixed yardstick.")
    few = c[c["grouping"] == "none"]
    if len(few):
        text += (f" Not compared, with fewer than {MIN_SCHOOLS} schools to compare with: "
                 + ", ".join(row_label(i) for i in few["indicator"]) + ".")
    return text


def sentences(compared: pd.DataFrame, year: int | None = None) -> list[str]:
    """One :func:`reading_sentence` per measure in ``year`` (default the latest), when any is compared."""
    if compared.empty:
        return []
    c = compared[compared["year"] == _year(compared, year)]
    if not c["reading"].isin(list(READINGS)).any():
        return []
    return [reading_sentence(r) for r in c.to_dict("records")]


def summary_text(compared: pd.DataFrame, year: int | None = None) -> list[str]:
    """The whānau and Board summary's paragraph on schools like ours, in plain words, as sentences.

    Only measures the school shows and can compare are named (the summary shows no withheld cell).

    Examples
    --------
    >>> c = pd.DataFrame({"indicator": "reach", "year": 2025, "reference_year": 2025, "grouping": "none",
    ...                   "compared_with": "", "schools": [10], "reading": "too few schools"})
    >>> summary_text(c)
    ['There are too few schools in the data to compare our school with schools like it.']
    """
    if compared.empty:
        return ["There is nothing to compare with schools like ours yet."]
    year = _year(compared, year)
    c = compared[compared["year"] == year]
    done = c[c["reading"].isin(list(READINGS))]
    if c["grouping"].isna().all():
        return [f"Our params file asks to compare with schools like ours in {int(c['reference_year'].iloc[0])}, "
                f"but there are no figures for that year."]
    if (c["grouping"].fillna("none") == "none").all():
        return ["There are too few schools in the data to compare our school with schools like it."]
    if done.empty:
        return [f"In {year} there are too few families behind these measures to compare them safely."]
    main = done["compared_with"].value_counts(sort=True).index[0]
    first = done[done["compared_with"] == main].iloc[0]
    n = int(done.loc[done["compared_with"] == main, "schools"].max())
    why = fallback_words(first["grouping"], first["school_type"], first["eqi_band"])
    out = [f"We compared our school with {main}: {n} schools" + (f" ({why})" if why else "") + ". Only figures "
           f"already published for each school were used."]
    out += [plain_sentence(r) for r in done.to_dict("records")]
    out.append("This shows where we stand, not why: schools differ in many ways.")
    return out


def view(compared: pd.DataFrame, year: int | None = None) -> pd.DataFrame:
    """A readable table of ``year`` (default the latest): the school's value beside its reference, one row a measure."""
    if compared.empty:
        return pd.DataFrame()
    year = _year(compared, year)
    rows = []
    for r in compared[compared["year"] == year].to_dict("records"):
        ind = r["indicator"]
        has_ref = r["grouping"] in GROUPINGS[:3]
        own = "withheld" if r["suppressed"] else fmt_value(r["value"], ind)
        interval = "" if r["suppressed"] else fmt_range(r["ci_low"], r["ci_high"], ind)
        rows.append({"measure": row_label(ind), "our school": own + (f" ({interval})" if interval else ""),
                     "compared with": group_noun(r["grouping"], r["school_type"]) if has_ref else "",
                     "middle half": fmt_range(r["q25"], r["q75"], ind) if has_ref else "",
                     "median": fmt_value(r["median"], ind) if has_ref else "",
                     "schools": str(int(r["schools"])) if has_ref and pd.notna(r["schools"]) else "",
                     "reading": reading_words(r) if r["reading"] in READINGS else r["reading"]})
    return pd.DataFrame(rows)


def by_year(compared: pd.DataFrame) -> pd.DataFrame:
    """The reading of each measure in each year (a column a year), to follow the school against the yardstick."""
    if compared.empty:
        return pd.DataFrame()
    t = compared.assign(measure=compared["indicator"].map(row_label),
                        cell=[f"{fmt_value(v, i)}: {r}" if r in READINGS else r
                              for v, i, r in zip(compared["value"], compared["indicator"], compared["reading"])])
    out = t.pivot_table(index="measure", columns="year", values="cell", aggfunc="first", sort=False)
    out.columns = [str(c) for c in out.columns]
    return out.reset_index()


def shown_figures(compared: pd.DataFrame) -> list[dict]:
    """The reference figures a report shows (those with a reading), as plain values for :func:`record`."""
    c = compared[compared["grouping"].isin(GROUPINGS[:3])]
    return [{"indicator": r["indicator"], "year": int(r["year"]), "reference_year": int(r["reference_year"]),
             "grouping": r["grouping"], "schools": int(r["schools"]),
             **{k: float(r[k]) for k in ("q25", "median", "q75")}} for r in c.to_dict("records")]


def record(compared: pd.DataFrame) -> None:
    """Record the reference figures shown in the notebook's output (mimetype :data:`REFERENCE_MIME`), for the audit.

    The HTML page does not render this mimetype; ``hsp-eval audit`` reads it from the executed
    notebook and checks every figure is an aggregate of at least :data:`MIN_SCHOOLS` schools.
    """
    from IPython.display import display

    display({REFERENCE_MIME: json.loads(json.dumps({"figures": shown_figures(compared)}))}, raw=True)
