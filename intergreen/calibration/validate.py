"""Validation: simulate a calibrated demand under vehicle actuation and compare with counts.

A :class:`~intergreen.junctions.env.JunctionEnv` (its controller, sensors and stepping)
drives a :class:`RouteFileSimulation` on the routeSampler routes in place of its own
Poisson simulation, and the :class:`VehicleActuated` baseline is asked at each decision
point as in an episode (the baseline reads the sensors, not the observation). SUMO counts
every edge per hour (``edgeData``); the modelled flow of an approach is the vehicles that
*left* the approach edge into the junction in that hour (a stop-line count: a queue that
cannot clear shows up as a shortfall), of an exit the vehicles that entered it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from intergreen.calibration.demand_profiles import CalibratedDemand, CalibrationError
from intergreen.calibration.geh import GehSummary, geh, geh_summary
from intergreen.calibration.routes import RouteFileSimulation
from intergreen.junctions.baselines import VehicleActuated
from intergreen.junctions.demand import DemandProfile
from intergreen.junctions.env import JunctionEnv
from intergreen.junctions.network import approach_edge, exit_edge
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.simulation import EpisodeMetrics
from intergreen.junctions.spec import JunctionSpec

__all__ = [
    "compare_counts",
    "compare_edges",
    "read_edgedata",
    "simulate_actuated",
    "with_step_length",
]


def with_step_length(spec: JunctionSpec, step_length: float) -> JunctionSpec:
    """A copy of ``spec`` stepping every ``step_length`` s (decisions every step)."""
    timing = spec.timing.model_copy(
        update={"step_length": step_length, "decision_interval": step_length}
    )
    return spec.model_copy(update={"timing": timing})


def simulate_actuated(
    spec: JunctionSpec,
    profile: DemandProfile,
    route_file: Path,
    edgedata: Path,
    seed: int = 0,
    step_length: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> EpisodeMetrics:
    """Run ``route_file`` under vehicle actuation; SUMO writes hourly edge counts to ``edgedata``.

    ``step_length`` (s) overrides the junction's (e.g. 1.0 for speed); the network and
    sensor layout stay the junction's own.
    """
    run_spec = spec if step_length is None else with_step_length(spec, step_length)

    def route_file_simulation(spec_, demand, *, seed, network, **_) -> RouteFileSimulation:
        return RouteFileSimulation(
            spec_, demand, route_file, edgedata=edgedata, seed=seed, network=network
        )

    env = JunctionEnv(
        run_spec, profile, duration=profile.duration, seed=seed,
        simulation_factory=route_file_simulation,
    )  # fmt: skip
    reported = [0.0]

    def report(t: float) -> None:
        if progress is not None and t >= reported[0] + 6 * 3600.0:
            reported[0] = t
            progress(t)

    result = run_episode(env, VehicleActuated(), seed, progress=report)
    return EpisodeMetrics(**result.metrics)


def read_edgedata(path: Path) -> pd.DataFrame:
    """SUMO edgeData output as rows: begin, end, edge, departed, arrived, entered, left."""
    if not path.is_file():
        raise CalibrationError(f"{path}: SUMO wrote no edge counts")
    rows = []
    for _, el in ET.iterparse(path, events=("start",)):
        if el.tag == "interval":
            begin, end = float(el.get("begin", 0)), float(el.get("end", 0))
        elif el.tag == "edge":
            rows.append(
                {
                    "begin": begin,
                    "end": end,
                    "edge": el.get("id"),
                    **{k: float(el.get(k, 0)) for k in ("departed", "arrived", "entered", "left")},
                }
            )
    return pd.DataFrame(rows, columns=["begin", "end", "edge", "departed", "arrived", "entered",
                                       "left"])  # fmt: skip


def _hourly(edges: pd.DataFrame, edge: str, column: str, first_hour: int) -> pd.Series:
    rows = edges[edges["edge"] == edge]
    hours = first_hour + (rows["begin"] // 3600).astype(int)
    scale = 3600 / (rows["end"] - rows["begin"]).clip(lower=1e-9)
    return (
        pd.Series((rows[column] * scale).to_numpy(), index=hours.to_numpy()).groupby(level=0).sum()
    )


def compare_counts(cal: CalibratedDemand, edges: pd.DataFrame) -> pd.DataFrame:
    """One row per counted hour and arm: site, direction, hour, observed, modelled, ...

    ``observed`` is the calibration target (the counted weekday mean x the scale);
    ``counted`` the unscaled weekday mean; ``modelled`` the stop-line flow (veh/h).
    """
    rows = []
    for arm in cal.targets.columns:
        site, direction = cal.count_label(arm)
        modelled = _hourly(edges, approach_edge(arm), "left", cal.first_hour)
        for hour, target in cal.targets[arm].items():
            rows.append(
                {
                    "site": site,
                    "direction": direction,
                    "arm": arm,
                    "edge": approach_edge(arm),
                    "hour": int(hour),
                    "counted": float(cal.observed.loc[hour, arm]),
                    "observed": round(float(target), 2),
                    "modelled": float(modelled.get(int(hour), 0.0)),
                }
            )
    return pd.DataFrame(rows)


def compare_edges(spec: JunctionSpec, cal: CalibratedDemand, edges: pd.DataFrame) -> pd.DataFrame:
    """Every approach and exit edge per hour: the profile's flow (``target``) vs modelled."""
    rows = []
    for i, period in enumerate(cal.profile.periods):
        hour = cal.first_hour + i
        target: dict[str, float] = {}
        for m, v in period.flows.items():
            arm = m.split(".")[0]
            target[approach_edge(arm)] = target.get(approach_edge(arm), 0.0) + v
            dest = exit_edge(spec.destinations[m])
            target[dest] = target.get(dest, 0.0) + v
        for edge, t in target.items():
            col = "left" if edge.endswith("_in") else "entered"
            modelled = _hourly(edges, edge, col, cal.first_hour).get(hour, 0.0)
            rows.append({"edge": edge, "hour": hour, "target": t, "modelled": float(modelled)})
    out = pd.DataFrame(rows)
    out["geh"] = geh(out["modelled"].to_numpy(float), out["target"].to_numpy(float))
    return out


def summarise(comparison: pd.DataFrame) -> GehSummary:
    """GEH per count and the UK verdict of a :func:`compare_counts` table."""
    return geh_summary(comparison, n_worst=5)
