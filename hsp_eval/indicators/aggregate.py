"""Counting units into indicator cells, vectorised over every school, year and group.

A *cell* is (school_id, year, group_type, group). :class:`Cells` maps each unit row
(a family, a student, a contact, a response...) to every cell it belongs to, once;
after that each indicator is two ``np.bincount`` calls, however many schools there are.

Counts roll up exactly: a region's numerator is the sum of its schools' numerators,
and a mean rolls up through its sums and sums of squares.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rows = pd.DataFrame({"school_id": ["A", "A", "B"], "year": [2024, 2024, 2024]})
>>> cells = Cells.build(rows)                        # the 'all' group only
>>> count(cells, np.array([1.0, 0.0, np.nan]))[["school_id", "numerator", "denominator"]].values.tolist()
[['A', 1.0, 2.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hsp_eval.indicators import stats
from hsp_eval.data.keys import dense_unique, pack

CELL = ["school_id", "year", "group_type", "group"]


@dataclass
class Cells:
    """Memberships of unit rows in cells: ``code[i]`` is the cell of membership i of row ``row[i]``."""

    row: np.ndarray
    code: np.ndarray
    cells: pd.DataFrame  #: one row per code, columns CELL
    #: the record key of each unit row (:func:`hsp_eval.data.keys.record_keys`); None: not known
    key: np.ndarray | None = None

    @classmethod
    def build(cls, rows: pd.DataFrame, groups: pd.DataFrame | None = None, key: np.ndarray | None = None) -> Cells:
        """Cells of ``rows`` (columns school_id, year).

        ``groups`` (columns ``unit`` = row position, ``group_type``, ``group``) lists the
        memberships; without it every row is only in ``all``/``all``. ``key`` is each row's
        record key: the counts of the cells then carry the sums of their records' keys
        (columns ``ck_numerator``, ``ck_denominator``, ``ck_people``), which publication's
        keyed rounding draws from.
        """
        n = len(rows)
        if groups is None:
            groups = pd.DataFrame({"unit": np.arange(n), "group_type": "all", "group": "all"})
        unit = groups["unit"].to_numpy(dtype=np.int64)
        # factorise each key column once (rows-level columns over the rows, not the memberships)
        # and pack the codes into one integer per membership (keys.pack: in place, one column's
        # codes at a time; tens of millions of student memberships nationally). The span of the
        # key (schools x years x group types x groups) is far below where pack renumbers, so
        # the key decodes by division below.
        uniques = []

        def columns():
            for i, column in enumerate([rows["school_id"], rows["year"], groups["group_type"], groups["group"]]):
                codes, values = _codes(column)
                uniques.append(values)
                yield (codes[unit] if i < 2 else codes), len(values)  # the rows' codes to the memberships

        packed_key = pack(columns())
        packed, code = dense_unique(packed_key, int(np.prod([len(u) for u in uniques])))
        del packed_key
        cols = {}
        for name, values in zip(reversed(CELL), reversed(uniques)):
            cols[name] = values.take(packed % len(values))
            packed = packed // len(values)
        cells = pd.DataFrame({c: np.asarray(cols[c]) for c in CELL})
        return cls(unit, code.astype(np.int64, copy=False).ravel(), cells, key)

    def only(self, *group_types: str) -> Cells:
        """The memberships of the given group types."""
        keep = self.cells["group_type"].isin(group_types).to_numpy()
        if keep.all():
            return self
        keep_codes = np.flatnonzero(keep)
        mask = np.isin(self.code, keep_codes)
        remap = np.full(len(self.cells), -1, dtype=np.int64)
        remap[keep_codes] = np.arange(len(keep_codes))
        return Cells(self.row[mask], remap[self.code[mask]], self.cells.iloc[keep_codes].reset_index(drop=True),
                     self.key)


def _codes(s: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and sorted uniques of a column (categoricals use their codes directly)."""
    if isinstance(s.dtype, pd.CategoricalDtype):  # its own integer type (int8 for a few groups)
        return s.cat.codes.to_numpy(), pd.Index(s.cat.categories)
    codes, uniques = pd.factorize(s, sort=True)
    return codes, pd.Index(uniques)


def for_indicator(cells: Cells, indicator: str) -> Cells:
    """The cells of the group types the registry lists for ``indicator``."""
    from hsp_eval.indicators.registry import REGISTRY

    return cells.only(*REGISTRY[indicator].groups)


def count(cells: Cells, flag: np.ndarray, cluster: np.ndarray | None = None,
          cluster_sums: tuple | None = None) -> pd.DataFrame:
    """Numerator (flag true) and denominator (flag known) per cell; cells with no units dropped.

    ``flag`` has one value per unit row: 1/True, 0/False, or NaN for "not in the denominator".
    ``cluster`` (per unit, an integer id) names what the units are nested in, or ``cluster_sums``
    gives each unit's share of its cluster's sums (see :func:`tally`).
    """
    f = np.asarray(flag, dtype="float64")
    known = ~np.isnan(f)
    keys = None
    if cells.key is not None:  # the units are the records counted
        keys = (np.where(known & (f > 0), cells.key, 0.0), np.where(known, cells.key, 0.0), None)
    return tally(cells, np.where(known, f, 0.0), known.astype("float64"), keys=keys, cluster=cluster,
                 cluster_sums=cluster_sums)


def tally(cells: Cells, numerator: np.ndarray, denominator: np.ndarray, people: np.ndarray | None = None,
          people_num: np.ndarray | None = None, keys: tuple | None = None, cluster: np.ndarray | None = None,
          cluster_sums: tuple | None = None, clustered: bool = False) -> pd.DataFrame:
    """Sum per-unit numerators and denominators into cells (cells with denominator 0 dropped).

    Used for indicators whose unit is below the family (attendances, contacts, invitations):
    summing them per family first and then over the family's cells gives the same counts as
    giving every row its family's groups, at a fraction of the memory.

    Each cell also gets its **people counts** (disclosure control thresholds count people,
    not events): ``people``, the units with something in the denominator, and ``people_num``,
    the units with something in the numerator. A caller whose units are not people (a group
    of answers) passes the people of each unit instead.

    ``keys`` = (numerator, denominator, people) gives, per unit, the sum of the record keys
    of what it adds to each count (:func:`hsp_eval.data.keys.record_keys`: the contacts of a family
    for a count of contacts); a None entry for people, with ``people`` not given, takes the
    units' own keys (``cells.key``). The cells' sums are the columns ``ck_numerator``,
    ``ck_denominator`` and ``ck_people`` (NaN where not known).

    Each cell also gets the **cluster sums** a cluster-robust interval needs (columns
    ``c_yy``, ``c_xy``, ``c_xx``: sums over the cell's clusters of y^2, x y and x^2, y and x a
    cluster's numerator and denominator; ``c_n``: its clusters with a denominator;
    :func:`hsp_eval.indicators.stats.ratio_variance`). The clusters are the units themselves (a family and
    its contacts: ``clustered=True``), or ``cluster`` (per unit, an integer id: students'
    families), or given per unit in ``cluster_sums`` = (yy, xy, xx, n) when a unit holds several
    clusters whole (a group of answers holds its respondents'). Otherwise the units are
    independent people and the columns are NaN (their interval needs no cluster sums).

    Examples
    --------
    >>> rows = pd.DataFrame({"school_id": ["A", "A", "A"], "year": [2024] * 3})
    >>> out = tally(Cells.build(rows), np.array([2.0, 0.0, 0.0]), np.array([5.0, 1.0, 0.0]))
    >>> out[["numerator", "denominator", "people", "people_num"]].values.tolist()
    [[2.0, 6.0, 2.0, 1.0]]
    """
    k = len(cells.cells)
    numerator = np.asarray(numerator, dtype="float64")
    denominator = np.asarray(denominator, dtype="float64")
    people_given = people is not None
    if people is None:
        people = denominator > 0
    if people_num is None:
        people_num = numerator > 0
    num = np.bincount(cells.code, weights=numerator[cells.row], minlength=k)
    den = np.bincount(cells.code, weights=denominator[cells.row], minlength=k)
    ppl = np.bincount(cells.code, weights=np.asarray(people, dtype="float64")[cells.row], minlength=k)
    ppl_num = np.bincount(cells.code, weights=np.asarray(people_num, dtype="float64")[cells.row], minlength=k)
    if keys is not None and keys[2] is None and not people_given and cells.key is not None:
        keys = (keys[0], keys[1], np.where(people, cells.key, 0.0))  # the people are the units themselves
    out = cells.cells.assign(numerator=num, denominator=den, people=ppl, people_num=ppl_num,
                             **_key_sums(cells, keys),
                             **(_cluster_sums(cells, numerator, denominator, cluster, cluster_sums)
                                if clustered or cluster is not None or cluster_sums is not None
                                else dict.fromkeys(CLUSTER_SUMS, np.full(k, np.nan))))
    return out[out["denominator"] > 0].reset_index(drop=True)


CLUSTER_SUMS = ("c_yy", "c_xy", "c_xx", "c_n")


def _cluster_sums(cells: Cells, y: np.ndarray, x: np.ndarray, cluster: np.ndarray | None,
                  given: tuple | None) -> dict:
    """Per cell, the sums over its clusters of y^2, x y, x^2 and the clusters with x > 0 (see :func:`tally`)."""
    k = len(cells.cells)
    if given is not None:
        return {name: np.bincount(cells.code, weights=np.asarray(w, dtype="float64")[cells.row], minlength=k)
                for name, w in zip(CLUSTER_SUMS, given)}
    code, yc, xc = cells.code, y[cells.row], x[cells.row]
    if cluster is not None:  # a cluster's units in a cell summed first: (cell, cluster) pairs
        c = np.asarray(cluster, dtype=np.int64)[cells.row]
        width = int(c.max()) + 1 if len(c) else 1
        pairs, inverse = dense_unique(code * width + c, k * width)
        yc, xc = np.bincount(inverse, weights=yc), np.bincount(inverse, weights=xc)
        code = pairs // width
    return {"c_yy": np.bincount(code, weights=yc * yc, minlength=k),
            "c_xy": np.bincount(code, weights=xc * yc, minlength=k),
            "c_xx": np.bincount(code, weights=xc * xc, minlength=k),
            "c_n": np.bincount(code, weights=(xc > 0).astype("float64"), minlength=k)}


KEY_SUMS = ("ck_numerator", "ck_denominator", "ck_people")


def _key_sums(cells: Cells, keys: tuple | None) -> dict:
    """The cells' sums of the per-unit record keys ``keys`` (see :func:`tally`); NaN columns where not known."""
    k = len(cells.cells)
    keys = keys if keys is not None else (None, None, None)
    return {name: (np.full(k, np.nan) if w is None
                   else np.bincount(cells.code, weights=np.asarray(w, dtype="float64")[cells.row], minlength=k))
            for name, w in zip(KEY_SUMS, keys)}


def per_unit(unit: np.ndarray, values: np.ndarray | None, n_units: int) -> np.ndarray:
    """Sum ``values`` of rows into their units (``unit`` = position, -1 = none), as floats;
    with ``values=None``, count the rows of each unit.

    Rows without a unit are left out by copying the others only when there are any: at
    national scale the arrays are tens of millions of rows.

    Examples
    --------
    >>> per_unit(np.array([0, 2, -1, 2]), np.array([1.0, 2.0, 5.0, 3.0]), 3).tolist()
    [1.0, 0.0, 5.0]
    >>> per_unit(np.array([0, 2, -1, 2]), None, 3).tolist()
    [1.0, 0.0, 2.0]
    """
    unit = np.asarray(unit, dtype=np.int64)
    if values is not None:
        values = np.asarray(values, dtype="float64")
    if len(unit) and unit.min() < 0:
        ok = unit >= 0
        unit = unit[ok]
        values = None if values is None else values[ok]
    if values is None:
        return np.bincount(unit, minlength=n_units).astype("float64")
    return np.bincount(unit, weights=values, minlength=n_units)


def moments(cells: Cells, value: np.ndarray) -> pd.DataFrame:
    """n, sum and sum of squares of ``value`` per cell (NaN values skipped), with ``people`` = n."""
    unit_value = np.asarray(value, dtype="float64")
    v = unit_value[cells.row]
    known = ~np.isnan(v)
    v0 = np.where(known, v, 0.0)
    k = len(cells.cells)
    n = np.bincount(cells.code, weights=known.astype("float64"), minlength=k)
    out = cells.cells.assign(
        denominator=n,
        sum=np.bincount(cells.code, weights=v0, minlength=k),
        sumsq=np.bincount(cells.code, weights=v0 * v0, minlength=k),
        people=n,  # one value per unit: the people behind a mean are its n
        people_num=np.nan,
        # the records of a mean are its units: its n and its people have the same keys
        **_key_sums(cells, None if cells.key is None else
                    (None,) + (np.where(np.isnan(unit_value), 0.0, cells.key),) * 2),
    )
    return out[out["denominator"] > 0].reset_index(drop=True)


def _cluster_of(indicator: pd.Series) -> np.ndarray:
    """The registry's cluster of each row's indicator ("" none or unknown), looked up once per indicator."""
    from hsp_eval.indicators.registry import REGISTRY

    codes, ids = pd.factorize(indicator.astype("str"))
    return np.array([REGISTRY[i].cluster if i in REGISTRY else "" for i in ids] + [""], dtype=object)[codes]


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    return df[name].to_numpy(dtype="float64") if name in df else np.full(len(df), np.nan)


def finish_proportions(df: pd.DataFrame, copy: bool = True) -> pd.DataFrame:
    """Add value and interval to rows with numerator and denominator (uncertainty spec v2).

    - a school's share of people (families, students, respondents): Wilson on the counts;
    - a school's ratio of events nested in people (contacts in families, answers in respondents;
      registry ``cluster``): Wilson on the effective sample size p(1-p)/V, V the cluster-robust
      variance over the cells' clusters (:func:`hsp_eval.indicators.stats.ratio_variance`);
    - region and national rows: the larger of the variance over schools as clusters (columns
      ``s_*``, with at least 2 schools) and the within-school one, likewise.

    The effective sample size is kept in ``n_eff`` (gaps and publication use it). With
    ``copy=False`` the columns are added to ``df`` itself (the engine's national frame is large).
    """
    num, den = df["numerator"].to_numpy(dtype="float64"), df["denominator"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = num / den
    clustered = (_cluster_of(df["indicator"]) != "") if "indicator" in df else np.zeros(len(df), bool)
    c = [_column(df, n) for n in CLUSTER_SUMS]
    v_unit = np.where(clustered, stats.ratio_variance(num, den, *c), p * (1 - p) / den)
    above = (df["level"] != "school").to_numpy() if "level" in df else np.zeros(len(df), bool)
    v_school = np.where(above, stats.ratio_variance(num, den, *[_column(df, n) for n in SCHOOL_SUMS]), np.nan)
    v = np.fmax(v_unit, v_school)
    fallback = np.where(clustered & ~np.isnan(c[3]), c[3], den)  # p of 0 or 1: one observation per cluster
    n_eff = np.minimum(stats.effective_n(p, v, fallback), den)
    # a variance over G clusters is itself uncertain: t with G - 1 degrees of freedom (as Wilson's width)
    by_schools = above & (v_school >= np.nan_to_num(v_unit))
    clusters = np.where(by_schools, _column(df, "s_n"), np.where(clustered, c[3], np.nan))
    n_eff = stats.t_adjusted_n(n_eff, clusters)
    n_eff = np.where(clustered | above, n_eff, den)
    lo, hi = stats.wilson_effective(p, n_eff)
    if copy:
        return df.assign(value=p, ci_low=lo, ci_high=hi, n_eff=n_eff)
    df["value"], df["ci_low"], df["ci_high"], df["n_eff"] = p, lo, hi, n_eff
    return df


#: sums over the schools of a region or the nation (schools as clusters): y^2, x y, x^2, schools
SCHOOL_SUMS = ("s_yy", "s_xy", "s_xx", "s_n")


def finish_means(df: pd.DataFrame) -> pd.DataFrame:
    """Turn n/sum/sumsq rows into mean rows with a t interval (numerator blank).

    School rows: t over the people. Region and national rows: the larger of that variance and the
    one over schools as clusters (the mean is a ratio of sums over schools), t with the schools'
    degrees of freedom when that one is used.
    """
    n = df["denominator"].to_numpy(dtype="float64")
    mean = df["sum"].to_numpy() / n
    var = np.where(n > 1, (df["sumsq"].to_numpy() - n * mean * mean) / np.maximum(n - 1, 1), np.nan)
    sd = np.sqrt(np.clip(var, 0, None))
    lo, hi = stats.t_interval(mean, sd, n)
    if "level" in df and (df["level"] != "school").any():
        v_people = sd * sd / n
        v_school = stats.ratio_variance(df["sum"].to_numpy(), n, *[_column(df, c) for c in SCHOOL_SUMS])
        wider = np.isfinite(v_school) & (v_school > np.nan_to_num(v_people)) & (df["level"] != "school").to_numpy()
        if wider.any():
            schools = _column(df, "s_n")
            slo, shi = stats.t_interval(mean, np.sqrt(v_school) * np.sqrt(schools), schools)
            lo, hi = np.where(wider, slo, lo), np.where(wider, shi, hi)
    return df.drop(columns=["sum", "sumsq"]).assign(numerator=np.nan, value=mean, ci_low=lo, ci_high=hi)
