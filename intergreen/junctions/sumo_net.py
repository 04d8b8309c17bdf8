"""Facts about one signalised junction of a SUMO network, read with sumolib.

:func:`read_tls` opens a ``.net.xml`` and one traffic light (``tlLogic``) and returns
:class:`TlsFacts`: its signal links (lane-to-lane connections and pedestrian crossings, in
the order of the characters of SUMO's state strings), the link indices no connection carries
(``TlsFacts.unused``: netconvert leaves an index unused when it drops a connection of a loaded
program, e.g. a U-turn, and SUMO applies that state character to no link), which links are
foes and which must yield to which (SUMO's own foe and response matrices of the junction,
never guessed), the program's phases, the arms of the junction (incoming and outgoing edges
paired by bearing) with their approach and exit lanes, and each link's path across the
junction (for clearance times). Nothing here decides stages or signal groups: see
:mod:`intergreen.junctions.sumo_import`.

Errors a user can cause (a file that is not a SUMO network, an unknown traffic light id, a
traffic light controlling several junctions, a program id that does not exist, a program
whose states have not one character per link index, up to the last used one) raise
:class:`NetworkImportError` naming the file and the fix.
"""

from __future__ import annotations

import gzip
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from xml.parsers.expat import errors as expat_errors
from xml.sax import SAXParseException

from intergreen.common import listing
from intergreen.junctions.spec import SpecError

__all__ = [
    "NetArm",
    "NetworkImportError",
    "ProgramPhase",
    "TlsFacts",
    "TlsLink",
    "fastest_route",
    "gzipped",
    "network",
    "open_sumo_xml",
    "read_tls",
    "tls_ids",
]

#: SUMO connection directions -> our turn names
TURN_OF_DIR = {"s": "ahead", "l": "left", "L": "left", "r": "right", "R": "right",
               "t": "uturn", "T": "uturn"}  # fmt: skip
_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


class NetworkImportError(SpecError):
    """A SUMO network, traffic light or route file cannot be imported; the message names the
    file and what to do."""


def not_a_file(path: Path, kind: str) -> str:
    """The message for ``path`` that is not a file of ``kind`` (``".net.xml"``, ``".rou.xml"``):
    a folder, or nothing there."""
    if path.is_dir():
        return f"{path}: a folder, not a {kind} file; give the path of the {kind} in it"
    return f"{path}: no such file; give the path of a {kind} (or {kind}.gz, gzip-compressed)"


@dataclass(frozen=True)
class TlsLink:
    """One character of the traffic light's state string: a vehicle connection (or several
    sharing the index) or a pedestrian crossing.

    ``arm`` is the arm the link leaves from (the crossed arm for a crossing), ``to_arm`` the
    arm it enters, ``turn`` one of left / ahead / right / uturn / crossing.
    """

    index: int
    from_lanes: tuple[str, ...]
    to_lanes: tuple[str, ...]
    arm: str
    to_arm: str
    turn: str
    path: tuple[tuple[float, float], ...]  # across the junction, from the stop line
    speed: float  # m/s on the path (the internal lane's limit)

    @property
    def crossing(self) -> bool:
        return self.turn == "crossing"

    @property
    def movement(self) -> str:
        return f"{self.arm}.{self.turn}"


@dataclass(frozen=True)
class NetArm:
    """An arm: an incoming and/or an outgoing edge of the junction on one bearing (degrees
    clockwise from north, from the junction centre outwards)."""

    name: str
    bearing: float
    in_edge: str | None
    out_edge: str | None
    approach_lanes: tuple[str, ...]  # SUMO lane ids with a signalled vehicle link, kerb first
    exit_lanes: tuple[str, ...]  # SUMO lane ids that links enter
    length: float  # m, the shortest approach lane (0 without approach)
    speed_limit: float  # m/s of the approach (or exit) edge


@dataclass(frozen=True)
class ProgramPhase:
    state: str
    duration: float
    min_dur: float | None  # given explicitly in the network, else None


@dataclass(frozen=True)
class TlsFacts:
    """Everything read from the network about one traffic light (see the module docstring)."""

    net_file: Path
    tls_id: str
    node_id: str
    lefthand: bool
    program_id: str
    program_type: str
    phases: tuple[ProgramPhase, ...]
    links: tuple[TlsLink, ...]
    arms: tuple[NetArm, ...]
    foes: frozenset[tuple[int, int]]  # link index pairs, both orders
    yields: frozenset[tuple[int, int]]  # (a, b): link a must give way to link b
    lane_length: dict[str, float] = field(default_factory=dict)
    lane_speed: dict[str, float] = field(default_factory=dict)
    crossings: dict[str, str] = field(default_factory=dict)  # crossing edge id -> arm
    walking_areas: tuple[str, ...] = ()
    #: link indices no connection carries (state positions SUMO applies to no link)
    unused: tuple[int, ...] = ()

    def arm(self, name: str) -> NetArm:
        return next(a for a in self.arms if a.name == name)

    @property
    def n_states(self) -> int:
        """Characters of the program's state strings: the used and the unused link indices."""
        return len(self.links) + len(self.unused)

    def link(self, index: int) -> TlsLink:
        """The link with SUMO link index ``index``; KeyError for an unused or unknown index."""
        return self._by_index[index]

    @cached_property
    def _by_index(self) -> dict[int, TlsLink]:
        return {link.index: link for link in self.links}


#: expat's error code for a document without any element (an empty file, or only a prolog)
_NO_ELEMENTS = expat_errors.codes[expat_errors.XML_ERROR_NO_ELEMENTS]


def gzipped(path: Path) -> bool:
    """Whether ``path`` is gzip-compressed (by content, as SUMO and sumolib tell: a
    ``.net.xml.gz`` or a compressed file under any name)."""
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_sumo_xml(path: Path):
    """``path`` (a SUMO network or route file) opened for reading as bytes, decompressed
    when :func:`gzipped`."""
    return gzip.open(path, "rb") if gzipped(path) else open(path, "rb")


def _root(net_file: Path) -> ET.Element:
    """The root element, without reading the whole file; NetworkImportError if it is no
    SUMO network. A gzip-compressed network is read as SUMO reads it."""
    try:
        with open_sumo_xml(net_file) as f:
            for _, el in ET.iterparse(f, events=("start",)):
                return el
    except (OSError, EOFError) as e:
        why = getattr(e, "strerror", None) or e
        raise NetworkImportError(f"{net_file}: cannot read ({why})") from None
    except ET.ParseError as e:
        what = "empty: no <net version=...> root" if e.code == _NO_ELEMENTS else f"XML error: {e}"
        fix = "give a .net.xml written by netconvert"
        if net_file.name.endswith(".gz"):  # read as plain XML: gzipped() found no gzip header
            what = f"not gzip-compressed as its name says, and as plain XML: {what}"
            fix += " (or that file compressed by gzip: gzip NAME.net.xml)"
        raise NetworkImportError(f"{net_file}: not a SUMO network ({what}); {fix}") from None
    raise NetworkImportError(f"{net_file}: empty file; give a .net.xml written by netconvert")


def _check_network(net_file: Path) -> ET.Element:
    root = _root(net_file)
    if root.tag != "net":
        raise NetworkImportError(
            f"{net_file}: not a SUMO network (top element <{root.tag}>, expected <net>); give a "
            ".net.xml written by netconvert"
        )
    if root.get("version") is None:
        raise NetworkImportError(
            f"{net_file}: not a SUMO network (no <net version=...> root: its <net> has no "
            "version); give a .net.xml written by netconvert"
        )
    return root


@lru_cache(maxsize=8)
def _read_net(net_file: Path, mtime: float):
    import sumolib  # slow to import

    try:
        return sumolib.net.readNet(str(net_file), withPrograms=True, withPedestrianConnections=True)
    except SAXParseException as e:  # cut short, or broken XML past the root element
        raise NetworkImportError(
            f"{net_file}: not a complete SUMO network (XML error at line {e.getLineNumber()}, "
            f"column {e.getColumnNumber()}: {e.getMessage()}; is the file truncated?); give a "
            ".net.xml written by netconvert"
        ) from None
    except KeyError as e:  # an element without an attribute sumolib needs
        raise NetworkImportError(
            f"{net_file}: not a SUMO network sumolib can read (an element lacks the attribute "
            f"{e}); give a .net.xml written by netconvert"
        ) from None
    except Exception as e:  # sumolib raises whatever its parser meets
        raise NetworkImportError(
            f"{net_file}: cannot read the SUMO network ({type(e).__name__}: {e}); give a "
            ".net.xml written by netconvert"
        ) from None


def network(net_file: str | Path):
    """The sumolib network of a ``.net.xml`` (read once per file version)."""
    path = Path(net_file).resolve()
    if not path.is_file():
        raise NetworkImportError(not_a_file(path, ".net.xml"))
    _check_network(path)
    return _read_net(path, path.stat().st_mtime)


def fastest_route(
    net_file: str | Path, edges: Sequence[str], vclass: str = "passenger"
) -> tuple[str, ...]:
    """The edges a trip drives: between each pair of consecutive ``edges`` (a trip's ``from``,
    ``via``... and ``to``), the fastest path over ``net_file`` at free-flow speed for a vehicle
    of SUMO class ``vclass`` (sumolib's ``getFastestPath``, the path SUMO's router gives a trip
    on an empty network; the class keeps cars off footpaths, walking areas and crossings).
    ``edges`` unchanged when one of them is not in the network or a pair is not connected;
    () for (). Read once per network file, each route computed once."""
    path = Path(net_file).resolve()
    return _fastest_route(path, path.stat().st_mtime, tuple(edges), vclass)


@lru_cache(maxsize=65536)
def _fastest_route(
    net_file: Path, mtime: float, edges: tuple[str, ...], vclass: str
) -> tuple[str, ...]:
    if len(edges) < 2:
        return edges
    net = _read_net(net_file, mtime)
    out = [edges[0]]
    for a, b in zip(edges, edges[1:], strict=False):
        if not (net.hasEdge(a) and net.hasEdge(b)):
            return edges
        route, _ = net.getFastestPath(net.getEdge(a), net.getEdge(b), vClass=vclass)
        if not route:
            return edges
        out += [e.getID() for e in route[1:]]
    return tuple(out)


def tls_ids(net_file: str | Path) -> list[str]:
    """The traffic light ids of a network, sorted."""
    return sorted(t.getID() for t in network(net_file).getTrafficLights())


def read_tls(
    net_file: str | Path, tls_id: str | None = None, program_id: str | None = None
) -> TlsFacts:
    """Read one traffic light of a SUMO network (the only one when ``tls_id`` is None).

    ``program_id`` picks one of its programs (default: the one SUMO would run, the last
    loaded). Raises NetworkImportError for a file that is not a SUMO network, an unknown or
    missing tls id (listing the ones that exist), a traffic light controlling several
    junctions or an unknown program.
    """
    path = Path(net_file).resolve()
    if not path.is_file():
        raise NetworkImportError(not_a_file(path, ".net.xml"))
    return _read_tls(path, path.stat().st_mtime, tls_id, program_id)


@lru_cache(maxsize=32)
def _read_tls(path: Path, mtime: float, tls_id: str | None, program_id: str | None) -> TlsFacts:
    root = _check_network(path)
    lefthand = root.get("lefthand", "false").lower() == "true"
    net = _read_net(path, mtime)
    ids = sorted(t.getID() for t in net.getTrafficLights())
    if not ids:
        raise NetworkImportError(f"{path}: the network has no traffic lights to control")
    if tls_id is None:
        if len(ids) > 1:
            raise NetworkImportError(
                f"{path}: the network has {len(ids)} traffic lights; choose one with --tls "
                f"({listing(ids, 20)})"
            )
        tls_id = ids[0]
    if tls_id not in ids:
        raise NetworkImportError(
            f"{path}: no traffic light {tls_id!r}; the network has {listing(ids, 20)}: choose "
            f"one with --tls"
        )
    tls = net.getTLS(tls_id)
    nodes = sorted({a.getEdge().getToNode().getID() for a, _, _ in tls.getConnections()})
    if len(nodes) != 1:
        raise NetworkImportError(
            f"{path}: traffic light {tls_id!r} controls {len(nodes)} junctions "
            f"({', '.join(nodes)}); import one that controls a single junction, or join them "
            "into one with netconvert --junctions.join"
        )
    node = net.getNode(nodes[0])
    programs = tls.getPrograms()
    if not programs:
        raise NetworkImportError(f"{path}: traffic light {tls_id!r} has no signal program")
    if program_id is None:
        program_id = list(programs)[-1]
    if program_id not in programs:
        raise NetworkImportError(
            f"{path}: traffic light {tls_id!r} has no program {program_id!r} "
            f"(programs: {', '.join(programs)})"
        )
    program = programs[program_id]
    phases = tuple(
        ProgramPhase(
            state=p.state,
            duration=float(p.duration),
            min_dur=None if p.minDur is None or p.minDur < 0 else float(p.minDur),
        )
        for p in program.getPhases()
    )
    arms, arm_of_edge = _arms(net, node)
    links, foes, yields = _links(net, node, tls, arm_of_edge, path)
    n_states = links[-1].index + 1
    lengths = sorted({len(p.state) for p in phases})
    if lengths != [n_states]:
        surplus = " (SUMO warns of unused states past the last)" if lengths[:1] > [n_states] else ""
        raise NetworkImportError(
            f"{path}: program {program_id!r} of {tls_id!r} has states of {lengths} characters "
            f"for link indices 0..{n_states - 1}, one character each{surplus}; repair the "
            "program (netedit) and import again"
        )
    used = {link.index for link in links}
    unused = tuple(k for k in range(n_states) if k not in used)
    lanes = {lane for a in arms for lane in a.approach_lanes + a.exit_lanes}
    crossings, walking = _pedestrian_areas(net, node, arm_of_edge)
    return TlsFacts(
        net_file=path,
        tls_id=tls_id,
        node_id=node.getID(),
        lefthand=lefthand,
        program_id=str(program_id),
        program_type=str(program.getType()),
        phases=phases,
        links=links,
        arms=arms,
        foes=frozenset(foes),
        yields=frozenset(yields),
        lane_length={lane: net.getLane(lane).getLength() for lane in sorted(lanes)},
        lane_speed={lane: net.getLane(lane).getSpeed() for lane in sorted(lanes)},
        crossings=crossings,
        walking_areas=walking,
        unused=unused,
    )


# ----- geometry -----------------------------------------------------------------------
def _bearing(frm: Sequence[float], to: Sequence[float]) -> float:
    """Compass bearing (degrees clockwise from north) from ``frm`` to ``to`` (SUMO x east,
    y north)."""
    return math.degrees(math.atan2(to[0] - frm[0], to[1] - frm[1])) % 360


def _point_along(shape: Sequence[Sequence[float]], distance: float) -> tuple[float, float]:
    """The point ``distance`` metres along a polyline (its end when shorter)."""
    left = distance
    for a, b in zip(shape, shape[1:], strict=False):
        seg = math.dist(a[:2], b[:2])
        if seg >= left and seg > 0:
            t = left / seg
            return a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        left -= seg
    return shape[-1][0], shape[-1][1]


def _edge_bearing(edge, centre: tuple[float, float], incoming: bool) -> float:
    """Bearing from the junction centre to a point 20 m along the edge away from it."""
    shape = [p[:2] for p in edge.getShape()]
    away = shape[::-1] if incoming else shape
    return _bearing(centre, _point_along(away, 20.0))


def _angle(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def _arms(net, node) -> tuple[tuple[NetArm, ...], dict[str, str]]:
    """Arms of the junction: incoming and outgoing normal edges. An incoming edge is paired
    with the outgoing edge that leads back to where it came from, or that its U-turn
    enters (divided roads), else with one pointing within 45 degrees of it."""
    centre = tuple(node.getCoord()[:2])
    incoming = [e for e in node.getIncoming() if e.getFunction() == ""]
    outgoing = [e for e in node.getOutgoing() if e.getFunction() == ""]
    b_in = {e.getID(): _edge_bearing(e, centre, True) for e in incoming}
    b_out = {e.getID(): _edge_bearing(e, centre, False) for e in outgoing}
    pairs: list[tuple[float, str, str]] = []
    for e in incoming:
        for o in outgoing:
            same_end = e.getFromNode().getID() == o.getToNode().getID()
            uturn = any(c.getDirection() in "tT" for c in e.getOutgoing().get(o, []))
            diff = _angle(b_in[e.getID()], b_out[o.getID()])
            if same_end or uturn or diff <= 45:
                pairs.append((0.0 if same_end or uturn else diff, e.getID(), o.getID()))
    used_in: set[str] = set()
    used_out: set[str] = set()
    groups: list[tuple[str | None, str | None, float]] = []
    for _, i, o in sorted(pairs):
        if i in used_in or o in used_out:
            continue
        used_in.add(i)
        used_out.add(o)
        mean = (
            math.degrees(
                math.atan2(
                    math.sin(math.radians(b_in[i])) + math.sin(math.radians(b_out[o])),
                    math.cos(math.radians(b_in[i])) + math.cos(math.radians(b_out[o])),
                )
            )
            % 360
        )
        groups.append((i, o, mean))
    groups += [(e.getID(), None, b_in[e.getID()]) for e in incoming if e.getID() not in used_in]
    groups += [(None, o.getID(), b_out[o.getID()]) for o in outgoing if o.getID() not in used_out]
    groups.sort(key=lambda g: g[2])
    names: list[str] = []
    for _, _, bearing in groups:
        base = _COMPASS[int(((bearing + 22.5) % 360) // 45)]
        name, k = base, 2
        while name in names:
            name, k = f"{base}{k}", k + 1
        names.append(name)
    arms, arm_of_edge = [], {}
    for name, (i, o, bearing) in zip(names, groups, strict=True):
        in_edge = net.getEdge(i) if i else None
        out_edge = net.getEdge(o) if o else None
        approach = tuple(
            lane.getID()
            for lane in (in_edge.getLanes() if in_edge else [])
            if any(c.getTLSID() for c in lane.getOutgoing()) and _vehicles(lane)
        )
        exits = tuple(
            lane.getID() for lane in (out_edge.getLanes() if out_edge else []) if _vehicles(lane)
        )
        length = min((net.getLane(x).getLength() for x in approach), default=0.0)
        speed = (in_edge or out_edge).getSpeed()
        arms.append(NetArm(name, round(bearing, 1), i, o, approach, exits, length, speed))
        for e in (i, o):
            if e:
                arm_of_edge[e] = name
    return tuple(arms), arm_of_edge


def _vehicles(lane) -> bool:
    """Whether any vehicle class other than pedestrians may use the lane."""
    allowed = lane._allowed if hasattr(lane, "_allowed") else None
    if allowed is None:
        return True
    return any(c != "pedestrian" for c in allowed)


def _path(net, connection) -> tuple[tuple[tuple[float, float], ...], float]:
    """The polyline across the junction of a connection (its internal lanes, in order) and
    the lowest speed limit on them; the straight stop-line-to-exit chord without internal
    lanes."""
    points: list[tuple[float, float]] = []
    speeds: list[float] = []
    via = connection.getViaLaneID()
    seen = set()
    while via and via not in seen:
        seen.add(via)
        try:
            lane = net.getLane(via)
        except KeyError:
            break
        points += [p[:2] for p in lane.getShape()]
        speeds.append(lane.getSpeed())
        nxt = [c for c in lane.getOutgoing() if c.getToLane() is not None]
        via = nxt[0].getViaLaneID() if nxt else ""
    if len(points) < 2:
        a = connection.getFromLane().getShape()[-1][:2]
        b = connection.getToLane().getShape()[0][:2]
        points = [a, b]
    speed = min(speeds) if speeds else connection.getToLane().getSpeed()
    return tuple((round(x, 3), round(y, 3)) for x, y in points), speed


def _links(net, node, tls, arm_of_edge: dict[str, str], path: Path):
    """The traffic light's links in state-string order (link indices no connection carries
    are left out), and SUMO's foe and response relations between them (translated from the
    junction's request indices)."""
    by_index: dict[int, list] = {}
    for in_lane, out_lane, index in tls.getConnections():
        con = next((c for c in in_lane.getOutgoing() if c.getToLane() == out_lane), None)
        if con is None:
            continue
        by_index.setdefault(index, []).append(con)
    if not by_index:
        raise NetworkImportError(f"{path}: traffic light {tls.getID()!r} controls no links")
    # indices no connection carries stay unused (netconvert leaves them when it drops a
    # connection of a loaded program, e.g. a U-turn); SUMO applies their state to no link
    indices = sorted(by_index)
    links = []
    junction_index: dict[int, list[int]] = {}
    for index in indices:
        cons = by_index[index]
        first = cons[0]
        from_edge, to_edge = first.getFrom(), first.getTo()
        if to_edge.getFunction() == "crossing":
            crossed = [e.getID() for e in to_edge.getCrossingEdges()]
            arm = next((arm_of_edge[e] for e in crossed if e in arm_of_edge), "?")
            turn, to_arm = "crossing", arm
        else:
            arm = arm_of_edge.get(from_edge.getID(), "?")
            to_arm = arm_of_edge.get(to_edge.getID(), "?")
            turn = TURN_OF_DIR.get(first.getDirection(), "ahead")
        shape, speed = _path(net, first)
        links.append(
            TlsLink(
                index=index,
                from_lanes=tuple(dict.fromkeys(c.getFromLane().getID() for c in cons)),
                to_lanes=tuple(dict.fromkeys(c.getToLane().getID() for c in cons)),
                arm=arm,
                to_arm=to_arm,
                turn=turn,
                path=shape,
                speed=speed,
            )
        )
        junction_index[index] = [node.getLinkIndex(c) for c in cons]
    foes: set[tuple[int, int]] = set()
    yields: set[tuple[int, int]] = set()
    foe_rows, response_rows = node._foes, node._prohibits
    for a in indices:
        for b in indices:
            if a == b:
                continue
            for ja in junction_index[a]:
                for jb in junction_index[b]:
                    if ja < 0 or jb < 0 or ja not in foe_rows:
                        continue
                    if _bit(foe_rows[ja], jb):
                        foes.add((a, b))
                        foes.add((b, a))
                    if _bit(response_rows[ja], jb):
                        yields.add((a, b))
    return tuple(links), foes, yields


def _bit(row: str, j: int) -> bool:
    """Bit j of a SUMO request row (written with index 0 rightmost)."""
    return 0 <= j < len(row) and row[len(row) - 1 - j] == "1"


def _pedestrian_areas(net, node, arm_of_edge: dict[str, str]):
    """Crossing edge id -> arm crossed, and the junction's walking areas."""
    crossings: dict[str, str] = {}
    walking: list[str] = []
    prefix = f":{node.getID()}_"
    for edge in net.getEdges(withInternal=True):
        eid = edge.getID()
        if not eid.startswith(prefix):
            continue
        if edge.getFunction() == "crossing":
            crossed = [e.getID() for e in edge.getCrossingEdges()]
            crossings[eid] = next((arm_of_edge[e] for e in crossed if e in arm_of_edge), "?")
        elif edge.getFunction() == "walkingarea":
            walking.append(eid)
    return crossings, tuple(walking)
