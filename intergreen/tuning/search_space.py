"""The CARBS search space: parameters (:class:`Param`) and the spaces that map their values
to the unbounded, scaled *basic* space and back.

Basic value = transform(value) / scale. Bounds are strict; integer spaces widen them by 0.1 so
that the integer bounds themselves are reachable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from intergreen.tuning.errors import SearchSpaceError

_INT_SLACK = 0.1


@dataclass(frozen=True)
class Space:
    """Common fields of a real-valued search space."""

    min: float = -math.inf
    max: float = math.inf
    scale: float = 1.0
    is_integer: bool = False
    rounding_factor: float = 1.0

    def __post_init__(self) -> None:
        if not (self.scale > 0 and math.isfinite(self.scale)):
            raise SearchSpaceError(f"scale={self.scale!r}: must be a finite number > 0")
        if math.isnan(self.min) or math.isnan(self.max):
            raise SearchSpaceError("min/max must not be NaN; use -inf/inf for no bound")
        if not self.min < self.max:
            raise SearchSpaceError(
                f"min={self.min!r}, max={self.max!r}: empty space; set min < max"
            )
        if self.is_integer and not self.rounding_factor > 0:
            raise SearchSpaceError(f"rounding_factor={self.rounding_factor!r}: must be > 0")

    # --- transforms of param values (no scale) -------------------------------------------------
    def _forward(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _inverse(self, value: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def rounds(self) -> bool:
        """Whether values are rounded to integers (multiples of ``rounding_factor``)."""
        return self.is_integer

    @property
    def param_bounds(self) -> tuple[float, float]:
        """Effective strict bounds in param units (integer spaces get 0.1 slack)."""
        slack = _INT_SLACK if self.rounds else 0.0
        return self.min - slack, self.max + slack

    def basic_bounds(self) -> tuple[float, float]:
        """Strict bounds in basic space."""
        lo, hi = self.param_bounds
        with np.errstate(divide="ignore", invalid="ignore"):
            b = self.to_basic(np.array([lo, hi]))
        return float(b[0]), float(b[1])

    def to_basic(self, value: np.ndarray | float) -> np.ndarray:
        """Param value(s) -> basic value(s)."""
        v = np.asarray(value, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._forward(v) / self.scale

    def from_basic(self, basic: np.ndarray | float) -> np.ndarray:
        """Basic value(s) -> param value(s), rounded for integer spaces."""
        with np.errstate(over="ignore"):
            v = self._inverse(np.asarray(basic, dtype=np.float64) * self.scale)
        return self.round(v)

    def round(self, value: np.ndarray) -> np.ndarray:
        """Round param values to a multiple of ``rounding_factor`` (integer spaces only)."""
        if not self.rounds:
            return value
        return np.round(value / self.rounding_factor) * self.rounding_factor

    def round_basic(self, basic: np.ndarray) -> np.ndarray:
        """Round basic values via param units (identity for non-integer spaces)."""
        if not self.rounds:
            return basic
        return self.to_basic(self.from_basic(basic))

    def contains(self, value: float) -> bool:
        """Whether a param value lies strictly inside the effective bounds."""
        lo, hi = self.param_bounds
        return bool(lo < value < hi)

    def to_json(self) -> dict:
        """JSON-able description (type + fields)."""
        d = {k: _enc(getattr(self, k)) for k in self.__dataclass_fields__}
        d["type"] = type(self).__name__
        return d


@dataclass(frozen=True)
class LinearSpace(Space):
    """Identity transform: basic = value / scale."""

    def _forward(self, value: np.ndarray) -> np.ndarray:
        return value

    def _inverse(self, value: np.ndarray) -> np.ndarray:
        return value


@dataclass(frozen=True)
class LogSpace(Space):
    """basic = log_base(value) / scale; default bounds (0, inf)."""

    min: float = 0.0
    base: float = 10.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min < 0:
            raise SearchSpaceError(f"LogSpace min={self.min!r}: must be >= 0 (log of a negative)")
        if not (self.base > 0 and self.base != 1 and math.isfinite(self.base)):
            raise SearchSpaceError(f"LogSpace base={self.base!r}: must be > 0 and != 1")

    def _forward(self, value: np.ndarray) -> np.ndarray:
        return np.log(value) / math.log(self.base)

    def _inverse(self, value: np.ndarray) -> np.ndarray:
        return np.power(self.base, value)

    @property
    def param_bounds(self) -> tuple[float, float]:
        lo, hi = super().param_bounds
        return max(lo, 0.0), hi


@dataclass(frozen=True)
class LogitSpace(Space):
    """basic = log10(v / (1 - v)) / scale; bounds (0, 1); never integer."""

    min: float = 0.0
    max: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min < 0 or self.max > 1:
            raise SearchSpaceError(
                f"LogitSpace min={self.min!r}, max={self.max!r}: must lie within [0, 1]"
            )

    @property
    def rounds(self) -> bool:
        return False

    def _forward(self, value: np.ndarray) -> np.ndarray:
        return np.log10(value / (1.0 - value))

    def _inverse(self, value: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.power(10.0, -value))


SPACE_TYPES: dict[str, type[Space]] = {
    c.__name__: c for c in (LinearSpace, LogSpace, LogitSpace)
}


def _enc(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return "inf" if v > 0 else "-inf"
    return v


def space_from_json(d: dict) -> Space:
    """Inverse of ``Space.to_json``."""
    d = dict(d)
    cls = SPACE_TYPES.get(d.pop("type", None))
    if cls is None:
        raise SearchSpaceError(f"space type {d!r}: expected one of {sorted(SPACE_TYPES)}")
    kw = {k: (float(v) if isinstance(v, str) else v) for k, v in d.items()}
    return cls(**kw)


@dataclass(frozen=True)
class Param:
    """A named parameter with its space and search centre (in param units)."""

    name: str
    space: Space
    center: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SearchSpaceError(f"Param name={self.name!r}: must be a non-empty string")
        if self.name == "suggestion_uuid":
            raise SearchSpaceError("Param name 'suggestion_uuid' is reserved; rename it")
        if not isinstance(self.space, Space):
            raise SearchSpaceError(
                f"Param {self.name!r}: space must be a LinearSpace, LogSpace or LogitSpace"
            )
        c = float(self.center)
        lo, hi = self.space.param_bounds
        if not (math.isfinite(c) and lo < c < hi):
            raise SearchSpaceError(
                f"Param {self.name!r}: center={self.center!r} is outside the space bounds "
                f"({self.space.min}, {self.space.max}); move the center strictly inside"
            )
        b = float(self.space.to_basic(c))
        if not math.isfinite(b):
            raise SearchSpaceError(
                f"Param {self.name!r}: center={self.center!r} maps to a non-finite basic value"
            )

    def to_json(self) -> dict:
        """JSON-able description."""
        return {"name": self.name, "space": self.space.to_json(), "center": self.center}

    @staticmethod
    def from_json(d: dict) -> Param:
        """Inverse of ``to_json``."""
        return Param(d["name"], space_from_json(d["space"]), d["center"])
