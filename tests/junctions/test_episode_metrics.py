"""Per-arm, tail and emission metrics from SUMO's outputs, on real SUMO runs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from procs import sumo_children

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.metrics import (
    ArmMetrics,
    Emissions,
    EpisodeMetrics,
    EpisodeTrace,
    arm_of_edges,
    build_metrics,
    unit_of,
    vehicle_arms,
)
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import JunctionSpec
from intergreen.junctions.sumo_outputs import Trips

ARMS = ("N", "E", "S", "W")


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


def run(
    spec: JunctionSpec, demand: str, seed: int, duration: float, **kw
) -> tuple[EpisodeMetrics, EpisodeTrace | None]:
    """A run under the network's static programme: (metrics, trace)."""
    with Simulation(spec, demand, seed=seed, duration=duration, **kw) as sim:
        while sim.time < duration - 1e-9:
            sim.step()
        return sim.finish(), sim.last_trace


@pytest.fixture(scope="module")
def detailed(gm: JunctionSpec) -> tuple[EpisodeMetrics, EpisodeTrace | None]:
    """300 s at `high`, with trace and emissions."""
    return run(gm, "high", 3, 300.0, trace=True, emissions=True)


def test_per_arm_metrics_add_up(detailed) -> None:
    m = detailed[0]
    d = m.as_dict()
    assert list(m.arms) == list(ARMS)
    assert sum(d[f"arm_vehicles_{a}"] for a in ARMS) == m.vehicles > 0
    assert sum(d[f"arm_throughput_{a}"] for a in ARMS) == m.throughput > 0
    # the vehicle-weighted mean of the arms' mean waits is the episode's mean wait
    weighted = sum(d[f"arm_vehicles_{a}"] * d[f"arm_wait_{a}"] for a in ARMS) / m.vehicles
    assert weighted == pytest.approx(m.avg_waiting_time, rel=1e-9)
    # the main road (N, S: 2 lanes, heavier) brings more vehicles than each side road
    assert min(d["arm_vehicles_N"], d["arm_vehicles_S"]) > max(
        d["arm_vehicles_E"], d["arm_vehicles_W"]
    )
    for a in ARMS:
        assert 0 <= d[f"arm_wait_{a}"] <= d[f"arm_wait95_{a}"] <= m.wait_max
    assert m.avg_waiting_time < m.wait_p95 <= m.wait_max
    # per-arm queues (SUMO's edgeData, halting vehicle-seconds / s) against the per-step
    # sampled total: the same quantity measured two ways
    queues = sum(d[f"arm_queue_{a}"] for a in ARMS)
    assert queues == pytest.approx(m.mean_queue, rel=0.1)


def test_emissions_are_sumos_and_plausible(detailed) -> None:
    d = detailed[0].as_dict()
    # ~300 s of ~2400 veh/h on 4 arms of 200-250 m: tens of vehicle-km
    assert 20 < d["vehicle_km"] < 200
    # a petrol Euro 4 car in urban stop-and-go (HBEFA4): 150-400 g CO2 and 6-17 l per 100 km
    assert 150 < d["co2_g_per_vkm"] < 400
    assert 6 < d["fuel_l_per_100vkm"] < 17
    # CO2 is ~2.3 kg per litre of petrol burnt
    assert d["co2_kg"] / d["fuel_l"] == pytest.approx(2.35, rel=0.1)
    assert d["nox_mg_per_vkm"] > 0 and d["pmx_mg_per_vkm"] > 0
    assert d["co2_g_per_vkm"] == pytest.approx(d["co2_kg"] * 1000 / d["vehicle_km"])


def test_trace_and_emissions_are_opt_in(gm: JunctionSpec, detailed) -> None:
    plain, trace = run(gm, "high", 3, 300.0)
    a, b = plain.as_dict(), detailed[0].as_dict()
    assert trace is None and detailed[1] is not None
    assert not any(k.startswith("arm_queue_") for k in a) and "co2_kg" not in a
    # the outputs only watch: the traffic is the same
    assert {k: v for k, v in b.items() if k in a} == a
    assert sumo_children() == []


def test_as_dict_round_trips_and_has_units(detailed) -> None:
    m = detailed[0]
    d = m.as_dict()
    assert EpisodeMetrics.from_dict({**d, "controller": "x", "reward_queue": -3.0}) == m
    assert all(unit_of(k) for k in d)
    assert unit_of("arm_wait_N") == "s/veh" and unit_of("arm_throughput_W") == "veh"
    assert unit_of("co2_g_per_vkm") == "g/veh-km" and unit_of("nonsense") == ""


def test_vehicles_never_inserted_keep_their_arm(gm: JunctionSpec) -> None:
    """At 6000 veh/h many vehicles are never inserted; their arm comes from their route."""
    m, _ = run(gm, "6000vph", 1, 240.0)
    assert m.backlog > 5
    assert sum(a.vehicles for a in m.arms.values()) == m.vehicles
    # the insertion waits are the longest: the tail is far above the mean
    assert m.wait_max > m.wait_p95 > m.avg_waiting_time


def test_vehicle_arms_from_routes(tmp_path: Path) -> None:
    routes = tmp_path / "r.rou.xml"
    routes.write_text(
        "<routes>\n"
        '  <route id="r1" edges="up N_in S_out"/>\n'
        '  <vehicle id="v1" route="r1" depart="0"/>\n'
        '  <flow id="f" from="E_in" to="W_out" begin="0" end="9" number="3"/>\n'
        '  <trip id="t" from="x" via="W_in" to="E_out" depart="0"/>\n'
        '  <vehicle id="v2" depart="0"><route edges="S_in N_out"/></vehicle>\n'
        "</routes>\n"
    )
    arms_by_edge = arm_of_edges(["N_0", "N_1", "E_0", "S_0", "W_0"],
                                ["N_in_0", "N_in_1", "E_in_0", "S_in_0", "W_in_0"])  # fmt: skip
    assert arms_by_edge == {"N_in": "N", "E_in": "E", "S_in": "S", "W_in": "W"}
    ids = ["v1", "f.2", "t", "v2", "inserted", "stranger"]
    n = len(ids)
    zeros = np.zeros(n)
    trips = Trips(ids, ["", "", "", "", "W_in_0", ""], zeros, zeros, zeros, zeros,
                  zeros.astype(bool), zeros.astype(bool), zeros)  # fmt: skip
    assert vehicle_arms(trips, arms_by_edge, [str(routes)]) == ["N", "E", "W", "S", "W", ""]


def test_vehicle_arms_expands_trips_that_miss_every_approach(tmp_path: Path) -> None:
    """A trip from an edge upstream of the approach names no approach edge; ``expand`` (the
    route driven) does. Not called for vehicles already placed."""
    routes = tmp_path / "r.rou.xml"
    routes.write_text(
        '<routes>\n  <trip id="up" from="far" to="S_out" depart="0"/>\n'
        '  <trip id="on" from="E_in" to="W_out" depart="0"/>\n</routes>\n'
    )
    arms_by_edge = {"N_in": "N", "E_in": "E"}
    asked = []

    def expand(edges: tuple[str, ...]) -> tuple[str, ...]:
        asked.append(edges)
        return ("far", "N_in", "S_out") if edges == ("far", "S_out") else edges

    zeros = np.zeros(3)
    trips = Trips(["up", "on", "stranger"], ["far_0", "", ""], zeros, zeros, zeros, zeros,
                  zeros.astype(bool), zeros.astype(bool), zeros)  # fmt: skip
    assert vehicle_arms(trips, arms_by_edge, [str(routes)]) == ["", "E", ""]  # before
    assert vehicle_arms(trips, arms_by_edge, [str(routes)], expand) == ["N", "E", ""]
    assert asked == [("far", "S_out")]  # "on" had its arm, "stranger" has no route


def test_fastest_route_walks_the_network() -> None:
    """sumolib's fastest path between a trip's edges, on a real network (gm_a56's)."""
    from intergreen.junctions.catalog import resolve_junction
    from intergreen.junctions.network import build_network
    from intergreen.junctions.sumo_net import fastest_route

    net = build_network(resolve_junction("gm_a56"))
    start, end = net.approach_edges[0], net.exit_edges[-1]
    route = fastest_route(net.net_file, (start, end))
    assert route[0] == start and route[-1] == end and len(route) >= 2
    assert fastest_route(net.net_file, ("no such edge", end)) == ("no such edge", end)
    assert fastest_route(net.net_file, ()) == ()


def test_build_from_dict_refuses_nothing_silently() -> None:
    """from_dict takes only the fields it knows; a missing scalar is an error, not a 0."""
    m = EpisodeMetrics(
        simulated_s=60.0, vehicles=2, avg_waiting_time=1.0, avg_delay=2.0, throughput=1,
        throughput_vph=60.0, mean_queue=0.5, max_queue=1, stops_per_vehicle=0.5,
        teleports=0, backlog=0, arms={"N": ArmMetrics(2, 1.0, 1.5, 1, None)},
        emissions=Emissions(1.0, 0.2, 0.1, 0.01, 0.1),
    )  # fmt: skip
    d = m.as_dict()
    assert "arm_queue_N" not in d and d["arm_vehicles_N"] == 2
    assert d["fuel_l_per_100vkm"] == pytest.approx(10.0)
    assert EpisodeMetrics.from_dict(d) == m
    del d["vehicles"]
    with pytest.raises(TypeError, match="vehicles"):
        EpisodeMetrics.from_dict(d)
    assert math.isnan(Emissions(0.0, 0, 0, 0, 0).as_dict()["co2_g_per_vkm"])


def test_an_arm_no_vehicle_came_from_has_no_wait_and_metrics_json_stays_json(
    tmp_path: Path,
) -> None:
    """Waits of an arm with approach lanes but no vehicle in the run are NaN (a mean over no
    vehicle), not 0; its queue stays as measured; metrics.json writes NaN as null (strict
    JSON readers refuse a bare NaN)."""
    import json

    from intergreen.junctions.episode_output import write_episode

    waits = np.array([4.0, 6.0, 10.0])
    trips = Trips(["a", "b", "c"], ["N_in_0", "N_in_0", "S_in_0"], np.zeros(3), waits,
                  waits, np.zeros(3), np.ones(3, bool), np.ones(3, bool), np.zeros(3))  # fmt: skip
    m = build_metrics(arms=["N", "E", "S"], trips=trips, vehicle_arm=["N", "N", "S"],
                      simulated_s=60.0, exit_arms=[], mean_queue=0.5, max_queue=2,
                      teleports=0)  # fmt: skip
    assert m.arms["N"].avg_waiting_time == 5.0 and m.arms["S"].wait_p95 == 10.0
    assert m.arms["E"].vehicles == 0
    assert math.isnan(m.arms["E"].avg_waiting_time) and math.isnan(m.arms["E"].wait_p95)
    row = m.as_dict()
    write_episode(tmp_path, row, {"junction": "x"})

    def refuse(constant: str) -> float:
        raise AssertionError(f"metrics.json holds {constant}, which is not JSON")

    data = json.loads((tmp_path / "metrics.json").read_text(), parse_constant=refuse)
    assert data["arm_wait_E"] is None and data["arm_wait_N"] == 5.0
