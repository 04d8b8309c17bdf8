"""What a controller did over one episode: the running stage, the queue on each approach and
the vehicles' waits against time, as a plot (PNG) and its data (JSON).

Everything comes from the run's :class:`~intergreen.junctions.metrics.EpisodeTrace`
(SUMO's own outputs, ground truth): the signal state at every switch, mapped to the stage
whose green links it shows ('interstage' while any link shows amber or red+amber, or
the greens are no stage's, e.g. an all-red);
the mean number of vehicles stopped on each approach per edgeData interval (~5 s); and
each vehicle's waiting time (s, insertion wait included) at the time it was due to enter.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from intergreen.junctions.controller import StageController
from intergreen.junctions.metrics import EpisodeTrace
from intergreen.junctions.spec import JunctionSpec, Link

__all__ = ["stage_spans", "timeline_data", "write_timeline"]

INTERSTAGE = "interstage"


def _greens(state: str, unused: frozenset[int] = frozenset()) -> frozenset[int]:
    return frozenset(i for i, c in enumerate(state) if c in "Gg" and i not in unused)


def stage_spans(
    trace: EpisodeTrace, spec: JunctionSpec, links: Sequence[Link]
) -> list[tuple[float, float, str]]:
    """(start s, end s, stage or ``'interstage'``) covering the episode: a state is a stage's
    when its green links are exactly that stage's and no link shows amber or red+amber
    (``links``: the network's, in state order; what an unused link index shows, which SUMO
    applies to no link, is not looked at). A stage that greens no link of the network (a
    pedestrian stage without crossings) is indistinguishable from an all-red and shows as an
    interstage."""
    ctl = StageController(spec, links)
    unused = frozenset(i for i, link in enumerate(links) if link.unused)
    by_greens: dict[frozenset[int], str] = {}
    for stage in spec.stages:
        ctl.reset(stage)
        greens = _greens(ctl.state_string())
        if greens:
            by_greens.setdefault(greens, stage)
    spans: list[tuple[float, float, str]] = []
    switches = trace.switches
    for k, (t, state) in enumerate(switches):
        end = switches[k + 1][0] if k + 1 < len(switches) else trace.duration
        # an amber or red+amber: a change runs
        changing = any(c in "yu" for i, c in enumerate(state) if i not in unused)
        label = INTERSTAGE if changing else by_greens.get(_greens(state, unused), INTERSTAGE)
        if end <= t:
            continue
        if spans and spans[-1][2] == label and abs(spans[-1][1] - t) < 1e-9:
            spans[-1] = (spans[-1][0], end, label)
        else:
            spans.append((t, end, label))
    return spans


def timeline_data(trace: EpisodeTrace, spec: JunctionSpec, links: Sequence[Link]) -> dict[str, Any]:
    """The timeline as plain data (JSON-ready): ``stages`` [[start, end, stage], ...] in s;
    ``queue`` {"t": interval ends (s), arm: mean vehicles stopped per interval}; ``vehicles``
    {"due": s, "arm": ..., "wait": s}."""
    return {
        "duration_s": trace.duration,
        "stages": [[round(a, 3), round(b, 3), s] for a, b, s in stage_spans(trace, spec, links)],
        "queue": {
            "t": [round(float(x), 3) for x in trace.queue_t],
            **{a: [round(float(x), 4) for x in q] for a, q in trace.queue.items()},
        },
        "vehicles": {
            "due": [round(float(x), 3) for x in trace.vehicle_due],
            "arm": list(trace.vehicle_arm),
            "wait": [round(float(x), 3) for x in trace.vehicle_wait],
        },
    }


def write_timeline(
    trace: EpisodeTrace,
    spec: JunctionSpec,
    links: Sequence[Link],
    path: Path,
    title: str = "",
) -> tuple[Path, Path]:
    """Save the plot as ``path`` (PNG) and its data beside it (same name, ``.json``); returns
    both paths. Three panels over time: the running stage, the queue per approach (veh),
    each vehicle's wait (s) by arm with a 60-s mean per arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = timeline_data(trace, spec, links)
    arms = list(trace.queue)
    colours = {a: f"C{i}" for i, a in enumerate(arms)}
    minutes = trace.duration > 1200
    scale, unit = (60.0, "min") if minutes else (1.0, "s")

    fig, (ax_s, ax_q, ax_w) = plt.subplots(
        3, 1, figsize=(11, 7.5), sharex=True, gridspec_kw={"height_ratios": [1.1, 2, 2]}
    )
    rows = [*spec.stages, INTERSTAGE]
    for start, end, stage in data["stages"]:
        y = rows.index(stage)
        colour = "0.6" if stage == INTERSTAGE else "tab:green"
        ax_s.broken_barh([(start / scale, (end - start) / scale)], (y - 0.4, 0.8), color=colour)
    ax_s.set_yticks(range(len(rows)))
    ax_s.set_yticklabels([f"stage {s}" if s != INTERSTAGE else s for s in rows], fontsize=8)
    ax_s.set_ylim(-0.6, len(rows) - 0.4)
    ax_s.invert_yaxis()
    ax_s.set_title(title or "timeline", fontsize=10)

    t = np.asarray(data["queue"]["t"]) / scale
    for a in arms:
        ax_q.step(t, trace.queue[a], where="pre", color=colours[a], label=f"arm {a}", lw=1.2)
    ax_q.set_ylabel("queue (veh stopped)")
    ax_q.legend(loc="upper left", fontsize=8, ncol=len(arms))
    ax_q.set_ylim(bottom=0)

    due, wait = trace.vehicle_due, trace.vehicle_wait
    arm_of = np.asarray(trace.vehicle_arm, dtype=object)
    bins = np.arange(0.0, trace.duration + 60.0, 60.0)
    for a in arms:
        mine = arm_of == a
        ax_w.scatter(due[mine] / scale, wait[mine], s=5, color=colours[a], alpha=0.35, lw=0)
        idx = np.digitize(due[mine], bins) - 1
        means = [wait[mine][idx == k].mean() if np.any(idx == k) else np.nan
                 for k in range(len(bins) - 1)]  # fmt: skip
        ax_w.plot((bins[:-1] + 30.0) / scale, means, color=colours[a], lw=1.5, label=f"arm {a}")
    ax_w.set_ylabel("wait per vehicle (s)")
    ax_w.set_xlabel(f"time ({unit}); waits at the time each vehicle was due, line: 60-s mean")
    ax_w.set_ylim(bottom=0)
    ax_w.set_xlim(0, trace.duration / scale)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    data_path = path.with_suffix(".json")
    data_path.write_text(json.dumps(data))
    return path, data_path
