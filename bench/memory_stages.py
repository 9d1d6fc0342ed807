"""Where the memory of one indicator-table run goes: resident memory sampled every 10 ms, with the
peak between the entry and exit of each step of the engine and of disclosure control.

    .venv/bin/python bench/memory_stages.py DATA_DIR [school|publication] [CHUNK_SIZE]

Prints the run's peak and, for each step, its duration and the peak while it ran (MB). The
dataset is loaded first; its memory is the ``base``. Results go to docs/performance.md.
"""

from __future__ import annotations

import functools
import os
import resource
import sys
import threading
import time

import numpy as np


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    import hsp_eval
    from hsp_eval.indicators.topics import communication, inquiry, participation, self_review, voice
    from hsp_eval.indicators import disclosure, engine as indicators

    data = sys.argv[1]
    publication = len(sys.argv) > 2 and sys.argv[2] == "publication"
    chunk = int(sys.argv[3]) if len(sys.argv) > 3 else None
    marks: list[tuple[float, str]] = []

    def watch(module, name: str) -> None:
        f = getattr(module, name)
        label = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"

        @functools.wraps(f)
        def step(*a, **k):
            marks.append((time.time(), "enter " + label))
            try:
                return f(*a, **k)
            finally:
                marks.append((time.time(), "exit " + label))
        setattr(module, name, step)

    for name in ("relations", "_sources", "_secondary", "_population_rows", "_all_rows", "_linked_rows",
                 "_bounded_rows", "_year_rows", "_publish", "protect"):
        watch(disclosure, name)
    for module in (participation, communication, voice, inquiry, self_review):
        watch(module, "counted")
    for name in ("compute_parts", "combine", "_order"):
        watch(indicators, name)

    ds = hsp_eval.load_dataset(data)
    base = _rss_mb()
    samples: list[tuple[float, float]] = []
    running = True

    def sample() -> None:
        while running:
            samples.append((time.time(), _rss_mb()))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.time()
    table = indicators.compute(ds, min_n=5, publication=publication, chunk_size=chunk,
                               key=bytes(range(32)) if publication else None)
    running = False
    sampler.join()
    ts, mb = np.array([t for t, _ in samples]), np.array([m for _, m in samples])
    print(f"rows {len(table):,}  {time.time() - t0:.1f} s  base {base:,.0f} MB  peak {mb.max():,.0f} MB  "
          f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:,.0f} MB")
    last_t, last = t0, "start"
    for t, name in marks:
        inside = (ts >= last_t) & (ts <= t)
        if inside.any():
            print(f"{last:>34} -> {name:<34} {t - last_t:7.2f} s  peak {mb[inside].max():7,.0f} MB")
        last_t, last = t, name


if __name__ == "__main__":
    main()
