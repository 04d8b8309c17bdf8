"""``intergreen tune --controller NAME``: tune a baseline controller's parameters with CARBS on
validation seeds, as the agents are tuned, so that agents meet baselines at their best.

What is tuned (search centre = the baseline's defaults):

- ``vehicle-actuated`` (System D): the maximum green of each action stage, the extension.
- ``camera-actuated``: the maximum greens, the gap.
- ``max-occupancy``: the maximum greens, the margin.
- ``fixed-time``: the cycle (a factor on Webster's cycle) and the splits (a weight on each
  action stage's flow ratio but the first), so the plan still follows each demand period.

A trial runs the candidate on ``episodes`` validation episodes per demand (the same episodes
for every trial, so trials are compared on equal traffic); its output is the mean average
waiting time (s, minimised) and its cost the episodes it simulated. Trial ``t0000`` runs the
defaults. The out folder holds ``tune.json`` (configuration, budget used, the limits of each
session), ``carbs.json`` (the CARBS checkpoint), ``trials.jsonl`` (one line per finished trial)
and ``tuned.json``: the best trial's parameters with the validation scores and the budget, in
the parameter-file format of :mod:`intergreen.junctions.baseline_params`. Re-running the same
command resumes; a re-run's other ``--budget`` or ``--max-trials`` applies to the trials it
launches, and ``tuned.json`` states the limits the trials ran under
(:mod:`intergreen.tuning.sessions`).

Seeds: validation episodes use :func:`validation_seeds`, the validation stream of
:mod:`intergreen.seeds`, disjoint from every training stream and from the test episodes that
evaluations and reports use.
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from intergreen.common import NotWritableError, atomic_write, ensure_writable, field_changes
from intergreen.junctions.baseline_params import FORMAT
from intergreen.junctions.baselines import TUNABLE, baseline_key, make_baseline, parameter_names
from intergreen.junctions.catalog import resolve_junction
from intergreen.junctions.env import make_env
from intergreen.junctions.rollout import run_episode
from intergreen.junctions.stage_policy import stage_green_floor
from intergreen.seeds import episode_seeds
from intergreen.tuning import CARBS, CARBSParams, LinearSpace, LogSpace, Param
from intergreen.tuning.loop import Budget, TuneError, parse_budget
from intergreen.tuning.sessions import limits_text, new_session
from intergreen.workers import CrashSafePool

DEFAULT_ID = "t0000"


def validation_seeds(episodes: int) -> list[int]:
    """Reset seeds of the validation episodes (intergreen.seeds' validation stream, the same
    for every trial); never a training or a test seed."""
    if episodes < 1:
        raise TuneError(f"episodes={episodes}: must be >= 1")
    return episode_seeds("validation", episodes)


# ----- search spaces ----------------------------------------------------------------------------
def _max_greens(
    stages: list[str], centre: float, bounds: Mapping[str, tuple[float, float]]
) -> list[Param]:
    """A maximum green per stage, over ``bounds`` (:func:`green_bounds`; 5 to 150 s where a
    stage has none)."""
    out = []
    for s in stages:
        low, high = bounds.get(s, (5.0, 150.0))
        out.append(Param(f"max_green.{s}", LinearSpace(min=low, max=high, scale=30.0), centre))
    return out


def green_bounds(junction: str) -> dict[str, tuple[float, float]]:
    """Per action stage of ``junction``, the range a baseline's maximum green is tuned over
    (s): from the least green the stage must show before it may end (at least 5 s; a shorter
    one is refused: :func:`intergreen.junctions.stage_policy.stage_green_floor`) to the
    junction's own maximum green of the stage (``stages.S.max_green``; 150 s without), past
    which the junction ends the stage first, plus 1 s (CARBS needs the centre, 40 s by
    default, strictly inside)."""
    spec = resolve_junction(junction)
    out = {}
    for s in spec.action_stages:
        floor = stage_green_floor(spec, s)
        cap = spec.stages[s].max_green
        out[str(s)] = (
            max(5.0, floor[2] if floor else 0.0),
            min(150.0, cap + 1.0) if cap else 150.0,
        )
    return out


def search_space(
    controller: str, stages: list[str], bounds: Mapping[str, tuple[float, float]] | None = None
) -> list[Param]:
    """The CARBS parameters of a baseline (names as in :func:`params_from_values`);
    ``bounds``: each stage's maximum-green range (s, :func:`green_bounds`; 5 to 150 s where
    not given)."""
    key = baseline_key(controller)
    floors = bounds or {}
    if key == "vehicle-actuated":
        extension = Param("extension", LogSpace(min=0.2, max=10.0, scale=0.5), 1.5)
        return [*_max_greens(stages, 40.0, floors), extension]
    if key == "camera-actuated":
        return [*_max_greens(stages, 40.0, floors),
                Param("gap", LogSpace(min=0.2, max=10.0, scale=0.5), 1.5)]  # fmt: skip
    if key == "max-occupancy":
        margin = Param("margin", LinearSpace(min=0.0, max=1.0, scale=0.5), 0.2)
        return [*_max_greens(stages, 40.0, floors), margin]
    if key == "fixed-time":
        cycle = Param("cycle_factor", LogSpace(min=0.3, max=4.0, scale=0.5), 1.0)
        weights = [Param(f"split_weight.{s}", LogSpace(min=0.1, max=10.0, scale=0.5), 1.0)
                   for s in stages[1:]]  # fmt: skip
        return [cycle, *weights]
    raise TuneError(
        f"controller {controller!r} has no tunable parameters here; tune one of "
        f"{', '.join(TUNABLE)}"
    )


def params_from_values(controller: str, values: dict[str, Any], stages: list[str],
                       fixed: dict[str, Any] | None = None,
                       bounds: Mapping[str, tuple[float, float]] | None = None,
                       ) -> dict[str, Any]:  # fmt: skip
    """Keyword parameters of the baseline from a CARBS suggestion (``max_green.2`` -> the
    ``max_green`` mapping), rounded for readability, a maximum green kept within ``bounds``
    (:func:`green_bounds`: a tune begun with a wider space, resumed, may suggest outside),
    then ``fixed`` on top."""
    params: dict[str, Any] = {}
    for name, v in values.items():
        if name.startswith("max_green."):
            stage = name.split(".", 1)[1]
            low, high = (bounds or {}).get(stage, (-math.inf, math.inf))
            params.setdefault("max_green", {})[stage] = round(min(max(float(v), low), high), 1)
        elif name.startswith("split_weight."):
            weights = params.setdefault("split_weights", {stages[0]: 1.0})
            weights[name.split(".", 1)[1]] = round(float(v), 3)
        else:
            params[name] = round(float(v), 3)
    return {**params, **(fixed or {})}


# ----- configuration ----------------------------------------------------------------------------
@dataclass(frozen=True)
class BaselineTuneSpec:
    """Everything that defines a baseline tune; ``tune.json`` holds it and a re-run must match."""

    controller: str
    junction: str = "gm_a56"
    demands: tuple[str, ...] = ("low", "medium", "high")
    episodes: int = 5
    duration: float | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    def stages(self) -> list[str]:
        return [str(s) for s in resolve_junction(self.junction).action_stages]

    def seeds(self) -> list[int]:
        return validation_seeds(self.episodes)


def validate_spec(spec: BaselineTuneSpec) -> BaselineTuneSpec:
    """Check everything before any trial runs; raises TuneError or ValueError (one line)."""
    key = baseline_key(spec.controller)
    if key not in TUNABLE:
        raise TuneError(
            f"--controller {spec.controller!r}: tune one of {', '.join(TUNABLE)}"
            + (" (random has no parameters)" if key == "random" else "")
        )
    spec = replace(spec, controller=key, demands=tuple(spec.demands))
    if spec.episodes < 1 or not spec.demands:
        raise TuneError("tuning needs at least one demand and one episode per demand")
    valid = parameter_names(key)
    tuned = {p.name.split(".")[0].replace("split_weight", "split_weights")
             for p in search_space(key, spec.stages())}  # fmt: skip
    for name in spec.fixed:
        if name not in valid:
            raise TuneError(f"--param {name}: not a parameter of {key}; valid: {', '.join(valid)}")
        if name in tuned:
            raise TuneError(f"--param {name}: it is tuned; fix only others ({', '.join(valid)})")
    params_from_values(key, {}, spec.stages(), spec.fixed)
    make_baseline(key, **spec.fixed)  # bad values fail here
    for d in spec.demands:
        make_env(spec.junction, d, None, seed=0, duration=spec.duration).close()
    return spec


# ----- one trial (runs in a worker process) -----------------------------------------------------
def run_trial(spec: BaselineTuneSpec, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``params`` on every validation episode; never raises (a failure is an output)."""
    start = time.perf_counter()
    try:
        waits: dict[str, list[float]] = {}
        seeds_used = []
        simulated = 0.0
        for demand in spec.demands:
            for seed in spec.seeds():
                env = make_env(spec.junction, demand, None, seed=seed, duration=spec.duration)
                result = run_episode(env, make_baseline(spec.controller, **params), seed)
                waits.setdefault(demand, []).append(result.metrics["avg_waiting_time"])
                seeds_used.append(result.seed)
                simulated += result.metrics["simulated_s"]
        values = [w for ws in waits.values() for w in ws]
        return {
            "output": sum(values) / len(values),
            "by_demand": {d: sum(w) / len(w) for d, w in waits.items()},
            "seeds": sorted(set(seeds_used)),
            "episodes": len(values),
            "simulated_s": simulated,
            "wall_s": time.perf_counter() - start,
        }
    except Exception as e:  # noqa: BLE001 - every failure is an observation
        return {"error": f"{type(e).__name__}: {e}", "wall_s": time.perf_counter() - start}


# ----- the loop ---------------------------------------------------------------------------------
@dataclass
class BaselineTuneResult:
    """What :func:`tune_baseline` leaves: every trial, the best, the tuned file, budget used."""

    out: Path
    trials: list[dict[str, Any]]
    ran: list[str]
    tuned_file: Path | None
    wall_s: float
    #: tune.json's sessions (intergreen.tuning.sessions), this one last
    sessions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def best(self) -> dict[str, Any] | None:
        ok = [t for t in self.trials if t.get("status") == "done"]
        return min(ok, key=lambda t: t["output"]) if ok else None


def load_trials(out: Path) -> list[dict[str, Any]]:
    """The finished trials of a tune folder, by number (a cut last line is skipped)."""
    path = Path(out) / "trials.jsonl"
    trials = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                trials.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return sorted(trials, key=lambda t: t["number"])


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(doc, indent=2))


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, cwd=Path(__file__).parent, timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def tune_baseline(
    spec: BaselineTuneSpec,
    budget: str | float | Budget,
    out: str | Path,
    workers: int = 1,
    *,
    max_trials: int | None = None,
    log: Any = None,
) -> BaselineTuneResult:
    """Run (or resume) a baseline tune in ``out`` until the budget (wall clock, or a total
    cost in simulated episodes) or ``max_trials`` (all sessions together) is spent; then write
    ``tuned.json``. ``log`` (a callable taking a line) reports each trial.

    Everything is checked before ``out`` is created (a refused tune leaves no folder)."""
    budget = parse_budget(budget)
    if workers < 1:
        raise TuneError(f"workers={workers}: must be >= 1")
    if max_trials is not None and max_trials < 1:
        raise TuneError(f"max_trials={max_trials}: must be >= 1")
    out = Path(out)
    spec = validate_spec(spec)
    try:
        ensure_writable(out)
    except NotWritableError as e:
        raise TuneError(str(e)) from None
    stages = spec.stages()
    bounds = green_bounds(spec.junction)
    params = search_space(spec.controller, stages, bounds)
    tune_file, ckpt = out / "tune.json", out / "carbs.json"
    elapsed_before = 0.0
    sessions: list[dict[str, Any]] = []
    if tune_file.exists():
        doc = json.loads(tune_file.read_text())
        if doc.get("spec") != spec.to_json():
            diff = field_changes(doc.get("spec") or {}, spec.to_json())
            raise TuneError(
                f"{out} holds a tune with another configuration (recorded -> given: "
                f"{'; '.join(diff)}); use another --out or repeat its options"
            )
        elapsed_before = float(doc.get("elapsed_s", 0.0))
        sessions = list(doc.get("sessions", []))
    session = len(sessions)  # this one's index, recorded on the trials it launches
    sessions.append(new_session(budget.kind, budget.amount, max_trials))
    trials = {t["id"]: t for t in load_trials(out)}
    if ckpt.exists():
        carbs = CARBS.load(str(ckpt))
        carbs.config = replace(carbs.config, checkpoint_path=str(ckpt), resample_frequency=0)
        seen = {o["suggestion_id"] or DEFAULT_ID for o in carbs.observations}
        for t in trials.values():  # recorded, but the tune stopped before CARBS saw it
            if t["id"] not in seen:
                _observe(carbs, t)
        for sid in list(carbs.outstanding):  # suggested, never finished: ask again
            carbs.forget(sid)
    else:
        config = CARBSParams(
            better_direction_sign=-1,
            seed=spec.seed,
            num_random_samples=max(4, workers),
            resample_frequency=0,  # a trial's episodes are the same every time: no repeats
            checkpoint_path=str(ckpt),
        )
        carbs = CARBS(config, params)
        carbs.save(str(ckpt))
    if log is not None and trials:  # a re-run: what it keeps (a finished trial never reruns)
        failed = sum(t["status"] == "failed" for t in trials.values())
        ok = [t for t in trials.values() if t["status"] == "done"]
        best = min(ok, key=lambda t: t["output"]) if ok else None
        log(
            f"resuming {out}: {len(trials)} finished trial{'s' * (len(trials) != 1)} kept"
            + (f" ({failed} failed)" if failed else "")
            + (f", best so far {best['id']} {best['output']:.2f} s" if best else "")
        )
    started = time.monotonic()
    ran: list[str] = []

    def elapsed() -> float:
        return elapsed_before + time.monotonic() - started

    def spent() -> float:
        return float(sum(t.get("episodes", 0) for t in trials.values()))

    def save_meta() -> None:
        _write_json(tune_file, {"spec": spec.to_json(), "budget": asdict(budget),
                                "elapsed_s": round(elapsed(), 2), "sessions": sessions,
                                "params": [p.to_json() for p in params]})  # fmt: skip

    save_meta()
    per_trial = len(spec.demands) * spec.episodes
    running: dict[str, dict[str, Any]] = {}  # trial id -> trial

    def can_launch() -> bool:
        if max_trials is not None and len(trials) + len(running) >= max_trials:
            return False
        if budget.kind == "wall":
            return elapsed() < budget.amount
        return spent() + per_trial * (len(running) + 1) <= budget.amount

    def new_trial() -> dict[str, Any]:
        number = max([t["number"] for t in trials.values()]
                     + [t["number"] for t in running.values()], default=-1) + 1  # fmt: skip
        if number == 0:
            values = {p.name: p.center for p in params}
        else:
            s = carbs.suggest(suggestion_id=f"t{number:04d}").suggestion
            values = {k: v for k, v in s.items() if k != "suggestion_uuid"}
        return {
            "id": f"t{number:04d}",
            "number": number,
            "session": session,
            "values": values,
            "params": params_from_values(spec.controller, values, stages, spec.fixed, bounds),
        }

    def finish(t: dict[str, Any], result: dict[str, Any]) -> None:
        ok = "error" not in result and math.isfinite(result.get("output", math.nan))
        t.update(result, status="done" if ok else "failed")
        t.setdefault("episodes", per_trial)
        with open(out / "trials.jsonl", "a") as f:
            f.write(json.dumps(t) + "\n")
        _observe(carbs, t)
        trials[t["id"]] = t
        ran.append(t["id"])
        save_meta()
        if log is not None:
            what = f"{t['output']:.2f} s" if ok else f"FAILED ({t.get('error')})"
            log(f"{t['id']}: wait {what} | {json.dumps(t['params'])}")

    # one worker runs the trials in this process (libsumo allows one simulation per process,
    # and the tune runs one at a time); more run in spawned worker processes, which survive
    # a worker's death (a trial that kills its worker alone fails)
    pool = CrashSafePool(workers, start_method="spawn") if workers > 1 else None
    try:
        while True:
            while len(running) < workers and can_launch():
                t = new_trial()
                if pool is None:
                    finish(t, run_trial(spec, t["params"]))
                    continue
                pool.submit(t["id"], run_trial, spec, t["params"])
                running[t["id"]] = t
            if pool is None or not running:
                break
            for outcome in pool.wait():
                e = outcome.error
                result = outcome.result if e is None else {"error": f"{type(e).__name__}: {e}"}
                finish(running.pop(str(outcome.tag)), result)
    finally:
        if pool is not None:
            pool.close(wait=not running)
    save_meta()
    ordered = sorted(trials.values(), key=lambda t: t["number"])
    result = BaselineTuneResult(out, ordered, ran, None, elapsed(), sessions)
    if result.best is not None:
        result.tuned_file = write_tuned(spec, ordered, sessions, elapsed(), out)
    return result


def _observe(carbs: CARBS, t: dict[str, Any]) -> None:
    values = dict(t["values"])
    if t["id"] != DEFAULT_ID:
        values["suggestion_uuid"] = t["id"]
    ok = t["status"] == "done"
    carbs.observe(values, t["output"] if ok else None, float(t["episodes"]), is_failure=not ok)


def write_tuned(spec: BaselineTuneSpec, trials: list[dict[str, Any]],
                sessions: list[dict[str, Any]], wall_s: float, out: Path) -> Path:  # fmt: skip
    """Write ``out/tuned.json``: the best trial's parameters, the defaults' and the best's
    validation scores, and the budget spent (format of ``baseline_params``); its ``limit`` is
    that of the ``sessions`` (tune.json's) that launched the ``trials``
    (:func:`intergreen.tuning.sessions.limits_text`)."""
    ok = [t for t in trials if t["status"] == "done"]
    best = min(ok, key=lambda t: t["output"])
    default = next((t for t in ok if t["id"] == DEFAULT_ID), None)
    doc = {
        "format": FORMAT,
        "controller": spec.controller,
        "junction": spec.junction,
        "action_stages": spec.stages(),
        "params": best["params"],
        "default_params": default["params"] if default else None,
        "validation": {
            "seeds": spec.seeds(),
            "seed_role": "validation",
            "demands": list(spec.demands),
            "episodes_per_demand": spec.episodes,
            "duration_s": spec.duration,
            "tuned_wait_s": round(best["output"], 3),
            "default_wait_s": round(default["output"], 3) if default else None,
            "tuned_by_demand": {k: round(v, 3) for k, v in best["by_demand"].items()},
            "default_by_demand": (
                {k: round(v, 3) for k, v in default["by_demand"].items()} if default else None
            ),
            "best_trial": best["id"],
        },
        "budget": {
            "method": "CARBS (intergreen.tuning), centre = the defaults (trial t0000)",
            "limit": limits_text(sessions, trials, "episodes"),
            "trials": len(trials),
            "failed_trials": len(trials) - len(ok),
            "episodes": int(sum(t.get("episodes", 0) for t in trials)),
            "simulated_s": round(sum(t.get("simulated_s", 0.0) for t in trials), 1),
            "wall_s": round(wall_s, 1),
        },
        "tuned_with": {"command_options": spec.to_json(), "intergreen_commit": _commit()},
    }
    path = out / "tuned.json"
    _write_json(path, doc)
    return path


__all__ = [
    "BaselineTuneResult",
    "BaselineTuneSpec",
    "params_from_values",
    "run_trial",
    "search_space",
    "tune_baseline",
    "validation_seeds",
    "write_tuned",
]
