"""UCI Student Performance: family educational support, family relationships and passing.

The data (Cortez and Silva 2008; UCI ML Repository dataset 320) describe students of two
Portuguese secondary schools, GP (Gabriel Pereira) and MS (Mousinho da Silveira), in one school
year (2005/06), one file per subject: ``student-mat.csv`` (mathematics, 395 students) and
``student-por.csv`` (Portuguese, 649 students). 382 students appear in both files (no ID links
them), so each subject is analysed on its own and the two are never pooled.

Coding (from ``student.txt``; files are ``;``-separated with a header row, text quoted):

- ``famsup``: family educational support, ``"yes"``/``"no"`` -> bool;
- ``famrel``: quality of family relationships, 1 (very bad) .. 5 (excellent);
- ``G1``, ``G2``, ``G3``: grades of the three grading periods, 0 .. 20 (``G1`` and ``G2`` are
  quoted in the file, ``G3`` is not; all read as integers); ``G3`` is the final grade;
- ``passed``: ``G3 >= 10`` (the Portuguese pass mark on the 0-20 scale, as in the paper).

The files have no missing-value codes. A value outside its coding is an error naming the file,
row (header = row 1), column and value; nothing is silently dropped, so rows read = rows used
(:func:`accounting`).

Outputs are tidy frames: :func:`famsup_by_school` (share with family support, Wilson interval),
:func:`famrel_by_school` (mean with t interval) and :func:`famrel_distribution` (share per
rating, Wilson), :func:`grades_by_school` (three periods), :func:`pass_by_famsup`, and
:func:`famsup_model`: the odds ratio of passing for students with family educational support,
adjusted for the first-period grade ``G1``, from a statsmodels logistic model per subject.

**This is an association, not proof of cause**: families who give educational support may
differ in other ways, and the model adjusts only for G1 (:data:`NOTE`).

Examples
--------
>>> s = read()                                                  # doctest: +SKIP
>>> famsup_model(s).query("term == 'famsup'")[["subject", "odds_ratio"]]  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from hsp_eval.indicators import stats
from hsp_eval.indicators.topics.inquiry import MODEL_COLUMNS
from hsp_eval.reports.plots import GREY, PALETTE
from hsp_eval.external import DATASETS, rawfiles

NAME = "uci-student-performance"
#: subject -> file
FILES = {"mathematics": "student-mat.csv", "portuguese": "student-por.csv"}
SCHOOLS = {"GP": "Gabriel Pereira", "MS": "Mousinho da Silveira"}
PASS_MARK = 10
NOTE = ("This is an association, not proof of cause: families who give educational support may differ in "
        "other ways (their time, resources and expectations, the student's own motivation), and the model "
        "adjusts only for the first-period grade G1.")
#: columns the analysis uses and their allowed values (ints: inclusive range)
_CODES = {"school": set(SCHOOLS), "famsup": {"yes", "no"}, "famrel": (1, 5), "G1": (0, 20), "G2": (0, 20),
          "G3": (0, 20)}


#: ``data_dir``, or the dataset's folder ``data/external/uci-student-performance``.
default_dir = DATASETS[NAME].resolve_dir


def files(data_dir=None) -> list[Path]:
    """The raw files read, in a fixed order (for provenance)."""
    d = default_dir(data_dir)
    return [d / f for f in FILES.values()]


def _bad(file: str, row: int, column: str, value, reason: str) -> ValueError:
    return ValueError(f"{file}, row {row}, column '{column}': value {value!r} {reason}")


def read_subject(path) -> pd.DataFrame:
    """One subject's file, checked and typed, with its file row numbers (header = row 1).

    ``attrs["rows_read"]`` holds the file's data rows counted with the csv module (for
    :func:`accounting`), from the same bytes, so the file is read once.

    Raises
    ------
    ValueError
        Naming file, row, column and value, when a column is missing or a value is outside its
        coding (e.g. a grade above 20, ``famsup`` other than yes/no).
    """
    path = Path(path)
    data = path.read_bytes()
    raw = pd.read_csv(io.BytesIO(data), sep=";", dtype="str", keep_default_na=False, quoting=csv.QUOTE_MINIMAL)
    missing = [c for c in _CODES if c not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}, row 1: the header has no column {', '.join(missing)} "
                         f"(the file must be ';'-separated; header: {', '.join(raw.columns[:6])}, ...)")
    out = raw.copy()
    out.insert(0, "row", np.arange(2, len(raw) + 2))
    for col, code in _CODES.items():
        if isinstance(code, set):
            bad = ~raw[col].isin(code)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise _bad(path.name, i + 2, col, raw[col].iat[i], f"is not one of {', '.join(sorted(code))}")
            continue
        num = pd.to_numeric(raw[col], errors="coerce")
        bad = num.isna() | (num < code[0]) | (num > code[1]) | (num != num.round())
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise _bad(path.name, i + 2, col, raw[col].iat[i],
                       f"is not a whole number from {code[0]} to {code[1]}")
        out[col] = num.astype("int64")
    out["famsup"] = raw["famsup"] == "yes"
    out["passed"] = out["G3"] >= PASS_MARK
    out.attrs["rows_read"] = rawfiles.count_records(data, delimiter=";")
    return out


def read(data_dir=None) -> pd.DataFrame:
    """Both subjects' students, one row per student and subject (column ``subject``, ``file``, ``row``).

    Examples
    --------
    >>> s = read()                                   # doctest: +SKIP
    >>> s.groupby("subject").size().to_dict()        # doctest: +SKIP
    {'mathematics': 395, 'portuguese': 649}
    """
    d = default_dir(data_dir)
    frames, rows_read = [], {}
    for subject, name in FILES.items():
        f = read_subject(d / name)
        rows_read[name] = f.attrs["rows_read"]
        f.insert(0, "file", name)
        f.insert(0, "subject", subject)
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["rows_read"] = rows_read
    return out


def accounting(students: pd.DataFrame, data_dir=None) -> pd.DataFrame:
    """Rows read = used + excluded, per file (rows read counted with the csv module).

    The counts are those :func:`read` made (``students.attrs["rows_read"]``); when the frame
    does not carry them, the files in ``data_dir`` are counted.

    Every row with a valid coding is used; an invalid one stops :func:`read` with an error, so
    the excluded count is 0 when ``read`` succeeded.
    """
    read_counts = students.attrs.get("rows_read")
    if read_counts is None:
        d = default_dir(data_dir)
        read_counts = {name: rawfiles.count_records((d / name).read_bytes(), delimiter=";") for name in FILES.values()}
    used = students.groupby("file").size()
    excluded = {name: {rawfiles.NOT_READ: n - int(used.get(name, 0))}
                for name, n in read_counts.items()}
    return rawfiles.tally(read_counts, excluded)


def _proportions(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    lo, hi = stats.wilson(counts["numerator"], counts["denominator"])
    out = counts.assign(value=counts["numerator"] / counts["denominator"], ci_low=lo, ci_high=hi)
    return out[keys + ["numerator", "denominator", "value", "ci_low", "ci_high"]].reset_index(drop=True)


def famsup_by_school(students: pd.DataFrame) -> pd.DataFrame:
    """Share of students with family educational support, per subject and school (Wilson 95%).

    Examples
    --------
    >>> s = pd.DataFrame({"subject": ["m"] * 3, "school": ["GP"] * 3, "famsup": [True, True, False]})
    >>> famsup_by_school(s)[["school", "numerator", "denominator"]].values.tolist()
    [['GP', 2, 3]]
    """
    g = (students.groupby(["subject", "school"], sort=True)["famsup"]
         .agg(numerator="sum", denominator="size").reset_index())
    return _proportions(g, ["subject", "school"])


def famrel_distribution(students: pd.DataFrame) -> pd.DataFrame:
    """Share of students at each family-relationship rating 1..5, per subject and school (Wilson 95%).

    Every rating is listed, with 0 where no student gave it.

    Examples
    --------
    >>> s = pd.DataFrame({"subject": ["m"] * 2, "school": ["GP"] * 2, "famrel": [5, 4]})
    >>> famrel_distribution(s)["numerator"].tolist()
    [0, 0, 0, 1, 1]
    """
    n = students.groupby(["subject", "school", "famrel"]).size()
    idx = pd.MultiIndex.from_product([n.index.levels[0], n.index.levels[1], range(1, 6)],
                                     names=["subject", "school", "famrel"])
    g = n.reindex(idx, fill_value=0).rename("numerator").reset_index()
    g["denominator"] = g.groupby(["subject", "school"])["numerator"].transform("sum")
    return _proportions(g, ["subject", "school", "famrel"])


def famrel_by_school(students: pd.DataFrame) -> pd.DataFrame:
    """Mean family-relationship rating (1 very bad .. 5 excellent) per subject and school, t interval.

    Examples
    --------
    >>> s = pd.DataFrame({"subject": ["m"] * 4, "school": ["GP"] * 4, "famrel": [3, 4, 5, 4]})
    >>> r = famrel_by_school(s)
    >>> int(r["n"].iloc[0]), float(r["mean"].iloc[0])
    (4, 4.0)
    """
    g = students.groupby(["subject", "school"], sort=True)["famrel"].agg(n="size", mean="mean", sd="std").reset_index()
    g["ci_low"], g["ci_high"] = stats.t_interval(g["mean"], g["sd"], g["n"])
    return g[["subject", "school", "n", "mean", "ci_low", "ci_high"]]


def grades_by_school(students: pd.DataFrame) -> pd.DataFrame:
    """Mean grade (0-20) per subject, school and grading period (G1, G2, G3), with t intervals.

    Examples
    --------
    >>> s = pd.DataFrame({"subject": ["m"] * 2, "school": ["GP"] * 2, "G1": [10, 12], "G2": [11, 11], "G3": [9, 13]})
    >>> grades_by_school(s)["mean"].tolist()
    [11.0, 11.0, 11.0]
    """
    long = students.melt(id_vars=["subject", "school"], value_vars=["G1", "G2", "G3"], var_name="period",
                         value_name="grade")
    g = long.groupby(["subject", "school", "period"], sort=True)["grade"].agg(n="size", mean="mean", sd="std")
    g = g.reset_index()
    g["ci_low"], g["ci_high"] = stats.t_interval(g["mean"], g["sd"], g["n"])
    return g[["subject", "school", "period", "n", "mean", "ci_low", "ci_high"]]


def pass_by_famsup(students: pd.DataFrame) -> pd.DataFrame:
    """Share passing (G3 >= 10) per subject, with and without family educational support (Wilson 95%).

    Unadjusted; see :func:`famsup_model` for the comparison adjusted for G1.

    Examples
    --------
    >>> s = pd.DataFrame({"subject": ["m"] * 3, "famsup": [True, True, False], "passed": [True, False, True]})
    >>> pass_by_famsup(s)[["famsup", "numerator", "denominator"]].values.tolist()
    [[False, 1, 1], [True, 1, 2]]
    """
    g = students.groupby(["subject", "famsup"], sort=True)["passed"].agg(numerator="sum", denominator="size")
    return _proportions(g.reset_index(), ["subject", "famsup"])


def famsup_model(students: pd.DataFrame) -> pd.DataFrame:
    """Odds ratio of passing (G3 >= 10) with family educational support, adjusted for G1, per subject.

    Fits the statsmodels logistic model ``passed ~ famsup + G1`` on each subject's students
    (both schools together). The ``famsup`` row is the odds ratio for students whose family
    gives educational support against those whose family does not, at the same first-period
    grade; the ``G1`` row is per grade point. 95% Wald intervals, exponentiated.

    **An association, not proof of cause**: families who give support may differ in other
    ways; the model adjusts only for G1 (:data:`NOTE`, also in ``attrs["note"]``).

    Returns
    -------
    DataFrame with columns subject, term, odds_ratio, ci_low, ci_high, p_value, n.

    Examples
    --------
    >>> fit = famsup_model(read())                                  # doctest: +SKIP
    >>> fit.query("term == 'famsup'")[["subject", "odds_ratio", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    import statsmodels.formula.api as smf

    out = []
    for subject, s in students.groupby("subject", sort=True):
        data = pd.DataFrame({"passed": s["passed"].astype("int64"), "famsup": s["famsup"].astype("int64"),
                             "G1": s["G1"].astype("float64")})
        res = smf.logit("passed ~ famsup + G1", data=data).fit(disp=0)
        if not res.mle_retvals.get("converged", False):
            raise ValueError(f"{subject}: the logistic model passed ~ famsup + G1 did not converge")
        ci = np.exp(res.conf_int())
        terms = ["famsup", "G1"]
        out.append(pd.DataFrame({"subject": subject, "term": terms, "odds_ratio": np.exp(res.params[terms]).to_numpy(),
                                 "ci_low": ci.loc[terms, 0].to_numpy(), "ci_high": ci.loc[terms, 1].to_numpy(),
                                 "p_value": res.pvalues[terms].to_numpy(), "n": int(res.nobs)}))
    fit = pd.concat(out, ignore_index=True)[["subject"] + MODEL_COLUMNS]
    fit.attrs["note"] = NOTE
    return fit


def headline(students: pd.DataFrame) -> pd.DataFrame:
    """The key numbers per subject, rounded, for a report's checked summary cell.

    Students, pass rate (%), family support by school (%) and the adjusted odds ratio of
    family support with its 95% interval.
    """
    sup = famsup_by_school(students).pivot(index="subject", columns="school", values="value")
    fit = famsup_model(students).query("term == 'famsup'").set_index("subject")
    out = pd.DataFrame({
        "students": students.groupby("subject").size(),
        "passed_%": (100 * students.groupby("subject")["passed"].mean()).round(1),
        "famsup_GP_%": (100 * sup["GP"]).round(1),
        "famsup_MS_%": (100 * sup["MS"]).round(1),
        "famsup_OR": fit["odds_ratio"].round(2),
        "OR_95%_CI": [f"{lo:.2f} to {hi:.2f}" for lo, hi in zip(fit["ci_low"], fit["ci_high"])],
    })
    return out.reset_index()


def provenance(data_dir=None, read_at: str | None = None) -> dict:
    """Version, commit, SHA-256 of each raw file and the time they were read."""
    return rawfiles.provenance_record(files(data_dir), default_dir(data_dir), read_at=read_at)


# --- figures (drawing only; the numbers come from the functions above) ---------------------


def plot_famsup(table: pd.DataFrame, ax=None):
    """Bar chart of :func:`famsup_by_school` (percent, 95% Wilson interval), one bar per subject and school."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    colours = PALETTE
    subjects = sorted(table["subject"].unique())
    schools = sorted(table["school"].unique())
    width = 0.8 / len(schools)
    for k, school in enumerate(schools):
        t = table[table["school"] == school].set_index("subject").reindex(subjects)
        x = np.arange(len(subjects)) + (k - (len(schools) - 1) / 2) * width
        ax.bar(x, 100 * t["value"], width, color=colours[k], label=f"{school} ({SCHOOLS.get(school, school)})")
        ax.errorbar(x, 100 * t["value"], yerr=[100 * (t["value"] - t["ci_low"]), 100 * (t["ci_high"] - t["value"])],
                    fmt="none", ecolor="black", capsize=3, lw=1)
    ax.set_xticks(np.arange(len(subjects)), subjects)
    ax.set_ylim(0, 100)
    ax.set_ylabel("students with family educational support, %")
    ax.set_xlabel("subject (file)")
    ax.set_title("Family educational support by school (95% Wilson intervals)")
    ax.legend(title="school", frameon=False)
    return ax


def plot_odds_ratios(fit: pd.DataFrame, ax=None):
    """Forest plot of the ``famsup`` odds ratio per subject from :func:`famsup_model` (log scale)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 2.6))
    f = fit[fit["term"] == "famsup"].reset_index(drop=True)
    y = np.arange(len(f))[::-1]
    ax.errorbar(f["odds_ratio"], y, xerr=[f["odds_ratio"] - f["ci_low"], f["ci_high"] - f["odds_ratio"]],
                fmt="o", color=PALETTE[0], ecolor=PALETTE[0], capsize=4)
    ax.axvline(1, color=GREY, ls="--", lw=1)
    ax.set_xscale("log")
    ticks = [t for t in (0.125, 0.25, 0.5, 1, 2, 4, 8) if f["ci_low"].min() / 1.5 <= t <= f["ci_high"].max() * 1.5]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(y, [f"{s} (n = {n})" for s, n in zip(f["subject"], f["n"])])
    ax.set_ylim(-0.7, len(f) - 0.3)
    ax.set_xlabel("odds ratio of passing (G3 >= 10), support vs none, adjusted for G1 (log scale)")
    ax.set_title("Family educational support and passing: an association, not a cause")
    return ax
