"""PPO whose envs collect their rollouts in parallel, each with its own copy of the policy.

PPO's policy does not change while it collects a rollout, so every env can run its whole
rollout on its own: the worker processes of a `LocalFirstVecEnv` get the policy's weights at
the start of each rollout, step their env and run the policy's forward pass for
``n_steps``, while the learner does the same for env 0. SB3's PPO instead steps all envs in
lockstep, and the learner's forward pass for every env (most of a step's time on gm_a56, where
a SUMO step takes ~0.2 ms) runs on one core.

What PPO learns from is the same: each env's transitions come from the same policy, with
SB3's handling of time limits (the value of the truncated state is added to the reward); the
callbacks see the same steps, infos and timestep counts, in the same order, at the end of each
rollout instead of as they happen. The actions are sampled from each process's own seeded
torch generator, so a run is reproducible but not identical to a lockstep run.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.vec_env import VecEnv

from intergreen.agents.vecenv import EnvCommands, LocalFirstVecEnv


def _no_learning(_: float) -> float:
    return 0.0


def _no_optimizer(*_: Any, **__: Any) -> None:
    """A worker's policy is never trained (and torch's first optimizer takes ~1 s to make)."""


class RolloutCollector:
    """Runs one env's rollouts with a policy: the learner's own, or a worker's copy."""

    def __init__(self, policy: ActorCriticPolicy, gamma: float) -> None:
        self.policy = policy
        self.gamma = gamma

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> RolloutCollector:
        """A worker's collector: a policy built like the learner's, and its own seeded
        torch generator (seed and env index)."""
        seed = np.random.SeedSequence([setup["seed"], setup["index"]]).generate_state(1)[0]
        torch.manual_seed(int(seed))
        kwargs = setup["policy_kwargs"] | {"optimizer_class": _no_optimizer}
        policy = setup["policy_class"](
            setup["observation_space"], setup["action_space"], _no_learning, **kwargs
        )
        policy.set_training_mode(False)
        return cls(policy, setup["gamma"])

    def collect(
        self, env: EnvCommands, n_steps: int, state: dict[str, np.ndarray] | None = None
    ) -> dict[str, Any]:
        """``n_steps`` steps of ``env`` from where it stands, with the policy (first loaded
        with ``state``, the learner's weights, when given)."""
        start = time.perf_counter()
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
            "seconds": time.perf_counter() - start,
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
            "policy_class": type(self.policy),
            "policy_kwargs": self.policy_kwargs,
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "gamma": self.gamma,
            "seed": 0 if self.seed is None else int(self.seed),
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
        env.rollout_async(self._worker_setup(), state, n_rollout_steps)
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

        def stacked(key: str) -> np.ndarray:  # (steps, envs, ...)
            return np.stack([p[key] for p in parts], axis=1)

        obs, all_dones = stacked("obs"), stacked("dones")
        all_rewards, all_actions = stacked("rewards"), stacked("actions")
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
        buf.episode_starts[:] = stacked("episode_starts")
        buf.values[:] = stacked("values")
        buf.log_probs[:] = stacked("log_probs")
        buf.pos, buf.full = n_rollout_steps, True
        self._last_obs = last_obs
        self._last_episode_starts = np.array([p["last_episode_start"] for p in parts])
        last_values = torch.as_tensor([p["last_value"] for p in parts], dtype=torch.float32)
        buf.compute_returns_and_advantage(last_values=last_values, dones=self._last_episode_starts)
        callback.update_locals(locals())
        callback.on_rollout_end()
        return True
