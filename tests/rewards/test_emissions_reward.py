"""The `emissions` reward: CO2 estimated from the cameras (idling and stops), its factors
derived from SUMO's HBEFA model, and its agreement with SUMO's own emission output."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from intergreen.frames import SensorFrame
from intergreen.junctions.env import reward_context
from intergreen.rewards import RewardContext, RewardError, registry

LANES = ("N_0", "N_1", "E_0", "S_0", "S_1", "W_0")
ROOT = Path(__file__).resolve().parents[2]


def frame(halting: list[float], t: float = 0.6) -> SensorFrame:
    h = np.asarray(halting, dtype=float)
    z = np.zeros(6)
    return SensorFrame(t, 0.6, LANES, z, h, h, z, np.full(6, 13.41), z, z, np.ones(6, bool))


@pytest.fixture(scope="module")
def context(spec) -> RewardContext:
    return reward_context(spec)


def test_registered_as_a_sensor_estimate() -> None:
    r = registry.get("emissions")
    assert r.fields == ("halting",)
    assert "estimate" in r.description and "not SUMO's emission output" in r.description
    assert r.params == {"idle_g_per_s": 1.521, "stop_g": 24.2}


def test_value_is_idle_seconds_and_new_stops(context) -> None:
    r = registry.get("emissions", idle_g_per_s=2.0, stop_g=10.0)
    r.reset(context)
    # lane 0 queues 0 -> 2 -> 1 -> 3: 2 + 0 + 2 = 4 new stops; 3.6 halting vehicle-seconds
    first = [frame([0, 0, 0, 0, 0, 0]), frame([2, 0, 0, 0, 0, 0]), frame([1, 0, 0, 0, 0, 0]),
             frame([3, 0, 0, 0, 0, 0])]  # fmt: skip
    assert r(first) == pytest.approx(-(2.0 * 0.6 * 6 + 10.0 * 4))
    # the next decision compares its first frame with the previous decision's last
    assert r([frame([3, 1, 0, 0, 0, 0])]) == pytest.approx(-(2.0 * 0.6 * 4 + 10.0 * 1))
    # a new episode starts from empty lanes: 3 + 1 halting vehicles are 4 new stops
    r.reset(context)
    assert r([frame([3, 1, 0, 0, 0, 0])]) == pytest.approx(-(2.0 * 0.6 * 4 + 10.0 * 4))


@pytest.mark.parametrize("bad", [{"idle_g_per_s": -1}, {"stop_g": 0}, {"stop_g": "lots"}])
def test_bad_factors_are_refused(bad: dict) -> None:
    with pytest.raises(RewardError, match="emissions"):
        registry.get("emissions", **bad)


def test_defaults_are_sumos_hbefa_factors() -> None:
    """The defaults are what benchmarks/emissions/reward_factors.py derives with SUMO."""
    path = ROOT / "benchmarks" / "emissions" / "reward_factors.py"
    spec = importlib.util.spec_from_file_location("reward_factors", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    f = module.factors()
    r = registry.get("emissions")
    assert r.params["idle_g_per_s"] == pytest.approx(f["idle_per_s"]["CO2"], abs=5e-4)
    assert r.params["stop_g"] == pytest.approx(f["stop"]["CO2"], abs=0.05)


def test_estimate_follows_sumos_co2() -> None:
    """Against SUMO's emission output (ground truth): a poorly timed fixed plan emits more
    CO2 than vehicle actuation, and the sensor estimate sees about that difference (it
    leaves out driving, so it is below the total)."""
    from intergreen.agents.evaluation import evaluate
    from intergreen.junctions.baselines import make_baseline

    controllers = [make_baseline("vehicle-actuated"),
                   make_baseline("fixed-time", greens={"2": 60, "4": 60})]  # fmt: skip
    df = evaluate(controllers, demands=["high"], seeds=[11], duration=600, reward="emissions")
    est = -df["reward_emissions"].to_numpy() / 1000  # kg
    co2 = df["co2_kg"].to_numpy()
    assert (est > 0).all() and (est < co2).all()
    assert co2[1] > co2[0] and est[1] > est[0]
    assert 0.6 < (est[1] - est[0]) / (co2[1] - co2[0]) < 1.6
