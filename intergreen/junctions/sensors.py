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

#: SensorFrame fields a reward may read (per approach lane).
FIELDS = (
    "occupancy",
    "count",
    "halting",
    "mean_speed",
    "speed_limit",
    "passed",
    "arrived",
    "valid",
    "ped_waiting",
)


_DERIVED = ("occupancy", "count", "halting", "mean_speed", "passed", "arrived")


class SensorFrame:
    """One step of sensor readings, one entry per approach lane (spec order).

    occupancy: share of the zone covered by vehicles, 0..1; count: vehicles in the
    zone; halting: of which queued (speed < 0.1 m/s); mean_speed: m/s, 0 when the
    zone is empty; speed_limit: m/s; passed: vehicles that crossed the stop line
    during the step (stop-line loop); arrived: vehicles that entered the zone during
    the step (camera); valid: False where the lane's sensors dropped out.
    ped_waiting: pedestrians waiting at each signalled crossing (its push button),
    in the order of ``SensorArray.crossing_arms``; empty without pedestrians.
    """

    __slots__ = (
        "time", "step_length", "lanes", "speed_limit", "valid", "ped_waiting",
        "_occupancy", "_count", "_halting", "_mean_speed", "_passed", "_arrived",
        "_raw", "_prev",
    )  # fmt: skip

    def __init__(
        self,
        time: float,
        step_length: float,
        lanes: tuple[str, ...],
        occupancy: np.ndarray,
        count: np.ndarray,
        halting: np.ndarray,
        mean_speed: np.ndarray,
        speed_limit: np.ndarray,
        passed: np.ndarray,
        arrived: np.ndarray,
        valid: np.ndarray,
        ped_waiting: np.ndarray | None = None,
    ) -> None:
        self.time, self.step_length, self.lanes = time, step_length, lanes
        self._occupancy, self._count, self._halting = occupancy, count, halting
        self._mean_speed, self.speed_limit = mean_speed, speed_limit
        self._passed, self._arrived, self.valid = passed, arrived, valid
        self.ped_waiting = _NO_PEDS if ped_waiting is None else ped_waiting
        self._raw = self._prev = None

    @classmethod
    def from_raw(
        cls,
        time: float,
        step_length: float,
        lanes: tuple[str, ...],
        raw: np.ndarray,
        prev: np.ndarray,
        speed_limit: np.ndarray,
        valid: np.ndarray,
        ped_waiting: np.ndarray,
    ) -> SensorFrame:
        """A frame over raw detector readings (lanes x 6, see SensorArray._raw) whose
        fields are worked out when first read: most frames are only partly read."""
        frame = cls.__new__(cls)
        frame.time, frame.step_length, frame.lanes = time, step_length, lanes
        frame.speed_limit, frame.valid, frame.ped_waiting = speed_limit, valid, ped_waiting
        frame._occupancy = frame._count = frame._halting = None
        frame._mean_speed = frame._passed = frame._arrived = None
        frame._raw, frame._prev = raw, prev
        return frame

    @property
    def occupancy(self) -> np.ndarray:
        if self._occupancy is None:
            self._occupancy = self._raw[:, 0] / 100.0
        return self._occupancy

    @property
    def count(self) -> np.ndarray:
        if self._count is None:
            self._count = self._raw[:, 1]
        return self._count

    @property
    def halting(self) -> np.ndarray:
        # SUMO's lane-area detector can report one more halting vehicle than vehicles
        # (a vehicle changing lanes in the step); halting is "of which queued": clip it
        if self._halting is None:
            self._halting = np.minimum(self._raw[:, 2], self._raw[:, 1])
        return self._halting

    @property
    def mean_speed(self) -> np.ndarray:
        # SUMO gives -1 for an empty zone and may give the speed of a vehicle only touching
        # it; the frame promises 0 when the zone counts no vehicle
        if self._mean_speed is None:
            raw = self._raw
            self._mean_speed = np.where(raw[:, 1] > 0, np.maximum(raw[:, 3], 0.0), 0.0)
        return self._mean_speed

    @property
    def arrived(self) -> np.ndarray:
        if self._arrived is None:
            self._arrived = np.maximum(self._raw[:, 4] - self._prev[:, 0], 0.0)
        return self._arrived

    @property
    def passed(self) -> np.ndarray:
        if self._passed is None:
            self._passed = np.maximum(self._raw[:, 5] - self._prev[:, 1], 0.0)
        return self._passed

    def replace(self, **changes: object) -> SensorFrame:
        """A copy with some fields replaced (like ``dataclasses.replace``)."""
        fields = ("time", "step_length", "lanes", "occupancy", "count", "halting", "mean_speed",
                  "speed_limit", "passed", "arrived", "valid", "ped_waiting")  # fmt: skip
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"SensorFrame has no field(s) {sorted(unknown)}")
        return SensorFrame(**{f: changes.get(f, getattr(self, f)) for f in fields})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SensorFrame):
            return NotImplemented
        same = (self.time, self.step_length, self.lanes) == (
            other.time, other.step_length, other.lanes,
        )  # fmt: skip
        return same and all(
            np.array_equal(getattr(self, f), getattr(other, f))
            for f in (*_DERIVED, "speed_limit", "valid", "ped_waiting")
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SensorFrame(time={self.time:g}, count={self.count.tolist()})"


_NO_PEDS = np.zeros(0)


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
        self._speed_limit = np.asarray(network.speed_limits, dtype=float)
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
        if valid is None:
            valid = _ALL_VALID.setdefault(n, np.ones(n, dtype=bool))
        peds = self._pedestrians(conn) if self.crossing_arms else _NO_PEDS
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
