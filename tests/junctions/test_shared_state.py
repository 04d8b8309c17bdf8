"""No hidden shared mutable state: arrays shared between frames or episodes are read-only, and
the random baseline's actions do not depend on the order its episodes are played in."""

from __future__ import annotations

import numpy as np
import pytest

from intergreen.junctions.baselines import RandomPolicy
from intergreen.junctions.env import make_env
from intergreen.junctions.rollout import run_episode


@pytest.mark.parametrize("noise", [None, {"count_sd": 0.5}])
def test_arrays_shared_by_frames_are_read_only(noise: dict | None) -> None:
    env = make_env("gm_a56", "medium", seed=1, duration=30, sensor_noise=noise)
    try:
        env.reset()
        env.step(0)
        first, last = env.history[0], env.history[-1]
        assert first is not last
        assert first.speed_limit is last.speed_limit
        shared = [first.speed_limit]
        if noise is None:  # noiseless frames share one all-true `valid`
            assert first.valid is last.valid
            shared.append(first.valid)
        else:  # with noise each frame has its own
            first.valid[0] = False
        for array in shared:
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 0
        assert last.valid.all() and np.all(last.speed_limit > 10)
        context = env._reward_context
        with pytest.raises(ValueError, match="read-only"):
            context.speed_limits[0] = 0.0
        with pytest.raises(ValueError, match="read-only"):
            context.stage_lanes["2"][:] = False
    finally:
        env.close()


def test_random_policy_does_not_depend_on_episode_order() -> None:
    """One policy object, episodes in two orders: each episode gets the same actions."""

    def play(order: list[int]) -> dict[int, tuple[int, float]]:
        policy = RandomPolicy(seed=7)
        out = {}
        for seed in order:
            env = make_env("gm_a56", "high", seed=seed, duration=120)
            r = run_episode(env, policy, seed=seed)
            out[seed] = (r.decisions, r.metrics["avg_waiting_time"])
        return out

    forward, backward = play([1, 2]), play([2, 1])
    assert forward == backward
    assert forward[1] != forward[2]  # different episodes still differ
