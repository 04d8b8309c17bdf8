"""Error types of the tuner: all are ``ValueError`` subclasses with actionable messages."""

from __future__ import annotations

from intergreen.errors import IntergreenError


class TuningError(IntergreenError, ValueError):
    """Base class of every input error raised by ``intergreen.tuning``."""


class SearchSpaceError(TuningError):
    """A parameter, space or centre is invalid."""


class ConfigError(TuningError):
    """A ``CARBSParams`` field is invalid."""


class ObservationError(TuningError):
    """An observation (input, output or cost) is invalid."""


class UnknownSuggestionError(ObservationError):
    """An observation or ``forget`` names a suggestion the tuner does not hold."""


class CheckpointError(TuningError):
    """A checkpoint file is missing, corrupt or of an unknown version."""
