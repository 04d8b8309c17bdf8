"""Saturation flows of a junction's approach lanes, measured in SUMO from queue discharge.

Method (the headway form of the standard method: RRL Road Note 34, *A method of measuring
saturation flow at traffic signals*, 1963, counts a saturated discharge and leaves out its
start; TRL RR67, Kimber, McDonald & Hounsell 1986, *The prediction of saturation flows for
road junctions controlled by traffic signals*, defines saturation flow as that steady rate):

1. Run the junction oversaturated under a fixed plan with long greens, so that every lane
   has a standing queue when its green starts.
2. At the start of each green, take the lane's queue: its vehicles standing (below 0.1 m/s),
   in order from the stop line.
3. Record the time each crosses the stop line (interpolated within the 0.6 s step from its
   last position and speed), while they cross in queue order and during the green.
4. Headway of the k-th queued vehicle: its crossing time minus the previous one's (the first
   from the start of green). The first :data:`START_UP_VEHICLES` headways carry the start-up
   lost time and are left out; the saturation flow is 3600 / the mean of the rest (veh/h), per
   lane, over every green of every seed. Its 95% interval comes from a bootstrap over greens.

The flows are measured with the junction's traffic mix (turning shares, and opposed right
turners who wait in their lane for a gap), which is what a plan for this junction must use.
``benchmarks/baselines/saturation_flow.py`` runs it and writes the junction's
``saturation_flows.yaml``, which :mod:`intergreen.junctions.fixed_time` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from intergreen.junctions.env import make_env
from intergreen.junctions.fixed_time import FixedTime
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.simulation import Simulation
from intergreen.junctions.spec import JunctionSpec

#: Queued vehicles whose headways hold the start-up lost time and are left out.
START_UP_VEHICLES = 4
HALTING_SPEED = 0.1  # m/s


@dataclass
class _Discharge:
    """One green of one lane: its queue at the start and the crossings so far."""

    start: float
    queue: list[str]
    crossed: list[float] = field(default_factory=list)
    last: dict[str, tuple[float, float]] = field(default_factory=dict)  # vehicle -> (pos, v)
    broken: bool = False

    def headways(self) -> list[float]:
        times = [self.start, *self.crossed]
        return [b - a for a, b in zip(times, times[1:], strict=False)]


class DischargeRecorder(Simulation):
    """A Simulation that records the queue discharge headways of every approach lane.

    ``headways[lane]`` lists, per green, the headways (s) of the vehicles queued at its start
    (lanes are the spec's approach lane ids)."""

    def start(self, seed: int | None = None) -> None:
        super().start(seed)
        conn, net = self.conn, self.network
        links = conn.trafficlight.getControlledLinks("TL")
        self._lane_links = {
            lane: [k for k, group in enumerate(links) for (src, _, _) in group if src == sumo]
            for lane, sumo in zip(self.spec.approach_lane_ids, net.approach_lanes, strict=True)
        }
        self._sumo_lane = dict(zip(self.spec.approach_lane_ids, net.approach_lanes, strict=True))
        self._length = dict(zip(self.spec.approach_lane_ids, net.lane_lengths, strict=True))
        self._state = ""
        self._open: dict[str, _Discharge] = {}
        self.headways: dict[str, list[list[float]]] = {k: [] for k in self._lane_links}

    def set_signal_state(self, state: str) -> None:
        super().set_signal_state(state)
        self._state = state

    def step(self) -> None:
        before = self.time
        super().step()
        for lane, idx in self._lane_links.items():
            green = any(self._state[k] in "Gg" for k in idx)
            run = self._open.get(lane)
            if green and run is None:
                self._open[lane] = self._begin(lane, before)
            elif green and run is not None:
                self._follow(lane, run, before)
            elif run is not None:
                self.headways[lane].append(run.headways())
                del self._open[lane]

    def _begin(self, lane: str, start: float) -> _Discharge:
        veh = self.conn.vehicle
        on = self.conn.lane.getLastStepVehicleIDs(self._sumo_lane[lane])
        standing = [v for v in on if veh.getSpeed(v) < HALTING_SPEED]
        queue = sorted(standing, key=veh.getLanePosition, reverse=True)
        run = _Discharge(start, queue)
        self._track(run)
        return run

    def _track(self, run: _Discharge) -> None:
        """Remember position and speed of the next queued vehicle to cross."""
        if run.broken or len(run.crossed) >= len(run.queue):
            return
        v = run.queue[len(run.crossed)]
        veh = self.conn.vehicle
        run.last[v] = (veh.getLanePosition(v), veh.getSpeed(v))

    def _follow(self, lane: str, run: _Discharge, before: float) -> None:
        exits = set(self.network.exit_edges)
        while not run.broken and len(run.crossed) < len(run.queue):
            v = run.queue[len(run.crossed)]
            try:
                now_lane = self.conn.vehicle.getLaneID(v)
            except Exception:  # noqa: BLE001 - it left the network within the step
                now_lane = ":"
            if now_lane == self._sumo_lane[lane]:
                break  # not across yet
            if now_lane.startswith(":") or now_lane.rsplit("_", 1)[0] in exits:
                pos, speed = run.last.get(v, (self._length[lane], 0.0))
                into_step = (self._length[lane] - pos) / max(speed, 0.1)
                run.crossed.append(before + min(max(into_step, 0.0), self.step_length))
                continue
            run.broken = True  # it changed to another approach lane: the order is lost
        self._track(run)


def measure_headways(
    spec: JunctionSpec,
    seeds: list[int],
    *,
    demand: float = 4500.0,
    duration: float = 3600.0,
    greens: dict[str, float] | None = None,
) -> dict[str, list[list[float]]]:
    """Discharge headways (s) per lane and green, over runs of ``duration`` s at ``demand``
    veh/h (the junction's shares) under a fixed plan (default 40 s main road, 30 s side
    roads on gm_a56's stages 2 and 4; otherwise 30 s for every action stage)."""
    if greens is None:
        greens = {"2": 40.0, "4": 30.0} if spec.name.startswith("gm_a56") else None
    out: dict[str, list[list[float]]] = {lane: [] for lane in spec.approach_lane_ids}
    for seed in seeds:
        recorders: list[DischargeRecorder] = []

        def factory(*args: Any, _made: list = recorders, **kwargs: Any) -> DischargeRecorder:
            rec = DischargeRecorder(*args, **kwargs)
            _made.append(rec)
            return rec

        env = make_env(spec, f"{demand}vph", None, seed=seed, duration=duration,
                       simulation_factory=factory)  # fmt: skip
        plan = greens or dict.fromkeys(env.action_stages, 30.0)
        run_episode(env, FixedTime(greens=plan), seed)
        for lane, runs in recorders[-1].headways.items():
            out[lane] += runs
    return out


def saturation_flows(
    headways: dict[str, list[list[float]]], *, skip: int = START_UP_VEHICLES, boot: int = 2000
) -> dict[str, dict[str, Any]]:
    """Per lane: saturation flow (veh/h) = 3600 / mean headway after the first ``skip``
    vehicles, with a 95% bootstrap interval over greens (seeded), the mean and sd of the
    headways, and how many headways and greens it rests on."""
    rng = np.random.default_rng(0)
    out = {}
    for lane, runs in headways.items():
        kept = [np.asarray(r[skip:]) for r in runs if len(r) > skip]
        if not kept:
            out[lane] = {"saturation_flow": None, "headways": 0, "greens": 0}
            continue
        sums = np.array([k.sum() for k in kept])
        counts = np.array([len(k) for k in kept])
        flat = np.concatenate(kept)
        idx = rng.integers(0, len(kept), size=(boot, len(kept)))
        flows = 3600 * counts[idx].sum(axis=1) / sums[idx].sum(axis=1)
        out[lane] = {
            "saturation_flow": round(float(3600 * counts.sum() / sums.sum()), 1),
            "ci95": [
                round(float(np.percentile(flows, 2.5)), 1),
                round(float(np.percentile(flows, 97.5)), 1),
            ],  # fmt: skip
            "mean_headway_s": round(float(flat.mean()), 4),
            "sd_headway_s": round(float(flat.std(ddof=1)), 4) if len(flat) > 1 else 0.0,
            "headways": int(len(flat)),
            "greens": int(len(kept)),
        }
    return out
