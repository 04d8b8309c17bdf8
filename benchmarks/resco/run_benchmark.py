"""RESCO's single-junction benchmark on intergreen (resumable).

Scenarios ``resco:cologne1`` and ``resco:ingolstadt1`` (RESCO's settings: its hour of SUMO time,
decisions every 10 s, 3 s yellow), each under ``rules: program`` (RESCO's) and ``rules: uk``
(``resco:NAME:uk``). Rows:

- baselines ``program`` (SUMO runs the network's program: RESCO's fixed time), ``max-pressure``,
  ``greedy`` and ``vehicle-actuated``, on ``--episodes`` evaluation seeds (the same seeds for
  every row: paired);
- with ``--agents dqn,ppo``: each agent trained for ``--train-episodes`` episodes (RESCO's
  budget is 100) on ``--train-seeds`` training seeds, then evaluated greedily on the same
  evaluation seeds.

Every finished episode is one JSON line in ``OUT/episodes.jsonl`` and every training run keeps
its run folder under ``OUT/runs/``: run the same command again to continue where it stopped.
Each episode runs in a fresh worker process: with libsumo, a simulation that follows another
in the same process can give different numbers for the same seed on these networks (we saw
cologne1's vehicle-actuated delay 49.63 s alone and 57.06 s after a run of the program), while
a fresh process (or SUMO over traci) always gives the same.

    python benchmarks/resco/run_benchmark.py --out results/resco --episodes 10 --workers 2
    python benchmarks/resco/run_benchmark.py --out results/resco --agents dqn,ppo \\
        --train-seeds 5 --train-episodes 100
    python benchmarks/resco/report.py results/resco --publish docs/results/resco
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

SCENARIOS = ("cologne1", "ingolstadt1")
RULES = ("program", "uk")
BASELINES = ("program", "max-pressure", "greedy", "vehicle-actuated")
#: decisions per episode: an hour at one every 10 s, the first after 10 s in the initial stage
DECISIONS_PER_EPISODE = 359
REWARD = "wait_time"  # RESCO's learners minimise (normalised) waiting time


def junction(scenario: str, rules: str) -> str:
    return f"resco:{scenario}" if rules == "program" else f"resco:{scenario}:{rules}"


def _episode(task: dict[str, Any]) -> dict[str, Any]:
    """One evaluation episode (in a fresh worker process)."""
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    from intergreen.junctions.baselines import BASELINES as KNOWN
    from intergreen.junctions.baselines import make_baseline
    from intergreen.junctions.env import make_env
    from intergreen.junctions.rollout import run_episode

    if task["controller"] in KNOWN:
        policy = make_baseline(task["controller"])
        env_kwargs = dict(getattr(policy, "env_kwargs", {}))
    else:
        from intergreen.agents.policy import load_policy

        policy = load_policy(Path(task["model"]))
        env_kwargs = dict(policy.env_kwargs)
    env = make_env(junction(task["scenario"], task["rules"]), "routes", seed=task["seed"],
                   **env_kwargs)  # fmt: skip
    result = run_episode(env, policy, task["seed"])
    return {**task, **result.metrics, "decisions": result.decisions, "wall_s": result.wall_s}


def _train(task: dict[str, Any]) -> dict[str, Any]:
    """One training run (in a fresh worker process); resumes a killed one."""
    from intergreen.agents.training import train

    start = time.perf_counter()
    model = train(
        task["agent"],
        junction=junction(task["scenario"], task["rules"]),
        demand="routes",
        reward=REWARD,
        timesteps=task["timesteps"],
        seed=task["train_seed"],
        run_dir=task["run_dir"],
        checkpoint_every=max(task["timesteps"] // 10, 1000),
        resume=True,
    )
    return {**task, "model": str(model), "wall_s": time.perf_counter() - start}


def _key(row: dict[str, Any]) -> tuple:
    return (row["scenario"], row["rules"], row["controller"], row.get("train_seed"), row["seed"])


def _done(path: Path) -> set[tuple]:
    if not path.exists():
        return set()
    keys = set()
    for line in path.read_text().splitlines():
        if line.strip():
            keys.add(_key(json.loads(line)))
    return keys


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, max_tasks_per_child=1)


def run_episodes(tasks: list[dict[str, Any]], out: Path, workers: int) -> None:
    path = out / "episodes.jsonl"
    done = _done(path)
    todo = [t for t in tasks if _key(t) not in done]
    print(f"{len(tasks) - len(todo)} episodes done, {len(todo)} to run", file=sys.stderr)
    with _pool(workers) as pool, open(path, "a") as f:
        futures = [pool.submit(_episode, t) for t in todo]
        for n, fut in enumerate(as_completed(futures), 1):
            row = fut.result()
            f.write(json.dumps(row) + "\n")
            f.flush()
            what = f"{row['scenario']} {row['rules']} {row['controller']} seed {row['seed']}"
            print(f"[{n}/{len(todo)}] {what}: delay {row['avg_delay']:.2f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("results/resco"))
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--rules", default=",".join(RULES))
    p.add_argument("--baselines", default=",".join(BASELINES))
    p.add_argument("--episodes", type=int, default=10, help="evaluation episodes per row")
    p.add_argument("--agents", default="", help="e.g. dqn,ppo (trains them)")
    p.add_argument("--train-seeds", type=int, default=5)
    p.add_argument("--train-episodes", type=int, default=100)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
    from intergreen.agents.evaluation import evaluation_seeds

    a.out.mkdir(parents=True, exist_ok=True)
    seeds = evaluation_seeds(a.episodes)
    scenarios, rules = a.scenarios.split(","), a.rules.split(",")
    tasks = [
        {"scenario": s, "rules": r, "controller": c, "train_seed": None, "seed": seed}
        for s in scenarios for r in rules for c in a.baselines.split(",") if c
        for seed in seeds
    ]  # fmt: skip
    run_episodes(tasks, a.out, a.workers)
    agents = [x for x in a.agents.split(",") if x]
    if not agents:
        return
    runs = [
        {"scenario": s, "rules": r, "agent": ag, "train_seed": ts,
         "timesteps": a.train_episodes * DECISIONS_PER_EPISODE,
         "run_dir": str(a.out / "runs" / f"{s}-{r}-{ag}-seed{ts}")}
        for s in scenarios for r in rules for ag in agents for ts in range(1, a.train_seeds + 1)
    ]  # fmt: skip
    trained = []
    with _pool(a.workers) as pool:
        for fut in as_completed([pool.submit(_train, t) for t in runs]):
            row = fut.result()
            trained.append(row)
            print(f"trained {row['run_dir']} in {row['wall_s']:.0f} s", file=sys.stderr)
    tasks = [
        {"scenario": t["scenario"], "rules": t["rules"], "controller": t["agent"],
         "train_seed": t["train_seed"], "model": t["model"], "seed": seed}
        for t in trained for seed in seeds
    ]  # fmt: skip
    run_episodes(tasks, a.out, a.workers)


if __name__ == "__main__":
    main()
