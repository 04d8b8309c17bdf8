"""Check a calibrated demand: simulate it under vehicle actuation, compare with counts.

A :class:`~intergreen.junctions.env.JunctionEnv` (its controller, sensors and stepping)
drives a :class:`RouteFileSimulation` on the routeSampler routes in place of its own
Poisson simulation, and the :class:`VehicleActuated` baseline is asked at each decision
point as in an episode (the baseline reads the sensors, not the observation). SUMO counts
every edge per hour (``edgeData``); the modelled flow of an approach is the vehicles that
*left* the approach edge into the junction in that hour (a stop-line count: a queue that
cannot clear shows up as a shortfall), of an exit the vehicles that entered it.

Two comparisons (:func:`check_model` runs both):

- the **fit check** (:func:`compare_counts`, GEH): the modelled flows against the counts
  routeSampler was given, times the scale. It shows that routes and signal control deliver
  the demand; it cannot tell a right demand from a wrong one, since any demand fed to
  routeSampler reproduces itself.
- the **validation** (:func:`compare_held_out`, :func:`~intergreen.calibration.tag.tag_validation`):
  the modelled flows, divided by the scale, against counts of days routeSampler never saw,
  by the UK TAG M3.1 flow and GEH criteria.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from intergreen.calibration.demand_profiles import CalibratedDemand
from intergreen.calibration.errors import CalibrationError
from intergreen.calibration.geh import GehSummary, geh, geh_summary
from intergreen.calibration.routes import RouteFileSimulation, sample_routes
from intergreen.calibration.tag import TagValidation, tag_validation
from intergreen.junctions.baselines import VehicleActuated
from intergreen.junctions.demand import DemandProfile
from intergreen.junctions.env import JunctionEnv
from intergreen.junctions.network import approach_edge, exit_edge
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.simulation import EpisodeMetrics
from intergreen.junctions.spec import JunctionSpec

__all__ = [
    "ModelCheck",
    "check_model",
    "compare_counts",
    "compare_edges",
    "compare_held_out",
    "read_edgedata",
    "simulate_actuated",
    "summarise",
    "validate_held_out",
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
    return EpisodeMetrics.from_dict(result.metrics)


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
    """The fit check's rows: one per counted hour and arm (site, direction, arm, edge, hour,
    counted, observed, modelled; veh/h).

    ``counted`` is the fit days' weekday mean as counted; ``observed`` the calibration
    target, that mean x the scale (a *scaled* count: label it so wherever it is shown);
    ``modelled`` the stop-line flow.
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
    """The fit check: GEH per count and the UK verdict of a :func:`compare_counts` table."""
    return geh_summary(comparison, n_worst=5)


def compare_held_out(
    cal: CalibratedDemand, held_out: pd.DataFrame, edges: pd.DataFrame
) -> pd.DataFrame:
    """The validation's rows: one per arm and profile hour with a held-out count.

    ``held_out``: weekday-mean hourly flows of the held-out days as counted (veh/h; index
    clock hour, one column per arm), mapped to arms as the site's directions really arrive
    (:func:`~intergreen.calibration.demand_profiles.mapped_flows` with the fit's map).
    Columns: site, direction, arm, edge, hour, held_out (the count, veh/h), modelled (the
    stop-line flow, veh/h at the model's scale), modelled_unscaled (modelled / scale).
    """
    rows = []
    hours = range(cal.first_hour, cal.first_hour + len(cal.profile.periods))
    for arm in held_out.columns:
        site, direction = cal.count_label(arm)
        modelled = _hourly(edges, approach_edge(arm), "left", cal.first_hour)
        for hour in hours:
            if hour not in held_out.index or pd.isna(held_out.loc[hour, arm]):
                continue
            m = float(modelled.get(hour, 0.0))
            rows.append(
                {"site": site, "direction": direction, "arm": arm, "edge": approach_edge(arm),
                 "hour": hour, "held_out": float(held_out.loc[hour, arm]), "modelled": m,
                 "modelled_unscaled": m / cal.scale}
            )  # fmt: skip
    return pd.DataFrame(
        rows, columns=["site", "direction", "arm", "edge", "hour", "held_out", "modelled",
                       "modelled_unscaled"]
    )  # fmt: skip


def validate_held_out(comparison: pd.DataFrame) -> TagValidation:
    """TAG M3.1 criteria on a :func:`compare_held_out` table, at the counted magnitude."""
    return tag_validation(comparison, modelled="modelled_unscaled", observed="held_out")


@dataclass
class ModelCheck:
    """A calibrated demand simulated once, with its fit check and (if any) validation."""

    fit: GehSummary
    """The fit check (in-sample, against the scaled fit-day counts)."""
    fit_table: pd.DataFrame
    """:func:`compare_counts` rows."""
    edges: pd.DataFrame
    """:func:`compare_edges` rows."""
    metrics: EpisodeMetrics
    sampled: pd.DataFrame
    """routeSampler's vehicles per period and movement against the targets."""
    validation: TagValidation | None = None
    """TAG M3.1 criteria on held-out counts; None without held-out counts."""
    held_out_table: pd.DataFrame | None = None
    """:func:`compare_held_out` rows."""


def check_model(
    spec: JunctionSpec,
    cal: CalibratedDemand,
    workdir: Path,
    held_out: pd.DataFrame | None = None,
    seed: int = 1,
    step_length: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> ModelCheck:
    """Sample routes for ``cal`` in ``workdir``, simulate them and compare (see the module).

    ``held_out`` as :func:`compare_held_out` takes it; without it there is no validation.
    """
    route_file, sampled = sample_routes(spec, cal.profile, workdir, seed=seed)
    metrics = simulate_actuated(
        spec, cal.profile, route_file, workdir / "edgedata.xml", seed, step_length, progress
    )
    edge_counts = read_edgedata(workdir / "edgedata.xml")
    (workdir / "edgedata.add.xml").unlink(missing_ok=True)  # names the work folder
    fit_table = compare_counts(cal, edge_counts)
    check = ModelCheck(
        fit=summarise(fit_table),
        fit_table=fit_table,
        edges=compare_edges(spec, cal, edge_counts),
        metrics=metrics,
        sampled=sampled,
    )
    if held_out is not None:
        table = compare_held_out(cal, held_out, edge_counts)
        if not table.empty:
            check.held_out_table = table
            check.validation = validate_held_out(table)
    return check
