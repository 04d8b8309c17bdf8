"""Demand: levels, totals, profile YAMLs, routes with Poisson flows; bad demands fail clearly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sumolib
import yaml

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import (
    DemandProfile,
    Period,
    constant_demand,
    default_demand,
    default_training_demand,
    demand_hint,
    demand_names,
    load_assumptions,
    mixed_totals,
    resolve_demand,
    routes_xml,
    training_range,
    write_routes,
)
from intergreen.junctions.network import build_network
from intergreen.junctions.spec import JunctionSpec, SpecError

LEVELS = {"low": 1680, "medium": 2210, "high": 2540}  # System D waits as the study's VA
V1 = {"low": 1714, "medium": 2117, "high": 2400}  # the study's stated totals, cars only
SITE_MIX = {"car": 0.7953, "van": 0.0905, "hgv": 0.1119, "bus": 0.0023}


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


@pytest.mark.parametrize(("name", "total"), LEVELS.items())
def test_levels(gm: JunctionSpec, name: str, total: float) -> None:
    profile = resolve_demand(gm, name)
    assert profile.name == name
    assert profile.duration == 1800
    assert len(profile.periods) == 1
    assert profile.periods[0].total == pytest.approx(total)
    assert set(profile.periods[0].flows) == set(gm.movements)


def test_assumed_split(gm: JunctionSpec) -> None:
    high = LEVELS["high"]
    flows = resolve_demand(gm, "high").periods[0].flows
    main = sum(v for m, v in flows.items() if m[0] in "NS")
    assert main == pytest.approx(0.7 * high)
    assert flows["N.ahead"] == pytest.approx(high * 0.35 * 0.8)
    assert flows["E.left"] == pytest.approx(high * 0.15 * 0.4)
    a = load_assumptions(gm)
    assert a.levels == LEVELS
    assert a.training_range == (1200, 3000)
    assert a.vehicle_mix == SITE_MIX


def test_levels_and_totals_take_the_site_mix(gm: JunctionSpec) -> None:
    for name in [*LEVELS, "1900vph", "medium+peds"]:
        assert resolve_demand(gm, name).vehicle_mix == SITE_MIX, name


@pytest.mark.parametrize(("name", "total"), V1.items())
def test_v1_levels_are_the_old_ones(gm: JunctionSpec, name: str, total: float) -> None:
    """low_v1 etc. give the route file the levels gave before issue 16 (cars only)."""
    profile = resolve_demand(gm, f"{name}_v1")
    assert profile.name == f"{name}_v1" and profile.vehicle_mix is None
    assert profile.periods[0].total == pytest.approx(total)
    old = DemandProfile(name=name, periods=profile.periods, source=profile.source)
    assert routes_xml(gm, profile) == routes_xml(gm, old)
    assert 'type="car"' in routes_xml(gm, profile) and "vTypeDistribution" not in routes_xml(
        gm, profile
    )


def test_v1_totals_and_range(gm: JunctionSpec) -> None:
    profile = resolve_demand(gm, "1900vph_v1")
    assert profile.name == "1900vph_v1" and profile.vehicle_mix is None
    assert profile.periods[0].total == pytest.approx(1900)
    assert resolve_demand(gm, "1900vph").vehicle_mix == SITE_MIX
    assert training_range(gm, "mixed") == (1200, 3000, None)
    assert training_range(gm, "mixed_v1") == (1200, 2571, "v1")
    assert training_range(gm, "medium") is None and training_range(gm, "mixed_v9") is None
    assert mixed_totals(1200, 2571)[-1] == 2550 and mixed_totals(1200, 3000)[-1] == 3000
    assert len(mixed_totals(1200, 2571)) == 28
    with pytest.raises(SpecError, match="no demand version 'v9'; versions: v1"):
        constant_demand(gm, 1900, version="v9")


@pytest.mark.parametrize(
    ("name", "words"),
    [("low_v9", "unknown demand 'low_v9'"), ("1900vph_v9", "unknown demand '1900vph_v9'"),
     ("rush_v1", "unknown demand 'rush_v1'")],
)  # fmt: skip
def test_unknown_version_or_level(gm: JunctionSpec, name: str, words: str) -> None:
    with pytest.raises(SpecError, match=words) as err:
        resolve_demand(gm, name)
    assert "low_v1" in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("versions:\n  v1:", "versions:\n  V-1:", "version 'V-1': use lower-case letters"),
        ("levels:\n  low:", "levels:\n  low_v1: 1000\n  low:", "levels.low_v1: _v1 is the suffix"),
        ("    levels: {low: 1714,", "    levels: {low: 1e12,", "versions.v1.levels.low"),
        ("training_range: [1200, 2571]", "training_range: [2571, 1]", "versions.v1.training_range"),
    ],
)
def test_bad_versions_are_refused(
    gm: JunctionSpec, tmp_path: Path, old: str, new: str, words: str
) -> None:
    library = Path(__file__).parents[2] / "intergreen" / "junctions" / "library"
    text = (library / "gm_a56" / "demand.yaml").read_text()
    assert old in text
    path = tmp_path / "demand.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(SpecError, match=re.escape(words)):
        load_assumptions(gm, path)


@pytest.mark.parametrize("text", ["1900vph", "1900", " 1900 veh/h", 1900, 1900.0])
def test_total(gm: JunctionSpec, text: str | float) -> None:
    profile = resolve_demand(gm, text)
    assert profile.name == "1900vph"
    assert profile.periods[0].total == pytest.approx(1900)
    assert profile.duration == 1800


def test_unknown_demand_lists_known(gm: JunctionSpec) -> None:
    with pytest.raises(SpecError) as err:
        resolve_demand(gm, "rush")
    msg = str(err.value)
    assert "unknown demand 'rush'" in msg
    for name in LEVELS:
        assert name in msg
    assert "1900vph" in msg
    assert {*LEVELS, *(f"{n}_v1" for n in V1)} <= set(demand_names(gm))
    # the training range is listed after the current levels, and a near miss is named
    assert "use one of low, medium, high, mixed (a total per episode from the training " in msg
    with pytest.raises(SpecError, match=r"unknown demand 'mixd' for junction gm_a56 \(did you "
                       r"mean 'mixed'\?\): use one of "):  # fmt: skip
        resolve_demand(gm, "mixd")
    with pytest.raises(SpecError, match=r"'mediun' for junction gm_a56 \(did you mean 'medium'"):
        resolve_demand(gm, "mediun")
    assert "did you mean" not in msg  # nothing close to 'rush'


@pytest.mark.parametrize("name", ["profiles/am.yaml", "am.yml", "mine.rou.xml"])
def test_a_missing_demand_file_is_named_as_missing(
    gm: JunctionSpec, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A demand meant as a file that is not there: 'not found' with the absolute path it
    looked at (it said 'unknown demand', as for a misspelt level)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError) as err:
        resolve_demand(gm, name)
    msg = str(err.value)
    assert msg.startswith(f"demand file {name} not found ({tmp_path / name} does not exist)")
    assert "unknown demand" not in msg and "1900vph" in msg  # what works, as before
    (tmp_path / "profiles").mkdir()
    _write_profile(tmp_path / "profiles" / "am.yaml",
                   [{"begin": 0, "end": 600, "flows": {"N.ahead": 300}}])  # fmt: skip
    assert resolve_demand(gm, "profiles/am.yaml").name == "two-period"  # once there, read


def _write_profile(path: Path, periods: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"name": "two-period", "periods": periods}))
    return path


def test_profile_yaml(gm: JunctionSpec, tmp_path: Path) -> None:
    path = _write_profile(
        tmp_path / "p.yaml",
        [
            {"begin": 0, "end": 600, "flows": {"N.ahead": 600, "S.ahead": 500, "E.left": 100}},
            {"begin": 600, "end": 900, "flows": {"N.ahead": 900, "W.right": 60}},
        ],
    )
    profile = resolve_demand(gm, str(path))
    assert profile.name == "two-period"
    assert profile.duration == 900
    assert [p.total for p in profile.periods] == [1200, 960]


@pytest.mark.parametrize(
    ("periods", "words"),
    [
        ([{"begin": 0, "end": 600, "flows": {"N.uturn": 100}}], ["unknown movement 'N.uturn'"]),
        ([{"begin": 0, "end": 600, "flows": {"N.ahead": -5}}], ["flows.N.ahead", ">= 0"]),
        ([{"begin": 600, "end": 300, "flows": {}}], ["end (300.0) must be after begin"]),
        (
            [{"begin": 0, "end": 300, "flows": {}}, {"begin": 400, "end": 600, "flows": {}}],
            ["periods.1 begins at 400 s, expected 300 s (the end of periods.0): periods follow "
             "on without a gap; set its begin to 300, or add a period from 300 to 400 s"],
        ),
        (
            [{"begin": 0, "end": 300, "flows": {}}, {"begin": 200, "end": 600, "flows": {}}],
            ["periods.1 begins at 200 s, expected 300 s (the end of periods.0): periods follow "
             "on without overlapping; set its begin to 300"],
        ),
        (
            [{"begin": 60, "end": 300, "flows": {}}],
            ["periods.0 begins at 60 s, expected 0 s (the profile's start)"],
        ),
    ],
)  # fmt: skip
def test_bad_profile(
    gm: JunctionSpec, tmp_path: Path, periods: list[dict], words: list[str]
) -> None:
    path = _write_profile(tmp_path / "bad.yaml", periods)
    with pytest.raises(SpecError) as err:
        resolve_demand(gm, str(path))
    for w in words:
        assert w in str(err.value)


def test_malformed_profile_yaml(gm: JunctionSpec, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nperiods: [\n")
    with pytest.raises(SpecError, match="malformed YAML"):
        resolve_demand(gm, str(path))


@pytest.mark.parametrize(
    ("name", "total", "vtype"),
    [("medium", LEVELS["medium"], "mix"), ("medium_v1", V1["medium"], "car")],
)
def test_routes_have_poisson_flows_matching_the_level(
    gm: JunctionSpec, name: str, total: float, vtype: str
) -> None:
    profile = resolve_demand(gm, name)
    path = write_routes(gm, profile)
    assert path.is_file()
    assert write_routes(gm, profile) == path  # same profile, same file
    flows = list(sumolib.xml.parse(str(path), "flow"))
    assert len(flows) == len(gm.movements)
    total_vph = 0.0
    for f in flows:
        m = re.fullmatch(r"exp\(([\d.]+)\)", f.period)
        assert m, f"not a Poisson flow: period={f.period}"
        total_vph += float(m.group(1)) * 3600
        assert (float(f.begin), float(f.end)) == (0, 1800)
        assert f.type == vtype
    assert total_vph == pytest.approx(total, rel=1e-6)
    # flows start on approach edges and end on exit edges that exist in the network
    net = sumolib.net.readNet(str(build_network(gm).net_file))
    for f in flows:
        assert net.getEdge(f.attr_from).getID().endswith("_in")
        assert net.getEdge(f.to).getID().endswith("_out")


def test_zero_flows_are_left_out(gm) -> None:
    profile = DemandProfile(name="empty", periods=[Period(begin=0, end=60, flows={"N.ahead": 0.0})])
    assert "<flow" not in routes_xml(gm, profile)


def test_default_demand_is_medium_where_the_junction_has_levels_else_its_own() -> None:
    assert default_demand(resolve_junction("gm_a56")) == "medium"
    assert resolve_demand(resolve_junction("gm_a56"), None).periods[0].total == pytest.approx(2210)
    cologne = resolve_junction("resco:cologne1")
    assert default_demand(cologne) == "routes"
    assert resolve_demand(cologne, None).route_files  # the network's own route files


def test_training_default_and_hints_without_demand_yaml() -> None:
    """Training defaults to mixed where the junction has a demand.yaml, else to its own
    demand; without demand.yaml the errors suggest what works there, never a total."""
    gm, cologne = resolve_junction("gm_a56"), resolve_junction("resco:cologne1")
    assert default_training_demand(gm) == "mixed"
    assert default_training_demand(cologne) == "routes"
    works = (
        "use one of routes, a SUMO route file (.rou.xml) or a profile YAML path (levels, "
        "totals and mixed are only for the shipped junctions with a demand.yaml, gm_a56, "
        "gm_a56_max_green, and YAMLs with `extends:` one of them)"
    )
    for demand, start in [
        ("low", "unknown demand 'low' for junction cologne1: "),
        ("1900vph", "junction 'cologne1' is not a shipped junction with a demand.yaml: "),
        ("medium+peds", "unknown demand 'medium' for junction cologne1: "),
    ]:
        with pytest.raises(SpecError) as err:
            resolve_demand(cologne, demand)
        assert str(err.value) == start + works
    with pytest.raises(SpecError, match="demand.yaml: use one of routes, a SUMO route"):
        training_range(cologne, "mixed")
    assert demand_hint(gm).endswith(
        ", a total such as 1900vph or a profile YAML path; +peds after a level or a total adds "
        "its pedestrian flows (medium+peds)"
    )
    # a traffic engineer's trial: medium+ped was asked "did you mean 'medium'?"
    for typed in ("medium+ped", "medium+pedestrians"):
        with pytest.raises(SpecError, match=r"\(did you mean 'medium\+peds'\?\)"):
            resolve_demand(gm, typed)


def test_a_demand_yaml_beside_an_imported_junction_is_said_not_to_be_read(tmp_path: Path) -> None:
    """Only the shipped junctions' demand.yaml files are read: the errors for a level or a
    total on an imported junction say so and name the ones that have one, and a demand.yaml
    the user put beside their junction is named as not read (a new user's trial: the hint
    "need a demand.yaml" invited them to add one, which changed nothing)."""
    from intergreen.junctions.catalog import LIBRARY
    from intergreen.junctions.imported_yaml import import_network
    from intergreen.junctions.resco import nets_folder

    net = nets_folder().parent / "single-intersection" / "single-intersection.net.xml"
    path, _, _ = import_network(net, tmp_path / "imp2")
    spec = resolve_junction(str(path.parent))
    shipped = (
        "levels, totals and mixed are only for the shipped junctions with a demand.yaml, "
        "gm_a56, gm_a56_max_green, and YAMLs with `extends:` one of them"
    )
    works = f"use a SUMO route file (.rou.xml) or a profile YAML path ({shipped}"
    with pytest.raises(SpecError) as err:
        resolve_demand(spec, "medium")
    assert str(err.value) == f"unknown demand 'medium' for junction single-intersection: {works})"
    (path.parent / "demand.yaml").write_text((LIBRARY / "gm_a56" / "demand.yaml").read_text())
    spec = resolve_junction(str(path.parent))
    not_read = f"; {path.parent / 'demand.yaml'} is not read)"
    for demand, start in [
        ("medium", "unknown demand 'medium' for junction single-intersection: "),
        ("1900vph", "junction 'single-intersection' is not a shipped junction with a "
                    "demand.yaml: "),
    ]:  # fmt: skip
        with pytest.raises(SpecError) as err:
            resolve_demand(spec, demand)
        assert str(err.value) == start + works + not_read


def test_a_demand_yaml_beside_a_users_own_geometry_is_said_not_to_be_read(tmp_path: Path) -> None:
    """The same for a junction YAML of the user's own geometry (no network, no `extends:`):
    a demand.yaml beside it is named as not read (it said nothing about it)."""
    from intergreen.junctions.catalog import LIBRARY, load_spec

    own = yaml.safe_load((LIBRARY / "gm_a56" / "junction.yaml").read_text())
    own["name"] = "my_crossroads"
    path = tmp_path / "my_crossroads.yaml"
    path.write_text(yaml.safe_dump(own))
    assert load_spec(path).folder == tmp_path
    with pytest.raises(SpecError) as err:
        resolve_demand(resolve_junction(str(path)), "medium")
    assert "is not read" not in str(err.value)
    (tmp_path / "demand.yaml").write_text((LIBRARY / "gm_a56" / "demand.yaml").read_text())
    with pytest.raises(SpecError) as err:
        resolve_demand(resolve_junction(str(path)), "medium")
    assert str(err.value).startswith("unknown demand 'medium' for junction my_crossroads: ")
    assert str(err.value).endswith(f"; {tmp_path / 'demand.yaml'} is not read)")
