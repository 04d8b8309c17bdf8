"""Traffic lights with link indices no connection carries (unused: SUMO applies their state
character to no link), as in SUMO's own A10KW example: they import, run under real SUMO with
intergreen's controller (showing r there) and under the network's own program, and SUMO warns
of nothing; programs that do not fit their link indices and YAMLs that group an unused index
are still refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from cli_helpers import one_error_line, run_cli, run_cli_flat
from nets import single_intersection, sumo_game_a10kw, unused_index_net, with_program
from sumo_states import run_and_check

from intergreen.junctions.baselines import make_baseline
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.env import make_env
from intergreen.junctions.imported import ImportedJunctionSpec
from intergreen.junctions.imported_yaml import import_network
from intergreen.junctions.sumo import sumo_binary, sumo_home
from intergreen.junctions.sumo_import import derive
from intergreen.junctions.sumo_net import NetworkImportError, read_tls

A10KW_TLS = {
    "GS_cluster_1643085231_21432440_32500280_32500282": (3, 7, 12),
    "GS_cluster_21432412_32500298": (7,),
}


def _sumo(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Plain ``sumo`` with its warnings on (SUMO_HOME set, so none about that)."""
    return subprocess.run(
        [sumo_binary("sumo"), *map(str, args), "--no-warnings", "false", "--no-step-log", "true"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "SUMO_HOME": str(sumo_home())},
    )  # fmt: skip


def _warnings(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (done.stdout + done.stderr).splitlines() if "Warning" in line]


# ----- SUMO's A10KW -----------------------------------------------------------------------
def test_a10kw_asks_which_of_its_two_traffic_lights(tmp_path: Path, capsys) -> None:
    out = tmp_path / "j"
    line = one_error_line(
        *run_cli(["junctions", "import", str(sumo_game_a10kw()), "--out", str(out)], capsys)
    )
    assert "osm.net.xml: the network has 2 traffic lights; choose one with --tls (" in line
    assert all(tls in line for tls in A10KW_TLS) and not out.exists()


@pytest.mark.parametrize("tls", list(A10KW_TLS))
def test_a10kw_imports_and_simulates(tls: str, tmp_path: Path, capsys) -> None:
    """Each traffic light imports (its unused indices in no group, named in the summary) and
    `simulate` runs it 120 s with real SUMO under --check-rules."""
    net, unused = sumo_game_a10kw(), A10KW_TLS[tls]
    routes = ["--routes", str(net.parent / "osm.passenger.rou.xml"),
              "--routes", str(net.parent / "osm.truck.rou.xml")]  # fmt: skip
    code, out, err = run_cli_flat(
        ["junctions", "import", str(net), "--tls", tls, *routes, "--out", str(tmp_path / "j")],
        capsys,
    )
    assert code == 0, err
    listed = ", ".join(map(str, unused))
    assert f"assumption: link index(es) {listed} of the state string carry no connection" in out
    path = tmp_path / "j" / "junction.yaml"
    spec = resolve_junction(path)
    assert isinstance(spec, ImportedJunctionSpec) and spec.facts.unused == unused
    grouped = sorted(k for sg in spec.signal_groups.values() for k in sg.links)
    assert grouped == [k for k in range(spec.facts.n_states) if k not in unused]
    assert [k for k, link in enumerate(spec.links()) if link.unused] == list(unused)
    assert len(spec.stages) >= 3
    run = tmp_path / "run"
    code, _, err = run_cli(
        ["simulate", "--junction", str(path), "--duration", "120", "--check-rules",
         "--output", str(run)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["simulated_s"] == 120 and metrics["vehicles"] > 50
    assert metrics["throughput"] > 10 and metrics["teleports"] == 0


def test_a10kw_states_sumo_shows_and_its_warnings(tmp_path: Path, capsys) -> None:
    """SUMO shows r at the unused indices under intergreen's controller, the checker finds no
    breach in what it shows, and plain sumo runs the exported programme with warnings on
    without one."""
    net = sumo_game_a10kw()
    tls = next(iter(A10KW_TLS))
    path, _, _ = import_network(net, tmp_path / "j", tls=tls,
                                routes=[net.parent / "osm.passenger.rou.xml"])  # fmt: skip
    env = make_env(str(path), "routes", seed=1, duration=120)
    states: list[str] = []
    metrics, violations, steps = run_and_check(env, make_baseline("max-pressure"), 1, states)
    assert steps == 120 and violations == [] and metrics["vehicles"] > 20
    assert {s[k] for s in states for k in A10KW_TLS[tls]} == {"r"}
    assert {s[0] for s in states} >= {"G", "r"}  # the used links do change
    out = tmp_path / "export"
    code, _, err = run_cli(["junctions", "export", str(path), "--out", str(out)], capsys)
    assert code == 0, err
    programme = ET.parse(next(out.glob("*.tls.add.xml"))).getroot()
    phases = [p.get("state") or "" for p in programme.iter("phase")]
    assert phases and {p[k] for p in phases for k in A10KW_TLS[tls]} == {"r"}
    done = _sumo("-c", next(out.glob("*.sumocfg")), "--end", "300")
    assert done.returncode == 0, done.stderr
    assert _warnings(done) == []


# ----- a small network built here ---------------------------------------------------------
def test_unused_indices_are_in_no_group(tmp_path: Path) -> None:
    net, _ = unused_index_net(tmp_path)
    facts = read_tls(net)
    assert facts.unused == (3, 7, 11) and facts.n_states == 15
    assert [link.index for link in facts.links] == [0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14]
    d = derive(facts)
    assert d.groups == {"A": (0, 1, 2, 8, 9, 10), "B": (4, 5, 6, 12, 13, 14)}
    assert d.stages == {"1": ("A",), "2": ("B",)}
    with pytest.raises(KeyError):
        facts.link(3)


def test_own_program_showing_anything_at_unused_indices_is_no_finding(
    tmp_path: Path, capsys
) -> None:
    """The network's own program shows G, then r straight after (no amber), then O at its
    unused indices; SUMO applies them to no link, so the checker judges only the used links
    (which obey rules program) and the timeline sees the program's stages. Our controller
    shows r there."""
    net, routes = unused_index_net(tmp_path, unused="GrrO")
    done = _sumo("-n", net, "-r", routes, "--end", "100")
    assert done.returncode == 0 and _warnings(done) == []
    path, _, _ = import_network(net, tmp_path / "j", routes=[routes], rules="program")
    policy = make_baseline("program")
    env = make_env(str(path), "routes", seed=1, duration=150, check_rules=True,
                   **policy.env_kwargs)  # fmt: skip
    states: list[str] = []
    metrics, violations, _ = run_and_check(env, policy, 1, states)
    assert {s[3] for s in states} == {"G", "r", "O"}  # the program's, as SUMO shows them
    assert violations == [] and metrics["throughput"] > 20
    assert env.rule_findings is not None and env.rule_findings.counts == {}
    run = tmp_path / "run"
    code, out, err = run_cli(
        ["simulate", "--junction", str(path), "--controller", "program", "--duration", "150",
         "--check-rules", "--output", str(run)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "kept rules program in all 150 steps" in " ".join(out.split())
    spans = json.loads((run / "timeline.json").read_text())["stages"]
    shown = {s for a, b, s in spans if b - a >= 30}  # each green phase, 30 s
    assert shown == {"1", "2"}
    env = make_env(str(path), "routes", seed=1, duration=150)
    metrics, violations, _ = run_and_check(env, make_baseline("random", seed=2), 2, states)
    assert violations == [] and {s[k] for s in states for k in (3, 7, 11)} == {"r"}
    assert metrics["throughput"] > 20


def test_states_not_fitting_the_link_indices_are_refused(tmp_path: Path, capsys) -> None:
    """One character past the last link index: SUMO warns of unused states, the import refuses
    it in one line; so it does states too short or of different lengths."""
    net, _ = unused_index_net(tmp_path, surplus=1)
    done = _sumo("-n", net, "--end", "1")
    assert "Unused states in tlLogic 'C', program '0' in phase 0 after tl-index 14" in done.stderr
    out = tmp_path / "j"
    line = one_error_line(*run_cli(["junctions", "import", str(net), "--out", str(out)], capsys))
    assert (
        "unused.net.xml: program '0' of 'C' has states of [16] characters for link indices "
        "0..14, one character each (SUMO warns of unused states past the last); repair the "
        "program (netedit) and import again"
    ) in line
    assert not out.exists()
    single, _ = single_intersection()
    assert read_tls(single).n_states == 4
    short = with_program(tmp_path, [("GGr", 30), ("yyr", 3), ("rrG", 30), ("rry", 3)])
    with pytest.raises(NetworkImportError, match=r"states of \[3\] characters for link indices"):
        read_tls(short)
    mixed = with_program(tmp_path, [("GGrr", 30), ("yyrrr", 3), ("rrGG", 30), ("rryy", 3)])
    with pytest.raises(NetworkImportError, match=r"states of \[4, 5\] characters for link indi"):
        read_tls(mixed)


def test_a_yaml_grouping_an_unused_index_is_refused(tmp_path: Path, capsys) -> None:
    net, routes = unused_index_net(tmp_path)
    path, _, _ = import_network(net, tmp_path / "j", routes=[routes])
    text = path.read_text()
    data = yaml.safe_load(text)
    assert data["signal_groups"]["A"]["links"] == [0, 1, 2, 8, 9, 10]
    path.write_text(text.replace("links: [0, 1, 2, 8, 9, 10]", "links: [0, 1, 2, 3, 8, 9, 10]"))
    line = one_error_line(*run_cli(["junctions", "show", str(path)], capsys))
    assert (
        "signal_groups.A.links: link index(es) [3] of traffic light C carry no connection "
        "(unused: SUMO applies them to no link); remove them from the group"
    ) in line
    # a used link left out of every group is still refused, and only it is named
    path.write_text(text.replace("links: [0, 1, 2, 8, 9, 10]", "links: [1, 2, 8, 9, 10]"))
    line = one_error_line(*run_cli(["junctions", "show", str(path)], capsys))
    assert "signal_groups: link(s) [0] of traffic light C are in no group; add each to one" in line
