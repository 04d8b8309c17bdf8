"""Build a SUMO network for a JunctionSpec, cached by content hash.

spec -> SUMO plain XML (nodes, edges, connections) -> ``netconvert --lefthand``
-> ``.net.xml`` with one traffic light ``TL``, plus an additional file with the
sensors (camera zones and stop-line detectors, both SUMO lane-area detectors, E2) and the
vehicle-actuation loops of UK System D (SUMO induction loops, E1, see
:data:`SYSTEM_D_SETBACKS`), which only the ``vehicle-actuated`` baseline reads.
The link order of the traffic light is read back from the built network and
mapped to the spec's signal groups (:class:`Network.links`).

Builds are cached under ``$INTERGREEN_CACHE`` (default ``~/.cache/intergreen``)
in a folder named by the spec's content hash, written to a temporary folder and
renamed on success, so a spec change rebuilds and an interrupted build leaves
nothing half-made.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from intergreen.common import atomic_write
from intergreen.errors import IntergreenError
from intergreen.junctions.spec import JunctionSpec, Link, link_for
from intergreen.junctions.sumo import sumo_binary

TLS_ID = "TL"
CENTRE = "C"
#: Set-backs (m upstream of the stop line) of the three System D loops per approach lane,
#: X, Y and Z, for roads limited to 30-40 mph (UK practice for isolated vehicle actuation;
#: sources in intergreen/junctions/system_d.py). On a shorter lane see
#: :func:`system_d_setbacks`.
SYSTEM_D_SETBACKS = (39.0, 25.0, 12.0)
#: m: a loop a lane too short for any set-back gets lies this far from the lane's start
SHORT_LANE_LOOP_MARGIN = 0.5
#: Version of the sensor file, bumped when its detectors change (2: System D loops; 3: exit-lane
#: cameras; 4: cameras count halting below HALTING_SPEED; 5: a System D loop on lanes shorter
#: than every set-back). Each version has its own file beside a
#: cached network (``sensors-4.add.xml``), made when first needed: versions of intergreen sharing
#: a cache never rewrite each other's file.
SENSOR_LAYOUT_VERSION = 5
SENSOR_LAYOUT = f"<!-- intergreen sensor layout {SENSOR_LAYOUT_VERSION} -->"
SENSORS_FILE = f"sensors-{SENSOR_LAYOUT_VERSION}.add.xml"


class NetworkError(IntergreenError, RuntimeError):
    """netconvert failed or produced a network that does not match the spec."""


@dataclass(frozen=True)
class Network:
    """A built network: paths, the traffic light's links and the sensor layout."""

    spec_hash: str
    net_file: Path
    sensors_file: Path
    links: tuple[Link, ...]
    approach_lanes: tuple[str, ...]  # SUMO lane ids, in spec.approach_lane_ids order
    lane_lengths: tuple[float, ...]
    speed_limits: tuple[float, ...]
    edges: tuple[str, ...]  # all normal edges
    approach_edges: tuple[str, ...]
    exit_edges: tuple[str, ...]
    edge_speed_limits: dict[str, float]
    crossings: dict[str, str]  # crossing edge id -> arm
    walking_areas: tuple[str, ...]
    tls_id: str = TLS_ID  # the traffic light the controller drives
    exit_lanes: tuple[str, ...] = ()  # SUMO lane ids leaving the junction, with exit cameras

    @property
    def crossing_arms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.crossings.values()))

    @property
    def camera_ids(self) -> tuple[str, ...]:
        return tuple(f"cam_{lane}" for lane in self.approach_lanes)

    @property
    def exit_camera_ids(self) -> tuple[str, ...]:
        """Camera zones at the start of each exit lane (queues blocking the junction)."""
        return tuple(f"exit_{lane}" for lane in self.exit_lanes)

    @property
    def stop_line_loop_ids(self) -> tuple[str, ...]:
        return tuple(f"stop_{lane}" for lane in self.approach_lanes)

    @property
    def system_d_loop_ids(self) -> tuple[tuple[str, ...], ...]:
        """Per approach lane (spec order), the ids of its System D induction loops, farthest
        first (SUMO E1 detectors; see :data:`SYSTEM_D_SETBACKS`)."""
        return tuple(
            tuple(system_d_loop_id(lane, d) for d in system_d_setbacks(length))
            for lane, length in zip(self.approach_lanes, self.lane_lengths, strict=True)
        )


def cache_dir() -> Path:
    root = os.environ.get("INTERGREEN_CACHE") or Path.home() / ".cache" / "intergreen"
    return Path(root)


def system_d_setbacks(length: float) -> tuple[float, ...]:
    """Set-backs (m before the stop line, farthest first) of the System D loops on an
    approach lane ``length`` m long: those of :data:`SYSTEM_D_SETBACKS` that lie on the lane;
    on a lane shorter than all of them (a short link between junctions, e.g. ingolstadt1's
    W arm, 8.9 m), one loop near the lane's start, so that its traffic still calls its stage
    (without any loop its stage would be called only by other lanes' traffic)."""
    fits = tuple(d for d in SYSTEM_D_SETBACKS if d < length)
    if fits or length <= 0:
        return fits
    return (round(max(length - SHORT_LANE_LOOP_MARGIN, length / 2), 2),)


def system_d_loop_id(lane: str, setback: float) -> str:
    """Id of the System D loop ``setback`` metres before the stop line of SUMO lane ``lane``."""
    return f"sysd_{lane}_{setback:g}"


def approach_edge(arm: str) -> str:
    return f"{arm}_in"


def exit_edge(arm: str) -> str:
    return f"{arm}_out"


def _arm_xy(spec: JunctionSpec, arm: str) -> tuple[float, float]:
    a = spec.arms[arm]
    rad = math.radians(a.bearing)
    return round(a.length * math.sin(rad), 2), round(a.length * math.cos(rad), 2)


def crossing_arms(spec: JunctionSpec) -> list[str]:
    """Arms with a signalled pedestrian crossing (an ``ARM.crossing`` movement)."""
    arms = {
        m.split(".")[0]
        for g in spec.signal_groups.values()
        for m in g.movements
        if m.endswith(".crossing")
    }
    return [a for a in spec.arms if a in arms]


def _plain_xml(spec: JunctionSpec, pedestrians: bool) -> dict[str, str]:
    nodes = [f'  <node id="{CENTRE}" x="0" y="0" type="traffic_light" tl="{TLS_ID}"/>']
    edges, cons = [], []
    crossings = crossing_arms(spec) if pedestrians else []
    # with crossings every edge gets a sidewalk, which becomes lane 0
    walk = ' sidewalkWidth="2.0"' if crossings else ""
    offset = 1 if crossings else 0
    for arm_id, arm in spec.arms.items():
        x, y = _arm_xy(spec, arm_id)
        nodes.append(f'  <node id="{arm_id}" x="{x}" y="{y}" type="priority"/>')
        edges.append(
            f'  <edge id="{approach_edge(arm_id)}" from="{arm_id}" to="{CENTRE}" '
            f'numLanes="{len(arm.approach_lanes) + offset}" speed="{arm.speed_limit}" '
            f'priority="1"{walk}/>'
        )
        edges.append(
            f'  <edge id="{exit_edge(arm_id)}" from="{CENTRE}" to="{arm_id}" '
            f'numLanes="{arm.exit_lanes + offset}" speed="{arm.speed_limit}" '
            f'priority="1"{walk}/>'
        )
    for arm_id, arm in spec.arms.items():
        for i, lane in enumerate(arm.approach_lanes):
            for turn in lane.movements:
                dest = spec.destinations[f"{arm_id}.{turn}"]
                n_out = spec.arms[dest].exit_lanes
                to_lane = {"left": 0, "right": n_out - 1}.get(turn, min(i, n_out - 1))
                cons.append(
                    f'  <connection from="{approach_edge(arm_id)}" to="{exit_edge(dest)}" '
                    f'fromLane="{i + offset}" toLane="{to_lane + offset}"/>'
                )
    for arm_id in crossings:
        cons.append(
            f'  <crossing node="{CENTRE}" edges="{approach_edge(arm_id)} {exit_edge(arm_id)}" '
            'priority="true"/>'
        )
    return {
        "nodes.nod.xml": "<nodes>\n" + "\n".join(nodes) + "\n</nodes>\n",
        "edges.edg.xml": "<edges>\n" + "\n".join(edges) + "\n</edges>\n",
        "connections.con.xml": "<connections>\n" + "\n".join(cons) + "\n</connections>\n",
    }


def _netconvert(folder: Path) -> None:
    cmd = [
        sumo_binary("netconvert"),
        "--node-files", "nodes.nod.xml",
        "--edge-files", "edges.edg.xml",
        "--connection-files", "connections.con.xml",
        "--lefthand", "true",
        "--no-turnarounds", "true",
        "--tls.default-type", "static",
        "--junctions.corner-detail", "5",
        "--output-file", "junction.net.xml",
        "--no-warnings", "true",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise NetworkError(f"netconvert failed: {proc.stderr.strip()[-800:]}")


def _read_layout(spec: JunctionSpec, net_file: Path, pedestrians: bool) -> dict:
    import sumolib  # imported late: slow to import

    net = sumolib.net.readNet(str(net_file), withInternal=False)
    tls = net.getTLS(TLS_ID)
    by_index = _crossing_links(net_file)
    for in_lane, out_lane, index in tls.getConnections():
        if in_lane.getEdge().getID().startswith(":"):
            continue  # a walking area to a crossing, read above
        arm = in_lane.getEdge().getID().removesuffix("_in")
        dest = out_lane.getEdge().getID().removesuffix("_out")
        turn = next(
            t for t in ("left", "ahead", "right") if spec.destinations.get(f"{arm}.{t}") == dest
        )
        movement = f"{arm}.{turn}"
        if by_index.get(index, movement) != movement:
            raise NetworkError(f"link {index} serves two movements: {by_index[index]}, {movement}")
        by_index[index] = movement
    if sorted(by_index) != list(range(len(by_index))):
        raise NetworkError(f"traffic light link indices are not contiguous: {sorted(by_index)}")
    lanes, lengths, limits = [], [], []
    offset = 1 if pedestrians and crossing_arms(spec) else 0
    for lane_id in spec.approach_lane_ids:
        arm, i = lane_id.rsplit("_", 1)
        lane = net.getLane(f"{approach_edge(arm)}_{int(i) + offset}")
        lanes.append(lane.getID())
        lengths.append(lane.getLength())
        limits.append(lane.getSpeed())
    edges = [e.getID() for e in net.getEdges()]
    crossings, walking = _crossing_edges(net_file)
    return {
        **_exit_lanes(spec, net),
        "crossings": crossings,
        "walking_areas": walking,
        "movements": [by_index[i] for i in range(len(by_index))],
        "approach_lanes": lanes,
        "lane_lengths": lengths,
        "speed_limits": limits,
        "edges": edges,
        "edge_speed_limits": {e.getID(): e.getSpeed() for e in net.getEdges()},
    }


def _exit_lanes(spec: JunctionSpec, net) -> dict[str, list]:
    """The vehicle lanes of every exit edge (sumolib network) and their lengths."""
    exits = [
        lane
        for arm in spec.arms
        for lane in net.getEdge(exit_edge(arm)).getLanes()
        if lane.allows("passenger")
    ]
    return {
        "exit_lanes": [lane.getID() for lane in exits],
        "exit_lengths": [lane.getLength() for lane in exits],
    }


def _crossing_edges(net_file: Path) -> tuple[dict[str, str], list[str]]:
    """Crossing edge id -> arm, and the junction's walking areas."""
    import xml.etree.ElementTree as ET

    arms, walking = {}, []
    for edge in ET.parse(net_file).getroot().iter("edge"):
        if edge.get("function") == "crossing":
            first = edge.get("crossingEdges", "").split()[0]
            arms[edge.get("id")] = first.rsplit("_", 1)[0]
        elif edge.get("function") == "walkingarea" and edge.get("id", "").startswith(f":{CENTRE}_"):
            walking.append(edge.get("id"))
    return arms, walking


def _crossing_links(net_file: Path) -> dict[int, str]:
    """Traffic-light link index of each pedestrian crossing -> ``ARM.crossing``."""
    import xml.etree.ElementTree as ET

    root = ET.parse(net_file).getroot()
    arms, _ = _crossing_edges(net_file)
    links = {}
    for con in root.iter("connection"):
        if con.get("tl") == TLS_ID and con.get("to") in arms:
            links[int(con.get("linkIndex"))] = f"{arms[con.get('to')]}.crossing"
    return links


#: m/s: a camera counts a vehicle as halting (queued) below this speed, as SUMO's own waiting
#: time and the study do; the lane-area detector's ``speedThreshold`` (SUMO's default 1.39 m/s)
#: is what ``getLastStepHaltingNumber`` compares with.
HALTING_SPEED = 0.1


def sensors_xml(spec: JunctionSpec, layout: dict) -> str:
    """The additional file: camera zones (lane-area detectors, E2, ``camera_range`` from the
    stop line, cut to the lane's length, halting below HALTING_SPEED) and stop-line detectors
    (1 m lane-area detectors, E2, over the stop line, counting the vehicles that enter them)
    on ``layout``'s approach lanes, System D loops (E1), and a camera zone of the same range
    from the start of each exit lane (``exit_lanes``, ``exit_lengths``), if any."""
    rng = spec.sensors.camera_range
    lines = ["<additional>", f"  {SENSOR_LAYOUT}"]
    for lane, length in zip(layout["approach_lanes"], layout["lane_lengths"], strict=True):
        zone = min(rng, length - 0.5)
        start = max(0.0, length - zone)
        lines.append(
            f"  <laneAreaDetector id={quoteattr('cam_' + lane)} lane={quoteattr(lane)} "
            f'pos="{start:.2f}" endPos="{length:.2f}" period="86400" file="NUL" '
            f'speedThreshold="{HALTING_SPEED}" friendlyPos="true"/>'
        )
        if spec.sensors.stop_line_loops:
            # a stop-line detector: a 1 m lane-area detector (E2) over the stop line
            lines.append(
                f"  <laneAreaDetector id={quoteattr('stop_' + lane)} lane={quoteattr(lane)} "
                f'pos="{length - 1.0:.2f}" endPos="{length:.2f}" period="86400" file="NUL" '
                'friendlyPos="true"/>'
            )
        for setback in system_d_setbacks(length):
            loop = system_d_loop_id(lane, setback)
            lines.append(
                f"  <inductionLoop id={quoteattr(loop)} lane={quoteattr(lane)} "
                f'pos="{length - setback:.2f}" period="86400" file="NUL"/>'
            )
    for lane, length in zip(layout.get("exit_lanes", []), layout.get("exit_lengths", []),
                            strict=True):  # fmt: skip
        lines.append(
            f"  <laneAreaDetector id={quoteattr('exit_' + lane)} lane={quoteattr(lane)} "
            f'pos="0" endPos="{min(rng, length - 0.5):.2f}" period="86400" file="NUL" '
            f'speedThreshold="{HALTING_SPEED}" friendlyPos="true"/>'
        )
    lines.append("</additional>")
    return "\n".join(lines) + "\n"


def build_network(spec: JunctionSpec, *, pedestrians: bool = False, force: bool = False) -> Network:
    """Build (or reuse from the cache) the network and sensor file of ``spec``.

    With ``pedestrians`` (and crossings in the spec) every edge gets a sidewalk (SUMO
    lane 0) and each crossing arm a signalled crossing; otherwise the pedestrian
    groups control no links, so a pedestrian stage is an all-red for vehicles.
    """
    own = spec.prebuilt_network(pedestrians=pedestrians, force=force)
    if own is not None:  # a junction imported from a SUMO network brings its own
        return own
    digest = spec.content_hash()
    peds = pedestrians and bool(crossing_arms(spec))
    folder = cache_dir() / "networks" / f"{spec.name}-{digest}{'-peds' if peds else ''}"
    layout_file = folder / "layout.json"
    if force and folder.exists():
        shutil.rmtree(folder)
    if not layout_file.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=folder.parent))
        try:
            for name, text in _plain_xml(spec, peds).items():
                (tmp / name).write_text(text)
            _netconvert(tmp)
            layout = _read_layout(spec, tmp / "junction.net.xml", peds)
            (tmp / SENSORS_FILE).write_text(sensors_xml(spec, layout))
            (tmp / "layout.json").write_text(json.dumps(layout, indent=1))
            try:
                tmp.rename(folder)
            except OSError:  # another process built it first
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    layout = json.loads(layout_file.read_text())
    if "exit_lanes" not in layout:  # built before the exit cameras: add them to the layout
        import sumolib  # imported late: slow to import

        net = sumolib.net.readNet(str(folder / "junction.net.xml"), withInternal=False)
        layout.update(_exit_lanes(spec, net))
        atomic_write(layout_file, json.dumps(layout, indent=1))
    sensors = folder / SENSORS_FILE
    if not sensors.is_file():  # the network was built by a version with other detectors
        atomic_write(sensors, sensors_xml(spec, layout))
    return Network(
        spec_hash=digest,
        net_file=folder / "junction.net.xml",
        sensors_file=sensors,
        links=tuple(link_for(spec, m) for m in layout["movements"]),
        approach_lanes=tuple(layout["approach_lanes"]),
        lane_lengths=tuple(layout["lane_lengths"]),
        speed_limits=tuple(layout["speed_limits"]),
        edges=tuple(layout["edges"]),
        approach_edges=tuple(approach_edge(a) for a in spec.arms),
        exit_edges=tuple(exit_edge(a) for a in spec.arms),
        edge_speed_limits=dict(layout["edge_speed_limits"]),
        crossings=dict(layout["crossings"]),
        walking_areas=tuple(layout["walking_areas"]),
        exit_lanes=tuple(layout["exit_lanes"]),
    )
