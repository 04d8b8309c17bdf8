"""RESCO's single-junction scenarios by name, with RESCO's settings, from the sumo-rl wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from procs import sumo_children

from intergreen.junctions import resco
from intergreen.junctions.baselines import make_baseline
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import resolve_demand
from intergreen.junctions.env import make_env
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.spec import SpecError


@pytest.mark.parametrize(
    ("name", "begin", "stages"), [("cologne1", 25200, 4), ("ingolstadt1", 57600, 3)]
)
def test_resco_scenario_has_rescos_settings(name: str, begin: float, stages: int) -> None:
    spec = resolve_junction(f"resco:{name}")
    assert spec.name == name and len(spec.stages) == stages
    t = spec.timing
    assert (t.step_length, t.decision_interval, t.amber, t.red_amber) == (1.0, 10.0, 3.0, 0.0)
    # a 3 s yellow and no all-red between any two conflicting groups
    assert {v for row in spec.intergreens.values() for v in row.values()} == {3.0}
    assert all(len(spec.transitions[s]) == stages - 1 for s in spec.stages)  # any to any
    assert spec.action_stages == list(spec.stages)
    assert (spec.network.begin, spec.end) == (begin, begin + 3600)
    assert spec.sumo_options() == {"time-to-teleport": "-1"}
    assert spec.sensors.camera_range == 200.0
    assert str(resco.nets_folder()) in spec.network.net_file  # read from the installed wheel
    demand = resolve_demand(spec, "routes")
    assert demand.sumo_begin == begin and demand.duration == 3600
    assert demand.route_files[0].endswith(f"{name}.rou.xml")


def test_cologne1_flows_come_from_its_trips() -> None:
    demand = resolve_demand(resolve_junction("resco:cologne1"), "routes")
    flows = demand.periods[0].flows
    assert set(flows) <= {f"{a}.{t}" for a in "ESWN" for t in ("left", "ahead", "right", "uturn")}
    # 2015 trips in the hour; those that miss the junction are left out
    assert 1500 < sum(flows.values()) <= 2015


def test_resco_scenario_under_uk_rules() -> None:
    spec = resolve_junction("resco:cologne1:uk")
    assert spec.name == "cologne1-uk" and spec.rules == "uk"
    assert (spec.timing.amber, spec.timing.red_amber) == (3.0, 2.0)
    assert min(v for row in spec.intergreens.values() for v in row.values()) == 5.0
    # UK minimum greens: the program's minDur of 5 s (RESCO's) is not kept under uk
    assert {spec.min_green(g) for g in spec.signal_groups} == {7.0}
    assert resolve_junction("resco:cologne1").min_green("A") == 5.0
    assert any("the program's minDur (5 s) is not used" in a for a in spec.assumptions)
    # the network program's own rules keep its minDur (they took the profile's default, which
    # only happened to be 5 s too; the docs said minDur)
    program = resolve_junction("resco:cologne1:program")
    assert program.rules == "program"
    assert not any("minDur" in a and "not used" in a for a in program.assumptions)
    # the note on short lanes names the cameras' range these scenarios run with (200 m)
    assert any("shorter than the cameras' 200 m (S 97 m, W 57 m, N 41 m)" in a
               for a in spec.assumptions)  # fmt: skip


def test_a_lane_shorter_than_every_set_back_gets_one_system_d_loop() -> None:
    """ingolstadt1's W approach is 8.9 m long, shorter than the 12 m Z loop: it had no loop,
    so its traffic called no stage; now one loop near its start, said in the assumptions."""
    spec = resolve_junction("resco:ingolstadt1")
    assert any("(W 8.9 m: one loop 8.43 m before the stop line)" in a for a in spec.assumptions)
    env = make_env(spec, "routes", None, seed=1, duration=5)
    try:
        env.reset(seed=1)
        net, conn = env.network, env.sim.conn
        by_lane = dict(zip(net.approach_lanes, net.system_d_loop_ids, strict=True))
        w_lanes = [lane for lane, length in zip(net.approach_lanes, net.lane_lengths,
                                                strict=True) if length < 12]  # fmt: skip
        assert len(w_lanes) == 2
        for lane in w_lanes:
            (loop,) = by_lane[lane]
            assert conn.inductionloop.getLaneID(loop) == lane
            assert conn.inductionloop.getPosition(loop) == pytest.approx(0.5, abs=0.01)
        assert all(len(ids) >= 1 for ids in by_lane.values())
    finally:
        env.close()


def test_unknown_resco_names() -> None:
    with pytest.raises(SpecError, match="unknown RESCO scenario 'cologne9': use resco:cologne1"):
        resolve_junction("resco:cologne9")
    with pytest.raises(SpecError, match="profile 'ukk'.*did you mean 'resco:cologne1:uk'"):
        resolve_junction("resco:cologne1:ukk")


def test_missing_sumo_rl_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "sumo_rl" else real(n, *a)
    )
    with pytest.raises(SpecError, match=r"pip install 'intergreen\[resco\]'"):
        resolve_junction("resco:ingolstadt1")


def test_resco_episode_starts_at_the_scenario_window() -> None:
    env = make_env("resco:ingolstadt1", "routes", seed=1, duration=120)
    result = run_episode(env, make_baseline("random", seed=1), 1)
    assert result.metrics["simulated_s"] == 120
    assert result.metrics["vehicles"] > 10  # the routes start at 57600 s, as the episode
    assert result.decisions == 11  # every 10 s, after the first 10 s in the initial stage
    assert sumo_children() == []


@pytest.mark.parametrize(("name", "arm"), [("cologne1", "N"), ("ingolstadt1", "W")])
def test_vehicles_of_trips_that_start_upstream_keep_their_arm(name: str, arm: str) -> None:
    """RESCO's route files hold trips (from, to); on one arm of each scenario they start
    upstream of the approach edge, so neither the insertion lane nor the trip's edges name
    the approach. Their route driven (sumolib's fastest path) does: every arm with traffic
    shows it, and the arms hold nearly every vehicle (the few left never cross the
    junction). Before, that arm showed 0 vehicles under every controller."""
    env = make_env(f"resco:{name}", "routes", seed=1, duration=600, signals="program")
    result = run_episode(env, make_baseline("program"), 1)
    m = result.metrics
    arms = {a: m[f"arm_vehicles_{a}"] for a in env.spec_.arms}
    assert arms[arm] > 20, arms
    assert sum(arms.values()) >= 0.85 * m["vehicles"], (arms, m["vehicles"])
    assert sumo_children() == []


def _resco_report():
    spec = importlib.util.spec_from_file_location(
        "resco_report", Path(__file__).parents[2] / "benchmarks/resco/report.py"
    )
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    return report


def test_resco_report_names_the_arms_a_controller_starved() -> None:
    """benchmarks/resco/report.py lists rows (per training seed for a learner) that let
    through under half of an arm's vehicles; exit-only arms (no vehicles) and served arms not."""
    import pandas as pd

    report = _resco_report()
    rows = []
    for seed, served_s in [(1, 0), (2, 300)]:
        for _ in range(2):
            rows.append({"scenario": "cologne1", "rules": "uk", "controller": "ppo",
                         "train_seed": seed, "arm_vehicles_S": 344, "arm_throughput_S": served_s,
                         "arm_vehicles_N": 0, "arm_throughput_N": 0})  # fmt: skip
    rows.append({"scenario": "cologne1", "rules": "uk", "controller": "program",
                 "train_seed": None, "arm_vehicles_S": 344, "arm_throughput_S": 160,
                 "arm_vehicles_N": 0, "arm_throughput_N": 0})  # fmt: skip
    lines = report.unserved_arms(pd.DataFrame(rows))
    listed = [x for x in lines if x.startswith("- ")]
    assert listed == [
        "- cologne1, rules: uk, ppo (training seed 1): arm S let through 0 of 688 vehicles in "
        "2 episodes (0.0%).",
        "- cologne1, rules: uk, program: arm S let through 160 of 344 vehicles in 1 episode "
        "(46.5%).",
    ]
    assert "every other row let through at least 87% of each arm's vehicles" in " ".join(lines)
    served = pd.DataFrame([rows[2]])
    assert report.unserved_arms(served) == []


def test_resco_report_sets_greedy_evaluation_beside_the_last_training_episodes(
    tmp_path: Path,
) -> None:
    """The learners' section reads episodes 91-100 of each finished run's metrics.csv (not
    90, not 101), averages per training seed, and names a row whose greedy evaluation is at
    least twice its training episodes' delay; a row below that is not named."""
    import json

    import pandas as pd

    report = _resco_report()
    config = {"train_episodes": 100, "evaluation_seeds": [11, 12]}
    runs, episodes = [], []
    for rules, greedy in [("program", 30.0), ("uk", 500.0)]:
        for seed in (1, 2):
            run_dir = tmp_path / f"cologne1-{rules}-ppo-seed{seed}"
            run_dir.mkdir()
            # episodes 89-102: 90 and 101 carry delays that would change the mean if read
            delays = {e: 1000.0 if e in (90, 101) else 100.0 + seed for e in range(89, 103)}
            metrics = {"episode": list(delays), "avg_delay": list(delays.values()),
                       "avg_waiting_time": 1.0}  # fmt: skip
            pd.DataFrame(metrics).to_csv(run_dir / "metrics.csv", index=False)
            runs.append({"scenario": "cologne1", "rules": rules, "agent": "ppo",
                         "train_seed": seed, "run_dir": str(run_dir)})  # fmt: skip
            for s in config["evaluation_seeds"]:
                row = {"scenario": "cologne1", "rules": rules, "controller": "ppo",
                       "train_seed": seed, "seed": s, "avg_delay": greedy + seed}  # fmt: skip
                episodes.append(row)
    (tmp_path / "trained.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    training = report.training_episodes(tmp_path, config)
    assert len(training) == 4 * 10 and set(training.episode) == set(range(91, 101))
    lines = report.learners_section(pd.DataFrame(episodes), training, config)
    text = "\n".join(lines)
    # program: greedy 31.5, training 101.5 (seeds 1 and 2: 101 and 102); RESCO's IPPO 1250.67
    assert (
        "| cologne1 | program | ppo | 2 | 31.50 ± 6.35 | 101.50 ± 6.35 | 0.31 | 1250.67 |" in text
    )
    assert "| cologne1 | uk | ppo | 2 | 501.50 ± 6.35 | 101.50 ± 6.35 | 4.94 | - |" in text
    named = [x for x in lines if x.startswith("Greedy evaluation at least 2 times")]
    assert len(named) == 1 and "cologne1 under `rules: uk`, PPO." in named[0]
    assert "program" not in named[0].split(".")[0]


def test_resco_report_counts_collision_teleports_per_row() -> None:
    """The tables sum each row's teleports over its episodes (SUMO still teleports a vehicle
    after a collision with jam teleports off), beside the locked episodes."""
    import pandas as pd

    report = _resco_report()
    episodes = pd.DataFrame(
        [{"scenario": "cologne1", "rules": "uk", "controller": "max-pressure",
          "train_seed": None, "seed": s, "avg_delay": 50.0 + s, "avg_waiting_time": 30.0,
          "teleports": t} for s, t in [(1, 0), (2, 1), (3, 2)]]
    )  # fmt: skip
    config = {"evaluation_seeds": [1, 2, 3], "sumo": "v1.28.0"}
    rs = report.rows(episodes, "cologne1", "uk", {}, config)
    assert [r["teleports"] for r in rs] == [3]
    assert report.table(rs, "uk")[2] == (
        "| max-pressure | 52.00 ± 2.48 | 52.00 | 0 | 3 | 30.00 | 3 episodes | 1.00 |"
    )


def test_resco_report_names_training_runs_resumed_inexactly(tmp_path: Path) -> None:
    """The set-up lists the training runs' resumes from their resumes.jsonl, naming a run
    that did not continue exactly."""
    import json

    from intergreen.agents.rundir import record_resume

    report = _resco_report()
    for name, differing in [("cologne1-uk-ppo-seed3", 5), ("cologne1-uk-dqn-seed1", 0)]:
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        payload = {"config": {"agent": name.split("-")[2]}, "hyperparameters": {}, "env": {}}
        (run / "config.json").write_text(json.dumps(payload))
        record_resume(run, 32_768, differing)
    config = {"scenarios": {"cologne1": {"begin": 25200, "end": 28800}}, "decision_interval_s": 10,
              "yellow_s": 3, "detection_m": 200, "evaluation_seeds": [1, 2], "sumo": "v1.28.0",
              "intergreen": "0.2.0", "agents": ["dqn", "ppo"], "train_episodes": 100,
              "decisions_per_episode": 359, "train_seeds": 5, "reward": "wait_time",
              "commands": [{"command": "run_benchmark.py", "commit": "abc"}]}  # fmt: skip
    lines = report.setup(config, tmp_path)
    (line,) = [x for x in lines if "Interruptions" in x]
    assert line.startswith("- **Interruptions.** 2 runs were killed and resumed")
    assert line.endswith("an uninterrupted run): cologne1-uk-ppo-seed3 (at decision 32,768).")


def test_rescos_settings_replace_the_programs_amber_in_the_assumptions() -> None:
    """Under RESCO's settings every intergreen is its 3 s yellow, so the import's notes on
    the program's 5 s amber and on intergreens computed from geometry are dropped; under
    `rules: uk` they still apply and stay."""
    rescos = resolve_junction("resco:cologne1").assumptions
    assert any("every intergreen 3 s" in a for a in rescos)
    assert not any("program's amber" in a or "computed from the geometry" in a for a in rescos)
    uk = resolve_junction("resco:cologne1:uk").assumptions
    assert any(
        "amber 3 s and red+amber 2 s under uk; the program's longest yellow (5 s) counts only" in a
        for a in uk
    )
    assert not any("program's amber (its longest yellow) is" in a for a in uk)  # not 3 s
