"""The calibration's user error: counts, options or results that cannot give a demand."""

from __future__ import annotations

__all__ = ["CalibrationError"]


class CalibrationError(ValueError):
    """Counts, options or results that cannot give a calibrated demand; says what to fix."""
