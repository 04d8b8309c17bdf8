"""Network build on real netconvert: cache by content hash, links -> signal groups, lane sides."""

from __future__ import annotations

from pathlib import Path

import pytest
import sumolib
import yaml

from intergreen.junctions.catalog import LIBRARY
from intergreen.junctions.network import SENSOR_LAYOUT_VERSION, TLS_ID, Network, build_network
from intergreen.junctions.spec import JunctionSpec, parse_spec

GM_YAML = LIBRARY / "gm_a56" / "junction.yaml"


def gm_spec(**sensor_changes: object) -> JunctionSpec:
    data = yaml.safe_load(GM_YAML.read_text())
    data["sensors"].update(sensor_changes)
    return parse_spec(data)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def built(cache: Path) -> Network:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERGREEN_CACHE", str(cache))
        return build_network(gm_spec())


@pytest.fixture(scope="module")
def net(built: Network) -> sumolib.net.Net:
    return sumolib.net.readNet(str(built.net_file), withInternal=False)


def test_build_writes_files_in_a_content_hash_folder(built: Network, cache: Path) -> None:
    folder = built.net_file.parent
    assert folder.parent == cache / "networks"
    assert folder.name == f"gm_a56-{gm_spec().content_hash()}"
    for name in ("junction.net.xml", built.sensors_file.name, "layout.json"):
        assert (folder / name).is_file()
    assert built.sensors_file.name == f"sensors-{SENSOR_LAYOUT_VERSION}.add.xml"  # one per layout
    # no temporary build folders left behind
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]


def test_second_build_reuses_the_folder(
    built: Network, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERGREEN_CACHE", str(cache))
    mtime = built.net_file.stat().st_mtime_ns
    again = build_network(gm_spec())
    assert again.net_file == built.net_file
    assert again.net_file.stat().st_mtime_ns == mtime  # not rebuilt
    assert again == built


def test_changed_spec_builds_a_new_folder(
    built: Network, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INTERGREEN_CACHE", str(cache))
    shorter = build_network(gm_spec(camera_range=30))
    assert shorter.net_file.parent != built.net_file.parent
    assert shorter.spec_hash != built.spec_hash
    assert built.net_file.is_file()  # the old build stays
    zones = sumolib.xml.parse(str(shorter.sensors_file), "laneAreaDetector")
    lengths = {z.id: float(z.endPos) - float(z.pos) for z in zones}
    assert lengths["cam_N_in_0"] == pytest.approx(30)
    assert lengths["cam_E_in_0"] == pytest.approx(30)


def test_force_rebuilds(built: Network, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERGREEN_CACHE", str(cache))
    spec = gm_spec(camera_range=40)
    first = build_network(spec)
    (first.net_file.parent / "marker").write_text("x")
    again = build_network(spec, force=True)
    assert again.net_file.is_file()
    assert not (again.net_file.parent / "marker").exists()


def test_one_traffic_light_whose_links_map_to_groups(built: Network, net: sumolib.net.Net) -> None:
    spec = gm_spec()
    assert [t.getID() for t in net.getTrafficLights()] == [TLS_ID]
    conns = net.getTLS(TLS_ID).getConnections()
    assert len(built.links) == len({i for _, _, i in conns}) == len(conns)
    for in_lane, out_lane, index in conns:
        link = built.links[index]
        arm = in_lane.getEdge().getID().removesuffix("_in")
        dest = out_lane.getEdge().getID().removesuffix("_out")
        assert link.movement.split(".")[0] == arm
        assert spec.destinations[link.movement] == dest
        assert link.movement in spec.signal_groups[link.group].movements
    # every movement of the spec has a link, and each is controlled by its group
    assert {lk.movement for lk in built.links} == set(spec.movements)
    groups = {lk.movement: lk.group for lk in built.links}
    assert groups["N.left"] == "B" and groups["S.ahead"] == "C"
    assert groups["E.right"] == "D" and groups["W.left"] == "E"
    right_n = next(lk for lk in built.links if lk.movement == "N.right")
    assert right_n.arrow == "A" and right_n.filters_against == ("C",)
    right_s = next(lk for lk in built.links if lk.movement == "S.right")
    assert right_s.arrow is None and right_s.filters_against == ("B",)


def test_lanes_serve_their_movements(net: sumolib.net.Net) -> None:
    """Kerb lane 0 of the north arm serves left and ahead, lane 1 ahead and right."""

    def turns(lane_id: str) -> set[str]:
        return {c.getTo().getID() for c in net.getLane(lane_id).getOutgoing()}

    assert turns("N_in_0") == {"E_out", "S_out"}
    assert turns("N_in_1") == {"S_out", "W_out"}
    assert turns("E_in_0") == {"S_out", "W_out", "N_out"}


def test_left_hand_network_kerb_lane_is_on_the_left(net: sumolib.net.Net) -> None:
    # the north arm runs southbound: its left (kerb) side is east, so larger x
    n0 = net.getLane("N_in_0").getShape()
    n1 = net.getLane("N_in_1").getShape()
    assert n0[0][1] > n0[-1][1]  # southbound
    assert min(x for x, _ in n0) > max(x for x, _ in n1)
    # the south arm runs northbound: its kerb side is west
    s0 = net.getLane("S_in_0").getShape()
    s1 = net.getLane("S_in_1").getShape()
    assert s0[-1][1] > s0[0][1]
    assert max(x for x, _ in s0) < min(x for x, _ in s1)
    # opposing traffic passes on the right: the southbound approach lies east of
    # the northbound exit
    n_exit = net.getLane("N_out_0").getShape()
    assert min(x for x, _ in n0) > max(x for x, _ in n_exit)


def test_layout_matches_spec(built: Network) -> None:
    assert built.approach_lanes == ("N_in_0", "N_in_1", "E_in_0", "S_in_0", "S_in_1", "W_in_0")
    assert all(length > 150 for length in built.lane_lengths)
    assert built.speed_limits == pytest.approx((13.41,) * 6)
    assert set(built.approach_edges) == {"N_in", "E_in", "S_in", "W_in"}
    assert set(built.exit_edges) == {"N_out", "E_out", "S_out", "W_out"}


def test_camera_zones_end_at_the_stop_line(built: Network) -> None:
    zones = {z.id: z for z in sumolib.xml.parse(str(built.sensors_file), "laneAreaDetector")}
    for lane, length in zip(built.approach_lanes, built.lane_lengths, strict=True):
        cam = zones[f"cam_{lane}"]
        assert cam.lane == lane
        assert float(cam.endPos) == pytest.approx(length, abs=0.01)
        assert float(cam.endPos) - float(cam.pos) == pytest.approx(60, abs=0.01)
        assert f"stop_{lane}" in zones
