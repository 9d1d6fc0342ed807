"""The indicator engine: every indicator for every school and year, in one pass.

:func:`compute` returns the long indicator table of the spec, with exactly the columns
``level, area_id, year, indicator, group_type, group, numerator, denominator, value,
ci_low, ci_high, suppressed`` at school, region and national level. Indicators whose
tables are missing give no rows; :func:`not_available` says which.

The work is vectorised across schools (no loop over schools or families) and every
indicator is school-local, so ``compute`` on a subset of schools gives exactly those
schools' rows: the distributed path splits by school and concatenates.

Examples
--------
>>> import hsp_eval
>>> ds = hsp_eval.load_dataset("data/demo")          # doctest: +SKIP
>>> table = compute(ds, min_n=5)                     # doctest: +SKIP
>>> table.query("level == 'school' and indicator == 'reach' and group == 'all'")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hsp_eval.indicators.topics import communication, inquiry, participation, self_review, voice
from hsp_eval.indicators import disclosure, stats
from hsp_eval.indicators.aggregate import CLUSTER_SUMS, KEY_SUMS, SCHOOL_SUMS, Cells, finish_means, finish_proportions
from hsp_eval.data.keys import record_keys
from hsp_eval.data.memory import release_free_memory
from hsp_eval.indicators.registry import GAP_SUFFIX, INDICATORS, REGISTRY, base_id
from hsp_eval.indicators.units import GAP_GROUP_TYPES, Units, family_keys, family_units, student_units

COLUMNS = ["level", "area_id", "year", "indicator", "group_type", "group", "numerator", "denominator",
           "people", "value", "ci_low", "ci_high", "suppressed"]
LEVELS = ("school", "region", "national")
TEXT_KEYS = ("level", "area_id", "indicator", "group_type", "group")


@dataclass
class Context:
    """What every topic module gets: the dataset, its units and their cells, and regions.

    Student units (and their cells) are built on first use: families are enough for most
    indicators. ``wanted`` holds the registry ids the caller asked for (None: every one);
    a topic may skip the work of the others (:meth:`wants`).
    """

    dataset: object
    families: Units
    family_cells: Cells
    region_of: pd.Series  #: school_id -> region name
    group_types: tuple | None = None  #: group types whose memberships are built (None: all)
    wanted: frozenset | None = None
    cache: dict = field(default_factory=dict)  #: intermediate frames a topic reuses in counted and derived

    @classmethod
    def build(cls, dataset, group_types=None, indicators=None) -> Context:
        e = dataset["enrolments"]  # all years: year-over-year indicators need y-1
        families = family_units(e, group_types)
        return cls(dataset, families, Cells.build(families.frame, families.groups, family_keys(families.frame)),
                   dataset["schools"].set_index("school_id")["region"].astype("str"),
                   None if group_types is None else tuple(group_types),
                   None if indicators is None else frozenset(base_id(i) for i in indicators))

    @property
    def students(self) -> Units:
        if "units.students" not in self.cache:
            self.cache["units.students"] = student_units(self.dataset["enrolments"], self.group_types,
                                                         self.families)
        return self.cache["units.students"]

    @property
    def student_cells(self) -> Cells:
        if "units.student_cells" not in self.cache:
            self.cache["units.student_cells"] = Cells.build(
                self.students.frame, self.students.groups,
                record_keys(self.students.frame, ["school_id", "student_id"], "student"))
        return self.cache["units.student_cells"]

    def family_unit_of(self, table: str, rows, take: np.ndarray | None = None) -> np.ndarray:
        """Family unit of each row of the dataset's ``table`` (or of its rows at ``take``); -1 if none.

        Uses the enrolment row of each row that the loader found while checking the table
        (:meth:`hsp_eval.Dataset.enrolment_rows`) when the dataset has it; otherwise matches the
        rows on school, year and family: ``rows()`` gives them (those at ``take``), with ``year``.
        """
        found = self.dataset.enrolment_rows(table)
        if found is None or self.families.row_unit is None:
            return self.families.locate(rows(), "family_id")
        unit = self.families.of_rows(found)
        return unit if take is None else unit[take]

    def wants(self, *ids: str) -> bool:
        """True when any of the indicators ``ids`` was asked for.

        Examples
        --------
        >>> Context(None, None, None, None, wanted=frozenset({"reach"})).wants("reach", "breadth")
        True
        """
        return self.wanted is None or any(i in self.wanted for i in ids)


#: topic modules in the order their rows are computed. Each has
#: ``counted(ctx) -> DataFrame`` (school-level sum-able rows: school_id, year, indicator,
#: group_type, group, numerator, denominator, and sum/sumsq for means), may have
#: ``pooled(ctx) -> dict[str, DataFrame]`` (per-school inputs of rows that do not roll up by
#: summing: moments for Cronbach's alpha, the rows a model is fitted on), and may have
#: ``derived(table, pooled, region_of) -> DataFrame`` (rows in the final columns at every
#: level, from the finished table or the pooled inputs of every school).
TOPICS = {"participation": participation, "communication": communication, "voice": voice,
          "inquiry": inquiry, "self_review": self_review}
#: the order the topics run in: the two that count student units back to back, so that the
#: student units are freed before the survey answers are built (a lower peak of memory)
RUN_ORDER = ("participation", "inquiry", "communication", "voice", "self_review")
STUDENT_TOPICS = frozenset({"participation", "inquiry"})


def not_available(dataset, indicators=None) -> list[str]:
    """Indicator ids (of ``indicators``, default all) that cannot be computed: a table they need is missing."""
    wanted = None if indicators is None else {base_id(i) for i in indicators}
    return [i.id for i in INDICATORS if not all(dataset.has(t) for t in i.tables)
            and (wanted is None or i.id in wanted)]


def tables_needed(indicators=None) -> list[str]:
    """The contract tables computing ``indicators`` reads (every table when None), in load order.

    ``schools`` and ``enrolments`` are always needed (the units and regions come from them).

    Examples
    --------
    >>> tables_needed(["reach", "portal_adoption_gap_vs_rest"])
    ['schools', 'enrolments', 'activities', 'attendance', 'portal_usage']
    """
    from hsp_eval.data.contract import REQUIRED_TABLES, TABLES

    if indicators is None:
        return list(TABLES)
    wanted = set(REQUIRED_TABLES) | {t for i in indicators for t in REGISTRY[base_id(i)].tables}
    return [t for t in TABLES if t in wanted]


def _available_topics(dataset, wanted=None):
    missing = set(not_available(dataset))
    wanted = None if wanted is None else {base_id(i) for i in wanted}
    return [m for name, m in TOPICS.items()
            if any(i.topic == name and i.id not in missing and (wanted is None or i.id in wanted)
                   for i in INDICATORS)]


def _release(ctx: Context, name: str, later: set[str]) -> None:
    """Drop the intermediates topic ``name`` cached that none of the ``later`` topics reads."""
    for key in [k for k in ctx.cache if k.startswith(name + ".")]:
        del ctx.cache[key]
    if not STUDENT_TOPICS & later:
        ctx.cache.pop("units.students", None)
        ctx.cache.pop("units.student_cells", None)


def _run_topics(ctx: Context, topics) -> tuple[list[pd.DataFrame], dict[str, pd.DataFrame]]:
    """Each topic's counted rows (in the order of ``topics``) and their pooled inputs, the
    topics run in :data:`RUN_ORDER`, each one's cached intermediates freed once no later one needs them."""
    names = {m: name for name, m in TOPICS.items()}
    todo = sorted(topics, key=lambda m: RUN_ORDER.index(names[m]))
    counted, pooled = {}, {}
    for i, m in enumerate(todo):
        if hasattr(m, "pooled"):
            pooled.update(m.pooled(ctx))
        counted[m] = m.counted(ctx)
        _release(ctx, names[m], {names[t] for t in todo[i + 1:]})
        # give what the topic freed back to the system: the C heap keeps freed arrays of up to
        # 32 MB (a column of a few million rows) for reuse, which held 1-1.5 GB after each topic
        # at national scale and put the next topic's peak on top of it (docs/performance.md)
        release_free_memory()
    return [counted[m] for m in topics], pooled


def _counted(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """School-level counted rows of every available indicator (sum-able columns)."""
    if not parts:
        return pd.DataFrame(columns=["school_id", "year", "group_type", "group", "indicator", "numerator",
                                     "denominator", "people", "people_num", "sum", "sumsq", *KEY_SUMS,
                                     *CLUSTER_SUMS])
    return pd.concat(parts, ignore_index=True)


@dataclass
class Part:
    """What the school-local computation gives for some schools; parts of any split combine exactly.

    ``counted`` holds the school-level sum-able rows, ``pooled`` each topic's per-school inputs
    of the rows that do not roll up by summing; both carry ``school_id``.
    """

    topics: list[str]
    counted: pd.DataFrame
    pooled: dict[str, pd.DataFrame]


def compute_part(dataset, indicators=None, group_types=None) -> Part:
    """The school-local part of the engine for every school of ``dataset`` (see :func:`combine`)."""
    ctx = Context.build(dataset, group_types, indicators)
    topics = _available_topics(dataset, indicators)
    counted, pooled = _run_topics(ctx, topics)
    return Part([name for name, m in TOPICS.items() if m in topics], _counted(counted), pooled)


def _by_school(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Frames of several parts as one, ordered by school (stable), so any split gives the same frame.

    ``frames`` is emptied once they are copied into one (a national table's counted rows are
    half a gigabyte: not held twice).
    """
    df = pd.concat(frames, ignore_index=True)
    frames.clear()
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("str")
    codes, _ = pd.factorize(df["school_id"], sort=True)
    return df.iloc[np.argsort(codes, kind="stable")].reset_index(drop=True)


def combine(parts: list[Part], schools: pd.DataFrame) -> pd.DataFrame:
    """Every row at school, region and national level (before disclosure) from the parts of a split.

    Counts are summed over schools in school order and pooled inputs are stacked in school
    order, so the result is the same, to the byte, however the schools were split.
    ``parts`` is emptied as they are combined: their rows are copied into the result.
    """
    topics = parts[0].topics
    keys = sorted({k for p in parts for k in p.pooled})
    pooled = {k: _by_school([p.pooled[k] for p in parts if k in p.pooled]) for k in keys}
    frames = [p.counted for p in parts]
    parts.clear()
    held = [_roll_up(_by_school(frames), schools)]
    rows = _finish(held)
    region_of = schools.set_index("school_id")["region"].astype("str")
    derived = [TOPICS[t].derived(rows, pooled, region_of) for t in topics if hasattr(TOPICS[t], "derived")]
    return pd.concat([rows, _gaps(rows), *derived], ignore_index=True)


_SHARED: dict = {}  #: the dataset a forked worker reads (inherited, not copied, from the parent)


def _part_of(school_ids) -> Part:
    dataset, indicators, group_types = _SHARED["args"]
    return compute_part(dataset.for_schools(school_ids), indicators, group_types)


def _part_of_subset(args) -> Part:
    return compute_part(*args)


#: with more schools than this and no ``chunk_size`` given, they are counted :data:`AUTO_CHUNK` at a
#: time (the table is the same; nationally this keeps the run under 8 GB: docs/performance.md)
AUTO_CHUNK_OVER, AUTO_CHUNK = 1000, 500


def compute_parts(dataset, indicators=None, group_types=None, workers: int = 1,
                  chunk_size: int | None = None) -> list[Part]:
    """The school-local parts of ``dataset``, split by school, in ``workers`` processes.

    The schools (sorted by id) are cut into ``max(workers, ceil(n / chunk_size))`` chunks of
    consecutive ids; a smaller ``chunk_size`` lowers peak memory. Without one, more than
    :data:`AUTO_CHUNK_OVER` schools are counted :data:`AUTO_CHUNK` at a time. With ``workers > 1`` the
    chunks run in forked processes that read the parent's dataset without copying it (where
    the platform cannot fork, each chunk's tables are sent to a spawned process).
    """
    import multiprocessing as mp

    ids = np.array(sorted(dataset["schools"]["school_id"].astype("str").unique()), dtype=object)
    if chunk_size is None and len(ids) > AUTO_CHUNK_OVER:
        chunk_size = AUTO_CHUNK
    n_chunks = max(int(workers), -(-len(ids) // chunk_size) if chunk_size else 1, 1)
    n_chunks = min(n_chunks, max(len(ids), 1))
    if n_chunks == 1:
        return [compute_part(dataset, indicators, group_types)]
    chunks = [list(c) for c in np.array_split(ids, n_chunks)]
    if workers <= 1:
        return [compute_part(dataset.for_schools(c), indicators, group_types) for c in chunks]
    if "fork" in mp.get_all_start_methods():
        _SHARED["args"] = (dataset, indicators, group_types)
        try:
            with mp.get_context("fork").Pool(min(workers, n_chunks)) as pool:
                return pool.map(_part_of, chunks, chunksize=1)
        finally:
            _SHARED.clear()
    with mp.get_context("spawn").Pool(min(workers, n_chunks)) as pool:
        return pool.map(_part_of_subset, [(dataset.for_schools(c), indicators, group_types) for c in chunks],
                        chunksize=1)


def _roll_up(counted: pd.DataFrame, schools: pd.DataFrame) -> pd.DataFrame:
    """School rows plus region and national sums of the same counts.

    ``counted`` becomes the school rows (columns added and renamed in place: nationally it is a
    gigabyte, and copying it for each step put the roll-up at the run's peak).
    """
    region = schools.set_index("school_id")["region"].astype("str")
    keys = ["year", "indicator", "group_type", "group"]
    # schools are the clusters of region and national rows: each school's totals y (the numerator,
    # or a mean's sum) and x (the denominator) give the sums of y^2, x y, x^2 over them
    x = counted["denominator"].to_numpy(dtype="float64")
    y = counted["numerator"].to_numpy(dtype="float64") if "numerator" in counted else np.full(len(x), np.nan)
    if "sum" in counted:
        y = np.where(np.isnan(y), counted["sum"].to_numpy(dtype="float64"), y)
    counted["s_yy"], counted["s_xy"], counted["s_xx"] = y * y, x * y, x * x
    counted["s_n"] = (x > 0).astype("float64")
    del x, y
    sums = [c for c in ("numerator", "denominator", "people", "people_num", "sum", "sumsq", *KEY_SUMS,
                        *CLUSTER_SUMS, *SCHOOL_SUMS) if c in counted]
    by = [counted[k] for k in keys]
    reg = (counted.groupby([counted["school_id"].map(region).rename("area_id"), *by], sort=False,
                           observed=True)[sums].sum(min_count=1).reset_index().assign(level="region"))
    nat = (counted.groupby(by, sort=False, observed=True)[sums].sum(min_count=1).reset_index()
           .assign(level="national", area_id="NZ"))
    del by
    counted.columns = ["area_id" if c == "school_id" else c for c in counted.columns]
    counted["level"] = "school"
    return pd.concat([counted, reg, nat], ignore_index=True)


def _finish(held: list[pd.DataFrame]) -> pd.DataFrame:
    """Values and intervals of the rolled-up rows ``held`` (a one-item list, emptied: the rows are
    let go as soon as they are split by kind, not held beside their finished copy). The cluster
    and school sums are spent here; ``n_eff`` stays (gaps and publication use it)."""
    rows = held.pop()
    for c in ("numerator", "sum", "sumsq"):
        if c not in rows:
            rows[c] = np.nan
    codes, ids = pd.factorize(rows["indicator"])  # each distinct id looked up once, not every row
    kind = np.array([REGISTRY[i].kind for i in ids] + [""], dtype=object)[codes]
    means = finish_means(rows[kind == "mean"])
    props = rows[kind == "proportion"]
    del rows, codes, kind
    props = finish_proportions(props.drop(columns=["sum", "sumsq"], errors="ignore"), copy=False)
    spent = [c for c in (*CLUSTER_SUMS, *SCHOOL_SUMS)]
    return pd.concat([props.drop(columns=spent, errors="ignore"), means.drop(columns=spent, errors="ignore")],
                     ignore_index=True)


def _gaps(table: pd.DataFrame) -> pd.DataFrame:
    """``<id>_gap_vs_rest`` rows: value in group g minus value in the units not in g."""
    gap_ids = [i.id for i in INDICATORS if i.gap]
    keys = ["level", "area_id", "year", "indicator"]
    g = table[table["indicator"].isin(gap_ids) & table["group_type"].isin(GAP_GROUP_TYPES)]
    a = table[table["indicator"].isin(gap_ids) & (table["group_type"] == "all")][
        keys + ["numerator", "denominator", "people", "n_eff"]].rename(
        columns={"numerator": "num_all", "denominator": "den_all", "people": "people_all", "n_eff": "n_eff_all"})
    m = g.merge(a, on=keys, how="inner")
    rest_num = m["num_all"] - m["numerator"]
    rest_den = m["den_all"] - m["denominator"]
    ok = (rest_den > 0).to_numpy()
    m, rest_num, rest_den = m[ok], rest_num[ok], rest_den[ok]
    # each side on its effective sample size: the group's own; the rest's with the all row's design
    # effect (the rest's own clusters are not summed apart); as v1's Newcombe where units are independent
    lo, hi = gap_interval(m["numerator"], m["denominator"], m["n_eff"], rest_num, rest_den,
                          rest_den * m["n_eff_all"] / m["den_all"])
    return m.assign(indicator=m["indicator"] + GAP_SUFFIX,
                    value=m["numerator"] / m["denominator"] - rest_num / rest_den,
                    ci_low=lo, ci_high=hi, rest_denominator=rest_den,
                    rest_people=m["people_all"] - m["people"])[
        keys[:3] + ["indicator", "group_type", "group", "numerator", "denominator", "people", "people_num",
                    "value", "ci_low", "ci_high", "rest_denominator", "rest_people", "n_eff",
                    *[c for c in KEY_SUMS if c in m]]]


def gap_interval(num1, den1, n_eff1, num2, den2, n_eff2) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe interval for num1/den1 - num2/den2 with each share on its effective sample size."""
    def floats(a):
        return np.asarray(a, dtype="float64")

    p1, p2 = floats(num1) / floats(den1), floats(num2) / floats(den2)
    n1, n2 = np.fmin(floats(n_eff1), floats(den1)), np.fmin(floats(n_eff2), floats(den2))
    return stats.newcombe(p1 * n1, n1, p2 * n2, n2)


def _order(table: pd.DataFrame) -> pd.DataFrame:
    level_rank = table["level"].map({lvl: i for i, lvl in enumerate(LEVELS)}).to_numpy(dtype=np.int64)
    t = table.assign(_l=level_rank).sort_values(
        ["_l", "area_id", "year", "indicator", "group_type", "group"], kind="stable")
    return t.drop(columns="_l").reset_index(drop=True)


def _rows_where(rows: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    """The rows where ``keep`` is true; ``rows`` itself when all are kept (no copy of millions of rows)."""
    return rows if keep.all() else rows[keep]


ETHNICITY_CHOICES = {"total": ("ethnicity",), "prioritised": ("ethnicity_prioritised",),
                     "both": ("ethnicity", "ethnicity_prioritised")}


def compute(dataset, years=None, min_n: int = 5, publication: bool = False,
            ethnicity: str = "both", indicators=None, group_types=None, workers: int = 1,
            chunk_size: int | None = None, key: bytes | None = None, rules: bool = False) -> pd.DataFrame:
    """The indicator table of ``dataset``.

    Parameters
    ----------
    dataset : a :class:`hsp_eval.Dataset`.
    years : optional iterable of years to keep (year-over-year indicators still look at y-1).
    min_n : rows with fewer people than this are withheld, with every linked row that would give
        them away (school reports; :mod:`hsp_eval.indicators.disclosure`).
    publication : publication rules at every level instead: threshold 6, counts randomly rounded
        to base 3 by keyed draws, values and intervals from the rounded counts, written rounded.
    key : the secret key publication needs (:mod:`hsp_eval.indicators.disclosure_key`).
    rules : also return the column ``withheld_rule`` (the rule that withheld each row; "" when
        shown), from which :func:`hsp_eval.indicators.disclosure.log_of` makes the disclosure log.
    ethnicity : ``"total"`` (total response: a family in every group of its children),
        ``"prioritised"`` (one group per family in the Ministry's order) or ``"both"``:
        which ethnicity breakdowns (and their equity-gap rows) the table holds.
    indicators : optional list of indicator ids to keep (only the topics they belong to run).
    group_types : optional list of group types to keep (``["all"]`` for totals only).
    workers : processes to split the schools across (see :func:`compute_parts`).
    chunk_size : at most this many schools computed at once (lowers peak memory).

    The table is the same, byte for byte, whatever ``workers`` and ``chunk_size`` are.

    Returns
    -------
    DataFrame with exactly the columns of :data:`COLUMNS`, sorted by level (school,
    region, national), area, year, indicator, group_type and group.
    """
    if ethnicity not in ETHNICITY_CHOICES:
        raise ValueError(f"ethnicity must be one of {', '.join(ETHNICITY_CHOICES)}, not {ethnicity!r}")
    parts = compute_parts(dataset, indicators, group_types, workers=workers, chunk_size=chunk_size)
    rows = combine(parts, dataset["schools"])  # empties parts: their rows are in ``rows`` now
    # the text keys as categorical codes (sorted categories: codes sort as the text does) while
    # filtering, suppressing and ordering millions of rows; back to text once ordered
    # (a column at a time, each text column let go as its codes replace it)
    for c in TEXT_KEYS:
        rows[c] = rows[c].astype("category")
    if years is not None:
        rows = _rows_where(rows, rows["year"].isin(list(years)))
    dropped = {"ethnicity", "ethnicity_prioritised"} - set(ETHNICITY_CHOICES[ethnicity])
    rows = _rows_where(rows, ~rows["group_type"].isin(dropped))
    if indicators is not None:
        rows = _rows_where(rows, rows["indicator"].isin(list(indicators)))
    if group_types is not None:
        rows = _rows_where(rows, rows["group_type"].isin(list(group_types)))
    rows["suppressed"] = False
    region_of = dataset["schools"].set_index("school_id")["region"].astype("str")
    rows = disclosure.protect(rows, min_n=min_n, publication=publication, region_of=region_of, key=key)
    rows["year"] = rows["year"].astype("int64")
    table = _order(rows[COLUMNS + (["withheld_rule"] if rules else [])])
    return table.astype({c: "str" for c in TEXT_KEYS})


def write_table(table: pd.DataFrame, path) -> None:
    """Write the indicator table as ``.parquet`` or ``.csv`` (by the name), byte-identical on rerun.

    The file is written to a temporary name and renamed, so a reader never sees half a file.
    """
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix.lower() == ".parquet":
        table.to_parquet(tmp, index=False, compression="zstd")
    elif path.suffix.lower() == ".csv":
        table.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")
    else:
        raise ValueError(f"{path}: the indicator table is written as .parquet or .csv")
    tmp.replace(path)


def read_table(path) -> pd.DataFrame:
    """Read an indicator table written by :func:`write_table`."""
    from pathlib import Path

    path = Path(path)
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"area_id": "str", "group": "str", "group_type": "str"},
                       keep_default_na=False, na_values=[""])


def select(table: pd.DataFrame, indicator: str, group_type: str = "all", group: str = "all",
           area_id: str | None = None, year: int | None = None, level: str = "school") -> pd.DataFrame:
    """Rows of the indicator table for one indicator and group (optionally one area and year).

    Examples
    --------
    >>> t = pd.DataFrame({"level": ["school"], "area_id": ["0042"], "year": [2024], "indicator": ["reach"],
    ...                   "group_type": ["all"], "group": ["all"], "value": [0.5]})
    >>> select(t, "reach", area_id="0042")["value"].tolist()
    [0.5]
    """
    m = ((table["level"] == level) & (table["indicator"] == indicator)
         & (table["group_type"] == group_type) & (table["group"] == group))
    if area_id is not None:
        m &= table["area_id"] == area_id
    if year is not None:
        m &= table["year"] == year
    return table[m].sort_values(["area_id", "year"], kind="stable")
