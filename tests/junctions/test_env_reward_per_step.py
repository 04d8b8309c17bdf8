"""reward_per_step: an instantaneous reward counted once per simulation step covered."""

from __future__ import annotations

import pytest

from intergreen.junctions.env import make_env


def one(frames, context) -> float:
    return 1.0


@pytest.mark.parametrize("per_step", [False, True])
def test_constant_reward_sums_to_decisions_or_steps(per_step: bool) -> None:
    env = make_env("gm_a56", "low", one, seed=4, duration=120, reward_per_step=per_step)
    try:
        env.reset()
        start_steps = env.sim.steps
        decisions, done, total = 0, False, 0.0
        while not done:
            _, r, _, done, info = env.step(decisions % 2)  # alternate: long and short decisions
            decisions += 1
            total += r
        steps = round(info["time"] / env.step_length) - start_steps
        assert total == pytest.approx(steps if per_step else decisions)
        assert steps > decisions  # changes cover many steps each
        assert env.metadata_dict()["reward_per_step"] is per_step
    finally:
        env.close()
