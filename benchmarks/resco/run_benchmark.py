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
import shlex
import subprocess
import sys
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
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


def _eval_tasks(run: dict[str, Any], seeds: list[int]) -> list[dict[str, Any]]:
    return [
        {"scenario": run["scenario"], "rules": run["rules"], "controller": run["agent"],
         "train_seed": run["train_seed"], "model": run["model"], "seed": seed}
        for seed in seeds
    ]  # fmt: skip


def schedule(
    episodes: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    seeds: list[int],
    out: Path,
    workers: int,
) -> None:
    """Run the evaluation ``episodes`` and the training ``runs`` on ``workers`` fresh processes,
    evaluation first: a run's evaluation episodes are queued when it finishes training and go
    ahead of the training runs still waiting, so that whatever has finished when the command
    is stopped is evaluated. Rows go to ``OUT/episodes.jsonl``, finished runs to
    ``OUT/trained.jsonl``; done rows and runs are skipped."""
    path, trained_path = out / "episodes.jsonl", out / "trained.jsonl"
    done = _done(path)
    trained = {}
    if trained_path.exists():
        for line in trained_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                trained[row["run_dir"]] = row
    evals = deque(t for t in episodes if _key(t) not in done)
    for run in runs:
        if run["run_dir"] in trained:
            tasks = _eval_tasks(trained[run["run_dir"]], seeds)
            evals.extend(t for t in tasks if _key(t) not in done)
    pending = deque(r for r in runs if r["run_dir"] not in trained)
    print(f"{len(evals)} episodes and {len(pending)} training runs to do", file=sys.stderr)
    n = 0
    with _pool(workers) as pool, open(path, "a") as f, open(trained_path, "a") as g:
        flight: dict[Future, str] = {}
        while evals or pending or flight:
            while len(flight) < workers and (evals or pending):
                if evals:
                    flight[pool.submit(_episode, evals.popleft())] = "episode"
                else:
                    flight[pool.submit(_train, pending.popleft())] = "train"
            finished, _ = wait(flight, return_when=FIRST_COMPLETED)
            for fut in finished:
                kind = flight.pop(fut)
                row = fut.result()
                if kind == "train":
                    g.write(json.dumps(row) + "\n")
                    g.flush()
                    evals.extend(_eval_tasks(row, seeds))
                    print(f"trained {row['run_dir']} in {row['wall_s']:.0f} s", file=sys.stderr)
                    continue
                n += 1
                f.write(json.dumps(row) + "\n")
                f.flush()
                what = f"{row['scenario']} {row['rules']} {row['controller']}"
                if row.get("train_seed") is not None:
                    what += f" (train seed {row['train_seed']})"
                print(f"[{n}] {what} seed {row['seed']}: delay {row['avg_delay']:.2f} s",
                      file=sys.stderr)  # fmt: skip


def record_config(out: Path, a: argparse.Namespace, seeds: list[int], argv: list[str]) -> None:
    """``OUT/config.json``: what the runs were made with (the report's set-up sentences are
    generated from it). A later call with ``--agents`` adds the training settings."""
    import sumolib

    from intergreen.junctions import resco
    from intergreen.version import __version__

    path = out / "config.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    if config.get("evaluation_seeds", seeds) != seeds:
        print(
            f"error: {path} was made with {len(config['evaluation_seeds'])} evaluation episodes; "
            f"use --episodes {len(config['evaluation_seeds'])} or another --out",
            file=sys.stderr,
        )
        sys.exit(2)
    commit = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()  # fmt: skip
    command = shlex.join(["run_benchmark.py", *argv])
    config.update(
        intergreen=__version__,
        sumo=sumolib.version.gitDescribe(),
        evaluation_seeds=seeds,
        scenarios={
            name: {"begin": sc.begin, "end": sc.end, "net": sc.net, "routes": list(sc.routes)}
            for name, sc in resco.SCENARIOS.items()
        },
        decision_interval_s=resco.DECISION,
        yellow_s=resco.YELLOW,
        detection_m=resco.DETECTION,
        # every (command, commit) that wrote into the folder, in order: a resumed command on
        # newer code is listed again with its commit
        commands=[
            *[
                c
                for c in config.get("commands", [])
                if (c["command"], c["commit"]) != (command, commit)
            ],
            {"command": command, "commit": commit},
        ],  # fmt: skip
    )
    if a.agents:
        config.update(
            agents=sorted(set(config.get("agents", [])) | set(a.agents.split(","))),
            train_seeds=a.train_seeds,
            train_episodes=a.train_episodes,
            decisions_per_episode=DECISIONS_PER_EPISODE,
            reward=REWARD,
        )
    path.write_text(json.dumps(config, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--out",
        type=Path,
        default=Path("results/resco"),
        help="results folder (episodes.jsonl, runs/); the same command again continues there "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="RESCO scenarios, comma-separated (default: %(default)s)",
    )
    p.add_argument(
        "--rules",
        default=",".join(RULES),
        help="rule profiles, comma-separated: program (RESCO's), uk (default: %(default)s)",
    )
    p.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help="baseline rows, comma-separated, empty for none (default: %(default)s)",
    )
    p.add_argument(
        "--episodes",
        type=int,
        default=10,
        help="evaluation episodes (seeds) per row, the same seeds for every row "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--agents",
        default="",
        help="agents to train and evaluate, comma-separated, e.g. dqn,ppo (default: none)",
    )
    p.add_argument(
        "--train-seeds", type=int, default=5, help="training seeds per agent (default: %(default)s)"
    )
    p.add_argument(
        "--train-episodes",
        type=int,
        default=100,
        help=f"training episodes per run, {DECISIONS_PER_EPISODE} decisions each; RESCO's budget "
        "is 100 (default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes, one episode or training run each (default: %(default)s)",
    )
    argv = sys.argv[1:] if argv is None else argv
    a = p.parse_args(argv)
    from intergreen.agents.evaluation import evaluation_seeds

    a.out.mkdir(parents=True, exist_ok=True)
    seeds = evaluation_seeds(a.episodes)
    record_config(a.out, a, seeds, argv)
    scenarios, rules = a.scenarios.split(","), a.rules.split(",")
    episodes = [
        {"scenario": s, "rules": r, "controller": c, "train_seed": None, "seed": seed}
        for s in scenarios for r in rules for c in a.baselines.split(",") if c
        for seed in seeds
    ]  # fmt: skip
    agents = [x for x in a.agents.split(",") if x]
    # seed-major order: a stopped command leaves every cell with some seeds, not some cells
    # with all; rule profiles in the order given (the first one first)
    runs = [
        {"scenario": s, "rules": r, "agent": ag, "train_seed": ts,
         "timesteps": a.train_episodes * DECISIONS_PER_EPISODE,
         "run_dir": str(a.out / "runs" / f"{s}-{r}-{ag}-seed{ts}")}
        for ts in range(1, a.train_seeds + 1) for r in rules for s in scenarios for ag in agents
    ]  # fmt: skip
    schedule(episodes, runs, seeds, a.out, a.workers)


if __name__ == "__main__":
    main()
