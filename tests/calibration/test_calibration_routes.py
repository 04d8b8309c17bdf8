"""routeSampler reproduces one hour's turn counts; the route file runs; GEH on a short run."""

from __future__ import annotations

from pathlib import Path

import pytest

from intergreen.calibration.counts import load_counts
from intergreen.calibration.demand_profiles import calibrate_demand
from intergreen.calibration.routes import (
    RouteFileSimulation,
    RouteSamplingError,
    candidate_routes_xml,
    sample_routes,
    target_counts,
)
from intergreen.calibration.validate import (
    compare_counts,
    compare_edges,
    read_edgedata,
    simulate_actuated,
    summarise,
)
from intergreen.junctions import sumo
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import resolve_demand
from intergreen.junctions.spec import JunctionSpec
from intergreen.junctions.sumo import SumoNotFound


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


@pytest.fixture(scope="module")
def one_hour(gm: JunctionSpec, tfgm_1415: Path):
    """08:00-09:00 of the calibrated weekday (the busiest hour: 2400 veh/h)."""
    return calibrate_demand(gm, load_counts(f"tfgm:{tfgm_1415}"), "8-9")


def test_target_counts_round_per_arm(gm: JunctionSpec) -> None:
    profile = resolve_demand(gm, "am_peak")
    targets = target_counts(gm, profile)
    assert len(targets) == 3 * 12
    for i, period in enumerate(profile.periods):
        rows = targets[targets["period"] == i]
        for arm in gm.arms:
            exact = sum(v for m, v in period.flows.items() if m.startswith(f"{arm}."))
            got = rows[rows["movement"].str.startswith(f"{arm}.")]["count"].sum()
            assert got == round(exact)


def test_candidate_routes_one_per_movement(gm: JunctionSpec) -> None:
    text = candidate_routes_xml(gm)
    assert text.count("<route ") == 12
    assert '<route id="N.right" edges="N_in W_out"/>' in text


def test_route_sampler_reproduces_one_hour(gm: JunctionSpec, one_hour, tmp_path: Path) -> None:
    route_file, counts = sample_routes(gm, one_hour.profile, tmp_path, seed=3)
    assert (counts["sampled"] == counts["count"]).all()
    assert counts["count"].sum() == pytest.approx(2400, abs=6)
    text = route_file.read_text()
    assert '<vType id="car"' in text
    again, _ = sample_routes(gm, one_hour.profile, tmp_path / "again", seed=3)
    strip = [ln for ln in text.splitlines() if "<vehicle" in ln]
    assert strip == [ln for ln in again.read_text().splitlines() if "<vehicle" in ln]


def test_route_file_reaches_sumo(gm: JunctionSpec, one_hour, tmp_path: Path) -> None:
    route_file, _ = sample_routes(gm, one_hour.profile, tmp_path, seed=1)
    sim = RouteFileSimulation(gm, one_hour.profile, route_file, edgedata=tmp_path / "e.xml")
    cmd = sim.command()
    assert cmd[cmd.index("-r") + 1] == str(route_file)
    assert cmd[cmd.index("-a") + 1].endswith("e.add.xml")


def test_geh_on_a_short_simulation(gm: JunctionSpec, one_hour, tmp_path: Path) -> None:
    route_file, _ = sample_routes(gm, one_hour.profile, tmp_path, seed=1)
    metrics = simulate_actuated(
        gm, one_hour.profile, route_file, tmp_path / "edgedata.xml", seed=1, step_length=1.0
    )
    assert metrics.simulated_s == pytest.approx(3600)
    edges = read_edgedata(tmp_path / "edgedata.xml")
    comparison = compare_counts(one_hour, edges)
    assert list(comparison["edge"]) == ["N_in", "S_in"]
    summary = summarise(comparison)
    assert summary.passed, summary.worst
    assert (compare_edges(gm, one_hour, edges)["geh"] < 5).mean() >= 0.85


def test_missing_route_sampler(gm: JunctionSpec, one_hour, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(
        "intergreen.calibration.routes.sumo_tool", lambda rel: sumo.sumo_tool(f"nowhere/{rel}")
    )
    with pytest.raises(SumoNotFound, match="routeSampler.py not found"):
        sample_routes(gm, one_hour.profile, tmp_path)


def test_unreproducible_counts_listed(gm: JunctionSpec, one_hour, tmp_path, monkeypatch) -> None:
    # a candidate route file without the N.right route: its counts cannot be sampled
    real = candidate_routes_xml(gm)
    monkeypatch.setattr(
        "intergreen.calibration.routes.candidate_routes_xml",
        lambda spec: "\n".join(ln for ln in real.splitlines() if "N.right" not in ln),
    )
    with pytest.raises(RouteSamplingError, match=r"worst: .*N\.right"):
        sample_routes(gm, one_hour.profile, tmp_path)
