"""evaluate() with worker processes gives the rows it gives in one process."""

from __future__ import annotations

import pandas as pd

from intergreen.agents.evaluation import evaluate


def test_workers_give_the_same_rows_in_the_same_order() -> None:
    kwargs = {"demands": ["high"], "episodes": 2, "duration": 60.0}
    controllers = ["vehicle-actuated", "fixed-time"]
    alone = evaluate(controllers, **kwargs)
    pooled = evaluate(controllers, workers=2, **kwargs)
    assert len(alone) == 4 and list(alone["controller"]) == [
        "vehicle-actuated", "vehicle-actuated", "fixed-time", "fixed-time"]  # fmt: skip
    cols = ["controller", "demand", "seed", "vehicles", "avg_waiting_time", "throughput"]
    pd.testing.assert_frame_equal(alone[cols], pooled[cols])
