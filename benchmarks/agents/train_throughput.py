"""Training throughput: agent decisions (env steps) per wall second for DQN and PPO at
the presets (gm_a56, 0.6 s steps and decisions, mixed demand), with one env and with
n_envs=2 SUMO simulations (env 0 in the learner's process, env 1 in a subprocess; PPO's
envs collect their rollouts in parallel). Prints the table and the n_envs=2 / n_envs=1 ratio
(target >= 1.6 on 2 cores; with --repeats, the median of the repeats, each an adjacent pair
of runs) and writes benchmarks/results/train_throughput[_<tag>].json.

    .venv/bin/python benchmarks/agents/train_throughput.py [--steps 20000] [--repeats 3]
    .venv/bin/python benchmarks/agents/train_throughput.py --decisions when_ready  # study timing
    .venv/bin/python benchmarks/agents/train_throughput.py --preset study_dqn --agents dqn

The rate is that of the learning loop (SB3's learn(), recorded in done.json); the
one including the start of the SUMO processes is printed beside it. DQN's warm-up
(learning_starts) is cut to 1000 steps so that gradient updates count.
Run it on a quiet machine: other load on the 2 cores skews the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from intergreen.agents.training import train


def measure(
    agent: str, n_envs: int, steps: int, decisions: str | None, preset: str | None
) -> tuple[float, float]:
    """Steps/s of the learning loop (SB3's learn(), from done.json) and of the whole
    call including starting the SUMO processes."""
    env_kwargs = {} if decisions is None else {"decisions": decisions}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        train(agent, timesteps=steps, seed=1, n_envs=n_envs, run_dir=Path(tmp) / "run",
              hyperparams={"learning_starts": 1000} if agent == "dqn" else {},
              checkpoint_every=10**9, env_kwargs=env_kwargs, preset=preset)  # fmt: skip
        wall = time.perf_counter() - start
        done = json.loads((Path(tmp) / "run" / "done.json").read_text())
    return done["steps_per_s"], done["timesteps"] / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=1, help="pairs of runs per agent")
    parser.add_argument("--agents", nargs="+", default=["dqn", "ppo"], choices=["dqn", "ppo"])
    parser.add_argument("--preset", default=None, help="e.g. study_dqn (default: the agent's)")
    parser.add_argument("--decisions", default=None, choices=["every_interval", "when_ready"],
                        help="decision timing (default: the preset's)")  # fmt: skip
    args = parser.parse_args()
    rows = []
    for agent in args.agents:
        pairs = [
            {n: measure(agent, n, args.steps, args.decisions, args.preset) for n in (1, 2)}
            for _ in range(args.repeats)
        ]
        ratios = [p[2][0] / p[1][0] for p in pairs]
        row = {"agent": agent, "preset": args.preset or agent, "steps": args.steps,
               "n_envs_1": [round(p[1][0], 1) for p in pairs],
               "n_envs_2": [round(p[2][0], 1) for p in pairs],
               "ratios": [round(r, 3) for r in ratios], "ratio": statistics.median(ratios),
               "with_startup_1": [round(p[1][1], 1) for p in pairs],
               "with_startup_2": [round(p[2][1], 1) for p in pairs]}  # fmt: skip
        rows.append(row)
        print(
            f"{agent} ({row['preset']}): 1 env {row['n_envs_1']} steps/s, 2 envs "
            f"{row['n_envs_2']} steps/s, ratios {row['ratios']}, median {row['ratio']:.2f}"
        )
    tag = "_".join(x for x in (args.preset, args.decisions) if x)
    out = (
        Path(__file__).resolve().parents[1]
        / "results"
        / (f"train_throughput_{tag}.json" if tag else "train_throughput.json")
    )
    out.parent.mkdir(exist_ok=True)
    # rows of agents not run this time are kept (e.g. --agents dqn after a full run)
    kept = json.loads(out.read_text()).get("rows", []) if out.exists() else []
    rows = [r for r in kept if r["agent"] not in args.agents] + rows
    out.write_text(json.dumps({"steps": args.steps, "decisions": args.decisions,
                               "preset": args.preset, "rows": rows}, indent=2))  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
