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

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from intergreen.common import listing
from intergreen.junctions.sumo import sumo_binary, sumo_home
from intergreen.junctions.sumo_net import (
    NetworkImportError,
    TlsFacts,
    fastest_route,
    network,
    not_a_file,
    open_sumo_xml,
)
from intergreen.junctions.sumo_outputs import route_edges

__all__ = [
    "Contribution",
    "check_route_files",
    "contributions",
    "departure_span",
    "movement_flows",
    "sumo_load_problem",
    "total_flows",
]

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


def _flow_number(
    path: Path, el: ET.Element, attr: str, default: float | None = None
) -> float | None:
    """A ``<flow>``'s ``attr`` as a number (``default`` where absent); a ``period`` may be
    ``exp(rate)``, given as that rate. Raises NetworkImportError naming the file, the flow and
    the attribute where it is not a number (a route file edited after import: SUMO's own check
    ran then)."""
    text = el.get(attr)
    if text is None:
        return default
    try:
        return float(text.removeprefix("exp(").removesuffix(")") if attr == "period" else text)
    except ValueError:
        raise NetworkImportError(
            f"{path}: flow {el.get('id', '')!r}: {attr}={text!r} is not a number; give a "
            "number (veh/h for vehsPerHour, s for begin, end and period)"
        ) from None


def _window_count(path: Path, el: ET.Element, begin: float, end: float) -> float:
    """Vehicles a <flow> of route file ``path`` inserts within [begin, end) (expected
    number). Raises NetworkImportError for a time or rate that is not a number."""
    f_begin = _flow_number(path, el, "begin", 0.0)
    f_end = _flow_number(path, el, "end", end)
    assert f_begin is not None and f_end is not None
    lo, hi = max(f_begin, begin), min(f_end, end)
    if hi <= lo:
        return 0.0
    span = f_end - f_begin
    number = _flow_number(path, el, "number")
    if number is not None and span > 0:
        return number * (hi - lo) / span
    rate = _flow_number(path, el, "vehsPerHour")
    if rate is not None:
        return rate * (hi - lo) / 3600
    period = _flow_number(path, el, "period")
    if period is not None:  # exp(rate): a rate per second; else seconds between vehicles
        return (hi - lo) * period if el.get("period", "").startswith("exp(") else (hi - lo) / period
    probability = _flow_number(path, el, "probability")
    return probability * (hi - lo) if probability is not None else 0.0


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


@dataclass(frozen=True)
class Contribution:
    """The traffic one ``<vehicle>``, ``<trip>`` or ``<flow>`` (``tag``, ``id``) of a route
    ``file`` brings to a movement of a traffic light in a time window (veh/h)."""

    file: Path
    tag: str
    id: str
    movement: str
    veh_h: float


def contributions(
    paths: Sequence[str | Path], facts: TlsFacts, begin: float, end: float
) -> list[Contribution]:
    """What each vehicle, trip and flow of the route files departing in [begin, end) brings to
    the movement ``ARM.turn`` of the traffic light it passes, in veh/h over the window
    (:func:`movement_flows` sums them). Those on routes that miss it are left out.

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
    roots = [(Path(p), _parse(Path(p))) for p in paths]
    classes = _vehicle_classes([root for _, root in roots])
    edges_of = route_edges(paths)
    out: list[Contribution] = []
    window = end - begin
    if window <= 0:
        return out
    for path, root in roots:
        for el in root:
            if el.tag not in _VEHICLE_TAGS:
                continue
            if el.tag == "flow":
                n = _window_count(path, el, begin, end)
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
                    out.append(Contribution(path, el.tag, el.get("id", ""), movement,
                                            n * 3600 / window))  # fmt: skip
                    break
    return out


def movement_flows(
    paths: Sequence[str | Path], facts: TlsFacts, begin: float, end: float
) -> dict[str, float]:
    """Movement ``ARM.turn`` -> veh/h of the route files' vehicles departing in
    [begin, end) that pass the traffic light (:func:`contributions`, summed)."""
    return total_flows(contributions(paths, facts, begin, end))


def total_flows(parts: Sequence[Contribution]) -> dict[str, float]:
    """Movement ``ARM.turn`` -> veh/h: the sum of ``parts`` per movement."""
    counts: dict[str, float] = {}
    for part in parts:
        counts[part.movement] = counts.get(part.movement, 0.0) + part.veh_h
    return dict(sorted(counts.items()))


def sumo_load_problem(
    paths: Sequence[str | Path], net_file: str | Path, begin: float = 0.0
) -> str | None:
    """Why SUMO refuses to load the route files with the network, naming the file at fault and
    SUMO's own reason; None when it loads them (or cannot say in time).

    SUMO parses every vehicle type, route and vehicle of the files from ``begin`` (s of SUMO
    time) and stops before its first step: a fraction of a second for a junction's network
    (about 0.05 s for sumo-rl's 2x2 grid, 0.8 s for RESCO's ingolstadt21 with its 0.4 MB of
    routes). Where the files fail together, each is loaded alone to name the one at fault,
    and the network alone where none does."""
    files = [str(p) for p in paths]
    errors = _sumo_errors(net_file, files, begin)
    if not errors:
        return None
    if _sumo_errors(net_file, [], begin):
        return f"{net_file}: SUMO refuses this network: {_reasons(errors)}"
    if len(files) > 1:
        alone = [f for f in files if _sumo_errors(net_file, [f], begin)]
        files = alone if len(alone) == 1 else files
    if len(files) == 1:
        return (
            f"{files[0]}: SUMO refuses this route file: {_reasons(errors)}; correct it, then "
            "run the command again"
        )
    return (
        f"route files {', '.join(files)}: SUMO refuses them: {_reasons(errors)}; correct "
        "them, then run the command again"
    )


def _reasons(errors: Sequence[str]) -> str:
    """SUMO's first error, the ones that follow from it in brackets."""
    first, *rest = errors
    return first + (f" ({'; '.join(rest)})" if rest else "")


def _sumo_errors(net_file: str | Path, files: Sequence[str], begin: float) -> list[str]:
    """SUMO's ``Error:`` lines when it loads the network and route files (none: it loads
    them, or did not finish within a minute)."""
    cmd = [sumo_binary("sumo"), "-n", str(net_file), "--begin", f"{begin:g}", "--end",
           f"{begin:g}", "--route-steps", "0", "--no-step-log", "true", "--no-warnings", "true",
           "--duration-log.disable", "true"]  # fmt: skip
    if files:
        cmd += ["-r", ",".join(files)]
    sumo_home()  # SUMO_HOME for SUMO's own XML checks
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, errors="replace")
    except subprocess.TimeoutExpired:
        return []
    if done.returncode == 0:
        return []
    lines = (done.stderr + done.stdout).splitlines()
    found = [
        x.removeprefix("Error: ").strip().rstrip(".") for x in lines if x.startswith("Error: ")
    ]
    return found or [f"sumo exited with code {done.returncode}"]
