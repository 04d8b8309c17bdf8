"""DQN's gradient steps four ways on a real run's state: SB3's, SB3's with denormal floats
flushed, and ours (flushed, `intergreen.agents.updates.dqn_update`) through autograd and
torch's Adam (the previous path, ``flat=False``) and with flat buffers (the path training
takes).

    .venv/bin/python benchmarks/agents/dqn_updates.py RUN_DIR [--steps 300] [--rounds 5]

RUN_DIR is a DQN run folder whose newest checkpoint still has its replay buffer beside it (a
run in progress, or one trained with ``--keep-replay-buffer``): late in training, Adam's
moments of weights whose gradient has become zero have decayed into the denormal range. From
that checkpoint (model, optimizer state, replay buffer) the script makes ``--steps`` gradient
steps, in turn as SB3 does them, as SB3 does them inside `flush_denormals`, as the previous
path did them and as the training classes do them (`dqn_update` inside `flush_denormals`),
each from the same state and the same generator seeds, for ``--rounds`` rounds. It prints the
denormal moment entries at the start, the milliseconds of CPU time per gradient step of each
round (CPU time: less disturbed than wall time by other processes on the cores), the ratios
of the medians, and whether all four end with the same weights, bit for bit.
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
from intergreen.agents.updates import dqn_update, lean_update_applies


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
    ways = {
        "as SB3 does them": lambda: model.train(gradient_steps=args.steps, batch_size=64),
        "denormals flushed": lambda: _flushed(model.train, args.steps),
        "previous (autograd)": lambda: _flushed(
            lambda **k: dqn_update(model, **k, flat=False), args.steps
        ),
        "ours (flat buffers)": lambda: _flushed(lambda **k: dqn_update(model, **k), args.steps),
    }
    assert lean_update_applies(model)
    times: dict[str, list[float]] = {name: [] for name in ways}
    weights: dict[str, list[torch.Tensor]] = {}
    for _ in range(args.rounds):
        for name, run in ways.items():
            # copies: the optimizer keeps the loaded state's tensors and updates them in place
            model.policy.load_state_dict(copy.deepcopy(start[0]))
            model.policy.optimizer.load_state_dict(copy.deepcopy(start[1]))
            torch.manual_seed(0)
            np.random.seed(0)
            t = time.process_time()
            run()
            times[name].append((time.process_time() - t) / args.steps * 1e3)
            weights[name] = [p.detach().clone() for p in model.policy.state_dict().values()]
    first = next(iter(weights.values()))
    same = all(
        all(torch.equal(a, b) for a, b in zip(first, w, strict=True)) for w in weights.values()
    )
    for name, row in times.items():
        print(f"{name:>20}: CPU ms per gradient step " + " ".join(f"{x:.2f}" for x in row))
    base = statistics.median(times["as SB3 does them"])
    for name in list(ways)[1:]:
        print(f"speed-up, {name}: {base / statistics.median(times[name]):.2f} (ratio of medians)")
    previous = statistics.median(times["previous (autograd)"])
    print(f"new path / previous: {previous / statistics.median(times['ours (flat buffers)']):.2f}")
    print(f"same weights after {args.steps} steps, all four ways: {same}")


def _flushed(train, steps: int) -> None:
    with flush_denormals():
        train(gradient_steps=steps, batch_size=64)


if __name__ == "__main__":
    main()
