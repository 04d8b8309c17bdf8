"""Benchmark: batch wall time with 1 and 2 local workers, and the runner's overhead per run.

    .venv/bin/python benchmarks/experiments/grid_speedup.py [--runs 4] [--timesteps 1500]

Runs the same small grid (DQN, ``--runs`` cells) into two fresh folders, with 1 worker and
with 2, and prints the speedup (target >= 1.8x on 2 free cores) and the runner overhead
per run: wall time of the 1-worker batch divided by the runs, minus the mean time spent
inside ``train()`` and ``evaluate()`` (target < 2 s). Writes grid_speedup.json beside.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from intergreen.experiments.executors import LocalExecutor
from intergreen.experiments.grid import load_grid
from intergreen.experiments.runner import run_batch


def grid(runs: int, timesteps: int) -> dict:
    rewards = ["queue", "average_speed", "wait_time", "time_lost"][: max(1, runs // 2)]
    return {
        "name": "bench",
        "rewards": rewards,
        "agents": {"dqn": {"hyperparams": {"learning_starts": 200}}},
        "seeds": list(range(1, runs // len(rewards) + 1)),
        "training": {"timesteps": timesteps, "checkpoint_every": timesteps},
        "evaluation": {"demands": ["medium"], "episodes": 2},
        "episode_duration": 300,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--timesteps", type=int, default=1500)
    args = ap.parse_args()
    config = load_grid(grid(args.runs, args.timesteps))
    n = len(config.cells())
    out: dict = {"runs": n, "timesteps": args.timesteps, "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            start = time.perf_counter()
            summary = run_batch(config, Path(tmp) / f"w{workers}", LocalExecutor(workers))
            wall = time.perf_counter() - start
            assert summary.ok, summary.failed
            work = [o.train_s + o.eval_s for o in summary.outcomes]
            out[f"wall_s_{workers}"] = round(wall, 2)
            out[f"work_s_mean_{workers}"] = round(sum(work) / n, 2)
            # runs in flight on average: ~workers when the executor keeps every worker busy
            out[f"concurrency_{workers}"] = round(sum(work) / wall, 2)
            if workers == 1:
                out["overhead_s_per_run"] = round(wall / n - sum(work) / n, 2)
                out["train_s_mean"] = round(sum(o.train_s for o in summary.outcomes) / n, 2)
                out["eval_s_mean"] = round(sum(o.eval_s for o in summary.outcomes) / n, 2)
            print(f"workers={workers}: {n} runs in {wall:.1f} s", flush=True)
    out["speedup"] = round(out["wall_s_1"] / out["wall_s_2"], 2)
    print(
        f"speedup 2 vs 1 workers: {out['speedup']:.2f}x (target >= 1.8x)\n"
        f"runner overhead per run: {out['overhead_s_per_run']:.2f} s (target < 2 s; "
        f"train {out['train_s_mean']:.1f} s + eval {out['eval_s_mean']:.1f} s per run)\n"
        f"runs in flight on average with 2 workers: {out['concurrency_2']:.2f} (a run's own "
        f"time {out['work_s_mean_1']:.1f} s alone, {out['work_s_mean_2']:.1f} s beside another: "
        "when that doubles, the cores are shared with other work)\n"
        f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    Path(__file__).with_name("grid_speedup.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
