"""LocalFirstVecEnv: env 0 in this process, the others in subprocesses, same results as
SB3's SubprocVecEnv; and n_envs=2 training end to end with no process left behind."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import warnings
from functools import partial

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import SubprocVecEnv

from intergreen.agents.training import train
from intergreen.agents.vecenv import LocalFirstVecEnv
from intergreen.common import folded_warnings
from intergreen.junctions.env import make_env


def _env(seed: int):
    return make_env("gm_a56", "medium", "queue", seed=seed, duration=30,
                    decisions="every_interval")  # fmt: skip


def _rollout(vec, steps: int) -> tuple[list, list, list, list]:
    vec.seed(7)
    obs = [vec.reset()]
    rewards, dones, terminal = [], [], []
    rng = np.random.default_rng(0)
    for _ in range(steps):
        o, r, d, infos = vec.step(rng.integers(0, vec.action_space.n, size=vec.num_envs))
        obs.append(o)
        rewards.append(r)
        dones.append(d)
        terminal += [i["terminal_observation"] for i in infos if "terminal_observation" in i]
    return obs, rewards, dones, terminal


def test_local_first_matches_subproc_through_an_episode_end() -> None:
    fns = [partial(_env, s) for s in (1, 2, 3)]
    ours, theirs = LocalFirstVecEnv(fns), SubprocVecEnv(fns, start_method="forkserver")
    try:
        steps = 60  # 30 s episodes at 0.6 s decisions: every env ends and resets once
        a, b = _rollout(ours, steps), _rollout(theirs, steps)
        assert any(d.all() for d in a[2]) and len(a[3]) == 3
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(np.array(x), np.array(y))
        assert not np.array_equal(a[0][-1][0], a[0][-1][1])  # the envs differ (own seeds)
        assert ours.get_attr("decisions") == ["every_interval"] * 3
        assert ours.get_attr("decisions", indices=[2]) == ["every_interval"]
        masks = ours.env_method("action_masks", indices=[0, 2])
        assert len(masks) == 2 and all(m.dtype == bool for m in masks)
        assert ours.has_attr("action_masks") and not ours.has_attr("no_such_attribute")
    finally:
        ours.close()
        theirs.close()
    assert not mp.active_children()
    assert not ours.remotes[0].env.unwrapped.sim.running  # the in-process SUMO run is closed
    again = _env(4)  # libsumo allows one run per process: this one must be able to start
    try:
        again.reset()
    finally:
        again.close()


def test_an_error_in_the_local_env_reaches_the_caller_and_close_still_works() -> None:
    vec = LocalFirstVecEnv([partial(_env, s) for s in (1, 2)])
    try:
        vec.reset()
        with pytest.raises(ValueError, match="outside"):
            vec.step(np.array([99, 0]))
    finally:
        vec.close()
    assert not mp.active_children()


def _warning_cartpole(index: int) -> gym.Env:
    if index > 0:  # envs 1.. are made in the worker processes
        warnings.warn("made in a worker\n  (second line)", UserWarning, stacklevel=1)
    return gym.make("CartPole-v1")


def test_a_warning_of_two_workers_shows_once_as_one_line(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Envs 1 and 2, each in its own worker process, warn alike as they are made: the learner's
    process prints it once, in its own format (the CLI's one line here), not each worker in
    Python's two-line form."""
    with folded_warnings():
        vec = LocalFirstVecEnv([partial(_warning_cartpole, i) for i in range(3)])
        try:
            vec.reset()
            vec.step(np.zeros(3, dtype=int))
        finally:
            vec.close()
    assert len(vec.processes) == 2 and not mp.active_children()
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert lines == ["warning (test_vecenv): made in a worker (second line)"]


def _environment_cartpole() -> gym.Env:
    env = gym.make("CartPole-v1")
    env.unwrapped.seen = os.environ.get("INTERGREEN_TEST_OWNER")
    return env


def test_workers_take_the_learners_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker sees the environment variables the learner has when it makes the envs, not
    those of the moment the forkserver started (a reward module named since, in
    ``$INTERGREEN_REWARD_MODULES``, would be missing there)."""
    first = LocalFirstVecEnv([_environment_cartpole, _environment_cartpole])  # the forkserver runs
    first.close()
    monkeypatch.setenv("INTERGREEN_TEST_OWNER", "set after the forkserver started")
    vec = LocalFirstVecEnv([_environment_cartpole, _environment_cartpole])
    try:
        assert vec.get_attr("seen") == ["set after the forkserver started"] * 2
    finally:
        vec.close()
    monkeypatch.delenv("INTERGREEN_TEST_OWNER")
    vec = LocalFirstVecEnv([_environment_cartpole, _environment_cartpole])
    try:
        assert vec.get_attr("seen") == [None, None]
    finally:
        vec.close()
    assert not mp.active_children()


def test_local_first_needs_two_envs() -> None:
    with pytest.raises(ValueError, match="DummyVecEnv"):
        LocalFirstVecEnv([partial(_env, 1)])


def test_training_with_two_envs(tmp_path) -> None:
    run = tmp_path / "ppo2"
    train("ppo", demand="low", reward="queue", timesteps=512, seed=4, n_envs=2,
          hyperparams={"n_steps": 128, "batch_size": 64, "n_epochs": 1}, run_dir=run,
          env_kwargs={"duration": 60}, checkpoint_every=10_000)  # fmt: skip
    assert json.loads((run / "done.json").read_text())["timesteps"] == 512
    assert (run / "model.zip").exists()
    assert not mp.active_children()
