"""Tables for the inquiry-impact study: target students, whānau at each step, accelerated progress.

The study follows ERO's inquiry cycle for the students whose progress a school sets out to
accelerate (the *target students*, see :mod:`hsp_eval.indicators.topics.inquiry`): who they are, how their
whānau took part at each step (helping identify strengths and needs, co-designing the
response, bringing a goal, reviewing how the response went), whether the students made accelerated
progress, progress with and without each step, and the model behind ``accelerated_by_codesign``.

Two sources:

- the **indicator table** (school rows, or national rows for ``school_id="all"``): who the
  target students are (the denominators of ``target_whanau_identified``), each step's share
  and ``accelerated_rate`` / ``accelerated_by_codesign``, already disclosure-controlled;
- the **dataset slice** of the school(s) (:func:`with_and_without`): accelerated progress by
  student group and by each partnership step, which the indicator table does not break down.
  These rows reuse :func:`hsp_eval.indicators.topics.inquiry.progress_rows` and :func:`hsp_eval.indicators.topics.inquiry.step_flags`'s
  rule (a target student without an ``inquiry_steps`` row did not have the step), pool the
  years asked for (a school has too few target students to split by group and year), and are
  suppressed like the indicator table: under ``min_n`` with complementary suppression for
  one school; randomly rounded and under 6 suppressed for all schools (publication rules).

Progress with and without each step is descriptive: a higher rate with a step is **associated with** the
step, not caused by it. The adjusted odds ratio (:func:`codesign_fit`) adjusts for start
score and year level only; families who co-design may differ in other ways.

Examples
--------
>>> area_of("all"), area_of("0113")
(('national', 'NZ'), ('school', '0113'))
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hsp_eval.indicators import disclosure, disclosure_key, stats
from hsp_eval.indicators.topics import inquiry
from hsp_eval.indicators.units import year_band
from hsp_eval.data import vocab
from hsp_eval.reports.labels import group_label, short_label

#: indicator id -> how the step reads in a report ("whānau helped design the response"): the
#: registry's short label of each step's indicator, in cycle order
STEP_LABELS = {i: short_label(i) for i in inquiry.STEPS}
CAUSE_NOTE = ("This is an association, not proof of cause: families who co-design may differ in other ways "
              "(their time and confidence, the school's wider practice, which students were chosen for "
              "co-design), and the model adjusts only for start score and year level.")
COLUMNS = ["level", "area_id", "year", "indicator", "group_type", "group", "numerator", "denominator", "value",
           "ci_low", "ci_high", "suppressed"]


def area_of(school_id) -> tuple[str, str]:
    """(level, area_id) of the rows to read: national ``NZ`` for ``"all"``, else the school."""
    if school_id in (None, "", "all"):
        return ("national", "NZ")
    return ("school", str(school_id))


def table_key(school_id) -> str:
    """Which demo table a notebook reads by default: the publication table nationally, else the school table.

    Examples
    --------
    >>> table_key("all"), table_key("0113")
    ('publication', 'indicators')
    """
    return "publication" if area_of(school_id)[0] == "national" else "indicators"


def _rows(table: pd.DataFrame, school_id, indicators, years=None, group_types=None) -> pd.DataFrame:
    level, area = area_of(school_id)
    m = (table["level"] == level) & (table["area_id"] == area) & table["indicator"].isin(list(indicators))
    if group_types is not None:
        m &= table["group_type"].isin(list(group_types))
    if years is not None:
        m &= table["year"].isin([years] if np.isscalar(years) else list(years))
    if not m.any():
        raise ValueError(f"the indicator table has no {level} rows for {area} of {', '.join(indicators)}"
                         + (f" in {years}" if years is not None else ""))
    return table[m].sort_values(["year", "indicator", "group_type", "group"], kind="stable").reset_index(drop=True)


def target_students(table: pd.DataFrame, school_id="all", years=None,
                    group_types=("all", "ethnicity_prioritised", "year_band")) -> pd.DataFrame:
    """How many target students there are, by group and year (from ``target_whanau_identified``).

    Returns year, group_type, group, label (as a reader says it), target_students (blank where
    the row is suppressed: a small group's count is not shown) and suppressed.
    """
    r = _rows(table, school_id, ["target_whanau_identified"], years, group_types)
    sup = r["suppressed"].astype(bool)
    label = ["all target students" if t == "all" else group_label(t, g) for t, g in zip(r["group_type"], r["group"])]
    return pd.DataFrame({"year": r["year"], "group_type": r["group_type"], "group": r["group"], "label": label,
                         "target_students": r["denominator"].where(~sup), "suppressed": sup})


def steps(table: pd.DataFrame, school_id="all", years=None, group_types=("all",)) -> pd.DataFrame:
    """Rows of the four inquiry-step indicators, with a ``step`` column (how the step reads), in cycle order."""
    r = _rows(table, school_id, list(STEP_LABELS), years, group_types)
    order = {k: i for i, k in enumerate(STEP_LABELS)}
    r = r.assign(step=r["indicator"].map(STEP_LABELS), _o=r["indicator"].map(order))
    return r.sort_values(["year", "_o", "group_type", "group"], kind="stable").drop(columns="_o").reset_index(drop=True)


def accelerated(table: pd.DataFrame, school_id="all", years=None, measure=None) -> pd.DataFrame:
    """``accelerated_rate`` rows by measure (one measure, or every measure when ``measure`` is None)."""
    r = _rows(table, school_id, ["accelerated_rate"], years, ["measure"])
    if measure not in (None, "", "all"):
        r = r[r["group"] == measure]
        if r.empty:
            raise ValueError(f"no accelerated_rate rows for measure {measure!r}")
    return r.reset_index(drop=True)


def by_codesign(table: pd.DataFrame, school_id="all", years=None) -> pd.DataFrame:
    """``accelerated_by_codesign`` rates with and without co-design (the odds-ratio rows left out)."""
    r = _rows(table, school_id, ["accelerated_by_codesign"], years, ["codesign"])
    return r[r["group"] != "adjusted_odds_ratio"].reset_index(drop=True)


def odds_ratios(table: pd.DataFrame, school_id="all", years=None) -> pd.DataFrame:
    """The adjusted odds-ratio rows of ``accelerated_by_codesign`` (year, odds_ratio, ci_low, ci_high, n).

    Empty where no model could be fitted sensibly (fewer than 30 rows, or an empty cell).
    """
    level, area = area_of(school_id)
    m = ((table["level"] == level) & (table["area_id"] == area) & (table["indicator"] == "accelerated_by_codesign")
         & (table["group"] == "adjusted_odds_ratio"))
    if years is not None:
        m &= table["year"].isin([years] if np.isscalar(years) else list(years))
    r = table[m].sort_values("year")
    return pd.DataFrame({"year": r["year"].to_numpy(), "odds_ratio": r["value"].to_numpy(),
                         "ci_low": r["ci_low"].to_numpy(), "ci_high": r["ci_high"].to_numpy(),
                         "n": r["denominator"].to_numpy()})


def _slice(dataset, school_id, years, measure):
    """The dataset restricted to the school (unless "all"), the years and the measure."""
    from hsp_eval.data.dataset import Dataset

    ds = dataset if area_of(school_id)[0] == "national" else dataset.for_schools([str(school_id)])
    tables = dict(ds.tables)
    if years is not None:
        ys = [years] if np.isscalar(years) else list(years)
        tables = {k: (v[v["year"].isin(ys)] if "year" in v.columns else v) for k, v in tables.items()}
    if measure not in (None, "", "all"):
        tables["progress"] = tables["progress"][tables["progress"]["measure"].astype("str") == measure]
    return Dataset(tables, ds.source, ds.report)


def prioritised(ethnicity: pd.Series) -> pd.Series:
    """The prioritised ethnic group of each ``;``-joined ethnicity (:func:`hsp_eval.data.vocab.prioritised`,
    the rule of the indicator table's ``ethnicity_prioritised``), ``Not stated`` where it is blank.

    Each distinct ethnicity is looked at once.

    Examples
    --------
    >>> prioritised(pd.Series(["European;Māori", "Asian", None])).tolist()
    ['Māori', 'Asian', 'Not stated']
    """
    codes, combos = pd.factorize(ethnicity.fillna("").astype("str"))
    first = [vocab.prioritised(c) for c in combos]
    return pd.Series(np.asarray(first, dtype=object)[codes], index=ethnicity.index).astype("str")


def student_progress(dataset, school_id="all", years=None, measure=None) -> pd.DataFrame:
    """Target students' progress rows (:func:`hsp_eval.indicators.topics.inquiry.progress_rows`) with their groups and steps.

    Adds ethnicity (prioritised), year_band and one 0/1 column per inquiry step (a student
    without an ``inquiry_steps`` row counts as not having it). Rows whose outcome is unknown
    are left out.
    """
    ds = _slice(dataset, school_id, years, measure)
    p = inquiry.progress_rows(ds)
    p = p[p["accelerated"].notna()].reset_index(drop=True)
    key = ["school_id", "year", "student_id"]
    e = ds["enrolments"][key + ["ethnicity"]].drop_duplicates(key)
    p = p.merge(e, on=key, how="left")
    p["ethnicity"] = prioritised(p["ethnicity"])
    p["year_band"] = year_band(p["year_level"])
    cols = list(inquiry.STEPS.values())
    if ds.has("inquiry_steps"):
        s = ds["inquiry_steps"][key + cols].drop_duplicates(key)
        p = p.merge(s, on=key, how="left")
    for c in cols:
        p[c] = p[c].fillna(False).astype(bool) if c in p else False
    return p


def _count(p: pd.DataFrame, group_type: str, group: pd.Series, by: list[str]) -> pd.DataFrame:
    return (p.assign(_g=group.to_numpy()).groupby([*by, "_g"], sort=True, observed=True)["accelerated"]
            .agg(numerator="sum", denominator="size").reset_index().rename(columns={"_g": "group"})
            .assign(group_type=group_type))


def _span(years: pd.Series) -> str:
    lo, hi = int(years.min()), int(years.max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _compared(p: pd.DataFrame, level: str) -> pd.DataFrame:
    """Unprotected with-and-without rows from students' progress rows: pooled (``national``, area
    ``NZ``) or each school's (``school``), the years pooled being each area's own span."""
    by = ["school_id"] if level == "school" else []
    parts = [_count(p, "all", pd.Series("all", index=p.index), by),
             _count(p, "ethnicity_prioritised", p["ethnicity"], by), _count(p, "year_band", p["year_band"], by)]
    for ind, col in inquiry.STEPS.items():
        parts.append(_count(p, f"step:{ind}", p[col].map({True: "with step", False: "without step"}), by))
    rows = pd.concat(parts, ignore_index=True)
    if level == "school":
        spans = p.groupby("school_id", observed=True)["year"].agg(_span)
        rows["area_id"] = rows["school_id"].astype("str")
        rows["year"] = rows["school_id"].map(spans).astype("str")
        rows = rows.drop(columns="school_id").sort_values("area_id", kind="stable")
    else:
        rows = rows.assign(area_id="NZ", year=_span(p["year"]))
    rows = rows.assign(level=level, indicator="accelerated_rate", suppressed=False, rest_denominator=np.nan)
    rows["numerator"] = rows["numerator"].astype("float64")
    rows["denominator"] = rows["denominator"].astype("float64")
    rows["value"] = rows["numerator"] / rows["denominator"]
    rows["ci_low"], rows["ci_high"] = stats.wilson(rows["numerator"], rows["denominator"])
    rows["people"] = rows["denominator"]  # students, once per measure pooled (the rows' own unit)
    rows["people_num"] = rows["numerator"]
    return rows.reset_index(drop=True)


def compared_rows(progress: pd.DataFrame, key: bytes | None = None, min_n: int = 5,
                  schools: bool = True) -> pd.DataFrame:
    """Accelerated progress by group and with and without each step: all schools, and each school.

    Parameters
    ----------
    progress : :func:`student_progress` rows of every school.
    key : the publication key for the national rows (None: the one :func:`hsp_eval.indicators.disclosure_key.find_key` finds).
    min_n : each school's rows with fewer students are suppressed (with complementary suppression).
    schools : also each school's rows (else only the national ones).

    Returns
    -------
    Rows in the indicator table's columns (see :func:`with_and_without`): the national rows randomly
    rounded and under 6 suppressed (publication rules), then each school's under ``min_n``.
    """
    national = _compared(progress, "national")
    out = [disclosure.protect(national, publication=True,
                              key=key if key is not None else disclosure_key.find_key(None, None))[COLUMNS]]
    if schools and len(progress):
        out.append(disclosure.protect(_compared(progress, "school"), min_n=min_n)[COLUMNS])
    return pd.concat(out, ignore_index=True)


def with_and_without(dataset, school_id="all", years=None, measure=None, min_n: int = 5,
                     key: bytes | None = None) -> pd.DataFrame:
    """Accelerated progress by student group and by each partnership step, years pooled.

    The reports read these rows from the prepared table the batch's data step writes
    (:func:`hsp_eval.reports.prepared.inquiry_tables`); this computes one area's rows directly.

    Parameters
    ----------
    dataset : a :class:`hsp_eval.Dataset` (the whole dataset or the school's slice).
    school_id : one school id, or ``"all"`` (every school in ``dataset``, pooled).
    years : years to pool (default: every year in the data).
    measure : one progress measure (default: every measure, pooled; a student counts once per measure).
    min_n : for one school, rows with fewer students are suppressed (with complementary suppression).
    key : the publication key for national rows (default: the one found for the dataset's folder).

    Returns
    -------
    Rows in the indicator table's columns (indicator ``accelerated_rate``; ``year`` the span
    pooled, e.g. ``"2022-2025"``): group_type ``all``, ``ethnicity_prioritised``, ``year_band``,
    and one ``step:<indicator id>`` per step with groups ``with step`` / ``without step``.
    Nationally, counts are randomly rounded to base 3 and rows under 6 suppressed.

    Raises
    ------
    ValueError
        When the slice holds no progress rows of target students.
    """
    p = student_progress(dataset, school_id, years, measure)
    if p.empty:
        raise ValueError(f"no progress rows of target students for {school_id} "
                         f"(years {years}, measure {measure or 'all'})")
    if area_of(school_id)[0] == "national":
        key = key if key is not None else disclosure_key.find_key(None, dataset.source)
        return compared_rows(p, key=key, schools=False)
    return disclosure.protect(_compared(p, "school"), min_n=min_n)[COLUMNS].reset_index(drop=True)


def codesign_fit(dataset, school_id="all", years=None, measure=None, key: bytes | None = None) -> pd.DataFrame:
    """The model behind ``accelerated_by_codesign`` (:func:`hsp_eval.indicators.topics.inquiry.codesign_model`), years pooled.

    Returns the model's terms (term, odds_ratio, ci_low, ci_high, p_value, n) with
    ``attrs["note"]`` the association caveat (:data:`CAUSE_NOTE`); an empty table whose
    ``attrs["reason"]`` says why when the model cannot be fitted sensibly. For ``"all"``
    (publication), ``n`` is randomly rounded to base 3 like every published count.
    """
    ds = _slice(dataset, school_id, years, measure)
    try:
        fit = inquiry.codesign_model(ds)
    except ValueError as e:
        fit = pd.DataFrame(columns=inquiry.MODEL_COLUMNS)
        fit.attrs["reason"] = str(e)
    if len(fit) and area_of(school_id)[0] == "national":  # publication: the count shown is rounded too
        key = key if key is not None else disclosure_key.find_key(None, dataset.source)
        u = disclosure.keyed_uniform(key, [f"codesign_fit {years} {measure}"])
        fit["n"] = int(disclosure.rr3(fit["n"].to_numpy(dtype="float64")[:1], u)[0])
    fit.attrs["note"] = CAUSE_NOTE
    return fit


def with_without_table(rows: pd.DataFrame) -> pd.DataFrame:
    """:func:`with_and_without` rows as a reader's table: who (the group or the step, in words), value,
    interval and the number of student-measures ("withheld" where a row is).

    Examples
    --------
    >>> r = pd.DataFrame({"indicator": ["accelerated_rate"], "year": ["2022-2025"],
    ...                   "group_type": ["step:target_family_goal"], "group": ["with step"], "denominator": [24.0],
    ...                   "value": [0.5], "ci_low": [0.31], "ci_high": [0.69], "suppressed": [False]})
    >>> with_without_table(r)[["who", "accelerated"]].values.tolist()
    [['whānau brought a goal of their own: yes', '50.0%']]
    """
    from hsp_eval.reports.national import readable

    def who(gt: str, g: str) -> str:
        if gt.startswith("step:"):
            return f"whānau {STEP_LABELS[gt.removeprefix('step:')]}: {'yes' if g == 'with step' else 'no'}"
        return "all target students" if gt == "all" else group_label(gt, g)

    out = readable(rows, ("year",)).drop(columns="indicator")
    out.insert(1, "who", [who(gt, g) for gt, g in zip(rows["group_type"], rows["group"])])
    return out.rename(columns={"denominator": "student-measures", "value": "accelerated"})
