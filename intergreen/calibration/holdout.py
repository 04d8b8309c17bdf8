"""Split counts by day into fit days (routeSampler sees them) and held-out validation days.

Why days, not hours: the calibrated demand takes each clock hour's flow from the counts
of that hour and has no model that would predict one hour from another, so holding out
hours would test an interpolation we would have to invent, not the calibration. The
same clock hours on other days are independent samples of the same weekday demand,
which is what the calibration claims to reproduce.

The default (``auto``) keeps the first half of the counted days for the fit and holds
out the second half, as two blocks of consecutive days, so that the held-out counts are
also later in time. For the TfGM export of February 2018 (20 complete weekdays) that is
weeks 1-2 (Thu 1 - Wed 14 Feb) for the fit and weeks 3-4 (Thu 15 - Wed 28 Feb) for the
validation: each half holds every weekday twice. Only the days that the weekday mean
would use are split (Monday-Friday, or every day when the counts hold no weekday).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.flows import WEEKDAYS

__all__ = [
    "HOLDOUT_CHOICES",
    "MIN_HELD_OUT_DAYS",
    "CountsSplit",
    "describe_days",
    "split_counts",
    "validation_caution",
]

HOLDOUT_CHOICES = "auto, none or the first held-out date (YYYY-MM-DD)"
MIN_HELD_OUT_DAYS = 5
"""Fewer held-out days than this (a working week, each weekday once) validate a weekday
mean only thinly: :func:`validation_caution` says so."""


@dataclass(frozen=True)
class CountsSplit:
    """Counts for the fit and, when any are held out, for the validation."""

    fit: pd.DataFrame
    held_out: pd.DataFrame | None
    fit_days: tuple[date, ...]
    held_out_days: tuple[date, ...]

    @property
    def has_held_out(self) -> bool:
        return self.held_out is not None

    def describe(self) -> str:
        """E.g. ``fit on 10 days 2018-02-01..2018-02-14; held out 10 days 2018-02-15..``."""
        text = f"fit on {describe_days(self.fit_days)}"
        if self.held_out_days:
            text += f"; held out {describe_days(self.held_out_days)}"
        else:
            text += "; no days held out"
        return text


def describe_days(days: tuple[date, ...]) -> str:
    """E.g. ``10 days 2018-02-15..2018-02-28`` (``no days`` when empty)."""
    if not days:
        return "no days"
    word = "day" if len(days) == 1 else "days"
    span = f"{days[0]:%Y-%m-%d}" + (f"..{days[-1]:%Y-%m-%d}" if len(days) > 1 else "")
    return f"{len(days)} {word} {span}"


def split_counts(counts: pd.DataFrame, holdout: str | date | None = "auto") -> CountsSplit:
    """Split long-format ``counts`` by calendar day (see the module docstring).

    ``holdout``: ``auto`` (first half of the days fit, second half held out; no
    validation with fewer than two days), ``none`` (fit on every day) or the first
    held-out date (a ``date`` or ``YYYY-MM-DD``: days from it on are held out). Raises
    :class:`CalibrationError` for another value or when a part would be empty.
    """
    day = counts["interval_start"].dt.normalize()
    weekdays = day.dt.day_of_week.isin(WEEKDAYS)
    pool = day[weekdays] if weekdays.any() else day
    days = tuple(d.date() for d in sorted(pool.unique()))
    text = "none" if holdout is None else holdout
    if isinstance(text, str) and text.strip().lower() == "none":
        return CountsSplit(counts, None, days, ())
    if isinstance(text, str) and text.strip().lower() == "auto":
        if len(days) < 2:
            return CountsSplit(counts, None, days, ())
        first = days[(len(days) + 1) // 2]
    elif isinstance(text, date):
        first = text
    else:
        try:
            first = date.fromisoformat(str(text).strip())
        except ValueError:
            raise CalibrationError(f"--holdout {text!r}: use {HOLDOUT_CHOICES}") from None
    fit_days = tuple(d for d in days if d < first)
    held_days = tuple(d for d in days if d >= first)
    if not fit_days or not held_days:
        raise CalibrationError(
            f"--holdout {first:%Y-%m-%d}: leaves {'no' if not fit_days else 'all'} counted days "
            f"for the fit (counted days {days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d}); choose a "
            "date between them, auto or none"
        )
    cut = pd.Timestamp(first)
    return CountsSplit(counts[day < cut], counts[day >= cut], fit_days, held_days)


def validation_caution(split: CountsSplit, holdout: str | date | None, validated: bool) -> str:
    """One sentence when the out-of-sample validation is missing or thin, else ``""``.

    Missing: nothing held out (``holdout`` none, or ``auto`` with fewer than two counted
    days), or held-out days without a count in the profile's hours (``validated`` False).
    Thin: fewer than :data:`MIN_HELD_OUT_DAYS` held-out days.
    """
    if not split.held_out_days:
        none = holdout is None or (isinstance(holdout, str) and holdout.strip().lower() == "none")
        why = (
            "--holdout none fits on every counted day"
            if none
            else f"the counts cover only {describe_days(split.fit_days)}, too few to hold any "
            "out (--holdout auto needs two)"
        )
        return (
            f"no out-of-sample validation: {why}, so the demand is checked only in-sample, "
            "against the counts it was fitted to; count more days to validate it"
        )
    held = describe_days(split.held_out_days)
    if not validated:
        return (
            f"no out-of-sample validation: the held-out {held} hold no count in the profile's "
            "hours, so the demand is checked only in-sample; hold out days counted in those hours"
        )
    if len(split.held_out_days) < MIN_HELD_OUT_DAYS:
        return (
            f"thin out-of-sample validation: on {held} only, fewer than {MIN_HELD_OUT_DAYS} "
            "(a working week) for a weekday mean; hold out more days (an earlier --holdout "
            "date, or count more days)"
        )
    return ""
