"""Benchmarks of ``make bench``, written to ``reports/bench/benchmarks.json``.

Each benchmark has a setup (not timed) and a timed call, repeated ``runs`` times; the
file records the machine, the commit, the settings and the median, min and max.
Timings live here, never in test assertions.

Usage: ``python -m mi_lib.bench [--only NAME ...] [--runs N]``. With ``--only`` the
other entries already in the file are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .config import project_root, settings
from .store import write_json

BENCHMARKS: dict[str, Callable[[int], dict]] = {}


def benchmark(name: str):
    """Register ``func(runs) -> dict(times, unit, settings)`` under ``name``."""
    def wrap(func):
        BENCHMARKS[name] = func
        return func
    return wrap


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    mem = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    import numpy as np

    return {"cores": os.cpu_count(), "cpu_model": cpu, "memory_gib": mem,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__}


def _time(func, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


@benchmark("preprocessing.cohort")
def _preprocessing_cohort(runs: int) -> dict:
    """Notebook 01's computation on the default standard cohort: validate the cohort,
    compute coordinates, transport every subject and align the territories."""
    from .cohort import SyntheticCohortSpec, open_cohort, synthesize_cohort
    from .reference import ReferenceAnatomy, build_population

    counts = settings("standard")["cohort"]["territory_counts"]
    n_jobs = settings("standard")["n_jobs"]
    with tempfile.TemporaryDirectory() as tmp:
        synthesize_cohort(tmp, SyntheticCohortSpec(territory_counts=counts, seed=0))
        reference = ReferenceAnatomy()

        def run():
            cohort = open_cohort(tmp)
            cohort.validate()
            build_population(cohort, reference, n_jobs=n_jobs, progress=False)

        times = _time(run, runs)
    return {"times": times, "unit": "s",
            "settings": {"subjects": sum(counts.values()), "upsample": 4, "n_jobs": n_jobs,
                         "reference": "80x80x21, radii 21/35 px"}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="benchmark names to run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from .reports import git_commit

    root = project_root()
    out = args.out or root / "reports" / "bench" / "benchmarks.json"
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    previous = {}
    if args.only and out.is_file():
        previous = {b["name"]: b for b in json.loads(out.read_text()).get("benchmarks", [])}
    results = dict(previous)
    for name in names:
        print(f"[bench] {name} ({args.runs} runs) ...", flush=True)
        res = BENCHMARKS[name](args.runs)
        times = res.pop("times")
        entry = {"name": name, "median": statistics.median(times), "min": min(times),
                 "max": max(times), "unit": res.get("unit", "s"), "runs": len(times),
                 "settings": res.get("settings", {})}
        entry.update({k: v for k, v in res.items() if k not in ("unit", "settings")})
        results[name] = entry
        print(f"[bench] {name}: median {entry['median']:.3f} {entry['unit']} "
              f"(min {entry['min']:.3f}, max {entry['max']:.3f})", flush=True)
    write_json(out, {"machine": machine(), "commit": git_commit(root),
                     "benchmarks": list(results.values())})
    print(f"[bench] wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
