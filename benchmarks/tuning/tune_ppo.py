"""Tune PPO with CARBS, then compare the tuned settings with the defaults at seed level.

One command, resumable at every stage (re-run it after a kill)::

    .venv/bin/python benchmarks/tuning/tune_ppo.py                      # 2 h tune, then compare
    .venv/bin/python benchmarks/tuning/tune_ppo.py --budget 10m --timesteps 5000 \\
        --min-timesteps 1000 --max-timesteps 20000 --tag 10min --seeds 2 --episodes 3

1. ``intergreen tune --agent ppo`` on gm_a56_max_green (``average_speed``, training demand
   ``mixed``, 2 agents per trial, each trial scored on validation episodes at ``medium``) in
   ``results/tune_ppo_<tag>/``; it writes ``tuned.json``.
2. ``intergreen compare carbs_ppo.yaml``: the defaults (preset ``ppo``) and the tuned
   hyperparameters, each trained on ``--seeds`` fresh training seeds (1000, 1001, ...: the
   tune's trials trained on 0, 1, ... and 100000, ...) for the best trial's decisions, and
   evaluated on ``--episodes`` test episodes per level, beside vehicle actuation, in
   ``results/carbs_ppo_<tag>/``.
3. ``intergreen report`` on it: per-seed means with intervals, tuned against the defaults on
   per-seed means (the report's "against the best" family), both against the baseline paired
   over the shared test episodes. ``--publish DIR`` copies it with its result tables.

The tune scores only validation episodes and the comparison only test episodes (seed roles,
intergreen.seeds); the comparison's training seeds are checked against the tune's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HERE = Path(__file__).parent
RESULTS = HERE / "results"
GRID = HERE / "carbs_ppo.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--budget", default="2h", help="the tune's wall clock or total steps")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timesteps", type=int, default=100_000, help="centre of the cost dimension")
    ap.add_argument("--min-timesteps", type=int, default=10_000)
    ap.add_argument("--max-timesteps", type=int, default=250_000)
    ap.add_argument("--eval-episodes", type=int, default=5,
                    help="validation episodes per agent of a trial")  # fmt: skip
    ap.add_argument("--train-seeds", type=int, default=2, help="agents per trial")
    ap.add_argument("--junction", default="gm_a56_max_green")
    ap.add_argument("--seeds", type=int, default=10, help="training seeds per arm (compare)")
    ap.add_argument("--episodes", type=int, default=30, help="test episodes per level (compare)")
    ap.add_argument("--tag", default="max_green", help="names the result folders")
    ap.add_argument("--publish", type=Path, default=None, help="copy the report here")
    args = ap.parse_args()

    from intergreen.agents.torch_setup import configure_torch
    from intergreen.experiments.executors import LocalExecutor
    from intergreen.experiments.grid import load_grid
    from intergreen.experiments.report import build_report, publish_report
    from intergreen.experiments.runner import run_batch
    from intergreen.tuning.loop import TuneSpec, tune

    configure_torch()
    tune_dir = RESULTS / f"tune_ppo_{args.tag}"
    spec = TuneSpec(
        agent="ppo", reward="average_speed", junction=args.junction, train_demand="mixed",
        eval_demands=("medium",), eval_episodes=args.eval_episodes,
        train_seeds=args.train_seeds,
        timesteps=(args.timesteps, args.min_timesteps, args.max_timesteps),
    )  # fmt: skip
    t0 = time.perf_counter()
    result = tune(spec, args.budget, tune_dir, args.workers)
    if result.best is None:
        raise SystemExit(f"no successful trial in {tune_dir}")
    print(f"tune: {len(result.trials)} trials, {time.perf_counter() - t0:.0f} s this session")

    grid = load_grid(GRID, {
        "junction": args.junction,
        "agents.ppo_tuned.tuned": str((tune_dir / "tuned.json").resolve()),
        "seeds": list(range(1000, 1000 + args.seeds)),
        "evaluation.episodes": args.episodes,
    })  # fmt: skip
    out = RESULTS / f"carbs_ppo_{args.tag}"
    summary = run_batch(grid, out, LocalExecutor(args.workers))
    if summary.failed:
        raise SystemExit(f"{len(summary.failed)} runs failed: see {out}/runs/*/error.json")
    paths = build_report(out)
    print(f"report: {paths['markdown']}")
    if args.publish is not None:
        published = publish_report(out, args.publish)
        print(f"published: {published['markdown']}")


if __name__ == "__main__":
    main()
