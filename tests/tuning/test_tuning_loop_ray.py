"""CARBS under a real local Ray Tune: a synthetic cost-aware objective, 6 trials."""

from __future__ import annotations

import math

import pytest

ray = pytest.importorskip("ray", reason="Ray Tune is an optional extra: pip install 'ray[tune]'")
pytest.importorskip("ray.tune", reason="Ray Tune is an optional extra: pip install 'ray[tune]'")

from ray import tune as rtune  # noqa: E402

from intergreen.tuning import CARBS, LogSpace, Param  # noqa: E402
from intergreen.tuning.ray_searcher import CARBSSearcher  # noqa: E402

PARAMS = [
    Param("lr", LogSpace(min=1e-5, max=1.0), 1e-2),
    Param("steps", LogSpace(min=10, max=100_000, is_integer=True), 1_000),
]


def make_objective():
    """A local function, so Ray pickles it by value (its workers cannot import this file)."""

    def objective(config: dict) -> None:
        """Loss falls with steps and is best at lr = 1e-3; lr > 0.05 'diverges' (an error)."""
        if config["lr"] > 0.05:
            raise RuntimeError("diverged")
        loss = (math.log10(config["lr"]) + 3) ** 2 + 100 / config["steps"]
        rtune.report({"loss": loss, "cost": float(config["steps"])})

    return objective


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_carbs_searcher_under_ray_tune(local_ray, tmp_path) -> None:
    searcher = CARBSSearcher(PARAMS, metric="loss", mode="min", cost_key="cost",
                             carbs_params={"num_random_samples": 3})
    tuner = rtune.Tuner(
        make_objective(),
        tune_config=rtune.TuneConfig(
            metric="loss", mode="min", search_alg=searcher, num_samples=6,
            max_concurrent_trials=2,
        ),
        run_config=rtune.RunConfig(storage_path=str(tmp_path), name="carbs", verbose=0),
    )  # fmt: skip
    results = tuner.fit()
    assert len(results) == 6
    carbs = searcher.carbs
    assert carbs is not None and carbs.config.better_direction_sign == -1
    assert carbs.observation_count == 6 and not carbs.outstanding
    errored = sum(r.error is not None for r in results)
    assert sum(o["is_failure"] for o in carbs.observations) == errored
    for o in carbs.observations:
        assert 1e-5 < o["input"]["lr"] < 1.0 and isinstance(o["input"]["steps"], int)
        if not o["is_failure"]:
            assert o["cost"] == o["input"]["steps"]  # the reported cost
    ok = [r.metrics["loss"] for r in results if r.error is None]
    assert ok and min(ok) == pytest.approx(min(o["output"] for o in carbs.observations
                                               if not o["is_failure"]))  # fmt: skip

    path = str(tmp_path / "searcher.json")
    searcher.save(path)
    restored = CARBSSearcher([], metric="loss")
    restored.restore(path)
    assert isinstance(restored.carbs, CARBS) and restored.carbs.observation_count == 6
    assert restored.suggest("next")["steps"] >= 10
