"""Benchmark: the indicator engine against a DuckDB SQL reference, side by side in one run.

    .venv/bin/python bench/indicators.py                 # national scale: 2,500 schools x 5 years
    .venv/bin/python bench/indicators.py --schools 250   # a tenth, for a quick look
    .venv/bin/python bench/indicators.py --six-only      # only DuckDB and hsp_eval on the six

1. Generates the synthetic dataset as Parquet (cached in bench/_data/<schools>x<years>/).
2. In a fresh subprocess each (so peak memory is each one's own): hsp_eval loading and validating
   the files, then computing (a) the six reference indicators and (b) the full indicator table;
   and DuckDB computing the six from the same Parquet files with SQL.
3. Checks that hsp_eval's and DuckDB's numerators and denominators agree for every school and year,
   and prints times, ratios ours/DuckDB and peak memory (max RSS).

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
WITH fam AS (SELECT DISTINCT school_id, year, family_id FROM '{d}/enrolments.parquet'),
nfam AS (SELECT school_id, year, count(*) AS families FROM fam GROUP BY ALL),
act AS (SELECT activity_id, school_id, year(date) AS year, activity_type FROM '{d}/activities.parquet'),
att AS (SELECT a.school_id, a.year, t.family_id, a.activity_type, t.invited, t.attended
        FROM '{d}/attendance.parquet' t JOIN act a USING (activity_id)),
came AS (SELECT * FROM att WHERE attended),
reach AS (SELECT school_id, year, count(DISTINCT family_id) AS num FROM came GROUP BY ALL),
apf AS (SELECT school_id, year, count(*) AS total FROM came GROUP BY ALL),
br AS (SELECT school_id, year, count(*) AS total FROM (SELECT DISTINCT school_id, year, family_id, activity_type
                                                       FROM came) GROUP BY ALL),
inv AS (SELECT school_id, year, count_if(attended) AS num, count(*) AS den FROM att WHERE invited GROUP BY ALL),
con AS (SELECT school_id, year(date) AS year, count_if(initiated_by = 'family') AS num, count(*) AS den
        FROM '{d}/contacts.parquet' GROUP BY ALL),
por AS (SELECT school_id, CAST(substr(month, 1, 4) AS INTEGER) AS year, count(DISTINCT family_id) AS num
        FROM '{d}/portal_usage.parquet' WHERE logins > 0 GROUP BY ALL)
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


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(data: str, which: str, out: str, workers: str = "1", chunk_size: str = "0") -> dict:
    """In a subprocess: load + validate, then compute the six or the full table (split by school
    across ``workers`` processes in chunks of ``chunk_size`` schools when given)."""
    import hsp_eval
    from hsp_eval import indicators

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


def run_duckdb(data: str, out: str) -> dict:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    df = con.execute(DUCKDB_SQL.format(d=data)).df()
    t1 = time.perf_counter()
    df.to_parquet(out)
    return {"total_s": t1 - t0, "rows": int(len(df)), "peak_mb": _rss_mb()}


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
    from hsp_eval import synthetic
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
    six = _child("six", str(data), str(out / "six.parquet"))
    n_bad, n = _compare(str(out / "six.parquet"), str(out / "duck.parquet"))
    runs = [("hsp_eval, six indicators", six)]
    split_name = f"full table, {a.workers} workers x {a.chunk_size}"
    if not a.six_only:
        full = _child("full", str(data), str(out / "full.parquet"))
        split = _child("full", str(data), str(out / "split.parquet"), str(a.workers), str(a.chunk_size))
        same = (out / "full.parquet").read_bytes() == (out / "split.parquet").read_bytes()
        runs += [("hsp_eval, full indicator table", full), (split_name, split)]
    print(f"\ndata: {a.schools} schools x {len(years)} years ({data})")
    print(f"{'':34}{'seconds':>10}{'peak MB':>10}{'ratio vs DuckDB':>18}")
    print(f"{'DuckDB SQL, six indicators':34}{duck['total_s']:>10.1f}{duck['peak_mb']:>10.0f}{1:>18.2f}")
    for name, r in runs:
        print(f"{name:34}{r['total_s']:>10.1f}{r['peak_mb']:>10.0f}{r['total_s'] / duck['total_s']:>18.2f}"
              f"   (load+validate {r['load_s']:.1f} s, compute {r['compute_s']:.1f} s"
              + (f"; largest worker {r['worker_peak_mb']:.0f} MB)" if name == split_name else ")"))
    if not a.six_only:
        print(f"split run's file byte-identical to the one-pass file: {same}")
    print(f"agreement on the six: {n - n_bad:,} of {n:,} school-year rows equal"
          + ("" if n_bad == 0 else f"  ({n_bad} DIFFER)"))


if __name__ == "__main__":
    main()
