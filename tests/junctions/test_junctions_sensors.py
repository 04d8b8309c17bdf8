"""Sensors on real SUMO: seeded noise, missed detections, dropout, count noise, camera range."""

from __future__ import annotations

import numpy as np
import pytest

from intergreen.frames import SensorFrame
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import DemandProfile, Period
from intergreen.junctions.sensors import SensorArray
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import JunctionSpec, Noise

DURATION = 300.0


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


def run_frames(
    spec: JunctionSpec,
    noise: Noise,
    *,
    sumo_seed: int = 1,
    noise_seed: int = 0,
    demand: str = "high",
    backend: str = "libsumo",
    duration: float = DURATION,
) -> tuple[list[SensorFrame], dict[str, float | int]]:
    """Frames of a run under the network's own (static) signal programme, and its metrics."""
    sim = Simulation(spec, demand, seed=sumo_seed, backend=backend, duration=duration)  # type: ignore[arg-type]
    lanes = tuple(spec.approach_lane_ids)
    sensors = SensorArray(sim.network, lanes, noise, noise_seed)
    frames = []
    with sim:
        sensors.reset(sim.conn)
        while sim.time < duration - 1e-9:
            sim.step()
            frames.append(sensors.read(sim.conn, sim.time, sim.step_length))
        metrics = sim.finish().as_dict()
    return frames, metrics


def stacked(frames: list[SensorFrame], field: str) -> np.ndarray:
    return np.stack([getattr(f, field) for f in frames])


@pytest.fixture(scope="module")
def clean(gm: JunctionSpec) -> tuple[list[SensorFrame], dict]:
    return run_frames(gm, Noise())


def test_noiseless_frames_are_sane(clean: tuple[list[SensorFrame], dict]) -> None:
    frames, metrics = clean
    assert len(frames) == round(DURATION / 0.6)
    f = frames[-1]
    assert f.lanes == ("N_0", "N_1", "E_0", "S_0", "S_1", "W_0")
    assert f.time == pytest.approx(DURATION)
    count, halting = stacked(frames, "count"), stacked(frames, "halting")
    occ, speed = stacked(frames, "occupancy"), stacked(frames, "mean_speed")
    assert count.max() > 3 and halting.max() > 1  # queues form at high demand
    assert np.all((occ >= 0) & (occ <= 1))
    assert np.all(halting <= count)
    assert np.all(speed <= 13.41 * 1.3)
    assert np.all(speed[count == 0] == 0)
    assert np.all(stacked(frames, "valid"))
    # the stop-line loops count every vehicle that crossed: about the throughput
    passed = stacked(frames, "passed").sum()
    assert passed == pytest.approx(metrics["throughput"], abs=0.1 * metrics["throughput"] + 5)
    # every vehicle that crossed entered a camera zone first
    assert stacked(frames, "arrived").sum() >= passed


def test_noise_is_seeded(gm: JunctionSpec) -> None:
    noise = Noise(count_sd=1.0, miss_prob=0.2, dropout_prob=0.05)
    a, _ = run_frames(gm, noise, noise_seed=7, duration=120)
    b, _ = run_frames(gm, noise, noise_seed=7, duration=120)
    c, _ = run_frames(gm, noise, noise_seed=8, duration=120)
    for field in ("count", "halting", "occupancy", "valid", "passed"):
        assert np.array_equal(stacked(a, field), stacked(b, field)), field
    assert not np.array_equal(stacked(a, "count"), stacked(c, "count"))
    assert not np.array_equal(stacked(a, "valid"), stacked(c, "valid"))


def test_miss_prob_halves_counts(gm: JunctionSpec, clean: tuple[list[SensorFrame], dict]) -> None:
    frames, _ = clean
    thinned, _ = run_frames(gm, Noise(miss_prob=0.5), noise_seed=3)
    full, half = stacked(frames, "count"), stacked(thinned, "count")
    assert full.sum() > 2000  # enough vehicle-steps for the ratio to be tight
    assert half.sum() / full.sum() == pytest.approx(0.5, abs=0.04)
    assert np.all(half <= full)  # a missed vehicle is never invented
    assert np.all(stacked(thinned, "halting") <= stacked(frames, "halting"))
    assert np.all(stacked(thinned, "halting") <= half)
    assert stacked(thinned, "passed").sum() / stacked(frames, "passed").sum() == pytest.approx(
        0.5, abs=0.08
    )
    occ_ratio = stacked(thinned, "occupancy").sum() / stacked(frames, "occupancy").sum()
    assert occ_ratio == pytest.approx(0.5, abs=0.05)


def test_miss_prob_one_sees_nothing(gm: JunctionSpec) -> None:
    frames, _ = run_frames(gm, Noise(miss_prob=1.0), duration=120)
    for field in ("count", "halting", "occupancy", "mean_speed", "passed", "arrived"):
        assert stacked(frames, field).sum() == 0, field


def test_dropout(gm: JunctionSpec) -> None:
    frames, _ = run_frames(gm, Noise(dropout_prob=0.3), noise_seed=5)
    valid = stacked(frames, "valid")
    assert valid.dtype == bool
    assert (~valid).mean() == pytest.approx(0.3, abs=0.03)
    for field in ("count", "halting", "occupancy", "mean_speed", "passed", "arrived"):
        assert np.all(stacked(frames, field)[~valid] == 0), field
    # sensors that did not drop out still see traffic
    assert stacked(frames, "count")[valid].sum() > 0
    all_out, _ = run_frames(gm, Noise(dropout_prob=1.0), duration=60)
    assert not stacked(all_out, "valid").any()
    assert stacked(all_out, "count").sum() == 0


def test_count_noise_never_negative(
    gm: JunctionSpec, clean: tuple[list[SensorFrame], dict]
) -> None:
    frames, _ = clean
    noisy, _ = run_frames(gm, Noise(count_sd=2.0), noise_seed=11)
    exact, counts = stacked(frames, "count"), stacked(noisy, "count")
    assert np.all(counts >= 0)
    assert np.array_equal(counts, np.rint(counts))  # whole vehicles
    diff = counts - exact
    assert (diff != 0).mean() > 0.5
    # unbiased where the clipping at zero cannot act
    deep = exact >= 6
    assert deep.sum() > 100
    assert diff[deep].mean() == pytest.approx(0, abs=0.4)
    assert diff[deep].std() == pytest.approx(2.0, rel=0.2)
    assert np.all(stacked(noisy, "halting") <= counts)


def test_traci_frames_equal_libsumo_frames(
    gm: JunctionSpec, clean: tuple[list[SensorFrame], dict]
) -> None:
    frames, _ = clean
    over_traci, _ = run_frames(gm, Noise(), backend="traci", duration=120)
    n = len(over_traci)
    for field in ("count", "halting", "occupancy", "mean_speed", "passed", "arrived"):
        np.testing.assert_allclose(
            stacked(over_traci, field), stacked(frames[:n], field), atol=1e-6, err_msg=field
        )


def test_vehicle_beyond_camera_range_is_not_seen(gm: JunctionSpec) -> None:
    empty = DemandProfile(name="empty", periods=[Period(begin=0, end=600, flows={"N.ahead": 0})])
    sim = Simulation(gm, empty, seed=1, duration=600)
    lanes = tuple(gm.approach_lane_ids)
    sensors = SensorArray(sim.network, lanes, Noise(), 0)
    n0 = lanes.index("N_0")
    length = sim.network.lane_lengths[n0]
    with sim:
        sensors.reset(sim.conn)
        veh = sim.conn.vehicle
        sim.conn.route.add("r_ns", ["N_in", "S_out"])
        # 100 m from the stop line: beyond the 60 m camera zone
        veh.add("far", "r_ns", typeID="car", departLane="0", departPos=str(length - 100),
                departSpeed="0")  # fmt: skip
        sim.step()
        veh.setSpeed("far", 0)
        for _ in range(10):
            sim.step()
            frame = sensors.read(sim.conn, sim.time, sim.step_length)
            assert veh.getLanePosition("far") == pytest.approx(length - 100, abs=1)
            assert frame.count.sum() == 0 and frame.occupancy.sum() == 0
        # 30 m from the stop line: inside the zone
        veh.add("near", "r_ns", typeID="car", departLane="0", departPos=str(length - 30),
                departSpeed="0")  # fmt: skip
        sim.step()
        veh.setSpeed("near", 0)
        for _ in range(5):
            sim.step()
        frame = sensors.read(sim.conn, sim.time, sim.step_length)
        assert frame.count[n0] == 1
        assert frame.halting[n0] == 1
        assert frame.occupancy[n0] == pytest.approx(4.5 / 60, rel=0.05)
        assert frame.count.sum() == 1
        # release the far one: once it has driven into the zone it is seen
        veh.setSpeed("far", -1)
        for _ in range(100):
            sim.step()
            if veh.getLanePosition("far") > length - 50 or veh.getRoadID("far") != "N_in":
                break
        assert veh.getRoadID("far") == "N_in"
        frame = sensors.read(sim.conn, sim.time, sim.step_length)
        assert frame.count.sum() == 2
