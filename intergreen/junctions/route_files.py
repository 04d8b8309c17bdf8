"""SUMO route files of an imported network: checks, and the flows they bring to a junction.

:func:`check_route_files` refuses a file that is not a SUMO route file or that references
edges the network does not have (naming the file, the edges and the fix), before SUMO is
started. :func:`movement_flows` counts, per movement of a traffic light, the vehicles of
the route files that depart in a time window and pass the junction (explicit routes; trips
from/via/to are routed on the fastest path for their vehicle class with sumolib, as SUMO
would route them without congestion), as veh/h: what a fixed-time plan is designed from, and
what a run records.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from intergreen.common import listing
from intergreen.junctions.sumo_net import (
    NetworkImportError,
    TlsFacts,
    fastest_route,
    network,
    not_a_file,
    open_sumo_xml,
)
from intergreen.junctions.sumo_outputs import route_edges

__all__ = ["check_route_files", "departure_span", "movement_flows"]

_VEHICLE_TAGS = ("vehicle", "trip", "flow")


def _parse(path: Path) -> ET.Element:
    try:
        with open_sumo_xml(path) as f:
            root = ET.parse(f).getroot()
    except (OSError, EOFError) as e:
        raise NetworkImportError(
            f"{path}: cannot read the route file ({getattr(e, 'strerror', None) or e})"
        ) from None
    except ET.ParseError as e:
        raise NetworkImportError(
            f"{path}: not a SUMO route file (XML error: {e}); give a .rou.xml"
        ) from None
    if root.tag not in ("routes", "additional"):
        raise NetworkImportError(
            f"{path}: not a SUMO route file (top element <{root.tag}>, expected <routes>); "
            "give a .rou.xml"
        )
    return root


@lru_cache(maxsize=16)
def _referenced_edges(path: Path, mtime: float) -> frozenset[str]:
    root = _parse(path)
    edges: set[str] = set()
    for el in root.iter():
        for attr in ("from", "to"):
            if el.tag in (*_VEHICLE_TAGS, "walk", "personTrip", "ride") and el.get(attr):
                edges.add(el.get(attr))
        for attr in ("edges", "via"):
            if el.get(attr):
                edges.update(el.get(attr).split())
    return frozenset(edges)


def check_route_files(paths: Sequence[str | Path], net_file: str | Path) -> None:
    """Raise NetworkImportError when a route file is missing, is no SUMO route file, or
    references edges that are not in the network."""
    known = None
    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise NetworkImportError(not_a_file(path, ".rou.xml"))
        refs = _referenced_edges(path.resolve(), path.stat().st_mtime)
        if known is None:
            net = network(net_file)
            known = {e.getID() for e in net.getEdges(withInternal=False)}
        missing = sorted(refs - known)
        if missing:
            shown = listing(missing, 5)
            raise NetworkImportError(
                f"{path}: references edge(s) {shown} that are not in {Path(net_file).name}; "
                "give routes made for this network (e.g. regenerate them with randomTrips.py)"
            )


def _window_count(el: ET.Element, begin: float, end: float) -> float:
    """Vehicles a <flow> inserts within [begin, end) (expected number)."""
    f_begin = float(el.get("begin", 0))
    f_end = float(el.get("end", end))
    lo, hi = max(f_begin, begin), min(f_end, end)
    if hi <= lo:
        return 0.0
    span = f_end - f_begin
    if el.get("number") is not None and span > 0:
        return float(el.get("number")) * (hi - lo) / span
    if el.get("vehsPerHour") is not None:
        return float(el.get("vehsPerHour")) * (hi - lo) / 3600
    period = el.get("period")
    if period is not None:
        try:
            return (hi - lo) / float(period)
        except ValueError:  # exp(rate)
            rate = float(period.removeprefix("exp(").removesuffix(")"))
            return (hi - lo) * rate
    if el.get("probability") is not None:
        return float(el.get("probability")) * (hi - lo)
    return 0.0


def departure_span(paths: Sequence[str | Path]) -> tuple[float, float] | None:
    """The earliest and latest departure (s of SUMO time) of the vehicles, trips and flows of
    the route files (a flow: its begin and end); None when they hold none with a time."""
    times: list[float] = []
    for p in paths:
        for el in _parse(Path(p)):
            if el.tag not in _VEHICLE_TAGS:
                continue
            keys = ("begin", "end") if el.tag == "flow" else ("depart",)
            for key in keys:
                try:
                    times.append(float(el.get(key, "")))
                except ValueError:  # absent, "triggered" and the like
                    continue
    return (min(times), max(times)) if times else None


def _vehicle_classes(roots: Sequence[ET.Element]) -> dict[str, str]:
    """vType id -> SUMO vehicle class over the route files (SUMO's default class:
    passenger)."""
    return {t.get("id"): t.get("vClass", "passenger") for r in roots for t in r.iter("vType")}


def movement_flows(
    paths: Sequence[str | Path], facts: TlsFacts, begin: float, end: float
) -> dict[str, float]:
    """Movement ``ARM.turn`` -> veh/h of the route files' vehicles departing in
    [begin, end) that pass the traffic light. Vehicles on routes that miss it are left out.

    A vehicle's route is its own (inline or by id); a trip's or flow's ``from``/``via``/``to``
    is routed as SUMO routes it on an empty network, for the class of its vType
    (:func:`~intergreen.junctions.sumo_net.fastest_route`)."""
    turn_of: dict[tuple[str, str], str] = {}
    for link in facts.links:
        if link.crossing:
            continue
        for a in link.from_lanes:
            for b in link.to_lanes:
                turn_of[(a.rsplit("_", 1)[0], b.rsplit("_", 1)[0])] = link.movement
    roots = [_parse(Path(p)) for p in paths]
    classes = _vehicle_classes(roots)
    edges_of = route_edges(paths)
    counts: dict[str, float] = {}
    window = end - begin
    for root in roots:
        for el in root:
            if el.tag not in _VEHICLE_TAGS:
                continue
            if el.tag == "flow":
                n = _window_count(el, begin, end)
            else:
                depart = el.get("depart", "0")
                try:
                    t = float(depart)
                except ValueError:  # "triggered" and the like
                    continue
                n = 1.0 if begin <= t < end else 0.0
            if n <= 0:
                continue
            edges = edges_of.get(el.get("id", ""), ())
            if el.find("route") is None and el.get("route") is None:  # from/via/to
                vclass = classes.get(el.get("type", ""), "passenger")
                edges = fastest_route(facts.net_file, edges, vclass)
            for a, b in zip(edges, edges[1:], strict=False):
                movement = turn_of.get((a, b))
                if movement is not None:
                    counts[movement] = counts.get(movement, 0.0) + n
                    break
    return {m: c * 3600 / window for m, c in sorted(counts.items())} if window > 0 else {}
