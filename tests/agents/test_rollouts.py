"""ParallelRolloutPPO and ParallelCollectDQN: workers collect with the learner's weights, the
buffers and callbacks see what SB3's lockstep loop would, runs are reproducible, worker errors
reach the caller."""

from __future__ import annotations

import copy
import multiprocessing as mp
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

from intergreen.agents.rollouts import ParallelCollectDQN, ParallelRolloutPPO
from intergreen.agents.training import train
from intergreen.agents.vecenv import LocalFirstVecEnv, WorkerError
from intergreen.junctions.env import make_env

HP = {"n_steps": 64, "batch_size": 32, "n_epochs": 1}


def _env(seed: int, duration: float = 24):
    from stable_baselines3.common.monitor import Monitor

    return Monitor(make_env("gm_a56", "medium", "queue", seed=seed, duration=duration,
                            decisions="every_interval"))  # fmt: skip


class _Record(BaseCallback):
    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []
        self.done_envs: list[int] = []

    def _on_step(self) -> bool:
        self.steps.append(self.num_timesteps)
        self.done_envs += [i for i, d in enumerate(self.locals["dones"]) if d]
        return True

    def _on_rollout_end(self) -> None:  # before PPO's update flattens the buffer
        buf = getattr(self.model, "rollout_buffer", None)
        if buf is None:  # DQN
            return

        self.shape = buf.observations.shape
        self.starts = buf.episode_starts.copy()
        self.finite = all(np.isfinite(a).all() for a in (buf.values, buf.advantages))


def test_workers_collect_with_the_learners_weights_and_the_buffer_lines_up() -> None:
    vec = LocalFirstVecEnv([partial(_env, s) for s in (1, 2)])
    try:
        model = ParallelRolloutPPO("MlpPolicy", vec, seed=3, device="cpu", **HP)
        cb = _Record()
        model.learn(64 * 2, callback=cb)  # one rollout: 64 steps of each env, ~40 per episode
    finally:
        vec.close()
    assert cb.steps == list(range(2, 129, 2))  # SB3's count: n_envs per step, in order
    assert cb.done_envs.count(0) == 1 and cb.done_envs.count(1) == 1  # 40-step episodes
    assert cb.shape[:2] == (64, 2) and cb.finite
    # both envs have 24 s episodes: the worker's column starts them where the learner's does
    local, worker = (np.flatnonzero(cb.starts[:, env]).tolist() for env in (0, 1))
    assert local == worker and len(local) == 2 and local[0] == 0
    assert not mp.active_children()


def test_the_worker_uses_the_weights_it_is_sent() -> None:
    vec = LocalFirstVecEnv([partial(_env, s) for s in (1, 2)])
    try:
        model = ParallelRolloutPPO("MlpPolicy", vec, seed=3, device="cpu", **HP)
        model._setup_learn(64)
        state = {k: v.numpy().copy() for k, v in model.policy.state_dict().items()}
        vec.rollout_async(model, model._worker_setup, 30, state=state)
        (part,) = vec.rollout_wait()
        with torch.no_grad():
            obs = torch.as_tensor(part["obs"])
            values, log_prob, _ = model.policy.evaluate_actions(
                obs, torch.as_tensor(part["actions"])
            )
        np.testing.assert_allclose(part["values"], values[:, 0].numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(part["log_probs"], log_prob.numpy(), rtol=1e-5, atol=1e-6)
        assert np.isfinite(part["rewards"]).all() and len(part["infos"]) == 30
        # other weights give other values: the check above can fail
        state2 = {k: v * 0.5 for k, v in state.items()}
        vec.rollout_async(model, model._worker_setup, 5, state=state2)
        (part2,) = vec.rollout_wait()
        with torch.no_grad():
            v2 = model.policy.predict_values(torch.as_tensor(part2["obs"]))[:, 0].numpy()
        assert not np.allclose(part2["values"], v2)
    finally:
        vec.close()
    assert not mp.active_children()


@pytest.mark.parametrize("agent", ["ppo", "dqn"])
def test_two_env_runs_are_reproducible_and_log_both_envs(tmp_path, agent: str) -> None:
    hp = HP if agent == "ppo" else {"learning_starts": 100, "train_freq": 4, "batch_size": 32}
    cls = ParallelRolloutPPO if agent == "ppo" else ParallelCollectDQN
    params = []
    for name in ("a", "b"):
        run = tmp_path / name
        model_path = train(agent, demand="low", reward="queue", timesteps=256, seed=5,
                           n_envs=2, hyperparams=hp, run_dir=run, env_kwargs={"duration": 30},
                           checkpoint_every=10_000)  # fmt: skip
        model = cls.load(model_path, device="cpu")
        params.append(torch.cat([p.flatten() for p in model.policy.parameters()]))
        metrics = pd.read_csv(run / "metrics.csv")
        assert set(metrics.env) == {0, 1}  # episodes of the worker's env are logged too
        assert (metrics.step.diff().dropna() >= 0).all()
    assert torch.equal(params[0], params[1])
    assert not mp.active_children()


class _Broken:
    """An env factory whose env fails on its 5th step (in the worker only)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __call__(self):
        env = _env(self.seed)
        if self.seed == 2:
            step, count = env.step, [0]

            def failing(action):
                count[0] += 1
                if count[0] == 5:
                    raise ValueError("detector 7 went missing")
                return step(action)

            env.step = failing
        return env


def test_an_error_in_a_worker_rollout_reaches_the_learner_and_close_works() -> None:
    vec = LocalFirstVecEnv([_Broken(1), _Broken(2)])
    try:
        model = ParallelRolloutPPO("MlpPolicy", vec, seed=3, device="cpu", **HP)
        with pytest.raises(WorkerError, match="detector 7 went missing"):
            model.learn(128)
    finally:
        vec.close()
    assert not mp.active_children()


def _greedy_plan(n: int) -> dict:
    return {"epsilons": [0.0] * n, "warmup": [False] * n}


def test_dqn_workers_act_with_the_q_network_as_each_collection_starts() -> None:
    vec = LocalFirstVecEnv([partial(_env, s) for s in (1, 2)])
    try:
        model = ParallelCollectDQN("MlpPolicy", vec, seed=3, device="cpu", learning_starts=0)
        model._setup_learn(1000)
        model._take_snapshot()
        vec.rollout_async(model, model._worker_setup, 20, plan=_greedy_plan(20))
        (part,) = vec.rollout_wait()
        with torch.no_grad():
            greedy = model.q_net(torch.as_tensor(part["obs"])).argmax(1).numpy()
        np.testing.assert_array_equal(part["actions"], greedy)
        bias = list(model.q_net.q_net.parameters())[-1]  # the output layer's bias
        for action in (0, 1):  # the learner trains in place; the next collection sees it
            before = copy.deepcopy(model.q_net)
            with torch.no_grad():
                bias[action] += 10.0 ** (6 + action)
            vec.rollout_async(model, model._worker_setup, 5, plan=_greedy_plan(5))
            (part,) = vec.rollout_wait()  # the snapshot is not live: the weights before
            with torch.no_grad():
                old = before(torch.as_tensor(part["obs"])).argmax(1).numpy()
            np.testing.assert_array_equal(part["actions"], old)
            model._take_snapshot()
            vec.rollout_async(model, model._worker_setup, 5, plan=_greedy_plan(5))
            (part,) = vec.rollout_wait()
            assert part["actions"].tolist() == [action] * 5
    finally:
        vec.close()
    assert not mp.active_children()


def test_dqn_replay_buffer_holds_both_envs_transitions_in_order() -> None:
    vec = LocalFirstVecEnv([partial(_env, s) for s in (1, 2)])
    try:
        model = ParallelCollectDQN("MlpPolicy", vec, seed=3, device="cpu", learning_starts=40,
                                   train_freq=8, buffer_size=1000)  # fmt: skip
        cb = _Record()
        model.learn(2 * 96, callback=cb)
        rb = model.replay_buffer
    finally:
        vec.close()
    assert cb.steps == list(range(2, 193, 2)) and rb.pos == 96
    # SB3's count: 12 collections of 8 steps x 2 envs; an update after each one that ends past
    # learning_starts (16 k > 40: k >= 3), made while the worker collects
    assert model._n_updates == 10 and not model._trained_ahead
    for env in (0, 1):
        ends = np.flatnonzero(rb.timeouts[:96, env])
        assert len(ends) == 2  # 24 s episodes of ~40 decisions, ended by the time limit
        cont = np.setdiff1d(np.arange(95), ends)  # within an episode, next obs = the next obs
        np.testing.assert_array_equal(
            rb.next_observations[cont, env], rb.observations[cont + 1, env]
        )
        assert not np.array_equal(
            rb.next_observations[ends[0], env], rb.observations[ends[0] + 1, env]
        )
    assert not mp.active_children()
