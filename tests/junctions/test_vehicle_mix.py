"""Vehicle mixes: cars only by default (routes as before), SUMO draws the mix, bad mixes fail."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.demand import (
    VEHICLE_TYPE,
    DemandAssumptions,
    DemandProfile,
    Period,
    describe,
    load_assumptions,
    load_profile,
    resolve_demand,
    routes_xml,
)
from intergreen.junctions.env import make_env
from intergreen.junctions.spec import JunctionSpec, SpecError
from intergreen.junctions.vehicles import check_vehicle_mix, vtypes_xml

MIX = {"car": 0.5, "van": 0.1, "hgv": 0.3, "bus": 0.1}


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


def test_without_a_mix_nothing_changes(gm: JunctionSpec) -> None:
    profile = DemandProfile(
        name="t", periods=[Period(begin=0, end=60, flows={"N.ahead": 100.0})], source="s"
    )
    assert profile.vehicle_mix is None
    assert profile.digest() == "df18eecb329b460b"  # as before vehicle mixes existed
    text = routes_xml(gm, profile)
    assert text.splitlines()[:2] == ["<routes>", VEHICLE_TYPE]
    assert 'type="car"' in text and "vTypeDistribution" not in text
    assert "vehicle_mix" not in describe(profile)
    assert resolve_demand(gm, "medium_v1").vehicle_mix is None  # the levels before issue 16


def test_routes_with_a_mix(gm: JunctionSpec) -> None:
    profile = resolve_demand(gm, "medium").model_copy(update={"vehicle_mix": MIX})
    text = routes_xml(gm, profile)
    assert (
        '<vTypeDistribution id="mix" vTypes="car van hgv bus" probabilities="0.5 0.1 0.3 0.1"/>'
        in text
    )
    assert 'type="car"' not in text and text.count('type="mix"') == 12
    assert '<vType id="hgv" vClass="truck" length="7.1"' in text
    assert describe(profile)["vehicle_mix"] == MIX
    assert "bus" not in vtypes_xml({"car": 0.9, "hgv": 0.1, "bus": 0.0})


def test_sumo_draws_the_mix(gm: JunctionSpec) -> None:
    profile = resolve_demand(gm, "2400vph").model_copy(update={"vehicle_mix": MIX})
    env = make_env("gm_a56", profile, seed=3, duration=400)
    seen: dict[str, str] = {}
    try:
        env.reset(seed=3)
        conn = env.unwrapped.sim.conn
        lengths = {t: conn.vehicletype.getLength(t) for t in MIX}
        classes = {t: conn.vehicletype.getVehicleClass(t) for t in MIX}
        for _ in range(500):  # 300 s of 0.6 s steps
            env.step(0)
            for v in conn.vehicle.getIDList():
                seen[v] = conn.vehicle.getTypeID(v)
    finally:
        env.close()
    assert lengths == {"car": 4.5, "van": 6.5, "hgv": 7.1, "bus": 12.0}
    assert classes == {"car": "passenger", "van": "delivery", "hgv": "truck", "bus": "bus"}
    counts = Counter(seen.values())
    n = sum(counts.values())
    assert n > 150
    for t, share in MIX.items():  # binomial: 4 standard deviations
        assert abs(counts[t] / n - share) < 4 * (share * (1 - share) / n) ** 0.5 + 1e-9, counts


@pytest.mark.parametrize(
    ("mix", "message"),
    [
        ({"car": 0.9}, "shares must sum to 1, got 0.9000; make them add up to 1"),
        ({"car": 0.9, "tram": 0.1}, "unknown vehicle type(s) tram; use car, van, hgv, bus"),
        ({"car": 1.2, "hgv": -0.2}, "must be a fraction of the vehicles"),
        ({}, "no vehicle types"),
    ],
)
def test_bad_mix(mix: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_vehicle_mix(mix)
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nperiods:\n- {begin: 0, end: 60, flows: {N.ahead: 100}}\n"
        f"vehicle_mix: {mix}\n"
    )
    with pytest.raises(SpecError, match=f"{path}: vehicle_mix: "):
        load_profile(path)
    with pytest.raises(ValueError, match="vehicle_mix"):
        DemandAssumptions(arm_shares={"N": 1}, turning={"N": {"ahead": 1}}, vehicle_mix=mix)


def test_a_demand_yaml_mix_reaches_its_levels(gm: JunctionSpec, monkeypatch) -> None:
    import intergreen.junctions.demand as demand

    real = load_assumptions(gm)
    with_mix = DemandAssumptions.model_validate({**real.model_dump(), "vehicle_mix": MIX})
    monkeypatch.setattr(demand, "load_assumptions", lambda spec, path=None: with_mix)
    for name in ("medium", "1900vph"):
        profile = resolve_demand(gm, name)
        assert profile.vehicle_mix == MIX
        assert 'type="mix"' in routes_xml(gm, profile)
