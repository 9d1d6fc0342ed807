"""Benchmark: generate a national-scale synthetic dataset (2,500 schools x 2021-2025) as Parquet.

Prints wall time, peak resident memory (ru_maxrss) and rows per table.

Usage::

    .venv/bin/python bench/generate.py                 # into a temporary folder, removed afterwards
    .venv/bin/python bench/generate.py OUT_DIR         # keep the files in OUT_DIR
    .venv/bin/python bench/generate.py --schools 500 --years 2021-2025 --format csv
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _years(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", nargs="?", help="folder to write to (default: a temporary folder)")
    ap.add_argument("--schools", type=int, default=2500)
    ap.add_argument("--years", type=_years, default=_years("2021-2025"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    args = ap.parse_args(argv)

    from hsp_eval.synthetic import build as synthetic

    tmp = None if args.out_dir else tempfile.mkdtemp(prefix="hsp_eval_bench_")
    out = Path(args.out_dir or tmp)
    t0 = time.perf_counter()
    counts = synthetic.write_dataset(out, n_schools=args.schools, years=args.years, seed=args.seed,
                                     fmt=args.format)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_gb = peak / 1024 ** 2 if sys.platform != "darwin" else peak / 1024 ** 3  # KiB on Linux, bytes on macOS
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"{args.schools} schools, {args.years[0]}-{args.years[-1]}, seed {args.seed}, {args.format}")
    print(f"wall time {wall:.1f} s, peak RSS {peak_gb:.2f} GB, {size / 1e9:.2f} GB on disk")
    for table, n in counts.items():
        print(f"  {table:<24} {n:>12,}")
    print(f"  {'total':<24} {sum(counts.values()):>12,}")
    if tmp:
        shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
