"""SUMO routes that reproduce a profile's hourly movement counts, sampled by routeSampler.

The profile's flows become integer turn counts per period (``<edgeRelation from=ARM_in
to=DEST_out count=N>`` in one ``<interval>`` per period; each arm's counts are rounded
by largest remainder so the arm total is the rounded arm flow). The candidate routes are
one route per movement (``ARM_in DEST_out``). SUMO's ``tools/routeSampler.py`` draws
vehicles onto them, seeded, with departures spread at random over each interval. The
sampled counts are checked against the targets; a mismatch raises
:class:`RouteSamplingError` listing the worst ones.

:class:`RouteFileSimulation` runs :class:`~intergreen.junctions.simulation.Simulation`
on such a prebuilt route file (and can add an hourly ``edgeData`` output).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

from intergreen.calibration.errors import CalibrationError
from intergreen.junctions.demand import DemandProfile
from intergreen.junctions.network import approach_edge, exit_edge
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import JunctionSpec
from intergreen.junctions.sumo import sumo_home, sumo_tool
from intergreen.junctions.vehicles import vehicle_type_id, vtypes_xml

__all__ = [
    "RouteFileSimulation",
    "RouteSamplingError",
    "candidate_routes_xml",
    "sample_routes",
    "sampled_counts",
    "target_counts",
    "turn_counts_xml",
]

VEHICLE_ATTRIBUTES = 'departLane="best" departSpeed="max"'
"""Attributes of every sampled vehicle besides its type (as in the Poisson demand)."""


class RouteSamplingError(CalibrationError):
    """routeSampler failed or its routes do not reproduce the target counts."""


def target_counts(spec: JunctionSpec, profile: DemandProfile) -> pd.DataFrame:
    """Integer vehicles per period and movement: columns period, begin, end, movement, count."""
    rows = []
    for i, period in enumerate(profile.periods):
        hours = (period.end - period.begin) / 3600
        for arm in spec.arms:
            moves = [m for m in period.flows if m.split(".")[0] == arm]
            exact = np.array([period.flows[m] * hours for m in moves])
            if not len(moves):
                continue
            base = np.floor(exact)
            extra = int(round(exact.sum() - base.sum()))
            order = np.argsort(-(exact - base), kind="stable")
            base[order[:extra]] += 1
            for m, n in zip(moves, base, strict=True):
                rows.append(
                    {"period": i, "begin": period.begin, "end": period.end, "movement": m,
                     "count": int(n)}
                )  # fmt: skip
    return pd.DataFrame(rows, columns=["period", "begin", "end", "movement", "count"])


def _edges(spec: JunctionSpec, movement: str) -> tuple[str, str]:
    return approach_edge(movement.split(".")[0]), exit_edge(spec.destinations[movement])


def turn_counts_xml(spec: JunctionSpec, targets: pd.DataFrame) -> str:
    """routeSampler's turn-count input: one interval per period."""
    lines = ["<data>"]
    for (i, begin, end), g in targets.groupby(["period", "begin", "end"], sort=True):
        lines.append(f'  <interval id="h{i}" begin="{begin:g}" end="{end:g}">')
        for m, n in zip(g["movement"], g["count"], strict=True):
            src, dst = _edges(spec, m)
            lines.append(f'    <edgeRelation from="{src}" to="{dst}" count="{n}"/>')
        lines.append("  </interval>")
    lines.append("</data>")
    return "\n".join(lines) + "\n"


def candidate_routes_xml(spec: JunctionSpec) -> str:
    """One candidate route per vehicle movement, its id the movement name."""
    lines = ["<routes>"]
    for m in spec.movements:
        if m in spec.destinations:
            src, dst = _edges(spec, m)
            lines.append(f'  <route id="{m}" edges="{src} {dst}"/>')
    lines.append("</routes>")
    return "\n".join(lines) + "\n"


def sampled_counts(spec: JunctionSpec, route_file: Path, targets: pd.DataFrame) -> pd.DataFrame:
    """Targets with the sampled vehicles per period and movement (``sampled``) added."""
    by_edges = {_edges(spec, m): m for m in targets["movement"].unique()}
    bounds = targets.drop_duplicates("period")[["period", "begin", "end"]].to_numpy()
    tally: dict[tuple[int, str], int] = {}
    for _, el in ET.iterparse(route_file):
        if el.tag != "vehicle":
            continue
        depart = float(el.get("depart", "0"))
        route = el.find("route")
        edges = tuple((route.get("edges", "") if route is not None else "").split())
        movement = by_edges.get((edges[0], edges[-1])) if edges else None
        period = next((int(p) for p, b, e in bounds if b <= depart < e), None)
        if movement is not None and period is not None:
            tally[(period, movement)] = tally.get((period, movement), 0) + 1
        el.clear()
    out = targets.copy()
    keys = zip(out["period"], out["movement"], strict=True)
    out["sampled"] = [tally.get((p, m), 0) for p, m in keys]
    return out


def _insert_vtypes(path: Path, profile: DemandProfile) -> None:
    """Add the profile's vehicle types (car, or its mix) after the ``<routes>`` root tag."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r"<routes[\s>]", text)
    start = found.start() if found else -1
    if start < 0:
        raise RouteSamplingError(f"{path}: routeSampler wrote no <routes> element")
    close = text.find(">", start) + 1
    types = vtypes_xml(profile.vehicle_mix)
    path.write_text(text[:close] + "\n" + types + text[close:], encoding="utf-8")


def sample_routes(
    spec: JunctionSpec,
    profile: DemandProfile,
    workdir: Path,
    seed: int = 0,
    tolerance: int = 0,
) -> tuple[Path, pd.DataFrame]:
    """Run routeSampler for ``profile`` in ``workdir``; return the route file and the counts.

    Raises :class:`RouteSamplingError` (listing the worst mismatches) when a period's
    movement count differs from its target by more than ``tolerance`` vehicles.
    """
    tool = sumo_tool("routeSampler.py")
    workdir.mkdir(parents=True, exist_ok=True)
    targets = target_counts(spec, profile)
    turns = workdir / "turn_counts.xml"
    candidates = workdir / "candidate_routes.rou.xml"
    out = workdir / "sampled.rou.xml"
    turns.write_text(turn_counts_xml(spec, targets), encoding="utf-8")
    candidates.write_text(candidate_routes_xml(spec), encoding="utf-8")
    cmd = [
        sys.executable, str(tool),
        "-r", str(candidates), "-t", str(turns), "-o", str(out),
        "--seed", str(int(seed)),
        "--attributes", f'type="{vehicle_type_id(profile.vehicle_mix)}" {VEHICLE_ATTRIBUTES}',
        "--mismatch-output", str(workdir / "mismatch.xml"),
    ]  # fmt: skip
    env = {**os.environ, "SUMO_HOME": str(sumo_home())}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RouteSamplingError(f"routeSampler.py failed (exit {proc.returncode}): {tail[0]}")
    _insert_vtypes(out, profile)
    counts = sampled_counts(spec, out, targets)
    counts["diff"] = counts["sampled"] - counts["count"]
    bad = counts[counts["diff"].abs() > tolerance]
    if not bad.empty:
        worst = bad.reindex(bad["diff"].abs().sort_values(ascending=False).index).head(5)
        text = "; ".join(
            f"period {p} {m}: target {n}, sampled {s}"
            for p, m, n, s in zip(worst["period"], worst["movement"], worst["count"],
                                  worst["sampled"], strict=True)
        )  # fmt: skip
        raise RouteSamplingError(
            f"routeSampler could not reproduce {len(bad)} of {len(counts)} movement counts "
            f"(worst: {text}); see {workdir / 'mismatch.xml'}"
        )
    return out, counts


class RouteFileSimulation(Simulation):
    """A :class:`Simulation` on a prebuilt route file, optionally with hourly edgeData.

    ``edgedata`` is the path SUMO writes per-edge counts to, one interval per
    ``period`` seconds (vehicles entering, leaving, departing, arriving on each edge).
    """

    def __init__(
        self,
        spec: JunctionSpec,
        demand: DemandProfile,
        route_file: Path,
        *,
        edgedata: Path | None = None,
        period: float = 3600,
        **kwargs,
    ) -> None:
        super().__init__(spec, demand, **kwargs)
        self.route_file = Path(route_file)
        if not self.route_file.is_file():
            raise CalibrationError(f"{self.route_file}: no such route file")
        self.edgedata = Path(edgedata) if edgedata is not None else None
        self.period = period

    def command(self, outdir: Path | None = None) -> list[str]:
        cmd = super().command(outdir)
        cmd[cmd.index("-r") + 1] = str(self.route_file)
        if self.edgedata is not None:
            add = self.edgedata.with_suffix(".add.xml")
            add.write_text(
                f'<additional>\n  <edgeData id="counts" file="{self.edgedata.resolve()}" '
                f'period="{self.period:g}" excludeEmpty="false"/>\n</additional>\n',
                encoding="utf-8",
            )
            i = cmd.index("-a") + 1
            cmd[i] = f"{cmd[i]},{add.resolve()}"
        return cmd
