"""Run a policy on a JunctionEnv for one episode and collect its metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from intergreen.junctions.baselines import Policy
from intergreen.junctions.env import JunctionEnv
from intergreen.junctions.metrics import EpisodeTrace


@dataclass
class EpisodeResult:
    """Ground-truth metrics of one episode plus the reward the agent would have seen.

    ``reward`` is the episode's sum of the env's reward ``reward_name`` (a registry name);
    ``trace`` is the simulation's :class:`EpisodeTrace` when it kept one.
    """

    controller: str
    demand: str
    seed: int
    metrics: dict[str, float | int]
    reward: float
    decisions: int
    wall_s: float
    env: dict[str, Any] = field(default_factory=dict)
    reward_name: str = "reward"
    trace: EpisodeTrace | None = None

    @property
    def reward_column(self) -> str:
        """``reward_<name>``: the column that holds this reward's episode sum."""
        return f"reward_{self.reward_name}"

    def row(self) -> dict[str, Any]:
        """One flat record, e.g. for a DataFrame; the reward sum under
        :attr:`reward_column`."""
        return {
            "controller": self.controller,
            "demand": self.demand,
            "seed": self.seed,
            **self.metrics,
            self.reward_column: self.reward,
            "decisions": self.decisions,
            "wall_s": self.wall_s,
        }


def run_episode(
    env: JunctionEnv,
    policy: Policy,
    seed: int,
    progress: Callable[[float], None] | None = None,
) -> EpisodeResult:
    """One seeded episode of ``policy`` on ``env``; ``progress`` gets the simulated time."""
    start = time.perf_counter()
    obs, info = env.reset(seed=seed)
    decisions, done = 0, False
    try:
        policy.reset(env)  # inside: a policy that refuses the env must not leave SUMO open
        while not done:
            action = policy.act(obs, env)
            obs, _, terminated, truncated, info = env.step(action)
            decisions += 1
            done = terminated or truncated
            if progress is not None:
                progress(info["time"])
    finally:
        env.close()
    sim = env.sim
    return EpisodeResult(
        controller=getattr(policy, "name", type(policy).__name__),
        demand=env.demand.name if env.demand else "",
        seed=seed,
        metrics=info["episode_metrics"],
        reward=info["episode_reward"],
        decisions=decisions,
        wall_s=time.perf_counter() - start,
        env=env.metadata_dict(),
        reward_name=env.reward_label,
        trace=sim.last_trace if sim is not None else None,
    )
