"""Hyperparameter tuning: a clean-room CARBS (cost-aware Pareto-region Bayesian search)."""

from intergreen.tuning.carbs import CARBS
from intergreen.tuning.config import (
    CARBSParams,
    ObservationInParam,
    ObserveOutput,
    ParetoPoint,
    SuggestOutput,
)
from intergreen.tuning.errors import (
    CheckpointError,
    ConfigError,
    ObservationError,
    SearchSpaceError,
    TuningError,
    UnknownSuggestionError,
)
from intergreen.tuning.search_space import LinearSpace, LogitSpace, LogSpace, Param

__all__ = [
    "CARBS",
    "CARBSParams",
    "CheckpointError",
    "ConfigError",
    "LinearSpace",
    "LogSpace",
    "LogitSpace",
    "ObservationError",
    "ObservationInParam",
    "ObserveOutput",
    "Param",
    "ParetoPoint",
    "SearchSpaceError",
    "SuggestOutput",
    "TuningError",
    "UnknownSuggestionError",
]
