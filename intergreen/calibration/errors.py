"""The calibration's user error: counts, options or results that cannot give a demand."""

from __future__ import annotations

from intergreen.errors import IntergreenError

__all__ = ["CalibrationError"]


class CalibrationError(IntergreenError, ValueError):
    """Counts, options or results that cannot give a calibrated demand; says what to fix."""
