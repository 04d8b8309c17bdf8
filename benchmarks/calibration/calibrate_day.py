"""Benchmark: calibrate gm_a56 to a whole weekday of TfGM site 1415 counts and time it.

    .venv/bin/python benchmarks/calibration/calibrate_day.py [--cores 2] [--step-length 0.6]

Runs the full pipeline (counts of the fit days -> profile -> routeSampler -> 24 h
vehicle-actuated SUMO run -> fit check and validation on the held-out days -> report) into a
temporary folder, saves no named demand, and prints the verdicts and the time of each part.
``--cores`` pins the process to that many CPUs (Linux).
Target: under 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from intergreen.calibration.flows import gm_data_dir
from intergreen.calibration.pipeline import run_calibration

COUNTS = "tfgm_atc_chester_road/rawpvr_2018_02_01_28d_1415.csv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--step-length", type=float, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, cpus)
        print(f"pinned to CPUs {cpus}")
    counts = gm_data_dir() / COUNTS
    if not counts.is_file():
        print(f"counts not found: {counts}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = run_calibration(
            "gm_a56",
            f"tfgm:{counts}",
            "weekday",
            Path(tmp) / "calib",
            seed=args.seed,
            step_length=args.step_length,
            save_demand=False,
            log=print,
        )
        wall = time.perf_counter() - start
    s, v = result.summary, result.validation
    print(f"fit check (in-sample): {s.verdict()}; max GEH {s.table['geh'].max():.2f}")
    if v is not None:
        print(f"validation on held-out counts: {v.verdict()}")
        for c in v.criteria:
            print(f"  {c.verdict()}")
    parts = ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
    print(f"calibrate_day: {wall:.1f} s wall ({parts}); target < 300 s on 2 cores")
    return 0 if result.passed and wall < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
