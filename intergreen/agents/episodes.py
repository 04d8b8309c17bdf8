"""The episode stream of one training env, restorable from a checkpoint.

Training env ``i`` of a run with base seed ``b`` plays episode ``k`` from the reset seed
``intergreen.seeds.episode_seed(b, "train", i, k)``: the stream is a function of (base seed,
env index, episode number) alone, so no two runs or envs share one, and a resumed run plays
the episodes an uninterrupted one would. The episode's demand and SUMO seed come from the
generator that seed starts.

A checkpoint records each env's :attr:`EpisodeStream.stream_state` (episode number and the
actions taken in it so far); an env built with that state replays them on its first reset,
reaching the state the env had at the checkpoint (SUMO, sensors and rewards are deterministic
given the seed and the actions), so training continues mid-episode exactly.
"""

from __future__ import annotations

import warnings
from typing import Any, TypedDict

import gymnasium as gym
import numpy as np

import intergreen.seeds as seeds


class StreamState(TypedDict):
    """Where an env stands in its stream: episode number and the actions taken in it."""

    episode: int
    actions: list[int]


class EpisodeStream(gym.Wrapper):
    """Seeds each episode from the run's stream (a seed passed to ``reset`` is ignored:
    stable-baselines3 passes ``seed + index``, which would overlap other runs' streams) and
    records the running episode's actions.

    ``resume``: a :class:`StreamState` from a checkpoint, replayed by the first ``reset``.
    """

    def __init__(
        self,
        env: gym.Env,
        base_seed: int,
        index: int,
        role: str = "train",
        resume: StreamState | None = None,
    ) -> None:
        super().__init__(env)
        self.base_seed = base_seed
        self.index = index
        self.role = seeds.check_role(role)
        self.episode = -1
        self.actions: list[int] = []
        self._resume = resume

    def episode_seed(self, episode: int) -> int:
        """Reset seed of this env's episode ``episode``."""
        return seeds.episode_seed(self.base_seed, self.role, self.index, episode)

    @property
    def stream_state(self) -> StreamState:
        """Episode number and actions so far (for a checkpoint)."""
        return {"episode": self.episode, "actions": list(self.actions)}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        if self._resume is not None:
            state, self._resume = self._resume, None
            return self._replay(state, options)
        self.episode += 1
        self.actions = []
        return self.env.reset(seed=self.episode_seed(self.episode), options=options)

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self.actions.append(int(action))
        return self.env.step(action)

    def _replay(
        self, state: StreamState, options: dict[str, Any] | None
    ) -> tuple[Any, dict[str, Any]]:
        self.episode = int(state["episode"])
        self.actions = []
        obs, info = self.env.reset(seed=self.episode_seed(self.episode), options=options)
        for a in state["actions"]:
            obs, _, terminated, truncated, info = self.step(a)
            if terminated or truncated:  # the checkpoint was taken mid-episode
                warnings.warn(
                    f"env {self.index}: episode {self.episode} ended while replaying it; the "
                    "resumed run continues from a new episode, not exactly",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self.episode += 1
                self.actions = []
                return self.env.reset(seed=self.episode_seed(self.episode), options=options)
        return obs, info


def stream_states(vec_env: Any) -> list[StreamState]:
    """Every env's stream state (VecEnv ``get_attr``, so envs in worker processes answer too)."""
    return [
        {"episode": int(s["episode"]), "actions": [int(a) for a in s["actions"]]}
        for s in vec_env.get_attr("stream_state")
    ]


def differing_entries(replayed: np.ndarray, recorded: np.ndarray | None) -> int:
    """How many entries of a replayed observation differ from the one recorded at the
    checkpoint: 0 when the replay reached it exactly, -1 when none was recorded or the shapes
    differ."""
    if recorded is None or replayed.shape != recorded.shape:
        return -1
    return int(np.count_nonzero(replayed != recorded))
