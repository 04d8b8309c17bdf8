"""The SensorFrame: one step of roadside sensor readings, per approach lane.

A leaf module: `intergreen.junctions.sensors` produces frames and
`intergreen.rewards` reads them, so neither package imports the other for it.
"""

from __future__ import annotations

import numpy as np

from intergreen.errors import IntergreenError

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


#: No pedestrian crossings: the empty, read-only ``ped_waiting`` of every frame without them.
NO_PEDS = np.zeros(0)
NO_PEDS.flags.writeable = False

_DERIVED = ("occupancy", "count", "halting", "mean_speed", "passed", "arrived")
_NOTHING_UNREAD: frozenset[str] = frozenset()


class UnreadFieldError(IntergreenError, RuntimeError):
    """A SensorFrame field its env did not read from the detectors (the env reads only the
    fields its observation and reward use when made with ``sensor_fields="auto"``)."""


class SensorFrame:
    """One step of sensor readings, one entry per approach lane (spec order).

    occupancy: share of the zone covered by vehicles, 0..1; count: vehicles in the
    zone; halting: of which queued (speed < 0.1 m/s); mean_speed: m/s, 0 when the
    zone is empty; speed_limit: m/s; passed: vehicles that crossed the stop line
    during the step (stop-line loop); arrived: vehicles that entered the zone during
    the step (camera); valid: False where the lane's sensors dropped out.
    ped_waiting: each signalled crossing's push button, a latched demand flag (1.0 from
    a pedestrian's arrival at the kerb until the crossing's green, else 0.0; not a count),
    in the order of ``SensorArray.crossing_arms``; empty without pedestrians.
    """

    __slots__ = (
        "time", "step_length", "lanes", "speed_limit", "valid", "ped_waiting",
        "_occupancy", "_count", "_halting", "_mean_speed", "_passed", "_arrived",
        "_raw", "_prev", "_unread",
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
        self.ped_waiting = NO_PEDS if ped_waiting is None else ped_waiting
        self._raw = self._prev = None
        self._unread = _NOTHING_UNREAD

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
        unread: frozenset[str] = _NOTHING_UNREAD,
    ) -> SensorFrame:
        """A frame over raw detector readings (lanes x 6, see SensorArray._raw) whose
        fields are worked out when first read: most frames are only partly read. Reading a
        field in ``unread`` (not read from the detectors) raises `UnreadFieldError`."""
        frame = cls.__new__(cls)
        frame.time, frame.step_length, frame.lanes = time, step_length, lanes
        frame.speed_limit, frame.valid, frame.ped_waiting = speed_limit, valid, ped_waiting
        frame._occupancy = frame._count = frame._halting = None
        frame._mean_speed = frame._passed = frame._arrived = None
        frame._raw, frame._prev, frame._unread = raw, prev, unread
        return frame

    def _check(self, name: str) -> None:
        if name in self._unread:
            raise UnreadFieldError(
                f"SensorFrame.{name} was not read from the detectors: this env reads only the "
                "fields its observation and reward use; list it in the reward's `fields` or "
                "make the env with sensor_fields='all'"
            )

    @property
    def occupancy(self) -> np.ndarray:
        if self._occupancy is None:
            self._check("occupancy")
            self._occupancy = self._raw[:, 0] / 100.0
        return self._occupancy

    @property
    def count(self) -> np.ndarray:
        if self._count is None:
            self._check("count")
            self._count = self._raw[:, 1]
        return self._count

    @property
    def halting(self) -> np.ndarray:
        # SUMO's lane-area detector can report one more halting vehicle than vehicles
        # (a vehicle changing lanes in the step); halting is "of which queued": clip it
        if self._halting is None:
            self._check("halting")
            self._halting = np.minimum(self._raw[:, 2], self._raw[:, 1])
        return self._halting

    @property
    def mean_speed(self) -> np.ndarray:
        # SUMO gives -1 for an empty zone and may give the speed of a vehicle only touching
        # it; the frame promises 0 when the zone counts no vehicle
        if self._mean_speed is None:
            self._check("mean_speed")
            raw = self._raw
            self._mean_speed = np.where(raw[:, 1] > 0, np.maximum(raw[:, 3], 0.0), 0.0)
        return self._mean_speed

    @property
    def arrived(self) -> np.ndarray:
        if self._arrived is None:
            self._check("arrived")
            self._arrived = np.maximum(self._raw[:, 4] - self._prev[:, 0], 0.0)
        return self._arrived

    @property
    def passed(self) -> np.ndarray:
        if self._passed is None:
            self._check("passed")
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
