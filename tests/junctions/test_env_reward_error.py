"""A reward that fails inside ``step`` stops the episode and closes SUMO, like any other error."""

from __future__ import annotations

import math

import pytest
from procs import sumo_children

from intergreen.junctions.env import make_env
from intergreen.rewards import BaseReward, RewardError


class NanAfter(BaseReward):
    """Minus the queue, then NaN from the third decision on (a broken formula)."""

    name = "nan_after_two"
    description = "test reward that breaks"
    fields = ("halting",)

    def start(self) -> None:
        self.calls = 0

    def compute(self, frames) -> float:
        self.calls += 1
        return math.nan if self.calls > 2 else -float(frames[-1].halting.sum())


def nan_function(frames, context) -> float:
    return math.nan


@pytest.mark.parametrize("backend", ["libsumo", "traci"])
@pytest.mark.parametrize("reward", [NanAfter(), nan_function], ids=["registry", "function"])
def test_reward_error_in_step_closes_sumo(backend: str, reward) -> None:
    env = make_env("gm_a56", "high", reward, seed=1, duration=120, backend=backend)
    try:
        env.reset()
        if backend == "traci":
            assert sumo_children(), "a traci run has a SUMO server process"
        with pytest.raises(RewardError, match="nan"):
            for _ in range(10):
                env.step(0)
        assert env.sim is not None and not env.sim.running
        assert env.sim.conn is None
        assert sumo_children() == []
        # the env is usable again after the error
        env.reset(seed=2)
        assert env.sim.running
    finally:
        env.close()
    assert sumo_children() == []
