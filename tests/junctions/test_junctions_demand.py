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
    demand_names,
    load_assumptions,
    resolve_demand,
    routes_xml,
    write_routes,
)
from intergreen.junctions.network import build_network
from intergreen.junctions.spec import JunctionSpec, SpecError

LEVELS = {"low": 1714, "medium": 2117, "high": 2400}


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
    flows = resolve_demand(gm, "high").periods[0].flows
    main = sum(v for m, v in flows.items() if m[0] in "NS")
    assert main == pytest.approx(0.7 * 2400)
    assert flows["N.ahead"] == pytest.approx(2400 * 0.35 * 0.8)
    assert flows["E.left"] == pytest.approx(2400 * 0.15 * 0.4)
    a = load_assumptions(gm)
    assert a.levels == LEVELS
    assert a.training_range == (1200, 2571)


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
    assert set(LEVELS) <= set(demand_names(gm))


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
            ["periods.1 begins at 400"],
        ),
    ],
)
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


def test_routes_have_poisson_flows_matching_the_level(gm: JunctionSpec) -> None:
    profile = resolve_demand(gm, "medium")
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
        assert f.type == "car"
    assert total_vph == pytest.approx(2117, rel=1e-6)
    # flows start on approach edges and end on exit edges that exist in the network
    net = sumolib.net.readNet(str(build_network(gm).net_file))
    for f in flows:
        assert net.getEdge(f.attr_from).getID().endswith("_in")
        assert net.getEdge(f.to).getID().endswith("_out")


def test_zero_flows_are_left_out(gm) -> None:
    profile = DemandProfile(name="empty", periods=[Period(begin=0, end=60, flows={"N.ahead": 0.0})])
    assert "<flow" not in routes_xml(gm, profile)
