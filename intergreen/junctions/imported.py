"""Junctions that name an existing SUMO network instead of our generated geometry.

A junction YAML with a ``network:`` section::

    name: cologne1
    network: {net_file: cologne1.net.xml, tls: GS_cluster_357187_359543,
              routes: [cologne1.rou.xml], begin: 25200, end: 28800}
    rules: program
    signal_groups: {A: {links: [0, 1, 2, 10, 11, 12]}, ...}
    stages: {1: {groups: [C, D]}, ...}
    transitions: {1: [2], ...}
    ...

is loaded by :func:`load_imported` into an :class:`ImportedJunctionSpec`, a JunctionSpec whose
arms, approach lanes and movements come from the network (never from the YAML), whose conflicts
come from SUMO's foe matrix (:func:`sumo_import.group_conflicts`), and whose intergreens are the
YAML's, else the program's or the geometry's (:mod:`sumo_import`), raised to the rule profile's
minimum at load (:func:`spec.apply_rules`). Everything downstream (controller, checker, sensors,
env, baselines, agents, CLI) sees an ordinary JunctionSpec; three hooks differ: the network is
the given one plus a sensor file (:meth:`ImportedJunctionSpec.prebuilt_network`), the demand is
the route files over ``[begin, end)`` (demand name ``routes``, or a ``.rou.xml`` path), and SUMO
options from ``network.sumo_options`` (e.g. ``time-to-teleport: -1``).

Paths in ``network`` are relative to the YAML file.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from intergreen.common import MAX_SIM_SECONDS, atomic_write, listing
from intergreen.junctions.network import SENSORS_FILE, Network, cache_dir, sensors_xml
from intergreen.junctions.plausibility import check_flows
from intergreen.junctions.route_files import (
    Contribution,
    check_route_files,
    contributions,
    departure_span,
    total_flows,
)
from intergreen.junctions.rules import MAX_GREEN
from intergreen.junctions.spec import (
    JunctionSpec,
    Link,
    SpecError,
    _check_intergreens,
    _check_stages,
    _Model,
    apply_rules,
    check_extra_conflicts,
    parse_spec,
)
from intergreen.junctions.sumo_import import group_conflicts, group_intergreens, program_amber
from intergreen.junctions.sumo_net import NetworkImportError, TlsFacts, read_tls, tls_ids
from intergreen.junctions.sumo_net import network as sumo_network

__all__ = ["ImportedJunctionSpec", "is_imported", "load_imported"]

ImportedTurn = Literal["left", "ahead", "right", "uturn"]


class ImportedLane(_Model):
    """An approach lane (numbered from the kerb) and the turns its signalled links make."""

    movements: list[ImportedTurn] = Field(min_length=1)
    lane: str  # the SUMO lane id


class ImportedArm(_Model):
    """An arm read from the network: bearing from the junction centre, the shortest approach
    lane (m), the approach speed limit (m/s); an exit-only arm has no approach lanes."""

    bearing: float = Field(ge=0, le=360)
    length: float = Field(ge=0)
    speed_limit: float = Field(gt=0)
    approach_lanes: list[ImportedLane] = Field(default_factory=list)
    exit_lanes: int = Field(ge=0)
    in_edge: str | None = None
    out_edge: str | None = None


class ImportedGroup(_Model):
    """A signal group: SUMO link indices (state-string positions) that show one aspect."""

    links: list[int] = Field(min_length=1)
    movements: list[str] = Field(default_factory=list)  # derived from the links
    min_green: float | None = Field(default=None, ge=0, le=MAX_GREEN)
    arrow: bool = False


#: An imported junction's episode length (s of SUMO time from ``network.begin``) where its YAML
#: sets no ``network.end`` (``junctions import`` without ``--end``), whenever its route files'
#: traffic ends.
DEFAULT_EPISODE_S = 3600.0


class NetworkSource(_Model):
    """Where the junction lives: a SUMO network, one of its traffic lights, its program,
    route files and the simulated window [begin, end) in SUMO time (s)."""

    net_file: str
    tls: str
    program: str | None = None
    routes: list[str] = Field(default_factory=list)
    begin: float = Field(default=0.0, ge=0)
    end: float | None = None
    sumo_options: dict[str, str | int | float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _window(self) -> NetworkSource:
        if self.end is not None and not self.end > self.begin:
            raise ValueError(f"network.end ({self.end}) must be after network.begin ({self.begin})")
        if self.end is not None and self.end - self.begin > MAX_SIM_SECONDS:
            raise ValueError(
                f"network.end - network.begin ({self.end - self.begin:g} s) is more than "
                f"{MAX_SIM_SECONDS:g} s (7 days) of simulated time, the most one run may cover "
                "(MAX_SIM_SECONDS); give a shorter window"
            )
        return self


class ImportedJunctionSpec(JunctionSpec):
    """A JunctionSpec read from a SUMO network (module docstring)."""

    arms: dict[str, ImportedArm] = Field(min_length=2)  # type: ignore[assignment]
    signal_groups: dict[str, ImportedGroup] = Field(min_length=1)  # type: ignore[assignment]
    network: NetworkSource
    assumptions: list[str] = Field(default_factory=list)

    takes_route_files: ClassVar[bool] = True

    @model_validator(mode="after")
    def _check(self) -> ImportedJunctionSpec:
        if self.sensors.sample_interval is not None:
            ratio = self.sensors.sample_interval / self.timing.step_length
            if ratio < 1 - 1e-9 or abs(ratio - round(ratio)) > 1e-6:
                raise SpecError(
                    f"sensors.sample_interval ({self.sensors.sample_interval}) must be a whole "
                    f"multiple of timing.step_length ({self.timing.step_length})"
                )
        _check_links(self)
        _check_stages(self)
        _check_intergreens(self)
        return self

    # ----- facts from the network ------------------------------------------------------
    @property
    def facts(self) -> TlsFacts:
        """The traffic light as read from the network (cached per file version)."""
        return read_tls(self.network.net_file, self.network.tls, self.network.program)

    @cached_property
    def group_links(self) -> dict[str, tuple[int, ...]]:
        return {g: tuple(sg.links) for g, sg in self.signal_groups.items()}

    @cached_property
    def conflicts(self) -> frozenset[tuple[str, str]]:
        pairs = set(group_conflicts(self.group_links, self.facts))
        for a, b in self.extra_conflicts:
            pairs |= {(a, b), (b, a)}
        return frozenset(pairs)

    @cached_property
    def movements(self) -> list[str]:
        out = []
        for arm_id, arm in self.arms.items():
            for turn in ("left", "ahead", "right", "uturn"):
                if any(turn in lane.movements for lane in arm.approach_lanes):
                    out.append(f"{arm_id}.{turn}")
        return out

    @cached_property
    def destinations(self) -> dict[str, str]:
        dest: dict[str, str] = {}
        for link in self.facts.links:
            if not link.crossing:
                dest.setdefault(link.movement, link.to_arm)
        return dest

    @cached_property
    def sumo_lanes(self) -> tuple[str, ...]:
        """SUMO lane ids of the approach lanes, in ``approach_lane_ids`` order."""
        return tuple(lane.lane for arm in self.arms.values() for lane in arm.approach_lanes)

    def stage_lanes(self, stage: str) -> np.ndarray:
        links = {k for g in self.stages[stage].groups for k in self.signal_groups[g].links}
        green = {lane for k in links for lane in self.facts.link(k).from_lanes}
        return np.array([lane in green for lane in self.sumo_lanes], dtype=bool)

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        with open(self.network.net_file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        payload = {
            "net": digest.hexdigest(),
            "tls": self.network.tls,
            "lanes": list(self.sumo_lanes),
            "camera_range": self.sensors.camera_range,
            "loops": self.sensors.stop_line_loops,
            "format": 2,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    # ----- hooks (JunctionSpec) ------------------------------------------------------------
    def links(self) -> tuple[Link, ...]:
        """One Link per SUMO link index: its group, and the groups it gives way to (it shows
        ``g`` while one of them is green; its own group among them when it gives way to a
        link of its own group, e.g. a left turn opposed by the opposite arm's ahead); an
        unused link index (no connection carries it) is a Link without a group."""
        group_of = {k: g for g, ks in self.group_links.items() for k in ks}
        facts = self.facts
        out = []
        for k in range(facts.n_states):
            if k in facts.unused:
                out.append(Link.unused_index())
                continue
            against = sorted({group_of[b] for a, b in facts.yields if a == k})
            out.append(
                Link(
                    movement=facts.link(k).movement,
                    group=group_of[k],
                    filters_against=tuple(against),
                )
            )
        return tuple(out)

    def prebuilt_network(self, pedestrians: bool = False, force: bool = False) -> Network:
        return _build(self, force)

    def own_demand(self, demand: Any) -> dict[str, Any] | None:
        if not isinstance(demand, str):
            return None
        if demand == "routes":
            files = [Path(r) for r in self.network.routes]
            if not files:
                raise SpecError(
                    f"junction {self.name}: network.routes names no route file; add one or "
                    "pass a .rou.xml as the demand"
                )
            return _route_demand(self, "routes", files)
        if demand.endswith((".rou.xml", ".xml")):
            return _route_demand(self, Path(demand).name, [Path(demand)])
        return None

    def own_demand_names(self) -> list[str]:
        return ["routes"] if self.network.routes else []

    def sumo_options(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.network.sumo_options.items()}

    @property
    def end(self) -> float:
        """SUMO time (s) at which an episode ends: ``network.end``, else
        :data:`DEFAULT_EPISODE_S` after begin."""
        if self.network.end is not None:
            return self.network.end
        return self.network.begin + DEFAULT_EPISODE_S


def is_imported(data: Any) -> bool:
    """Whether a junction mapping names a SUMO network."""
    return isinstance(data, dict) and data.get("network") is not None


def _check_links(spec: ImportedJunctionSpec) -> None:
    facts = spec.facts
    n = facts.n_states
    owner: dict[int, str] = {}
    for g, sg in spec.signal_groups.items():
        for k in sg.links:
            if not 0 <= k < n:
                raise SpecError(
                    f"signal_groups.{g}.links: no link {k}; traffic light {spec.network.tls} has "
                    f"links 0..{n - 1}"
                )
            if k in facts.unused:
                raise SpecError(_unused_in_group(g, [k], facts))
            if k in owner:
                raise SpecError(
                    f"signal_groups: link {k} is in groups {owner[k]} and {g}; a link belongs "
                    "to exactly one group"
                )
            owner[k] = g
    missing = sorted({link.index for link in facts.links} - set(owner))
    if missing:
        raise SpecError(
            f"signal_groups: link(s) {missing} of traffic light {spec.network.tls} are in no "
            "group; add each to one"
        )
    check_extra_conflicts(spec)


def _unused_in_group(group: Any, ks: list[int], facts: TlsFacts) -> str:
    return (
        f"signal_groups.{group}.links: link index(es) {ks} of traffic light {facts.tls_id} carry "
        "no connection (unused: SUMO applies them to no link); remove them from the group"
    )


# ----- loading -----------------------------------------------------------------------------
def _arms(facts: TlsFacts) -> dict[str, dict[str, Any]]:
    turns: dict[str, list[str]] = {}
    for link in facts.links:
        if link.crossing:
            continue
        for lane in link.from_lanes:
            turns.setdefault(lane, [])
            if link.turn not in turns[lane]:
                turns[lane].append(link.turn)
    return {
        a.name: {
            "bearing": a.bearing,
            "length": round(a.length, 2),
            "speed_limit": round(a.speed_limit, 3),
            "approach_lanes": [
                {"movements": turns[lane], "lane": lane}
                for lane in a.approach_lanes
                if lane in turns
            ],
            "exit_lanes": len(a.exit_lanes),
            "in_edge": a.in_edge,
            "out_edge": a.out_edge,
        }
        for a in facts.arms
    }


def resolve_network_paths(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """``data`` with ``network.net_file`` and ``network.routes`` made absolute (relative to
    ``folder``, the YAML's)."""
    net = data.get("network")
    if not isinstance(net, dict):
        raise SpecError("network: expected a mapping with net_file and tls")
    net = dict(net)
    if "net_file" not in net or "tls" not in net:
        raise SpecError("network: give net_file (a .net.xml) and tls (its traffic light id)")

    def absolute(p: Any) -> str:
        path = Path(str(p)).expanduser()
        return str(path if path.is_absolute() else (folder / path).resolve())

    net["net_file"] = absolute(net["net_file"])
    routes = net.get("routes") or []
    if isinstance(routes, str):
        routes = [routes]
    net["routes"] = [absolute(r) for r in routes]
    net["tls"] = str(net["tls"])
    if net.get("program") is not None:
        net["program"] = str(net["program"])
    return {**data, "network": net}


def complete(data: dict[str, Any]) -> dict[str, Any]:
    """A junction mapping with absolute network paths, completed from the network: arms,
    group movements, the rule profile's timing, and every conflicting pair's intergreen
    (the YAML's, else the program's or computed from the geometry; :func:`apply_rules`
    raises each to the profile's minimum intergreen as the model loads)."""
    net = data["network"]
    for key, path, kind in [
        ("network.net_file", net["net_file"], ".net.xml"),
        *(("network.routes", r, ".rou.xml") for r in net["routes"]),
    ]:
        if not Path(path).is_file():
            what = f"a folder, not a {kind} file" if Path(path).is_dir() else "no such file"
            raise NetworkImportError(
                f"{key}: {path}: {what}; give the path of a {kind} (relative to this YAML's "
                "folder, or absolute)"
            )
    ids = tls_ids(net["net_file"])
    if net["tls"] not in ids:
        raise NetworkImportError(
            f"network.tls: no traffic light {net['tls']!r} in {net['net_file']}; set network.tls "
            f"to one it has: {listing(ids, 20)}"
        )
    facts = read_tls(net["net_file"], net["tls"], net.get("program"))
    groups = data.get("signal_groups")
    if not isinstance(groups, dict) or not groups:
        raise SpecError("signal_groups: give a mapping of group name -> {links: [...]}")
    group_links: dict[str, tuple[int, ...]] = {}
    full_groups = {}
    for g, sg in groups.items():
        if not isinstance(sg, dict) or not isinstance(sg.get("links"), list):
            raise SpecError(f"signal_groups.{g}: give links: [SUMO link indices]")
        links = sg["links"]
        if not all(isinstance(k, int) and 0 <= k < facts.n_states for k in links):
            raise SpecError(
                f"signal_groups.{g}.links: {links} are not all link indices of traffic light "
                f"{facts.tls_id} (0..{facts.n_states - 1})"
            )
        unused = [k for k in links if k in facts.unused]
        if unused:
            raise SpecError(_unused_in_group(g, unused, facts))
        group_links[str(g)] = tuple(links)
        movements = list(dict.fromkeys(facts.link(k).movement for k in links))
        full_groups[str(g)] = {**sg, "movements": movements}
    amber = program_amber(facts)
    out = apply_rules(
        {**data, "arms": _arms(facts), "signal_groups": full_groups}, program_amber=amber
    )
    conflicts = group_conflicts(group_links, facts)
    derived = group_intergreens(group_links, conflicts, facts, amber)
    given = out.get("intergreens") or {}
    if not isinstance(given, dict):
        raise SpecError("intergreens: expected a mapping losing group -> gaining group -> s")
    igs: dict[str, dict[str, Any]] = {}
    for lo, row in derived.items():
        for ga, (value, _) in row.items():
            igs.setdefault(lo, {})[ga] = value
    for lo, row in given.items():
        if isinstance(row, dict):
            for ga, value in row.items():
                igs.setdefault(str(lo), {})[str(ga)] = value
        else:
            igs[str(lo)] = row
    out["intergreens"] = igs
    timing = dict(out["timing"])
    timing["default_intergreen"] = None  # every conflicting pair has its own
    out["timing"] = timing
    return out


def load_imported(
    data: dict[str, Any], folder: str | Path = ".", source: str = "junction spec"
) -> ImportedJunctionSpec:
    """Validate a junction mapping with a ``network:`` section (paths relative to
    ``folder``). Raises SpecError (NetworkImportError for network problems) naming
    ``source`` and the field."""
    try:
        full = complete(resolve_network_paths(data, Path(folder)))
    except NetworkImportError as e:  # which YAML named the network
        raise NetworkImportError(f"{source}: {e}") from None
    except SpecError as e:
        raise SpecError(f"{source}: {e}") from None
    spec = parse_spec(full, source, ImportedJunctionSpec)
    assert isinstance(spec, ImportedJunctionSpec)
    spec._folder = Path(folder)
    return spec


# ----- network and demand ------------------------------------------------------------------
def _build(spec: ImportedJunctionSpec, force: bool) -> Network:
    """The given network plus a sensor file (camera zones and stop-line loops on the approach
    lanes, cut to the lanes' lengths), cached by content hash."""
    facts = spec.facts
    digest = spec.content_hash()
    folder = cache_dir() / "networks" / f"imported-{spec.name}-{digest}"
    sensors = folder / SENSORS_FILE
    if force and folder.exists():
        shutil.rmtree(folder)
    lanes = spec.sumo_lanes
    exit_lanes = [lane for a in facts.arms for lane in a.exit_lanes]
    layout = {
        "approach_lanes": list(lanes),
        "lane_lengths": [facts.lane_length[lane] for lane in lanes],
        "exit_lanes": exit_lanes,
        "exit_lengths": [facts.lane_length[lane] for lane in exit_lanes],
    }
    text = sensors_xml(spec, layout)
    if not sensors.exists() or sensors.read_text() != text:  # new, or older detectors
        atomic_write(sensors, text)
    approach_edges = tuple(a.in_edge for a in facts.arms if a.in_edge and a.approach_lanes)
    exit_edges = tuple(a.out_edge for a in facts.arms if a.out_edge)
    net = sumo_network(facts.net_file)
    return Network(
        spec_hash=digest,
        net_file=facts.net_file,
        sensors_file=sensors,
        links=spec.links(),
        approach_lanes=lanes,
        lane_lengths=tuple(facts.lane_length[lane] for lane in lanes),
        speed_limits=tuple(facts.lane_speed[lane] for lane in lanes),
        edges=tuple(e.getID() for e in net.getEdges(withInternal=False)),
        approach_edges=approach_edges,
        exit_edges=exit_edges,
        edge_speed_limits={e: net.getEdge(e).getSpeed() for e in approach_edges + exit_edges},
        crossings=dict(facts.crossings),
        walking_areas=facts.walking_areas,
        tls_id=facts.tls_id,
        exit_lanes=tuple(exit_lanes),
    )


def _route_demand(spec: ImportedJunctionSpec, name: str, files: list[Path]) -> dict[str, Any]:
    check_route_files(files, spec.network.net_file)
    begin, end = spec.network.begin, spec.end
    parts = contributions(files, spec.facts, begin, end)
    flows = total_flows(parts)
    _check_plausible(spec, files, parts, flows)
    if not any(v > 0 for v in flows.values()):
        _warn_no_traffic(spec, name, files)
    return {
        "name": name,
        "source": f"route files {', '.join(f.name for f in files)}, SUMO time {begin:g}-{end:g} s",
        "route_files": tuple(str(f.resolve()) for f in files),
        "sumo_begin": begin,
        "duration": end - begin,
        "flows": flows,
    }


def _check_plausible(
    spec: ImportedJunctionSpec,
    files: list[Path],
    parts: list[Contribution],
    flows: dict[str, float],
) -> None:
    """Refuse route files whose traffic through the traffic light no junction could see
    (:func:`~intergreen.junctions.demand.check_plausible`'s bound), naming the file and its
    largest flow (a ``vehsPerHour="1e12"``), before SUMO runs it.

    Raises:
        SpecError: naming the route file(s), the window and the largest flow.
    """
    def largest(arm: str | None) -> str:
        mine = [p for p in parts if p.tag == "flow" and arm in (None, p.movement.split(".")[0])]
        if not mine:
            return ""
        top = max(mine, key=lambda p: p.veh_h)
        of = f" of {top.file}" if len(files) > 1 else ""
        return f"; the largest is flow {top.id!r}{of} with {top.veh_h:.6g} veh/h"

    named = str(files[0]) if len(files) == 1 else "route files " + ", ".join(map(str, files))
    window = f"SUMO time {spec.network.begin:g}-{spec.end:g} s"
    check_flows(spec, flows, f"{named} ({window})", largest)


def _warn_no_traffic(spec: ImportedJunctionSpec, name: str, files: list[Path]) -> None:
    """Warn that demand ``name`` (route ``files``) sends no vehicle through the traffic light
    in the junction's SUMO time window: every episode would simulate an empty junction."""
    begin, end = spec.network.begin, spec.end
    span = departure_span(files)
    if span is None:
        why = "they hold no vehicle, trip or flow with a departure time"
    elif span[1] < begin or span[0] >= end:
        why = (f"their vehicles depart from {span[0]:g} to {span[1]:g} s: set network.begin "
               "and network.end in the YAML, or import with --begin S --end S")  # fmt: skip
    else:
        why = "none of the routes departing in it passes the traffic light"
    warnings.warn(
        f"demand {name} of junction {spec.name}: no vehicle of {', '.join(f.name for f in files)} "
        f"passes traffic light {spec.facts.tls_id} in SUMO time {begin:g}-{end:g} s ({why}); "
        "an episode would simulate an empty junction",
        UserWarning,
        stacklevel=2,
    )
