"""SUMO networks for the import tests: sumo-rl's (installed with the test extra) and small
variants written here (a copied network with another signal program, a joined traffic
light built with netconvert)."""

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
