"""Calibration: counts, derived hourly flows, GEH and the calibration report.

``report`` (matplotlib) is not imported here; use ``intergreen.calibration.report``.
"""

from intergreen.calibration.counts import (
    CountsError,
    load_counts,
    read_counts_csv,
    read_tfgm_atc,
    validate_counts,
    write_counts,
)
from intergreen.calibration.flows import (
    HourlyProfile,
    load_tra0307,
    tra0307_weekday_profile,
    weekday_hourly_flows,
)
from intergreen.calibration.geh import GehSummary, geh, geh_summary

__all__ = [
    "CountsError",
    "GehSummary",
    "HourlyProfile",
    "geh",
    "geh_summary",
    "load_counts",
    "load_tra0307",
    "read_counts_csv",
    "read_tfgm_atc",
    "tra0307_weekday_profile",
    "validate_counts",
    "weekday_hourly_flows",
    "write_counts",
]
