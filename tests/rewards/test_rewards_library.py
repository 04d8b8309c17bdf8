"""Each built-in reward against a controlled gm_a56 scenario with a known answer.

The demand is empty; vehicles are inserted by hand at fixed speeds (0 holds them
queued) with lane changes off, and the signals are held. Camera zones are 60 m
long; a vehicle parked 100 m from the stop line is invisible to every reward.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from reward_scenarios import ALL_GREEN, ALL_RED, LIMIT, SIDE_ROADS, Scenario

from intergreen.rewards import registry
from intergreen.rewards.library import DemandEstimator, stopped_time

DT = 0.6  # gm_a56 step length
HALF = LIMIT / 2


def make(name: str, context, **params):
    reward = registry.get(name, **params)
    reward.reset(context)
    return reward


def queue_scene(sc: Scenario) -> None:
    """Four vehicles stopped in the zones (three on the main road from the south, one on
    the east side road), one stopped beyond the camera range; all signals red."""
    sc.signals(ALL_RED)
    sc.add("s0a", "S_0", 5, 0)
    sc.add("s0b", "S_0", 15, 0)
    sc.add("s1a", "S_1", 5, 0)
    sc.add("e0a", "E_0", 5, 0)
    sc.add("far", "S_1", 100, 0)


def ground_truth_halting(sc: Scenario) -> int:
    return sum(
        sc.conn.lane.getLastStepHaltingNumber(lane) for lane in sc.sim.network.approach_lanes
    )


def test_queue_family_counts_the_vehicles_in_camera_range(scenario: Scenario) -> None:
    queue_scene(scenario)
    frames = scenario.run(5)
    assert ground_truth_halting(scenario) == 5  # the simulator sees the far vehicle too
    ctx = scenario.context
    assert make("queue", ctx)(frames) == -4.0
    assert make("queue_squared", ctx)(frames) == -16.0
    assert make("vehicles_in_view", ctx)(frames) == -4.0  # the far one is not in view
    # stage 2 (main road) lanes queue 3, stage 4 (side roads) lanes queue 1
    assert make("stage_imbalance", ctx)(frames) == -2.0
    # the old name still loads, with a FutureWarning (shown by default), and gives the same values
    with pytest.warns(FutureWarning, match="use 'vehicles_in_view'"):
        assert make("pressure", ctx)(frames) == -4.0
    with pytest.warns(FutureWarning, match="use 'stage_imbalance'"):
        assert make("pressure", ctx, mode="imbalance")(frames) == -2.0
    both = make("weighted", ctx, weights={"average_speed": 1.0, "queue": 0.1})
    assert both(frames) == pytest.approx(0.0 + 0.1 * -4)  # all stopped: average speed 0


def test_delta_queue_is_the_fall_of_the_queue(scenario: Scenario) -> None:
    queue_scene(scenario)
    reward = make("delta_queue", scenario.context)
    assert reward(scenario.run(5)) == 0.0  # first decision
    scenario.add("w0a", "W_0", 5, 0)
    assert reward(scenario.run(5)) == -1.0  # queue grew 4 -> 5
    scenario.signals(SIDE_ROADS)
    for vid in ("e0a", "w0a"):
        scenario.conn.vehicle.setSpeed(vid, -1)  # drive on again
    assert reward(scenario.run(40)) == 2.0  # the side roads cleared: 5 -> 3


def test_wait_time_family_sums_stopped_vehicle_seconds(scenario: Scenario) -> None:
    queue_scene(scenario)
    ctx = scenario.context
    wait, delta = make("wait_time", ctx), make("delta_wait_time", ctx)
    warmup = scenario.run(3)
    assert wait(warmup) < 0 and delta(warmup) == 0.0  # first decision of delta
    frames = scenario.run(5)
    assert wait(frames) == pytest.approx(-4 * 5 * DT)  # 4 stopped vehicles x 3 s
    assert delta(frames) == pytest.approx(stopped_time(warmup) - 4 * 5 * DT)
    longer = scenario.run(10)
    assert wait(longer) == pytest.approx(-4 * 10 * DT)
    assert delta(longer) == pytest.approx(4 * 5 * DT - 4 * 10 * DT)


def test_wait_time_ad_divides_by_the_zone_arrival_rate(scenario: Scenario) -> None:
    queue_scene(scenario)
    # a time constant far beyond the run: d_hat is the plain mean arrival rate
    reward = make("wait_time_ad", scenario.context, demand_time_constant=1e9)
    frames = scenario.run(5)
    arrivals = sum(f.arrived.sum() for f in frames)
    assert arrivals == 4  # inserted in the zones: the cameras saw them enter; not the far one
    d_hat = 4 / (5 * DT)
    w = stopped_time(frames)
    assert reward(frames) == pytest.approx(-w / d_hat, rel=1e-6)
    assert reward.demand == pytest.approx(d_hat, rel=1e-6)
    # no arrivals for 10 more frames: the mean falls to 4 / 9 s
    frames = scenario.run(10)
    assert reward(frames) == pytest.approx(-4 * 10 * DT / (4 / (15 * DT)), rel=1e-6)


def test_demand_estimate_is_a_bias_corrected_moving_average(scenario: Scenario) -> None:
    queue_scene(scenario)
    frames = scenario.run(20)
    est = DemandEstimator(time_constant=5.0, floor=0.05)
    value = est.update(frames[:7])
    assert est.update(frames[7:]) != value
    alpha = 1 - math.exp(-DT / 5.0)
    x = np.array([f.arrived.sum() / DT for f in frames])
    w = (1 - alpha) ** np.arange(len(x))[::-1]
    assert est.value == pytest.approx(float(np.sum(w * x) / np.sum(w)))
    est.reset()
    assert est.update(frames[10:]) == 0.05  # nothing arrived: the floor


def test_speed_and_time_lost_use_the_vehicles_in_view(scenario: Scenario) -> None:
    ctx = scenario.context
    empty = scenario.run(2)
    assert make("average_speed", ctx)(empty) == 1.0  # sumo-rl's value with no vehicles
    assert make("average_speed", ctx, empty_value=0.0)(empty) == 0.0
    rewards = {
        n: make(n, ctx, **({"demand_time_constant": 1e9} if n.endswith("_ad") else {}))
        for n in ("average_speed", "time_lost", "delta_time_lost")
        + ("average_speed_ad", "time_lost_ad")
    }
    scenario.signals(ALL_GREEN)
    scenario.add("s0", "S_0", 80, HALF)  # half the limit, enters the zone after 3 s
    scenario.add("n1", "N_1", 80, HALF)
    scenario.add("e0", "E_0", 5, 0)  # stopped in view
    scenario.add("far", "W_0", 100, 0)  # stopped beyond the camera range
    warmup = scenario.run(8)
    assert {n: r(warmup) for n, r in rewards.items()}["delta_time_lost"] == 0.0
    first = scenario.run(5)
    for f in first:
        np.testing.assert_allclose(f.count, [0, 1, 1, 1, 0, 0])
    values = {n: r(first) for n, r in rewards.items()}
    # per frame: two vehicles at half the limit, one stopped
    assert values["average_speed"] == pytest.approx((0.5 + 0.5 + 0.0) / 3, abs=1e-6)
    tl = 5 * DT * (0.5 + 0.5 + 1.0)
    assert values["time_lost"] == pytest.approx(-tl, abs=1e-6)
    d_hat = 3 / (13 * DT)  # three vehicles entered the zones (the far one did not)
    assert values["average_speed_ad"] == pytest.approx(d_hat / 3, rel=1e-5)
    assert values["time_lost_ad"] == pytest.approx(-tl / d_hat, rel=1e-5)
    second = scenario.run(5)
    assert rewards["delta_time_lost"](second) == pytest.approx(0.0, abs=1e-6)  # steady state
    assert rewards["average_speed_ad"](second) == pytest.approx(3 / (18 * DT) / 3, rel=1e-5)


def test_throughput_counts_stop_line_crossings(scenario: Scenario) -> None:
    scenario.signals(ALL_GREEN)
    for i, dist in enumerate((20, 30, 40)):
        scenario.add(f"s{i}", "S_0", dist, 10.0)
    scenario.add("held", "N_0", 10, 0)  # in view but not crossing
    reward = make("throughput", scenario.context)
    values = [reward(scenario.run(5)) for _ in range(8)]
    assert sum(values) == 3.0
    assert values[0] == 1.0  # 20 m at 10 m/s: crossed within the first 3 s
    assert values[-1] == 0.0


def test_diff_waiting_time_tracks_accumulated_waiting(scenario: Scenario) -> None:
    queue_scene(scenario)
    reward = make("diff_waiting_time", scenario.context)
    first = scenario.run(5)
    assert reward(first) == 0.0
    assert reward.accumulated() == pytest.approx(stopped_time(first) / 100)
    second = scenario.run(5)
    assert reward(second) == pytest.approx(-4 * 5 * DT / 100)  # everyone waited 3 s more
    waited = reward.accumulated()
    assert waited == pytest.approx(stopped_time(first + second) / 100)
    scenario.signals(ALL_GREEN)
    for vid in ("s0a", "s0b", "s1a", "e0a"):
        scenario.conn.vehicle.setSpeed(vid, -1)
    released = scenario.run(40)
    value = reward(released)
    assert reward.accumulated() == 0.0  # all four left the zones
    assert value == pytest.approx(waited)  # their accumulated waiting went with them
    assert value > 0  # higher is better: waiting vehicles left


def test_speeding_vehicles_count_as_time_gained(scenario: Scenario) -> None:
    """Nothing is clipped: the formula's 1 - v/v_max is negative above the limit."""
    scenario.signals(ALL_GREEN)
    scenario.add("fast", "S_0", 70, 1.1 * LIMIT)
    scenario.conn.vehicle.setSpeedMode("fast", 0)
    scenario.run(3)
    frames = scenario.run(3)
    assert all(f.count.sum() == 1 for f in frames)
    assert make("time_lost", scenario.context)(frames) == pytest.approx(3 * DT * 0.1, rel=1e-4)
    assert make("average_speed", scenario.context)(frames) == pytest.approx(1.1, rel=1e-4)


def release(sc: Scenario, *vids: str) -> None:
    """Let stopped vehicles drive on (their speed back under the car-following model)."""
    for vid in vids:
        sc.conn.vehicle.setSpeed(vid, -1)


def test_wait_time_counts_only_the_vehicles_in_view_now(scenario: Scenario) -> None:
    """The study's W sums over V_t: a vehicle that waited and then left takes its wait with
    it; the window variant still counts it."""
    queue_scene(scenario)
    ctx = scenario.context
    names = ("wait_time", "wait_time_window", "delta_wait_time", "delta_wait_time_window")
    rewards = {n: make(n, ctx) for n in names}
    ad = make("wait_time_ad", ctx, demand_time_constant=1e9)
    ad_window = make("wait_time_window_ad", ctx, demand_time_constant=1e9)

    def stopped(frames: list, lanes: list[int]) -> float:
        return sum(DT * f.halting[lanes].sum() for f in frames)

    main, side = [3, 4], [2]  # S_0 (s0a, s0b), S_1 (s1a); E_0 (e0a)
    first = scenario.run(5)
    values = {n: r(first) for n, r in rewards.items()}
    # nobody left: both forms agree
    assert values["wait_time"] == pytest.approx(values["wait_time_window"])
    assert values["wait_time"] == pytest.approx(-stopped_time(first))
    assert ad(first) == pytest.approx(ad_window(first))
    waiting = scenario.run(5)  # all four still stopped ...
    scenario.signals(SIDE_ROADS)
    release(scenario, "e0a")  # ... then the side-road vehicle drives off through the junction
    second = waiting + scenario.run(15)
    assert second[-1].count.tolist() == [0, 0, 0, 2, 1, 0]  # e0a has left the zones
    e0a = stopped(second, side)
    assert e0a >= 5 * DT  # it waited in view before it got going
    assert stopped(second, main) == pytest.approx(3 * 20 * DT)  # the three stay queued
    now = stopped(second, main)
    assert rewards["wait_time"](second) == pytest.approx(-now)
    assert rewards["wait_time_window"](second) == pytest.approx(-now - e0a)
    # delta over V_t: what the vehicles in view now waited in the interval before, minus now
    assert rewards["delta_wait_time"](second) == pytest.approx(stopped(first, main) - now)
    assert rewards["delta_wait_time_window"](second) == pytest.approx(
        stopped_time(first) - stopped_time(second)
    )
    assert ad(second) / ad_window(second) == pytest.approx(now / (now + e0a), rel=1e-6)


def test_time_lost_counts_only_the_vehicles_in_view_now(scenario: Scenario) -> None:
    ctx = scenario.context
    names = ("time_lost", "time_lost_window", "delta_time_lost", "delta_time_lost_window")
    rewards = {n: make(n, ctx) for n in names}
    scenario.signals(ALL_GREEN)
    scenario.add("e0", "E_0", 5, 0)  # stopped in view throughout (lane 2)
    scenario.add("s0", "S_0", 40, HALF)  # at half the limit: through the zone and gone (lane 3)

    def lost(frames: list, lane: int) -> float:
        return sum(
            DT * f.count[lane] * (1 - f.mean_speed[lane] / f.speed_limit[lane]) for f in frames
        )

    first = scenario.run(5)
    assert first[-1].count.tolist() == [0, 0, 1, 1, 0, 0]
    values = {n: r(first) for n, r in rewards.items()}
    assert values["time_lost"] == pytest.approx(values["time_lost_window"], abs=1e-9)
    assert values["time_lost"] == pytest.approx(-(lost(first, 2) + lost(first, 3)), abs=1e-9)
    assert lost(first, 2) == pytest.approx(5 * DT)  # e0 stopped: all its time is lost
    second = scenario.run(10)
    assert second[-1].count.tolist() == [0, 0, 1, 0, 0, 0]  # s0 crossed the stop line
    assert lost(second, 3) > 0  # ... after losing time in view
    assert rewards["time_lost"](second) == pytest.approx(-10 * DT, abs=1e-9)  # V_t = {e0}
    assert rewards["time_lost_window"](second) == pytest.approx(
        -10 * DT - lost(second, 3), abs=1e-9
    )
    # V_t = {e0}: it lost 5 frames before and 10 now
    assert rewards["delta_time_lost"](second) == pytest.approx(5 * DT - 10 * DT, abs=1e-9)
    assert rewards["delta_time_lost_window"](second) == pytest.approx(
        -values["time_lost_window"] - (10 * DT + lost(second, 3)), abs=1e-9
    )


def test_zone_vehicles_follow_arrivals_passages_and_counts() -> None:
    """The per-lane queue behind W, TL and diff_waiting_time, on hand-made frames."""
    from intergreen.frames import SensorFrame
    from intergreen.rewards.library import ZoneVehicles

    def frame(count, halting, passed, arrived) -> SensorFrame:
        z = np.zeros(1)
        return SensorFrame(0.0, 1.0, ("L",), z, np.array([count], float),
                           np.array([halting], float), z, np.ones(1),
                           np.array([passed], float), np.array([arrived], float),
                           np.ones(1, bool))  # fmt: skip

    zones = ZoneVehicles(1, columns=1)
    for f in (frame(2, 2, 0, 2), frame(2, 2, 0, 0), frame(3, 2, 0, 1)):
        zones.update(f)
        zones.add_stopped(f, 0)
    assert zones.lanes[0][:, 0].tolist() == [3.0, 3.0, 0.0]  # the newcomer queues behind
    f = frame(2, 1, 1, 0)  # the front one crossed the stop line
    zones.update(f)
    zones.add_stopped(f, 0)
    assert zones.lanes[0][:, 0].tolist() == [4.0, 0.0]
    assert zones.total(0) == 4.0
    f = frame(1, 0, 0, 0)  # one left the zone unseen by the stop line (a lane change)
    zones.update(f)
    assert zones.lanes[0][:, 0].tolist() == [4.0]
