"""Benchmark: the engine's packed-integer counting layer against plain pandas and DuckDB SQL.

    .venv/bin/python bench/counting_layer.py DATA_DIR                  # every step, 3 rounds
    .venv/bin/python bench/counting_layer.py DATA_DIR --steps voice --rounds 5

Three steps of the indicator engine, each computed from the same loaded and validated tables
(``hsp_eval.load_dataset``, not timed) in five ways, which must give the same numbers:

- ``package``: the engine's own code (:mod:`hsp_eval.indicators.units`, ``aggregate``, the topic
  modules), using the rows the loader matched while checking the data (``Dataset.links``);
- ``package_nolinks``: the same code on the same tables without those links, so that it matches
  the keys itself, as pandas and DuckDB must;
- ``pandas``: plain pandas on the tidy tables (``merge``, ``drop_duplicates``, ``groupby``);
- ``duckdb_1t`` and ``duckdb``: the same in DuckDB SQL over the loaded DataFrames, with one thread
  and with DuckDB's default (every core).

The steps:

``reach``: the ``reach`` indicator (families who attended at least one activity) by school x year
x group, for every family group type (``all``, ``ethnicity``, ``ethnicity_prioritised``,
``year_band``, ``target``, ``new_family``): numerator, denominator, people, and the sums of the
families' record keys that publication's rounding draws from (``ck_numerator``,
``ck_denominator``). *setup* builds the family units and their group memberships (shared by every
family indicator in the engine), *count* finds the reached families and counts them into cells.

``voice``: ``scale_favourable`` (favourable answers among answered survey items) by school x year
x ``role:scale``: numerator, denominator, people (distinct respondents), people_num (respondents
with a favourable answer) and the key sums ``ck_numerator``, ``ck_denominator``, ``ck_people``.
*setup* scores every answer (reverse-scored items, favourable or not: shared by every voice
indicator), *count* groups and counts them.

``self_review``: ``self_review_rating`` (a mean) by school x year x ``dimension:rater_group``, one
group per rating: n, sum, sum of squares, people and the key sums (0.8 M ratings nationally). The
package counted it with the packed-integer layer until issue 19, when this benchmark showed a plain
group-by faster: ``package`` is now :func:`hsp_eval.indicators.topics.self_review.rating_counts`,
itself a ``groupby`` (its time includes the record keys, which the other ways make in setup).
No links are involved, so there is no ``package_nolinks`` way.

Record keys are made by the package's hashing (:mod:`hsp_eval.data.keys`) in every way: they must
stay byte-identical whatever counts them, since publication's rounding depends on them. DuckDB
gets the hashes of respondents and items as columns and mixes them per answer in SQL (splitmix64
in 128-bit integers); the family keys are hashed per enrolment row for DuckDB (one pass before
the SQL, timed as part of its setup).

Every way runs once to check that the results are equal (to the last bit, sorted by cell), then
``--rounds`` rounds alternate the ways (the order rotating each round) so that a shared
machine's drift hits them alike. Printed per way and step: median and best seconds of setup,
count and total, the total's ratio to ``package``, and the peak resident memory above what was
held before the run (the high-water mark, reset before each run through /proc/self/clear_refs).
Results and what they decide: docs/performance.md and docs/architecture.md ("The counting layer").
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

import numpy as np
import pandas as pd

#: the tables each step reads (schools and enrolments are always loaded)
TABLES = {"reach": ["activities", "attendance"], "voice": ["survey_items", "survey_respondents", "survey_responses"],
          "self_review": ["self_review"]}
CELL = ["school_id", "year", "group_type", "group"]
RESPONDENT = ["instrument", "year", "school_id", "respondent_id"]


# ---------------------------------------------------------------------------------------------
# memory

def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------
# canonical form of a result: one row per cell, sorted, plain dtypes

def canonical(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"school_id": df["school_id"].astype("str").to_numpy(object),
                        "year": df["year"].to_numpy(dtype=np.int64),
                        "group_type": df["group_type"].astype("str").to_numpy(object),
                        "group": df["group"].astype("str").to_numpy(object)})
    for c in cols:
        out[c] = df[c].to_numpy(dtype="float64")
    return out.sort_values(CELL, kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# reach

REACH_COLS = ["numerator", "denominator", "people", "ck_numerator", "ck_denominator"]


def reach_package(ds):
    from hsp_eval.indicators.aggregate import count, for_indicator
    from hsp_eval.indicators.engine import Context
    from hsp_eval.indicators.topics import participation
    from hsp_eval.data.keys import positions

    ctx = Context.build(ds)  # family units, their memberships of every group type, cells with record keys
    yield "setup"
    acts, att = ds["activities"], ds["attendance"]
    pos = ds.rows_in("attendance", "activities")  # as participation.counted does
    if pos is None:
        pos = positions(att, ["activity_id"], acts, ["activity_id"])
    rows = participation.register_rows(acts, att, pos)
    unit = ctx.family_unit_of("attendance", lambda: participation._joined(acts, att, pos), rows["row"].to_numpy())
    fm = participation.family_measures(len(ctx.families), unit, rows)
    yield count(for_indicator(ctx.family_cells, "reach"), fm["reached"].to_numpy())


def reach_package_nolinks(ds):
    from hsp_eval.data.dataset import Dataset

    yield from reach_package(Dataset(dict(ds.tables), ds.source, ds.report))  # no links: keys matched here


def _family_record_keys(frame: pd.DataFrame) -> np.ndarray:
    from hsp_eval.data.keys import record_keys

    return record_keys(frame, ["school_id", "family_id"], "family")


def _split_ethnicity(values) -> pd.DataFrame:
    """Each distinct ethnicity cell (a ';'-joined list) and the groups in it, one row each, with the
    group's prioritisation rank."""
    from hsp_eval.data.vocab import ETHNIC_GROUPS, NOT_STATED, PRIORITY_ORDER

    groups = ETHNIC_GROUPS + (NOT_STATED,)
    rank = {g: i for i, g in enumerate(PRIORITY_ORDER + (NOT_STATED,))}
    pairs = [(v, g) for v in values for g in str(v).split(";") if g in groups]
    return pd.DataFrame({"ethnicity": [v for v, _ in pairs], "group": [g for _, g in pairs],
                         "rank": [rank[g] for _, g in pairs]})


def reach_pandas(ds):
    from hsp_eval.data.vocab import YEAR_BANDS

    key = ["school_id", "year", "family_id"]
    e = ds["enrolments"].astype({"school_id": "str", "ethnicity": "str"})
    fam = (e.assign(target=e["target"].fillna(False).astype(bool))  # one row per family unit
           .groupby(key, sort=False, as_index=False)["target"].any())
    fam["fkey"] = _family_record_keys(fam)
    # the groups of each family: every group of its enrolled children
    lookup = _split_ethnicity(e["ethnicity"].dropna().unique())
    eth = e[key + ["ethnicity"]].merge(lookup, on="ethnicity")[key + ["group", "rank"]].drop_duplicates(key + ["group"])
    prio = eth.sort_values("rank", kind="stable").drop_duplicates(key)[key + ["group"]]
    edges = [-1] + [hi for _, hi in YEAR_BANDS.values()]
    band = e[key].assign(group=pd.cut(e["year_level"], bins=edges, labels=list(YEAR_BANDS)).astype("str"))
    band = band.drop_duplicates()
    before = fam[key].assign(year=fam["year"] + 1, returning=True)
    first = fam.groupby("school_id")["year"].transform("min")
    new = fam[fam["year"] > first][key].merge(before, on=key, how="left")
    new["group"] = np.where(new["returning"].eq(True), "returning", "new")
    parts = [fam[key].assign(group_type="all", group="all"),
             eth[key + ["group"]].assign(group_type="ethnicity"),
             prio.assign(group_type="ethnicity_prioritised"),
             band.assign(group_type="year_band"),
             fam[key].assign(group_type="target", group=np.where(fam["target"], "target", "not_target")),
             new[key + ["group"]].assign(group_type="new_family")]
    members = pd.concat(parts, ignore_index=True).merge(fam[key + ["fkey"]], on=key)
    yield "setup"
    # families who attended at least one activity that year at that school
    acts = ds["activities"].astype({"school_id": "str"})
    acts = acts.assign(year=acts["date"].dt.year)[["activity_id", "school_id", "year"]]
    came = ds["attendance"].loc[ds["attendance"]["attended"].to_numpy(dtype=bool), ["activity_id", "family_id"]]
    reached = came.merge(acts, on="activity_id")[key].drop_duplicates().assign(reached=1.0)
    m = members.merge(reached, on=key, how="left")
    m["reached"] = m["reached"].fillna(0.0)
    m["kn"] = m["fkey"] * m["reached"]
    out = m.groupby(CELL, sort=False).agg(numerator=("reached", "sum"), denominator=("reached", "size"),
                                          ck_numerator=("kn", "sum"), ck_denominator=("fkey", "sum")).reset_index()
    yield out.assign(people=out["denominator"])


REACH_SQL = """
WITH eth AS (SELECT DISTINCT e.school_id, e.year, e.family_id, l."group", l.rank
             FROM e JOIN lookup l USING (ethnicity)),
fam AS (SELECT school_id, year, family_id, any_value(fkey) AS fkey,
               bool_or(coalesce(target, false)) AS target FROM e GROUP BY ALL),
first AS (SELECT school_id, min(year) AS y0 FROM fam GROUP BY ALL),
groups AS (
  SELECT school_id, year, family_id, 'all' AS group_type, 'all' AS "group" FROM fam
  UNION ALL SELECT school_id, year, family_id, 'ethnicity', "group" FROM eth
  UNION ALL SELECT school_id, year, family_id, 'ethnicity_prioritised', arg_min("group", rank) FROM eth GROUP BY ALL
  UNION ALL SELECT DISTINCT school_id, year, family_id, 'year_band',
                   CASE WHEN year_level <= 3 THEN '0-3' WHEN year_level <= 6 THEN '4-6' WHEN year_level <= 8 THEN '7-8'
                        WHEN year_level <= 10 THEN '9-10' ELSE '11-13' END FROM e
  UNION ALL SELECT school_id, year, family_id, 'target', CASE WHEN target THEN 'target' ELSE 'not_target' END FROM fam
  UNION ALL SELECT f.school_id, f.year, f.family_id, 'new_family',
                   CASE WHEN p.family_id IS NULL THEN 'new' ELSE 'returning' END
            FROM fam f JOIN first s ON s.school_id = f.school_id AND f.year > s.y0
            LEFT JOIN fam p ON p.school_id = f.school_id AND p.year = f.year - 1 AND p.family_id = f.family_id)
SELECT g.*, f.fkey FROM groups g JOIN fam f USING (school_id, year, family_id)
"""

REACH_COUNT_SQL = """
WITH reached AS (SELECT DISTINCT a.school_id, year(a.date) AS year, t.family_id
                 FROM attendance t JOIN activities a USING (activity_id) WHERE t.attended)
SELECT m.school_id, m.year, m.group_type, m."group",
       sum(CASE WHEN r.family_id IS NULL THEN 0 ELSE 1 END)::DOUBLE AS numerator,
       count(*)::DOUBLE AS denominator, count(*)::DOUBLE AS people,
       sum(CASE WHEN r.family_id IS NULL THEN 0 ELSE m.fkey END) AS ck_numerator,
       sum(m.fkey) AS ck_denominator
FROM members m LEFT JOIN reached r USING (school_id, year, family_id)
GROUP BY ALL
"""


def _duckdb(threads: int | None):
    import duckdb

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    return con


def _plain(df: pd.DataFrame, cols) -> pd.DataFrame:
    """The columns DuckDB reads, as the loader holds them: DuckDB reads a categorical as an ENUM and
    joins ENUMs of different tables. (Spelling them out as text first was slower: on 250 schools the
    voice step took 5.7-8.0 s that way, 1.6-3.0 s with the categoricals, and twice the memory.)"""
    return df[cols]


def reach_duckdb(ds, threads: int | None = None):
    con = _duckdb(threads)
    e = _plain(ds["enrolments"], ["school_id", "year", "family_id", "year_level", "ethnicity", "target"])
    e = e.assign(fkey=_family_record_keys(e))  # hashed per enrolment row: equal for a family's rows
    lookup = _split_ethnicity(e["ethnicity"].dropna().unique())
    con.register("e", e)
    con.register("lookup", lookup)
    con.execute("CREATE TEMP TABLE members AS " + REACH_SQL)
    yield "setup"
    con.register("attendance", _plain(ds["attendance"], ["activity_id", "family_id", "attended"]))
    con.register("activities", _plain(ds["activities"], ["activity_id", "school_id", "date"]))
    yield con.execute(REACH_COUNT_SQL).df()
    con.close()


# ---------------------------------------------------------------------------------------------
# voice: scale_favourable

VOICE_COLS = ["numerator", "denominator", "people", "people_num", "ck_numerator", "ck_denominator", "ck_people"]


def voice_package(ds):
    from hsp_eval.indicators.topics import voice

    answers = voice._answers(ds)  # every answered response scored, as integer rows
    yield "setup"
    scale, names = answers.scale_codes()
    on = np.flatnonzero(scale >= 0)
    yield voice._grouped_count(answers, on, scale[on], names, True, "scale")


def voice_package_nolinks(ds):
    from hsp_eval.data.dataset import Dataset

    yield from voice_package(Dataset(dict(ds.tables), ds.source, ds.report))


def _hashes(ds):
    from hsp_eval.data.keys import record_hashes

    who, items = ds["survey_respondents"], ds["survey_items"]
    return record_hashes(who, RESPONDENT, "respondent"), record_hashes(items, ["instrument", "item_id"], "item")


def voice_pandas(ds):
    from hsp_eval.data.keys import mix64, to_record_keys

    rhash, ihash = _hashes(ds)
    item_cols = ["instrument", "item_id", "scale", "response_min", "response_max", "favourable_min", "reverse"]
    items = ds["survey_items"][item_cols].assign(ihash=ihash)
    items = items[items["scale"].notna()]
    who = ds["survey_respondents"][RESPONDENT + ["role"]].assign(rhash=rhash)
    r = ds["survey_responses"]
    r = r[r["response"].notna()]
    a = r.merge(items, on=["instrument", "item_id"]).merge(who, on=RESPONDENT)
    response = a["response"].to_numpy(dtype="float64")
    scored = np.where(a["reverse"].to_numpy(dtype=bool),
                      (a["response_min"] + a["response_max"]).to_numpy(dtype="float64") - response, response)
    a["favourable"] = (scored >= a["favourable_min"].to_numpy(dtype="float64")).astype("float64")
    a["key"] = to_record_keys(mix64(a["rhash"].to_numpy(np.uint64) ^ a["ihash"].to_numpy(np.uint64), copy=False))
    a["rkey"] = to_record_keys(a["rhash"].to_numpy(np.uint64))
    a = a.drop(columns=["rhash", "ihash", "response_min", "response_max", "favourable_min", "reverse", "item_id"])
    yield "setup"
    by = ["school_id", "year", "role", "scale"]
    a["kfav"] = a["key"] * a["favourable"]
    g = a.groupby(by, observed=True, sort=False).agg(
        numerator=("favourable", "sum"), denominator=("favourable", "size"),
        ck_numerator=("kfav", "sum"), ck_denominator=("key", "sum"))
    per = a.groupby(by + ["instrument", "respondent_id"], observed=True, sort=False).agg(
        fav=("favourable", "max"), rkey=("rkey", "first"))
    p = per.groupby(level=by, observed=True, sort=False).agg(people=("fav", "size"), people_num=("fav", "sum"),
                                                             ck_people=("rkey", "sum"))
    out = g.join(p).reset_index()
    out["group"] = out["role"].astype("str") + ":" + out["scale"].astype("str")
    yield out.assign(group_type="scale")


#: splitmix64's finaliser (keys.mix64) in SQL: products wrap at 2**64, through 128-bit integers and a
#: mask (``% 2**64`` is correct too, but about 170x slower in DuckDB 2.0: 12 s against 0.07 s on 2 M rows)
_MUL = "((({x})::UHUGEINT * {c}::UHUGEINT) & 18446744073709551615::UHUGEINT)::UBIGINT"

VOICE_SQL = """
WITH a AS (
  SELECT r.school_id, r.year, w.role, i.scale, w.instrument, r.respondent_id, w.rhash,
         CASE WHEN i."reverse" THEN i.response_min + i.response_max - r.response ELSE r.response END
           >= i.favourable_min AS fav,
         xor(w.rhash, i.ihash) AS h0
  FROM responses r JOIN items i USING (instrument, item_id)
  JOIN who w USING (instrument, year, school_id, respondent_id)
  WHERE r.response IS NOT NULL AND i.scale IS NOT NULL),
m1 AS (SELECT * EXCLUDE (h0), MUL1 AS h1 FROM a),
m2 AS (SELECT * EXCLUDE (h1), MUL2 AS h2 FROM m1),
k AS (SELECT * EXCLUDE (h2), ((xor(h2, h2 >> 31)) >> 40)::DOUBLE AS key FROM m2),
per AS (SELECT school_id, year, role, scale, instrument, respondent_id, bool_or(fav) AS fav,
               any_value(rhash >> 40)::DOUBLE AS rkey FROM k GROUP BY ALL),
g AS (SELECT school_id, year, role, scale, sum(fav::INTEGER)::DOUBLE AS numerator, count(*)::DOUBLE AS denominator,
             sum(CASE WHEN fav THEN key ELSE 0 END) AS ck_numerator, sum(key) AS ck_denominator FROM k GROUP BY ALL),
p AS (SELECT school_id, year, role, scale, count(*)::DOUBLE AS people, sum(fav::INTEGER)::DOUBLE AS people_num,
             sum(rkey) AS ck_people FROM per GROUP BY ALL)
SELECT school_id, year, 'scale' AS group_type, role || ':' || scale AS "group", g.numerator, g.denominator,
       p.people, p.people_num, g.ck_numerator, g.ck_denominator, p.ck_people
FROM g JOIN p USING (school_id, year, role, scale)
""".replace("MUL1", _MUL.format(x="xor(h0, h0 >> 30)", c=0xBF58476D1CE4E5B9)).replace(
    "MUL2", _MUL.format(x="xor(h1, h1 >> 27)", c=0x94D049BB133111EB))


def voice_duckdb(ds, threads: int | None = None):
    con = _duckdb(threads)
    rhash, ihash = _hashes(ds)
    con.register("items", _plain(ds["survey_items"], ["instrument", "item_id", "scale", "response_min",
                                                      "response_max", "favourable_min", "reverse"]).assign(ihash=ihash))
    con.register("who", _plain(ds["survey_respondents"], RESPONDENT + ["role"]).assign(rhash=rhash))
    con.register("responses", _plain(ds["survey_responses"], RESPONDENT + ["item_id", "response"]))
    yield "setup"  # DuckDB plans the joins with the counts: its scoring cannot be timed apart
    yield con.execute(VOICE_SQL).df()
    con.close()


# ---------------------------------------------------------------------------------------------
# self-review: self_review_rating (one group per row)

RATING_COLS = ["denominator", "sum", "sumsq", "people", "ck_denominator", "ck_people"]


def _rating_keys(r: pd.DataFrame) -> np.ndarray:
    """Each rating's record key, as self_review.rating_counts makes it (which of its group's ratings it is)."""
    from hsp_eval.data.keys import record_keys

    cols = ["school_id", "year", "framework", "dimension", "rater_group"]
    nth = r.groupby(cols, observed=True, sort=False).cumcount()
    return record_keys(r[cols].assign(nth=nth.to_numpy()), cols + ["nth"], "rating")


def rating_package(ds):
    from hsp_eval.indicators.topics import self_review

    r = ds["self_review"].reset_index(drop=True)
    yield "setup"
    # the package's own way since issue 19: one group-by (record keys included, unlike the others' setup)
    yield self_review.rating_counts(r)


def rating_pandas(ds):
    r = ds["self_review"].reset_index(drop=True)
    r = r.assign(key=_rating_keys(r), group=r["dimension"].astype("str") + ":" + r["rater_group"].astype("str"))
    yield "setup"
    v = r["rating"].to_numpy(dtype="float64")
    g = r.assign(v=v, vv=v * v).groupby(["school_id", "year", "group"], observed=True, sort=False).agg(
        denominator=("v", "size"), sum=("v", "sum"), sumsq=("vv", "sum"), ck_denominator=("key", "sum"))
    g = g.reset_index()
    yield g.assign(group_type="dimension", people=g["denominator"], ck_people=g["ck_denominator"])


RATING_SQL = """
SELECT school_id, year, 'dimension' AS group_type, dimension || ':' || rater_group AS "group",
       count(*)::DOUBLE AS denominator, sum(rating)::DOUBLE AS sum, sum(rating * rating)::DOUBLE AS sumsq,
       count(*)::DOUBLE AS people, sum(key) AS ck_denominator, sum(key) AS ck_people
FROM r GROUP BY ALL
"""


def rating_duckdb(ds, threads: int | None = None):
    con = _duckdb(threads)
    r = ds["self_review"].reset_index(drop=True)
    cols = ["school_id", "year", "dimension", "rater_group", "rating"]
    con.register("r", _plain(r, cols).assign(key=_rating_keys(r)))
    yield "setup"
    yield con.execute(RATING_SQL).df()
    con.close()


# ---------------------------------------------------------------------------------------------

STEPS = {
    "reach": ({"package": reach_package, "package_nolinks": reach_package_nolinks, "pandas": reach_pandas,
               "duckdb_1t": lambda ds: reach_duckdb(ds, 1), "duckdb": reach_duckdb}, REACH_COLS),
    "voice": ({"package": voice_package, "package_nolinks": voice_package_nolinks, "pandas": voice_pandas,
               "duckdb_1t": lambda ds: voice_duckdb(ds, 1), "duckdb": voice_duckdb}, VOICE_COLS),
    "self_review": ({"package": rating_package, "pandas": rating_pandas,  # no links: nothing to match
                     "duckdb_1t": lambda ds: rating_duckdb(ds, 1), "duckdb": rating_duckdb}, RATING_COLS),
}


def run_once(fn, ds) -> tuple[pd.DataFrame, float, float, float]:
    """One run of a way: its result, setup and count seconds, and its peak memory above the start (MB).

    Memory the last run freed is given back first, so that this run's peak is not read above what
    the previous one left in the allocator's free lists (which this run would reuse unseen)."""
    from hsp_eval.data.memory import release_free_memory

    gc.collect()
    release_free_memory()
    base = _status_mb("VmRSS")
    _reset_peak()
    t0 = time.perf_counter()
    steps = fn(ds)
    assert next(steps) == "setup"
    t1 = time.perf_counter()
    result = next(steps)
    t2 = time.perf_counter()
    peak = _status_mb("VmHWM") - base
    steps.close()
    return result, t1 - t0, t2 - t1, peak


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="a generated dataset folder (hsp-eval generate ... --format parquet)")
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--ways", default=",".join(STEPS["reach"][0]))
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    import hsp_eval

    steps = args.steps.split(",")
    t = time.perf_counter()
    ds = hsp_eval.load_dataset(args.data, tables=[t for step in steps for t in TABLES[step]])
    print(f"{args.data}: loaded and validated in {time.perf_counter() - t:.1f} s (not timed below); "
          + ", ".join(f"{len(df):,} {name}" for name, df in ds.tables.items())
          + f"; resident {_status_mb('VmRSS'):,.0f} MB; "
          f"pid {os.getpid()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    for step in steps:
        fns, cols = STEPS[step]
        ways = [w for w in args.ways.split(",") if w in fns]
        times = {w: [] for w in ways}
        ref = None
        for w in ways:  # once each, checked against the package
            result, s, c, peak = run_once(fns[w], ds)
            got = canonical(result, cols)
            del result
            if ref is None:
                ref = got
                print(f"\n{step}: {len(ref):,} cells")
            else:
                pd.testing.assert_frame_equal(got, ref, check_exact=True, obj=f"{step}: {w} against {ways[0]}")
            del got
            times[w].append((s, c, peak))
        print(f"{step}: every way gives the same {len(cols)} columns for every cell, to the last bit "
              f"({', '.join(cols)})")
        for r in range(args.rounds):
            order = ways[r % len(ways):] + ways[:r % len(ways)]
            for w in order:
                result, s, c, peak = run_once(fns[w], ds)
                del result
                times[w].append((s, c, peak))
        pkg = statistics.median(s + c for s, c, _ in times[ways[0]])
        print(f"{step}: {1 + args.rounds} runs a way (the first also checked), load average now "
              f"{os.getloadavg()[0]:.2f}")
        print(f"  {'way':<16} {'setup s':>9} {'count s':>9} {'total s':>9} {'best':>7} {'vs ' + ways[0]:>11} "
              f"{'peak +MB':>9}")
        for w in ways:
            s = statistics.median(x[0] for x in times[w])
            c = statistics.median(x[1] for x in times[w])
            tot = statistics.median(x[0] + x[1] for x in times[w])
            best = min(x[0] + x[1] for x in times[w])
            peak = max(x[2] for x in times[w])
            print(f"  {w:<16} {s:>9.2f} {c:>9.2f} {tot:>9.2f} {best:>7.2f} {tot / pkg:>10.2f}x {peak:>9,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
