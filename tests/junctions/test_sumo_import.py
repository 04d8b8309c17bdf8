"""Junctions derived from a SUMO network and its signal program: groups, stages, conflicts
from SUMO's foe matrix, intergreens, minimum greens, transitions; the written YAML; bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from nets import joined_tls, single_intersection, sumo_rilsa1, sumo_rl_nets, with_program
from sumo_states import run_and_check

from intergreen.junctions.baselines import make_baseline
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import resolve_demand, write_routes
from intergreen.junctions.env import make_env
from intergreen.junctions.imported import ImportedJunctionSpec
from intergreen.junctions.imported_yaml import _reference, import_network
from intergreen.junctions.network import build_network
from intergreen.junctions.route_files import movement_flows
from intergreen.junctions.spec import SpecError
from intergreen.junctions.sumo_import import (
    derive,
    group_conflicts,
    group_intergreens,
    junction_data,
)
from intergreen.junctions.sumo_net import NetworkImportError, read_tls


def cologne1() -> Path:
    return sumo_rl_nets() / "RESCO" / "cologne1" / "cologne1.net.xml"


def test_cologne1_groups_stages_conflicts_and_intergreens() -> None:
    facts = read_tls(cologne1())
    assert facts.tls_id == "GS_cluster_357187_359543" and not facts.lefthand
    d = derive(facts)
    # links that show the same aspect in every phase form a group
    assert d.groups == {
        "A": (0, 1, 2, 10, 11, 12),  # east and west: right and ahead
        "B": (3, 4, 13, 14),  # east and west: left and U-turn
        "C": (5, 6, 7, 15, 16, 17),
        "D": (8, 9, 18, 19),
    }
    assert d.stages == {"1": ("C", "D"), "2": ("D",), "3": ("A", "B"), "4": ("B",)}
    assert d.order == ("1", "2", "3", "4")
    assert d.min_greens == {"A": 5.0, "B": 5.0, "C": 5.0, "D": 5.0}  # the program's minDur
    assert d.amber == 5.0
    conflicts = group_conflicts(d.groups, facts)
    # C and D run together in phase 0 (the left turns of D give way): no conflict
    assert conflicts == {
        (a, b)
        for a, b in [("A", "C"), ("A", "D"), ("B", "C"), ("B", "D")]
        for a, b in ((a, b), (b, a))
    }
    igs = group_intergreens(d.groups, conflicts, facts, d.amber)
    assert igs["D"]["A"] == (5.0, "program")  # phase 3: 5 s of yellow, then phase 4
    assert igs["B"]["C"] == (5.0, "program")
    value, source = igs["A"]["C"]  # the program never changes from A to C directly
    assert source == "geometry" and value >= 5.0


def test_links_give_way_by_sumos_response_matrix() -> None:
    spec = resolve_junction("resco:cologne1")
    links = spec.links()
    # the left turn from the south (link 8) gives way to the opposite ahead (group C)
    assert links[8].group == "D" and "C" in links[8].filters_against
    assert links[6].filters_against == ("B",)  # never runs with B, so shows G


def test_arms_lanes_and_movements_of_ingolstadt1() -> None:
    facts = read_tls(sumo_rl_nets() / "RESCO" / "ingolstadt1" / "ingolstadt1.net.xml")
    arms = {a.name: a for a in facts.arms}
    assert set(arms) == {"N", "SE", "W"}
    assert arms["W"].length == pytest.approx(8.93, abs=0.01)  # shorter than any camera
    assert arms["SE"].approach_lanes == ("201963537#1_1", "201963537#1_2", "201963537#1_3")
    assert [link.movement for link in facts.links] == [
        "SE.ahead", "SE.ahead", "SE.left", "W.right", "W.left", "N.right", "N.ahead", "N.ahead",
    ]  # fmt: skip


def test_left_hand_network_with_crossings_imports_and_simulates(tmp_path: Path) -> None:
    gm = resolve_junction("gm_a56")
    net = build_network(gm, pedestrians=True)  # netconvert --lefthand, signalled crossings
    routes = write_routes(gm, resolve_demand(gm, "medium+peds"))
    facts = read_tls(net.net_file)
    assert facts.lefthand
    crossings = [link for link in facts.links if link.crossing]
    assert sorted(link.arm for link in crossings) == ["E", "N", "S", "W"]
    for rules in ("uk", "program"):
        path, data, _ = import_network(net.net_file, tmp_path / rules, routes=[routes], rules=rules)
        assert "left-hand" in data["description"]
        spec = resolve_junction(str(path))
        groups = {g: sg.movements for g, sg in spec.signal_groups.items()}
        assert ["S.crossing", "N.crossing"] in groups.values()
        env = make_env(str(path), "routes", seed=1, duration=400)
        metrics, violations, steps = run_and_check(env, make_baseline("random", seed=3), 3)
        assert steps == 400 and violations == []
        assert metrics["pedestrians"] > 0 and metrics["throughput"] > 50


def test_all_red_and_red_amber_phases_time_the_intergreens(tmp_path: Path) -> None:
    net = with_program(
        tmp_path,
        [("GGrr", 30), ("yyrr", 3), ("rrrr", 2), ("rruu", 1), ("rrGG", 30), ("rryy", 4),
         ("rrrr", 1)],
    )  # fmt: skip
    facts = read_tls(net)
    d = derive(facts)
    assert d.stages == {"1": ("A",), "2": ("B",)} and d.amber == 4.0
    igs = group_intergreens(d.groups, group_conflicts(d.groups, facts), facts, d.amber)
    assert igs["A"]["B"] == (6.0, "program")  # 3 s yellow, 2 s all-red, 1 s red+amber
    assert igs["B"]["A"] == (5.0, "program")
    _, rou = single_intersection()
    path, _, _ = import_network(net, tmp_path / "j", routes=[rou], rules="program")
    spec = resolve_junction(str(path))
    assert (spec.timing.amber, spec.timing.red_amber) == (4.0, 0.0)
    assert spec.intergreen("A", "B") == 6.0
    uk = yaml.safe_load(path.read_text())
    uk["rules"] = "uk"
    (tmp_path / "j" / "uk.yaml").write_text(yaml.safe_dump(uk))
    spec_uk = resolve_junction(str(tmp_path / "j" / "uk.yaml"))
    assert (spec_uk.timing.amber, spec_uk.timing.red_amber) == (3.0, 2.0)
    assert spec_uk.intergreen("B", "A") == 5.0 and spec_uk.intergreen("A", "B") == 6.0
    env = make_env(str(path), "routes", seed=2, duration=300)
    _, violations, _ = run_and_check(env, make_baseline("random", seed=1), 1)
    assert violations == []


def test_actuated_program_minimum_greens(tmp_path: Path) -> None:
    net = with_program(tmp_path, [("GGrr", 30, 9), ("yyrr", 3), ("rrGG", 30, 12), ("rryy", 3)],
                       kind="actuated")  # fmt: skip
    facts = read_tls(net)
    assert facts.program_type == "actuated"
    assert derive(facts).min_greens == {"A": 9.0, "B": 12.0}
    _, rou = single_intersection()
    path, _, _ = import_network(net, tmp_path / "j", routes=[rou], rules="uk")
    spec = resolve_junction(str(path))
    assert spec.min_green("B") == 12.0
    # our controller replaces the actuated logic: SUMO shows our states, minimum greens kept
    env = make_env(str(path), "routes", seed=2, duration=300)
    _, violations, _ = run_and_check(env, make_baseline("random", seed=4), 4)
    assert violations == []


def test_transitions_program_order_or_all() -> None:
    facts = read_tls(cologne1())
    data, _ = junction_data(facts, name="c")
    assert data["transitions"] == {"1": ["2"], "2": ["3"], "3": ["4"], "4": ["1"]}
    assert data["assumptions"][0].endswith("; transitions: the program's order")
    data, _ = junction_data(facts, name="c", transitions="all")
    assert data["transitions"]["1"] == ["2", "3", "4"]
    first = data["assumptions"][0]
    assert first.startswith("signal groups and stages from program ") and "all order" not in first
    assert first.endswith("; transitions: any stage to any other (--transitions all)")
    with pytest.raises(NetworkImportError, match="transitions 'some'"):
        junction_data(facts, name="c", transitions="some")


def test_written_yaml_is_editable(tmp_path: Path) -> None:
    net, rou = single_intersection()
    path, _, _ = import_network(net, tmp_path, routes=[rou])
    text = path.read_text()
    assert "link  0: N.ahead" in text and "assumptions:" in text
    data = yaml.safe_load(text)
    assert data["network"]["net_file"] == str(net)  # far away: absolute
    spec = resolve_junction(str(path))
    assert isinstance(spec, ImportedJunctionSpec) and spec.min_green("A") == 7.0  # uk default
    data["signal_groups"]["A"]["min_green"] = 11
    data["stages"]["3"] = {"groups": ["A", "B"]}  # A and B are foes
    data["transitions"]["3"] = ["1"]
    (tmp_path / "edit.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="signal groups A and B conflict"):
        resolve_junction(str(tmp_path / "edit.yaml"))
    del data["stages"]["3"], data["transitions"]["3"]
    data["signal_groups"]["B"]["links"] = [1, 2, 3]  # link 1 is also in A
    (tmp_path / "edit.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match="link 1 is in groups A and B"):
        resolve_junction(str(tmp_path / "edit.yaml"))
    data["signal_groups"]["B"]["links"] = [2]
    (tmp_path / "edit.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"link\(s\) \[3\] .* are in no group"):
        resolve_junction(str(tmp_path / "edit.yaml"))
    data["signal_groups"]["B"]["links"] = [2, 3]
    (tmp_path / "edit.yaml").write_text(yaml.safe_dump(data))
    assert resolve_junction(str(tmp_path / "edit.yaml")).min_green("A") == 11.0


def test_routes_next_to_the_yaml_are_relative(tmp_path: Path) -> None:
    net, rou = single_intersection()
    local_net = tmp_path / "net.net.xml"
    local_net.write_bytes(net.read_bytes())
    local_rou = tmp_path / "r.rou.xml"
    local_rou.write_bytes(rou.read_bytes())
    path, data, _ = import_network(local_net, tmp_path / "junction", routes=[local_rou])
    assert data["network"]["net_file"] == "../net.net.xml"
    assert data["network"]["routes"] == ["../r.rou.xml"]
    assert resolve_junction(str(path)).network.net_file == str(local_net.resolve())


def test_far_away_files_are_referenced_by_absolute_path() -> None:
    """Relative only where the closest common folder is at most two levels above the YAML's
    folder and not the filesystem root (README, "Any SUMO junction")."""
    net = Path("/work/main/nets/x.net.xml")
    # /tmp/out and /work/... share only the root: absolute (it read ../../work/main/...)
    assert _reference(net, Path("/tmp/out")) == "/work/main/nets/x.net.xml"
    assert _reference(net, Path("/work/main/junctions/x")) == "../../nets/x.net.xml"
    assert _reference(net, Path("/work/main/nets")) == "x.net.xml"
    # three levels up to the common folder /work/main: absolute
    assert _reference(net, Path("/work/main/a/b/c")) == "/work/main/nets/x.net.xml"


# ----- bad input ----------------------------------------------------------------------------
def test_not_a_sumo_network(tmp_path: Path) -> None:
    _, rou = single_intersection()
    with pytest.raises(NetworkImportError, match=r"rou.xml: not a SUMO network \(top element"):
        read_tls(rou)
    text = tmp_path / "x.net.xml"
    text.write_text("not xml at all")
    with pytest.raises(NetworkImportError, match="x.net.xml: not a SUMO network"):
        read_tls(text)


def test_unknown_or_missing_tls_id_lists_the_ones_that_exist() -> None:
    grid = sumo_rl_nets() / "2x2grid" / "2x2.net.xml"
    with pytest.raises(
        NetworkImportError, match="no traffic light 'X'; the network has 1, 2, 5, 6"
    ):
        read_tls(grid, "X")
    with pytest.raises(NetworkImportError, match=r"4 traffic lights; choose one with --tls"):
        read_tls(grid)
    assert read_tls(grid, "6").tls_id == "6"


def test_tls_controlling_two_junctions(tmp_path: Path) -> None:
    with pytest.raises(NetworkImportError, match=r"'J' controls 2 junctions \(A, B\)"):
        read_tls(joined_tls(tmp_path))


def test_program_without_green_phase(tmp_path: Path) -> None:
    net = with_program(tmp_path, [("rrrr", 30), ("yyyy", 3)])
    with pytest.raises(NetworkImportError, match="has no green phase"):
        derive(read_tls(net))


def test_program_phase_with_conflicting_greens(tmp_path: Path) -> None:
    net = with_program(tmp_path, [("GGGG", 30), ("yyyy", 3), ("rrGG", 30), ("rryy", 3)])
    with pytest.raises(NetworkImportError, match=r"phase 0 \(stage 1\) shows links 0 .* foes"):
        derive(read_tls(net))
    # the same phase with the north links giving way (g) is filtering, and loads
    ok = with_program(tmp_path, [("ggGG", 30), ("yyyy", 3), ("GGrr", 30), ("yyrr", 3)])
    assert derive(read_tls(ok)).stages == {"1": ("A", "B"), "2": ("A",)}


def test_route_file_with_unknown_edges(tmp_path: Path) -> None:
    net, _ = single_intersection()
    bad = tmp_path / "bad.rou.xml"
    bad.write_text(
        '<routes><vType id="c"/><vehicle id="v" type="c" depart="0">'
        '<route edges="n_t nowhere"/></vehicle></routes>'
    )
    with pytest.raises(NetworkImportError, match="bad.rou.xml: references edge.* nowhere"):
        import_network(net, tmp_path / "j", routes=[bad])
    assert not (tmp_path / "j" / "junction.yaml").exists()


def test_trips_are_routed_for_their_vehicle_class_not_across_crossings(tmp_path: Path) -> None:
    """RiLSA1 has pedestrian crossings: routed without a vehicle class, a trip from W to E
    walked over the walking areas and crossings, so 8 of its 12 movements counted nothing
    (400 of 1,200 veh/h) and Webster and the empty-junction warning saw the wrong flows."""
    facts = read_tls(sumo_rilsa1())
    ins, outs = ("nm", "em", "sm", "wm"), ("mn", "me", "ms", "mw")
    rows = [
        f'<flow id="{a}-{b}" begin="0" end="3600" from="{a}" to="{b}" vehsPerHour="100"/>'
        for a in ins for b in outs if a[0] != b[1]
    ]  # fmt: skip
    rows.append('<vType id="bus" vClass="bus"/>')
    rows.append('<trip id="b" type="bus" depart="10" from="wm" to="me"/>')
    rows.append('<trip id="v" depart="20" from="wm" via="ms" to="sm"/>')
    routes = tmp_path / "r.rou.xml"
    routes.write_text("<routes>" + "".join(rows) + "</routes>")
    flows = movement_flows([routes], facts, 0, 3600)
    assert sorted(flows) == sorted(f"{a}.{t}" for a in "NESW" for t in ("left", "ahead", "right"))
    assert flows["W.ahead"] == pytest.approx(101.0)  # 100 veh/h and the bus
    assert flows["W.right"] == pytest.approx(101.0)  # the trip via ms: W.right, then off
    assert sum(flows.values()) == pytest.approx(1202.0)
