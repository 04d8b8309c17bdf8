"""Calibrated demand profiles: hourly approach flows from counts, the rest from assumptions.

Counted arms take their weekday-mean hourly flow (veh/h) from the counts, times a scale
factor; arms without counts (the side roads of gm_a56) take the flow that the junction's
``demand.yaml`` arm shares give them relative to the counted arms, hour by hour; every
arm is split into movements by the ``demand.yaml`` turning proportions (assumptions: no
public turning counts exist for a Greater Manchester junction).

For gm_a56 the counts are TfGM loop site 1415 on the A56 Chester Road: its north-east
direction (two lanes, northbound) is the traffic arriving on the junction's S arm, its
south-west direction (one lane, southbound) the traffic arriving on the N arm. The site
carries more than the study's junction (peak 2,899 veh/h on the main road against the
study's highest level of 2,400 veh/h into the whole junction), so the flows are scaled
by one factor for the whole day: the busiest hour's junction total becomes the study's
highest level, ``high_v1`` = 2,400 veh/h (``scale="auto"``, which never scales up). The
study's levels are its stated totals (1714, 2117, 2400 veh/h): version ``v1`` of gm_a56's
``demand.yaml`` (:func:`study_levels`), not the current levels, which are set by what System D
waits.

Run ``python -m intergreen.calibration.demand_profiles`` to (re)write the shipped
profiles in ``intergreen/junctions/library/gm_a56/demands/``.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from intergreen.calibration.counts import load_counts, source_prefix
from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.flows import WEEKDAYS, gm_data_dir, weekday_hourly_flows
from intergreen.calibration.holdout import split_counts
from intergreen.calibration.vehicle_mix import site_vehicle_mix
from intergreen.common import atomic_write
from intergreen.junctions.demand import (
    DemandAssumptions,
    DemandProfile,
    Period,
    check_plausible,
    junction_folder,
    load_assumptions,
)
from intergreen.junctions.spec import JunctionSpec

__all__ = [
    "DEFAULT_APPROACH_MAPS",
    "PROFILE_HOURS",
    "STUDY_VERSION",
    "CalibratedDemand",
    "LEAVE_OUT",
    "CalibrationError",
    "approach_map_text",
    "arm_hourly_flows",
    "build_profile",
    "calibrate_demand",
    "calibrated_from_flows",
    "calibrated_levels",
    "default_approach_map",
    "mapped_flows",
    "parse_approach_map",
    "profile_hours",
    "resolve_scale",
    "save_profile",
    "study_levels",
]

PROFILE_HOURS: dict[str, tuple[int, int]] = {
    "weekday": (0, 24),
    "am_peak": (7, 10),
    "pm_peak": (15, 19),
}
"""Named profiles: clock hours [first, last) of an average weekday."""

DEFAULT_APPROACH_MAPS: dict[tuple[str, str], dict[str, str]] = {
    # site 1415: NE = northbound, arriving on the S arm; SW = southbound, on the N arm
    ("gm_a56", "1415"): {"NorthEast": "S", "SouthWest": "N"},
    ("gm_a56", "1083"): {"North": "S", "South": "N"},
}
"""Count direction -> junction arm, per (junction, TfGM site), used when none is given."""

GM_A56_SITE = "1415"
SHIPPED_COUNTS = "tfgm_atc_chester_road/rawpvr_2018_02_01_28d_1415.csv"


@dataclass(frozen=True)
class CalibratedDemand:
    """A calibrated profile and the figures behind it."""

    profile: DemandProfile
    first_hour: int
    """Clock hour of period 0 (periods are one hour each)."""
    observed: pd.DataFrame
    """Counted weekday-mean flows (veh/h, unscaled): index hour, one column per counted arm."""
    scale: float
    approach_map: dict[tuple[str, str], str]
    """(site, direction) -> arm."""
    arm_flows: pd.DataFrame = field(repr=False)
    """Scaled approach flows of every arm (veh/h): index hour, one column per arm."""
    scale_note: str = ""
    """Why the flows are scaled by ``scale``, in one sentence."""

    @property
    def targets(self) -> pd.DataFrame:
        """The counted arms' scaled flows, the calibration targets (veh/h)."""
        return self.observed * self.scale

    def count_label(self, arm: str) -> tuple[str, str]:
        """(site, direction) counted on an arm."""
        return next(k for k, v in self.approach_map.items() if v == arm)


def profile_hours(profile: str) -> tuple[int, int]:
    """Clock hours [first, last) of a named profile or a range ``H1-H2`` (e.g. ``7-10``)."""
    if profile in PROFILE_HOURS:
        return PROFILE_HOURS[profile]
    m = re.fullmatch(r"\s*(\d{1,2})\s*-\s*(\d{1,2})\s*", profile)
    if m and 0 <= int(m.group(1)) < int(m.group(2)) <= 24:
        return int(m.group(1)), int(m.group(2))
    raise CalibrationError(
        f"unknown profile {profile!r}: use {', '.join(PROFILE_HOURS)} or clock hours such as 7-10"
    )


def parse_approach_map(text: str | None) -> dict[str, str] | None:
    """``NorthEast=S,SouthWest=N`` -> ``{"NorthEast": "S", "SouthWest": "N"}``."""
    if text is None or not text.strip():
        return None
    out: dict[str, str] = {}
    for item in text.split(","):
        key, sep, arm = item.partition("=")
        if not sep or not key.strip() or not arm.strip():
            raise CalibrationError(
                f"--approach-map {text!r}: expected DIRECTION=ARM pairs separated by commas, "
                "e.g. NorthEast=S,SouthWest=N"
            )
        out[key.strip()] = arm.strip()
    return out


LEAVE_OUT = "-"
"""``--approach-map DIRECTION=-``: leave a counted direction out of the calibration on purpose
(e.g. the traffic leaving the junction at a link count)."""


def default_approach_map(spec: JunctionSpec, site: str) -> dict[str, str]:
    """The built-in count direction -> arm map of a TfGM ``site`` for ``spec`` (empty where there
    is none). A variant (``extends:``) uses its base's, as it uses its base's demand files."""
    folder = junction_folder(spec)
    names = [spec.name] + ([folder.name] if folder is not None else [])
    return next(
        (DEFAULT_APPROACH_MAPS[(n, site)] for n in names if (n, site) in DEFAULT_APPROACH_MAPS), {}
    )


def _explicit_map(
    spec: JunctionSpec, keys: Sequence[tuple[str, str]], approach_map: Mapping[str, str]
) -> dict[tuple[str, str], str]:
    """(site, direction) -> arm from ``--approach-map``, which must name every counted
    direction: an arm, or :data:`LEAVE_OUT` to leave it out on purpose."""
    bad = {k: v for k, v in approach_map.items() if v not in spec.arms and v != LEAVE_OUT}
    if bad:
        raise CalibrationError(
            f"--approach-map: {', '.join(f'{k}={v}' for k, v in bad.items())}: no such arm "
            f"of {spec.name} (arms: {', '.join(spec.arms)}; {LEAVE_OUT} leaves a direction out)"
        )
    out: dict[tuple[str, str], str] = {}
    unmapped: list[tuple[str, str]] = []
    for site, direction in keys:
        arm = approach_map.get(f"{site}:{direction}", approach_map.get(direction))
        if arm is None:
            unmapped.append((site, direction))
        else:
            out[(site, direction)] = arm
    unused = set(approach_map) - {d for _, d in out} - {f"{s}:{d}" for s, d in out}
    if unused:
        have = ", ".join(sorted({d for _, d in keys}))
        raise CalibrationError(
            f"--approach-map names direction(s) {', '.join(sorted(unused))} that are not in "
            f"the counts (directions: {have})"
        )
    if unmapped:
        given = ",".join(f"{k}={v}" for k, v in approach_map.items())
        missing = ", ".join(f"site {s} {d}" for s, d in unmapped)
        more = ",".join(f"{d}=ARM" for _, d in unmapped)
        raise CalibrationError(
            f"--approach-map {given} leaves counted direction(s) {missing} without an arm, "
            f"which would drop their counts: map every counted direction, e.g. --approach-map "
            f"{given},{more} (arms: {', '.join(spec.arms)}), or leave one out on purpose with "
            f"DIRECTION={LEAVE_OUT}"
        )
    return {k: arm for k, arm in out.items() if arm != LEAVE_OUT}


def _column_map(
    spec: JunctionSpec,
    pairs: pd.DataFrame,
    keys: Sequence[tuple[str, str]],
    source: str | Path | None,
) -> dict[tuple[str, str], str]:
    """(site, direction) -> arm from the counts' ``approach`` column, where it names an arm,
    else from the built-in map of the site (:func:`default_approach_map`) where the column
    holds no arm, only the direction of travel (as a TfGM export's does)."""
    out: dict[tuple[str, str], str] = {}
    unmapped: list[tuple[str, str]] = []
    for site, direction in keys:
        rows = pairs[(pairs["site"] == site) & (pairs["direction"] == direction)]
        approaches = sorted(set(rows["approach"]))
        if len(approaches) == 1 and approaches[0] in spec.arms:
            out[(site, direction)] = approaches[0]
            continue
        wrong = [a for a in approaches if a != direction and a not in spec.arms]
        if wrong or len(approaches) > 1:
            listed = ", ".join(repr(a) for a in (wrong or approaches))
            what = (
                f"which {'is not an arm' if len(wrong) == 1 else 'are not arms'} of {spec.name}"
                if wrong
                else "more than one arm"
            )
            raise CalibrationError(
                f"{source_prefix(source)}column 'approach' holds {listed} for site {site} "
                f"{direction}, {what} (arms: {', '.join(spec.arms)}): write the one arm that "
                f"traffic arrives on, or map the direction with --approach-map {direction}=ARM"
            )
        default = default_approach_map(spec, site)
        if direction in default:
            out[(site, direction)] = default[direction]
        else:
            unmapped.append((site, direction))
    if unmapped:
        missing = ", ".join(f"site {s} {d}" for s, d in unmapped)
        raise CalibrationError(
            f"cannot tell which arm of {spec.name} the counted direction(s) {missing} arrive "
            f"on: give --approach-map DIRECTION=ARM,... for every counted direction (arms: "
            f"{', '.join(spec.arms)}; DIRECTION={LEAVE_OUT} leaves one out), name the arm in the "
            "counts' 'approach' column, or choose a site with --site"
        )
    return out


def _resolve_map(
    spec: JunctionSpec,
    counts: pd.DataFrame,
    approach_map: Mapping[str, str] | None,
    source: str | Path | None = None,
) -> dict[tuple[str, str], str]:
    """(site, direction) -> arm for every counted direction: from ``approach_map`` (which must
    name them all), else from the counts' ``approach`` column or the site's built-in map. A
    direction that none of them places is an error, never dropped (only ``DIRECTION=-`` in
    ``approach_map`` leaves one out)."""
    pairs = counts[["site", "direction", "approach"]].drop_duplicates()
    keys = sorted(
        {(str(s), str(d)) for s, d in zip(pairs["site"], pairs["direction"], strict=True)}
    )
    if approach_map is not None:
        out = _explicit_map(spec, keys, approach_map)
        if not out:
            raise CalibrationError(
                f"--approach-map {','.join(f'{k}={v}' for k, v in approach_map.items())} "
                "leaves every counted direction out; map at least one to an arm"
            )
    else:
        out = _column_map(spec, pairs, keys, source)
    by_arm: dict[str, list[str]] = {}
    for (site, direction), arm in out.items():
        by_arm.setdefault(arm, []).append(f"site {site} {direction}")
    dup = {a: v for a, v in by_arm.items() if len(v) > 1}
    if dup:
        arm, where = next(iter(dup.items()))
        raise CalibrationError(
            f"arm {arm} is counted more than once ({', '.join(where)}); map one count per arm "
            "with --approach-map or choose a site with --site"
        )
    return out


def arm_hourly_flows(
    spec: JunctionSpec,
    counts: pd.DataFrame,
    approach_map: Mapping[str, str] | None = None,
    site: str | None = None,
    source: str | Path | None = None,
) -> tuple[pd.DataFrame, dict[tuple[str, str], str]]:
    """Weekday-mean hourly flows (veh/h) per counted arm, and the (site, direction) map.

    Only complete hours enter (see :func:`weekday_hourly_flows`); counts that hold no
    weekday fall back to the mean over all their days. ``source`` (the counts file) is named
    in errors.
    """
    if site is not None:
        site = str(site).lstrip("0") or "0"
        if site not in set(counts["site"]):
            raise CalibrationError(
                f"--site {site}: not in the counts "
                f"(sites: {', '.join(sorted(set(counts['site'])))})"
            )
        counts = counts[counts["site"] == site]
    mapping = _resolve_map(spec, counts, approach_map, source)
    flows = _weekday_or_all_days(counts, source)
    table = {}
    for (s, d), arm in mapping.items():
        rows = flows[(flows["site"] == s) & (flows["direction"] == d)]
        table[arm] = rows.set_index("hour")["mean_veh_h"]
    frame = pd.DataFrame(table).sort_index()
    frame.index.name = "hour"
    return frame[[a for a in spec.arms if a in frame.columns]], mapping


def approach_map_text(mapping: Mapping[tuple[str, str], str]) -> str:
    """``mapping`` ((site, direction) -> arm) as text, by arm: ``site 1415 SouthWest -> N, ...``."""
    return ", ".join(
        f"site {s} {d} -> {arm}" for (s, d), arm in sorted(mapping.items(), key=lambda x: x[1])
    )


def _weekday_or_all_days(counts: pd.DataFrame, source: str | Path | None) -> pd.DataFrame:
    """Direction totals of :func:`weekday_hourly_flows` over the weekdays, or over every day
    where the counts hold no weekday."""
    if counts["interval_start"].dt.day_of_week.isin(WEEKDAYS).any():
        return weekday_hourly_flows(counts, per_lane=False, source=source)
    return weekday_hourly_flows(counts, weekdays=range(7), per_lane=False, source=source)


def mapped_flows(
    counts: pd.DataFrame,
    mapping: Mapping[tuple[str, str], str],
    source: str | Path | None = None,
) -> pd.DataFrame:
    """Weekday-mean hourly flows (veh/h) of ``counts`` per arm, through a fixed map.

    ``mapping`` is (site, direction) -> arm, e.g. a :class:`CalibratedDemand`'s
    ``approach_map``: other counts (held-out days) land on the same arms. Arms whose
    direction is not in ``counts`` are left out. Index: clock hour.
    """
    pairs = zip(counts["site"], counts["direction"], strict=True)
    counts = counts[[pair in mapping for pair in pairs]]
    if counts.empty:
        raise CalibrationError(
            "the held-out counts hold none of the counted directions "
            f"({', '.join(f'site {s} {d}' for s, d in mapping)})"
        )
    flows = _weekday_or_all_days(counts, source)
    table = {}
    for (site, direction), arm in mapping.items():
        rows = flows[(flows["site"] == site) & (flows["direction"] == direction)]
        if not rows.empty:
            table[arm] = rows.set_index("hour")["mean_veh_h"]
    frame = pd.DataFrame(table).sort_index()
    frame.index.name = "hour"
    return frame


def _junction_totals(observed: pd.DataFrame, a: DemandAssumptions) -> pd.Series:
    """Hourly veh/h into the junction when uncounted arms follow the arm shares."""
    counted_share = sum(a.arm_shares[arm] for arm in observed.columns)
    return observed.sum(axis=1) / counted_share


#: The version of a demand.yaml whose levels the calibration scales to and names
#: ``*_calibrated``: gm_a56's ``v1``, the study's stated totals.
STUDY_VERSION = "v1"


def study_levels(a: DemandAssumptions) -> dict[str, float]:
    """The levels the calibration uses (veh/h by name): those of version :data:`STUDY_VERSION`
    where the demand.yaml has it, else its current levels."""
    return a.versions[STUDY_VERSION].levels if STUDY_VERSION in a.versions else a.levels


def resolve_scale(observed: pd.DataFrame, a: DemandAssumptions, scale: str | float) -> float:
    """The scale factor: a number, or ``auto`` = min(1, highest level / busiest hour's total)."""
    if isinstance(scale, str) and scale.strip().lower() != "auto":
        try:
            scale = float(scale)
        except ValueError:
            raise CalibrationError(f"--scale {scale!r}: give a number > 0 or 'auto'") from None
    if isinstance(scale, str):
        levels = study_levels(a)
        if not levels:
            return 1.0
        peak = float(_junction_totals(observed, a).max())
        return min(1.0, max(levels.values()) / peak) if peak > 0 else 1.0
    if not (np.isfinite(scale) and scale > 0):
        raise CalibrationError(f"--scale {scale}: give a number > 0 or 'auto'")
    return float(scale)


def _scale_target(a: DemandAssumptions) -> tuple[str, float, str]:
    """The level ``auto`` scales to: (its name as demands are named, veh/h, where it comes from).

    The name carries the version suffix (``high_v1``) when :data:`STUDY_VERSION` is used.
    """
    levels = study_levels(a)
    top = max(levels, key=lambda n: levels[n])
    if STUDY_VERSION not in a.versions:
        return top, levels[top], "the junction's current levels in demand.yaml"
    current = a.levels.get(top)
    now = "" if current is None else f"; the current {top} is {current:,.0f} veh/h"
    return (
        f"{top}_{STUDY_VERSION}",
        levels[top],
        f"version {STUDY_VERSION} of demand.yaml, the study's stated totals{now}",
    )


def scale_note(observed: pd.DataFrame, a: DemandAssumptions, scale: str | float, k: float) -> str:
    """One sentence saying why the counts are multiplied by ``k``, with the level it scales to."""
    if not (isinstance(scale, str) and scale.strip().lower() == "auto"):
        return f"Counts x {k:.4f}: the scale given by --scale."
    if not study_levels(a):
        return "Counts x 1 (auto: the junction's demand.yaml has no levels to scale to)."
    name, target, origin = _scale_target(a)
    if k == 1.0:
        return (
            f"Counts x 1 (auto: the busiest hour is within the highest level, {name} = "
            f"{target:,.0f} veh/h; {origin})."
        )
    totals = _junction_totals(observed, a)
    hour, peak = int(totals.idxmax()), float(totals.max())
    return (
        f"Counts x {k:.4f} (scaled): the counted road carries more than the modelled junction, "
        f"so the busiest counted hour ({hour:02d}:00-{hour + 1:02d}:00, {peak:,.0f} veh/h into "
        f"the junction with the uncounted arms at their demand.yaml shares) becomes the highest "
        f"level, {name} = {target:,.0f} veh/h ({origin}; auto scale, one factor for every hour)."
    )


def _split(total: float, shares: Mapping[str, float]) -> dict[str, float]:
    return {turn: total * p for turn, p in shares.items() if p > 0}


def build_profile(
    spec: JunctionSpec,
    arm_flows: pd.DataFrame,
    hours: tuple[int, int],
    name: str,
    source: str,
    assumptions: DemandAssumptions | None = None,
    vehicle_mix: Mapping[str, float] | None = None,
) -> DemandProfile:
    """One 3600 s period per clock hour in ``hours``; movements split by the turning shares."""
    a = assumptions or load_assumptions(spec)
    periods = []
    for i, hour in enumerate(range(*hours)):
        flows: dict[str, float] = {}
        for arm in spec.arms:
            for turn, v in _split(float(arm_flows.loc[hour, arm]), a.turning[arm]).items():
                flows[f"{arm}.{turn}"] = round(v, 2)
        periods.append(Period(begin=i * 3600, end=(i + 1) * 3600, flows=flows))
    mix = None if vehicle_mix is None else dict(vehicle_mix)
    return DemandProfile(name=name, periods=periods, source=source, vehicle_mix=mix)


def _complete_arm_flows(
    observed: pd.DataFrame, a: DemandAssumptions, arms: Sequence[str], scale: float
) -> pd.DataFrame:
    """Scaled counted arms plus the uncounted arms from the arm shares (veh/h)."""
    counted_share = sum(a.arm_shares[arm] for arm in observed.columns)
    main = observed.sum(axis=1) * scale
    out = pd.DataFrame(index=observed.index)
    for arm in arms:
        if arm in observed.columns:
            out[arm] = observed[arm] * scale
        else:
            out[arm] = main * a.arm_shares[arm] / counted_share
    return out


def calibrate_demand(
    spec: JunctionSpec,
    counts: pd.DataFrame,
    profile: str = "weekday",
    name: str | None = None,
    approach_map: Mapping[str, str] | None = None,
    site: str | None = None,
    scale: str | float = "auto",
    counts_label: str = "counts",
    vehicle_mix: Mapping[str, float] | None = None,
) -> CalibratedDemand:
    """A calibrated demand profile of ``spec`` from long-format ``counts``.

    ``vehicle_mix``: shares of vehicle types for the profile (None = cars only).
    """
    observed, mapping = arm_hourly_flows(spec, counts, approach_map, site)
    return calibrated_from_flows(
        spec, observed, mapping, profile, name, scale, counts_label, vehicle_mix
    )


def _scale_source(scale: str | float, k: float) -> str:
    """Where a profile's scale came from, for its ``source``."""
    if str(scale) != "auto":
        return "given"
    if k < 1:
        return "auto: busiest hour = the highest study level"
    return "auto: the busiest hour is below the highest study level, and auto never scales up"


def calibrated_from_flows(
    spec: JunctionSpec,
    observed: pd.DataFrame,
    mapping: Mapping[tuple[str, str], str],
    profile: str = "weekday",
    name: str | None = None,
    scale: str | float = "auto",
    counts_label: str = "counts",
    vehicle_mix: Mapping[str, float] | None = None,
    mix_note: str | None = None,
) -> CalibratedDemand:
    """A calibrated demand from hourly flows per counted arm (veh/h, index clock hour).

    ``observed`` is what :func:`arm_hourly_flows` returns; ``mapping`` the (site,
    direction) -> arm map it was built with. The profile covers the hours of
    ``profile``; every one of them must be in ``observed``. ``mix_note``: the sentence on
    where ``vehicle_mix`` comes from, for the profile's ``source`` (default: the shares, as
    measured at the shipped site, data/PROVENANCE.md).
    """
    a = load_assumptions(spec)
    hours = profile_hours(profile)
    wanted = list(range(*hours))
    missing = {
        arm: [h for h in wanted if h not in observed.index or pd.isna(observed.loc[h, arm])]
        for arm in observed.columns
    }
    missing = {k: v for k, v in missing.items() if v}
    if missing:
        arm, hrs = next(iter(missing.items()))
        raise CalibrationError(
            f"{counts_label}: no complete hourly counts for arm {arm} at clock hour(s) "
            f"{', '.join(map(str, hrs[:8]))}{' ...' if len(hrs) > 8 else ''}; profile "
            f"{profile!r} needs hours {hours[0]}-{hours[1]} (choose --profile H1-H2 within the "
            "counted hours)"
        )
    k = resolve_scale(observed.dropna(), a, scale)
    arm_flows = _complete_arm_flows(observed.loc[wanted], a, list(spec.arms), k)
    counted = approach_map_text(mapping)
    uncounted = [arm for arm in spec.arms if arm not in observed.columns]
    mix_text = mix_note or (
        "Vehicles: cars only."
        if vehicle_mix is None
        else "Vehicle mix: "
        + ", ".join(f"{t} {100 * v:.2f}%" for t, v in vehicle_mix.items())
        + " (see data/PROVENANCE.md)."
    )
    source = (
        f"Calibrated by intergreen.calibration from {counts_label}: weekday-mean hourly flows, "
        f"{counted}; scale {k:.4f} "
        f"({_scale_source(scale, k)}). "
        f"Period 0 starts at {hours[0]:02d}:00, one period per hour to {hours[1]:02d}:00. "
        + (
            f"Arms {', '.join(uncounted)} are not counted: their flows follow "
            f"{spec.name}/demand.yaml arm shares relative to the counted arms (assumption). "
            if uncounted
            else ""
        )
        + f"Turning proportions from {spec.name}/demand.yaml (assumptions: no public turning "
        "counts exist). " + mix_text
    )
    prof = build_profile(spec, arm_flows, hours, name or profile, source, a, vehicle_mix)
    # a scale no junction could carry (--scale 1e9) is refused before SUMO is asked to route it
    check_plausible(spec, prof, f"--scale {k:g}")
    return CalibratedDemand(
        profile=prof,
        first_hour=hours[0],
        observed=observed.loc[wanted],
        scale=k,
        approach_map=dict(mapping),
        arm_flows=arm_flows,
        scale_note=scale_note(observed.dropna(), a, scale, k),
    )


def calibrated_levels(
    spec: JunctionSpec,
    observed: pd.DataFrame,
    suffix: str = "_calibrated",
    vehicle_mix: Mapping[str, float] | None = None,
) -> list[DemandProfile]:
    """The study's levels (:func:`study_levels`) with their totals and the counted arms'
    daily split between them.

    Counted arms together keep their ``demand.yaml`` share of the total, split by their
    shares of the counted daily volume; the other arms keep their shares.
    """
    a = load_assumptions(spec)
    counted_share = sum(a.arm_shares[arm] for arm in observed.columns)
    daily = observed.sum()
    split = daily / daily.sum()
    shares = {
        arm: (counted_share * float(split[arm]) if arm in observed.columns else a.arm_shares[arm])
        for arm in spec.arms
    }
    text = ", ".join(f"{arm} {100 * shares[arm]:.1f}%" for arm in spec.arms)
    out = []
    for level, total in study_levels(a).items():
        flows = {
            f"{arm}.{turn}": round(v, 2)
            for arm in spec.arms
            for turn, v in _split(total * shares[arm], a.turning[arm]).items()
        }
        out.append(
            DemandProfile(
                name=f"{level}{suffix}",
                periods=[Period(begin=0, end=a.duration, flows=flows)],
                source=(
                    f"The study's {level} level ({total:g} veh/h into the junction, constant "
                    f"for {a.duration:g} s) with arm shares {text}: the counted arms' "
                    f"{100 * counted_share:.0f}% split by their weekday daily volumes "
                    f"({', '.join(f'{arm} {daily[arm]:.0f} veh' for arm in observed.columns)}); "
                    f"other shares and turning from {spec.name}/demand.yaml (assumptions)."
                ),
                vehicle_mix=None if vehicle_mix is None else dict(vehicle_mix),
            )
        )
    return out


def profile_yaml(profile: DemandProfile) -> str:
    """The profile as YAML that :func:`intergreen.junctions.demand.load_profile` reads."""
    data = profile.model_dump()
    if data.get("vehicle_mix") is None:
        data.pop("vehicle_mix", None)  # cars only: the file stays as before mixes existed
    for p in data["periods"]:
        p["begin"], p["end"] = float(p["begin"]), float(p["end"])
        for key in [k for k, v in p.items() if k != "flows" and v == {}]:
            del p[key]  # optional fields left empty (e.g. pedestrians)
    return yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)


def save_profile(profile: DemandProfile, path: Path) -> Path:
    """Write a profile YAML atomically (temporary file, then rename)."""
    atomic_write(path, profile_yaml(profile))
    return path


def gm_a56_profiles(counts_path: Path | None = None) -> list[DemandProfile]:
    """The shipped gm_a56 profiles: weekday, am_peak, pm_peak and the calibrated levels.

    Fitted on the fit days of site 1415 (:func:`~intergreen.calibration.holdout.split_counts`,
    ``auto``: weekdays 1-14 February 2018), so that the held-out weekdays validate them;
    vehicles in the mix of the same days' class counts
    (:func:`~intergreen.calibration.vehicle_mix.site_vehicle_mix`).
    """
    from intergreen.junctions.catalog import resolve_junction

    spec = resolve_junction("gm_a56")
    path = counts_path or gm_data_dir() / SHIPPED_COUNTS
    split = split_counts(load_counts(f"tfgm:{path}"))
    mix = site_vehicle_mix(path, site=GM_A56_SITE, days=split.fit_days)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    label = (
        f"TfGM loop site 1415, A56 Chester Road, {split.describe()} (../shared/data/"
        f"greater_manchester/{SHIPPED_COUNTS}, sha256 {digest}...; "
        "data/gm_chester_road_holdout_hourly.csv)"
    )
    out = []
    for name in PROFILE_HOURS:
        cal = calibrate_demand(
            spec, split.fit, name, site=GM_A56_SITE, counts_label=label, vehicle_mix=mix
        )
        out.append(cal.profile)
    full = calibrate_demand(spec, split.fit, "weekday", site=GM_A56_SITE, counts_label=label)
    out += calibrated_levels(spec, full.observed, vehicle_mix=mix)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Write the shipped gm_a56 profiles; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m intergreen.calibration.demand_profiles",
        description="Write gm_a56's calibrated demand profiles.",
    )
    folder = junction_folder_of("gm_a56") / "demands"
    parser.add_argument("--out-dir", type=Path, default=folder)
    parser.add_argument("--counts", type=Path, default=None, help="TfGM export of site 1415")
    args = parser.parse_args(argv)
    for profile in gm_a56_profiles(args.counts):
        path = save_profile(profile, args.out_dir / f"{profile.name}.yaml")
        totals = [p.total for p in profile.periods]
        print(f"wrote {path} ({len(totals)} periods, {min(totals):.0f}-{max(totals):.0f} veh/h)")
    return 0


def junction_folder_of(name: str) -> Path:
    """The library folder of a shipped junction."""
    from intergreen.junctions.catalog import resolve_junction

    folder = junction_folder(resolve_junction(name))
    if folder is None:
        raise CalibrationError(f"junction {name!r} is not shipped in the library")
    return folder


if __name__ == "__main__":
    raise SystemExit(main())
