"""SUMO networks for the import tests: sumo-rl's (installed with the test extra), SUMO's own
examples (in the eclipse-sumo wheel) and small variants written here (a copied network with
another signal program, a joined traffic light and one with unused link indices built with
netconvert)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from intergreen.junctions.resco import nets_folder
from intergreen.junctions.sumo import sumo_binary


def sumo_rl_nets() -> Path:
    """sumo-rl's ``nets`` folder."""
    return nets_folder().parent


def single_intersection() -> tuple[Path, Path]:
    """sumo-rl's single intersection: links 0, 1 north->south, 2, 3 west->east."""
    folder = sumo_rl_nets() / "single-intersection"
    return folder / "single-intersection.net.xml", folder / "single-intersection.rou.xml"


def sumo_game_cross() -> tuple[Path, Path]:
    """SUMO's own ``tools/game/cross`` (shipped in the eclipse-sumo wheel): four arms, turn
    lanes (E and W: right, ahead, left; N and S: right+ahead, left)."""
    import sumo

    folder = Path(sumo.SUMO_HOME) / "tools" / "game" / "cross"
    return folder / "cross.net.xml", folder / "cross.rou.xml"


def sumo_game_a10kw() -> Path:
    """SUMO's own ``tools/game/A10KW/osm.net.xml`` (shipped in the eclipse-sumo wheel): two
    traffic lights whose programs keep link indices no connection carries (3, 7 and 12 of
    ``GS_cluster_1643085231_21432440_32500280_32500282``, 7 of
    ``GS_cluster_21432412_32500298``); its route files lie beside it."""
    import sumo

    return Path(sumo.SUMO_HOME) / "tools" / "game" / "A10KW" / "osm.net.xml"


def sumo_rilsa1() -> Path:
    """SUMO's own ``tools/sumolib/scenario/scenarios/RiLSA1/rilsa1.net.xml`` (in the
    eclipse-sumo wheel): its program shows a major green ``G`` on links the response matrix
    makes give way (phase 3: link 11, W.left, to link 3, E.right)."""
    import sumo

    scenarios = Path(sumo.SUMO_HOME) / "tools" / "sumolib" / "scenario" / "scenarios"
    return scenarios / "RiLSA1" / "rilsa1.net.xml"


def with_program(
    folder: Path, phases: list[tuple[str, float] | tuple[str, float, float]], kind: str = "static"
) -> Path:
    """A copy of the single intersection whose traffic light runs ``phases`` ((state,
    duration[, minDur]) each) as a ``kind`` program."""
    net, _ = single_intersection()
    rows = []
    for p in phases:
        extra = f' minDur="{p[2]:g}" maxDur="60"' if len(p) > 2 else ""
        rows.append(f'        <phase duration="{p[1]:g}" state="{p[0]}"{extra}/>')
    logic = (
        f'<tlLogic id="t" type="{kind}" programID="0" offset="0">\n'
        + "\n".join(rows)
        + "\n    </tlLogic>"
    )
    text = re.sub(r"<tlLogic .*?</tlLogic>", logic, net.read_text(), flags=re.S)
    out = folder / "variant.net.xml"
    out.write_text(text)
    return out


def joined_tls(folder: Path) -> Path:
    """A network whose traffic light J controls two junctions, A and B."""
    (folder / "n.nod.xml").write_text(
        '<nodes><node id="w" x="0" y="0"/>'
        '<node id="A" x="100" y="0" type="traffic_light" tl="J"/>'
        '<node id="B" x="200" y="0" type="traffic_light" tl="J"/>'
        '<node id="e" x="300" y="0"/><node id="n" x="100" y="100"/>'
        '<node id="s" x="200" y="-100"/></nodes>'
    )
    (folder / "n.edg.xml").write_text(
        '<edges><edge id="wA" from="w" to="A"/><edge id="AB" from="A" to="B"/>'
        '<edge id="Be" from="B" to="e"/><edge id="nA" from="n" to="A"/>'
        '<edge id="Bs" from="B" to="s"/></edges>'
    )
    out = folder / "joined.net.xml"
    subprocess.run(
        [sumo_binary("netconvert"), "-n", "n.nod.xml", "-e", "n.edg.xml", "-o", out.name,
         "--no-warnings", "true"],
        cwd=folder, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return out


def unused_index_net(folder: Path, surplus: int = 0, unused: str = "rrrr") -> tuple[Path, Path]:
    """A four-arm junction (one lane per arm, no U-turns) built by netconvert from plain XML
    with a loaded program that leaves each arm's fourth link index unused, as netconvert does
    when it drops a U-turn of a loaded program: links 0-2 from N, 4-6 from E, 8-10 from S,
    12-14 from W (right, ahead, left each); 3, 7, 11 carry no connection. Two stages (N+S,
    E+W; the left turns give way, ``g``) with 3 s amber; ``unused``: what each of the four
    phases shows at the unused indices. ``surplus`` extra state characters past the last link
    index (SUMO warns of those as unused states). Returns the network and a route file (an
    hour of flows: 400 veh/h ahead N-S and S-N, 300 E-W and W-E, 100 turning left)."""
    arms = {"N": (0, 200), "E": (200, 0), "S": (0, -200), "W": (-200, 0)}
    (folder / "u.nod.xml").write_text(
        '<nodes><node id="C" x="0" y="0" type="traffic_light"/>'
        + "".join(f'<node id="{a}" x="{x}" y="{y}"/>' for a, (x, y) in arms.items())
        + "</nodes>"
    )
    (folder / "u.edg.xml").write_text(
        "<edges>"
        + "".join(
            f'<edge id="{a}C" from="{a}" to="C"/><edge id="C{a}" from="C" to="{a}"/>' for a in arms
        )  # fmt: skip
        + "</edges>"
    )
    turns = {"N": "WSE", "E": "NWS", "S": "ENW", "W": "SEN"}  # right, ahead, left
    cons, tl_cons = [], []
    for i, (a, outs) in enumerate(turns.items()):
        for j, o in enumerate(outs):
            con = f'from="{a}C" to="C{o}" fromLane="0" toLane="0"'
            cons.append(f"<connection {con}/>")
            tl_cons.append(f'<connection {con} tl="C" linkIndex="{4 * i + j}"/>')
    (folder / "u.con.xml").write_text("<connections>" + "".join(cons) + "</connections>")

    def state(ns: str, ew: str, off: str) -> str:
        chars = [(ns if (k // 4) % 2 == 0 else ew) for k in range(15)]
        chars = ["g" if c == "G" and k % 4 == 2 else c for k, c in enumerate(chars)]
        return "".join(off if k % 4 == 3 else c for k, c in enumerate(chars)) + "r" * surplus

    phases = [(state("G", "r", unused[0]), 30), (state("y", "r", unused[1]), 3),
              (state("r", "G", unused[2]), 30), (state("r", "y", unused[3]), 3)]  # fmt: skip
    (folder / "u.tll.xml").write_text(
        '<tlLogics><tlLogic id="C" type="static" programID="0" offset="0">'
        + "".join(f'<phase duration="{d}" state="{s}"/>' for s, d in phases)
        + "</tlLogic>"
        + "".join(tl_cons)
        + "</tlLogics>"
    )
    out = folder / "unused.net.xml"
    subprocess.run(
        [sumo_binary("netconvert"), "-n", "u.nod.xml", "-e", "u.edg.xml", "-x", "u.con.xml",
         "-i", "u.tll.xml", "--no-turnarounds", "true", "-o", out.name, "--no-warnings", "true"],
        cwd=folder, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    flows = {("N", "S"): 400, ("S", "N"): 400, ("E", "W"): 300, ("W", "E"): 300, ("N", "E"): 100,
             ("W", "N"): 100}  # fmt: skip
    routes = folder / "unused.rou.xml"
    routes.write_text(
        "<routes>"
        + "".join(
            f'<flow id="{a}{b}" begin="0" end="3600" from="{a}C" to="C{b}" vehsPerHour="{v}"/>'
            for (a, b), v in flows.items()
        )  # fmt: skip
        + "</routes>"
    )
    return out, routes
