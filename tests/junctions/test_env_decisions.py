"""Decision modes: when the controller is ready (the study) or every interval."""

from __future__ import annotations

import pytest

from intergreen.junctions.env import make_env


def test_every_interval_steps_are_equal_and_ignore_actions_during_changes() -> None:
    env = make_env("gm_a56", "medium", seed=5, duration=300, decisions="every_interval")
    try:
        env.reset(seed=5)
        times, ignored, done, k = [env.sim.time], 0, False, 0
        while not done:
            ready = env.controller.ready_for_decision()
            before = env.controller.target_stage
            _, _, _, done, info = env.step((k // 20) % 2)  # ask for a change every 12 s
            times.append(info["time"])
            k += 1
            if not ready:
                ignored += env.controller.target_stage == before
        steps = {round(b - a, 6) for a, b in zip(times, times[1:], strict=False)}
        assert steps == {0.6}
        assert ignored > 0  # asked during interstages and minimum greens: ignored
        assert len(times) - 1 == pytest.approx(300 / 0.6, abs=1)
    finally:
        env.close()


def test_when_ready_is_the_default_and_unknown_modes_fail() -> None:
    env = make_env("gm_a56", "low", seed=1, duration=60)
    assert env.decisions == "when_ready"
    env.close()
    with pytest.raises(ValueError, match="every_interval"):
        make_env("gm_a56", "low", decisions="sometimes")
