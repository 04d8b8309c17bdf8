"""The lean collection loops against stable-baselines3's own, on a tiny deterministic env.

One env (``collection="fast"``): the same transitions, random draws, callbacks and weights
as SB3's PPO and DQN on a DummyVecEnv, exactly. Several envs in parallel (PPO): the same
rollout buffer (exactly; values, log-probabilities, returns and advantages to float32
rounding) and time-limit bootstraps as SB3's PPO on a DummyVecEnv when the policy's choices
are certain. ``collection="sb3"`` is SB3's lockstep loop itself.
"""

from __future__ import annotations

import multiprocessing as mp
from functools import partial

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from toy_env import ToyEnv

from intergreen.agents.rollouts import ParallelCollectDQN, ParallelRolloutPPO
from intergreen.agents.updates import lean_update_applies
from intergreen.agents.vecenv import LocalFirstVecEnv

PPO_HP = {"n_steps": 32, "batch_size": 16, "n_epochs": 2, "policy_kwargs": {"net_arch": [16, 16]}}
DQN_HP = {"learning_starts": 20, "train_freq": 4, "batch_size": 8, "buffer_size": 100,
          "target_update_interval": 16, "exploration_fraction": 0.5,
          "policy_kwargs": {"net_arch": [16, 16]}}  # fmt: skip
ROLLOUT_FIELDS = ("observations", "actions", "rewards", "episode_starts", "values",
                  "log_probs", "returns", "advantages")  # fmt: skip
REPLAY_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


class Recorder(BaseCallback):
    """What the callbacks see at each step, and each PPO rollout before its update; stops
    training after ``stop_at`` steps when given."""

    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__()
        self.stop_at = stop_at
        self.steps: list[tuple] = []
        self.rollouts: list[dict[str, np.ndarray]] = []

    def _on_step(self) -> bool:
        infos = self.locals["infos"]
        self.steps.append((self.num_timesteps, self.locals["dones"].tolist(),
                           [i["t"] for i in infos], ["terminal_observation" in i for i in infos],
                           [i.get("TimeLimit.truncated") for i in infos]))  # fmt: skip
        return self.stop_at is None or self.n_calls < self.stop_at

    def _on_rollout_end(self) -> None:
        buf = getattr(self.model, "rollout_buffer", None)
        if buf is not None:
            self.rollouts.append({f: getattr(buf, f).copy() for f in ROLLOUT_FIELDS})


def _weights(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.policy.state_dict().values()]


def _train(cls, hp: dict, steps: int, seed: int = 3, stop_at: int | None = None, **kw):
    env = DummyVecEnv([lambda: Monitor(ToyEnv())])
    model = cls("MlpPolicy", env, seed=seed, device="cpu", **hp, **kw)
    recorder = Recorder(stop_at)
    model.learn(steps, callback=recorder)
    return model, recorder


def _episodes(model) -> list[tuple[float, int]]:
    return [(e["r"], e["l"]) for e in model.ep_info_buffer]  # Monitor's "t" is wall time


def _same_weights(a, b) -> bool:
    wa, wb = _weights(a), _weights(b)
    return len(wa) == len(wb) and all(torch.equal(x, y) for x, y in zip(wa, wb, strict=True))


def _assert_same_weights(a, b) -> None:
    wa, wb = _weights(a), _weights(b)
    assert len(wa) == len(wb) and all(torch.equal(x, y) for x, y in zip(wa, wb, strict=True))


def test_ppo_fast_path_learns_exactly_what_sb3s_loop_learns() -> None:
    ours, rec = _train(ParallelRolloutPPO, PPO_HP, 128)
    theirs, ref = _train(PPO, PPO_HP, 128)
    assert len(rec.rollouts) == len(ref.rollouts) == 4
    for mine, sb3 in zip(rec.rollouts, ref.rollouts, strict=True):
        for field in ROLLOUT_FIELDS:
            np.testing.assert_array_equal(mine[field], sb3[field], err_msg=field)
    assert rec.steps == ref.steps
    # the run holds both kinds of episode end: time limits (bootstrapped) and terminations
    ends = [s for s in ref.steps if s[1][0]]
    assert any(s[4][0] for s in ends) and any(not s[4][0] for s in ends)
    # torch's multi-tensor Adam (ours) and its for-loop one (SB3's default on CPU) agree
    assert ours.policy.optimizer.param_groups[0]["foreach"] is True
    assert theirs.policy.optimizer.param_groups[0]["foreach"] is None
    _assert_same_weights(ours, theirs)
    assert _episodes(ours) == _episodes(theirs)
    np.testing.assert_array_equal(ours._last_obs, theirs._last_obs)
    # the comparison can fail: another seed learns other weights
    other, _ = _train(PPO, PPO_HP, 128, seed=4)
    assert not all(
        torch.equal(x, y) for x, y in zip(_weights(other), _weights(theirs), strict=True)
    )


def test_dqn_fast_path_learns_exactly_what_sb3s_loop_learns() -> None:
    ours, rec = _train(ParallelCollectDQN, DQN_HP, 300)  # the 100-step buffer wraps around
    theirs, ref = _train(DQN, DQN_HP, 300)
    a, b = ours.replay_buffer, theirs.replay_buffer
    assert a.full and b.full and a.pos == b.pos
    for field in REPLAY_FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert rec.steps == ref.steps
    ends = [s for s in ref.steps if s[1][0]]  # both kinds of episode end occur
    assert any(s[4][0] for s in ends) and any(not s[4][0] for s in ends)
    assert ours.policy.optimizer.param_groups[0]["foreach"] is True
    assert lean_update_applies(ours)  # our gradient steps (intergreen.agents.updates) ...
    _assert_same_weights(ours, theirs)  # ... gave the Q-network and its target SB3's weights
    for name in ("num_timesteps", "_n_updates", "_n_calls", "_episode_num", "exploration_rate"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert _episodes(ours) == _episodes(theirs)
    np.testing.assert_array_equal(ours._last_obs, theirs._last_obs)
    np.testing.assert_array_equal(ours._last_original_obs, theirs._last_original_obs)
    other, _ = _train(DQN, DQN_HP, 300, seed=4)
    assert not all(
        torch.equal(x, y) for x, y in zip(_weights(other), _weights(theirs), strict=True)
    )


class RareInputEnv(ToyEnv):
    """ToyEnv with a fifth input that is 1 during the env's first ``rare_until`` steps only, as a
    lane that carries traffic at some hours and none at others: once those transitions leave the
    replay buffer its first-layer weights get zero gradients and their Adam moments decay
    into the denormal range."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(5,), dtype=np.float32)

    def __init__(self, rare_until: int = 40) -> None:
        super().__init__()
        self.rare_until, self.steps = rare_until, 0

    def _obs(self) -> np.ndarray:
        return np.append(super()._obs(), np.float32(self.steps < self.rare_until))

    def step(self, action):
        self.steps += 1
        return super().step(action)


def _denormal_moments(model) -> int:
    tiny = torch.finfo(torch.float32).tiny
    return sum(
        int(((x != 0) & (x.abs() < tiny)).sum())
        for state in model.policy.optimizer.state.values()
        for x in (state["exp_avg"], state["exp_avg_sq"])
    )


def test_flushing_denormals_in_the_updates_changes_no_weight() -> None:
    hp = {**DQN_HP, "train_freq": 1}
    models = []
    for cls in (DQN, ParallelCollectDQN):
        env = DummyVecEnv([lambda: Monitor(RareInputEnv())])
        model = cls("MlpPolicy", env, seed=3, device="cpu", **hp)
        model.learn(900)
        models.append(model)
    theirs, ours = models
    assert _denormal_moments(theirs) > 20  # SB3's Adam state went denormal ...
    assert _denormal_moments(ours) == 0  # ... ours was flushed to zero ...
    _assert_same_weights(ours, theirs)  # ... and both learnt the same weights, bit for bit
    # the flush is this thread's and only during updates: SUMO's arithmetic is left alone
    assert torch.tensor([1e-40], dtype=torch.float32).item() != 0.0


@pytest.mark.parametrize("agent", ["ppo", "dqn"])
def test_a_callback_that_stops_training_stops_both_paths_at_the_same_step(agent: str) -> None:
    ours_cls, sb3_cls, hp = ((ParallelRolloutPPO, PPO, PPO_HP) if agent == "ppo"
                             else (ParallelCollectDQN, DQN, DQN_HP))  # fmt: skip
    ours, rec = _train(ours_cls, hp, 300, stop_at=45)
    theirs, ref = _train(sb3_cls, hp, 300, stop_at=45)
    assert ours.num_timesteps == theirs.num_timesteps == 45 and rec.steps == ref.steps
    np.testing.assert_array_equal(ours._last_obs, theirs._last_obs)
    _assert_same_weights(ours, theirs)
    if agent == "dqn":
        assert ours.replay_buffer.pos == theirs.replay_buffer.pos == 44
        for field in REPLAY_FIELDS:
            np.testing.assert_array_equal(
                getattr(ours.replay_buffer, field), getattr(theirs.replay_buffer, field)
            )


def test_collection_sb3_is_sb3s_lockstep_loop_with_several_envs() -> None:
    fns = [partial(ToyEnv, 4), partial(ToyEnv, 7)]
    ours_env = LocalFirstVecEnv(fns)
    theirs_env = SubprocVecEnv(fns, start_method="forkserver")
    try:  # one after the other: each model seeds the global generators as it is made
        ours = ParallelRolloutPPO("MlpPolicy", ours_env, seed=5, device="cpu",
                                  collection="sb3", **PPO_HP)  # fmt: skip
        rec, ref = Recorder(), Recorder()
        ours.learn(128, callback=rec)
        theirs = PPO("MlpPolicy", theirs_env, seed=5, device="cpu", **PPO_HP)
        theirs.learn(128, callback=ref)
    finally:
        ours_env.close()
        theirs_env.close()
    assert len(rec.rollouts) == 2
    for mine, sb3 in zip(rec.rollouts, ref.rollouts, strict=True):
        for field in ROLLOUT_FIELDS:
            np.testing.assert_array_equal(mine[field], sb3[field], err_msg=field)
    _assert_same_weights(ours, theirs)
    assert not mp.active_children()


def _certain(model) -> None:
    """Make the policy's choices certain: action 1 where sin(t) (observation 2) < -0.5,
    else 0, with probabilities within 1e-19 of 0 and 1 (the values are left as they are)."""
    with torch.no_grad():
        net = model.policy.mlp_extractor.policy_net
        first, second = net[0], net[2]
        for layer in (first, second):
            layer.weight.zero_()
            layer.bias.zero_()
        first.weight[0, 2] = 1.0
        second.weight[0, 0] = 1.0
        head = model.policy.action_net
        head.weight.zero_()
        head.bias.zero_()
        head.weight[1, 0] = -400.0
        head.bias[1] = -180.0


def test_parallel_ppo_fills_the_rollout_buffer_as_sb3_does_on_dummyvecenv() -> None:
    # env 0 is cut by its time limit after 4 steps (bootstrapped), env 1 terminates at step 5
    fns = [partial(ToyEnv, 4), partial(ToyEnv, 7)]
    hp = PPO_HP | {"learning_rate": 0.0}  # the policy stays certain through the run
    ours_env = LocalFirstVecEnv(fns)
    try:
        ours = ParallelRolloutPPO("MlpPolicy", ours_env, seed=5, device="cpu", **hp)
        _certain(ours)
        rec = Recorder()
        ours.learn(128, callback=rec)
    finally:
        ours_env.close()
    theirs = PPO("MlpPolicy", DummyVecEnv(fns), seed=5, device="cpu", **hp)
    _certain(theirs)
    ref = Recorder()
    theirs.learn(128, callback=ref)
    assert len(rec.rollouts) == len(ref.rollouts) == 2
    for mine, sb3 in zip(rec.rollouts, ref.rollouts, strict=True):
        for field in ("observations", "actions", "rewards", "episode_starts"):
            np.testing.assert_array_equal(mine[field], sb3[field], err_msg=field)
        # each env's forward pass is a batch of one here, of two in SB3's loop: the matrix
        # kernels sum in another order, so network outputs agree to float32 rounding
        for field in ("values", "log_probs", "returns", "advantages"):
            np.testing.assert_allclose(mine[field], sb3[field], rtol=1e-5, atol=1e-7,
                                       err_msg=field)  # fmt: skip
    assert rec.steps == ref.steps
    last = ref.rollouts[-1]
    assert set(last["actions"][:, 1, 0].tolist()) == {0.0, 1.0}  # env 1's choices vary
    # the time limit's bootstrap is in env 0's rewards: they differ from the env's own
    ends = np.flatnonzero(last["episode_starts"][1:, 0])
    assert len(ends) and (last["rewards"][ends, 0] != np.float32(-0.3)).all()
    assert not mp.active_children()


@pytest.mark.parametrize(("cls", "hp"), [(DQN, DQN_HP), (PPO, PPO_HP)], ids=["dqn", "ppo"])
def test_greedy_action_is_predicts_deterministic_action(cls, hp) -> None:
    """The lean greedy action (evaluation and validation episodes) is SB3's
    ``predict(obs, deterministic=True)`` on every observation, for DQN and PPO, also where
    the network's outputs nearly tie."""
    from intergreen.agents.collectors import GreedyQ, PolicyActor, greedy_action

    model, _ = _train(cls, hp, 200)
    pick = greedy_action(model)
    rng = np.random.default_rng(0)
    space = model.observation_space
    observations = [space.sample() for _ in range(300)]
    observations += [rng.normal(0, 50, space.shape).astype(np.float32) for _ in range(300)]
    observations += [np.zeros(space.shape, dtype=np.float32)]
    picked = [pick(o) for o in observations]
    assert picked == [int(model.predict(o, deterministic=True)[0]) for o in observations]
    assert len(set(picked)) > 1  # the check can fail: the policy is not constant
    # the lean networks are the ones run (no fall-back to predict)
    if cls is DQN:
        assert GreedyQ(model.policy.q_net).forward is not None
    else:
        assert PolicyActor(model.policy).lean
