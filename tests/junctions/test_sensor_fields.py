"""sensor_fields: an env that reads only the sensor fields its observation and reward use
gives the same observations, rewards and metrics as one that reads them all; a field it did
not read is an error, never a silent zero."""

from __future__ import annotations

import numpy as np
import pytest

from intergreen.errors import OptionError
from intergreen.frames import UnreadFieldError
from intergreen.junctions.env import make_env


def _episode(reward: str | None, sensor_fields, steps: int = 80, **kw):
    env = make_env("gm_a56", "medium", reward, seed=3, duration=40.0,
                   decisions="every_interval", sensor_fields=sensor_fields, **kw)  # fmt: skip
    try:
        obs, _ = env.reset()
        out = [obs]
        for i in range(steps):
            obs, reward_value, _, truncated, info = env.step((i // 9) % 2)
            out += [obs, reward_value]
            if truncated:
                out.append(info["episode_metrics"])
                break
        return env, out, list(env.history)
    finally:
        env.close()


def _same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        else:
            assert x == y


@pytest.mark.parametrize(
    ("reward", "unread"),
    [
        ("average_speed", {"halting", "arrived", "passed"}),
        ("throughput", {"count", "halting", "mean_speed", "arrived"}),
        ("wait_time_ad", {"mean_speed"}),  # V_t: stop-line crossings leave the queues
        (None, {"mean_speed", "arrived", "passed"}),  # the default reward, queue: halting
    ],
)
def test_auto_reads_only_what_is_used_and_changes_nothing(reward, unread) -> None:
    env, auto, frames = _episode(reward, "auto")
    _, everything, _ = _episode(reward, "all")
    _same(auto, everything)
    assert env.sensors.unread == unread
    assert isinstance(auto[-1], dict)  # the episode ran to its end
    frame = frames[-1]
    for name in unread:
        with pytest.raises(UnreadFieldError, match=f"SensorFrame.{name} was not read"):
            getattr(frame, name)
    assert frame.occupancy.shape == (6,)  # the observation's feature is read


def test_explicit_fields_and_features_are_read_and_noise_reads_everything() -> None:
    env, _, frames = _episode("queue", ["passed"], steps=5, features=("mean_speed",))
    assert env.sensor_fields == ("mean_speed", "halting", "passed")
    assert env.sensors.unread == {"occupancy", "arrived"}
    assert frames[-1].passed.shape == frames[-1].halting.shape == (6,)
    noisy = {"miss_prob": 0.2, "count_sd": 0.5}
    env, auto, _ = _episode("average_speed", "auto", steps=20, sensor_noise=noisy)
    _, everything, _ = _episode("average_speed", "all", steps=20, sensor_noise=noisy)
    assert env.sensors.unread == frozenset()  # the noise model draws for every field
    _same(auto, everything)


def test_bad_sensor_fields_are_refused() -> None:
    with pytest.raises(OptionError, match="sensor_fields='some'"):
        make_env("gm_a56", "medium", sensor_fields="some")
    with pytest.raises(OptionError, match="unknown sensor field 'queues'"):
        make_env("gm_a56", "medium", sensor_fields=["occupancy", "queues"])


def test_a_reward_reading_an_undeclared_field_is_named() -> None:
    """A reward that declares fields=("halting",) and reads mean_speed: the error names the
    reward (it named only SensorFrame.mean_speed), and SUMO is closed."""
    from intergreen.rewards import Registry

    reg = Registry(plugins=False)

    @reg.register("sf_sneaky", fields=("halting",))
    def sf_sneaky(frames, context) -> float:
        return -float(frames[-1].mean_speed.sum())

    env = make_env("gm_a56", "medium", reg.get("sf_sneaky"), seed=3, duration=40.0,
                   sensor_fields="auto")  # fmt: skip
    try:
        env.reset()
        with pytest.raises(UnreadFieldError) as err:
            env.step(0)
        assert str(err.value).startswith(
            "reward 'sf_sneaky': SensorFrame.mean_speed was not read from the detectors: "
        )
        assert env.sim is None or not env.sim.running
    finally:
        env.close()
