"""CARBS: cost-aware Pareto-region Bayesian search (clean-room reimplementation).

Behaviour follows imbue-ai/carbs ``8f7fee0`` as described in ``docs/carbs-spec.md``; see
``NOTES.md`` for the quirks kept and changed. Kept: fixed-shape kernel (linear on uncentred basic
coordinates + Matern-3/2 ARD), quantile output transform with +/-5.2 clip and beta = 1, search
weight = 1-D normal pdf of the distance to the nearest Pareto origin computed before rounding,
strict bounds with 0.1 integer slack, P(success) = Phi(-mu / var), a non-monotone Pareto GP,
random fallback when a BO step fails. Changed: local RNG saved in the JSON checkpoint (no global
seeding, no repeats after reload), empty-Pareto-set fix (#6), float64, caller's dict not
mutated, cost <= 0 rejected, BO fallbacks logged and counted, one Cholesky per model instead of
1000 optimisation steps (hyperparameters fixed as upstream's effectively are; an optional
warm-started MAP fit is ``gp_fit_steps``), EI scored in log space so that vanishing EI still
ranks candidates.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from scipy.special import log_ndtr

from intergreen.tuning.acquisition import log_expected_improvement
from intergreen.tuning.config import (
    CARBSParams,
    ObservationInParam,
    ObserveOutput,
    ParetoPoint,
    SuggestOutput,
)
from intergreen.tuning.errors import (
    CheckpointError,
    ObservationError,
    SearchSpaceError,
    TuningError,
    UnknownSuggestionError,
)
from intergreen.tuning.gp import RBFGP1D, ExactGP, GPHyper, fit_hyper
from intergreen.tuning.pareto import Group, isclose_rows, pareto_area, pareto_groups
from intergreen.tuning.search_space import Param
from intergreen.tuning.state import read_checkpoint, write_checkpoint
from intergreen.tuning.transforms import LogCostScaler, QuantileNormal

log = logging.getLogger(__name__)

UUID_KEY = "suggestion_uuid"
_MODELS = ("output", "cost", "success")


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class CARBS:
    """Cost-aware Bayesian optimiser over the Pareto front of (cost, output)."""

    def __init__(self, config: CARBSParams, params: Sequence[Param]) -> None:
        if not isinstance(config, CARBSParams):
            raise SearchSpaceError("config must be a CARBSParams instance")
        params = list(params)
        if not params:
            raise SearchSpaceError("params is empty: give at least one Param to search over")
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise SearchSpaceError(f"params: duplicate names in {names}; names must be unique")
        for p in params:
            if not isinstance(p, Param):
                raise SearchSpaceError(f"params: {p!r} is not a Param")
        self.config = config
        self.params = params
        self.dim = len(params)
        bounds = [p.space.basic_bounds() for p in params]
        self.lower = np.array([b[0] for b in bounds])
        self.upper = np.array([b[1] for b in bounds])
        self.center = self._to_basic({p.name: p.center for p in params})
        n_bounded = int(np.sum(np.isfinite(self.lower) | np.isfinite(self.upper)))
        self._overgen_start = 2 ** (n_bounded // 2)
        if n_bounded > 10:
            log.info("%d bounded dimensions: sampling may be slow", n_bounded)
        self.rng = np.random.Generator(np.random.PCG64(config.seed))
        self.observations: list[dict[str, Any]] = []
        self.outstanding: dict[str, np.ndarray] = {}
        self.resample_count = 0
        self.fallback_count = 0
        self.hyper: dict[str, GPHyper] = {
            m: GPHyper.initial(self.dim, config.initial_search_radius) for m in _MODELS
        }
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ conversions
    def _to_basic(self, values: dict[str, Any]) -> np.ndarray:
        return np.array([float(p.space.to_basic(float(values[p.name]))) for p in self.params])

    def _to_param(self, basic: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p, b in zip(self.params, basic, strict=True):
            v = float(p.space.from_basic(b))
            rf = p.space.rounding_factor
            if p.space.rounds and float(rf).is_integer():
                v = int(round(v))
            out[p.name] = v
        return out

    def _round_basic(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=np.float64, copy=True)
        for i, p in enumerate(self.params):
            if p.space.rounds:
                x[..., i] = p.space.round_basic(x[..., i])
        return x

    def _in_bounds(self, x: np.ndarray) -> np.ndarray:
        return np.all((x > self.lower) & (x < self.upper) & np.isfinite(x), axis=-1)

    # ------------------------------------------------------------------ properties
    def _successes(self) -> list[dict[str, Any]]:
        return [o for o in self.observations if not o["is_failure"]]

    @property
    def observation_count(self) -> int:
        """Successes plus failures."""
        return len(self.observations)

    @property
    def success_count(self) -> int:
        """Number of successful observations."""
        return len(self._successes())

    @property
    def cumulative_cost(self) -> float:
        """Total cost of successful observations."""
        return float(sum(o["cost"] for o in self._successes()))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        s = self._successes()
        x = np.array([o["basic"] for o in s], dtype=np.float64).reshape(len(s), self.dim)
        y = np.array([o["output"] for o in s], dtype=np.float64)
        c = np.array([o["cost"] for o in s], dtype=np.float64)
        return x, y, c

    def _front(self, conservative: bool) -> tuple[list[Group], np.ndarray]:
        x, y, c = self._arrays()
        cfg = self.config
        front = pareto_groups(
            x, y, c, cfg.better_direction_sign, cfg.min_pareto_cost_fraction,
            conservative=conservative, fixed=cfg.is_pareto_threshold_fixed,
        )
        return front, x

    def pareto_front(self, conservative: bool = True) -> list[ParetoPoint]:
        """Cost-ordered Pareto groups (conservative front by default)."""
        with self._lock:
            front, x = self._front(conservative)
            return [
                ParetoPoint(self._to_param(x[g.indices[0]]), g.cost, g.output, g.count)
                for g in front
            ]

    def pareto_area(self) -> float:
        """Step-curve area under the conservative front in linear cost."""
        with self._lock:
            return pareto_area(self._front(True)[0])

    # ------------------------------------------------------------------ suggest
    def suggest(
        self, suggestion_id: str | None = None, is_suggestion_remembered: bool = True
    ) -> SuggestOutput:
        """Next point to evaluate, as a param dict (with ``suggestion_uuid`` when remembered)."""
        with self._lock, _one_torch_thread():
            cfg = self.config
            n_succ = self.success_count
            info: dict[str, Any] = {}
            if n_succ < cfg.num_random_samples:
                basic, info["mode"] = self._random_around(self.center[None, :]), "random"
            elif cfg.resample_frequency > 0 and n_succ > (
                self.resample_count + 1
            ) * cfg.resample_frequency:
                basic, info["mode"] = self._resample_point(), "resample"
                self.resample_count += 1
            else:
                try:
                    basic, info = self._bo_step()
                    info["mode"] = "bo"
                except Exception as err:  # noqa: BLE001 - upstream falls back on any error
                    self.fallback_count += 1
                    log.warning("CARBS BO step failed (%s); suggesting a random point", err)
                    front, x = self._front(True)
                    origins = (
                        np.array([x[g.indices[0]] for g in front]) if front else self.center[None]
                    )
                    basic = self._random_around(origins)
                    info = {"mode": "fallback", "error": repr(err)}
            basic = self._round_basic(basic)
            suggestion = self._to_param(basic)
            if is_suggestion_remembered:
                sid = suggestion_id or str(uuid.UUID(bytes=self.rng.bytes(16), version=4))
                if sid in self.outstanding:
                    raise ObservationError(
                        f"suggestion_id={sid!r} is already outstanding; pass a fresh id"
                    )
                self.outstanding[sid] = basic
                suggestion[UUID_KEY] = sid
                self._autosave()
            return SuggestOutput(suggestion, info)

    def _random_around(self, origins: np.ndarray) -> np.ndarray:
        r = self.config.initial_search_radius
        overgen = self._overgen_start
        for _ in range(8):
            n = 32 * overgen
            idx = self.rng.integers(len(origins), size=n)
            pts = self._round_basic(origins[idx] + r * self.rng.standard_normal((n, self.dim)))
            ok = np.flatnonzero(self._in_bounds(pts))
            if len(ok):
                return pts[ok[0]]
            overgen = min(overgen * 2, 2**self.dim)
        raise SearchSpaceError(
            "no random point inside the bounds after 8 tries; widen the bounds or move the "
            "center away from them"
        )

    def _resample_point(self) -> np.ndarray:
        front, x = self._front(False)
        pending = np.array(list(self.outstanding.values())).reshape(-1, self.dim)
        best, best_count = None, math.inf
        for g in sorted(front, key=lambda g: g.cost):
            point = x[g.indices[0]]
            count = g.count + int(isclose_rows(pending, point).sum()) if len(pending) else g.count
            if count < best_count:
                best, best_count = point, count
        if best is None:
            raise RuntimeError("no Pareto group to resample")
        return best

    def _fit(self, name: str, x: np.ndarray, y: np.ndarray) -> ExactGP:
        cfg = self.config
        self.hyper[name] = fit_hyper(x, y, self.hyper[name], cfg.gp_fit_steps, cfg.gp_fit_lr)
        return ExactGP(x, y, self.hyper[name])

    def _candidates(self, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r = self.config.initial_search_radius
        n_want = self.config.num_candidates_for_suggestion_per_dim * self.dim
        overgen = self._overgen_start
        pts_all, logp_all, have = [], [], 0
        for _ in range(8):
            n = n_want * overgen
            idx = self.rng.integers(len(origins), size=n)
            raw = origins[idx] + r * self.rng.standard_normal((n, self.dim))
            d2 = ((raw[:, None, :] - origins[None, :, :]) ** 2).sum(-1).min(1)
            logp = -0.5 * d2 / r**2 - math.log(r * math.sqrt(2 * math.pi))
            pts = self._round_basic(raw)
            ok = self._in_bounds(pts)
            pts_all.append(pts[ok])
            logp_all.append(logp[ok])
            have += int(ok.sum())
            if have >= n_want:
                break
            overgen = min(overgen * 2, 2**self.dim)
        pts = np.concatenate(pts_all)[:n_want]
        if not len(pts):
            raise RuntimeError("no candidate inside the bounds")
        return pts, np.concatenate(logp_all)[:n_want]

    def _bo_step(self) -> tuple[np.ndarray, dict[str, Any]]:
        cfg = self.config
        sign = cfg.better_direction_sign
        x, y, c = self._arrays()
        qt = QuantileNormal(y)
        ys = sign * qt.transform(y)
        scaler = LogCostScaler(c)
        cs = scaler.transform(c)
        front, _ = self._front(True)
        if not front:
            raise RuntimeError("empty Pareto set")

        # the GPs see basic coordinates minus `shift` (quirk 2: the linear kernel's origin)
        shift = self.center if cfg.is_linear_kernel_centered else np.zeros(self.dim)
        out_gp = self._fit("output", x - shift, ys)
        pending = np.array(list(self.outstanding.values())).reshape(-1, self.dim)
        if len(pending):
            if cfg.outstanding_suggestion_estimator == "thompson":
                fant = out_gp.sample(pending - shift, self.rng.standard_normal(len(pending)))
            else:
                fant = out_gp.predict(pending - shift)[0]
            out_gp = ExactGP(
                np.vstack([x, pending]) - shift, np.concatenate([ys, fant]), out_gp.hyper
            )
        cost_gp = self._fit("cost", x - shift, cs)
        fails = [o for o in self.observations if o["is_failure"]]
        success_gp = None
        if fails:
            xa = np.array([o["basic"] for o in self.observations], dtype=np.float64)
            lab = np.array([1.0 if o["is_failure"] else -1.0 for o in self.observations])
            success_gp = self._fit("success", xa - shift, lab)

        idx = np.array([i for g in front for i in g.indices])
        p_c, p_y = cs[idx], ys[idx]
        pareto_gp = RBFGP1D(p_c, p_y)
        c_min, c_max = float(p_c.min()), float(p_c.max())

        origins = np.array([x[g.indices[0]] for g in front])
        cand, logp = self._candidates(origins)
        cand_gp = cand - shift
        mu, var = out_gp.predict(cand_gp)
        mc = cost_gp.predict(cand_gp)[0]
        if cfg.is_expected_improvement_value_always_max:
            rho = np.full_like(mu, float(p_y.max()))
        else:
            rho = pareto_gp.mean(np.clip(mc, c_min, c_max))
        if cfg.is_expected_improvement_pareto_value_clamped:
            c_lo, c_hi = front[0].cost, front[-1].cost
            if cfg.max_suggestion_cost is not None:
                c_hi = min(c_hi, cfg.max_suggestion_cost)
            c_hi = max(c_hi, c_lo)
            c_star = math.exp(self.rng.uniform(math.log(c_lo), math.log(c_hi)))
            s_star = float(np.clip(scaler.transform(np.array([c_star]))[0], c_min, c_max))
            rho = np.maximum(rho, pareto_gp.mean(np.array([s_star]))[0])
        log_ei = log_expected_improvement(mu, var, rho, cfg.exploration_bias)
        log_ps = np.zeros_like(mu)
        if success_gp is not None:
            ms, vs = success_gp.predict(cand_gp)
            denom = np.sqrt(vs) if cfg.is_success_probability_std else vs
            log_ps = log_ndtr(-ms / denom)
        cost_pred = scaler.inverse(mc)
        score = log_ei + logp + log_ps
        if cfg.max_suggestion_cost is not None:
            score = np.where(cost_pred < cfg.max_suggestion_cost, score, -np.inf)
        if cfg.is_duplicate_masked:
            seen = np.vstack([x, pending]) if len(pending) else x
            dup = np.array([isclose_rows(seen, p).any() for p in cand])
            score = np.where(dup, -np.inf, score)
        if not np.isfinite(score).any():
            raise RuntimeError("no candidate passes the cost cap / duplicate mask")
        i = int(np.argmax(score))
        info = {
            "surrogate_output": float(mu[i]),
            "surrogate_var": float(var[i]),
            "pareto_reference": float(rho[i]),
            "predicted_cost": float(cost_pred[i]),
            "target_estimate": float(qt.inverse(np.array([sign * mu[i]]))[0]),
            "search_log_probability": float(logp[i]),
            "log_expected_improvement": float(log_ei[i]),
            "success_probability": float(np.exp(log_ps[i])),
        }
        return cand[i], info

    # ------------------------------------------------------------------ observe / forget
    def observe(
        self,
        input: dict[str, Any] | ObservationInParam,
        output: float | None = None,
        cost: float = 1.0,
        is_failure: bool = False,
    ) -> ObserveOutput:
        """Record a finished run; NaN/inf output or ``is_failure`` marks a failure."""
        if isinstance(input, ObservationInParam):
            input, output, cost, is_failure = (
                input.input, input.output, input.cost, input.is_failure,
            )
        with self._lock:
            if not isinstance(input, dict):
                raise ObservationError(f"input={input!r}: must be a dict of parameter values")
            values = dict(input)  # never mutate the caller's dict
            sid = values.pop(UUID_KEY, None)
            if sid is not None and sid not in self.outstanding:
                raise UnknownSuggestionError(
                    f"input[{UUID_KEY!r}]={sid!r} is not an outstanding suggestion (already "
                    f"observed or forgotten, or from another tuner); drop the key to record an "
                    f"external observation"
                )
            basic = self._validate_input(values)
            cost = _validate_cost(cost)
            failure = bool(is_failure)
            if output is None:
                if not failure:
                    raise ObservationError("output=None: give a number, or set is_failure=True")
                out = math.nan
            else:
                try:
                    out = float(output)
                except (TypeError, ValueError):
                    raise ObservationError(f"output={output!r}: must be a number") from None
                failure = failure or not math.isfinite(out)
            if sid is not None:
                del self.outstanding[sid]
            self.observations.append(
                {
                    "input": {p.name: values[p.name] for p in self.params},
                    "basic": basic,
                    "output": out if not failure or math.isfinite(out) else None,
                    "cost": cost,
                    "is_failure": failure,
                    "suggestion_id": sid,
                }
            )
            self._autosave()
            return ObserveOutput(
                {
                    "observation_count": self.observation_count,
                    "success_count": self.success_count,
                    "cumulative_cost": self.cumulative_cost,
                    "is_failure": failure,
                }
            )

    def _validate_input(self, values: dict[str, Any]) -> list[float]:
        names = {p.name for p in self.params}
        missing = sorted(names - set(values))
        unknown = sorted(set(values) - names)
        if missing or unknown:
            raise ObservationError(
                f"input: missing parameters {missing}, unknown keys {unknown}; give exactly "
                f"{sorted(names)}"
            )
        basic = []
        for p in self.params:
            v = values[p.name]
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise ObservationError(f"input[{p.name!r}]={v!r}: must be a number") from None
            lo, hi = p.space.param_bounds
            b = float(p.space.to_basic(fv))
            if not (lo <= fv <= hi and math.isfinite(b)):
                raise ObservationError(
                    f"input[{p.name!r}]={v!r} is outside the space ({p.space.min}, "
                    f"{p.space.max}); observe values inside the bounds"
                )
            basic.append(b)
        return basic

    def forget(self, suggestion: dict[str, Any] | str) -> None:
        """Drop an outstanding suggestion (e.g. a pre-empted run that says nothing about it)."""
        with self._lock:
            sid = suggestion.get(UUID_KEY) if isinstance(suggestion, dict) else suggestion
            if sid not in self.outstanding:
                raise UnknownSuggestionError(
                    f"{UUID_KEY}={sid!r} is not an outstanding suggestion; pass a dict returned "
                    f"by suggest() that was not yet observed or forgotten"
                )
            del self.outstanding[sid]
            self._autosave()

    forget_suggestion = forget

    def initialize_from_observations(self, observations: Sequence[ObservationInParam]) -> None:
        """Observe a batch of prior runs, then centre the search on the best success."""
        for o in observations:
            self.observe(o)
        s = self._successes()
        if s:
            best = max(s, key=lambda o: self.config.better_direction_sign * o["output"])
            self.center = np.array(best["basic"], dtype=np.float64)

    def set_search_center(self, values: dict[str, Any]) -> None:
        """Move the random-phase search centre (param units)."""
        with self._lock:
            self.center = np.array(self._validate_input(dict(values)))
            self._autosave()

    # ------------------------------------------------------------------ state
    def _autosave(self) -> None:
        if self.config.checkpoint_path:
            self.save(self.config.checkpoint_path)

    def save(self, path: str) -> None:
        """Write the JSON checkpoint atomically."""
        with self._lock:
            write_checkpoint(self.to_state(), path)

    @classmethod
    def load(cls, path: str) -> CARBS:
        """Rebuild a tuner from a checkpoint; it continues the same suggestion sequence.

        Raises:
            CheckpointError: a missing, corrupt or incompatible checkpoint file.
        """
        return cls.from_state(read_checkpoint(path), str(path))

    def to_state(self) -> dict[str, Any]:
        """Everything needed to resume: config, params, observations, pending, RNG, GP warm
        start (JSON-serialisable)."""
        return {
            "config": self.config.to_json(),
            "params": [p.to_json() for p in self.params],
            "search_center": [float(v) for v in self.center],
            "observations": [
                {**o, "basic": [float(b) for b in o["basic"]]} for o in self.observations
            ],
            "outstanding": [
                {"suggestion_id": k, "basic": [float(b) for b in v]}
                for k, v in self.outstanding.items()
            ],
            "resample_count": self.resample_count,
            "fallback_count": self.fallback_count,
            "rng": self.rng.bit_generator.state,
            "gp_hyper": {k: h.to_json() for k, h in self.hyper.items()},
        }

    @classmethod
    def from_state(cls, doc: dict[str, Any], source: str = "checkpoint") -> CARBS:
        """A tuner from a :meth:`to_state` document; ``source`` names it in errors.

        Raises:
            CheckpointError: naming the first field that is missing or invalid.
        """
        field = "config"
        try:
            config = CARBSParams.from_json(doc["config"])
            field = "params"
            tuner = cls(config, [Param.from_json(p) for p in doc["params"]])
            field = "search_center"
            center = np.array(doc["search_center"], dtype=np.float64)
            if center.shape != (tuner.dim,):
                raise ValueError(f"expected {tuner.dim} values")
            tuner.center = center
            field = "observations"
            for o in doc["observations"]:
                basic = [float(b) for b in o["basic"]]
                if len(basic) != tuner.dim or not np.all(np.isfinite(basic)):
                    raise ValueError(f"bad 'basic' in {o!r}")
                tuner.observations.append(
                    {
                        "input": dict(o["input"]),
                        "basic": basic,
                        "output": None if o["output"] is None else float(o["output"]),
                        "cost": float(o["cost"]),
                        "is_failure": bool(o["is_failure"]),
                        "suggestion_id": o.get("suggestion_id"),
                    }
                )
                if not tuner.observations[-1]["is_failure"] and o["output"] is None:
                    raise ValueError("a success without output")
            field = "outstanding"
            for s in doc["outstanding"]:
                basic = np.array(s["basic"], dtype=np.float64)
                if basic.shape != (tuner.dim,):
                    raise ValueError(f"expected {tuner.dim} values")
                tuner.outstanding[str(s["suggestion_id"])] = basic
            field = "resample_count"
            tuner.resample_count = int(doc["resample_count"])
            tuner.fallback_count = int(doc.get("fallback_count", 0))
            field = "rng"
            tuner.rng.bit_generator.state = doc["rng"]
            field = "gp_hyper"
            tuner.hyper = {k: GPHyper.from_json(h) for k, h in doc["gp_hyper"].items()}
        except CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            kind = "a bad space or config" if isinstance(err, TuningError) else "corrupt"
            raise CheckpointError(
                f"checkpoint {source!r}: field {field!r} is {kind} ({err!r}); restore the file "
                f"from a backup or start a new tuner"
            ) from None
        return tuner


def _validate_cost(cost: Any) -> float:
    try:
        c = float(cost)
    except (TypeError, ValueError):
        raise ObservationError(f"cost={cost!r}: must be a number > 0") from None
    if not (math.isfinite(c) and c > 0):
        raise ObservationError(
            f"cost={cost!r}: must be a finite number > 0 (e.g. seconds or GPU-hours of the run)"
        )
    return c
