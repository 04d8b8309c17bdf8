"""Derived flows: weekday-mean hourly flows from counts, and the DfT TRA0307 hourly profile.

Hourly flows are in vehicles per hour (veh/h). A day-hour enters a mean only when it is
complete: its intervals cover the full 60 minutes and, for a direction total, every lane
of that direction was counted. So a gap lowers ``n_days`` instead of biasing the mean.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from intergreen.calibration.counts import CountsError, source_prefix, validate_counts

__all__ = [
    "ALL_LANES",
    "CHESTER_ROAD_SITES",
    "WEEKDAYS",
    "HourlyProfile",
    "gm_data_dir",
    "load_tra0307",
    "tra0307_weekday_profile",
    "weekday_hourly_flows",
]

ALL_LANES = "all"
"""The ``lane`` value of a direction total (the sum of its lanes)."""
WEEKDAYS: tuple[int, ...] = (0, 1, 2, 3, 4)
"""Monday to Friday as ``datetime.weekday()`` numbers."""
CHESTER_ROAD_SITES: tuple[str, ...] = ("1083", "1415")
DAY_NAMES: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
FLOW_COLUMNS: tuple[str, ...] = (
    "site",
    "direction",
    "lane",
    "n_lanes",
    "hour",
    "mean_veh_h",
    "std_veh_h",
    "n_days",
)


def gm_data_dir() -> Path:
    """The shared Greater Manchester data folder (``$INTERGREEN_GM_DATA`` overrides it).

    By default ``../shared/data/greater_manchester`` next to the project root.
    """
    env = os.environ.get("INTERGREEN_GM_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "greater_manchester"


def _hourly_day_flows(counts: pd.DataFrame, where: str = "") -> pd.DataFrame:
    """Per site/direction/lane/day/hour vehicle counts and the minutes counted in that hour
    (``count``, ``minutes``); an hour is complete where ``minutes`` is 60. ``where``
    (``"FILE: "`` or empty) starts the error messages."""
    if (counts["interval_minutes"] > 60).any() or (60 % counts["interval_minutes"] != 0).any():
        bad = sorted(set(counts.loc[60 % counts["interval_minutes"] != 0, "interval_minutes"]))
        raise CountsError(
            f"{where}interval_minutes {bad} do not divide an hour; hourly flows need intervals "
            "of 60 minutes or a divisor of 60 (e.g. 15)"
        )
    frame = counts.copy()
    start = frame["interval_start"]
    misaligned = start != start.dt.floor(pd.Timedelta(minutes=1))
    hour_start = start.dt.floor("h")
    crosses = start + pd.to_timedelta(frame["interval_minutes"], unit="min") > hour_start + (
        pd.Timedelta(hours=1)
    )
    if (misaligned | crosses).any():
        raise CountsError(
            f"{where}some intervals straddle a clock hour (e.g. starting "
            f"{start[misaligned | crosses].iloc[0]}); hourly flows need intervals aligned "
            "to the hour"
        )
    frame["day"] = hour_start.dt.normalize()
    frame["hour"] = hour_start.dt.hour
    keys = ["site", "direction", "lane", "day", "hour"]
    grouped = frame.groupby(keys, sort=True).agg(
        count=("count", "sum"),
        minutes=("interval_minutes", "sum"),
        intervals=("interval_minutes", "size"),
        interval=("interval_minutes", "min"),
    )
    return grouped.reset_index()


def _no_complete_hour(day_flows: pd.DataFrame, where: str) -> CountsError:
    """The error for counts on the chosen days none of whose clock hours is fully counted:
    where the intervals do not tile an hour (e.g. hourly rows declared 15 minutes long), say
    so with an example."""
    if day_flows.empty:
        return CountsError(f"{where}no counts on the chosen days (Monday-Friday, or every day)")
    r = day_flows.iloc[0]
    lane = f" lane {r['lane']}" if r["lane"] else ""
    return CountsError(
        f"{where}no clock hour is fully counted: the intervals do not tile the hour (e.g. "
        f"site {r['site']} {r['direction']}{lane} on {r['day']:%Y-%m-%d} at "
        f"{int(r['hour']):02d}:00 has {int(r['intervals'])} interval(s) of "
        f"{int(r['interval'])} min, {int(r['minutes'])} of 60 minutes); give every hour all of "
        f"its intervals ({60 // int(r['interval'])} of {int(r['interval'])} min), or, for "
        "hourly counts, interval_minutes 60"
    )


def weekday_hourly_flows(
    counts: pd.DataFrame,
    sites: Collection[str] | None = None,
    weekdays: Iterable[int] = WEEKDAYS,
    exclude_dates: Iterable[date] = (),
    per_lane: bool = True,
    source: str | Path | None = None,
) -> pd.DataFrame:
    """Mean hourly flow (veh/h) over the chosen weekdays, per site and direction.

    Each row is one site / direction / lane / hour with the mean over days, the sample
    standard deviation (ddof=1, NaN with one day) and ``n_days``. ``lane`` is
    :data:`ALL_LANES` for the direction total (the sum of its lanes, from days where
    every lane was counted); with ``per_lane`` the single lanes follow. ``exclude_dates``
    removes e.g. bank holidays; ``weekdays`` are ``datetime.weekday()`` numbers. ``source``
    (the counts file) starts the error messages.
    """
    where = source_prefix(source)
    counts = validate_counts(counts, source)
    if sites is not None:
        wanted = {str(s) for s in sites}
        missing = wanted - set(counts["site"])
        if missing:
            raise CountsError(
                f"site(s) {sorted(missing)} not in the counts (have {sorted(set(counts['site']))})"
            )
        counts = counts[counts["site"].isin(wanted)]
    day_flows = _hourly_day_flows(counts, where)
    keep_days = set(weekdays)
    excluded = {pd.Timestamp(d) for d in exclude_dates}
    day_flows = day_flows[
        day_flows["day"].dt.day_of_week.isin(keep_days) & ~day_flows["day"].isin(excluded)
    ]
    complete = day_flows["minutes"] == 60
    if not complete.any():
        raise _no_complete_hour(day_flows, where)
    day_flows = day_flows.loc[complete, ["site", "direction", "lane", "day", "hour", "count"]]

    lanes_per_dir = day_flows.groupby(["site", "direction"])["lane"].nunique()
    totals = day_flows.groupby(["site", "direction", "day", "hour"]).agg(
        count=("count", "sum"), lanes=("lane", "nunique")
    )
    expected = lanes_per_dir.reindex(totals.index.droplevel(["day", "hour"])).to_numpy()
    totals = totals[totals["lanes"].to_numpy() == expected].reset_index()
    totals["lane"] = ALL_LANES
    parts = [totals.drop(columns="lanes")]
    if per_lane:
        parts.append(day_flows)
    every = pd.concat(parts, ignore_index=True)

    stats = (
        every.groupby(["site", "direction", "lane", "hour"], sort=False)["count"]
        .agg(mean_veh_h="mean", std_veh_h="std", n_days="count")
        .reset_index()
    )
    stats["n_lanes"] = np.where(
        stats["lane"] == ALL_LANES,
        lanes_per_dir.reindex(pd.MultiIndex.from_frame(stats[["site", "direction"]])).to_numpy(),
        1,
    )
    stats["_single_lane"] = stats["lane"] != ALL_LANES
    stats = stats.sort_values(["site", "direction", "_single_lane", "lane", "hour"], kind="stable")
    return stats[list(FLOW_COLUMNS)].reset_index(drop=True)


@dataclass(frozen=True)
class HourlyProfile:
    """An hour-of-day traffic index (24 values, hour 0 = 00:00-01:00).

    Calling it with an hour returns the index (hours wrap modulo 24). ``shares`` are the
    fractions of the daily total per hour; ``scaled_to`` turns a daily total into veh/h.
    """

    index: tuple[float, ...]
    label: str = ""

    def __post_init__(self) -> None:
        if len(self.index) != 24:
            raise ValueError(f"an hourly profile needs 24 values, got {len(self.index)}")
        if any(not np.isfinite(v) or v < 0 for v in self.index):
            raise ValueError("hourly profile values must be finite and >= 0")
        if sum(self.index) <= 0:
            raise ValueError("hourly profile values must not all be zero")

    def __call__(self, hour: int) -> float:
        return self.index[int(hour) % 24]

    def shares(self) -> np.ndarray:
        """Share of the daily total in each hour (sums to 1)."""
        values = np.asarray(self.index, dtype=float)
        return values / values.sum()

    def scaled_to(self, daily_total: float, hours: Iterable[int] | None = None) -> np.ndarray:
        """Hourly flows (veh/h) with this shape that sum to ``daily_total``.

        With ``hours``, only those hours are returned and they sum to ``daily_total``
        (to compare with counts that cover part of the day).
        """
        values = np.asarray(self.index, dtype=float)
        if hours is not None:
            values = values[[int(h) % 24 for h in hours]]
        total = values.sum()
        return values * (daily_total / total) if total > 0 else np.zeros_like(values)


def load_tra0307(path: str | Path | None = None) -> pd.DataFrame:
    """Read DfT table TRA0307 (index by hour and day of week; weekly mean hour = 100).

    Returns a frame indexed by hour 0-23 with one column per day (``monday`` ...).
    """
    path = (
        Path(path)
        if path is not None
        else gm_data_dir() / "dft_tra0307" / "tra0307_hourly_index_by_weekday.csv"
    )
    if not path.is_file():
        raise CountsError(f"{path}: TRA0307 table not found; set INTERGREEN_GM_DATA or pass path")
    table = pd.read_csv(path)
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("hour", *DAY_NAMES) if c not in table.columns]
    if missing:
        raise CountsError(f"{path}: missing column(s) {missing}; expected hour, monday..sunday")
    table = table.set_index("hour")[list(DAY_NAMES)].astype(float).sort_index()
    if list(table.index) != list(range(24)):
        raise CountsError(f"{path}: column 'hour' must hold 0..23 once each")
    return table


def tra0307_weekday_profile(
    path: str | Path | None = None, days: Iterable[str] = DAY_NAMES[:5]
) -> HourlyProfile:
    """The mean TRA0307 index over ``days`` (Monday-Friday by default) as a profile."""
    table = load_tra0307(path)
    days = [d.lower() for d in days]
    unknown = [d for d in days if d not in table.columns]
    if unknown:
        raise ValueError(f"unknown day(s) {unknown}; use {', '.join(DAY_NAMES)}")
    mean = table[days].mean(axis=1)
    return HourlyProfile(tuple(float(v) for v in mean), label=f"DfT TRA0307 ({', '.join(days)})")
