"""JunctionEnv on real SUMO: the gymnasium contract, observation layout, masks, seeding, ends."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from intergreen.junctions.env import JunctionEnv, make_env
from intergreen.rewards import registry

SHORT = 60.0


@pytest.fixture
def env_factory() -> Iterator[Callable[..., JunctionEnv]]:
    """make_env with short episodes; every env made is closed after the test."""
    made: list[JunctionEnv] = []

    def make(demand: Any = "high", seed: int | None = 1, **kw: Any) -> JunctionEnv:
        kw.setdefault("duration", SHORT)
        env = make_env("gm_a56", demand, kw.pop("reward", None), seed, **kw)
        made.append(env)
        return env

    yield make
    for env in made:
        env.close()


def rollout(env: JunctionEnv, seed: int | None, actions: Callable[[int], int] | None = None):
    """Observations, rewards, infos and the last flags of one episode."""
    obs, info = env.reset(seed=seed)
    observations, rewards, infos = [obs], [], [info]
    terminated = truncated = False
    i = 0
    while not (terminated or truncated):
        a = actions(i) if actions else int(np.flatnonzero(env.action_masks())[-1])
        obs, r, terminated, truncated, info = env.step(a)
        observations.append(obs)
        rewards.append(r)
        infos.append(info)
        i += 1
    return observations, rewards, infos, terminated, truncated


def test_check_env_passes(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(duration=30)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker's warnings are failures too
        check_env(env, skip_render_check=True)


@pytest.mark.parametrize(
    ("n_stack", "features"),
    [
        (20, ("occupancy",)),
        (4, ("occupancy", "halting")),
        (1, ("occupancy", "halting", "count", "mean_speed")),
    ],
)
def test_observation_shape_and_bounds(
    env_factory: Callable[..., JunctionEnv], n_stack: int, features: tuple[str, ...]
) -> None:
    env = env_factory(n_stack=n_stack, features=features)
    lanes, stages = 6, 4
    size = n_stack * (lanes * len(features) + stages + 1) + 1
    assert env.observation_space.shape == (size,)
    assert env.observation_space.dtype == np.float32
    assert env.action_space == gym.spaces.Discrete(2)
    observations, *_ = rollout(env, seed=3)
    obs = np.stack(observations)
    assert obs.shape[1] == size and obs.dtype == np.float32
    assert np.all((obs >= 0) & (obs <= 1))
    assert all(env.observation_space.contains(o) for o in observations)
    # traffic is seen: some lane feature is non-zero by the end
    assert obs[-1, :-1].reshape(n_stack, -1)[:, : lanes * len(features)].max() > 0


def test_observation_layout(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(n_stack=3, features=("occupancy", "halting"))
    env.reset(seed=2)
    for i in range(40):
        obs, _, _, truncated, _ = env.step(i // 10 % 2)
        if truncated:
            break
        rows = obs[:-1].reshape(3, -1)
        latest = rows[-1]
        # newest frame last: lane features, then the one-hot stage, then the interstage flag
        np.testing.assert_allclose(latest[:6], env.frames[-1].occupancy, atol=1e-6)
        np.testing.assert_allclose(
            latest[6:12], np.minimum(env.frames[-1].halting / env._zone_capacity, 1), atol=1e-6
        )
        one_hot = latest[12:16]
        assert one_hot.sum() == 1
        assert list(env.spec_.stages)[int(one_hot.argmax())] == env.controller.current_stage
        assert latest[16] == float(env.controller.in_interstage)
        if len(env.frames) >= 3:
            np.testing.assert_allclose(rows[-2][:6], env.frames[-2].occupancy, atol=1e-6)
            np.testing.assert_allclose(rows[-3][:6], env.frames[-3].occupancy, atol=1e-6)
        assert obs[-1] == pytest.approx(min(env.controller.time_in_stage / 60, 1), abs=1e-6)


def test_action_masks(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(duration=120)
    _, info = env.reset(seed=1)
    for i in range(200):
        mask = env.action_masks()
        assert mask.dtype == bool and mask.shape == (2,)
        np.testing.assert_array_equal(info["action_mask"], mask)
        np.testing.assert_array_equal(mask, env.controller.action_mask(env.action_stages))
        # decisions come once minimum green has run and no change is pending, and gm_a56
        # has no maximum green: staying and changing are both allowed
        assert mask.all()
        _, _, _, truncated, info = env.step(i // 15 % 2)
        if truncated:
            break
    # mid-step, during an interstage, only the target stage is allowed
    env.reset(seed=1)
    env.step(1)  # to stage 4
    env.controller.request("2")
    env.controller.step()
    assert env.controller.in_interstage
    np.testing.assert_array_equal(env.action_masks(), [True, False])


def test_decisions_only_when_ready(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory()
    env.reset(seed=1)
    times = []
    for i in range(30):
        _, _, _, truncated, info = env.step(i % 2)
        if truncated:
            break
        assert env.controller.ready_for_decision()
        assert info["stage"] == env.controller.current_stage in env.action_stages
        times.append(info["time"])
    assert np.all(np.diff(times) >= 0.6 - 1e-9)


def test_truncation_at_duration_with_episode_metrics(
    env_factory: Callable[..., JunctionEnv],
) -> None:
    env = env_factory(duration=90)
    _, rewards, infos, terminated, truncated = rollout(env, seed=5)
    assert truncated and not terminated
    last = infos[-1]
    assert last["time"] == pytest.approx(90, abs=0.61)
    m = last["episode_metrics"]
    assert m["simulated_s"] == pytest.approx(last["time"])
    assert m["vehicles"] > 0 and m["avg_waiting_time"] >= 0
    assert last["episode_reward"] == pytest.approx(sum(rewards))
    assert all("episode_metrics" not in i for i in infos[:-1])
    assert env.episode_metrics is not None and env.episode_metrics.as_dict() == m
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_default_duration_is_the_demands(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(duration=None)
    env.reset(seed=1)
    assert env.sim is not None and env.sim.duration == 1800


def test_same_seed_same_trajectory(env_factory: Callable[..., JunctionEnv]) -> None:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, size=1000)
    a = rollout(env_factory(), seed=11, actions=lambda i: int(actions[i]))
    b = rollout(env_factory(), seed=11, actions=lambda i: int(actions[i]))
    c = rollout(env_factory(), seed=12, actions=lambda i: int(actions[i]))
    assert len(a[0]) == len(b[0])
    for x, y in zip(a[0], b[0], strict=True):
        np.testing.assert_array_equal(x, y)
    assert a[1] == b[1]
    assert a[2][-1]["episode_metrics"] == b[2][-1]["episode_metrics"]
    assert a[2][-1]["episode_metrics"] != c[2][-1]["episode_metrics"]


def test_reset_after_episode_and_constructor_seed(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(seed=4, duration=30)
    first = rollout(env, seed=None)
    second = rollout(env, seed=None)  # a new episode, continuing the seeded sequence
    assert first[2][-1]["episode_metrics"] != second[2][-1]["episode_metrics"]
    again = rollout(env_factory(seed=4, duration=30), seed=None)
    assert again[2][-1]["episode_metrics"] == first[2][-1]["episode_metrics"]


def test_traci_backend_same_trajectory(env_factory: Callable[..., JunctionEnv]) -> None:
    a = rollout(env_factory(duration=45), seed=3, actions=lambda i: i // 8 % 2)
    b = rollout(env_factory(duration=45, backend="traci"), seed=3, actions=lambda i: i // 8 % 2)
    assert a[1] == b[1]
    assert a[2][-1]["episode_metrics"] == b[2][-1]["episode_metrics"]


def test_default_reward_is_the_registry_queue(env_factory: Callable[..., JunctionEnv]) -> None:
    """Without a reward the env uses the registry's ``queue`` (a reward the registry knows)."""
    env = env_factory()
    env.reset(seed=1)
    assert env.reward_info["name"] == "queue"
    assert "queue" in registry.names()
    rewards = []
    for i in range(80):
        _, r, _, truncated, _ = env.step(i // 20 % 2)
        assert r == -env.frames[-1].halting.sum()
        rewards.append(r)
        if truncated:
            break
    assert min(rewards) < 0


def test_plain_function_reward(env_factory: Callable[..., JunctionEnv]) -> None:
    calls = []

    def seen_vehicles(frames, context):
        calls.append(len(frames))
        return float(frames[-1].count.sum())

    env = env_factory(reward=seen_vehicles)
    env.reset(seed=1)
    _, r, *_ = env.step(0)
    assert r == env.frames[-1].count.sum()
    assert calls == [len(env.frames)] and calls[0] >= 1
    assert env.reward_info["name"] == "seen_vehicles"


def test_registry_reward_by_name(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(reward="queue")
    env.reset(seed=1)
    _, r, *_ = env.step(0)
    assert np.isfinite(r)
    assert env.reward_info["name"] == "queue"


@pytest.mark.parametrize("action", [2, -1, 7])
def test_invalid_action_raises(env_factory: Callable[..., JunctionEnv], action: int) -> None:
    env = env_factory()
    env.reset(seed=1)
    with pytest.raises(ValueError, match="outside 0..1"):
        env.step(action)


def test_bad_arguments(env_factory: Callable[..., JunctionEnv]) -> None:
    with pytest.raises(ValueError, match="unknown observation feature"):
        env_factory(features=("colour",))
    with pytest.raises(ValueError, match="n_stack"):
        env_factory(n_stack=0)
    env = env_factory()
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_action_stages_option(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(action_stages=["1", "2", "4"], duration=150)
    assert env.action_space == gym.spaces.Discrete(3)
    env.reset(seed=1)
    stages = set()
    for i in range(100):
        _, _, _, truncated, info = env.step(i // 12 % 3)
        stages.add(info["stage"])
        if truncated:
            break
    assert {"1", "2", "4"} <= stages


def test_demand_list_and_mixed(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(demand=["low", "high"], duration=10)
    names = set()
    for s in range(8):
        env.reset(seed=s)
        names.add(env.demand.name)
    env.close()  # libsumo runs one simulation per process
    assert names == {"low", "high"}
    ranges = (("mixed", (1200, 3000), True), ("mixed_v1", (1200, 2571), False))
    for name, (low, high), mix in ranges:
        mixed = env_factory(demand=name, duration=10)
        totals = set()
        for s in range(6):
            mixed.reset(seed=s)
            total = mixed.demand.periods[0].total
            assert low <= total <= high and total % 50 == 0
            assert (mixed.demand.vehicle_mix is not None) == mix
            totals.add(total)
        mixed.close()
        assert len(totals) > 1
    # mixed_v1 draws what mixed drew before issue 16 (make_env("gm_a56", "mixed"), seeds 0-5)
    old = make_env("gm_a56", "mixed_v1", duration=10)
    drawn = []
    for s in range(6):
        old.reset(seed=s)
        drawn.append(old.demand.periods[0].total)
    old.close()
    assert drawn == [2350, 1850, 2350, 2300, 2200, 2100]


def test_sensor_noise_option(env_factory: Callable[..., JunctionEnv]) -> None:
    env = env_factory(sensor_noise={"dropout_prob": 1.0})
    obs, _ = env.reset(seed=1)
    for _ in range(20):
        obs, *_ = env.step(0)
        assert not env.frames[-1].valid.any()
    lanes = obs[:-1].reshape(20, -1)[:, :6]
    assert lanes.max() == 0


@pytest.mark.parametrize(("junction", "forced"), [("gm_a56", False), ("gm_a56_max_green", True)])
def test_maximum_green_ends_a_stage_the_agent_keeps_extending(junction: str, forced: bool) -> None:
    """Always asking for the main road: gm_a56 obeys; gm_a56_max_green ends it at 60 s."""
    env = make_env(junction, "high", None, 1, duration=150)
    try:
        infos = rollout(env, 1, actions=lambda i: 0)[2]
    finally:
        env.close()
    side = [info["time"] for info in infos[1:] if info["stage"] == "4"]
    assert bool(side) is forced
    if forced:  # 60 s from the start, the interstage, then stage 4's minimum green (7 s)
        assert 60 + 7 <= side[0] <= 60 + 5 + 2 + 7 + 1
