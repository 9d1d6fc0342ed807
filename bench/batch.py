"""Benchmark of the report batch: a naive papermill loop, ``hsp-eval batch`` with 1 and 2 workers,
with the standard and the ``warm`` engine, against the floor (an empty notebook with the same imports).

Usage::

    .venv/bin/python bench/batch.py                 # 20 demo-like schools (about 10 minutes)
    .venv/bin/python bench/batch.py --schools 3     # a quick check of the script

Every configuration runs the same school reports (``school_evaluation`` of each school, the
parameters ``hsp-eval batch`` gives it) in a fresh output folder that already holds the batch's
data step (indicator, publication and trends tables, made once and timed apart), so the
figures are of the reports alone:

(a) naive: one ``papermill`` command per school (no HTML; the batch also writes HTML);
(b) ``hsp-eval batch --workers 1``;  (c) ``--workers 2``;
(b') and (c'): the same with ``--engine warm`` (:mod:`hsp_eval.run.warm`);
floor: an empty notebook holding only the template's imports, run through papermill's Python
API (standard engine; the warm engine's floor is shown too).

Wall seconds and CPU seconds (this process's children, kernels included) per report are
printed, with each configuration's throughput against the naive loop and its per-report cost
against the floor, and an extrapolation to 2,500 schools. The data is generated into
``bench/_data`` (git-ignored) with ``hsp-eval generate --schools N --years 2022-2025 --seed 11``;
results also go to ``bench/_data/batch_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATA = ROOT / "bench" / "_data"
TEMPLATE = ROOT / "notebooks" / "school_evaluation.ipynb"
NATIONAL_SCHOOLS = 2500


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux), so that their CPU time is counted when they are reaped.

    The batch's pool workers are children of multiprocessing's fork server, which nobody waits
    for; without this their CPU would be missing from RUSAGE_CHILDREN.
    """
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_orphans(seconds: float = 30) -> None:
    """Wait for adopted descendants to exit and reap them (adds their CPU time to RUSAGE_CHILDREN)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.1)
        except ChildProcessError:
            return


def timed(cmd, **kw) -> tuple[float, float, int]:
    """Wall and CPU seconds (of the command and all its descendants) and exit code of a command."""
    cpu, t0 = _children_cpu(), time.perf_counter()
    code = subprocess.run(cmd, **kw).returncode
    wall = time.perf_counter() - t0
    reap_orphans()
    return wall, _children_cpu() - cpu, code


def cell_seconds(paths) -> float:
    """Seconds spent in the cells of executed notebooks (papermill's per-cell durations)."""
    import nbformat

    return sum(c.metadata.get("papermill", {}).get("duration") or 0
               for p in paths for c in nbformat.read(p, as_version=4).cells)


def ensure_data(n: int) -> tuple[Path, Path]:
    data, params = DATA / f"schools{n}", DATA / f"schools{n}_params"
    if not (data / "schools.csv").exists():
        subprocess.run([BIN / "hsp-eval", "generate", data, "--schools", str(n), "--years", "2022-2025",
                        "--seed", "11"], check=True, stdout=subprocess.DEVNULL)
    if not params.is_dir():
        params.mkdir(parents=True)
        import pandas as pd

        for school in pd.read_csv(data / "schools.csv", dtype=str)["school_id"]:
            subprocess.run([BIN / "hsp-eval", "params", "init", school, "--out", params, "--data", data],
                           check=True, stdout=subprocess.DEVNULL)
    return data, params


def floor_notebook(path: Path) -> Path:
    """An empty notebook with only the template's import lines (and an empty parameters cell)."""
    import nbformat

    template = nbformat.read(TEMPLATE, as_version=4)
    imports = [line for cell in template.cells if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", [])
               for line in cell.source.splitlines() if line.startswith(("import ", "from "))]
    nb = nbformat.v4.new_notebook(metadata=template.metadata)
    params = nbformat.v4.new_code_cell("")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("\n".join(imports))]
    nbformat.write(nb, path)
    return path


def _floor_child(notebook: str, engine: str, runs: int) -> None:
    """In a subprocess: run ``notebook`` ``runs`` times through papermill's API; print wall seconds."""
    import papermill as pm

    out = Path(notebook).with_name("floor_out.ipynb")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        pm.execute_notebook(notebook, str(out), kernel_name="python3", progress_bar=False,
                            engine_name=None if engine == "standard" else engine)
        times.append(time.perf_counter() - t0)
    print(json.dumps(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schools", type=int, default=20)
    ap.add_argument("--floor-runs", type=int, default=6)
    ap.add_argument("--skip", default="", help="configurations to leave out, e.g. naive,b")
    ap.add_argument("--_floor", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._floor:
        _floor_child(args._floor[0], args._floor[1], int(args._floor[2]))
        return 0

    from hsp_eval.run import batch

    subreaper = become_subreaper()
    n = args.schools
    data, params = ensure_data(n)
    work = DATA / f"batch_run{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    base = work / "base"
    t0 = time.perf_counter()
    files = batch.prepare_data(data, params, base, log=None)
    data_seconds = time.perf_counter() - t0
    tasks, failed = batch.build_tasks(files, params, base, "all", None, summary=False, national=False)
    assert not failed and len(tasks) == n, (failed, len(tasks))
    print(f"{n} schools, data step {data_seconds:.1f} s (once per batch, not in the figures below); "
          f"load average at start {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
          + ("" if subreaper else "; CPU of pool workers not counted (no subreaper here)"), flush=True)

    results = {}

    def record(name, wall, cpu, reports, failed=(), note="", outputs=()):
        cells = cell_seconds(outputs) if outputs else None
        results[name] = {"wall": wall, "cpu": cpu, "reports": reports, "failed": list(failed), "note": note,
                         "cells": cells, "load_after": os.getloadavg()[0]}
        print(f"  {name:<36} {wall:7.1f} s wall, {wall / reports:5.2f} s/report, {cpu / reports:5.2f} s CPU/report"
              + (f", {cells / reports:5.2f} s/report in cells" if cells is not None else "")
              + (f"; FAILED (notebook error, see its output): {', '.join(failed)}" if failed else ""), flush=True)

    # floor: an empty notebook with the same imports, papermill's API, standard and warm engine
    fnb = floor_notebook(work / "floor.ipynb")
    for engine in ("standard", "warm"):
        cpu = _children_cpu()
        out = subprocess.run([sys.executable, __file__, "--_floor", str(fnb), engine, str(args.floor_runs + 1)],
                             check=True, capture_output=True, text=True).stdout
        times = json.loads(out.strip().splitlines()[-1])
        # the first run is left out (cold disk cache; for warm: the fork server's one start)
        share = (_children_cpu() - cpu) * args.floor_runs / (args.floor_runs + 1)
        record(f"floor ({engine})", sum(times[1:]), share, args.floor_runs,
               note=f"first run {times[0]:.2f} s left out")

    skip = set(filter(None, args.skip.split(",")))
    if "naive" not in skip:
        out = work / "naive"
        out.mkdir()
        import yaml

        wall = cpu = 0.0
        failed = []
        for t in tasks:
            pfile = out / f"{t.school}.yaml"
            pfile.write_text(yaml.safe_dump(t.parameters))
            w, c, code = timed([BIN / "papermill", t.template, out / f"{t.school}.ipynb", "-f", pfile, "-k", "python3",
                          "--no-progress-bar", "--cwd", str(Path(t.template).parent)], stderr=subprocess.DEVNULL)
            wall, cpu = wall + w, cpu + c
            if code:
                failed.append(t.school)
        record("(a) naive papermill loop", wall, cpu, n, failed,
               outputs=[out / f"{t.school}.ipynb" for t in tasks if t.school not in failed])

    for key, workers, engine in (("b", 1, None), ("c", 2, None), ("b'", 1, "warm"), ("c'", 2, "warm")):
        if key in skip:
            continue
        out = work / f"batch_{workers}_{engine or 'standard'}"
        # the data step, untimed, right before: hsp-eval batch finds its tables current (they are
        # stamped with a hash of hsp_eval's code, so made earlier they may be stale in a shared tree)
        batch.prepare_data(data, params, out, log=None)
        cmd = [BIN / "hsp-eval", "batch", "--data", data, "--params", params, "--out", out, "--no-summary",
               "--no-national", "--no-progress", "--workers", str(workers)] + (["--engine", engine] if engine else [])
        log = out / "batch.log"
        with open(log, "w") as f:
            w, c, _ = timed(cmd, stdout=f, stderr=subprocess.STDOUT)
        manifest = batch.read_manifest(out)
        redone = re.search(r"indicator tables written to .*\(([0-9.]+) s;", log.read_text())
        if redone:  # hsp_eval's code changed during the run (a shared tree): leave that step out
            w -= float(redone.group(1))
            print(f"  note: the batch recomputed the data tables ({redone.group(1)} s, left out of its wall time;"
                  f" CPU figure includes it)")
        record(f"({key}) batch --workers {workers}" + (f" --engine {engine}" if engine else ""), w, c, n,
               sorted(manifest.loc[manifest["status"] != "ok", "school"]),
               outputs=sorted(out.glob("*/school_evaluation.ipynb")))

    floor = results["floor (standard)"]
    floor_report = floor["wall"] / floor["reports"]
    naive = results.get("(a) naive papermill loop")
    print("\nper report: wall s, CPU s; throughput vs the naive loop; per-report wall vs the floor "
          f"({floor_report:.2f} s); {NATIONAL_SCHOOLS:,} schools at this rate")
    for name, r in results.items():
        per = r["wall"] / r["reports"]
        vs_naive = f"{(naive['wall'] / naive['reports']) / per:5.1f}x" if naive else "  -  "
        hours = per * NATIONAL_SCHOOLS / 3600
        print(f"  {name:<36} {per:6.2f} {r['cpu'] / r['reports']:6.2f}   {vs_naive}   {per / floor_report:5.2f}x floor"
              f"   {hours:5.1f} h")
        r.update(per_report=per, vs_floor=per / floor_report, hours_2500=hours,
                 vs_naive=(naive["wall"] / naive["reports"]) / per if naive else None)
    print(f"load average at end {os.getloadavg()[0]:.2f} (the machine is shared: figures vary with other work)")
    (DATA / "batch_results.json").write_text(json.dumps({"schools": n, "data_seconds": data_seconds,
                                                         "cores": os.cpu_count(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
