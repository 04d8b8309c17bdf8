"""Simulation on real SUMO: seeding, backends agree, sane metrics, no leaked SUMO processes."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import pytest
from procs import sumo_children

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import load_assumptions
from intergreen.junctions.simulation import EpisodeMetrics, Simulation, SimulationError
from intergreen.junctions.spec import JunctionSpec

DURATION = 300.0


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


@pytest.fixture
def sims() -> Iterator[list[Simulation]]:
    """Simulations made by a test, always closed afterwards."""
    made: list[Simulation] = []
    yield made
    for sim in made:
        sim.close()


def run(
    spec: JunctionSpec,
    demand: str = "medium",
    seed: int = 1,
    backend: str = "libsumo",
    duration: float = DURATION,
) -> EpisodeMetrics:
    with Simulation(spec, demand, seed=seed, backend=backend, duration=duration) as sim:  # type: ignore[arg-type]
        while sim.time < duration - 1e-9:
            sim.step()
        return sim.finish()


def test_same_seed_same_metrics(gm: JunctionSpec) -> None:
    assert run(gm, seed=4) == run(gm, seed=4)


def test_different_seed_different_metrics(gm: JunctionSpec) -> None:
    a, b = run(gm, seed=4), run(gm, seed=5)
    assert a != b
    assert a.vehicles != b.vehicles or a.avg_waiting_time != b.avg_waiting_time


def test_libsumo_and_traci_agree(gm: JunctionSpec) -> None:
    assert run(gm, seed=2, backend="libsumo") == run(gm, seed=2, backend="traci")
    assert sumo_children() == []


@pytest.mark.parametrize("level", ["low", "high"])
def test_metrics_are_sane(gm: JunctionSpec, level: str) -> None:
    total = load_assumptions(gm).levels[level]
    duration = 600.0
    m = run(gm, level, seed=3, duration=duration)
    expected = total * duration / 3600
    assert abs(m.vehicles - expected) < 4 * math.sqrt(expected)  # Poisson, 4 sd
    assert m.simulated_s == pytest.approx(duration)
    assert m.avg_waiting_time >= 0 and m.avg_delay >= m.avg_waiting_time
    assert 0 < m.throughput <= m.vehicles
    assert m.throughput_vph == pytest.approx(m.throughput * 3600 / duration)
    assert 0 <= m.mean_queue <= m.max_queue
    assert m.stops_per_vehicle >= 0
    assert m.teleports == 0
    assert m.backlog == 0  # the static programme copes with these levels


def test_oversaturated_demand_counts_the_backlog(gm: JunctionSpec) -> None:
    """Vehicles not yet inserted still count, with their wait, as in the study."""
    m = run(gm, "6000vph", seed=1)
    expected = 6000 * DURATION / 3600
    assert abs(m.vehicles - expected) < 4 * math.sqrt(expected)
    assert m.backlog > 20
    assert m.throughput < m.vehicles - m.backlog
    assert m.avg_waiting_time > run(gm, "low", seed=1).avg_waiting_time


def test_finish_returns_a_flat_dict(gm: JunctionSpec) -> None:
    d = run(gm, duration=30).as_dict()
    assert set(d) >= {
        "simulated_s", "vehicles", "avg_waiting_time", "avg_delay", "throughput",
        "throughput_vph", "mean_queue", "max_queue", "stops_per_vehicle", "teleports", "backlog",
    }  # fmt: skip
    assert all(isinstance(v, int | float) for v in d.values())


def test_lifecycle_errors(gm: JunctionSpec, sims: list[Simulation]) -> None:
    sim = Simulation(gm, "low", duration=30)
    sims.append(sim)
    with pytest.raises(SimulationError, match="start"):
        sim.step()
    with pytest.raises(SimulationError, match="not running"):
        sim.finish()
    sim.start()
    sim.step()
    sim.close()
    sim.close()  # twice is fine
    assert not sim.running
    with pytest.raises(ValueError, match="duration"):
        Simulation(gm, "low", duration=0)
    with pytest.raises(ValueError, match="backend"):
        Simulation(gm, "low", backend="sumo")  # type: ignore[arg-type]


def test_restart_gives_the_same_run(gm: JunctionSpec, sims: list[Simulation]) -> None:
    sim = Simulation(gm, "medium", seed=9, duration=120)
    sims.append(sim)
    results = []
    for _ in range(2):
        sim.start()
        while sim.time < 120 - 1e-9:
            sim.step()
        results.append(sim.finish())
    assert results[0] == results[1]


def test_second_libsumo_simulation_is_refused(gm: JunctionSpec, sims: list[Simulation]) -> None:
    first = Simulation(gm, "low", duration=60)
    second = Simulation(gm, "low", duration=60)
    sims += [first, second]
    first.start()
    with pytest.raises(SimulationError, match="another libsumo simulation is open"):
        second.start()
    assert first.running and not second.running
    first.step()  # the first is unharmed
    # a traci simulation may run beside it
    over_traci = Simulation(gm, "low", duration=60, backend="traci")
    sims.append(over_traci)
    over_traci.start()
    over_traci.step()
    first.close()
    second.start()  # allowed once the first is closed
    second.step()
    assert second.time == pytest.approx(0.6)


# ----- no SUMO process outlives a traci run --------------------------------------------------
def test_traci_close_leaves_no_process(gm: JunctionSpec) -> None:
    sim = Simulation(gm, "low", backend="traci", duration=60)
    sim.start()
    children = sumo_children()
    assert len(children) == 1 and children[0][1] == "sumo"
    sim.step()
    sim.close()
    assert sumo_children() == []


def test_traci_finish_leaves_no_process(gm: JunctionSpec) -> None:
    run(gm, backend="traci", duration=30)
    assert sumo_children() == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_traci_exception_leaves_no_process(gm: JunctionSpec, error: type[BaseException]) -> None:
    with pytest.raises(error), Simulation(gm, "low", backend="traci", duration=60) as sim:
        sim.step()
        assert len(sumo_children()) == 1
        raise error("stop")
    assert not sim.running
    assert sumo_children() == []


def test_sumo_dying_mid_run_is_an_error_and_leaves_nothing(gm: JunctionSpec) -> None:
    sim = Simulation(gm, "low", backend="traci", duration=60)
    try:
        sim.start()
        sim.step()
        ((pid, _, _),) = sumo_children()
        os.kill(pid, 9)
        with pytest.raises(SimulationError, match="SUMO stopped during the run"):
            for _ in range(5):
                sim.step()
        assert not sim.running
    finally:
        sim.close()
    assert [c for c in sumo_children() if c[2] != "Z"] == []


def test_temporary_output_is_removed(gm: JunctionSpec) -> None:
    sim = Simulation(gm, "low", duration=30)
    with sim:
        outdir = sim._outdir
        assert outdir is not None and outdir.is_dir()
        sim.step()
    assert not outdir.exists()
