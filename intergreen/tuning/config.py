"""CARBS configuration and observation records."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from intergreen.tuning.errors import ConfigError

ESTIMATORS = ("thompson", "mean")


@dataclass(frozen=True)
class CARBSParams:
    """Immutable tuner configuration (upstream defaults unless noted)."""

    better_direction_sign: int = 1
    seed: int = 0
    num_random_samples: int = 4
    initial_search_radius: float = 0.3
    exploration_bias: float = 1.0
    num_candidates_for_suggestion_per_dim: int = 100
    resample_frequency: int = 5
    max_suggestion_cost: float | None = None
    min_pareto_cost_fraction: float = 0.2
    is_pareto_group_selection_conservative: bool = True
    is_expected_improvement_pareto_value_clamped: bool = True
    is_expected_improvement_value_always_max: bool = False
    outstanding_suggestion_estimator: str = "thompson"
    #: JSON checkpoint written atomically after every observe/suggest/forget (None = off).
    checkpoint_path: str | None = None
    # --- our flags (see NOTES.md) -----------------------------------------------------------
    #: Adam steps per suggest for MAP hyperparameters, warm-started; 0 = fixed (upstream, default).
    gp_fit_steps: int = 0
    gp_fit_lr: float = 0.05
    #: Quirk 4: P(success) = Phi(-mu / var) upstream; True uses the std instead.
    is_success_probability_std: bool = False
    #: Quirk 12 (imbue-ai/carbs#6): low-cost threshold over group costs (PufferAI fix).
    is_pareto_threshold_fixed: bool = True
    #: Quirk 8 flag: drop candidates identical to observed or pending points.
    is_duplicate_masked: bool = False
    #: Quirk 2: the linear kernel acts on basic coordinates relative to the search centre
    #: (True) instead of their origin (False, upstream), where a dimension whose centre lies
    #: far from 0 (log10 lr = -4) gets almost no slope.
    is_linear_kernel_centered: bool = True

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"CARBSParams.{name}={getattr(self, name)!r}: {why}")

        if self.better_direction_sign not in (1, -1):
            raise bad("better_direction_sign", "use 1 to maximise or -1 to minimise")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise bad("seed", "must be a non-negative int")
        if self.num_random_samples < 1:
            raise bad("num_random_samples", "must be >= 1")
        if not (self.initial_search_radius > 0 and math.isfinite(self.initial_search_radius)):
            raise bad("initial_search_radius", "must be a finite number > 0")
        if not math.isfinite(self.exploration_bias):
            raise bad("exploration_bias", "must be finite")
        if self.num_candidates_for_suggestion_per_dim < 1:
            raise bad("num_candidates_for_suggestion_per_dim", "must be >= 1")
        if self.resample_frequency < 0:
            raise bad("resample_frequency", "must be >= 0 (0 disables resampling)")
        if self.max_suggestion_cost is not None and not self.max_suggestion_cost > 0:
            raise bad("max_suggestion_cost", "must be > 0 or None")
        if not 0 <= self.min_pareto_cost_fraction <= 1:
            raise bad("min_pareto_cost_fraction", "must lie in [0, 1]")
        if self.outstanding_suggestion_estimator not in ESTIMATORS:
            raise bad("outstanding_suggestion_estimator", f"use one of {ESTIMATORS}")
        if self.gp_fit_steps < 0 or not self.gp_fit_lr > 0:
            raise bad("gp_fit_steps", "steps must be >= 0 and gp_fit_lr > 0")

    def to_json(self) -> dict[str, Any]:
        """JSON-able dict."""
        return asdict(self)

    @staticmethod
    def from_json(d: dict[str, Any]) -> CARBSParams:
        """Inverse of ``to_json``; unknown keys are an error."""
        names = {f.name for f in fields(CARBSParams)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"CARBSParams: unknown fields {sorted(unknown)}; remove them")
        # checkpoints written before the flag existed used the upstream kernel: resume with it
        return CARBSParams(**{"is_linear_kernel_centered": False, **d})


@dataclass(frozen=True)
class ObservationInParam:
    """One finished run: its input (param dict), output, cost and failure flag."""

    input: dict[str, Any]
    output: float
    cost: float = 1.0
    is_failure: bool = False


@dataclass
class SuggestOutput:
    """A suggestion (param dict, with ``suggestion_uuid`` when remembered) and log info."""

    suggestion: dict[str, Any]
    log: dict[str, Any] = field(default_factory=dict)


@dataclass
class ObserveOutput:
    """Log info of an observation."""

    logs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParetoPoint:
    """One Pareto group: its input, mean cost, mean output and sample count."""

    input: dict[str, Any]
    cost: float
    output: float
    count: int
