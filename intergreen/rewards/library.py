"""Built-in rewards: the twelve of Cabrejas Egea et al. (IEEE SMC 2020), sumo-rl's
``diff_waiting_time``, ``vehicles_in_view``, ``stage_imbalance`` and ``weighted`` combinations.

Every reward is computed from SensorFrames only (camera zones of limited range
from the stop line, stop-line loops), never from the simulator's ground truth,
and higher is better. ``frames`` are the frames since the previous decision, the
last one being the decision itself; the sums "since the last action" run over
them, each frame weighted by its step length δ. Per frame and lane: ``halting``
= queued vehicles, ``count`` = vehicles in the zone, ``mean_speed`` (m/s),
``speed_limit`` (m/s), ``passed`` = stop-line crossings, ``arrived`` = vehicles
entering the zone.

Base quantities (all non-negative):

- Q   = Σ_lanes halting at the last frame (vehicles queued in the camera zones);
- W   = Σ_{v∈V_t} τ_v: the stopped time since the last action of the vehicles in the camera
  zones now (V_t, as the study's formula), in vehicle-seconds;
- TL  = Σ_{v∈V_t} Σ_{t^p}^{t} δ · (1 − s_v / s_max): the time the vehicles in view now lost
  against the speed limit since the last action (as in the paper's formula, a vehicle faster
  than the limit counts negative, nothing is clipped);
- S   = Σ_lanes count · mean_speed / speed_limit / Σ_lanes count at the last frame
  (mean of s_v / s_max over the vehicles in view; ``empty_value`` = 1.0, as sumo-rl,
  when none);
- ρ   = Σ_frames Σ_lanes passed (vehicles that crossed the stop lines).

The cameras see counts, not vehicles, so V_t is estimated per lane by a queue of vehicles in
arrival order (:class:`ZoneVehicles`): zone entries (``arrived``) join the back, stop-line
passages (``passed``) leave the front, the queue is then resized to the zone's ``count``
(extra vehicles dropped from the back, missing ones added there); each frame the front
``halting`` vehicles of a lane accrue δ of stopped time and every vehicle of a lane accrues
δ · (1 − mean_speed / speed_limit) of lost time (the lane's mean speed standing in for its
vehicles' own). A vehicle that leaves the zones takes its time with it. Without vehicles
leaving, W and TL equal the sums over the frames (the ``_window`` variants).

Delta rewards: Q(previous decision) − Q(now) for the queue; for W and TL, the study's
Σ_{v∈V_t} τ_{t^p} − Σ_{v∈V_t} τ_t: the vehicles in view now, what they accrued in the
previous interval between decisions minus what they accrued in the last one. 0 at an
episode's first decision.

The ``_window`` variants (``wait_time_window``, ``delta_wait_time_window``,
``wait_time_window_ad``, ``time_lost_window``, ``delta_time_lost_window``,
``time_lost_window_ad``) keep the earlier formulas, which sum over every vehicle seen since
the last action (those that left included): W_win = Σ_frames δ · Σ_lanes halting and
TL_win = Σ_frames δ · Σ_lanes count · (1 − mean_speed / speed_limit); their deltas are
X(previous decision) − X(now).

Demand estimate d̂ (the "AD" rewards; the study does not say how it estimated it):
the arrival rate into the camera zones in veh/s, Σ_lanes arrived / δ per frame,
smoothed by an exponential moving average with time constant
``demand_time_constant`` (default 300 s: each frame has weight α = 1 − exp(−δ/τ)).
The average is bias-corrected (divided by 1 − (1 − α)^n after n frames), so early
in an episode it is the plainly weighted mean of the arrivals seen so far instead of
being dragged towards a zero start. It is floored at ``demand_floor`` (default
0.05 veh/s = 180 veh/h) so that dividing by it never explodes. It counts vehicles
entering the 60 m zones, so with queues spilling back beyond the cameras it
measures the flow the queue lets in, not the demand upstream. It is updated with
every frame the reward is given, so pass each frame once.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from intergreen.frames import FIELDS, SensorFrame
from intergreen.rewards.registry import (
    BaseReward,
    RewardError,
    canonical_reward,
    get,
    register,
)

Frames = Sequence[SensorFrame]


# ----- base quantities -----------------------------------------------------------------------
def queue_length(frames: Frames) -> float:
    """Q: vehicles queued (halting) in the camera zones at the last frame."""
    return float(frames[-1].halting.sum())


def stopped_time(frames: Frames) -> float:
    """W_win: stopped vehicle-seconds in the camera zones over the frames (every vehicle
    seen, those that left included)."""
    return float(sum(f.step_length * f.halting.sum() for f in frames))


def time_lost(frames: Frames) -> float:
    """TL_win: vehicle-seconds lost against the speed limit in the camera zones over the
    frames (every vehicle seen, those that left included)."""
    return float(
        sum(f.step_length * np.sum(f.count * (1.0 - f.mean_speed / f.speed_limit)) for f in frames)
    )


def mean_relative_speed(frames: Frames, empty_value: float = 1.0) -> float:
    """S: mean over the vehicles in view of speed / speed limit, at the last frame."""
    f = frames[-1]
    n = float(f.count.sum())
    if n <= 0:
        return empty_value
    return float(np.sum(f.count * f.mean_speed / f.speed_limit) / n)


def stop_line_passages(frames: Frames) -> float:
    """ρ: vehicles that crossed the stop lines over the frames."""
    return float(sum(f.passed.sum() for f in frames))


class ZoneVehicles:
    """The vehicles in each lane's camera zone, estimated from counts (module docstring).

    ``lanes[i]`` is a (vehicles x ``columns``) array, front (stop line) first; each row holds
    per-vehicle accumulators that rewards add to and clear.
    """

    def __init__(self, n_lanes: int, columns: int = 1) -> None:
        self.columns = columns
        self.lanes = [np.zeros((0, columns)) for _ in range(n_lanes)]

    def update(self, f: SensorFrame) -> None:
        """Move the queues on by one frame (before the frame's accruals)."""
        for i, q in enumerate(self.lanes):
            q = q[int(f.passed[i]) :]
            n = int(round(f.count[i]))
            arrived = int(f.arrived[i])
            if arrived > 0:
                q = np.concatenate([q, np.zeros((arrived, self.columns))])
            if len(q) > n:
                q = q[:n]
            elif len(q) < n:
                q = np.concatenate([q, np.zeros((n - len(q), self.columns))])
            self.lanes[i] = q

    def add_stopped(self, f: SensorFrame, column: int) -> None:
        """The front ``halting`` vehicles of each lane accrue the frame's step length."""
        for i, q in enumerate(self.lanes):
            q[: int(f.halting[i]), column] += f.step_length

    def add_lost(self, f: SensorFrame, column: int) -> None:
        """Every vehicle accrues step_length x (1 - lane mean speed / speed limit)."""
        lost = f.step_length * (1.0 - f.mean_speed / f.speed_limit)
        for i, q in enumerate(self.lanes):
            q[:, column] += lost[i]

    def total(self, column: int) -> float:
        """Sum of a column over the vehicles in the zones now."""
        return float(sum(q[:, column].sum() for q in self.lanes))

    def shift(self) -> None:
        """Start a new interval: each column takes the next one's value, the last is 0."""
        for q in self.lanes:
            q[:, :-1] = q[:, 1:]
            q[:, -1] = 0.0


class _PresentVehicles(BaseReward):
    """Base of the V_t rewards: per-vehicle time since the last action (column 1) and in the
    interval before (column 0) of the vehicles in view now."""

    #: "stopped" (W) or "lost" (TL)
    quantity: ClassVar[str] = "stopped"

    def start(self) -> None:
        assert self.context is not None
        self._zones = ZoneVehicles(len(self.context.lanes), columns=2)
        self._decisions = 0

    def base(self, frames: Frames) -> tuple[float, float]:
        """Feed the frames; (Σ_{V_t} previous interval, Σ_{V_t} last interval)."""
        zones = self._zones
        add = zones.add_stopped if self.quantity == "stopped" else zones.add_lost
        for f in frames:
            zones.update(f)
            add(f, 1)
        before, now = zones.total(0), zones.total(1)
        zones.shift()
        self._decisions += 1
        return before, now


def _number(reward: str, param: str, value: Any, *, low: float | None = None) -> float:
    """``value`` as a float; RewardError naming the reward and parameter for a non-number
    (a boolean too: JSON's ``true`` is no weight), a NaN, an infinity or one ``<= low``."""
    try:
        if isinstance(value, bool | np.bool_):
            raise TypeError
        x = float(value)
    except (TypeError, ValueError):
        raise RewardError(
            f"reward {reward!r}: parameter {param} must be a number, got {value!r}"
        ) from None
    if not math.isfinite(x) or (low is not None and x <= low):
        bound = f" > {low:g}" if low is not None else ""
        raise RewardError(f"reward {reward!r}: parameter {param} must be finite{bound}, got {x}")
    return x


class DemandEstimator:
    """d̂: bias-corrected exponential moving average of the zone arrival rate (veh/s),
    floored (see the module docstring)."""

    def __init__(self, time_constant: float = 300.0, floor: float = 0.05) -> None:
        self.time_constant = time_constant
        self.floor = floor
        self.reset()

    def reset(self) -> None:
        self._mean = 0.0  # EMA of the rate, started at 0
        self._weight = 0.0  # EMA of 1, started at 0: the bias correction
        self.raw = 0.0

    def update(self, frames: Frames) -> float:
        """Feed frames (each once) and return the current estimate."""
        for f in frames:
            dt = f.step_length
            alpha = -math.expm1(-dt / self.time_constant)
            rate = float(f.arrived.sum()) / dt
            self._mean += alpha * (rate - self._mean)
            self._weight += alpha * (1.0 - self._weight)
        self.raw = self._mean / self._weight if self._weight > 0 else 0.0
        return self.value

    @property
    def value(self) -> float:
        return max(self.raw, self.floor)


# ----- queue family --------------------------------------------------------------------------
@register("queue")
class Queue(BaseReward):
    description = "Minus the vehicles queued in the camera zones at the decision (study #1)."
    formula = "r = -Q,  Q = sum over lanes of halting vehicles at the last frame"
    fields = ("halting",)

    def compute(self, frames: Frames) -> float:
        return -queue_length(frames)


@register("queue_squared")
class QueueSquared(BaseReward):
    description = "Minus the square of the total queue at the decision (study #2)."
    formula = "r = -Q^2,  Q = sum over lanes of halting vehicles at the last frame"
    fields = ("halting",)

    def compute(self, frames: Frames) -> float:
        return -(queue_length(frames) ** 2)


class _Delta(BaseReward):
    """X(previous decision) - X(now); 0 at an episode's first decision."""

    _prev: float | None = None

    def start(self) -> None:
        self._prev = None

    def base(self, frames: Frames) -> float:
        raise NotImplementedError

    def compute(self, frames: Frames) -> float:
        now = self.base(frames)
        prev, self._prev = self._prev, now
        return 0.0 if prev is None else prev - now


@register("delta_queue")
class DeltaQueue(_Delta):
    description = "Fall of the total queue since the previous decision (study #3)."
    formula = "r = Q(t^p) - Q(t); 0 at the first decision"
    fields = ("halting",)

    def base(self, frames: Frames) -> float:
        return queue_length(frames)


# ----- stopped (wait) time family ------------------------------------------------------------
_ZONE_FIELDS = ("count", "passed", "arrived")
_W = (
    "W = sum over the vehicles v in view now (V_t) of their stopped time since t^p "
    "(estimated per lane: front `halting` vehicles of a queue kept from arrived/passed/count)"
)
_W_WIN = "W_win = sum over frames since t^p of step_length * sum over lanes of halting"


@register("wait_time")
class WaitTime(_PresentVehicles):
    description = (
        "Minus the stopped time since the last action of the vehicles in view now (study #4)."
    )
    formula = f"r = -W,  {_W}"
    fields = ("halting", *_ZONE_FIELDS)
    version = 2  # 1: summed over every vehicle seen since the last action (wait_time_window)

    def compute(self, frames: Frames) -> float:
        return -self.base(frames)[1]


@register("delta_wait_time")
class DeltaWaitTime(_PresentVehicles):
    description = (
        "The vehicles in view now: stopped time in the previous interval minus in the last "
        "(study #5)."
    )
    formula = (
        f"r = sum_(V_t) tau(t^pp..t^p) - sum_(V_t) tau(t^p..t); 0 at the first decision;  {_W}"
    )
    fields = ("halting", *_ZONE_FIELDS)
    version = 2

    def compute(self, frames: Frames) -> float:
        before, now = self.base(frames)
        return 0.0 if self._decisions == 1 else before - now


@register("wait_time_window")
class WaitTimeWindow(BaseReward):
    description = (
        "Minus the stopped vehicle-seconds in the camera zones since the last action, "
        "vehicles that left included (wait_time before version 2)."
    )
    formula = f"r = -W_win,  {_W_WIN}"
    fields = ("halting",)

    def compute(self, frames: Frames) -> float:
        return -stopped_time(frames)


@register("delta_wait_time_window")
class DeltaWaitTimeWindow(_Delta):
    description = (
        "Fall of the since-last-action stopped time between decisions, vehicles that left "
        "included (delta_wait_time before version 2)."
    )
    formula = f"r = W_win(t^pp..t^p) - W_win(t^p..t); 0 at the first decision;  {_W_WIN}"
    fields = ("halting",)

    def base(self, frames: Frames) -> float:
        return stopped_time(frames)


class _DemandAdjusted(BaseReward):
    needs_demand = True

    def __init__(self, demand_time_constant: float = 300.0, demand_floor: float = 0.05) -> None:
        self.estimator = DemandEstimator(
            _number(self.name, "demand_time_constant", demand_time_constant, low=0),
            _number(self.name, "demand_floor", demand_floor, low=0),
        )

    def start(self) -> None:
        self.estimator.reset()

    @property
    def demand(self) -> float:
        """The latest d̂ (veh/s)."""
        return self.estimator.value


@register("wait_time_ad")
class WaitTimeAD(_DemandAdjusted, _PresentVehicles):
    description = (
        "Stopped time since the last action of the vehicles in view now, divided by the "
        "demand estimate (study #6)."
    )
    formula = f"r = -W / d_hat  (d_hat: smoothed zone arrival rate, veh/s, floored);  {_W}"
    fields = ("halting", *_ZONE_FIELDS)
    version = 2

    def start(self) -> None:
        _DemandAdjusted.start(self)
        _PresentVehicles.start(self)

    def compute(self, frames: Frames) -> float:
        return -self.base(frames)[1] / self.estimator.update(frames)


@register("wait_time_window_ad")
class WaitTimeADWindow(_DemandAdjusted):
    description = (
        "Stopped vehicle-seconds since the last action, vehicles that left included, divided "
        "by the demand estimate (wait_time_ad before version 2)."
    )
    formula = f"r = -W_win / d_hat;  {_W_WIN}"
    fields = ("halting", "arrived")

    def compute(self, frames: Frames) -> float:
        return -stopped_time(frames) / self.estimator.update(frames)


# ----- time lost family ----------------------------------------------------------------------
_TL = (
    "TL = sum over the vehicles v in view now (V_t) of sum over frames since t^p of "
    "step_length * (1 - v/v_max) (v: the lane's mean speed; V_t estimated as for W)"
)
_TL_WIN = (
    "TL_win = sum over frames since t^p of step_length * sum over lanes of count*(1 - v/v_max)"
)
_TL_FIELDS = ("count", "mean_speed", "speed_limit", "passed", "arrived")


class _TimeLostPresent(_PresentVehicles):
    quantity = "lost"


@register("time_lost")
class TimeLost(_TimeLostPresent):
    description = (
        "Minus the time the vehicles in view now lost against the speed limit since the last "
        "action (study #7)."
    )
    formula = f"r = -TL,  {_TL}"
    fields = _TL_FIELDS
    version = 2  # 1: summed over every vehicle seen since the last action (time_lost_window)

    def compute(self, frames: Frames) -> float:
        return -self.base(frames)[1]


@register("delta_time_lost")
class DeltaTimeLost(_TimeLostPresent):
    description = (
        "The vehicles in view now: time lost in the previous interval minus in the last (study #8)."
    )
    formula = f"r = sum_(V_t) TL(t^pp..t^p) - sum_(V_t) TL(t^p..t); 0 at the first decision;  {_TL}"
    fields = _TL_FIELDS
    version = 2

    def compute(self, frames: Frames) -> float:
        before, now = self.base(frames)
        return 0.0 if self._decisions == 1 else before - now


@register("time_lost_ad")
class TimeLostAD(_DemandAdjusted, _TimeLostPresent):
    description = (
        "Time lost since the last action by the vehicles in view now, divided by the demand "
        "estimate (study #9)."
    )
    formula = f"r = -TL / d_hat;  {_TL}"
    fields = _TL_FIELDS
    version = 2

    def start(self) -> None:
        _DemandAdjusted.start(self)
        _TimeLostPresent.start(self)

    def compute(self, frames: Frames) -> float:
        return -self.base(frames)[1] / self.estimator.update(frames)


@register("time_lost_window")
class TimeLostWindow(BaseReward):
    description = (
        "Minus the time lost against the speed limit since the last action, vehicles that "
        "left included (time_lost before version 2)."
    )
    formula = f"r = -TL_win,  {_TL_WIN}"
    fields = ("count", "mean_speed", "speed_limit")

    def compute(self, frames: Frames) -> float:
        return -time_lost(frames)


@register("delta_time_lost_window")
class DeltaTimeLostWindow(_Delta):
    description = (
        "Fall of the since-last-action time lost between decisions, vehicles that left "
        "included (delta_time_lost before version 2)."
    )
    formula = f"r = TL_win(t^pp..t^p) - TL_win(t^p..t); 0 at the first decision;  {_TL_WIN}"
    fields = ("count", "mean_speed", "speed_limit")

    def base(self, frames: Frames) -> float:
        return time_lost(frames)


@register("time_lost_window_ad")
class TimeLostADWindow(_DemandAdjusted):
    description = (
        "Time lost since the last action, vehicles that left included, divided by the demand "
        "estimate (time_lost_ad before version 2)."
    )
    formula = f"r = -TL_win / d_hat;  {_TL_WIN}"
    fields = ("count", "mean_speed", "speed_limit", "arrived")

    def compute(self, frames: Frames) -> float:
        return -time_lost(frames) / self.estimator.update(frames)


# ----- speed family --------------------------------------------------------------------------
_S = "S = sum_lanes count*v/v_max / sum_lanes count at the last frame (empty_value if none)"


@register("average_speed")
class AverageSpeed(BaseReward):
    description = "Mean speed / speed limit of the vehicles in view at the decision (study #10)."
    formula = f"r = S,  {_S}"
    fields = ("count", "mean_speed", "speed_limit")

    def __init__(self, empty_value: float = 1.0) -> None:
        self.empty_value = _number("average_speed", "empty_value", empty_value)

    def compute(self, frames: Frames) -> float:
        return mean_relative_speed(frames, self.empty_value)


@register("average_speed_ad")
class AverageSpeedAD(_DemandAdjusted):
    description = "Average speed multiplied by the demand estimate (study #11, the best)."
    formula = f"r = d_hat * S,  {_S}"
    fields = ("count", "mean_speed", "speed_limit", "arrived")

    def __init__(
        self,
        empty_value: float = 1.0,
        demand_time_constant: float = 300.0,
        demand_floor: float = 0.05,
    ) -> None:
        super().__init__(demand_time_constant, demand_floor)
        self.empty_value = _number("average_speed_ad", "empty_value", empty_value)

    def compute(self, frames: Frames) -> float:
        return self.estimator.update(frames) * mean_relative_speed(frames, self.empty_value)


# ----- throughput ----------------------------------------------------------------------------
@register("throughput")
class Throughput(BaseReward):
    description = "Vehicles that crossed the stop lines since the last action (study #12)."
    formula = "r = sum over frames since t^p of sum over lanes of passed"
    fields = ("passed",)

    def start(self) -> None:
        assert self.context is not None
        if not self.context.stop_line_loops:
            raise RewardError(
                f"reward 'throughput' needs stop-line loops; junction {self.context.junction} "
                "has sensors.stop_line_loops: false"
            )

    def compute(self, frames: Frames) -> float:
        return stop_line_passages(frames)


# ----- beyond the study ----------------------------------------------------------------------
@register("vehicles_in_view")
class VehiclesInView(BaseReward):
    """Minus the vehicles the cameras see: sumo-rl's pressure (out - in) with the exits taken
    as free-flowing, because rewards see only the approach lanes' sensors. Not max-pressure."""

    description = "Minus the vehicles in the camera zones at the decision."
    formula = "r = -sum over lanes of count at the last frame"
    fields = ("count",)

    def compute(self, frames: Frames) -> float:
        return -float(frames[-1].count.sum())


@register("stage_imbalance")
class StageImbalance(BaseReward):
    """Minus the difference between the longest and the shortest stage queue."""

    description = "Minus the spread of the queues served by the action stages at the decision."
    formula = "r = -(max_s Q_s - min_s Q_s), Q_s = halting on the lanes action stage s serves"
    fields = ("halting",)

    def start(self) -> None:
        assert self.context is not None
        self._stages = [np.flatnonzero(m) for m in self.context.stage_lanes.values()]

    def compute(self, frames: Frames) -> float:
        f = frames[-1]
        q = [float(f.halting[idx].sum()) for idx in self._stages]
        return -(max(q) - min(q)) if q else 0.0


@register("pressure")
class Pressure(BaseReward):
    """Deprecated name: it was never max-pressure. ``mode="incoming"`` is
    ``vehicles_in_view``, ``mode="imbalance"`` is ``stage_imbalance``."""

    description = (
        "Deprecated (not max-pressure): use vehicles_in_view, or stage_imbalance for "
        "mode=imbalance; same values."
    )
    formula = "mode=incoming: as vehicles_in_view;  mode=imbalance: as stage_imbalance"
    fields = ("count", "halting")
    version = 2  # renamed; the values are those of version 1

    def __init__(self, mode: str = "incoming") -> None:
        if mode not in ("incoming", "imbalance"):
            raise RewardError(
                f"reward 'pressure': parameter mode must be 'incoming' or 'imbalance', got {mode!r}"
            )
        new = "vehicles_in_view" if mode == "incoming" else "stage_imbalance"
        warnings.warn(  # a worker's goes to its owner, which shows it once (worker_warnings)
            f"reward 'pressure' is deprecated (it is not max-pressure): use {new!r}",
            FutureWarning,  # shown by default: the deprecation is aimed at users
            stacklevel=2,
        )
        self.mode = mode
        self._inner: BaseReward = VehiclesInView() if mode == "incoming" else StageImbalance()

    def start(self) -> None:
        assert self.context is not None
        self._inner.reset(self.context)

    def compute(self, frames: Frames) -> float:
        return self._inner.compute(frames)


@register("diff_waiting_time")
class DiffWaitingTime(BaseReward):
    """sumo-rl's default reward, estimated from the sensors."""

    description = "sumo-rl's default: fall of the accumulated waiting of vehicles in view / 100."
    formula = (
        "r = W_acc(t^p) - W_acc(t), W_acc = sum of per-vehicle accumulated stopped time of the "
        "vehicles in the camera zones / scale (scale=100); 0 at the first decision. Estimated: "
        "each lane is a FIFO of vehicles (arrivals join the back, stop-line passages leave the "
        "front, resized to the count); the front `halting` vehicles accrue step_length per frame"
    )
    fields = ("count", "halting", "passed", "arrived")

    def __init__(self, scale: float = 100.0) -> None:
        self.scale = _number("diff_waiting_time", "scale", scale, low=0)
        self._prev: float | None = None

    def start(self) -> None:
        assert self.context is not None
        self._zones = ZoneVehicles(len(self.context.lanes))
        self._prev = None

    def accumulated(self) -> float:
        """Current W_acc (seconds / scale)."""
        return self._zones.total(0) / self.scale

    def compute(self, frames: Frames) -> float:
        for f in frames:
            self._zones.update(f)
            self._zones.add_stopped(f, 0)
        now = self.accumulated()
        prev, self._prev = self._prev, now
        return 0.0 if prev is None else prev - now


@register("weighted")
class Weighted(BaseReward):
    """A weighted sum of other rewards."""

    description = "Weighted sum of other rewards, e.g. weights={'average_speed': 1, 'queue': 0.1}."
    formula = (
        "r = sum_i w_i * r_i;  weights maps reward name -> w, or -> {'weight': w, **params} "
        "to pass parameters to that reward"
    )
    fields = ()
    #: its fields and demand need are its components' (``intergreen rewards show`` says so)
    composite = True

    def __init__(self, weights: Mapping[str, Any]) -> None:
        if not isinstance(weights, Mapping) or not weights:
            raise RewardError(
                "reward 'weighted': parameter weights must be a non-empty mapping of reward "
                f"name -> weight, got {weights!r}"
            )
        self.components: list[tuple[float, Any]] = []
        # sorted: weights written in another order are the same reward (its version, params)
        for name, spec in sorted(weights.items(), key=lambda item: str(item[0])):
            if name == "weighted":
                raise RewardError(
                    "reward 'weighted': weights.weighted: a weighted reward cannot be one of "
                    "its own components; give its components' weights here instead"
                )
            params: dict[str, Any] = {}
            if isinstance(spec, Mapping):
                params = dict(spec)
                if "name" in params:
                    raise RewardError(
                        f"reward 'weighted': weights.{name} has a 'name' key: the key {name!r} "
                        "names the reward already; give only 'weight' and its parameters"
                    )
                if "weight" not in params:
                    raise RewardError(f"reward 'weighted': weights.{name} needs a 'weight' key")
                w = params.pop("weight")
            else:
                w = spec
            w = _number("weighted", f"weights.{name}", w)
            try:
                component = get(name, **params)
            except RewardError as e:  # say which key: the message alone named no weights
                raise RewardError(f"reward 'weighted': weights.{name}: {e}") from None
            self.components.append((w, component))
        self.fields = tuple(f for f in FIELDS if any(f in c.fields for _, c in self.components))
        self.needs_demand = any(c.needs_demand for _, c in self.components)
        # a component's new formula is a new weighted reward too
        parts = ", ".join(f"{c.name}={c.version}" for _, c in self.components)
        self.version = f"{type(self).version}({parts})"
        # recorded as given, in canonical form (a component's defaults are not filled in, for
        # each alike: {"average_speed": 1} and {"average_speed": {"weight": 1}} are one record)
        given = canonical_reward({"name": "weighted", "weights": dict(weights)})
        self._params = {"weights": given["weights"]}

    def start(self) -> None:
        for _, c in self.components:
            c.reset(self.context)

    def compute(self, frames: Frames) -> float:
        return sum(w * c(frames) for w, c in self.components)


#: The study's twelve, in its order.
STUDY_REWARDS = (
    "queue",
    "queue_squared",
    "delta_queue",
    "wait_time",
    "delta_wait_time",
    "wait_time_ad",
    "time_lost",
    "delta_time_lost",
    "time_lost_ad",
    "average_speed",
    "average_speed_ad",
    "throughput",
)


# ----- emissions -----------------------------------------------------------------------------
@register("emissions")
class EmissionsEstimate(BaseReward):
    """Minus the CO2 (g) the cameras' queues suggest, idling and stopping.

    An *estimate from the sensors*, never SUMO's emission output (a reward reads only
    SensorFrames): per decision, ``idle_g_per_s`` for each vehicle-second a camera sees
    halting, plus ``stop_g`` for each new stop. New stops are the rises of each lane's
    halting count from one frame to the next (the first frame of a decision against the
    last frame of the previous one, zero before the episode's first): a lower bound, as a
    vehicle that joins a queue in the same frame as another leaves it is not seen.
    Moving vehicles' emissions are left out (per distance they do not depend on the
    signals); stops beyond the cameras' range are not seen.

    Source of the defaults: SUMO's HBEFA4 model (HBEFA 4.2, https://www.hbefa.net; SUMO's
    implementation https://sumo.dlr.de/docs/Models/Emissions/HBEFA4-based.html), the model
    of SUMO's emissions device that ``intergreen simulate`` reports as ground truth, for
    SUMO's default passenger car class ``HBEFA4/PC_petrol_Euro-4``, computed with SUMO's
    ``emissionsDrivingCycle`` by ``benchmarks/emissions/reward_factors.py``: 1.521 g CO2 per
    second at standstill, and 24.2 g CO2 per stop from 13.41 m/s (30 mph, gm_a56's limit)
    at the project car's deceleration 4.5 m/s^2 and acceleration 2.6 m/s^2, over driving
    the same distance at 13.41 m/s. For other fleets pass other factors.
    """

    description = (
        "Minus the CO2 (g) estimated from the cameras: idling in queues plus new stops "
        "(HBEFA4 factors; a sensor estimate, not SUMO's emission output)."
    )
    formula = (
        "r = -(e_idle * W + e_stop * N),  W = sum over frames of step_length * sum over lanes "
        "of halting, N = sum over frames and lanes of max(0, halting_t - halting_prev)"
    )
    fields = ("halting",)

    def __init__(self, idle_g_per_s: float = 1.521, stop_g: float = 24.2) -> None:
        self.idle = _number("emissions", "idle_g_per_s", idle_g_per_s, low=0.0)
        self.stop = _number("emissions", "stop_g", stop_g, low=0.0)

    def start(self) -> None:
        self._last: np.ndarray | None = None

    def compute(self, frames: Frames) -> float:
        stops = 0.0
        last = self._last
        for f in frames:
            halting = f.halting
            rise = halting if last is None else halting - last
            stops += float(np.maximum(rise, 0.0).sum())
            last = halting
        self._last = last
        return -(self.idle * stopped_time(frames) + self.stop * stops)
