"""Every single-tls network shipped with sumo-rl, and each signal of its grids taken alone,
imports and simulates under rules uk and program with no violation of our rule checker or of
SUMO's foe matrix, both read from SUMO's own signal states. A few in CI; all with -m slow."""

from __future__ import annotations

from pathlib import Path

import pytest
from nets import sumo_rl_nets
from sumo_states import run_and_check

from intergreen.junctions.baselines import make_baseline
from intergreen.junctions.env import make_env
from intergreen.junctions.imported_yaml import import_network
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.sumo_net import tls_ids

#: network, routes (relative to sumo-rl's nets folder)
NETS = {
    "single-intersection": ("single-intersection/single-intersection.net.xml",
                            "single-intersection/single-intersection.rou.xml"),
    "2way-single-intersection": ("2way-single-intersection/single-intersection.net.xml",
                                 "2way-single-intersection/single-intersection-vhvh.rou.xml"),
    "cologne1": ("RESCO/cologne1/cologne1.net.xml", "RESCO/cologne1/cologne1.rou.xml"),
    "ingolstadt1": ("RESCO/ingolstadt1/ingolstadt1.net.xml",
                    "RESCO/ingolstadt1/ingolstadt1.rou.xml"),
    "2x2grid": ("2x2grid/2x2.net.xml", "2x2grid/2x2.rou.xml"),
    "4x4-Lucas": ("4x4-Lucas/4x4.net.xml", "4x4-Lucas/4x4c1.rou.xml"),
    "4x4loop": ("4x4loop/4x4loop.net.xml", "4x4loop/4x4loop.rou.xml"),
    "grid4x4": ("RESCO/grid4x4/grid4x4.net.xml", "RESCO/grid4x4/grid4x4_1.rou.xml"),
    "arterial4x4": ("RESCO/arterial4x4/arterial4x4.net.xml",
                    "RESCO/arterial4x4/arterial4x4_1.rou.xml"),
}  # fmt: skip
BEGIN = {"cologne1": 25200.0, "ingolstadt1": 57600.0}
FAST = [("single-intersection", "t"), ("cologne1", None), ("ingolstadt1", None),
        ("2x2grid", "1"), ("grid4x4", "B1"), ("arterial4x4", "nt1")]  # fmt: skip


def _all_signals() -> list[tuple[str, str]]:
    return [(name, tls) for name, (net, _) in NETS.items()
            for tls in tls_ids(sumo_rl_nets() / net)]  # fmt: skip


def _check(name: str, tls: str | None, rules: str, folder: Path, duration: float) -> None:
    net, rou = (sumo_rl_nets() / p for p in NETS[name])
    begin = BEGIN.get(name, 0.0)
    path, _, _ = import_network(net, folder, tls=tls, routes=[rou], rules=rules, begin=begin)
    env = make_env(str(path), "routes", seed=1, duration=duration)
    metrics, violations, steps = run_and_check(env, make_baseline("random", seed=5), 5)
    assert steps == duration
    assert violations == [], [str(v) for v in violations[:5]]
    assert metrics["vehicles"] > 0


@pytest.mark.parametrize("rules", ["uk", "program"])
@pytest.mark.parametrize(("name", "tls"), FAST)
def test_sumo_rl_signal_runs_by_the_rules(name: str, tls: str | None, rules: str,
                                          tmp_path: Path) -> None:  # fmt: skip
    _check(name, tls, rules, tmp_path, 240)


@pytest.mark.slow
@pytest.mark.parametrize("rules", ["uk", "program"])
@pytest.mark.parametrize(("name", "tls"), _all_signals())
def test_every_sumo_rl_signal_runs_by_the_rules(name: str, tls: str, rules: str,
                                                tmp_path: Path) -> None:  # fmt: skip
    _check(name, tls, rules, tmp_path, 900)


SINGLE = ["single-intersection", "2way-single-intersection", "cologne1", "ingolstadt1"]
#: what the checker finds in each network's own program under rules program: nothing, but
#: ingolstadt1's program turns links from amber straight back to green
OWN_PROGRAM = {"ingolstadt1": {"sequence"}}


@pytest.mark.parametrize("rules", ["uk", "program"])
@pytest.mark.parametrize("name", SINGLE)
def test_own_program_is_judged_not_stopped(name: str, rules: str, tmp_path: Path) -> None:
    """The program baseline replays the network's program; --check-rules reports where it
    departs from the profile (findings) and never stops it. No sumo-rl program has red+amber,
    so under uk every one lacks it."""
    net, rou = (sumo_rl_nets() / p for p in NETS[name])
    path, _, _ = import_network(net, tmp_path, routes=[rou], rules=rules,
                                begin=BEGIN.get(name, 0.0))  # fmt: skip
    policy = make_baseline("program")
    env = make_env(str(path), "routes", seed=1, duration=300, check_rules=True,
                   **policy.env_kwargs)  # fmt: skip
    metrics = run_episode(env, policy, 1).metrics
    findings = env.rule_findings
    assert findings is not None and findings.steps == 300 and metrics["vehicles"] > 0
    if rules == "program":
        assert set(findings.counts) == OWN_PROGRAM.get(name, set())
    else:
        assert "no_red_amber" in findings.counts and "conflict" not in findings.counts


def test_every_single_tls_network_is_listed() -> None:
    """sumo-rl's networks with exactly one traffic light are the four listed above (the
    grids add their signals one at a time)."""
    nets = {p.relative_to(sumo_rl_nets()).as_posix() for p in sumo_rl_nets().rglob("*.net.xml")}
    single = {n for n in nets if len(tls_ids(sumo_rl_nets() / n)) == 1}
    assert single == {NETS[k][0] for k in SINGLE}
