"""Absurd demands are refused before SUMO starts; accepted flows reach SUMO unchanged."""

from __future__ import annotations

import math
import re
import tracemalloc
from pathlib import Path

import pytest
import sumolib
import yaml
from procs import sumo_children

from intergreen.cli import main
from intergreen.junctions.catalog import LIBRARY, resolve_junction
from intergreen.junctions.demand import (
    DemandProfile,
    Period,
    load_assumptions,
    resolve_demand,
    routes_xml,
    write_routes,
)
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import JunctionSpec, SpecError


@pytest.fixture(scope="module")
def gm() -> JunctionSpec:
    return resolve_junction("gm_a56")


def _profile_file(path: Path, flows: dict, pedestrians: dict | None = None) -> Path:
    period = {"begin": 0, "end": 600, "flows": flows, "pedestrians": pedestrians or {}}
    path.write_text(yaml.safe_dump({"name": "p", "periods": [period]}))
    return path


def test_absurd_total_is_refused_saying_what_is_plausible(gm: JunctionSpec) -> None:
    with pytest.raises(SpecError) as err:
        resolve_demand(gm, "100000000vph")
    assert str(err.value) == (
        "demand 1e+08vph: 1e+08 veh/h into the junction is implausible; at most 32400 veh/h "
        "(3 x the saturation flow of its 6 approach lanes at 1800 veh/h each); flows are in veh/h"
    )


def test_the_bound_is_per_arm(gm: JunctionSpec) -> None:
    # 30000 veh/h: arm N (35 %, 2 lanes) gets 10500 <= 10800; 31000 gives it 10850
    assert resolve_demand(gm, "30000vph").periods[0].total == pytest.approx(30000)
    with pytest.raises(SpecError, match=r"10850 veh/h into arm N is implausible; at most 10800"):
        resolve_demand(gm, "31000vph")


def test_profile_with_1e12_is_refused_naming_its_file(gm: JunctionSpec, tmp_path: Path) -> None:
    path = _profile_file(tmp_path / "huge.yaml", {"N.ahead": 1e12, "S.ahead": 500})
    tracemalloc.start()
    try:
        with pytest.raises(SpecError) as err:
            resolve_demand(gm, str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    msg = str(err.value)
    assert msg.startswith(f"{path}: periods.0 (0-600 s): 1e+12 veh/h into the junction")
    assert "at most 32400 veh/h" in msg
    assert peak < 20e6  # refused before anything is built for the flow


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_flows_are_refused(gm: JunctionSpec, tmp_path: Path, value: float) -> None:
    path = _profile_file(tmp_path / "nan.yaml", {"N.ahead": value})
    with pytest.raises(SpecError, match=r"nan\.yaml: .*flows\.N\.ahead: flow must be a finite"):
        resolve_demand(gm, str(path))
    with pytest.raises(SpecError, match="finite number"):
        resolve_demand(gm, value)


def test_pedestrian_flows_are_bounded(gm: JunctionSpec, tmp_path: Path) -> None:
    path = _profile_file(tmp_path / "peds.yaml", {"N.ahead": 100}, {"N": 7201})
    with pytest.raises(SpecError, match=r"7201 pedestrians/h at the crossing of arm N"):
        resolve_demand(gm, str(path))
    path = _profile_file(tmp_path / "peds.yaml", {"N.ahead": 100}, {"N": 7200})
    assert resolve_demand(gm, str(path)).has_pedestrians


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("  high: 2540", "  high: 1e9", "levels.high"),
        ("training_range: [1200, 3000]", "training_range: [1200, 1e12]", "training_range"),
        ("training_range: [1200, 3000]", "training_range: [3000, 1200]", "0 < low <= high"),
    ],
)
def test_demand_assumptions_are_bounded(
    gm: JunctionSpec, tmp_path: Path, old: str, new: str, words: str
) -> None:
    text = (LIBRARY / "gm_a56" / "demand.yaml").read_text()
    assert old in text
    path = tmp_path / "demand.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(SpecError) as err:
        load_assumptions(gm, path)
    assert str(err.value).startswith(f"{path}: {words}") or words in str(err.value)


def test_cli_refuses_an_absurd_demand_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["simulate", "--demand", "100000000vph", "--duration", "60"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "1e+08 veh/h into the junction is implausible; at most 32400 veh/h" in err
    assert sumo_children() == []


AWKWARD = [1 / 3, 1e-7, 0.1 + 0.2, 1234.5678901234567, 2117 * 0.35 * 0.8, 5399.999999999999]


def test_flows_reach_the_route_file_unchanged(gm: JunctionSpec) -> None:
    movements = ["N.ahead", "S.ahead", "E.left", "W.right", "N.left", "S.right"]
    flows = dict(zip(movements, AWKWARD, strict=True))
    profile = DemandProfile(
        name="awkward",
        periods=[
            Period(begin=0, end=100.123456789, flows=flows, pedestrians={"N": 1 / 7}),
            Period(begin=100.123456789, end=1800.5, flows={"N.ahead": 1e-5}),
        ],
    )
    resolve_demand(gm, profile)  # accepted
    path = write_routes(gm, profile)
    read = {}
    for f in sumolib.xml.parse(str(path), "flow"):
        m = re.fullmatch(r"exp\((.+)\)", f.period)
        assert m, f.period
        read[f.id] = (float(f.begin), float(f.end), float(m.group(1)))
    for movement, vph in flows.items():
        arm, turn = movement.split(".")
        assert read[f"p0_{arm}_{turn}"] == (0.0, 100.123456789, vph / 3600)
    assert read["p1_N_ahead"] == (100.123456789, 1800.5, 1e-5 / 3600)
    persons = list(sumolib.xml.parse(str(path), "personFlow"))
    assert [float(p.probability) for p in persons] == [1 / 7 / 7200] * 2
    # the old format (8 decimals) lost a flow of 1e-5 veh/h entirely
    assert f"{1e-5 / 3600:.8f}" == "0.00000000"


def test_sumo_reads_the_exact_numbers(gm: JunctionSpec) -> None:
    profile = DemandProfile(
        name="tiny", periods=[Period(begin=0, end=60, flows={"N.ahead": 1e-3, "S.ahead": 3600})]
    )
    assert "e-07)" in routes_xml(gm, profile)  # exponent notation reaches SUMO
    with Simulation(gm, profile, seed=1, duration=30) as sim:
        while sim.time < 30 - 1e-9:
            sim.step()
        metrics = sim.finish()
    assert 15 <= metrics.vehicles <= 50  # S.ahead at 1 veh/s for 30 s; N.ahead ~never


def test_totals_in_any_number_form_reach_the_plausibility_check(gm: JunctionSpec) -> None:
    """'1e12vph' and '-100vph' were 'unknown demand' where 1e12 as a number was told why."""
    with pytest.raises(SpecError, match=r"demand 1e\+12vph: 1e\+12 veh/h into the junction is "
                       "implausible"):  # fmt: skip
        resolve_demand(gm, "1e12vph")
    with pytest.raises(SpecError, match=r"a total must be a finite number >= 0 veh/h"):
        resolve_demand(gm, "-100vph")
    assert resolve_demand(gm, "2.5e3vph").periods[0].total == pytest.approx(2500)
    assert resolve_demand(gm, "1900 veh/h").periods[0].total == pytest.approx(1900)
