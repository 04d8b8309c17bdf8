"""Agent search spaces for ``intergreen tune``: CARBS params centred on a preset.

Each tuned hyperparameter is one :class:`Param` whose centre is the preset's value (default:
the agent's own preset in ``intergreen/agents/presets.yaml``). ``timesteps`` (training env
steps) is the cost dimension. :func:`hyperparams_from_suggestion` turns a suggestion back into
SB3 keyword arguments; :func:`suggestion_from_hyperparams` is its inverse (used for the default
trial and the round-trip tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from intergreen.errors import IntergreenError
from intergreen.tuning.search_space import LogitSpace, LogSpace, Param, Space

TIMESTEPS = "timesteps"
NET_WIDTH = "net_width"
#: Default centre and bounds of the cost dimension (agent decisions per training run).
DEFAULT_TIMESTEPS = (50_000, 2_000, 2_000_000)


@dataclass(frozen=True)
class Dim:
    """How one tuned hyperparameter is searched and where its centre comes from."""

    name: str
    space: Space
    #: Used when the preset does not set the hyperparameter (SB3's default).
    fallback: float
    get: Callable[[dict[str, Any]], Any] | None = None


def _width(hp: dict[str, Any]) -> Any:
    arch = (hp.get("policy_kwargs") or {}).get("net_arch", [64, 64])
    if isinstance(arch, dict):  # {pi: [...], vf: [...]}
        arch = arch.get("pi") or next(iter(arch.values()))
    return max(arch) if arch else 64


_COMMON = (
    Dim("learning_rate", LogSpace(min=1e-6, max=1e-2, scale=1.0), 3e-4),
    # logit(gamma) = -logit(1 - gamma): a log-like space on the horizon 1 / (1 - gamma)
    Dim("gamma", LogitSpace(min=0.5, max=0.9999, scale=0.5), 0.99),
    Dim(NET_WIDTH, LogSpace(min=16, max=1024, base=2, scale=2, is_integer=True,
                            rounding_factor=16), 64, _width),  # fmt: skip
)
AGENT_DIMS: dict[str, tuple[Dim, ...]] = {
    "ppo": _COMMON
    + (
        Dim("batch_size", LogSpace(min=16, max=2048, base=2, scale=2, is_integer=True,
                                   rounding_factor=8), 64),  # fmt: skip
        Dim("n_steps", LogSpace(min=32, max=8192, base=2, scale=2, is_integer=True,
                                rounding_factor=16), 2048),  # fmt: skip
        Dim("ent_coef", LogSpace(min=1e-6, max=0.5, scale=1.0), 0.01),
    ),
    "dqn": _COMMON
    + (
        Dim("batch_size", LogSpace(min=16, max=2048, base=2, scale=2, is_integer=True,
                                   rounding_factor=8), 32),  # fmt: skip
        Dim("buffer_size", LogSpace(min=1_000, max=5_000_000, scale=1.0, is_integer=True,
                                    rounding_factor=1_000), 1_000_000),  # fmt: skip
        Dim("exploration_fraction", LogitSpace(min=0.001, max=0.999, scale=1.0), 0.1),
        Dim("exploration_final_eps", LogitSpace(min=0.0001, max=0.5, scale=1.0), 0.05),
    ),
}


class SearchSpaceConfigError(IntergreenError, ValueError):
    """A bad tuned-parameter list or timesteps range."""


def tunable_names(agent: str) -> list[str]:
    """Names of the hyperparameters that can be tuned for ``agent`` (plus ``timesteps``)."""
    return [d.name for d in AGENT_DIMS[agent]] + [TIMESTEPS]


def _clip_inside(value: float, space: Space) -> float:
    lo, hi = space.min, space.max
    if lo < value < hi:
        return value
    if space.rounds:  # integer spaces hold their bounds (rounding slack): centre on the bound
        return min(max(value, lo), hi)
    span = 1e-3 * (hi - lo) if hi - lo < 1e300 else 1.0
    return min(max(value, lo + span), hi - span)


def search_space(
    agent: str,
    hyperparams: dict[str, Any],
    timesteps: tuple[int, int, int] = DEFAULT_TIMESTEPS,
    names: Sequence[str] | None = None,
) -> list[Param]:
    """CARBS params centred on the resolved ``hyperparams`` and ``timesteps=(centre, lo, hi)``.

    ``names`` restricts the tuned set (``timesteps`` is always tuned: it is the cost).
    """
    dims = AGENT_DIMS[agent]
    valid = {d.name for d in dims}
    chosen = list(names) if names is not None else [d.name for d in dims]
    bad = [n for n in chosen if n not in valid and n != TIMESTEPS]
    if bad:
        raise SearchSpaceConfigError(
            f"cannot tune {', '.join(bad)} for {agent}; tunable: {', '.join(sorted(valid))}"
        )
    params = []
    for d in dims:
        if d.name not in chosen:
            continue
        value = d.get(hyperparams) if d.get else hyperparams.get(d.name, d.fallback)
        if not isinstance(value, int | float) or isinstance(value, bool):
            value = d.fallback  # e.g. a learning-rate schedule: centre on SB3's default
        params.append(Param(d.name, d.space, _clip_inside(float(value), d.space)))
    centre, lo, hi = (int(t) for t in timesteps)
    if not 0 < lo < hi:
        raise SearchSpaceConfigError(
            f"--min-timesteps {lo:,} and --max-timesteps {hi:,}: give 0 < min < max"
        )
    if not lo < centre < hi:
        raise SearchSpaceConfigError(
            f"--timesteps {centre:,} (the search's centre) must lie strictly between "
            f"--min-timesteps {lo:,} and --max-timesteps {hi:,}"
        )
    rf = max(1, 10 ** max(0, len(str(lo)) - 2))  # two significant digits at the low end
    params.append(
        Param(TIMESTEPS, LogSpace(min=lo, max=hi, scale=1.0, is_integer=True,
                                  rounding_factor=rf), centre)  # fmt: skip
    )
    return params


def hyperparams_from_suggestion(
    agent: str, suggestion: dict[str, Any], base: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """SB3 keyword arguments (``base`` updated by the suggestion) and the training timesteps."""
    hp = dict(base)
    for key, value in suggestion.items():
        if key in (TIMESTEPS, "suggestion_uuid"):
            continue
        if key == NET_WIDTH:
            kw = dict(hp.get("policy_kwargs") or {})
            arch = kw.get("net_arch", [64, 64])
            depth = len(arch) if isinstance(arch, list) and arch else 2
            kw["net_arch"] = [int(value)] * depth
            hp["policy_kwargs"] = kw
        elif key in ("batch_size", "n_steps", "buffer_size"):
            hp[key] = int(value)
        else:
            hp[key] = float(value)
    if agent == "ppo" and "batch_size" in hp:
        # a minibatch is a divisor of the rollout (one env per trial): the largest one not above
        # the suggestion, so SB3 never truncates a minibatch (nor warns that it does)
        rollout = int(hp.get("n_steps", 2048))
        wanted = max(1, min(int(hp["batch_size"]), rollout))
        hp["batch_size"] = max(d for d in range(1, wanted + 1) if rollout % d == 0)
    return hp, int(suggestion[TIMESTEPS])


def suggestion_from_hyperparams(
    agent: str, hyperparams: dict[str, Any], timesteps: int, params: Sequence[Param]
) -> dict[str, Any]:
    """The param dict of a hyperparameter set (inverse of :func:`hyperparams_from_suggestion`)."""
    dims = {d.name: d for d in AGENT_DIMS[agent]}
    out: dict[str, Any] = {}
    for p in params:
        if p.name == TIMESTEPS:
            out[p.name] = int(timesteps)
            continue
        d = dims[p.name]
        value = d.get(hyperparams) if d.get else hyperparams.get(p.name, d.fallback)
        out[p.name] = int(value) if p.space.rounds else float(value)
    return out


def centre(params: Sequence[Param]) -> dict[str, Any]:
    """The search centre as a param dict (integers as ``int``)."""
    return {p.name: int(round(p.center)) if p.space.rounds else p.center for p in params}


__all__ = [
    "AGENT_DIMS",
    "DEFAULT_TIMESTEPS",
    "SearchSpaceConfigError",
    "centre",
    "hyperparams_from_suggestion",
    "search_space",
    "suggestion_from_hyperparams",
    "tunable_names",
]
