"""Roadside sensors: what agents and rewards are allowed to see.

Every approach lane has a camera zone of limited length from the stop line (a
SUMO lane-area detector) giving occupancy, vehicle count, halting (queued)
count and mean speed; optional induction loops count vehicles crossing the stop
line; the camera counts vehicles entering its zone. Vehicles beyond the camera
range are invisible.

Imperfections, all drawn from one seeded generator: each vehicle is missed with
``miss_prob``; Gaussian count noise (``count_sd`` vehicles, rounded, never
below zero); and a whole lane's sensors drop out for a step with
``dropout_prob``, when the frame reports zeros and ``valid`` is False.

Under libsumo, readings are direct getter calls (measured cheaper there than
subscription results); over a traci socket they come from subscriptions, one
call per detector domain per step.
"""

from __future__ import annotations

import numpy as np
import traci.constants as tc

from intergreen.frames import NO_PEDS, SensorFrame
from intergreen.junctions.network import Network
from intergreen.junctions.spec import Noise
from intergreen.junctions.sumo import libsumo_getter

CAMERA_VARS = (
    tc.LAST_STEP_OCCUPANCY,
    tc.LAST_STEP_VEHICLE_NUMBER,
    tc.LAST_STEP_VEHICLE_HALTING_NUMBER,
    tc.LAST_STEP_MEAN_SPEED,
    tc.VAR_INTERVAL_NUMBER,  # vehicles that entered the zone so far
)
LOOP_VARS = (tc.VAR_INTERVAL_NUMBER,)
_ALL_VALID: dict[int, np.ndarray] = {}



def _direct_calls(conn, cams: tuple[str, ...], stops: tuple[str, ...]) -> list:
    """(getter, detector) pairs in raw-row order for libsumo (its compiled getters)."""
    names = ("getLastStepOccupancy", "getLastStepVehicleNumber", "getLastStepHaltingNumber",
             "getLastStepMeanSpeed", "getIntervalVehicleNumber")  # fmt: skip
    cam = [libsumo_getter(conn, "lanearea", n) for n in names]
    calls = []
    for i, det in enumerate(cams):
        calls += [(f, det) for f in cam]
        if stops:
            calls.append((cam[4], stops[i]))
    return calls


class SensorArray:
    """Reads a network's detectors and turns raw readings into SensorFrames."""

    def __init__(
        self,
        network: Network,
        lanes: tuple[str, ...],
        noise: Noise,
        seed: int,
        crossing_arms: tuple[str, ...] = (),
    ) -> None:
        self.network = network
        self.crossing_arms = crossing_arms
        self._crossing_index = {
            cid: crossing_arms.index(arm)
            for cid, arm in network.crossings.items()
            if arm in crossing_arms
        }
        self.lanes = lanes
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self._noisy = noise.count_sd > 0 or noise.miss_prob > 0 or noise.dropout_prob > 0
        # shared by every frame: read-only, so that no reader can change another's frame
        self._speed_limit = np.array(network.speed_limits, dtype=float)
        self._speed_limit.flags.writeable = False
        self._cams = network.camera_ids
        self._stops = network.stop_line_loop_ids
        self._prev = np.zeros((len(lanes), 2))  # cumulative zone entries, stop-line passages
        self._has_stop = False
        self._direct = False
        self._calls: list = []

    def reset(self, conn, seed: int | None = None) -> None:
        """Prepare for a freshly started simulation (subscribing over traci)."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        zones = set(conn.lanearea.getIDList())
        self._has_stop = all(d in zones for d in self._stops)
        self._direct = getattr(conn, "__name__", "") == "libsumo"
        if self._direct:
            self._calls = _direct_calls(conn, self._cams, self._stops if self._has_stop else ())
        else:
            for det in self._cams:
                conn.lanearea.subscribe(det, CAMERA_VARS)
            for det in self._stops if self._has_stop else ():
                conn.lanearea.subscribe(det, LOOP_VARS)
        self._prev[:] = 0

    def _raw(self, conn) -> np.ndarray:
        """Per lane: occupancy %, count, halting, mean speed, cumulative zone entries,
        cumulative stop-line passages (0 without loops)."""
        n = len(self._cams)
        if self._direct:
            values = [f(d) for f, d in self._calls]
            if self._has_stop:
                return np.array(values, dtype=float).reshape(n, 6)
            raw = np.zeros((n, 6))
            raw[:, :5] = np.array(values, dtype=float).reshape(n, 5)
            return raw
        res = conn.lanearea.getAllSubscriptionResults()
        raw = np.zeros((n, 6))
        raw[:, :5] = np.array([res[d][v] for d in self._cams for v in CAMERA_VARS]).reshape(n, 5)
        if self._has_stop:
            raw[:, 5] = [res[d][tc.VAR_INTERVAL_NUMBER] for d in self._stops]
        return raw

    def read(self, conn, time: float, step_length: float) -> SensorFrame:
        """The frame of the step just simulated; ``step_length`` is the time it covers."""
        raw = self._raw(conn)
        prev, self._prev = self._prev, raw[:, 4:6]
        n = len(raw)
        valid = _ALL_VALID.get(n)
        if valid is None:  # shared by every frame without dropout: read-only
            valid = np.ones(n, dtype=bool)
            valid.flags.writeable = False
            valid = _ALL_VALID.setdefault(n, valid)
        peds = self._pedestrians(conn) if self.crossing_arms else NO_PEDS
        frame = SensorFrame.from_raw(
            time, step_length, self.lanes, raw, prev, self._speed_limit, valid, peds
        )
        if not self._noisy:
            return frame
        occ, count, halting, speed, passed, arrived, valid = self._degrade(
            frame.occupancy, frame.count, frame.halting, frame.mean_speed, frame.passed,
            frame.arrived,
        )  # fmt: skip
        return SensorFrame(
            time, step_length, self.lanes, occ, count, halting, speed, self._speed_limit,
            passed, arrived, valid, peds,
        )  # fmt: skip

    def _pedestrians(self, conn) -> np.ndarray:
        """Pedestrians standing at the kerb whose next edge is a signalled crossing."""
        waiting = np.zeros(len(self.crossing_arms))
        person, edge = conn.person, conn.edge
        for area in self.network.walking_areas:
            for pid in edge.getLastStepPersonIDs(area):
                if person.getSpeed(pid) < 0.1:
                    i = self._crossing_index.get(person.getNextEdge(pid))
                    if i is not None:
                        waiting[i] += 1
        return waiting

    def _degrade(self, occ, count, halting, speed, passed, arrived):
        """Apply missed detections, count noise and dropout."""
        rng, nz = self.rng, self.noise
        if nz.miss_prob > 0:
            keep = 1.0 - nz.miss_prob
            moving = rng.binomial((count - halting).astype(int), keep)
            halting = rng.binomial(halting.astype(int), keep).astype(float)
            seen = halting + moving
            occ = np.where(count > 0, occ * seen / np.maximum(count, 1), 0.0)
            count = seen
            passed = rng.binomial(passed.astype(int), keep).astype(float)
            arrived = rng.binomial(arrived.astype(int), keep).astype(float)
        if nz.count_sd > 0:
            noisy = np.maximum(np.rint(count + rng.normal(0, nz.count_sd, count.shape)), 0)
            halting = np.minimum(halting, noisy)
            count = noisy
        speed = np.where(count > 0, speed, 0.0)
        valid = np.ones(count.shape, dtype=bool)
        if nz.dropout_prob > 0:
            valid = rng.random(count.shape) >= nz.dropout_prob
            occ, count, halting, speed, passed, arrived = (
                np.where(valid, x, 0.0) for x in (occ, count, halting, speed, passed, arrived)
            )
        return occ, count, halting, speed, passed, arrived, valid
