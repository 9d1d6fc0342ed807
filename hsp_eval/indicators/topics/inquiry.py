"""Inquiry-cycle indicators: how whānau took part in the inquiry for target students, and impact.

ERO's *educationally powerful connections* (2015) describe an inquiry cycle for students
whose progress a school sets out to accelerate (the **target students**: ``enrolments.target``
true for that school and year): whānau help identify strengths and needs, co-design the
response and its goals (including a goal the family brings), and review how the response went. The
impact question is whether the students made **accelerated progress**
(``end_score - start_score > expected_gain``, strictly: a gain equal to a year's expected
progress is not accelerated).

Choices:

- **A target student without an ``inquiry_steps`` row counts as not having the steps**
  (numerator 0, denominator 1), as the spec's denominator is "target students": a step that
  was not recorded is not evidence that it happened, and leaving those students out would
  make a school that records only its successes look best. The same rule gives
  ``accelerated_by_codesign`` its ``not_codesigned`` group, so the two indicators agree.
- ``accelerated_rate`` and ``accelerated_by_codesign`` count **student x measure** units: a
  student with reading and maths progress counts once per measure (``accelerated_rate`` is
  per measure anyway; ``accelerated_by_codesign`` pools the measures). A progress row with a
  missing score is left out of the denominator.
- The **adjusted odds ratio** (group ``adjusted_odds_ratio`` of ``accelerated_by_codesign``)
  comes from a logistic model ``accelerated ~ codesigned + start_score_z + year_level
  (+ measure)`` fitted per school, region and nation and year (:func:`codesign_model`).
  ``start_score`` is standardised within each measure (z-score over the rows being
  modelled) because measures are on different scales. A student with several measures
  contributes several rows, so the interval is cluster-robust by student (school, student id)
  then; region and national models pool students across schools with a fixed effect per
  school, so the odds ratio compares students within schools. With fewer than 20 clusters
  (students) there is no odds ratio (uncertainty spec v2). The row is given only where a model can be fitted sensibly (see :func:`fittable`);
  elsewhere there is no row rather than a wild number.

**The odds ratio is an association, not proof of cause**: schools and families that
co-design may differ in ways the model does not see (motivation, the school's wider
practice, which students were chosen for co-design).

Examples
--------
>>> from hsp_eval import indicators                                       # doctest: +SKIP
>>> indicators.compute(ds).query("indicator == 'target_whanau_codesigned'")  # doctest: +SKIP
>>> codesign_model(ds, school_id="0042", years=[2024])                    # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps
from scipy.special import expit

from hsp_eval.indicators.aggregate import CLUSTER_SUMS, KEY_SUMS, Cells, count, for_indicator, tally
from hsp_eval.data.keys import record_keys

#: indicator id -> inquiry_steps column
STEPS = {
    "target_whanau_identified": "whanau_identified",
    "target_whanau_codesigned": "whanau_codesigned",
    "target_family_goal": "family_goal_included",
    "target_whanau_reviewed": "whanau_reviewed",
}
#: the fewest rows (student x measure) a model is fitted on
MIN_MODEL_N = 30
#: the fewest clusters (students) a cluster-robust odds ratio is shown with (uncertainty spec v2):
#: with fewer, its interval is not to be trusted
MIN_CLUSTERS = 20
ASSOCIATION_NOTE = "An association, not proof of cause."
MODEL_COLUMNS = ["term", "odds_ratio", "ci_low", "ci_high", "p_value", "n"]
FINAL = ["level", "area_id", "year", "indicator", "group_type", "group", "numerator", "denominator", "people",
         "value", "ci_low", "ci_high"]
_KEY = ["school_id", "year", "student_id"]


# --- target students and their inquiry steps -----------------------------------------------

def target_flags(students) -> np.ndarray:
    """True for each student unit (row of ``ctx.students.frame``) that is a target student.

    Examples
    --------
    >>> from hsp_eval.indicators.units import student_units
    >>> e = pd.DataFrame({"year": [2024, 2024], "school_id": ["A", "A"], "student_id": ["1", "2"],
    ...                   "family_id": ["F", "G"], "year_level": [3, 4], "ethnicity": ["Māori"] * 2,
    ...                   "target": [True, False]})
    >>> target_flags(student_units(e)).tolist()
    [True, False]
    """
    return students.frame["target"].to_numpy(dtype=bool)


def step_flags(students, steps: pd.DataFrame) -> pd.DataFrame:
    """Per student unit, one column per inquiry step: 1.0 / 0.0 for target students, NaN otherwise.

    A target student without an ``inquiry_steps`` row gets 0.0 (step not recorded = not done).

    Examples
    --------
    >>> from hsp_eval.indicators.units import student_units
    >>> e = pd.DataFrame({"year": [2024] * 3, "school_id": ["A"] * 3, "student_id": ["1", "2", "3"],
    ...                   "family_id": ["F", "G", "H"], "year_level": [3, 4, 5], "ethnicity": ["Asian"] * 3,
    ...                   "target": [True, True, False]})
    >>> s = pd.DataFrame({"year": [2024], "school_id": ["A"], "student_id": ["1"], "whanau_identified": [True],
    ...                   "whanau_codesigned": [False], "family_goal_included": [True],
    ...                   "whanau_reviewed": [True]})
    >>> step_flags(student_units(e), s)["whanau_identified"].tolist()
    [1.0, 0.0, nan]
    """
    n = len(students)
    target = target_flags(students)
    unit = students.locate(steps, "student_id")
    ok = unit >= 0
    out = pd.DataFrame(index=np.arange(n))
    for col in STEPS.values():
        flag = np.where(target, 0.0, np.nan)
        done = steps[col].fillna(False).to_numpy(dtype=bool)[ok]
        flag[unit[ok]] = np.where(target[unit[ok]], done.astype("float64"), np.nan)
        out[col] = flag
    return out


# --- progress rows ---------------------------------------------------------------------------

def accelerated(progress: pd.DataFrame) -> np.ndarray:
    """1.0 where ``end_score - start_score > expected_gain (+ margin)``, 0.0 where not, NaN where a
    score is missing.

    ``margin`` is an optional column (:func:`with_margins`): the measure's standard error of
    measurement from the school's params file, so that a gain within measurement error of a
    year's expected progress does not count as accelerated.

    Examples
    --------
    >>> p = pd.DataFrame({"start_score": [10.0, 10.0, 10.0], "end_score": [13.0, 12.0, np.nan],
    ...                   "expected_gain": [2.0, 2.0, 2.0]})
    >>> accelerated(p).tolist()
    [1.0, 0.0, nan]
    >>> accelerated(p.assign(margin=1.5)).tolist()      # 3 points is within 1.5 of the expected 2
    [0.0, 0.0, nan]
    """
    gain = progress["end_score"].to_numpy(dtype="float64") - progress["start_score"].to_numpy(dtype="float64")
    expected = progress["expected_gain"].to_numpy(dtype="float64")
    if "margin" in progress:
        expected = expected + progress["margin"].to_numpy(dtype="float64")
    known = np.isfinite(gain) & np.isfinite(expected)
    return np.where(known, (gain > expected).astype("float64"), np.nan)


def with_margins(dataset, margins: pd.DataFrame):
    """The dataset with its progress rows carrying each school's standard error of measurement.

    Parameters
    ----------
    dataset : a :class:`hsp_eval.Dataset` with a ``progress`` table.
    margins : school_id, measure, margin (:func:`hsp_eval.indicators.params.margins_frame`); measures a
        school gives none for get 0.

    Returns
    -------
    A new Dataset (the files and the given dataset are unchanged) whose ``progress`` has a
    ``margin`` column, or ``dataset`` itself when there are no margins or no progress.
    """
    if margins is None or margins.empty or not dataset.has("progress"):
        return dataset
    p = dataset["progress"]
    m = margins.set_index(["school_id", "measure"])["margin"]
    idx = pd.MultiIndex.from_arrays([p["school_id"].astype(str), p["measure"].astype(str)])
    margin = m.reindex(idx).fillna(0.0).to_numpy(dtype="float64")
    return dataset.with_table("progress", p.assign(margin=margin))


def progress_rows(dataset) -> pd.DataFrame:
    """Progress rows of target students with ``accelerated``, ``codesigned`` and ``year_level``.

    Rows whose student is not a target student of that school and year are left out (the
    loader already refuses them). ``codesigned`` is False when the student has no
    ``inquiry_steps`` row (or the table is missing). Returns columns school_id, year,
    student_id, measure, start_score, accelerated (float, NaN when unknown), codesigned
    (bool), year_level (float), in the order of the progress table.
    """
    e = dataset["enrolments"]
    target = e["target"].fillna(False).to_numpy(dtype=bool) if "target" in e else np.zeros(len(e), bool)
    t = e.loc[target, _KEY + ["year_level"]].drop_duplicates(_KEY)
    p = dataset["progress"].reset_index(drop=True)
    p = p.assign(accelerated=accelerated(p))[_KEY + ["measure", "start_score", "accelerated"]]
    out = p.merge(t, on=_KEY, how="inner", sort=False)
    if dataset.has("inquiry_steps"):
        s = dataset["inquiry_steps"][_KEY + ["whanau_codesigned"]].drop_duplicates(_KEY)
        out = out.merge(s, on=_KEY, how="left", sort=False)
        out["codesigned"] = out.pop("whanau_codesigned").fillna(False).astype(bool)
    else:
        out["codesigned"] = False
    out["measure"] = out["measure"].astype("str")
    out["year_level"] = out["year_level"].astype("float64")
    return out.reset_index(drop=True)


def _single_group(rows: pd.DataFrame, group_type: str, group) -> pd.DataFrame:
    return pd.DataFrame({"unit": np.arange(len(rows)), "group_type": group_type, "group": group})


def counted(ctx) -> pd.DataFrame:
    """Inquiry indicators as counted school-level rows (before intervals and roll-up).

    Returns columns school_id, year, group_type, group, indicator, numerator, denominator
    (and blank sum, sumsq: these indicators are proportions).
    """
    ds, parts = ctx.dataset, []
    if ds.has("inquiry_steps"):
        flags = step_flags(ctx.students, ds["inquiry_steps"])
        parts += [count(for_indicator(ctx.student_cells, ind), flags[col].to_numpy()).assign(indicator=ind)
                  for ind, col in STEPS.items()]
    if ds.has("progress"):
        p = progress_rows(ds)
        acc = p["accelerated"].to_numpy()
        row_key = record_keys(p, ["school_id", "year", "student_id", "measure"], "progress")
        by_measure = Cells.build(p, _single_group(p, "measure", p["measure"].to_numpy()), row_key)
        parts.append(count(by_measure, acc).assign(indicator="accelerated_rate"))
        if ds.has("inquiry_steps"):
            split = np.where(p["codesigned"].to_numpy(), "codesigned", "not_codesigned")
            by_codesign = Cells.build(p, _single_group(p, "codesign", split), row_key)
            # a student has a row per measure: the people behind a cell are its distinct students
            first = ~p.duplicated(["school_id", "year", "student_id"]).to_numpy()
            first_acc = ~p.assign(_a=acc > 0).duplicated(["school_id", "year", "student_id", "_a"]).to_numpy() & (acc > 0)
            known = ~np.isnan(np.asarray(acc, dtype="float64"))
            student_key = record_keys(p, ["school_id", "student_id"], "student")
            keys = (np.where(known & (acc > 0), row_key, 0.0), np.where(known, row_key, 0.0),
                    np.where(first & known, student_key, 0.0))
            # a student's measures are clustered in the student (school, student)
            student = pd.factorize(pd.MultiIndex.from_frame(p[["school_id", "student_id"]]))[0]
            parts.append(tally(by_codesign, np.where(known, acc, 0.0), known.astype("float64"),
                               first & known, first_acc, keys=keys, cluster=student)
                         .assign(indicator="accelerated_by_codesign"))
    # sum/sumsq present (blank) so the engine can finish its means when no topic has any
    cols = ["school_id", "year", "group_type", "group", "indicator", "numerator", "denominator", "people",
            "people_num", "sum", "sumsq", *KEY_SUMS, *CLUSTER_SUMS]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True).assign(sum=np.nan, sumsq=np.nan)[cols]


# --- the adjusted odds ratio ---------------------------------------------------------------------

def fittable(rows: pd.DataFrame, by: list[str], min_n: int = MIN_MODEL_N) -> pd.Series:
    """Whether each group of ``rows`` (model rows, grouped by ``by``) is worth a model fit.

    A group qualifies with at least ``min_n`` rows and all four cells of the codesigned x
    accelerated table non-empty (otherwise the odds ratio is 0 or infinite: separation).
    Vectorised, so the per-cell fits only run where they can succeed.

    Examples
    --------
    >>> r = pd.DataFrame({"k": ["a"] * 40 + ["b"] * 40, "codesigned": [True, False] * 40,
    ...                   "accelerated": ([1.0] * 4 + [0.0] * 36) + [1.0] * 40})
    >>> fittable(r, ["k"]).tolist()
    [True, False]
    """
    c = rows["codesigned"].to_numpy(dtype=bool)
    a = rows["accelerated"].to_numpy(dtype="float64") == 1
    cells = pd.DataFrame({"n": 1, "c1a1": c & a, "c1a0": c & ~a, "c0a1": ~c & a, "c0a0": ~c & ~a},
                         index=rows.index)
    g = cells.groupby([rows[b] for b in by], sort=True).sum()
    return (g["n"] >= min_n) & (g[["c1a1", "c1a0", "c0a1", "c0a0"]] > 0).all(axis=1)


def standardise(rows: pd.DataFrame, by: list[str]) -> np.ndarray:
    """z-score of ``start_score`` within each measure and group of ``by`` (0 where scores do not vary).

    Examples
    --------
    >>> r = pd.DataFrame({"measure": ["a", "a", "b", "b"], "start_score": [1.0, 3.0, 100.0, 300.0]})
    >>> standardise(r, []).round(3).tolist()
    [-0.707, 0.707, -0.707, 0.707]
    """
    s = rows["start_score"].astype("float64")
    grp = s.groupby([rows[b] for b in by + ["measure"]], sort=False)
    sd = grp.transform("std").to_numpy()
    ok = np.isfinite(sd) & (sd > 0)
    return np.where(ok, (s.to_numpy() - grp.transform("mean").to_numpy()) / np.where(ok, sd, 1.0), 0.0)


def _design(codesigned, z, year_level, measure) -> tuple[np.ndarray, list[str]]:
    """Design matrix (numpy) and its term names: Intercept, codesigned, start_score_z, year_level,
    one dummy per measure after the first (alphabetical); covariates that do not vary are left out."""
    measures = np.unique(measure)
    cols = [np.ones(len(z)), codesigned.astype("float64"), z, year_level]
    names = ["Intercept", "codesigned", "start_score_z", "year_level"]
    cols += [(measure == m).astype("float64") for m in measures[1:]]
    names += [f"measure[T.{m}]" for m in measures[1:]]
    keep = [i for i, c in enumerate(cols) if i < 2 or np.ptp(c) > 0]
    return np.column_stack([cols[i] for i in keep]), [names[i] for i in keep]


def _fit(y: np.ndarray, x: np.ndarray, names: list[str], clusters: np.ndarray, always: bool = False):
    """Fitted statsmodels Logit result (with ``names`` attached), or None when it cannot be fitted sensibly.

    ``clusters`` (codes: students, or schools above school level) give a cluster-robust covariance
    when a cluster has several rows (``always``: in any case); then fewer than
    :data:`MIN_CLUSTERS` clusters give None. Separation, non-convergence, a singular design or
    non-finite standard errors give None.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (ConvergenceWarning, HessianInversionWarning,
                                                 PerfectSeparationError, PerfectSeparationWarning)

    if np.linalg.matrix_rank(x) < x.shape[1]:
        return None
    cov = {}
    n_clusters = len(np.unique(clusters))
    if always or n_clusters < len(clusters):  # a student with several measures, or schools: clustered
        if n_clusters < MIN_CLUSTERS:
            return None
        cov = {"cov_type": "cluster", "cov_kwds": {"groups": clusters}}
    caught = (ConvergenceWarning, HessianInversionWarning, PerfectSeparationWarning, RuntimeWarning)
    with warnings.catch_warnings():
        for w in caught:
            warnings.simplefilter("error", w)
        try:
            res = sm.Logit(y, x).fit(disp=0, maxiter=100, **cov)
        except (PerfectSeparationError, np.linalg.LinAlgError, ValueError, *caught):
            return None
    if not res.mle_retvals.get("converged", False) or not np.all(np.isfinite(res.bse)):
        return None
    res.term_names = names
    return res


def _model_arrays(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The model rows' columns as numpy arrays (students as codes), taken once for any number of fits."""
    return {"codesigned": rows["codesigned"].to_numpy(dtype=bool),
            "year_level": rows["year_level"].to_numpy(dtype="float64"),
            "measure": rows["measure"].to_numpy(dtype=object),
            # a student is (school, student id): ids are unique only within a school
            "student": pd.factorize(pd.MultiIndex.from_frame(rows[["school_id", "student_id"]].astype("str")))[0],
            "school": pd.factorize(rows["school_id"].astype("str"))[0],
            "accelerated": rows["accelerated"].to_numpy(dtype="float64")}


def _fit_rows(arrays: dict[str, np.ndarray], z: np.ndarray, idx=slice(None)):
    """Fit the model on the model rows at ``idx`` of ``arrays`` (:func:`_model_arrays`), with
    their standardised start scores ``z``; rows from several schools get a fixed effect per school
    (students of a school share its practice: the odds ratio compares students within schools).
    Clustered on students (school, student id) when a student has several rows."""
    idx = np.arange(len(arrays["school"]))[idx]
    z = np.asarray(z)
    school = pd.factorize(arrays["school"][idx])[0]
    if school.max(initial=0) > 0:
        # a school whose students all made (or all missed) accelerated progress tells nothing about
        # co-design once it has its own effect, and would make the fit separate: left out
        y = arrays["accelerated"][idx]
        both = (np.bincount(school, weights=y) > 0) & (np.bincount(school, weights=1 - y) > 0)
        idx, z = idx[both[school]], z[both[school]]
    x, names = _design(arrays["codesigned"][idx], z, arrays["year_level"][idx], arrays["measure"][idx])
    school = pd.factorize(arrays["school"][idx])[0]
    student = pd.factorize(arrays["student"][idx])[0]  # numbered within the fit, as its clusters
    if school.max(initial=0) > 0:  # several schools: a fixed effect each, in place of the intercept
        return _fit_fixed_effects(arrays["accelerated"][idx], x[:, 1:], names[1:], school, student)
    return _fit(arrays["accelerated"][idx], x, names, student)


@dataclass
class FixedEffectsFit:
    """A logistic fit with a fixed effect per school (:func:`_fit_fixed_effects`), read like
    statsmodels' results: ``params``, ``bse``, ``pvalues``, ``conf_int()``, ``nobs``, ``term_names``
    (the school effects are not reported)."""

    params: np.ndarray
    bse: np.ndarray
    nobs: int
    term_names: list

    @property
    def pvalues(self) -> np.ndarray:
        return 2 * sps.norm.sf(np.abs(self.params / self.bse))

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        q = sps.norm.ppf(1 - alpha / 2)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])


def _fit_fixed_effects(y, x, names, school, student, max_iter: int = 100, tol: float = 1e-10):
    """``logit p = a[school] + x b`` by maximum likelihood, with the school block of the Hessian kept
    diagonal: the same estimates and cluster-robust (by student) covariance of ``b`` as statsmodels'
    ``Logit`` with a dummy per school and ``cov_type="cluster"`` (a test checks it), without the
    dense rows x schools matrix that made a national fit need 13 GB and minutes (2,500 schools).

    Newton steps on (a, b) solved through the Schur complement of the diagonal school block; the
    covariance of ``b`` is the sandwich with each row's score for ``b`` taken within its school
    (x minus the school's weighted mean), summed per student, times statsmodels' small-sample
    factor G / (G - 1) (N - 1) / (N - K), K counting the school effects. Clustering applies when a
    student has several rows (at least :data:`MIN_CLUSTERS` students); None when the design is
    singular within schools or the fit does not converge (separation).
    """
    y, x = np.asarray(y, dtype="float64"), np.asarray(x, dtype="float64")
    n, k = x.shape
    n_s = int(school.max()) + 1

    def per_school(weights):  # each column of x times ``weights``, summed per school (n_s x k)
        return np.stack([np.bincount(school, weights * x[:, j], n_s) for j in range(k)], 1)

    centred = x - (per_school(np.ones(n)) / np.bincount(school, minlength=n_s)[:, None])[school]
    if k == 0 or np.linalg.matrix_rank(centred.T @ centred) < k:
        return None
    mean = np.bincount(school, y, n_s) / np.bincount(school, minlength=n_s)
    a = np.log(mean / (1 - mean))  # every school has both outcomes (the caller leaves out the rest)
    b = np.zeros(k)
    for _ in range(max_iter):
        p = expit(a[school] + x @ b)
        w, r = p * (1 - p), y - p
        d, h_ab = np.bincount(school, w, n_s), per_school(w)  # H_aa (diagonal) and H_ab
        schur = x.T @ (w[:, None] * x) - h_ab.T @ (h_ab / d[:, None])
        s_a = np.bincount(school, r, n_s)
        try:
            db = np.linalg.solve(schur, x.T @ r - h_ab.T @ (s_a / d))
        except np.linalg.LinAlgError:
            return None
        da = (s_a - h_ab @ db) / d
        a, b = a + da, b + db
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or np.abs(b).max() > 30:
            return None  # separation: the coefficients run away
        if max(np.abs(da).max(), np.abs(db).max()) < tol:
            break
    else:
        return None
    p = expit(a[school] + x @ b)
    w, r = p * (1 - p), y - p
    d, h_ab = np.bincount(school, w, n_s), per_school(w)
    inv = np.linalg.inv(x.T @ (w[:, None] * x) - h_ab.T @ (h_ab / d[:, None]))
    n_clusters = int(student.max()) + 1
    if n_clusters < n:  # a student with several measures: cluster-robust by student
        if n_clusters < MIN_CLUSTERS:
            return None
        score = (x - (h_ab / d[:, None])[school]) * r[:, None]  # b's score, within the school
        u = np.stack([np.bincount(student, score[:, j], n_clusters) for j in range(k)], 1)
        n_params = k + n_s
        cov = inv @ (u.T @ u) @ inv * n_clusters / (n_clusters - 1) * (n - 1) / (n - n_params)
    else:
        cov = inv
    se = np.sqrt(np.diag(cov))
    if not np.all(np.isfinite(se)):
        return None
    return FixedEffectsFit(b, se, n, list(names))


def _tidy(res, n: int) -> pd.DataFrame:
    ci = np.exp(np.asarray(res.conf_int()))
    out = pd.DataFrame({"term": res.term_names, "odds_ratio": np.exp(np.asarray(res.params)),
                        "ci_low": ci[:, 0], "ci_high": ci[:, 1], "p_value": np.asarray(res.pvalues), "n": n})
    out.attrs["note"] = ASSOCIATION_NOTE
    return out


def model_rows(dataset) -> pd.DataFrame:
    """Rows the codesign model is fitted on: target students' progress with a known outcome."""
    p = progress_rows(dataset)
    keep = p["accelerated"].notna() & p["start_score"].notna() & p["year_level"].notna()
    return p[keep].reset_index(drop=True)


def codesign_model(dataset, school_id=None, years=None, min_n: int = MIN_MODEL_N) -> pd.DataFrame:
    """Odds of accelerated progress with whānau co-design, adjusted for start score and year level.

    Fits the logistic model ``accelerated ~ codesigned + start_score_z + year_level`` (plus
    ``measure`` as a categorical when there are several) on the target students' progress
    rows (one row per student x measure; a student without an ``inquiry_steps`` row counts as
    not co-designed). ``start_score_z`` is the start score standardised within each measure
    over the rows modelled, because measures have different scales. With a student on
    several measures the interval is cluster-robust by student (at least 20 needed); with several
    schools, each school gets a fixed effect in place of the intercept (not reported: the odds
    ratios compare students within schools; :func:`_fit_fixed_effects`).

    **The odds ratio is an association, not proof of cause**: families and schools that
    co-design may differ in ways the model does not see.

    Parameters
    ----------
    dataset : a :class:`hsp_eval.Dataset` with progress, inquiry_steps and enrolments.
    school_id : a school id or a list of them (default: every school, pooled).
    years : a year or a list of years (default: every year, pooled).
    min_n : the fewest rows to fit on.

    Returns
    -------
    DataFrame with one row per model term: term, odds_ratio, ci_low, ci_high (95% Wald,
    exponentiated), p_value, n (rows used). ``attrs["note"]`` holds the association caveat.

    Raises
    ------
    ValueError
        When the model cannot be fitted sensibly: fewer than ``min_n`` rows, a codesign or
        outcome value missing (separation), or a fit that does not converge.

    Examples
    --------
    >>> fit = codesign_model(ds, school_id="0042", years=2024)      # doctest: +SKIP
    >>> fit.set_index("term").loc["codesigned", ["odds_ratio", "ci_low", "ci_high"]]  # doctest: +SKIP
    """
    rows = model_rows(dataset)
    if school_id is not None:
        rows = rows[rows["school_id"].isin([school_id] if isinstance(school_id, str) else list(school_id))]
    if years is not None:
        rows = rows[rows["year"].isin([years] if np.isscalar(years) else list(years))]
    rows = rows.assign(_all=0)
    if not fittable(rows, ["_all"], min_n).any():
        raise ValueError(f"cannot fit the codesign model: {len(rows)} rows (at least {min_n} needed) or "
                         "no students in one of the codesigned x accelerated groups")
    res = _fit_rows(_model_arrays(rows), standardise(rows, []))
    if res is None:
        raise ValueError("cannot fit the codesign model: separation, collinearity or no convergence")
    return _tidy(res, int(res.nobs))


def _area_ids(rows: pd.DataFrame, region_of: pd.Series) -> dict[str, pd.Series]:
    return {"school": rows["school_id"].astype("str"),
            "region": rows["school_id"].map(region_of).astype("str"),
            "national": pd.Series("NZ", index=rows.index)}


def odds_ratio_rows(rows: pd.DataFrame, region_of: pd.Series, min_n: int = MIN_MODEL_N) -> pd.DataFrame:
    """``accelerated_by_codesign`` / ``adjusted_odds_ratio`` rows at every level (final columns).

    One model per level, area and year where :func:`fittable` allows it; value is the odds
    ratio of ``codesigned``, numerator blank, denominator the rows used.
    """
    out = []
    for level, area in _area_ids(rows, region_of).items():
        r = rows.assign(area_id=area.to_numpy())
        ok = fittable(r, ["area_id", "year"], min_n)
        z = standardise(r, ["area_id", "year"])
        groups = r.groupby(["area_id", "year"], sort=True).indices
        arrays = _model_arrays(r)
        for area_id, year in ok.index[ok.to_numpy()]:  # the per-cell fit: fittable cells only
            idx = groups[(area_id, year)]
            res = _fit_rows(arrays, z[idx], idx)
            if res is None:
                continue
            j = res.term_names.index("codesigned")  # the codesigned term, as _tidy gives it
            ci = np.exp(np.asarray(res.conf_int())[j])
            out.append({"level": level, "area_id": area_id, "year": int(year),
                        "value": np.exp(np.asarray(res.params)[j]), "ci_low": ci[0], "ci_high": ci[1],
                        "denominator": float(res.nobs), "people": float(res.nobs)})  # the rows used
    if not out:
        return pd.DataFrame(columns=FINAL)
    return pd.DataFrame(out).assign(indicator="accelerated_by_codesign", group_type="codesign",
                                    group="adjusted_odds_ratio", numerator=np.nan)[FINAL]


def pooled(ctx) -> dict[str, pd.DataFrame]:
    """The rows the codesign model is fitted on (per school), pooled by the engine for every level."""
    if not (ctx.dataset.has("progress") and ctx.dataset.has("inquiry_steps")):
        return {}
    return {"inquiry.model_rows": model_rows(ctx.dataset)}


def derived(table: pd.DataFrame, pooled: dict, region_of: pd.Series) -> pd.DataFrame:
    """The adjusted odds ratio rows of ``accelerated_by_codesign`` (when progress and inquiry_steps exist)."""
    if "inquiry.model_rows" not in pooled:
        return pd.DataFrame(columns=FINAL)
    return odds_ratio_rows(pooled["inquiry.model_rows"], region_of)
