"""Training configuration: agents, presets and hyperparameters, validated."""

from __future__ import annotations

import hashlib
import inspect
import json
from difflib import get_close_matches
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from intergreen.agents.hp_ranges import problems as out_of_range
from intergreen.errors import IntergreenError
from intergreen.rewards.registry import canonical_reward, reward_version
from intergreen.seeds import MAX_BASE_SEED, episode_seeds
from intergreen.version import __version__
from intergreen.yamlfile import read_yaml

PRESETS_FILE = Path(__file__).with_name("presets.yaml")
AGENTS = ("dqn", "ppo")
#: TrainConfig's validation options (out of the key when validation is off).
VALIDATION_FIELDS = ("validate_every", "validate_episodes", "validate_demands", "validate_score")
#: Decisions a run trains for when none are given: ``intergreen train --timesteps`` and
#: ``train(timesteps=...)`` both default to it (the README's `intergreen train` example).
DEFAULT_TRAIN_TIMESTEPS = 200_000
#: Decisions one run may train, at most (train, grids, tune's --max-timesteps): a billion is
#: about a week of one process at the presets' 2,000 decisions/s; more is a typo.
MAX_TRAIN_TIMESTEPS = 1_000_000_000
#: A run's base seed when none is given (``intergreen train --seed``, ``train(seed=...)``,
#: :class:`TrainConfig`).
DEFAULT_TRAIN_SEED = 1
#: Validation episodes per demand at one validation point, at most (each is a SUMO episode).
MAX_VALIDATION_EPISODES = 100
#: A validation point's score: the mean of this ground-truth metric over its episodes (s per
#: vehicle; lower is better).
VALIDATION_METRIC = "avg_waiting_time"
#: How a validation point's episodes make its score (intergreen.agents.curves.validation_scores).
ValidationScore = Literal["mean", "geometric_mean"]
#: Validation episodes run in a worker process beside the training process (whose env holds
#: that process's one libsumo run), on libsumo: the same simulation as traci, at about 0.7 of
#: its CPU time (intergreen.agents.validation).
VALIDATION_BACKEND = "libsumo"


class AgentConfigError(IntergreenError, ValueError):
    """An unknown agent, preset or hyperparameter; the message lists the valid ones."""


@cache
def presets() -> dict[str, dict[str, Any]]:
    return read_yaml(PRESETS_FILE)


def algorithm_class(agent: str):
    """The SB3 algorithm that trains ``agent`` (with several envs, each collects its steps in
    parallel: intergreen.agents.rollouts)."""
    from intergreen.agents.rollouts import ParallelCollectDQN, ParallelRolloutPPO

    return {"dqn": ParallelCollectDQN, "ppo": ParallelRolloutPPO}[agent]


def collection_unit(agent: str, hyperparams: dict[str, Any], n_envs: int) -> int | None:
    """Decisions one collection adds up: training stops only between collections, so a run
    trains a whole number of them. PPO: ``n_steps`` per env (SB3's default 2048) times
    ``n_envs``; DQN: ``train_freq`` steps (default 4) times ``n_envs``; None when DQN's
    ``train_freq`` counts episodes."""
    if agent == "ppo":
        return int(hyperparams.get("n_steps", 2048)) * n_envs
    freq = hyperparams.get("train_freq", 4)
    if isinstance(freq, list | tuple):
        if len(freq) != 2 or str(freq[1]) != "step":
            return None
        freq = freq[0]
    return int(freq) * n_envs


def planned_timesteps(done: int, asked: int, unit: int | None) -> int:
    """The decisions a run trains when asked for ``asked`` and ``done`` are trained: whole
    collections of ``unit`` from ``done`` on (``asked`` itself when unit is None)."""
    if done >= asked:
        return done
    if unit is None:
        return asked
    return done + -(-(asked - done) // unit) * unit


def first_learning_step(agent: str, hyperparams: dict[str, Any]) -> int:
    """Decisions a run collects before its first gradient step: DQN's ``learning_starts`` (the
    algorithm's default where ``hyperparams`` leave it: SB3's 100), 0 for PPO, which learns
    from its first collection."""
    if agent.lower() != "dqn":
        return 0
    return int(hyperparams.get("learning_starts", _settable("dqn")["learning_starts"]))


def stays_untrained(agent: str, hyperparams: dict[str, Any], trained: int) -> bool:
    """Whether a run of ``trained`` decisions ends before its first gradient step, so that its
    model is the untrained network (SB3 learns only once ``num_timesteps`` exceeds
    ``learning_starts``)."""
    return agent.lower() == "dqn" and trained <= first_learning_step(agent, hyperparams)


def valid_hyperparameters(agent: str) -> list[str]:
    """Constructor arguments of the SB3 algorithm that a user may set."""
    return sorted(_settable(agent))


def _settable(agent: str) -> dict[str, Any]:
    """The settable constructor arguments of ``agent``'s algorithm and their defaults."""
    skip = {
        "self",
        "policy",
        "env",
        "seed",
        "device",
        "tensorboard_log",
        "verbose",
        "_init_setup_model",
    }
    params = inspect.signature(algorithm_class(agent).__init__).parameters
    return {n: p.default for n, p in params.items() if n not in skip}


def resolve_hyperparameters(
    agent: str, preset: str | None = None, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The preset's hyperparameters (default: the agent's own) updated by ``overrides``.

    Raises:
        AgentConfigError: an unknown agent, preset or hyperparameter (with the valid ones), or
            a value out of its range (``gamma=2``, ``learning_rate=-1``, PPO's ``n_steps=0``:
            :mod:`intergreen.agents.hp_ranges`), each with a value that works.
    """
    agent = agent.lower()
    if agent not in AGENTS:
        raise AgentConfigError(f"unknown agent {agent!r}; use one of {', '.join(AGENTS)}")
    name = preset or agent
    table = presets()
    if name not in table:
        raise AgentConfigError(f"unknown preset {name!r}; presets: {', '.join(table)}")
    hp = {k: v for k, v in table[name].items() if k not in ("algorithm", "env")}
    if table[name].get("algorithm", agent) != agent:
        raise AgentConfigError(
            f"preset {name!r} is for {table[name]['algorithm']}, not {agent}; "
            f"presets for {agent}: "
            + ", ".join(n for n, p in table.items() if p.get("algorithm") == agent)
        )
    hp.update(overrides or {})
    valid = valid_hyperparameters(agent)
    bad = [k for k in hp if k not in valid]
    if bad:
        hints = []
        for k in bad:
            close = get_close_matches(k, valid, n=1)
            hints.append(f"{k!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise AgentConfigError(
            f"unknown {agent} hyperparameter {', '.join(hints)}; valid: {', '.join(valid)}"
        )
    preset_values = {k: v for k, v in table[name].items() if k not in ("algorithm", "env")}
    bad = out_of_range(agent, hp, _settable(agent) | preset_values)
    if bad:
        raise AgentConfigError("; ".join(bad))
    return hp


def preset_env_options(agent: str, preset: str | None = None) -> dict[str, Any]:
    """Environment options a preset trains with (its ``env:`` mapping)."""
    return dict(presets().get(preset or agent.lower(), {}).get("env", {}))


class TrainConfig(BaseModel):
    """Everything that defines a training run (its run folder holds it as config.json)."""

    model_config = ConfigDict(extra="forbid")
    agent: str
    junction: str = "gm_a56"
    demand: str | list[str] = "mixed"
    reward: str | dict[str, Any] = "average_speed"
    timesteps: int = Field(gt=0, le=MAX_TRAIN_TIMESTEPS)
    #: The run's base seed: training env i plays the ``train`` stream (seed, i) of
    #: intergreen.seeds; the model (torch, numpy, exploration) is seeded with it too.
    seed: int = Field(default=DEFAULT_TRAIN_SEED, ge=0, le=MAX_BASE_SEED)
    preset: str | None = None
    hyperparams: dict[str, Any] = Field(default_factory=dict)
    n_envs: int = Field(default=1, ge=1, le=64)
    checkpoint_every: int = Field(default=20_000, gt=0)
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    #: Greedy validation (intergreen.agents.validation): every ``validate_every`` decisions
    #: (None: never) the greedy policy plays ``validate_episodes`` episodes of the
    #: ``validation`` seed stream per entry of ``validate_demands`` (None: the training demand).
    validate_every: int | None = Field(default=None, gt=0)
    validate_episodes: int = Field(default=3, ge=1, le=MAX_VALIDATION_EPISODES)
    validate_demands: list[str | list[str]] | None = Field(default=None, min_length=1)
    #: "mean" of the episodes' waits, or their "geometric_mean" (each episode counts by its
    #: relative change, so one oversaturated episode does not decide the score).
    validate_score: ValidationScore = "mean"

    @field_validator("reward", mode="after")
    @classmethod
    def _one_form(cls, reward: str | dict[str, Any]) -> str | dict[str, Any]:
        """The reward in its canonical form (intergreen.rewards.registry.canonical_reward):
        one reward written differently (key order, ``1.0`` for ``1``) is one run and key."""
        return canonical_reward(reward)

    def resolved_hyperparameters(self) -> dict[str, Any]:
        return resolve_hyperparameters(self.agent, self.preset, self.hyperparams)

    def resolved_env_kwargs(self) -> dict[str, Any]:
        """The preset's environment options updated by this run's own."""
        return preset_env_options(self.agent, self.preset) | self.env_kwargs

    def versions(self) -> dict[str, str]:
        """``intergreen_version`` (the package) and ``reward_version`` (the training reward's
        formula, intergreen.rewards.registry.reward_version): both part of the key."""
        return {"intergreen_version": __version__,
                "reward_version": reward_version(self.reward)}  # fmt: skip

    def validation_demands(self) -> list[str | list[str]]:
        """The demands validation episodes are played at (each with every validation seed):
        ``validate_demands``, else the training demand as one entry."""
        return list(self.validate_demands or [self.demand])

    def validation_plan(self) -> dict[str, Any] | None:
        """What greedy validation does (recorded in config.json as ``validation``): ``every``
        decisions, ``episodes`` per demand of ``demands``, their reset ``seeds`` (the first
        episodes of the ``validation`` stream, the same at every point), the ``metric`` whose
        mean over the point's episodes is its score, and the SUMO ``backend``; None when
        validation is off."""
        if self.validate_every is None:
            return None
        return {
            "every": self.validate_every,
            "episodes": self.validate_episodes,
            "demands": self.validation_demands(),
            "role": "validation",
            "seeds": episode_seeds("validation", self.validate_episodes),
            "metric": VALIDATION_METRIC,
            "score_kind": self.validate_score,
            "score": f"{self.validate_score.replace('_', ' ')} of {VALIDATION_METRIC} (s/veh) "
            "over the point's episodes; lower is better",
            "backend": VALIDATION_BACKEND,
        }

    def key(self) -> str:
        """A hash of the resolved configuration and the versions that made it; the validation
        fields only when validation is on (a run without it keeps its key)."""
        dump = self.model_dump()
        if self.validate_every is None:
            for name in VALIDATION_FIELDS:
                dump.pop(name)
        elif self.validate_score == "mean":
            dump.pop("validate_score")  # runs made before the choice existed keep their keys
        payload = dump | {
            "resolved": self.resolved_hyperparameters(),
            "env": self.resolved_env_kwargs(),
            **self.versions(),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
