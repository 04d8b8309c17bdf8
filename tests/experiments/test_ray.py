"""The Ray executor on a real local Ray instance gives the same results table as local."""

from __future__ import annotations

import pandas as pd
import pytest

ray = pytest.importorskip("ray", reason="Ray not installed: pip install 'intergreen[ray]'")


def test_ray_matches_local(tiny_batch, tiny_grid, tmp_path):
    from intergreen.experiments.executors import RayExecutor
    from intergreen.experiments.runner import run_batch

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_batch(tiny_grid, tmp_path / "ray", RayExecutor())
    finally:
        ray.shutdown()
    assert summary.ok and summary.done == 3 and summary.executor == "ray"
    local = pd.read_parquet(tiny_batch[0] / "results.parquet")
    remote = pd.read_parquet(tmp_path / "ray" / "results.parquet")
    timing = [c for c in local if c.startswith("wall")]
    pd.testing.assert_frame_equal(local.drop(columns=timing), remote.drop(columns=timing))
