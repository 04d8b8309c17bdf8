"""DQN's gradient steps with and without denormal floats flushed, on a real run's state.

    .venv/bin/python benchmarks/agents/denormal_updates.py RUN_DIR [--steps 300] [--rounds 5]

RUN_DIR is a DQN run folder whose newest checkpoint still has its replay buffer beside it (a
run in progress, or one trained with ``--keep-replay-buffer``): late in training, Adam's
moments of weights whose gradient has become zero have decayed into the denormal range. From
that checkpoint (model, optimizer state, replay buffer) the script makes ``--steps`` of SB3's
gradient steps, alternately as SB3 does them and inside `flush_denormals` (what the training
classes do), each from the same state and the same generator seeds, for ``--rounds`` rounds.
It prints the denormal moment entries at the start, the milliseconds per gradient step of each
round, the ratio of the medians, and whether both ways end with the same weights, bit for bit.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.logger import configure

from intergreen.agents.checkpoints import load_replay_buffer
from intergreen.agents.rollouts import flush_denormals, use_foreach


def _denormals(model: DQN) -> tuple[int, int]:
    tiny = torch.finfo(torch.float32).tiny
    moments = [
        x for s in model.policy.optimizer.state.values() for x in (s["exp_avg"], s["exp_avg_sq"])
    ]
    return sum(int(((x != 0) & (x.abs() < tiny)).sum()) for x in moments), sum(
        x.numel() for x in moments
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    latest = json.loads((args.run_dir / "checkpoints" / "latest.json").read_text())
    if not latest.get("replay"):
        raise SystemExit(f"{args.run_dir}: the newest checkpoint has no replay buffer; use a run "
                         "in progress or one trained with --keep-replay-buffer")  # fmt: skip
    model = DQN.load(args.run_dir / "checkpoints" / latest["model"], device="cpu")
    use_foreach(model.policy.optimizer)
    load_replay_buffer(model.replay_buffer, args.run_dir / "checkpoints" / latest["replay"])
    model.set_logger(configure(None, [""]))
    start = copy.deepcopy((model.policy.state_dict(), model.policy.optimizer.state_dict()))
    den, total = _denormals(model)
    print(f"checkpoint at {latest['step']} decisions: {den} of {total} Adam moment entries "
          f"denormal ({100 * den / total:.1f} %)")  # fmt: skip
    times: dict[bool, list[float]] = {False: [], True: []}
    weights: dict[bool, list[torch.Tensor]] = {}
    for _ in range(args.rounds):
        for flush in (False, True):
            # copies: the optimizer keeps the loaded state's tensors and updates them in place
            model.policy.load_state_dict(copy.deepcopy(start[0]))
            model.policy.optimizer.load_state_dict(copy.deepcopy(start[1]))
            torch.manual_seed(0)
            np.random.seed(0)
            t = time.perf_counter()
            if flush:
                with flush_denormals():
                    model.train(gradient_steps=args.steps, batch_size=model.batch_size)
            else:
                model.train(gradient_steps=args.steps, batch_size=model.batch_size)
            times[flush].append((time.perf_counter() - t) / args.steps * 1e3)
            weights[flush] = [p.detach().clone() for p in model.policy.state_dict().values()]
    same = all(torch.equal(a, b) for a, b in zip(weights[False], weights[True], strict=True))
    for flush, label in ((False, "as SB3 does"), (True, "denormals flushed")):
        print(f"{label:>18}: ms per gradient step " + " ".join(f"{x:.2f}" for x in times[flush]))
    ratio = statistics.median(times[False]) / statistics.median(times[True])
    print(f"speed-up of a gradient step (ratio of medians): {ratio:.2f}; "
          f"same weights after {args.steps} steps: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
