"""NHES:2019 Parent and Family Involvement (PFI), curated extract: what parents did at their child's school.

The National Household Education Surveys Program (NCES) asked the parents of a national sample
of children in kindergarten to grade 12, in 2019, whether any adult in the household had done
each of eight things at the child's school since the start of the school year. The file read
here (``data/external/nhes-pfi-2019/CuratedData.csv``; provenance in ``SOURCE.txt``) is a
**curated extract**: 15,500 children, one row each, 75 of the PFI columns, and **no survey
weights** (:data:`UNWEIGHTED_NOTE`).

Coding
------
Comma-separated, header row 1, every value a whole number (checked: a value that is not is an
error naming the file, row, column and value). The extract carries no value labels; the labels
below follow the NCES PFI 2019 codebook and questionnaire (not shipped with the extract; the
code -> label pairs were checked for consistency in the data: age by grade, language by
ethnicity, education by income).

- ``-1`` = **valid skip**: the question was not asked about this child (the survey's routing).
  A valid skip is not a "no": it is left out of the denominator and counted as excluded with
  that reason (:func:`accounting`). 126 children have all eight activity items skipped.
- activity items (:data:`ACTIVITIES`): 1 = yes, 2 = no;
- ``ALLGRADEX``: 2 kindergarten, 3 transitional kindergarten or pre-first grade, 4..15 grades
  1..12 -> :data:`GRADE_BANDS` K-2, 3-5, 6-8, 9-12 (the bands of NCES's PFI "First Look" tables);
- ``EDCPUB``: 1 = the child attends a public school in a physical building (including
  charter schools), 2 = not (a private school, or a virtual school);
- ``PARGRADEX``: parents' highest education, 1 less than high school, 2 high school or
  equivalent, 3 vocational/technical or some college, 4 bachelor's degree, 5 graduate or
  professional degree;
- ``RACEETH``: child's race/ethnicity, 1 White, 2 Black, 3 Hispanic, 4 Asian or Pacific
  Islander, 5 other or more than one race (1, 2, 4, 5 non-Hispanic);
- ``CSPEAKX``: language the child speaks most at home, 1 does not speak (all 40 such children
  have a disability recorded), 2 English, 3 Spanish, 4 English and Spanish equally,
  5 another language, 6 English and another language equally.

Mapping to hsp_eval's participation indicators
-----------------------------------------------
The unit is the **student** (a child of the sample), as in the registry's
``conference_reach``; a child's "parents did X" is a 0/1 flag, NaN for a valid skip, and the
flags are counted into cells with hsp_eval's own machinery (:class:`hsp_eval.indicators.aggregate.Cells`,
``count``, ``moments``, ``finish_proportions`` with Wilson 95% intervals from
:func:`hsp_eval.indicators.stats.wilson`, ``finish_means`` with t intervals, and
:func:`hsp_eval.indicators.disclosure.protect`). Rows are shaped like the indicator table: level
``national``, area_id ``US``, year 2019, indicator (``nhes_*``, :data:`INDICATOR_LABELS`),
group_type (``all``, ``grade_band``, ``school_type``, ``parent_education``,
``race_ethnicity``, ``home_language``), group, numerator, denominator, value, ci_low,
ci_high, suppressed. The ids are ``nhes_*`` rather than the registry's, because the registry's
participation indicators count families in a school's register, and these count students in a
household survey; the nearest registry indicator is given in :data:`REGISTRY_NEAREST`.

Learning-focused and school-support activities: the parent-teacher conference (``FSATCNFN``)
is the learning-focused activity, a conversation about this child's learning (hsp_eval's
``learning_conference``); the six group and whole-school activities (event, volunteering,
general meeting, PTO/PTA meeting, fundraising, committee) are school support. Meeting a
guidance counsellor is counted in neither: the survey does not ask its purpose (course choice,
behaviour, wellbeing...). :func:`national_table` gives the four combinations (conference and
school support, conference only, school support only, neither).

Examples
--------
>>> children = read()                                            # doctest: +SKIP
>>> national_table(children).query("group_type == 'all'")        # doctest: +SKIP
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from hsp_eval.indicators import disclosure
from hsp_eval.indicators.aggregate import Cells, count, finish_means, finish_proportions, moments
from hsp_eval.indicators.engine import COLUMNS as INDICATOR_COLUMNS
from hsp_eval.reports.plots import GREY, PALETTE
from hsp_eval.external import DATASETS, rawfiles

NAME = "nhes-pfi-2019"
FILE = "CuratedData.csv"
YEAR = 2019
AREA = "US"
VALID_SKIP = -1
#: activity item -> (what parents did, focus)
ACTIVITIES = {
    "FSSPORTX": ("attended a school or class event", "school support"),
    "FSVOL": ("volunteered in the classroom or school", "school support"),
    "FSMTNG": ("attended a general school meeting", "school support"),
    "FSPTMTNG": ("attended a PTO/PTA meeting", "school support"),
    "FSATCNFN": ("went to a parent-teacher conference", "learning"),
    "FSFUNDRS": ("took part in school fundraising", "school support"),
    "FSCOMMTE": ("served on a school committee", "school support"),
    "FSCOUNSLR": ("met a guidance counsellor in person", "individual meeting"),
}
SCHOOL_SUPPORT = [k for k, v in ACTIVITIES.items() if v[1] == "school support"]
INDICATOR_OF = {"FSSPORTX": "nhes_school_event", "FSVOL": "nhes_volunteered", "FSMTNG": "nhes_general_meeting",
                "FSPTMTNG": "nhes_pto_meeting", "FSATCNFN": "nhes_conference", "FSFUNDRS": "nhes_fundraising",
                "FSCOMMTE": "nhes_committee", "FSCOUNSLR": "nhes_counsellor"}
INDICATOR_LABELS = {
    **{INDICATOR_OF[k]: f"Students whose parents {v[0]}" for k, v in ACTIVITIES.items()},
    "nhes_any_activity": "Students whose parents did at least one of the eight activities",
    "nhes_school_support": "Students whose parents did at least one school-support activity",
    "nhes_meeting_or_pto": "Students whose parents attended a general school or PTO/PTA meeting",
    "nhes_volunteer_or_committee": "Students whose parents volunteered or served on a committee",
    "nhes_conference_and_school": "Parents went to a conference and did school-support activities",
    "nhes_conference_only": "Parents went to a conference, no school-support activity",
    "nhes_school_only": "Parents did school-support activities, no conference",
    "nhes_neither": "Parents did neither a conference nor a school-support activity",
    "nhes_breadth": "Number of the eight activities parents did (mean)",
    **{f"nhes_breadth_{k}": f"Students whose parents did exactly {k} of the eight activities" for k in range(9)},
}
SHORT_LABELS = {"nhes_conference": "parent-teacher\nconference", "nhes_school_support": "any school-support\nactivity",
                "nhes_any_activity": "any of the eight"}
#: nearest registry indicator (hsp_eval.indicators.registry) of each nhes_* indicator, where there is one
REGISTRY_NEAREST = {"nhes_conference": "conference_reach", "nhes_any_activity": "reach",
                    "nhes_breadth": "breadth", "nhes_volunteered": "reach_by_type (volunteering)",
                    "nhes_fundraising": "reach_by_type (fundraising)", "nhes_committee": "reach_by_type (governance)"}
GRADE_BANDS = {2: "K-2", 3: "K-2", 4: "K-2", 5: "K-2", 6: "3-5", 7: "3-5", 8: "3-5", 9: "6-8", 10: "6-8", 11: "6-8",
               12: "9-12", 13: "9-12", 14: "9-12", 15: "9-12"}
SCHOOL_TYPES = {1: "public (in a building)", 2: "private or virtual"}
PARENT_EDUCATION = {1: "less than high school", 2: "high school or equivalent", 3: "vocational or some college",
                    4: "bachelor's degree", 5: "graduate or professional degree"}
RACE_ETHNICITY = {1: "White", 2: "Black", 3: "Hispanic", 4: "Asian or Pacific Islander",
                  5: "other or more than one race"}
HOME_LANGUAGE = {1: "does not speak", 2: "English", 3: "Spanish", 4: "English and Spanish equally",
                 5: "another language", 6: "English and another language equally"}
#: group_type -> (column, code -> label)
GROUPS = {"grade_band": ("ALLGRADEX", GRADE_BANDS), "school_type": ("EDCPUB", SCHOOL_TYPES),
          "parent_education": ("PARGRADEX", PARENT_EDUCATION), "race_ethnicity": ("RACEETH", RACE_ETHNICITY),
          "home_language": ("CSPEAKX", HOME_LANGUAGE)}
MIN_N = 5
UNWEIGHTED_NOTE = (
    "This extract has no survey weights, so every share here is the share of the 15,500 sampled children, each "
    "counting once. NCES's published figures are weighted: each child counts for the number of US students it "
    "stands for, adjusted for who answered the survey. Where the sample over- or under-represents groups whose "
    "parents take part more or less (by parents' education, income, ethnicity, school type), the unweighted share "
    "differs from the national one, and the Wilson intervals, which assume a simple random sample of children, are "
    "too narrow for the national figure. Read the comparison as a check of the level, not as a replication.")
#: NCES's published weighted national figures (percent of K-12 students), earlier waves; indicator -> rows
CHILD_TRENDS = "Child Trends (2018), Parental involvement in schools (NHES data)"
COE_2009 = "NCES, The Condition of Education 2009, indicator 30 (NHES-PFI 2007)"
PUBLISHED = [
    ("nhes_general_meeting", 1996, 77, CHILD_TRENDS), ("nhes_general_meeting", 2016, 89, CHILD_TRENDS),
    ("nhes_conference", 1996, 72, CHILD_TRENDS), ("nhes_conference", 2007, 78, COE_2009),
    ("nhes_conference", 2016, 78, CHILD_TRENDS),
    ("nhes_school_event", 1996, 67, CHILD_TRENDS), ("nhes_school_event", 2007, 74, COE_2009),
    ("nhes_school_event", 2016, 79, CHILD_TRENDS),
    ("nhes_volunteer_or_committee", 1996, 39, CHILD_TRENDS), ("nhes_volunteer_or_committee", 2007, 46, COE_2009),
    ("nhes_volunteer_or_committee", 2016, 43, CHILD_TRENDS),
    ("nhes_meeting_or_pto", 2007, 89, COE_2009),
    ("nhes_fundraising", 2007, 65, COE_2009),
]
PUBLISHED_URLS = {
    CHILD_TRENDS: "https://www.childtrends.org/indicators/parental-involvement-in-schools (2018; 1996 and 2016 "
                  "figures from NCES's NHES-PFI)",
    COE_2009: "https://nces.ed.gov/programs/coe/indicator_pfi.asp (as archived in 2013 by the UNT web archive)",
}


#: ``data_dir``, or the dataset's folder ``data/external/nhes-pfi-2019``.
default_dir = DATASETS[NAME].resolve_dir


def files(data_dir=None) -> list[Path]:
    """The raw file read (for provenance)."""
    return [default_dir(data_dir) / FILE]


def _bad(row: int, column: str, value, reason: str) -> ValueError:
    return ValueError(f"{FILE}, row {row}, column '{column}': value {value!r} {reason}")


def read(data_dir=None) -> pd.DataFrame:
    """The children, checked, with file ``row`` numbers (header = row 1) and labelled group columns.

    ``attrs["rows_read"]`` holds the file's data rows counted with the csv module (for
    :func:`accounting`), from the same bytes, so the file is read once.

    Raises
    ------
    ValueError
        Naming file, row, column and value, when a column is missing, a value is not a whole
        number, or an activity or group code is outside its coding.
    """
    path = files(data_dir)[0]
    data = path.read_bytes()
    raw = pd.read_csv(io.BytesIO(data), dtype="str", keep_default_na=False)
    needed = list(ACTIVITIES) + [c for c, _ in GROUPS.values()]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}, row 1: the header has no column {', '.join(missing)} "
                         f"(header: {', '.join(raw.columns[:6])}, ...)")
    out = pd.DataFrame({"row": np.arange(2, len(raw) + 2)})
    for col in needed:
        num = pd.to_numeric(raw[col], errors="coerce")
        bad = num.isna() | (num != num.round())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad(i + 2, col, raw[col].iat[i], "is not a whole number")
        out[col] = num.astype("int64")
    for col in ACTIVITIES:
        bad = ~out[col].isin([1, 2, VALID_SKIP])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad(i + 2, col, raw[col].iat[i], "is not 1 (yes), 2 (no) or -1 (valid skip)")
    for group_type, (col, labels) in GROUPS.items():
        bad = ~out[col].isin(list(labels))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad(i + 2, col, raw[col].iat[i], f"is not one of the codes {sorted(labels)}")
        cats = list(dict.fromkeys(labels.values()))
        out[group_type] = pd.Categorical(out[col].map(labels), categories=cats, ordered=True)
    if "BASMID" in raw.columns:
        out.insert(1, "BASMID", raw["BASMID"].to_numpy())
    out.attrs["rows_read"] = rawfiles.count_records(data)
    return out


def flags(children: pd.DataFrame) -> pd.DataFrame:
    """Per child, a 0/1 flag per indicator (NaN = not in the denominator), and ``nhes_breadth`` (0-8).

    An activity is NaN when its answer is a valid skip. A combination (any activity, school
    support, meeting or PTO...) is 1 when any answered part is yes, 0 when every part is
    answered no, NaN otherwise; breadth and the breadth shares need all eight answered.

    Examples
    --------
    >>> c = pd.DataFrame({k: [1, 2, -1] for k in ACTIVITIES})
    >>> f = flags(c)
    >>> f["nhes_conference"].tolist(), f["nhes_breadth"].tolist()
    ([1.0, 0.0, nan], [8.0, 0.0, nan])
    """
    yes = {k: np.where(children[k] == VALID_SKIP, np.nan, (children[k] == 1).astype("float64")) for k in ACTIVITIES}
    out = pd.DataFrame({INDICATOR_OF[k]: v for k, v in yes.items()}, index=children.index)

    def any_of(items):
        m = np.column_stack([yes[k] for k in items])
        hit = np.nansum(m, axis=1) > 0
        all_known = ~np.isnan(m).any(axis=1)
        return np.where(hit, 1.0, np.where(all_known, 0.0, np.nan))

    out["nhes_any_activity"] = any_of(list(ACTIVITIES))
    out["nhes_school_support"] = any_of(SCHOOL_SUPPORT)
    out["nhes_meeting_or_pto"] = any_of(["FSMTNG", "FSPTMTNG"])
    out["nhes_volunteer_or_committee"] = any_of(["FSVOL", "FSCOMMTE"])
    conf, school = yes["FSATCNFN"], out["nhes_school_support"].to_numpy()
    known = ~np.isnan(conf) & ~np.isnan(school)
    for name, (c, s) in {"nhes_conference_and_school": (1, 1), "nhes_conference_only": (1, 0),
                         "nhes_school_only": (0, 1), "nhes_neither": (0, 0)}.items():
        out[name] = np.where(known, ((conf == c) & (school == s)).astype("float64"), np.nan)
    m = np.column_stack(list(yes.values()))
    breadth = np.where(np.isnan(m).any(axis=1), np.nan, np.nansum(m, axis=1))
    out["nhes_breadth"] = breadth
    for k in range(9):
        out[f"nhes_breadth_{k}"] = np.where(np.isnan(breadth), np.nan, (breadth == k).astype("float64"))
    return out


def _cells(children: pd.DataFrame) -> Cells:
    rows = pd.DataFrame({"school_id": AREA, "year": YEAR}, index=children.index)
    n = len(children)
    parts = [pd.DataFrame({"unit": np.arange(n), "group_type": "all", "group": "all"})]
    for group_type in GROUPS:
        parts.append(pd.DataFrame({"unit": np.arange(n), "group_type": group_type,
                                   "group": children[group_type].astype("str").to_numpy()}))
    return Cells.build(rows.reset_index(drop=True), pd.concat(parts, ignore_index=True))


def national_table(children: pd.DataFrame, min_n: int = MIN_N) -> pd.DataFrame:
    """Every ``nhes_*`` indicator, for all students and by each group, as indicator-table rows.

    Shares with Wilson 95% intervals (``nhes_breadth``: mean with a t interval); valid skips
    left out of denominators; rows with fewer than ``min_n`` children withheld
    (:func:`hsp_eval.indicators.disclosure.protect`). Unweighted: see :data:`UNWEIGHTED_NOTE`.

    Returns
    -------
    DataFrame with exactly the indicator table's columns (:data:`hsp_eval.indicators.engine.COLUMNS`).
    """
    cells = _cells(children)
    f = flags(children)
    parts = []
    for ind in f.columns:
        if ind == "nhes_breadth":
            parts.append(finish_means(moments(cells, f[ind].to_numpy())).assign(indicator=ind))
        else:
            parts.append(finish_proportions(count(cells, f[ind].to_numpy())).assign(indicator=ind))
    t = pd.concat(parts, ignore_index=True).rename(columns={"school_id": "area_id"})
    t = t.assign(level="national", suppressed=False)
    t = disclosure.protect(t[INDICATOR_COLUMNS], min_n=min_n).drop(columns="withheld_rule")
    order = {ind: i for i, ind in enumerate(f.columns)}
    gorder = {g: i for i, g in enumerate(["all", *GROUPS])}
    cats = {gt: {str(c): i for i, c in enumerate(children[gt].cat.categories)} for gt in GROUPS}
    key = (t["indicator"].map(order) * 10000 + t["group_type"].map(gorder) * 100
           + [cats.get(gt, {}).get(g, 0) for gt, g in zip(t["group_type"], t["group"])])
    t = t.assign(year=t["year"].astype("int64")).iloc[np.argsort(key.to_numpy(), kind="stable")]
    return t.reset_index(drop=True)[INDICATOR_COLUMNS]


def accounting(children: pd.DataFrame, data_dir=None) -> pd.DataFrame:
    """Rows read = used + excluded with reasons: for the file, and per indicator.

    Rows read are the file's rows counted with the csv module when :func:`read` read it
    (``children.attrs["rows_read"]``; counted from the file in ``data_dir`` when the frame does
    not carry them). Per indicator, a child is used
    when in its denominator, else excluded as a valid skip (of the item, or of a part of a
    combination, or of any of the eight items for breadth).

    Returns columns file, outcome, rows (``file`` is ``CuratedData.csv`` or
    ``CuratedData.csv: <indicator>``).
    """
    n = children.attrs.get("rows_read")
    if n is None:
        n = rawfiles.count_records(files(data_dir)[0].read_bytes())
    f = flags(children)
    f = f.loc[:, ~f.columns.str.startswith("nhes_breadth_")]  # same rows as nhes_breadth
    reasons = {ind: "valid skip (-1): not asked about this child" if ind in INDICATOR_OF.values()
               else "valid skip (-1) in an item it needs: not asked about this child" for ind in f.columns}
    return rawfiles.tally_columns(FILE, n, f, reasons)


def activity_shares(table: pd.DataFrame, group_type: str = "all") -> pd.DataFrame:
    """The eight activities' rows for one group type, with the item code and what parents did."""
    ids = {v: k for k, v in INDICATOR_OF.items()}
    t = table[table["indicator"].isin(ids) & (table["group_type"] == group_type)].copy()
    t.insert(0, "item", t["indicator"].map(ids))
    t.insert(1, "activity", t["item"].map(lambda k: ACTIVITIES[k][0]))
    t.insert(2, "focus", t["item"].map(lambda k: ACTIVITIES[k][1]))
    return t.reset_index(drop=True)


def by_group_wide(table: pd.DataFrame, group_type: str) -> pd.DataFrame:
    """Percent of students (unweighted) per group (rows, in the groups' order) and activity (columns).

    The columns are the eight items, then any activity, school support and the conference-only
    and school-only shares; ``students`` is the group's denominator; suppressed cells are NaN.
    """
    ids = [*INDICATOR_OF.values(), "nhes_any_activity", "nhes_school_support", "nhes_conference_only",
           "nhes_school_only"]
    t = table[(table["group_type"] == group_type) & table["indicator"].isin(ids)]
    groups = list(dict.fromkeys(t["group"]))
    names = {v: k for k, v in INDICATOR_OF.items()}
    wide = (100 * t.pivot(index="group", columns="indicator", values="value")).round(1).reindex(index=groups, columns=ids)
    wide.columns = [names.get(c, c.removeprefix("nhes_")) for c in ids]
    den = t[t["indicator"] == "nhes_any_activity"].set_index("group")["denominator"].reindex(groups)
    wide.insert(0, "students", den.astype("int64"))
    return wide.rename_axis(group_type.replace("_", " "))


def breadth_distribution(table: pd.DataFrame, group_type: str = "all") -> pd.DataFrame:
    """Share of students by how many of the eight activities their parents did (0-8), per group."""
    t = table[table["indicator"].str.match(r"nhes_breadth_\d$") & (table["group_type"] == group_type)].copy()
    t.insert(0, "activities", t["indicator"].str.rsplit("_", n=1).str[1].astype("int64"))
    return t.reset_index(drop=True)


def published_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """NCES's published weighted national figures for earlier waves next to this extract's unweighted 2019 share.

    Returns one row per indicator: label, the published percents by year (columns ``1996``,
    ``2007``, ``2016``), this extract's unweighted 2019 percent with its Wilson interval, the
    difference from the latest published figure (percentage points), and the sources.
    """
    pub = pd.DataFrame(PUBLISHED, columns=["indicator", "year", "percent", "source"])
    wide = pub.pivot(index="indicator", columns="year", values="percent")
    wide.columns = [str(c) for c in wide.columns]
    latest = pub.sort_values("year").groupby("indicator").last()
    now = table[(table["group_type"] == "all") & table["indicator"].isin(wide.index)].set_index("indicator")
    out = wide.assign(
        label=[INDICATOR_LABELS[i] for i in wide.index],
        extract_2019_unweighted=(100 * now["value"]).round(1),
        ci_95=[f"{100 * now.loc[i, 'ci_low']:.1f} to {100 * now.loc[i, 'ci_high']:.1f}" for i in wide.index],
        minus_latest_published=(100 * now["value"] - latest["percent"]).round(1),
        latest_published_year=latest["year"],
        sources=[" | ".join(sorted(set(pub.loc[pub["indicator"] == i, "source"]))) for i in wide.index])
    order = list(dict.fromkeys(pub["indicator"]))
    cols = ["label", *wide.columns, "extract_2019_unweighted", "ci_95", "minus_latest_published",
            "latest_published_year", "sources"]
    return out.loc[order, cols].reset_index()


def headline(table: pd.DataFrame) -> pd.DataFrame:
    """All students: each activity's share (%) with its 95% Wilson interval and denominator, for a checked cell."""
    ids = [*INDICATOR_OF.values(), "nhes_any_activity", "nhes_school_support", "nhes_conference_only",
           "nhes_school_only", "nhes_neither"]
    t = table[(table["group_type"] == "all") & table["indicator"].isin(ids)].set_index("indicator").loc[ids]
    return pd.DataFrame({"indicator": ids, "percent": (100 * t["value"]).round(1).to_numpy(),
                         "95%_CI": [f"{100 * lo:.1f} to {100 * hi:.1f}" for lo, hi in zip(t["ci_low"], t["ci_high"])],
                         "students": t["denominator"].astype("int64").to_numpy()})


def provenance(data_dir=None, read_at: str | None = None) -> dict:
    """Version, commit, SHA-256 of the raw file and the time it was read."""
    return rawfiles.provenance_record(files(data_dir), default_dir(data_dir), read_at=read_at, weights="none")


# --- figures (drawing only; the numbers come from the functions above) ---------------------


def plot_activities(table: pd.DataFrame, ax=None):
    """Share of students whose parents did each activity (unweighted, 95% Wilson intervals), learning-focused first."""
    import matplotlib.pyplot as plt

    t = activity_shares(table).sort_values(["focus", "value"], ascending=[True, False], kind="stable")
    focus_colour = {"learning": PALETTE[0], "school support": PALETTE[1], "individual meeting": PALETTE[2]}
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.2))
    y = np.arange(len(t))
    v = 100 * t["value"].to_numpy()
    ax.barh(y, v, color=[focus_colour[f] for f in t["focus"]])
    ax.errorbar(v, y, xerr=[v - 100 * t["ci_low"].to_numpy(), 100 * t["ci_high"].to_numpy() - v], fmt="none",
                ecolor="0.2", capsize=3, lw=1)
    ax.set_yticks(y, [a for a in t["activity"]])
    ax.set_ylim(len(t) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    for f, c in focus_colour.items():
        ax.bar([0], [0], color=c, label=f)
    ax.legend(title="focus", loc="lower right", frameon=True)
    ax.set_xlabel("students in the sample, % (unweighted; 95% Wilson interval)")
    ax.set_title("What parents did at their child's school, 2018-19 (NHES 2019 extract)")
    ax.figure.tight_layout()
    return ax


def plot_by_group(table: pd.DataFrame, group_type: str, indicators=("nhes_conference", "nhes_school_support"),
                  ax=None):
    """Conference and school-support shares (unweighted, 95% Wilson) per group of one group type."""
    import matplotlib.pyplot as plt

    t = table[(table["group_type"] == group_type) & table["indicator"].isin(indicators)]
    groups = list(dict.fromkeys(t["group"]))
    if ax is None:
        _, ax = plt.subplots(figsize=(9.5, 1.9 + 0.5 * len(groups)))
    h = 0.8 / len(indicators)
    for k, ind in enumerate(indicators):
        s = t[t["indicator"] == ind].set_index("group").reindex(groups)
        y = np.arange(len(groups)) - 0.4 + h * (k + 0.5)
        v = 100 * s["value"].to_numpy()
        ax.barh(y, np.nan_to_num(v), height=h * 0.9, color=PALETTE[k], label=SHORT_LABELS.get(ind, ind))
        ax.errorbar(v, y, xerr=[v - 100 * s["ci_low"].to_numpy(), 100 * s["ci_high"].to_numpy() - v], fmt="none",
                    ecolor="0.2", capsize=3, lw=1)
        for yy, sup in zip(y, s["suppressed"].fillna(True).to_numpy(dtype=bool)):
            if sup:
                ax.text(1, yy, "suppressed", va="center", fontsize=9, color=GREY, style="italic")
    ax.set_yticks(np.arange(len(groups)), groups)
    ax.set_ylim(len(groups) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel("students in the sample, % (unweighted; 95% Wilson interval)")
    ax.set_title(f"Conference and school-support activities by {group_type.replace('_', ' ')}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.figure.tight_layout()
    return ax


def plot_breadth(table: pd.DataFrame, ax=None):
    """Distribution of the number of activities (0-8) parents did, all students (95% Wilson intervals)."""
    import matplotlib.pyplot as plt

    t = breadth_distribution(table)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.8))
    v = 100 * t["value"].to_numpy()
    ax.bar(t["activities"], v, color=PALETTE[0])
    ax.errorbar(t["activities"], v, yerr=[v - 100 * t["ci_low"].to_numpy(), 100 * t["ci_high"].to_numpy() - v],
                fmt="none", ecolor="0.2", capsize=3, lw=1)
    ax.set_xticks(range(9))
    ax.set_xlabel("number of the eight activities parents did at the school this year")
    ax.set_ylabel("students in the sample, %")
    ax.set_title("Breadth of parents' involvement at school (unweighted)")
    ax.figure.tight_layout()
    return ax
