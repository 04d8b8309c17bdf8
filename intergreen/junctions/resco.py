"""RESCO's single-junction scenarios by name: ``resco:cologne1``, ``resco:ingolstadt1``.

The networks and routes are RESCO's (Ault & Sharon, NeurIPS 2021 Datasets and Benchmarks;
TAPAS Cologne and InTAS Ingolstadt, under their own licences) as shipped in the sumo-rl wheel
(``sumo_rl/nets/RESCO/``): they are read from the installed package, never copied here.
Install them with ``pip install 'intergreen[resco]'``.

RESCO's settings (its ``map_config.py``, ``multi_signal.py`` and ``traffic_signal.py``):
the episode is the scenario's hour (cologne1 25200-28800 s, ingolstadt1 57600-61200 s of
SUMO time), a decision every 10 s, the green phases of the network's program as the actions
with any phase reachable from any other, a 3 s yellow and no all-red between them (so every
intergreen is 3 s, with no red+amber: ``rules: program``), no jam teleports
(``--time-to-teleport -1``: a vehicle that cannot move waits; SUMO still teleports a vehicle
after a collision, its default ``--collision.action``, as in RESCO) and detection up to
200 m from the stop line (here cut to the approach lanes, as RESCO's lanes are). RESCO's
metric "delay" is the mean trip time loss (``timeLoss`` plus ``departDelay`` of every
vehicle, unfinished and never-inserted ones included), our ``avg_delay``.

``resco:cologne1:uk`` is the same scenario under ``rules: uk`` (amber 3 s, red+amber 2 s,
intergreens at least 5 s, the profile's 7 s minimum green for every group), or any other rule
profile by name: ``resco:cologne1:program`` runs the network program's own amber, all-red
and ``minDur`` (cologne1: 5 s yellows and intergreens up to 9 s from the geometry), which is
not RESCO's set-up (every intergreen its 3 s yellow): ``resco:cologne1`` is.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from intergreen.junctions import rules as rule_profiles
from intergreen.junctions.imported import ImportedJunctionSpec, load_imported
from intergreen.junctions.spec import SpecError
from intergreen.junctions.sumo_import import junction_data
from intergreen.junctions.sumo_net import read_tls

__all__ = ["PREFIX", "SCENARIOS", "Scenario", "junction", "nets_folder"]

PREFIX = "resco:"
EXTRA = "pip install 'intergreen[resco]' (the sumo-rl package, which ships RESCO's networks)"
YELLOW = 3.0  # s, RESCO's yellow_length
DECISION = 10.0  # s, RESCO's step_length
DETECTION = 200.0  # m, RESCO's max_distance for its learning agents


@dataclass(frozen=True)
class Scenario:
    """One RESCO scenario: its folder under ``nets/RESCO``, files and SUMO time window."""

    folder: str
    net: str
    routes: tuple[str, ...]
    begin: float
    end: float


SCENARIOS: dict[str, Scenario] = {
    "cologne1": Scenario("cologne1", "cologne1.net.xml", ("cologne1.rou.xml",), 25200, 28800),
    "ingolstadt1": Scenario(
        "ingolstadt1", "ingolstadt1.net.xml", ("ingolstadt1.rou.xml",), 57600, 61200
    ),
}


def nets_folder() -> Path:
    """The ``nets/RESCO`` folder of the installed sumo-rl package; SpecError naming the extra
    to install when it is missing."""
    spec = importlib.util.find_spec("sumo_rl")
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(f"RESCO scenarios need the sumo-rl package: {EXTRA}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "nets" / "RESCO"
    if not folder.is_dir():
        raise SpecError(f"the installed sumo-rl has no nets/RESCO folder ({folder}): {EXTRA}")
    return folder


def junction(name: str) -> ImportedJunctionSpec:
    """``cologne1`` or ``ingolstadt1``, optionally ``:PROFILE`` for another rule profile
    (``cologne1:uk``). Raises SpecError for an unknown name or a missing sumo-rl."""
    scenario_name, _, profile = name.partition(":")
    if scenario_name not in SCENARIOS:
        raise SpecError(
            f"unknown RESCO scenario {scenario_name!r}: use {PREFIX}"
            + f", {PREFIX}".join(SCENARIOS)
        )
    if profile:
        try:
            rule_profiles.get(profile)
        except ValueError as e:
            raise SpecError(f"{PREFIX}{name}: {e}") from None
    return _junction(nets_folder(), scenario_name, profile or None)


@lru_cache(maxsize=8)
def _junction(nets: Path, scenario_name: str, profile: str | None) -> ImportedJunctionSpec:
    sc = SCENARIOS[scenario_name]
    folder = nets / sc.folder
    net = folder / sc.net
    routes = [str(folder / r) for r in sc.routes]
    facts = read_tls(net)
    data, _ = junction_data(
        facts,
        name=scenario_name if profile is None else f"{scenario_name}-{profile}",
        rules=profile or "program",
        transitions="all",
        routes=routes,
        begin=sc.begin,
        end=sc.end,
        net_ref=str(net),
        decision_interval=DECISION,
        uniform_intergreen=YELLOW if profile is None else None,
        camera_range=DETECTION,
        # the program's minDur (RESCO's 5 s) as RESCO and `:program` run it; under another
        # profile (uk) the profile's minimum green
        program_min_greens=profile in (None, "program"),
    )
    data["description"] = (
        f"RESCO {scenario_name} (Ault & Sharon 2021): {data['description']}, SUMO time "
        f"{sc.begin:g}-{sc.end:g} s"
    )
    data["network"]["sumo_options"] = {"time-to-teleport": -1}
    data["sensors"] = {"camera_range": DETECTION, "stop_line_loops": True}
    settings = [
        f"RESCO's settings: decisions every {DECISION:g} s, any green phase after any other, "
        f"no jam teleports, detection up to {DETECTION:g} m (cut to the approach lanes)"
    ]
    data["assumptions"] = settings + data["assumptions"]
    return load_imported(data, folder, f"{PREFIX}{scenario_name}")
