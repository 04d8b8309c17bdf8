"""Webster's fixed time: lost time from the spec, measured saturation flows, a plan per period."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from signal_log import logged_env

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import DemandProfile, Period, resolve_demand
from intergreen.junctions.env import make_env
from intergreen.junctions.fixed_time import (
    FixedTime,
    cycle_sequence,
    forced_green,
    lane_flows,
    load_saturation_flows,
    lost_time,
    saturation_file,
    webster_plan,
)
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.saturation import measure_headways, saturation_flows
from intergreen.junctions.spec import SpecError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gm():
    return resolve_junction("gm_a56")


def test_lost_time_is_the_sum_of_the_specs_intergreens_over_the_sequence(gm) -> None:
    ig = gm.intergreen
    # 2 -> 4 (main road B, C to side roads D, E), 4 -> 1 (D, E to the arrow A and B),
    # 1 -> 2 (the arrow A to the main road from the south C): stage 1 is in the sequence
    assert cycle_sequence(gm, ["2", "4"]) == ["2", "4", "1"]
    assert lost_time(gm, ["2", "4"]) == ig("B", "D") + ig("D", "A") + ig("A", "C") == 15
    # with the pedestrian stage: 2 -> 3 -> 4 -> 1 -> 2, and 8 s after the crossings
    assert cycle_sequence(gm, ["2", "3", "4"]) == ["2", "3", "4", "1"]
    expected = ig("B", "F") + ig("F", "D") + ig("D", "A") + ig("A", "C")
    assert lost_time(gm, ["2", "3", "4"]) == expected == 5 + 8 + 5 + 5
    # stage 1 runs for the arrow's minimum green on the way, not shared out
    assert forced_green(gm, ["2", "4"]) == gm.min_green("A") == 4


def test_webster_plans_from_measured_saturation_flows(gm) -> None:
    env = make_env(gm, "medium", None, seed=1, duration=5)
    try:
        env.reset(seed=1)
        policy = FixedTime()
        policy.reset(env)
    finally:
        env.close()
    plan = policy.plans[0]
    sat = load_saturation_flows(gm)
    flows = lane_flows(gm, env.demand.periods[0])
    lanes = gm.approach_lane_ids
    main = max(flows[lanes.index(x)] / sat[x] for x in ("N_0", "N_1", "S_0", "S_1"))
    side = max(flows[lanes.index(x)] / sat[x] for x in ("E_0", "W_0"))
    assert plan.flow_ratios == pytest.approx({"2": main, "4": side})
    y = main + side
    assert plan.cycle == pytest.approx(
        max((1.5 * 15 + 5) / (1 - y), plan.lost_time + plan.forced_green + 14), rel=1e-6
    )
    assert plan.cycle == pytest.approx(15 + 4 + plan.greens["2"] + plan.greens["4"])
    assert plan.greens["4"] / plan.greens["2"] == pytest.approx(side / main)
    # the textbook 1,800 veh/h per lane gives another plan
    textbook = FixedTime(saturation_flow=1800)
    env = make_env(gm, "medium", None, seed=1, duration=5)
    try:
        env.reset(seed=1)
        textbook.reset(env)
    finally:
        env.close()
    assert textbook.plans[0].flow_ratios["4"] < plan.flow_ratios["4"]


def test_one_plan_per_demand_period_runs_in_sumo(gm) -> None:
    quiet = {"N.ahead": 300, "S.ahead": 300, "E.ahead": 100, "W.ahead": 100}
    busy = {"N.ahead": 900, "S.ahead": 900, "E.ahead": 500, "W.ahead": 500}
    profile = DemandProfile(
        name="two-periods",
        periods=[Period(begin=0, end=600, flows=quiet), Period(begin=600, end=1200, flows=busy)],
    )
    env, logs = logged_env(profile, seed=1, duration=1200)
    policy = FixedTime()
    run_episode(env, policy, seed=1)
    first, second = policy.plans
    assert (first.begin, first.end, second.begin, second.end) == (0, 600, 600, 1200)
    assert second.cycle > first.cycle + 10
    assert second.greens["4"] > first.greens["4"] + 3
    # SUMO's side-road greens follow the plan of their period
    log = logs[-1]
    idx = [k for k, link in enumerate(env.network.links) if link.group == "D"]
    green = np.array([any(s[k] in "Gg" for k in idx) for s in log.states])
    starts = np.flatnonzero(np.diff(green.astype(int)) == 1) + 1
    ends = np.flatnonzero(np.diff(green.astype(int)) == -1) + 1
    runs = [(a * 0.6, (b - a) * 0.6) for a, b in zip(starts, ends[ends > starts[0]], strict=False)]
    early = [d for t, d in runs if t < 560]
    late = [d for t, d in runs if t > 640]
    assert early and late
    assert early == pytest.approx([first.greens["4"]] * len(early), abs=0.61)
    assert late == pytest.approx([second.greens["4"]] * len(late), abs=0.61)


def test_saturation_flow_file_has_its_provenance(gm) -> None:
    path = saturation_file(gm)
    assert path == ROOT / "intergreen/junctions/library/gm_a56/saturation_flows.yaml"
    doc = yaml.safe_load(path.read_text())
    prov = doc["provenance"]
    assert (ROOT / prov["measured_by"]).is_file()
    assert prov["command"].startswith("python benchmarks/baselines/saturation_flow.py")
    for key in ("method", "conditions", "sumo", "intergreen_commit", "date"):
        assert prov[key]
    assert "Road Note 34" in prov["method"] and "RR67" in prov["method"]
    lanes = doc["lanes"]
    assert list(lanes) == gm.approach_lane_ids
    for lane in lanes.values():
        lo, hi = lane["ci95"]
        assert lo <= lane["saturation_flow"] <= hi
        assert lane["saturation_flow"] == pytest.approx(3600 / lane["mean_headway_s"], rel=1e-3)
        assert lane["headways"] >= 100 and lane["greens"] >= 20
    assert load_saturation_flows(gm) == {k: v["saturation_flow"] for k, v in lanes.items()}


def test_saturation_flows_remeasured_agree_with_the_file(gm) -> None:
    """A fresh short measurement (another seed) lands inside 6% of the committed numbers on
    the two kerb lanes of the main road, which discharge most vehicles."""
    fresh = saturation_flows(measure_headways(gm, [11], duration=900))
    committed = load_saturation_flows(gm)
    for lane in ("N_0", "S_0"):
        assert fresh[lane]["headways"] >= 30
        assert fresh[lane]["saturation_flow"] == pytest.approx(committed[lane], rel=0.06)


def test_a_bad_saturation_flow_file_is_refused(gm, tmp_path: Path) -> None:
    good = yaml.safe_load(saturation_file(gm).read_text())
    missing = {**good, "lanes": {k: v for k, v in good["lanes"].items() if k != "W_0"}}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(missing))
    with pytest.raises(SpecError, match=r"a\.yaml: lanes must be exactly .*missing: \['W_0'\]"):
        load_saturation_flows(gm, tmp_path / "a.yaml")
    absurd = {**good, "lanes": {**good["lanes"], "E_0": {"saturation_flow": 50}}}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(absurd))
    with pytest.raises(SpecError, match=r"b\.yaml: lanes\.E_0\.saturation_flow .* got 50"):
        load_saturation_flows(gm, tmp_path / "b.yaml")
    with pytest.raises(ValueError, match="saturation_flow: expected veh/h in 300-3000"):
        FixedTime(saturation_flow=10)
    with pytest.raises(ValueError, match="cycle_factor: expected a number > 0"):
        FixedTime(cycle_factor=0)


def test_webster_on_a_junction_with_exit_only_arms(tmp_path: Path) -> None:
    """sumo-rl's single intersection: arms E and S have no approach lanes (they carry no
    flow); N (stage 1) and W (stage 2) have two lanes each. A stage whose lanes have no flow
    gets its minimum green."""
    from nets import single_intersection

    from intergreen.junctions.imported_yaml import import_network

    net, rou = single_intersection()
    path, _, _ = import_network(net, tmp_path, routes=[rou])
    spec = resolve_junction(str(path))
    assert [a for a, arm in spec.arms.items() if not arm.approach_lanes] == ["E", "S"]
    routes = resolve_demand(spec, "routes").periods[0]
    assert routes.flows == {"N.ahead": 720.0, "W.ahead": 1800.0}
    assert spec.approach_lane_ids == ["W_0", "W_1", "N_0", "N_1"]
    assert lane_flows(spec, routes).tolist() == [900.0, 900.0, 360.0, 360.0]
    sat = load_saturation_flows(spec)  # no measured file: 1800 veh/h per lane
    plan = webster_plan(spec, ["1", "2"], routes, sat)
    assert plan.flow_ratios == pytest.approx({"1": 0.2, "2": 0.5})
    assert plan.lost_time == 10
    assert plan.cycle == pytest.approx((1.5 * 10 + 5) / (1 - 0.7))
    assert plan.greens["2"] / plan.greens["1"] == pytest.approx(0.5 / 0.2)
    only_w = Period(begin=0, end=3600, flows={"W.ahead": 1800.0})
    plan = webster_plan(spec, ["1", "2"], only_w, sat)
    assert plan.flow_ratios == {"1": 0.0, "2": 0.5}
    assert plan.greens["1"] == spec.min_green("A") == 7
    assert plan.greens["2"] == pytest.approx((1.5 * 10 + 5) / 0.5 - 10)


def test_lane_flows_balance_the_lanes_their_movements_allow(gm) -> None:
    """Movements spread over the lanes that serve them as evenly as the lanes allow: a turn
    lane carries its turn alone, shared lanes share equally where they can, and gm_a56's lanes
    (each arm's lanes share the ahead movement) keep their equal split."""
    from intergreen.junctions.fixed_time import balanced_lane_flows

    dedicated = [{"left"}, {"ahead"}, {"ahead"}, {"right"}]
    flows = {"left": 100.0, "ahead": 600.0, "right": 300.0}
    assert balanced_lane_flows(flows, dedicated) == [100.0, 300.0, 300.0, 300.0]
    shared = [{"left", "ahead"}, {"ahead", "right"}]
    assert balanced_lane_flows(flows, shared) == [500.0, 500.0]
    # a left turn heavier than the rest can balance: its lane alone, the ahead all beside
    lopsided = {"left": 500.0, "ahead": 50.0, "right": 100.0}
    assert balanced_lane_flows(lopsided, shared) == [500.0, 150.0]
    assert balanced_lane_flows({"uturn": 90.0}, shared) == [45.0, 45.0]  # served by none
    period = resolve_demand(gm, "medium").periods[0]
    lanes = lane_flows(gm, period)
    ids = gm.approach_lane_ids
    for arm in ("N", "S"):
        total = sum(v for m, v in period.flows.items() if m.startswith(f"{arm}."))
        assert lanes[ids.index(f"{arm}_0")] == lanes[ids.index(f"{arm}_1")] == total / 2


def test_webster_on_turn_lanes_plans_from_the_turns_they_carry(tmp_path: Path) -> None:
    """SUMO's cross network has dedicated turn lanes: each carries its turn's flow (the equal
    split of an arm's flow put 161 veh/h on E's lanes where its ahead lane carries 240), and
    the plan's flow ratios follow."""
    from nets import sumo_game_cross

    from intergreen.junctions.imported_yaml import import_network

    net, rou = sumo_game_cross()
    path, _, _ = import_network(net, tmp_path / "cross", routes=[rou])
    spec = resolve_junction(str(path))
    period = resolve_demand(spec, "routes").periods[0]
    lanes = dict(zip(spec.approach_lane_ids, lane_flows(spec, period), strict=True))
    flows = period.flows
    assert [lanes[f"E_{i}"] for i in range(3)] == [flows["E.right"], flows["E.ahead"],
                                                   flows["E.left"]]  # fmt: skip
    assert lanes["N_0"] == flows["N.right"] + flows["N.ahead"] and lanes["N_1"] == flows["N.left"]
    assert sum(lanes.values()) == pytest.approx(sum(flows.values()))
