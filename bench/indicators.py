"""Benchmark: the indicator engine against a DuckDB SQL reference, side by side in one run.

    .venv/bin/python bench/indicators.py                 # national scale: 2,500 schools x 5 years
    .venv/bin/python bench/indicators.py --schools 250   # a tenth, for a quick look
    .venv/bin/python bench/indicators.py --six-only      # only DuckDB and hsp_eval on the six

1. Generates the synthetic dataset as Parquet (cached in bench/_data/<schools>x<years>/).
2. In a fresh subprocess each (so peak memory is each one's own): hsp_eval loading and validating
   the files, then computing (a) the six reference indicators and (b) the full indicator table;
   DuckDB computing the six from the same Parquet files with SQL; and DuckDB computing them after
   loading the tables and running the kinds of checks hsp_eval's loader makes (:data:`DUCKDB_CHECKS`).
3. Checks that hsp_eval's and DuckDB's numerators and denominators agree for every school and year,
   and prints times, ratios ours/DuckDB (plain and checked) and peak memory (max RSS).

The six (school x year, group 'all'): reach, attendances_per_family, breadth, invitation_uptake,
two_way_share, portal_adoption. Times are wall-clock on a shared machine: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIX = ["reach", "attendances_per_family", "breadth", "invitation_uptake", "two_way_share", "portal_adoption"]

DUCKDB_SQL = """
WITH fam AS (SELECT DISTINCT school_id, year, family_id FROM {enrolments}),
nfam AS (SELECT school_id, year, count(*) AS families FROM fam GROUP BY ALL),
act AS (SELECT activity_id, school_id, year(date) AS year, activity_type FROM {activities}),
att AS (SELECT a.school_id, a.year, t.family_id, a.activity_type, t.invited, t.attended
        FROM {attendance} t JOIN act a USING (activity_id)),
came AS (SELECT * FROM att WHERE attended),
reach AS (SELECT school_id, year, count(DISTINCT family_id) AS num FROM came GROUP BY ALL),
apf AS (SELECT school_id, year, count(*) AS total FROM came GROUP BY ALL),
br AS (SELECT school_id, year, count(*) AS total FROM (SELECT DISTINCT school_id, year, family_id, activity_type
                                                       FROM came) GROUP BY ALL),
inv AS (SELECT school_id, year, count_if(attended) AS num, count(*) AS den FROM att WHERE invited GROUP BY ALL),
con AS (SELECT school_id, year(date) AS year, count_if(initiated_by = 'family') AS num, count(*) AS den
        FROM {contacts} GROUP BY ALL),
por AS (SELECT school_id, CAST(substr(month, 1, 4) AS INTEGER) AS year, count(DISTINCT family_id) AS num
        FROM {portal_usage} WHERE logins > 0 GROUP BY ALL)
SELECT 'reach' AS indicator, n.school_id, n.year, coalesce(r.num, 0) AS numerator, n.families AS denominator
  FROM nfam n LEFT JOIN reach r USING (school_id, year)
UNION ALL SELECT 'attendances_per_family', n.school_id, n.year, coalesce(a.total, 0), n.families
  FROM nfam n LEFT JOIN apf a USING (school_id, year)
UNION ALL SELECT 'breadth', n.school_id, n.year, coalesce(b.total, 0), n.families
  FROM nfam n LEFT JOIN br b USING (school_id, year)
UNION ALL SELECT 'invitation_uptake', school_id, year, num, den FROM inv
UNION ALL SELECT 'two_way_share', school_id, year, num, den FROM con
UNION ALL SELECT 'portal_adoption', n.school_id, n.year, coalesce(p.num, 0), n.families
  FROM nfam n LEFT JOIN por p USING (school_id, year)
"""


# The same six after the kinds of checks hsp_eval's loader makes, in DuckDB: text trimmed, required
# cells present, numbers in range, months that parse, category values (and each part of an
# ethnicity) in the contract's vocabularies with their aliases, no repeated keys, and every
# reference found (schools; activities; the family, and the student where given, enrolled at that
# school in that year). A cost proxy for validating in a columnar engine, not a second loader: it
# counts the failing rows of each check (hsp_eval then names each one by file, row and column).
DUCKDB_LOAD = """
CREATE TABLE sch AS SELECT trim(school_id) AS school_id, trim(region) AS region, trim(school_type) AS school_type, eqi
  FROM '{d}/schools.parquet';
CREATE TABLE enr AS SELECT year, trim(school_id) AS school_id, trim(student_id) AS student_id,
  trim(family_id) AS family_id, year_level, trim(ethnicity) AS ethnicity, trim(gender) AS gender, target
  FROM '{d}/enrolments.parquet';
CREATE TABLE acts AS SELECT trim(activity_id) AS activity_id, trim(school_id) AS school_id, date,
  trim(activity_type) AS activity_type, trim(mode) AS mode FROM '{d}/activities.parquet';
CREATE TABLE atts AS SELECT trim(activity_id) AS activity_id, trim(family_id) AS family_id,
  trim(student_id) AS student_id, invited, attended FROM '{d}/attendance.parquet';
CREATE TABLE cons AS SELECT trim(contact_id) AS contact_id, trim(school_id) AS school_id, date,
  trim(family_id) AS family_id, trim(student_id) AS student_id, trim(initiated_by) AS initiated_by,
  trim(channel) AS channel, trim(purpose) AS purpose, response_received FROM '{d}/contacts.parquet';
CREATE TABLE por AS SELECT trim(school_id) AS school_id, trim(family_id) AS family_id, trim(month) AS month,
  logins, year(try_strptime(trim(month), '%Y-%m')) AS year FROM '{d}/portal_usage.parquet';
"""
DUCKDB_CHECKS = """
WITH v(vocabulary, spelling) AS (SELECT * FROM vocab),
eth AS (SELECT e, bool_and(lower(trim(p)) IN (SELECT spelling FROM v WHERE vocabulary = 'ethnicity')) AS ok
        FROM (SELECT e, unnest(string_split(e, ';')) AS p FROM (SELECT DISTINCT ethnicity AS e FROM enr)) GROUP BY e),
fam AS (SELECT DISTINCT school_id, year, family_id FROM enr),
stu AS (SELECT DISTINCT school_id, year, student_id FROM enr),
att AS (SELECT t.*, a.school_id, year(a.date) AS year, a.activity_id IS NOT NULL AS known
        FROM atts t LEFT JOIN acts a USING (activity_id))
SELECT 'schools: missing or repeated id', count(*) - count(DISTINCT school_id) + count_if(school_id IS NULL OR school_id = '') FROM sch
UNION ALL SELECT 'schools: region, type or EQI', count_if(lower(region) NOT IN (SELECT spelling FROM v WHERE vocabulary = 'region')
  OR lower(school_type) NOT IN (SELECT spelling FROM v WHERE vocabulary = 'school_type') OR eqi < {eqi_min} OR eqi > {eqi_max}) FROM sch
UNION ALL SELECT 'enrolments: missing cells or out of range', count_if(year IS NULL OR year < {year_min} OR year > {year_max} OR school_id IS NULL
  OR student_id IS NULL OR family_id IS NULL OR school_id = '' OR student_id = '' OR family_id = '' OR year_level IS NULL
  OR year_level < {level_min} OR year_level > {level_max}) FROM enr
UNION ALL SELECT 'enrolments: ethnicity', count(*) FROM enr JOIN eth ON ethnicity = e WHERE NOT ok
UNION ALL SELECT 'enrolments: repeated key', count(*) FROM (SELECT 1 FROM enr GROUP BY year, school_id, student_id HAVING count(*) > 1)
UNION ALL SELECT 'enrolments: school unknown', count(*) FROM enr ANTI JOIN sch USING (school_id)
UNION ALL SELECT 'activities: missing, type or mode', count_if(activity_id IS NULL OR school_id IS NULL OR date IS NULL
  OR lower(activity_type) NOT IN (SELECT spelling FROM v WHERE vocabulary = 'activity_type')
  OR (mode IS NOT NULL AND lower(mode) NOT IN (SELECT spelling FROM v WHERE vocabulary = 'mode'))) FROM acts
UNION ALL SELECT 'activities: repeated id', count(*) - count(DISTINCT activity_id) FROM acts
UNION ALL SELECT 'activities: school unknown', count(*) FROM acts ANTI JOIN sch USING (school_id)
UNION ALL SELECT 'attendance: missing cells', count_if(activity_id IS NULL OR family_id IS NULL OR attended IS NULL) FROM atts
UNION ALL SELECT 'attendance: repeated key', count(*) FROM (SELECT 1 FROM atts GROUP BY activity_id, family_id HAVING count(*) > 1)
UNION ALL SELECT 'attendance: activity unknown', count_if(NOT known) FROM att
UNION ALL SELECT 'attendance: family not enrolled', count(*) FROM att ANTI JOIN fam USING (school_id, year, family_id) WHERE known
UNION ALL SELECT 'attendance: student not enrolled', count(*) FROM att ANTI JOIN stu USING (school_id, year, student_id)
  WHERE known AND student_id IS NOT NULL
UNION ALL SELECT 'contacts: missing cells or categories', count_if(contact_id IS NULL OR school_id IS NULL OR date IS NULL
  OR family_id IS NULL OR lower(initiated_by) NOT IN (SELECT spelling FROM v WHERE vocabulary = 'initiated_by')
  OR lower(channel) NOT IN (SELECT spelling FROM v WHERE vocabulary = 'channel')
  OR lower(purpose) NOT IN (SELECT spelling FROM v WHERE vocabulary = 'purpose')) FROM cons
UNION ALL SELECT 'contacts: repeated id', count(*) - count(DISTINCT contact_id) FROM cons
UNION ALL SELECT 'contacts: school unknown', count(*) FROM cons ANTI JOIN sch USING (school_id)
UNION ALL SELECT 'contacts: family not enrolled', count(*) FROM (SELECT school_id, year(date) AS year, family_id FROM cons)
  ANTI JOIN fam USING (school_id, year, family_id)
UNION ALL SELECT 'contacts: student not enrolled', count(*) FROM (SELECT school_id, year(date) AS year, student_id FROM cons
  WHERE student_id IS NOT NULL) ANTI JOIN stu USING (school_id, year, student_id)
UNION ALL SELECT 'portal: missing cells, month or logins', count_if(school_id IS NULL OR family_id IS NULL OR year IS NULL
  OR logins IS NULL OR logins < {logins_min}) FROM por
UNION ALL SELECT 'portal: repeated key', count(*) FROM (SELECT 1 FROM por GROUP BY school_id, family_id, month HAVING count(*) > 1)
UNION ALL SELECT 'portal: school unknown', count(*) FROM por ANTI JOIN sch USING (school_id)
UNION ALL SELECT 'portal: family not enrolled', count(*) FROM por ANTI JOIN fam USING (school_id, year, family_id)
"""


def _bounds() -> dict:
    """The contract's ranges the checks use (the loader's own, not copies of them)."""
    from hsp_eval.data.contract import TABLES, YEAR_MIN, YEAR_MAX

    eqi, level = TABLES["schools"].column("eqi"), TABLES["enrolments"].column("year_level")
    return {"eqi_min": eqi.min, "eqi_max": eqi.max, "year_min": YEAR_MIN, "year_max": YEAR_MAX,
            "level_min": level.min, "level_max": level.max,
            "logins_min": TABLES["portal_usage"].column("logins").min}


def _vocab_frame():
    """Every accepted spelling (folded) of the vocabularies the six's tables use, and of ethnicity."""
    import pandas as pd

    from hsp_eval.data import vocab

    rows = [(name, spelling) for name in ("region", "school_type", "activity_type", "mode", "initiated_by", "channel",
                                          "purpose") for spelling in vocab.VOCABULARIES[name][1]]
    rows += [("ethnicity", spelling) for spelling in vocab.ETHNICITY_ALIASES]
    return pd.DataFrame(rows, columns=["vocabulary", "spelling"])


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(data: str, which: str, out: str, workers: str = "1", chunk_size: str = "0") -> dict:
    """In a subprocess: load + validate, then compute the six or the full table (split by school
    across ``workers`` processes in chunks of ``chunk_size`` schools when given)."""
    import hsp_eval
    from hsp_eval.indicators import engine as indicators

    t0 = time.perf_counter()
    # the six need only some tables (as DuckDB reads only those files); the full table needs all
    ds = hsp_eval.load_dataset(data, tables=indicators.tables_needed(SIX if which == "six" else None))
    t1 = time.perf_counter()
    if which == "six":
        table = indicators.compute(ds, min_n=1, indicators=SIX, group_types=["all"])
    else:
        table = indicators.compute(ds, workers=int(workers), chunk_size=int(chunk_size) or None)
    t2 = time.perf_counter()
    table = table[(table["level"] == "school") & (table["group_type"] == "all") & table["indicator"].isin(SIX)]
    table.to_parquet(out)
    import resource

    return {"load_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0, "rows": int(len(table)),
            "peak_mb": _rss_mb(), "worker_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def run_duckdb(data: str, out: str, checked: str = "") -> dict:
    """In a subprocess: the six in DuckDB SQL from the Parquet files; with ``checked``, after
    loading the tables into DuckDB and running :data:`DUCKDB_CHECKS` on them."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    failing = {}
    sources = {t: f"'{data}/{t}.parquet'" for t in ("enrolments", "activities", "attendance", "contacts",
                                                      "portal_usage")}
    if checked:
        con.register("vocab", _vocab_frame())
        con.execute(DUCKDB_LOAD.format(d=data))
        failing = dict(con.execute(DUCKDB_CHECKS.format(**_bounds())).fetchall())
        sources = {"enrolments": "enr", "activities": "acts", "attendance": "atts", "contacts": "cons",
                   "portal_usage": "por"}  # the loaded, checked tables
    df = con.execute(DUCKDB_SQL.format(**sources)).df()
    t1 = time.perf_counter()
    df.to_parquet(out)
    return {"total_s": t1 - t0, "rows": int(len(df)), "peak_mb": _rss_mb(), "checks": len(failing),
            "failing_rows": int(sum(failing.values()))}


def _child(*args) -> dict:
    r = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _compare(ours_path: str, duck_path: str) -> int:
    import numpy as np
    import pandas as pd

    ours = pd.read_parquet(ours_path)
    duck = pd.read_parquet(duck_path)
    duck["year"] = duck["year"].astype("int64")
    ours = ours.rename(columns={"area_id": "school_id"})
    # means: ours has the mean and n; DuckDB the total and n
    is_mean = ours["indicator"].isin(["attendances_per_family", "breadth"])
    ours.loc[is_mean, "numerator"] = (ours.loc[is_mean, "value"] * ours.loc[is_mean, "denominator"]).round()
    m = ours.merge(duck, on=["indicator", "school_id", "year"], how="outer", suffixes=("", "_duck"),
                   indicator=True)
    bad = (m["_merge"] != "both") | ~np.isclose(m["numerator"], m["numerator_duck"]) | \
        ~np.isclose(m["denominator"], m["denominator_duck"])
    if bad.any():
        print(m[bad].head(20).to_string())
    return int(bad.sum()), int(len(m))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, default=2500)
    ap.add_argument("--years", default="2021-2025")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=2, help="processes for the split run of the full table")
    ap.add_argument("--chunk-size", type=int, default=50, help="schools per chunk in the split run")
    ap.add_argument("--six-only", action="store_true", help="skip the two runs of the full table")
    ap.add_argument("--child", nargs="*")
    a = ap.parse_args()
    if a.child:
        kind, *rest = a.child
        res = run_duckdb(*rest) if kind == "duckdb" else run_ours(rest[0], kind, *rest[1:])
        print(json.dumps(res))
        return
    from hsp_eval.synthetic import build as synthetic
    from hsp_eval.cli import parse_years

    years = parse_years(a.years)
    data = HERE / "_data" / f"{a.schools}x{len(years)}_seed{a.seed}"
    if not (data / "enrolments.parquet").exists():
        t0 = time.perf_counter()
        synthetic.write_dataset(data, n_schools=a.schools, years=years, seed=a.seed, fmt="parquet")
        print(f"generated {data} in {time.perf_counter() - t0:.0f} s")
    out = HERE / "_data" / "out"
    out.mkdir(parents=True, exist_ok=True)
    duck = _child("duckdb", str(data), str(out / "duck.parquet"))
    checked = _child("duckdb", str(data), str(out / "duck_checked.parquet"), "checked")
    six = _child("six", str(data), str(out / "six.parquet"))
    n_bad, n = _compare(str(out / "six.parquet"), str(out / "duck.parquet"))
    n_bad_checked, _ = _compare(str(out / "six.parquet"), str(out / "duck_checked.parquet"))
    runs = [("hsp_eval, six indicators", six)]
    split_name = f"full table, {a.workers} workers x {a.chunk_size}"
    if not a.six_only:
        full = _child("full", str(data), str(out / "full.parquet"))
        split = _child("full", str(data), str(out / "split.parquet"), str(a.workers), str(a.chunk_size))
        same = (out / "full.parquet").read_bytes() == (out / "split.parquet").read_bytes()
        runs += [("hsp_eval, full indicator table", full), (split_name, split)]
    print(f"\ndata: {a.schools} schools x {len(years)} years ({data})")
    print(f"{'':34}{'seconds':>10}{'peak MB':>10}{'ratio vs DuckDB':>18}{'vs checked DuckDB':>20}")
    ck = checked["total_s"]
    print(f"{'DuckDB SQL, six indicators':34}{duck['total_s']:>10.1f}{duck['peak_mb']:>10.0f}{1:>18.2f}"
          f"{duck['total_s'] / ck:>20.2f}")
    print(f"{'DuckDB, six after the checks':34}{ck:>10.1f}{checked['peak_mb']:>10.0f}{ck / duck['total_s']:>18.2f}"
          f"{1:>20.2f}   ({checked['checks']} checks, {checked['failing_rows']} failing rows)")
    for name, r in runs:
        print(f"{name:34}{r['total_s']:>10.1f}{r['peak_mb']:>10.0f}{r['total_s'] / duck['total_s']:>18.2f}"
              f"{r['total_s'] / ck:>20.2f}   (load+validate {r['load_s']:.1f} s, compute {r['compute_s']:.1f} s"
              + (f"; largest worker {r['worker_peak_mb']:.0f} MB)" if name == split_name else ")"))
    if not a.six_only:
        print(f"split run's file byte-identical to the one-pass file: {same}")
    print(f"agreement on the six: {n - n_bad:,} of {n:,} school-year rows equal"
          + ("" if n_bad == 0 else f"  ({n_bad} DIFFER)")
          + ("; the same with the checked DuckDB run" if n_bad_checked == 0 else
             f"; {n_bad_checked} DIFFER from the checked DuckDB run"))


if __name__ == "__main__":
    main()
