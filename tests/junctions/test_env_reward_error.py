"""A reward that fails inside ``step`` stops the episode and closes SUMO, like any other error."""

from __future__ import annotations

import math

import numpy as np
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


def _returns_none(frames, context):
    return None


def _returns_text(frames, context):
    return "1.0"  # float() takes it: was a reward of 1.0 (a new user's trial)


def _raises(frames, context):
    return frames[-1].no_such_field


def _one_argument(frames):
    return 0.0


def test_plain_function_gets_the_registry_checks() -> None:
    """A function passed as ``reward=`` unregistered is checked as a registered one: a wrong
    signature before the episode, a value that is not a number, or an exception in its code,
    each a RewardError naming it (they were a bare TypeError from float() at the first step)."""
    with pytest.raises(RewardError, match=r"reward '_one_argument': a function reward is called"):
        make_env("gm_a56", "low", _one_argument, seed=1, duration=60)
    for func, message in [
        (_returns_none, r"reward '_returns_none' returned None \(NoneType\), not a number"),
        (_returns_text, r"reward '_returns_text' returned '1.0' \(str\), not a number: return a"),
        (_raises, r"reward '_raises' raised AttributeError: .*test_env_reward_error\.py, line"),
    ]:
        env = make_env("gm_a56", "low", func, seed=1, duration=60)
        try:
            env.reset()
            with pytest.raises(RewardError, match=message):
                env.step(0)
        finally:
            env.close()
    assert sumo_children() == []


def test_only_numbers_are_reward_values() -> None:
    from intergreen.rewards.registry import check_value

    class R:
        name = "r"

    from decimal import Decimal
    from fractions import Fraction

    for good in (1, 2.5, np.float32(0.5), np.int64(-3), np.array(4.0), np.float64(-1.25),
                 Decimal("0.5"), Fraction(1, 4)):  # fmt: skip
        assert check_value(R(), good) == float(good)
    for bad in ("1.0", True, np.bool_(False), None, [1.0], np.array([1.0]), b"1"):
        with pytest.raises(RewardError, match=r"reward 'r' returned .*not a number: return a"):
            check_value(R(), bad)


def test_a_protocol_instance_given_as_itself_is_checked_too() -> None:
    """An instance passed straight to make_env is not wrapped by the registry: the env checks
    its value itself (it took the text "1.0" and True as numbers)."""

    class Texty:
        name, fields, needs_demand, params = "texty", ("halting",), False, {}

        def reset(self, context) -> None:
            pass

        def __call__(self, frames) -> object:
            return "1.0"

    env = make_env("gm_a56", "low", Texty(), seed=1, duration=30)
    try:
        env.reset()
        with pytest.raises(RewardError, match=r"returned '1.0' \(str\), not a number.*\(at t="):
            env.step(0)
    finally:
        env.close()
    assert sumo_children() == []
