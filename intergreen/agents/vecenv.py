"""A vectorised env that keeps the first env in the learner's process.

SB3's SubprocVecEnv puts every env in its own process, so n_envs=2 on 2 cores runs three
CPU-bound processes (the learner and two SUMOs) and each step pays two pipe round trips.
`LocalFirstVecEnv` runs env 0 in the learner's process and envs 1.. in subprocesses: a step
sends the actions to the subprocesses, steps env 0 here while they work, then collects their
results. Each env sees exactly what it would under SubprocVecEnv (same seeds, same results);
libsumo's one simulation per process still holds, since the learner runs only env 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
from stable_baselines3.common.env_util import is_wrapped
from stable_baselines3.common.vec_env import SubprocVecEnv, VecEnv
from stable_baselines3.common.vec_env.patch_gym import _patch_env


class InProcessRemote:
    """Stands in for a worker pipe, with the env in this process: ``send`` stores a command of
    SB3's worker protocol and ``recv`` runs it. SubprocVecEnv sends to every remote before it
    receives from any, so the subprocess envs step while this one does."""

    def __init__(self, env_fn: Callable[[], gym.Env]):
        self.env = _patch_env(env_fn())
        self._message: tuple[str, Any] | None = None
        self._reset_info: dict[str, Any] = {}

    def send(self, message: tuple[str, Any]) -> None:
        if message[0] == "close":  # SubprocVecEnv.close() sends "close" and never receives
            self._message = None
            self.env.close()
            return
        self._message = message

    def recv(self) -> Any:
        if self._message is None:  # delivered (or raised) already: e.g. close() after an error
            return None
        (cmd, data), self._message = self._message, None
        env = self.env
        if cmd == "step":
            obs, reward, terminated, truncated, info = env.step(data)
            done = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            if done:
                info["terminal_observation"] = obs
                obs, self._reset_info = env.reset()
            return obs, reward, done, info, self._reset_info
        if cmd == "reset":
            options = {"options": data[1]} if data[1] else {}
            obs, self._reset_info = env.reset(seed=data[0], **options)
            return obs, self._reset_info
        if cmd == "get_spaces":
            return env.observation_space, env.action_space
        if cmd == "env_method":
            return env.get_wrapper_attr(data[0])(*data[1], **data[2])
        if cmd == "get_attr":
            return env.get_wrapper_attr(data)
        if cmd == "has_attr":
            try:
                env.get_wrapper_attr(data)
            except AttributeError:
                return False
            return True
        if cmd == "set_attr":
            setattr(env, data[0], data[1])
            return None
        if cmd == "is_wrapped":
            return is_wrapped(env, data)
        if cmd == "render":
            return env.render()
        raise NotImplementedError(f"`{cmd}` is not implemented for the in-process env")

    def close(self) -> None:
        """The pipe's close(); the env itself closes on the "close" command."""


class LocalFirstVecEnv(SubprocVecEnv):
    """Env 0 in this process, envs 1.. in subprocesses (see the module docstring)."""

    def __init__(self, env_fns: list[Callable[[], gym.Env]], start_method: str = "forkserver"):
        if len(env_fns) < 2:
            raise ValueError("LocalFirstVecEnv needs at least 2 envs; use DummyVecEnv for one")
        local = InProcessRemote(env_fns[0])
        try:
            super().__init__(env_fns[1:], start_method=start_method)
        except BaseException:
            local.env.close()
            raise
        self.remotes = [local, *self.remotes]
        VecEnv.__init__(self, len(env_fns), self.observation_space, self.action_space)
