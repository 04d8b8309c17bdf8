"""PPO and DQN whose envs collect their steps in parallel, each with the learner's policy.

Neither algorithm changes its policy while it collects: PPO collects ``n_steps`` per env, DQN
``train_freq`` steps, then learns. So every env can collect its share on its own: the worker
processes of a `LocalFirstVecEnv` step their env and run the policy's forward pass while the
learner does the same for env 0. SB3 instead steps all envs in lockstep, and the forward
pass for every env (most of a step's time on gm_a56, where a SUMO step takes ~0.2 ms) runs on
the learner's one core; with the study's decision timing each lockstep step also waits for
the slower env's decision (1 to ~25 simulation steps).

What the algorithms learn from is the same: every transition comes from the learner's current
policy, with SB3's handling of time limits; the callbacks see the same steps, infos and
timestep counts, in the same order, at the end of each collection instead of as they happen.
PPO's workers get the policy's weights with each rollout; DQN's read a shared-memory snapshot
of the Q-network, taken as each collection starts.
Actions are sampled (PPO) or explored (DQN: each env draws its own epsilon-greedy coin where
SB3 draws one for all envs) from each process's own seeded generator, so a run is reproducible
but not identical to a lockstep run.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import RolloutReturn, TrainFreq, TrainFrequencyUnit
from stable_baselines3.common.vec_env import VecEnv

from intergreen.agents.vecenv import EnvCommands, LocalFirstVecEnv


def _no_learning(_: float) -> float:
    return 0.0


def _no_optimizer(*_: Any, **__: Any) -> None:
    """A worker's policy is never trained (and torch's first optimizer takes ~1 s to make)."""


def _learner_seed(model: PPO | DQN) -> int:
    return 0 if model.seed is None else int(model.seed)


def _stacked(parts: list[dict[str, Any]], key: str) -> np.ndarray:
    """One collected field of every env, as (steps, envs, ...)."""
    return np.stack([p[key] for p in parts], axis=1)


def _worker_seed(setup: dict[str, Any]) -> int:
    return int(np.random.SeedSequence([setup["seed"], setup["index"]]).generate_state(1)[0])


def make_collector(setup: dict[str, Any]) -> RolloutCollector | StepCollector:
    """A worker's collector for the learner that sent ``setup``."""
    if setup["kind"] == "dqn":
        return StepCollector.from_setup(setup)
    return RolloutCollector.from_setup(setup)


class RolloutCollector:
    """Runs one env's PPO rollouts with a policy: the learner's own, or a worker's copy."""

    def __init__(self, policy: ActorCriticPolicy, gamma: float) -> None:
        self.policy = policy
        self.gamma = gamma

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> RolloutCollector:
        """A worker's collector: a policy built like the learner's, and its own seeded
        torch generator (seed and env index)."""
        torch.manual_seed(_worker_seed(setup))
        kwargs = setup["policy_kwargs"] | {"optimizer_class": _no_optimizer}
        policy = setup["policy_class"](
            setup["observation_space"], setup["action_space"], _no_learning, **kwargs
        )
        policy.set_training_mode(False)
        return cls(policy, setup["gamma"])

    def collect(
        self,
        env: EnvCommands,
        n_steps: int,
        state: dict[str, np.ndarray] | None = None,
        plan: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``n_steps`` steps of ``env`` from where it stands, with the policy (first loaded
        with ``state``, the learner's weights, when given; ``plan`` is unused)."""
        policy = self.policy
        if state is not None:
            policy.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        if env.last_obs is None:
            raise RuntimeError("the env was not reset before its first rollout")
        obs, actions, rewards, starts, dones = [], [], [], [], []
        values = np.zeros(n_steps, dtype=np.float32)
        log_probs = np.zeros(n_steps, dtype=np.float32)
        infos = []
        with torch.no_grad():
            for i in range(n_steps):
                last_obs = env.last_obs
                obs.append(last_obs)
                starts.append(env.episode_start)
                action, value, log_prob = policy(policy.obs_to_tensor(last_obs)[0])
                a = action.numpy()[0]
                _, reward, done, info, _ = env.step(a)
                if done and info.get("TimeLimit.truncated", False):
                    terminal = policy.obs_to_tensor(info["terminal_observation"])[0]
                    reward = reward + self.gamma * float(policy.predict_values(terminal)[0, 0])
                actions.append(a)
                rewards.append(reward)
                dones.append(done)
                values[i] = float(value[0, 0])
                log_probs[i] = float(log_prob[0])
                infos.append(info)
            last_value = float(policy.predict_values(policy.obs_to_tensor(env.last_obs)[0])[0, 0])
        return {
            "obs": np.stack(obs),
            "actions": np.array(actions),
            "rewards": np.array(rewards, dtype=np.float64),
            "episode_starts": np.array(starts, dtype=np.float32),
            "dones": np.array(dones, dtype=bool),
            "values": values,
            "log_probs": log_probs,
            "infos": infos,
            "last_obs": env.last_obs,
            "last_episode_start": env.episode_start,
            "last_value": last_value,
        }


class ParallelRolloutPPO(PPO):
    """SB3's PPO; on a `LocalFirstVecEnv` with discrete actions and vector observations its
    envs collect their rollouts in parallel (see the module docstring). Elsewhere it is SB3's
    PPO unchanged."""

    def _parallel(self, env: VecEnv) -> bool:
        return (
            isinstance(env, LocalFirstVecEnv)
            and isinstance(self.action_space, spaces.Discrete)
            and isinstance(self.observation_space, spaces.Box)
            and type(self.rollout_buffer) is RolloutBuffer
            and not self.use_sde
        )

    def _worker_setup(self) -> dict[str, Any]:
        return {
            "kind": "ppo",
            "policy_class": type(self.policy),
            "policy_kwargs": self.policy_kwargs,
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "gamma": self.gamma,
            "seed": _learner_seed(self),
        }

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        if not self._parallel(env):
            return super().collect_rollouts(env, callback, rollout_buffer, n_rollout_steps)
        assert isinstance(env, LocalFirstVecEnv)
        self.policy.set_training_mode(False)
        rollout_buffer.reset()
        callback.on_rollout_start()
        state = {k: v.detach().cpu().numpy() for k, v in self.policy.state_dict().items()}
        env.rollout_async(self, self._worker_setup, n_rollout_steps, state=state)
        local = RolloutCollector(self.policy, self.gamma).collect(env.local, n_rollout_steps)
        parts = [local, *env.rollout_wait()]
        return self._replay(parts, env, callback, rollout_buffer, n_rollout_steps)

    def _replay(
        self,
        parts: list[dict[str, Any]],
        env: VecEnv,
        callback: BaseCallback,
        rollout_buffer: RolloutBuffer,
        n_rollout_steps: int,
    ) -> bool:
        """Call the callbacks step by step as SB3's lockstep loop does, then fill the buffer."""
        obs, all_dones = _stacked(parts, "obs"), _stacked(parts, "dones")
        all_rewards, all_actions = _stacked(parts, "rewards"), _stacked(parts, "actions")
        last_obs = np.stack([p["last_obs"] for p in parts])
        next_obs = np.concatenate([obs[1:], last_obs[None]])
        for i in range(n_rollout_steps):
            infos = [p["infos"][i] for p in parts]
            dones, rewards, actions, new_obs = (
                all_dones[i],
                all_rewards[i],
                all_actions[i],
                next_obs[i],
            )
            self.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                return False
            self._update_info_buffer(infos, dones)
        buf = rollout_buffer
        buf.observations[:] = obs.reshape(buf.observations.shape)
        buf.actions[:] = all_actions.reshape(buf.actions.shape)
        buf.rewards[:] = all_rewards
        buf.episode_starts[:] = _stacked(parts, "episode_starts")
        buf.values[:] = _stacked(parts, "values")
        buf.log_probs[:] = _stacked(parts, "log_probs")
        buf.pos, buf.full = n_rollout_steps, True
        self._last_obs = last_obs
        self._last_episode_starts = np.array([p["last_episode_start"] for p in parts])
        last_values = torch.as_tensor([p["last_value"] for p in parts], dtype=torch.float32)
        buf.compute_returns_and_advantage(last_values=last_values, dones=self._last_episode_starts)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True


class StepCollector:
    """Runs one env's DQN steps: epsilon-greedy on a Q-network (the learner's own, or, in a
    worker, one sharing its memory)."""

    def __init__(self, q_net: torch.nn.Module, action_space: spaces.Discrete, seed: int) -> None:
        self.q_net = q_net
        self.rng = np.random.default_rng(seed)
        self.action_space = action_space
        self.action_space.seed(seed)

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> StepCollector:
        """A worker's collector, with its own seeded generators (seed and env index)."""
        return cls(setup["q_net"], setup["action_space"], _worker_seed(setup))

    def collect(
        self,
        env: EnvCommands,
        n_steps: int,
        state: dict[str, np.ndarray] | None = None,
        plan: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """``n_steps`` steps of ``env``; ``plan`` gives each step's epsilon and whether it is
        still in the warm-up (random actions); ``state`` is unused (shared memory)."""
        assert plan is not None
        if env.last_obs is None:
            raise RuntimeError("the env was not reset before its first rollout")
        q_net = self.q_net
        obs, next_obs, actions, rewards, dones, infos = [], [], [], [], [], []
        with torch.no_grad():
            for j in range(n_steps):
                last_obs = env.last_obs
                if plan["warmup"][j] or self.rng.random() < plan["epsilons"][j]:
                    action = self.action_space.sample()
                else:
                    tensor = q_net.obs_to_tensor(last_obs)[0]
                    action = q_net._predict(tensor, deterministic=True).numpy()[0]
                new_obs, reward, done, info, _ = env.step(action)
                obs.append(last_obs)
                next_obs.append(info["terminal_observation"] if done else new_obs)
                actions.append(action)
                rewards.append(reward)
                dones.append(done)
                infos.append(info)
        return {
            "obs": np.stack(obs),
            "next_obs": np.stack(next_obs),
            "actions": np.array(actions),
            "rewards": np.array(rewards, dtype=np.float64),
            "dones": np.array(dones, dtype=bool),
            "infos": infos,
            "last_obs": env.last_obs,
        }


class ParallelCollectDQN(DQN):
    """SB3's DQN; on a `LocalFirstVecEnv` with discrete actions, vector observations and
    ``train_freq`` in steps, its envs collect their steps in parallel (see the module
    docstring). Elsewhere it is SB3's DQN unchanged.

    While the workers collect, the learner (done with env 0's steps) makes the gradient steps
    that SB3 makes after the collection, so DQN learns one collection behind: the update after
    collection k samples the replay buffer and uses the target network as they stood after
    collection k-1 (8 of up to 100 000 transitions at the presets). The workers act with a
    shared snapshot of the Q-network taken when the collection starts; everything happens in
    a fixed order, whatever the timing, so runs stay reproducible.
    """

    _trained_ahead = False

    def _parallel(self, env: VecEnv, train_freq: TrainFreq) -> bool:
        return (
            isinstance(env, LocalFirstVecEnv)
            and isinstance(self.action_space, spaces.Discrete)
            and isinstance(self.observation_space, spaces.Box)
            and train_freq.unit == TrainFrequencyUnit.STEP
            and type(self.replay_buffer) is ReplayBuffer
            and self._vec_normalize_env is None
        )

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_local_collector", "_snapshot"]

    def _worker_setup(self) -> dict[str, Any]:
        return {
            "kind": "dqn",
            "q_net": self._snapshot,
            "action_space": self.action_space,
            "seed": _learner_seed(self),
        }

    def _plan(self, n_steps: int, learning_starts: int, n_envs: int) -> dict[str, Any]:
        """Each step's epsilon and warm-up flag, as SB3's lockstep loop would set them."""
        start = self.num_timesteps
        epsilons = [self.exploration_rate]
        for j in range(1, n_steps):
            progress = 1.0 - float(start + j * n_envs) / float(self._total_timesteps)
            epsilons.append(float(self.exploration_schedule(progress)))
        warmup = [start + j * n_envs < learning_starts for j in range(n_steps)]
        return {"epsilons": epsilons, "warmup": warmup}

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        train_freq: TrainFreq,
        replay_buffer: ReplayBuffer,
        action_noise: ActionNoise | None = None,
        learning_starts: int = 0,
        log_interval: int | None = None,
    ) -> RolloutReturn:
        self._trained_ahead = False
        if not self._parallel(env, train_freq):
            return super().collect_rollouts(
                env, callback, train_freq, replay_buffer, action_noise, learning_starts,
                log_interval,
            )  # fmt: skip
        assert isinstance(env, LocalFirstVecEnv)
        self.policy.set_training_mode(False)
        n_steps = train_freq.frequency
        callback.on_rollout_start()
        plan = self._plan(n_steps, learning_starts, env.num_envs)
        self._take_snapshot()
        env.rollout_async(self, self._worker_setup, n_steps, plan=plan)
        if getattr(self, "_local_collector", None) is None:
            self._local_collector = StepCollector(
                self.q_net, self.action_space, _learner_seed(self)
            )
        parts = [self._local_collector.collect(env.local, n_steps, plan=plan)]
        self._train_ahead(self.num_timesteps + n_steps * env.num_envs, n_steps * env.num_envs)
        parts += env.rollout_wait()
        all_obs, all_next = _stacked(parts, "obs"), _stacked(parts, "next_obs")
        all_actions, all_rewards = _stacked(parts, "actions"), _stacked(parts, "rewards")
        all_dones = _stacked(parts, "dones")
        episodes = 0
        for j in range(n_steps):
            infos = [p["infos"][j] for p in parts]
            actions, rewards, dones = all_actions[j], all_rewards[j], all_dones[j]
            self.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                self._trained_ahead = False
                return RolloutReturn((j + 1) * env.num_envs, episodes, continue_training=False)
            self._update_info_buffer(infos, dones)
            replay_buffer.add(all_obs[j], all_next[j], actions, rewards, dones, infos)
            self._update_current_progress_remaining(self.num_timesteps, self._total_timesteps)
            self._on_step()
            for done in dones:
                if done:
                    episodes += 1
                    self._episode_num += 1
                    if log_interval is not None and self._episode_num % log_interval == 0:
                        self.dump_logs()
        self._last_obs = np.stack([p["last_obs"] for p in parts])
        self._last_original_obs = self._last_obs
        callback.on_rollout_end()
        return RolloutReturn(n_steps * env.num_envs, episodes, continue_training=True)

    def _take_snapshot(self) -> None:
        """Copy the Q-network into the workers' shared snapshot (made on first use)."""
        if getattr(self, "_snapshot", None) is None:
            self._snapshot = copy.deepcopy(self.q_net).share_memory()
        with torch.no_grad():
            for mine, shared in zip(
                self.q_net.state_dict().values(), self._snapshot.state_dict().values(), strict=True
            ):
                shared.copy_(mine)

    def _train_ahead(self, timesteps_after: int, collected: int) -> None:
        """The gradient steps SB3's learn() makes after this collection, made now."""
        if timesteps_after > 0 and timesteps_after > self.learning_starts:
            steps = self.gradient_steps if self.gradient_steps >= 0 else collected
            if steps > 0:
                super().train(batch_size=self.batch_size, gradient_steps=steps)
                self._trained_ahead = True

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's update, unless it was made during the collection (`_train_ahead`)."""
        if self._trained_ahead:
            self._trained_ahead = False
            return
        super().train(gradient_steps, batch_size)
