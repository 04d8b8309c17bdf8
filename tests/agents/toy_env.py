"""A tiny deterministic gymnasium env for exact comparisons with stable-baselines3 (no SUMO).

The state is the step count ``t`` and the last action; the observation is a float32 vector of
four numbers made from them. Reward: 1 for the action ``t % 2``, else ``-0.1 t``. An episode
terminates when action 1 is taken at ``t == 4`` and is truncated (a time limit) after
``length`` steps otherwise, so both kinds of episode end occur.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np


class ToyEnv(gym.Env):
    """See the module docstring; ``length``: the time limit in steps."""

    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length: int = 7) -> None:
        self.length = length
        self.t = 0
        self.last = 0

    def _obs(self) -> np.ndarray:
        t = self.t
        return np.array([t / self.length, self.last, np.sin(t), 0.5 - self.last * 0.25],
                        dtype=np.float32)  # fmt: skip

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t, self.last = 0, 0
        return self._obs(), {"t": 0}

    def step(self, action):
        a = int(action)
        reward = 1.0 if a == self.t % 2 else -0.1 * self.t
        terminated = self.t == 4 and a == 1
        self.t += 1
        self.last = a
        truncated = not terminated and self.t >= self.length
        return self._obs(), reward, terminated, truncated, {"t": self.t}
