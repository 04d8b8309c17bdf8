import json
import math
import os

import numpy as np
import pytest

from intergreen.tuning import (
    CARBS,
    CARBSParams,
    LinearSpace,
    LogitSpace,
    LogSpace,
    ObservationInParam,
    Param,
)
from intergreen.tuning.errors import (
    CheckpointError,
    ObservationError,
    SearchSpaceError,
    UnknownSuggestionError,
)


def _params() -> list[Param]:
    return [
        Param("lr", LogSpace(min=1e-6, max=1e-1, scale=0.5), 1e-4),
        Param("momentum", LogitSpace(scale=0.5), 0.9),
        # integer linear spaces need scale >~ rounding_factor / radius to move at all
        Param("width", LinearSpace(8, 64, scale=32, is_integer=True, rounding_factor=8), 32),
        Param("epochs", LogSpace(min=2, max=512, is_integer=True), 10),
    ]


def _objective(s: dict) -> tuple[float, float]:
    out = (math.log10(s["lr"]) + 3) ** 2 * 512 / s["epochs"] + abs(s["width"] - 48) / 8
    return out, float(s["epochs"])


def _run(tuner: CARBS, n: int) -> list[dict]:
    seen = []
    for _ in range(n):
        s = tuner.suggest().suggestion
        seen.append(s)
        out, cost = _objective(s)
        tuner.observe(s, out, cost)
    return seen


def test_suggestions_stay_in_bounds_and_on_the_integer_grid() -> None:
    tuner = CARBS(CARBSParams(better_direction_sign=-1, seed=3), _params())
    seen = _run(tuner, 25)
    for s in seen:
        assert 1e-6 < s["lr"] < 1e-1
        assert 0 < s["momentum"] < 1
        assert s["width"] in {8, 16, 24, 32, 40, 48, 56, 64}
        assert isinstance(s["epochs"], int) and 2 <= s["epochs"] <= 512
    assert tuner.observation_count == 25 and tuner.fallback_count == 0
    assert len({s["width"] for s in seen}) >= 2  # the integer dimension moves off its centre


def test_quadratic_with_cost_finds_optimum_within_30_observations() -> None:
    for seed in (0, 1):
        tuner = CARBS(CARBSParams(seed=seed), [Param("x", LinearSpace(), 0.0)])
        for _ in range(30):
            s = tuner.suggest().suggestion
            tuner.observe(s, -((s["x"] - 1.0) ** 2), cost=2.0 ** s["x"])
        best = max(tuner.observations, key=lambda o: o["output"])
        assert best["input"]["x"] == pytest.approx(1.0, abs=0.02)
        front = tuner.pareto_front()
        assert front[-1].input["x"] == pytest.approx(1.0, abs=0.02)
        assert [p.cost for p in front] == sorted(p.cost for p in front)


def _failure_run(seed: int, report_failures: bool) -> tuple[int, float]:
    tuner = CARBS(CARBSParams(seed=seed), [Param("x", LinearSpace(), 0.0)])
    inside = 0
    for _ in range(30):
        s = tuner.suggest().suggestion
        inside += s["x"] > 0.8
        tuner.observe(s, -((s["x"] - 1.0) ** 2), is_failure=report_failures and s["x"] > 0.8)
    best = max((o for o in tuner.observations if not o["is_failure"]), key=lambda o: o["output"])
    return inside, best["input"]["x"]


def _observations_to_reach_lr_optimum(seed: int, centred: bool) -> int:
    """Steps until |log10 lr + 3| < 0.1 from a centre one decade away (3.3 radii)."""
    cfg = CARBSParams(seed=seed, is_linear_kernel_centered=centred)
    tuner = CARBS(cfg, [Param("lr", LogSpace(), 1e-4), Param("x", LinearSpace(), 0.0)])
    for n in range(1, 41):
        s = tuner.suggest().suggestion
        d = math.log10(s["lr"]) + 3
        tuner.observe(s, -(d**2) - (s["x"] - 0.3) ** 2)
        if abs(d) < 0.1:
            return n
    return 41


def test_centred_linear_kernel_follows_a_slope_far_from_the_origin() -> None:
    # log10(lr) = -4 at the centre: upstream's uncentred linear kernel x.z can hardly tilt
    # along lr (its slope is tied to the offset at -4), so CARBS creeps toward the optimum
    centred = [_observations_to_reach_lr_optimum(s, True) for s in range(4)]
    upstream = [_observations_to_reach_lr_optimum(s, False) for s in range(4)]
    assert max(centred) <= 20
    assert sum(centred) <= sum(upstream) - 12, (centred, upstream)
    assert CARBSParams().is_linear_kernel_centered


def test_checkpoints_from_before_the_centred_kernel_resume_with_upstreams(tmp_path) -> None:
    path = tmp_path / "c.json"
    tuner = CARBS(CARBSParams(checkpoint_path=str(path)), [Param("x", LinearSpace(), 0.0)])
    tuner.observe({"x": 0.1}, 1.0)
    doc = json.loads(path.read_text())
    del doc["config"]["is_linear_kernel_centered"]
    path.write_text(json.dumps(doc))
    assert CARBS.load(path).config.is_linear_kernel_centered is False


def test_failures_steer_suggestions_away_from_the_failing_region() -> None:
    with_fail, best = _failure_run(0, True)
    without, _ = _failure_run(0, False)
    assert with_fail <= without - 4
    assert 0.7 < best <= 0.8  # pushed against the feasible boundary


def test_thompson_fantasies_give_distinct_pending_suggestions() -> None:
    tuner = CARBS(CARBSParams(better_direction_sign=-1, seed=1), _params())
    _run(tuner, 8)
    pending = [tuner.suggest().suggestion for _ in range(4)]
    keys = {tuple(v for k, v in p.items() if k != "suggestion_uuid") for p in pending}
    assert len(keys) == 4
    assert len(tuner.outstanding) == 4


def test_resume_continues_the_same_sequence(tmp_path) -> None:
    path = tmp_path / "ck" / "carbs.json"
    cfg = CARBSParams(better_direction_sign=-1, seed=7, checkpoint_path=str(path))
    a = CARBS(cfg, _params())
    first = _run(a, 7)
    a.suggest()  # one pending suggestion travels through the checkpoint too
    b = CARBS.load(path)
    assert b.outstanding.keys() == a.outstanding.keys()
    nxt_a = [a.suggest().suggestion for _ in range(3)]
    nxt_b = [b.suggest().suggestion for _ in range(3)]
    assert nxt_a == nxt_b
    assert all(s not in first for s in nxt_b)  # no repeats after reload
    assert not [f for f in os.listdir(path.parent) if f.endswith(".tmp")]


def test_observe_rejects_bad_input_and_records_nan_as_failure() -> None:
    tuner = CARBS(CARBSParams(), [Param("x", LinearSpace(min=-1, max=1), 0.0)])
    s = tuner.suggest().suggestion
    copy = dict(s)
    with pytest.raises(ObservationError, match="cost"):
        tuner.observe(s, 1.0, cost=0.0)
    with pytest.raises(ObservationError, match="cost"):
        tuner.observe(s, 1.0, cost=-3)
    with pytest.raises(ObservationError, match="missing parameters \\['x'\\]"):
        tuner.observe({"y": 0.1}, 1.0)
    with pytest.raises(ObservationError, match="outside the space"):
        tuner.observe({"x": 2.0}, 1.0)
    out = tuner.observe(s, math.nan, cost=2.0)
    assert s == copy  # the caller's dict is not mutated
    assert out.logs["is_failure"] is True
    assert tuner.observation_count == 1 and tuner.success_count == 0
    assert tuner.cumulative_cost == 0.0
    with pytest.raises(UnknownSuggestionError, match="not an outstanding suggestion"):
        tuner.observe(s, 1.0)  # observed twice
    with pytest.raises(UnknownSuggestionError):
        tuner.forget({"suggestion_uuid": "nope"})
    s2 = tuner.suggest().suggestion
    tuner.forget(s2)
    assert not tuner.outstanding
    tuner.observe(ObservationInParam({"x": 0.5}, 3.0, cost=1.5))
    assert tuner.cumulative_cost == 1.5


def test_bad_construction() -> None:
    with pytest.raises(SearchSpaceError, match="params is empty"):
        CARBS(CARBSParams(), [])
    with pytest.raises(SearchSpaceError, match="duplicate"):
        CARBS(CARBSParams(), [Param("x", LinearSpace(), 0), Param("x", LinearSpace(), 1)])
    with pytest.raises(ValueError, match="better_direction_sign"):
        CARBSParams(better_direction_sign=0)


def test_duplicate_inputs_at_different_costs_do_not_break_bo() -> None:
    tuner = CARBS(CARBSParams(resample_frequency=0), [Param("x", LinearSpace(), 0.0)])
    for x, cost in [(0.0, 1.0), (0.0, 10.0), (0.3, 3.0), (0.6, 4.0)]:
        tuner.observe({"x": x}, x, cost=cost)
    out = tuner.suggest()
    assert out.log["mode"] == "bo" and tuner.fallback_count == 0
    assert [p.cost for p in tuner.pareto_front()] == [3.0, 4.0]


def test_corrupt_checkpoints_raise_clear_errors(tmp_path) -> None:
    path = tmp_path / "c.json"
    tuner = CARBS(CARBSParams(checkpoint_path=str(path)), [Param("x", LinearSpace(), 0.0)])
    s = tuner.suggest().suggestion
    tuner.observe(s, 1.0)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        CARBS.load(path)
    doc = json.loads(text)
    del doc["rng"]
    path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="'rng'"):
        CARBS.load(path)
    doc = json.loads(text)
    doc["params"][0]["center"] = "abc"
    path.write_text(json.dumps(doc))
    with pytest.raises(CheckpointError, match="'params'"):
        CARBS.load(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        CARBS.load(tmp_path / "missing.json")


def test_checkpoint_is_never_half_written(tmp_path, monkeypatch) -> None:
    path = tmp_path / "c.json"
    tuner = CARBS(CARBSParams(checkpoint_path=str(path)), [Param("x", LinearSpace(), 0.0)])
    tuner.observe({"x": 0.1}, 1.0)
    before = path.read_text()

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        tuner.observe({"x": 0.2}, 2.0)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["c.json"]
    monkeypatch.undo()
    assert len(CARBS.load(path).observations) == 1


def test_local_rng_leaves_global_state_alone() -> None:
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    tuner = CARBS(CARBSParams(seed=5), [Param("x", LinearSpace(), 0.0)])
    for _ in range(6):
        s = tuner.suggest().suggestion
        tuner.observe(s, -s["x"] ** 2)
    assert np.random.random() == expected
