"""One greedy validation point of a training run, the way 0.2.0 first played it and the way
it plays now, interleaved, with the rows of both compared.

    .venv/bin/python benchmarks/agents/validation_point.py RUN_DIR [--rounds 4]

RUN_DIR: a run trained with validation (its config.json names the validation episodes; its
best_model.zip is the model played). "old": in the training process, through traci (the
process's libsumo run belongs to its training env, so this process holds one here too), each
action from SB3's ``predict(obs, deterministic=True)``. "new": what
:class:`intergreen.agents.validation.Validator` does, in the run's validation worker on libsumo
with the lean greedy action (the worker is started once per run, outside the timing, as in a
run). Each round times one whole point (every validation episode) both ways; the script prints
each round's wall seconds, the median ratio old/new, and whether both ways gave the same rows
(they must: same simulation, same actions). Then, as many rounds of one test episode at
``high`` (``evaluate``'s default detail: per-arm trace and emissions) in this process's libsumo,
acting through ``predict`` and through the lean greedy action.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from intergreen.agents.config import TrainConfig, algorithm_class
from intergreen.agents.evaluation import evaluate
from intergreen.agents.policy import AgentPolicy
from intergreen.agents.runenv import RunEnv, make_run_env
from intergreen.agents.torch_setup import configure_torch
from intergreen.agents.validation import Validator

METRICS = ["avg_waiting_time", "avg_delay", "throughput", "mean_queue", "teleports", "backlog"]


class PredictPolicy(AgentPolicy):
    """The agent as 0.2.0 first acted: SB3's ``predict`` at every decision."""

    def act(self, observation, env) -> int:
        return int(self.model.predict(observation, deterministic=True)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    configure_torch()
    record = json.loads((args.run_dir / "config.json").read_text())
    config = TrainConfig.model_validate(record["config"])
    model = algorithm_class(config.agent).load(args.run_dir / "best_model.zip", device="cpu")
    # the training env's libsumo run, as in a training process
    training_env = make_run_env(RunEnv(config.junction, config.resolved_env_kwargs()), None,
                                config.demand, config.reward, seed=1)  # fmt: skip
    training_env.reset(seed=1)
    scratch = Path(tempfile.mkdtemp(prefix="validation_point_"))
    validator = Validator(config, scratch)
    traci = RunEnv(config.junction, config.resolved_env_kwargs() | {"backend": "traci"})
    old_policy = PredictPolicy(model, "old", traci, config.reward)
    validator.validate(model, 0)  # starts the worker, as a run's first point does
    times: dict[str, list[float]] = {"old": [], "new": []}
    same = True
    for r in range(args.rounds):
        t = time.perf_counter()
        old = evaluate([old_policy], demands=validator.demands, seeds=validator.seeds,
                       detail=False)  # fmt: skip
        times["old"].append(time.perf_counter() - t)
        t = time.perf_counter()
        validator.validate(model, r + 1)
        times["new"].append(time.perf_counter() - t)
        rows = pd.read_csv(scratch / "validation.csv")
        new = rows[rows["step"] == r + 1].reset_index(drop=True)
        same &= bool(
            old[METRICS].reset_index(drop=True).astype(float).equals(new[METRICS].astype(float))
        )
        print(f"round {r + 1}: old {times['old'][-1]:.2f} s, new {times['new'][-1]:.2f} s "
              f"({len(new)} episodes)")  # fmt: skip
    validator.close()
    ratios = [o / n for o, n in zip(times["old"], times["new"], strict=True)]
    print(f"validation point, median wall s: old {statistics.median(times['old']):.2f}, new "
          f"{statistics.median(times['new']):.2f}; old/new per round {_listed(ratios)}, "
          f"median {statistics.median(ratios):.2f}; same rows both ways: {same}")  # fmt: skip
    # a test episode (evaluate's detail: per-arm trace, emissions) in a fresh process's
    # libsumo, SB3's predict against the lean greedy action
    training_env.close()
    env = RunEnv(config.junction, config.resolved_env_kwargs())
    ways = {"predict": PredictPolicy(model, "old", env, config.reward),
            "lean": AgentPolicy(model, "new", env, config.reward)}  # fmt: skip
    test: dict[str, list[float]] = {k: [] for k in ways}
    rows = {}
    for _ in range(args.rounds):
        for way, policy in ways.items():
            t = time.perf_counter()
            rows[way] = evaluate([policy], demands=["high"], episodes=1)
            test[way].append(time.perf_counter() - t)
    ratios = [o / n for o, n in zip(test["predict"], test["lean"], strict=True)]
    same = rows["predict"][METRICS].equals(rows["lean"][METRICS])
    print(
        f"test episode at high, median wall s: predict {statistics.median(test['predict']):.2f}"
        f", lean {statistics.median(test['lean']):.2f}; predict/lean per round "
        f"{_listed(ratios)}, median {statistics.median(ratios):.2f}; same rows: {same}"
    )


def _listed(values: list[float]) -> str:
    return " ".join(f"{x:.2f}" for x in values)


if __name__ == "__main__":
    main()
