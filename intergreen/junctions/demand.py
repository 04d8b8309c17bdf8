"""Traffic demand: named profiles of flows per movement, and SUMO route files.

A junction's ``demand.yaml`` states arm shares and turning proportions (as
assumptions until calibrated), named levels (total veh/h into the junction,
constant over ``duration``), the training range (``mixed``: a total per episode) and the
vehicle mix of all three. Earlier sets of levels stay under ``versions``: version ``v1``'s
levels, training range and totals are named with the suffix ``_v1`` (``low_v1``,
``mixed_v1``, ``1900vph_v1``) and keep their own vehicle mix (none: cars only), so that
results made with them stay reproducible. A demand may be named by a level (``medium``),
a total (``1900vph``), either with ``+peds`` to add the stated pedestrian flows
(``medium+peds``), a profile YAML path, or a profile saved by the calibration
(``<junction folder>/demands/NAME.yaml`` or ``$INTERGREEN_DATA/demands/JUNCTION/NAME.yaml``).

Arrivals are Poisson: each movement is a SUMO flow with exponential headways
(``period="exp(rate)"``), so the simulation seed draws the arrival times. Numbers go into the
route file in Python's shortest round-trip form, so SUMO reads exactly the value accepted.

Every demand is checked for plausibility before SUMO starts (:func:`check_plausible`): the
flow into each arm at most 3 times the saturation flow of its approach lanes (1800 veh/h per
lane), the total at most 3 times all approach lanes' saturation flow
(:mod:`intergreen.junctions.plausibility`), and pedestrians at most ``PEDESTRIAN_CEILING``
persons/h per crossing.
Beyond that SUMO's insertion queue grows without bound (``--demand 100000000vph`` would
exhaust the memory), so such a demand is a unit or typing mistake and is refused.

Vehicles are one passenger-car type unless the profile (or the junction's
``demand.yaml``, for its levels and totals) names a ``vehicle_mix``: shares of the
types in :mod:`intergreen.junctions.vehicles` (``car``, ``van``, ``hgv``, ``bus``),
e.g. ``vehicle_mix: {car: 0.7956, van: 0.0911, hgv: 0.1110, bus: 0.0023}``; SUMO then
draws each vehicle's type from them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from intergreen.common import atomic_write
from intergreen.errors import did_you_mean, format_validation_error
from intergreen.junctions.catalog import junction_names, read_yaml, resolve_junction
from intergreen.junctions.network import approach_edge, cache_dir, crossing_arms, exit_edge
from intergreen.junctions.plausibility import check_flows
from intergreen.junctions.spec import TURNS, JunctionSpec, SpecError
from intergreen.junctions.vehicles import (
    VEHICLE_TYPE,
    check_vehicle_mix,
    vehicle_type_id,
    vtypes_xml,
)

#: persons/h per signalled crossing (half each way): SUMO draws a person flow's departures
#: with a probability per second, which cannot exceed 1 per way.
PEDESTRIAN_CEILING = 7200.0

VehicleMix = dict[str, float] | None
"""Shares of vehicle types (``car``, ``van``, ``hgv``, ``bus``); None = cars only."""


def _mix(value: VehicleMix) -> VehicleMix:
    return None if value is None else check_vehicle_mix(value)


class Period(BaseModel):
    """Constant flows (veh/h per movement ``ARM.turn``) from ``begin`` to ``end`` seconds,
    and optional pedestrians (persons/h crossing each arm, half each way)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    begin: float = Field(ge=0)
    end: float
    flows: dict[str, float]
    pedestrians: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Period:
        if self.end <= self.begin:
            raise ValueError(f"end ({self.end}) must be after begin ({self.begin})")
        for name, v in (("begin", self.begin), ("end", self.end)):
            if not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number of seconds, got {v}")
        for m, v in self.flows.items():
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"flows.{m}: flow must be a finite number >= 0 veh/h, got {v}")
        for arm, v in self.pedestrians.items():
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(
                    f"pedestrians.{arm}: flow must be a finite number >= 0 persons/h, got {v}"
                )
        return self

    @property
    def total(self) -> float:
        return sum(self.flows.values())


class DemandProfile(BaseModel):
    """A named demand: consecutive periods of constant flows."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    periods: list[Period] = Field(min_length=1)
    source: str = ""
    vehicle_mix: VehicleMix = None
    """Shares of vehicle types; None (the default) = the one passenger-car type."""

    _check_mix = field_validator("vehicle_mix")(_mix)
    # SUMO route files run as they are (a junction imported from a SUMO network), from SUMO
    # time ``sumo_begin`` (s); ``periods`` then only record the flows they bring
    route_files: tuple[str, ...] = ()
    sumo_begin: float = Field(default=0.0, ge=0)

    @property
    def duration(self) -> float:
        return self.periods[-1].end

    @property
    def has_pedestrians(self) -> bool:
        return any(v > 0 for p in self.periods for v in p.pedestrians.values())

    def digest(self) -> str:
        # fields at their defaults are left out, so that a digest stays what it was before
        # the field existed (vehicle mixes, route files)
        exclude = {"vehicle_mix"} if self.vehicle_mix is None else set()
        if not self.route_files and self.sumo_begin == 0:
            exclude |= {"route_files", "sumo_begin"}
        return hashlib.sha256(self.model_dump_json(exclude=exclude).encode()).hexdigest()[:16]


#: The training range of a junction without one (veh/h): the follow-up study's.
DEFAULT_TRAINING_RANGE = (1200.0, 2571.0)
#: The demand name that draws a total per episode from the training range.
MIXED = "mixed"


class DemandVersion(BaseModel):
    """An earlier set of levels, training range and vehicle mix (``versions.NAME`` of a
    demand.yaml); its demands carry the suffix ``_NAME``. ``vehicle_mix`` None = cars only."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    note: str = ""
    levels: dict[str, float] = Field(default_factory=dict)
    training_range: tuple[float, float] | None = None
    vehicle_mix: VehicleMix = None

    _check_mix = field_validator("vehicle_mix")(_mix)


class DemandAssumptions(BaseModel):
    """The demand.yaml of a junction."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    assumptions: str = ""
    duration: float = Field(default=1800, gt=0)
    arm_shares: dict[str, float]
    turning: dict[str, dict[str, float]]
    levels: dict[str, float] = Field(default_factory=dict)
    training_range: tuple[float, float] | None = None
    pedestrians: dict[str, float] = Field(default_factory=dict)  # persons/h per crossing
    vehicle_mix: VehicleMix = None  # shares of vehicle types for levels, totals and mixed
    versions: dict[str, DemandVersion] = Field(default_factory=dict)

    _check_mix = field_validator("vehicle_mix")(_mix)

    @field_validator("versions")
    @classmethod
    def _version_names(cls, value: dict[str, DemandVersion]) -> dict[str, DemandVersion]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9]*", name):
                raise ValueError(f"version {name!r}: use lower-case letters and digits, e.g. v1")
        return value

    def version(self, name: str | None) -> DemandVersion:
        """The current set (``name`` None) or the earlier one ``versions[name]``."""
        if name is None:
            return DemandVersion(
                levels=self.levels, training_range=self.training_range,
                vehicle_mix=self.vehicle_mix,
            )  # fmt: skip
        return self.versions[name]

    def level_names(self) -> list[str]:
        """Every level's demand name: current ones, then each version's with its suffix."""
        return list(self.levels) + [
            f"{level}_{v}" for v, version in self.versions.items() for level in version.levels
        ]

    def split_version(self, name: str) -> tuple[str, str | None]:
        """``low_v1`` -> (``low``, ``v1``) for a version of this file; else (name, None)."""
        base, _, suffix = name.rpartition("_")
        return (base, suffix) if base and suffix in self.versions else (name, None)


def junction_folder(spec: JunctionSpec) -> Path | None:
    """The shipped folder with this junction's demand files (a variant's: its base's)."""
    library = Path(__file__).parent / "library"
    for name in (spec.name, spec.extends):
        if name is not None and (library / name / "demand.yaml").is_file():
            return library / name
    folder = library / spec.name
    return folder if folder.is_dir() else None


def assumptions_file(spec: JunctionSpec) -> Path | None:
    """The junction's demand.yaml (a variant's: its base's), None where it has none (a user's
    own geometry, an imported network)."""
    folder = junction_folder(spec)
    path = folder / "demand.yaml" if folder else None
    return path if path is not None and path.is_file() else None


def demand_hint(spec: JunctionSpec) -> str:
    """What a demand of this junction can be, for error messages: its named demands, a total
    (only with a demand.yaml, which splits it), a SUMO route file (where the junction takes
    one, :attr:`JunctionSpec.takes_route_files`), a profile YAML path."""
    names = demand_names(spec)
    has_file = assumptions_file(spec) is not None
    if has_file:  # after the current levels: the training range
        current = load_assumptions(spec).levels
        levels = [n for n in names if n in current]
        at = names.index(levels[-1]) + 1 if levels else 0
        names = [*names[:at], f"{MIXED} (a total per episode from the training range)",
                 *names[at:]]  # fmt: skip
    ways = [f"one of {', '.join(names)}"] if names else []
    if has_file:
        ways.append("a total such as 1900vph")
    if spec.takes_route_files:
        ways.append("a SUMO route file (.rou.xml)")
    ways.append("a profile YAML path")
    hint = ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else ways[0]
    if not has_file:
        hint += f" ({no_levels_note(spec)})"
    elif load_assumptions(spec).pedestrians:  # +peds adds them: only where there are some
        hint += "; +peds after a level or a total adds its pedestrian flows (medium+peds)"
    return hint


def shipped_with_levels() -> list[str]:
    """The shipped junctions whose demand files hold a demand.yaml (levels, totals, mixed):
    ``gm_a56`` and its variants."""
    return [n for n in junction_names() if assumptions_file(resolve_junction(n)) is not None]


def no_levels_note(spec: JunctionSpec) -> str:
    """Why a junction without a shipped demand.yaml takes no level, total or mixed: only the
    shipped junctions' demand.yaml files are read (named), never one beside a user's junction
    YAML (named where one is there)."""
    note = (
        f"levels, totals and {MIXED} are only for the shipped junctions with a demand.yaml, "
        f"{', '.join(shipped_with_levels())}, and YAMLs with `extends:` one of them"
    )
    folder = spec.folder  # the junction YAML's folder
    if folder is not None and (folder / "demand.yaml").is_file():
        note += f"; {folder / 'demand.yaml'} is not read"
    return note


def load_assumptions(spec: JunctionSpec, path: Path | None = None) -> DemandAssumptions:
    """Read and check a junction's demand.yaml (default: :func:`assumptions_file`) against its
    spec. Raises SpecError naming the file, or saying what works where there is none."""
    if path is None:
        path = assumptions_file(spec)
        if path is None:
            raise SpecError(
                f"junction {spec.name!r} is not a shipped junction with a demand.yaml: use "
                f"{demand_hint(spec)}"
            )
    data = read_yaml(path)
    try:
        a = DemandAssumptions.model_validate(data)
    except ValidationError as e:
        raise SpecError(format_validation_error(e, str(path), DemandAssumptions)) from None
    if set(a.arm_shares) != set(spec.arms):
        raise SpecError(f"{path}: arm_shares must name exactly the arms {sorted(spec.arms)}")
    if abs(sum(a.arm_shares.values()) - 1) > 1e-6:
        raise SpecError(f"{path}: arm_shares must sum to 1, got {sum(a.arm_shares.values()):.4f}")
    for arm, split in a.turning.items():
        if arm not in spec.arms:
            raise SpecError(f"{path}: turning.{arm}: unknown arm")
        for turn, p in split.items():
            if f"{arm}.{turn}" not in spec.movements or p < 0:
                raise SpecError(f"{path}: turning.{arm}.{turn}: no such movement or negative share")
        if abs(sum(split.values()) - 1) > 1e-6:
            raise SpecError(f"{path}: turning.{arm} must sum to 1")
    for level in a.levels:
        if (suffix := a.split_version(level)[1]) is not None:
            raise SpecError(
                f"{path}: levels.{level}: _{suffix} is the suffix of versions.{suffix}'s "
                "demands; rename the level"
            )
    totals: list[tuple[str, float]] = []
    for v in [None, *a.versions]:
        version, at = a.version(v), "" if v is None else f"versions.{v}."
        totals += [(f"{at}levels.{k}", t) for k, t in version.levels.items()]
        if version.training_range is not None:
            low, high = version.training_range
            if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
                raise SpecError(
                    f"{path}: {at}training_range must be two totals 0 < low <= high veh/h, "
                    f"got {list(version.training_range)}"
                )
            totals.append((f"{at}training_range", high))
    for where, total in totals:
        if not (math.isfinite(total) and total >= 0):
            raise SpecError(f"{path}: {where} must be a finite total >= 0 veh/h, got {total}")
        check_flows(spec, movement_flows(a, total), f"{path}: {where}")
    return a


def movement_flows(a: DemandAssumptions, total: float) -> dict[str, float]:
    """Split a junction total (veh/h) into movement flows by the shares."""
    return {
        f"{arm}.{turn}": total * a.arm_shares[arm] * p
        for arm, split in a.turning.items()
        for turn, p in split.items()
        if p > 0
    }


def constant_demand(
    spec: JunctionSpec,
    total: float,
    name: str | None = None,
    duration: float | None = None,
    pedestrians: bool = False,
    version: str | None = None,
) -> DemandProfile:
    """A total (veh/h) held for the episode, split by the junction's demand.yaml, in the
    vehicle mix of its current levels (or of ``versions[version]``, whose default name
    carries the suffix ``_VERSION``); with ``pedestrians`` also its pedestrian flows."""
    if not (math.isfinite(total) and total >= 0):
        raise SpecError(f"demand {total}: a total must be a finite number >= 0 veh/h")
    a = load_assumptions(spec)
    if version is not None and version not in a.versions:
        raise SpecError(
            f"{spec.name}/demand.yaml has no demand version {version!r}; "
            f"versions: {', '.join(a.versions) or 'none'}"
        )
    suffix = "" if version is None else f"_{version}"
    check_flows(spec, movement_flows(a, total), f"demand {total:g}vph{suffix}")
    peds = dict(a.pedestrians) if pedestrians else {}
    if pedestrians and not peds:
        raise SpecError(f"{spec.name}/demand.yaml states no pedestrian flows (pedestrians:)")
    period = Period(begin=0, end=duration or a.duration, flows=movement_flows(a, total),
                    pedestrians=peds)  # fmt: skip
    return DemandProfile(
        name=(name or f"{total:g}vph{suffix}") + ("+peds" if pedestrians else ""),
        periods=[period],
        source=f"{total:g} veh/h split by {spec.name}/demand.yaml (assumptions)",
        vehicle_mix=a.version(version).vehicle_mix,
    )


def training_range(spec: JunctionSpec, name: str) -> tuple[float, float, str | None] | None:
    """For ``mixed`` or ``mixed_VERSION`` (without ``+peds``): the training range (low, high
    veh/h; :data:`DEFAULT_TRAINING_RANGE` where the file states none) and the version; None
    for any other name. Raises SpecError for a junction without demand.yaml."""
    if name != MIXED and not name.startswith(MIXED + "_"):
        return None
    a = load_assumptions(spec)
    base, version = a.split_version(name)
    if base != MIXED:
        return None
    low, high = a.version(version).training_range or DEFAULT_TRAINING_RANGE
    return low, high, version


def mixed_totals(low: float, high: float) -> list[float]:
    """The totals a training episode draws from (veh/h): multiples of 50 in [low, high]."""
    return [float(t) for t in range(math.ceil(low / 50) * 50, math.floor(high) + 1, 50)]


def user_demand_dir() -> Path:
    root = os.environ.get("INTERGREEN_DATA") or Path.home() / ".local" / "share" / "intergreen"
    return Path(root) / "demands"


def demand_names(spec: JunctionSpec) -> list[str]:
    names: list[str] = list(spec.own_demand_names())
    if (path := assumptions_file(spec)) is not None:
        with contextlib.suppress(SpecError):
            names += load_assumptions(spec, path).level_names()
    folders = [user_demand_dir() / spec.name]
    if (jf := junction_folder(spec)) is not None:
        folders.insert(0, jf / "demands")
    for folder in folders:
        names += sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []
    return names


def default_demand(spec: JunctionSpec) -> str:
    """The demand a junction runs when none is named: ``medium`` where the junction has that
    level (gm_a56 and its variants), else its own first demand (an imported network's route
    files, ``routes``), else its first named demand. Raises SpecError when it has none."""
    names = demand_names(spec)
    if "medium" in names:
        return "medium"
    if names:
        return names[0]
    raise SpecError(
        f"junction {spec.name} has no demand of its own: give one with --demand: "
        f"{demand_hint(spec)}"
    )


def named_or_default(spec: JunctionSpec, names: Sequence[str]) -> list[str]:
    """``names`` where the junction has every one of them (gm_a56's levels ``low``, ``medium``,
    ``high``), else its :func:`default_demand` alone (an imported network's ``routes``): the
    default of a command that plays named levels. SpecError for a junction without demand."""
    return list(names) if set(names) <= set(demand_names(spec)) else [default_demand(spec)]


def default_training_demand(spec: JunctionSpec) -> str:
    """The demand training draws from when none is named: ``mixed`` (a total per episode from
    the training range) where the junction has a demand.yaml, else :func:`default_demand`
    (an imported network's route files, ``routes``). Raises SpecError when it has none."""
    return MIXED if assumptions_file(spec) is not None else default_demand(spec)


def load_profile(path: Path) -> DemandProfile:
    """A demand profile YAML, validated (not yet against a junction: resolve_demand does)."""
    data = read_yaml(path)
    try:
        return DemandProfile.model_validate(data)
    except ValidationError as e:
        raise SpecError(format_validation_error(e, str(path), DemandProfile)) from None


def resolve_demand(spec: JunctionSpec, demand: str | float | DemandProfile | None) -> DemandProfile:
    """Turn a demand name, total, path or profile (None: the junction's
    :func:`default_demand`) into a checked DemandProfile. Raises SpecError naming the
    profile's file (or the demand) when it is unknown or invalid."""
    if demand is None:
        demand = default_demand(spec)
    own = spec.own_demand(demand)
    if own is not None:  # e.g. the route files of an imported network
        period = Period(begin=0.0, end=own["duration"], flows=own["flows"])
        return DemandProfile(
            name=own["name"], periods=[period], source=own["source"],
            route_files=own["route_files"], sumo_begin=own["sumo_begin"],
        )  # fmt: skip
    source: str | None = None
    if isinstance(demand, str) and demand.endswith("+peds"):
        base = resolve_demand(spec, demand.removesuffix("+peds"))
        peds = load_assumptions(spec).pedestrians
        if not peds:
            raise SpecError(f"{spec.name}/demand.yaml states no pedestrian flows (pedestrians:)")
        profile = base.model_copy(
            update={
                "name": base.name + "+peds",
                "periods": [p.model_copy(update={"pedestrians": dict(peds)}) for p in base.periods],
            }
        )
    elif isinstance(demand, DemandProfile):
        profile = demand
    elif isinstance(demand, int | float):
        profile = constant_demand(spec, float(demand))
    elif m := re.fullmatch(rf"({_NUMBER})\s*(?:vph|veh/h)?", str(demand).strip()):
        profile = constant_demand(spec, float(m.group(1)))
    else:
        name = str(demand)
        a: DemandAssumptions | None = None
        with contextlib.suppress(SpecError):
            a = load_assumptions(spec)
        base, version = a.split_version(name) if a is not None else (name, None)
        levels = a.version(version).levels if a is not None else {}
        if a is not None and base in levels:
            profile = constant_demand(spec, levels[base], name=name, version=version)
        elif version is not None and (m := re.fullmatch(r"(\d+(?:\.\d+)?)vph", base)):
            profile = constant_demand(spec, float(m.group(1)), version=version)
        else:
            candidates = [Path(name)]
            if (jf := junction_folder(spec)) is not None:
                candidates.append(jf / "demands" / f"{name}.yaml")
            candidates.append(user_demand_dir() / spec.name / f"{name}.yaml")
            path = next((p for p in candidates if p.is_file()), None)
            if path is None and _looks_like_a_path(name):
                raise SpecError(
                    f"demand file {name} not found ({Path(name).absolute()} does not exist): "
                    f"give the path of an existing file, or use {demand_hint(spec)}"
                )
            if path is None:
                known = demand_names(spec) + ([MIXED] if a is not None else [])
                base_name, plus, _ = name.partition("+")
                hint = (  # medium+ped, medium+pedestrians: the suffix is +peds
                    f" (did you mean '{base_name}+peds'?)"
                    if plus and base_name in known and a is not None and a.pedestrians
                    else did_you_mean(name, known)
                )
                raise SpecError(
                    f"unknown demand {name!r} for junction {spec.name}{hint}: use "
                    f"{demand_hint(spec)}"
                )
            profile = load_profile(path)
            source = str(path)
    check_profile(spec, profile, source)
    return profile


def _looks_like_a_path(name: str) -> bool:
    """Whether a demand that names nothing known was meant as a file: a folder in it, or a
    YAML or XML suffix (``profile.yaml``, ``my.rou.xml``)."""
    return "/" in name or os.sep in name or Path(name).suffix.lower() in (".yaml", ".yml", ".xml")


def check_profile(spec: JunctionSpec, profile: DemandProfile, source: str | None = None) -> None:
    """Check a profile against a junction: contiguous periods, known movements and crossings,
    plausible flows (:func:`check_plausible`). Raises SpecError naming ``source`` (the
    profile's file) or the demand."""
    where = source or f"demand {profile.name}"
    known = set(spec.movements)
    previous_end = 0.0
    for i, p in enumerate(profile.periods):
        if abs(p.begin - previous_end) > 1e-6:
            after = f"the end of periods.{i - 1}" if i else "the profile's start"
            gap = p.begin > previous_end
            raise SpecError(
                f"{where}: periods.{i} begins at {p.begin:g} s, expected {previous_end:g} s "
                f"({after}): periods follow on without {'a gap' if gap else 'overlapping'}; "
                f"set its begin to {previous_end:g}"
                + (f", or add a period from {previous_end:g} to {p.begin:g} s" if gap else "")
            )
        previous_end = p.end
        for m in p.flows:
            if m not in known:
                raise SpecError(
                    f"{where}: periods.{i}.flows: unknown movement {m!r} "
                    f"(movements: {', '.join(spec.movements)})"
                )
        for arm in p.pedestrians:
            if arm not in crossing_arms(spec):
                raise SpecError(
                    f"{where}: periods.{i}.pedestrians: arm {arm!r} has no "
                    f"signalled crossing (crossings: {', '.join(crossing_arms(spec)) or 'none'})"
                )
    check_plausible(spec, profile, where)


#: A number as a demand total may be written: ``1900``, ``2.5e3``, ``-100`` (refused by
#: :func:`constant_demand` with the reason, not taken for an unknown demand's name).
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"


def check_plausible(spec: JunctionSpec, profile: DemandProfile, where: str) -> None:
    """Refuse flows no junction could see (see the module docstring): per period, the total
    into the junction and into each arm at most ``PLAUSIBLE_FACTOR`` x the saturation flow of
    the approach lanes, pedestrians at most ``PEDESTRIAN_CEILING`` per crossing. Raises
    SpecError saying what was given and what is plausible."""
    for i, p in enumerate(profile.periods):
        at = f"{where}: periods.{i} ({p.begin:g}-{p.end:g} s)"
        check_flows(spec, p.flows, at)
        for arm, pph in p.pedestrians.items():
            if pph > PEDESTRIAN_CEILING:
                raise SpecError(
                    f"{at}: {pph:.6g} pedestrians/h at the crossing of arm {arm} is implausible; "
                    f"at most {PEDESTRIAN_CEILING:g} persons/h (one per second each way)"
                )


def routes_xml(spec: JunctionSpec, profile: DemandProfile) -> str:
    """SUMO routes: a Poisson flow per movement and a person flow per crossing way
    (Bernoulli each second, SUMO's ``probability``, as person flows take no ``exp``)."""
    lines = ["<routes>", vtypes_xml(profile.vehicle_mix)]
    vtype = vehicle_type_id(profile.vehicle_mix)
    for i, period in enumerate(profile.periods):
        span = f'begin="{_exact(period.begin)}" end="{_exact(period.end)}"'
        for movement, vph in sorted(period.flows.items()):
            if vph <= 0:
                continue
            arm, turn = movement.split(".")
            dest = exit_edge(spec.destinations[movement])
            lines.append(
                f'  <flow id="p{i}_{arm}_{turn}" type="{vtype}" {span} from="{approach_edge(arm)}" '
                f'to="{dest}" period="exp({_exact(vph / 3600)})" departLane="best" '
                'departSpeed="max"/>'
            )
        for arm, pph in sorted(period.pedestrians.items()):
            if pph <= 0:
                continue
            near_end = max(spec.arms[arm].length - 30, 1)  # close to the junction
            ways = ((approach_edge(arm), near_end, exit_edge(arm), 5),
                    (exit_edge(arm), 5, approach_edge(arm), near_end))  # fmt: skip
            for k, (src, src_pos, dst, dst_pos) in enumerate(ways):
                lines.append(
                    f'  <personFlow id="p{i}_ped_{arm}_{k}" {span} '
                    f'probability="{_exact(pph / 7200)}" departPos="{_exact(src_pos)}">\n'
                    f'    <walk from="{src}" to="{dst}" arrivalPos="{_exact(dst_pos)}"/>\n'
                    "  </personFlow>"
                )
    lines.append("</routes>")
    return "\n".join(lines) + "\n"


def _exact(x: float) -> str:
    """A number as the shortest text that reads back as the same double (SUMO parses it
    with the same IEEE rules), e.g. 0.1, 5.880555555555556e-05."""
    return repr(float(x))


def write_routes(spec: JunctionSpec, profile: DemandProfile) -> Path:
    """Write (or reuse) the route file of a profile in the cache; returns its path."""
    text = routes_xml(spec, profile)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = cache_dir() / "routes" / f"{spec.name}-{digest}.rou.xml"
    if not path.exists():
        atomic_write(path, text)
    return path


def describe(profile: DemandProfile) -> dict:
    """A JSON-friendly summary for run metadata."""
    return json.loads(
        json.dumps(
            {
                "name": profile.name,
                "source": profile.source,
                "duration": profile.duration,
                "total_vph": [round(p.total, 1) for p in profile.periods],
                **({"vehicle_mix": profile.vehicle_mix} if profile.vehicle_mix else {}),
            }
        )
    )


__all__ = [
    "TURNS",
    "VEHICLE_TYPE",
    "DEFAULT_TRAINING_RANGE",
    "MIXED",
    "DemandAssumptions",
    "DemandProfile",
    "DemandVersion",
    "Period",
    "constant_demand",
    "mixed_totals",
    "training_range",
    "demand_names",
    "assumptions_file",
    "default_demand",
    "default_training_demand",
    "named_or_default",
    "demand_hint",
    "no_levels_note",
    "shipped_with_levels",
    "describe",
    "load_assumptions",
    "check_plausible",
    "check_profile",
    "resolve_demand",
    "write_routes",
]
