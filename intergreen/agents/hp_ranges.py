"""The values each common stable-baselines3 hyperparameter may take, checked before a run.

SB3 accepts some values it then misbehaves on (``gamma=2`` trains on a diverging return),
refuses others only deep inside its constructor (``learning_rate=-1``: ``ValueError: Invalid
learning rate`` from torch's Adam; PPO's ``n_steps=0``: an ``AssertionError``), and takes
absurd sizes that cost memory before anything fails (``buffer_size=1e10``). :func:`problems`
says, for every value out of its range, what the hyperparameter is, its range and a value that
works, so that ``intergreen train --hp``, ``train(hyperparams=...)``, a grid's ``hyperparams``
and a tune's base refuse it in one line before anything runs
(:func:`intergreen.agents.config.resolve_hyperparameters`).

Values SB3 takes in Python only (a learning-rate or clip-range schedule: a callable) are not
checked here; what the ranges do not cover (an unknown ``policy_kwargs`` key, a replay buffer
class) is still refused when the model is built (``intergreen.agents.training``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

#: ``collection`` values (intergreen.agents.rollouts.COLLECTIONS; kept here so that checking a
#: configuration does not import torch).
COLLECTIONS = ("fast", "sb3")
#: The most hidden units per layer of ``policy_kwargs.net_arch`` (the study's widest is 1000).
MAX_WIDTH = 8192
#: The most transitions DQN's replay buffer holds: 10 M is ~18 GB at gm_a56's 221 inputs.
MAX_BUFFER = 10_000_000
#: The most decisions in one PPO rollout per env, or transitions in one minibatch.
MAX_BATCH = 1_000_000


@dataclass(frozen=True)
class Range:
    """Valid values: a number (an integer where ``integer``) from ``lo`` to ``hi`` (None: no
    bound; an end excluded where ``lo_open`` / ``hi_open``), or one of ``also``."""

    what: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    also: tuple[Any, ...] = ()
    #: False: only the values of ``also`` (a switch, a choice).
    numbers: bool = True

    def holds(self, value: Any) -> bool:
        if any(value is a or (value == a and type(value) is type(a)) for a in self.also):
            return True
        if not self.numbers or isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)

    def rule(self) -> str:
        """The range in words, e.g. ``a number in (0, 1]``, ``an integer >= 1``."""
        others = [_show(a) for a in self.also]
        if not self.numbers:
            return f"one of {', '.join(others)}"
        kind = "an integer" if self.integer else "a number"
        lo, hi = _fmt(self.lo), _fmt(self.hi)
        if self.lo is not None and self.hi is not None:
            text = (
                f"{kind} in {'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open else ']'}"
            )
        elif self.lo is not None:
            text = f"{kind} {'>' if self.lo_open else '>='} {lo}"
        elif self.hi is not None:
            text = f"{kind} {'<' if self.hi_open else '<='} {hi}"
        else:
            text = kind
        return text + (f" (or {' or '.join(others)})" if others else "")


def _fmt(bound: float | None) -> str:
    """A bound as people read it: ``0``, ``1``, ``1,000,000``."""
    return "" if bound is None else f"{bound:,.15g}"


def _show(value: Any) -> str:
    """A value as the user writes it (JSON: ``true``, ``"fast"``, ``[4, "step"]``)."""
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


_FRACTION_OPEN: dict[str, Any] = dict(lo=0, hi=1, lo_open=True)  # (0, 1]
_FRACTION: dict[str, Any] = dict(lo=0, hi=1)  # [0, 1]
_POSITIVE: dict[str, Any] = dict(lo=0, lo_open=True)
_FLAG = Range("the switch", also=(True, False), numbers=False)

#: Both algorithms.
COMMON: dict[str, Range] = {
    "learning_rate": Range("the learning rate (Adam's step size)", lo=0, hi=1, lo_open=True),
    "gamma": Range("the discount factor", **_FRACTION_OPEN),
    "max_grad_norm": Range("the gradient clipping norm", **_POSITIVE),
    "stats_window_size": Range("the episodes SB3 averages its logs over", lo=1, integer=True),
    "collection": Range("the collection loop", also=COLLECTIONS, numbers=False),
}
RANGES: dict[str, dict[str, Range]] = {
    "dqn": COMMON
    | {
        "buffer_size": Range(
            "the replay buffer's size (transitions)", lo=1, hi=MAX_BUFFER, integer=True
        ),
        "learning_starts": Range(
            "the decisions before the first gradient step", lo=0, integer=True
        ),
        "batch_size": Range("the minibatch size", lo=1, hi=MAX_BATCH, integer=True),
        "tau": Range("the target network's soft-update coefficient", **_FRACTION_OPEN),
        "gradient_steps": Range(
            "the gradient steps per collection", lo=1, integer=True, also=(-1,)
        ),
        "n_steps": Range("the steps of the n-step return", lo=1, hi=MAX_BATCH, integer=True),
        "target_update_interval": Range(
            "the decisions between target-network updates", lo=1, integer=True
        ),
        "exploration_fraction": Range(
            "the share of training over which epsilon falls", **_FRACTION_OPEN
        ),
        "exploration_initial_eps": Range("the initial exploration rate", **_FRACTION),
        "exploration_final_eps": Range("the final exploration rate", **_FRACTION),
        "optimize_memory_usage": _FLAG,
    },
    "ppo": COMMON
    | {
        "n_steps": Range("the decisions per env in one rollout", lo=2, hi=MAX_BATCH, integer=True),
        "batch_size": Range("the minibatch size", lo=2, hi=MAX_BATCH, integer=True),
        "n_epochs": Range("the passes over each rollout", lo=1, hi=1000, integer=True),
        "gae_lambda": Range("GAE's lambda", **_FRACTION),
        "clip_range": Range("the policy clip range", **_POSITIVE),
        "clip_range_vf": Range("the value clip range", **_POSITIVE, also=(None,)),
        "ent_coef": Range("the entropy coefficient", lo=0),
        "vf_coef": Range("the value-loss coefficient", lo=0),
        "target_kl": Range("the KL limit of an update", **_POSITIVE, also=(None,)),
        "sde_sample_freq": Range(
            "the gSDE noise resampling period", lo=1, integer=True, also=(-1,)
        ),
        "use_sde": _FLAG,
        "normalize_advantage": _FLAG,
    },
}


def problems(agent: str, hyperparams: dict[str, Any], example: dict[str, Any]) -> list[str]:
    """One message per hyperparameter of ``agent`` (``dqn`` or ``ppo``) out of its range, e.g.
    ``"dqn hyperparameter gamma=2: the discount factor must be a number in (0, 1], e.g.
    0.98"``; ``example``: a valid value of each (the preset's, else SB3's default). Callables
    (schedules) are not checked."""
    out = []
    ranges = RANGES[agent]
    for name, value in hyperparams.items():
        if callable(value) and name in ("learning_rate", "clip_range", "clip_range_vf"):
            continue
        hint = f", e.g. {_show(example[name])}" if name in example else ""
        if name == "train_freq" and agent == "dqn":
            bad = _train_freq_problem(value)
        elif name == "policy_kwargs":
            bad, hint = _policy_kwargs_problem(value), ""
        elif name in ranges and not ranges[name].holds(value):
            bad = f"{ranges[name].what} must be {ranges[name].rule()}"
        else:
            bad = None
        if bad is not None:
            out.append(f"{agent} hyperparameter {name}={_show(value)}: {bad}{hint}")
    return out


def _train_freq_problem(value: Any) -> str | None:
    steps = Range("", lo=1, integer=True)
    if isinstance(value, list | tuple) and len(value) == 2:
        if steps.holds(value[0]) and value[1] in ("step", "episode"):
            return None
    elif steps.holds(value):
        return None
    return (
        'the collection period must be an integer >= 1 (decisions), or [N, "step"] or '
        '[N, "episode"]'
    )


def _policy_kwargs_problem(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return 'the policy\'s options must be a mapping, e.g. {"net_arch": [128, 128]}'
    arch = value.get("net_arch")
    if arch is None:
        return None
    layers = [arch] if isinstance(arch, list) else None
    if isinstance(arch, dict):  # {"pi": [...], "vf": [...]}
        layers = list(arch.values())
    width = Range("", lo=1, hi=MAX_WIDTH, integer=True)
    if layers and all(isinstance(x, list) and all(width.holds(w) for w in x) for x in layers):
        return None
    return (
        f"policy_kwargs.net_arch must list each hidden layer's width, an integer in [1, "
        f'{MAX_WIDTH}] (e.g. [128, 128], or {{"pi": [64], "vf": [64]}})'
    )
