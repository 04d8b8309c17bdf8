"""Latency of CARBS.suggest() against the number of observations (4 pending, 1 torch thread).

Usage: python benchmarks/tuning/suggest_latency.py [--dims 4] [--ns 25 50 100 200 400]
Writes benchmarks/tuning/results/suggest_latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from intergreen.tuning import CARBS, CARBSParams, LinearSpace, LogSpace, Param

RESULTS = Path(__file__).resolve().parent / "results"


def build(n: int, dims: int, seed: int = 0, **kw) -> CARBS:
    """A tuner with ``n`` observations (random around the centre) on a d-dim problem."""
    params = [Param(f"lr{i}", LogSpace(scale=0.5), 1e-3) for i in range(dims // 2)]
    params += [Param(f"x{i}", LinearSpace(), 0.0) for i in range(dims - dims // 2)]
    tuner = CARBS(CARBSParams(seed=seed, resample_frequency=0, **kw), params)
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = rng.normal(0, 0.6, dims)
        s = {p.name: float(p.space.from_basic(p.space.to_basic(p.center) + v))
             for p, v in zip(params, x, strict=True)}
        tuner.observe(s, float(-(x**2).sum() + rng.normal(0, 0.1)), cost=float(np.exp(x[0])))
    return tuner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dims", type=int, default=4)
    ap.add_argument("--ns", type=int, nargs="*", default=[25, 50, 100, 200, 400])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    build(10, args.dims).suggest()  # warm-up (imports, first torch calls)
    rows = []
    print(f"{'n':>6}{'median s':>10}{'max s':>8}{'fit10 med s':>13}")
    for n in args.ns:
        row = {"n": n}
        for label, kw in (("fixed", {}), ("fit10", {"gp_fit_steps": 10})):
            tuner = build(n, args.dims, **kw)
            for _ in range(4):
                tuner.suggest()  # 4 pending suggestions
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                tuner.suggest(is_suggestion_remembered=False)
                times.append(time.perf_counter() - t0)
            row[label] = {"median_s": statistics.median(times), "max_s": max(times)}
        rows.append(row)
        print(f"{n:>6}{row['fixed']['median_s']:>10.3f}{row['fixed']['max_s']:>8.3f}"
              f"{row['fit10']['median_s']:>13.3f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "suggest_latency.json"
    out.write_text(json.dumps({"dims": args.dims, "pending": 4, "rows": rows}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
