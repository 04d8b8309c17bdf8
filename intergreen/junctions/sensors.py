"""Roadside sensors: what agents and rewards are allowed to see.

Every approach lane has a camera zone of limited length from the stop line (a
SUMO lane-area detector, E2) giving occupancy, vehicle count, halting (queued:
slower than 0.1 m/s) count and mean speed; optional stop-line detectors (1 m
lane-area detectors, E2, over the stop line) count vehicles crossing the stop
line; the camera counts vehicles entering its zone. Vehicles beyond the camera
range are invisible.

With pedestrian crossings, each crossing has a push button: a latched demand flag
(1.0 / 0.0 in ``SensorFrame.ped_waiting``), set when a pedestrian stands at the
kerb waiting for that crossing, cleared when the crossing's green man shows (read
from the signal state SUMO shows), never a count. A press is lost in a step with
``dropout_prob`` (the person presses again in a later step).

Imperfections, all drawn from one seeded generator: each vehicle is missed with
``miss_prob``; Gaussian count noise (``count_sd`` vehicles, rounded, never
below zero); and a whole lane's sensors drop out for a step with
``dropout_prob``, when the frame reports zeros and ``valid`` is False.

Under libsumo, readings are direct getter calls (measured cheaper there than
subscription results), and only of the raw columns the wanted ``fields`` need (an env
reads what its observation and reward use); a frame field that was not read raises
`intergreen.frames.UnreadFieldError`. Over a traci socket every column comes from
subscriptions, one call per detector domain per step.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import traci.constants as tc

from intergreen.errors import OptionError
from intergreen.frames import FIELDS, NO_PEDS, SensorFrame
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

#: The raw columns per lane (`SensorArray._raw`): libsumo's lane-area getter of each, and
#: whether it reads the stop-line loop (else the camera zone).
RAW_COLUMNS = (
    ("getLastStepOccupancy", False),  # 0: occupancy, %
    ("getLastStepVehicleNumber", False),  # 1: vehicles in the zone
    ("getLastStepHaltingNumber", False),  # 2: of which halting
    ("getLastStepMeanSpeed", False),  # 3: mean speed, m/s
    ("getIntervalVehicleNumber", False),  # 4: vehicles that entered the zone so far
    ("getIntervalVehicleNumber", True),  # 5: vehicles that passed the stop line so far
)
#: The raw columns each SensorFrame field is worked out from (the others need none).
FIELD_COLUMNS: dict[str, tuple[int, ...]] = {
    "occupancy": (0,),
    "count": (1,),
    "halting": (1, 2),
    "mean_speed": (1, 3),
    "arrived": (4,),
    "passed": (5,),
}


def raw_columns(fields: Iterable[str] | None) -> tuple[int, ...]:
    """The raw columns that ``fields`` (SensorFrame field names; None: all) need, sorted.
    Raises OptionError naming an unknown field and the valid ones."""
    if fields is None:
        return tuple(range(len(RAW_COLUMNS)))
    columns: set[int] = set()
    for name in fields:
        if name not in FIELDS:
            raise OptionError(f"unknown sensor field {name!r}; fields: {', '.join(FIELDS)}")
        columns.update(FIELD_COLUMNS.get(name, ()))
    return tuple(sorted(columns))


def _direct_calls(
    conn, cams: tuple[str, ...], stops: tuple[str, ...], columns: tuple[int, ...]
) -> list:
    """(getter, detector) pairs in raw-row order (lane by lane, ``columns`` of each) for
    libsumo (its compiled getters); without stop-line loops (``stops`` empty) column 5 is
    not read."""
    getters = {c: libsumo_getter(conn, "lanearea", RAW_COLUMNS[c][0]) for c in columns}
    calls = []
    for i, det in enumerate(cams):
        for c in columns:
            if RAW_COLUMNS[c][1]:
                if stops:
                    calls.append((getters[c], stops[i]))
            else:
                calls.append((getters[c], det))
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
        fields: Iterable[str] | None = None,
    ) -> None:
        """``fields``: the SensorFrame fields to read (None: all); with noise, all are read
        (the noise model draws for every field). Raises OptionError for an unknown field."""
        self.network = network
        self.crossing_arms = crossing_arms
        self._crossing_index = {
            cid: crossing_arms.index(arm)
            for cid, arm in network.crossings.items()
            if arm in crossing_arms
        }
        # signal link indices of each crossing, and its push button's latched demand
        self._crossing_links = [
            [k for k, link in enumerate(network.links) if link.movement == f"{arm}.crossing"]
            for arm in crossing_arms
        ]
        self._button = np.zeros(len(crossing_arms))
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
        wanted = raw_columns(None if self._noisy else fields)
        self._columns = wanted
        self.unread = frozenset(
            f for f, cols in FIELD_COLUMNS.items() if not set(cols) <= set(wanted)
        )
        self._read: tuple[int, ...] = wanted
        self._blank = np.zeros((len(lanes), len(RAW_COLUMNS)))

    def reset(self, conn, seed: int | None = None) -> None:
        """Prepare for a freshly started simulation (subscribing over traci)."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        zones = set(conn.lanearea.getIDList())
        self._has_stop = all(d in zones for d in self._stops)
        self._direct = getattr(conn, "__name__", "") == "libsumo"
        if self._direct:
            stops = self._stops if self._has_stop else ()
            self._read = tuple(c for c in self._columns if stops or not RAW_COLUMNS[c][1])
            self._calls = _direct_calls(conn, self._cams, stops, self._columns)
            self._blank[:] = np.nan  # columns not read; without loops, no passages (0)
            self._blank[:, self._read] = 0.0
            if not self._has_stop:
                self._blank[:, 5] = 0.0
        else:
            for det in self._cams:
                conn.lanearea.subscribe(det, CAMERA_VARS)
            for det in self._stops if self._has_stop else ():
                conn.lanearea.subscribe(det, LOOP_VARS)
        self._prev[:] = 0
        self._button[:] = 0

    def _raw(self, conn) -> np.ndarray:
        """Per lane: occupancy %, count, halting, mean speed, cumulative zone entries,
        cumulative stop-line passages (0 without loops); NaN in columns not read."""
        n = len(self._cams)
        if self._direct:
            values = [f(d) for f, d in self._calls]
            read = self._read
            if len(read) == len(RAW_COLUMNS):
                return np.array(values, dtype=float).reshape(n, len(read))
            raw = self._blank.copy()
            raw[:, read] = np.array(values, dtype=float).reshape(n, len(read))
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
        peds = self._push_buttons(conn) if self.crossing_arms else NO_PEDS
        frame = SensorFrame.from_raw(
            time, step_length, self.lanes, raw, prev, self._speed_limit, valid, peds,
            self.unread if self._direct else frozenset(),
        )  # fmt: skip
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

    def _push_buttons(self, conn) -> np.ndarray:
        """The latched push-button demand per crossing (1.0 or 0.0; module docstring)."""
        pressed = np.zeros(len(self.crossing_arms), dtype=bool)
        person, edge = conn.person, conn.edge
        for area in self.network.walking_areas:
            for pid in edge.getLastStepPersonIDs(area):
                if person.getSpeed(pid) < 0.1:  # standing at the kerb
                    i = self._crossing_index.get(person.getNextEdge(pid))
                    if i is not None:
                        pressed[i] = True
        if self.noise.dropout_prob > 0:
            pressed &= self.rng.random(len(pressed)) >= self.noise.dropout_prob
        state = conn.trafficlight.getRedYellowGreenState(self.network.tls_id)
        for i, links in enumerate(self._crossing_links):
            if any(state[k] in "Gg" for k in links):
                self._button[i] = 0.0  # the green man shows: the demand is served
            elif pressed[i]:
                self._button[i] = 1.0
        return self._button.copy()

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
