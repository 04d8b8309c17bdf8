"""The episode timeline: stages from SUMO's signal switches, queues, waits; plot and data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from intergreen.junctions.baselines import make_baseline
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.controller import StageController
from intergreen.junctions.env import make_env
from intergreen.junctions.metrics import EpisodeTrace
from intergreen.junctions.network import build_network
from intergreen.junctions.rollout import EpisodeResult, run_episode
from intergreen.junctions.simulation import simulation_factory
from intergreen.junctions.timeline import INTERSTAGE, stage_spans, timeline_data, write_timeline


@pytest.fixture(scope="module")
def episode() -> tuple[EpisodeResult, object]:
    """Vehicle actuation for 420 s at `high`, with a trace."""
    env = make_env("gm_a56", "high", seed=2, duration=420,
                   simulation_factory=simulation_factory(trace=True))  # fmt: skip
    return run_episode(env, make_baseline("vehicle-actuated"), 2), env


def test_stage_spans_follow_the_controller(episode) -> None:
    result, env = episode
    trace = result.trace
    assert trace is not None
    spans = stage_spans(trace, env.spec_, env.network.links)
    # contiguous, from the start to the end of the run
    assert spans[0][0] == 0.0 and spans[-1][1] == pytest.approx(420.0)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(spans, spans[1:], strict=False))
    labels = [s for _, _, s in spans]
    assert set(labels) <= {*env.spec_.stages, INTERSTAGE}
    # VA serves both action stages, each change through an interstage, and stage 1 (the
    # arrow) comes before every stage 2 after the first
    assert {"2", "4"} <= set(labels)
    for prev, nxt in zip(labels, labels[1:], strict=False):
        assert INTERSTAGE in (prev, nxt)
    stages = [s for s in labels if s != INTERSTAGE]
    assert all(b != "2" or a == "1" for a, b in zip(stages, stages[1:], strict=False))
    # an interstage lasts at least a red+amber (2 s); a stage at least its minimum green
    spec = env.spec_
    for a, b, s in spans[1:-1]:
        groups = [] if s == INTERSTAGE else spec.stages[s].groups
        low = min((spec.min_green(g) for g in groups), default=spec.timing.red_amber)
        assert b - a >= low - 1e-6, (a, b, s)


def test_stage_spans_of_known_switches() -> None:
    spec = resolve_junction("gm_a56")
    links = build_network(spec).links
    ctl = StageController(spec, links)
    ctl.reset("2")
    s2 = ctl.state_string()
    ctl.reset("4")
    s4 = ctl.state_string()
    amber = s2.replace("G", "y").replace("g", "y")
    trace = EpisodeTrace(
        duration=100.0, switches=[(0.0, s2), (30.0, amber), (33.0, "r" * len(s2)), (36.0, s4)],
        queue_t=np.array([50.0, 100.0]), queue={"N": np.array([1.0, 2.0])},
        vehicle_due=np.array([1.0]), vehicle_arm=["N"], vehicle_wait=np.array([4.0]),
    )  # fmt: skip
    assert stage_spans(trace, spec, links) == [
        (0.0, 30.0, "2"), (30.0, 36.0, INTERSTAGE), (36.0, 100.0, "4"),
    ]  # fmt: skip
    data = timeline_data(trace, spec, links)
    assert data["queue"] == {"t": [50.0, 100.0], "N": [1.0, 2.0]}
    assert data["vehicles"] == {"due": [1.0], "arm": ["N"], "wait": [4.0]}


def test_write_timeline_png_and_json(episode, tmp_path: Path) -> None:
    import matplotlib.image

    result, env = episode
    png, data_path = write_timeline(
        result.trace, env.spec_, env.network.links, tmp_path / "t.png", "title"
    )
    image = matplotlib.image.imread(png)
    assert image.shape[0] > 400 and image.shape[1] > 600
    assert image.std() > 0.05  # drawn, not blank
    data = json.loads(data_path.read_text())
    assert data["duration_s"] == pytest.approx(420.0)
    assert set(data["queue"]) == {"t", "N", "E", "S", "W"}
    assert len(data["vehicles"]["wait"]) == result.metrics["vehicles"]
    # the queue series is the per-arm mean queue of the metrics, over time
    t = np.asarray(data["queue"]["t"])
    widths = np.diff(np.concatenate([[0.0], t]))
    for arm in "NESW":
        mean = float(np.sum(np.asarray(data["queue"][arm]) * widths) / t[-1])
        assert mean == pytest.approx(result.metrics[f"arm_queue_{arm}"], rel=1e-3, abs=1e-3)
    waits = np.asarray(data["vehicles"]["wait"])
    assert waits.mean() == pytest.approx(result.metrics["avg_waiting_time"], rel=1e-3)
