"""Training throughput: agent decisions (env steps) per wall second for DQN and PPO at
the presets (gm_a56, 0.6 s steps and decisions, mixed demand), with one env and with
n_envs=2 SUMO simulations (env 0 in the learner's process, env 1 in a subprocess). Prints
the table and the n_envs=2 / n_envs=1 ratio (target >= 1.6 on 2 cores) and writes
benchmarks/results/train_throughput[_<decisions>].json.

    .venv/bin/python benchmarks/agents/train_throughput.py [--steps 20000]
    .venv/bin/python benchmarks/agents/train_throughput.py --decisions when_ready  # study timing

The rate is that of the learning loop (SB3's learn(), recorded in done.json); the
one including the start of the SUMO processes is printed beside it. DQN's warm-up
(learning_starts) is cut to 1000 steps so that gradient updates count.
Run it on a quiet machine: other load on the 2 cores skews the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from intergreen.agents.training import train


def measure(agent: str, n_envs: int, steps: int, decisions: str) -> tuple[float, float]:
    """Steps/s of the learning loop (SB3's learn(), from done.json) and of the whole
    call including starting the SUMO processes."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        train(agent, timesteps=steps, seed=1, n_envs=n_envs, run_dir=Path(tmp) / "run",
              hyperparams={"learning_starts": 1000} if agent == "dqn" else {},
              checkpoint_every=10**9, env_kwargs={"decisions": decisions})  # fmt: skip
        wall = time.perf_counter() - start
        done = json.loads((Path(tmp) / "run" / "done.json").read_text())
    return done["steps_per_s"], done["timesteps"] / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--decisions", default="every_interval",
                        choices=["every_interval", "when_ready"],
                        help="decision timing (the presets: every_interval)")  # fmt: skip
    args = parser.parse_args()
    rows = []
    for agent in ("dqn", "ppo"):
        rates = {n: measure(agent, n, args.steps, args.decisions) for n in (1, 2)}
        (learn1, whole1), (learn2, whole2) = rates[1], rates[2]
        rows.append({"agent": agent, "n_envs_1": learn1, "n_envs_2": learn2,
                     "ratio": learn2 / learn1, "with_startup_1": whole1,
                     "with_startup_2": whole2})  # fmt: skip
        print(f"{agent}: {learn1:7.1f} steps/s (1 env)  {learn2:7.1f} steps/s (2 envs)  "
              f"ratio {learn2 / learn1:.2f}   [with start-up: {whole1:.1f} / {whole2:.1f}]")
    suffix = "" if args.decisions == "every_interval" else f"_{args.decisions}"
    out = Path(__file__).resolve().parents[1] / "results" / f"train_throughput{suffix}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"steps": args.steps, "decisions": args.decisions, "rows": rows},
                              indent=2))  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
