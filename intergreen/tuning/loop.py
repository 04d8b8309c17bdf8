"""The tuning loop behind ``intergreen tune``: CARBS over an agent's hyperparameters.

Each trial trains one agent (``n_envs=1``, one torch thread) in a worker process and
evaluates it on the validation seed stream (intergreen.seeds: tuning is a selection; the test
stream serves reports only, and a spec that asks for it is refused); the output is the mean
average waiting time (s, minimised) and the cost is the training env steps (default) or the
training seconds. The out folder holds:

- ``tune.json``: the tune's configuration (a re-run must match it), the wall time used and
  each session's limits (:mod:`intergreen.tuning.sessions`);
- ``carbs.json``: the CARBS checkpoint, written atomically on every suggest and observe;
- ``trials/<id>/``: each trial's run folder (``train``'s files) and its ``trial.json``;
- ``tuned.json``: the best trial's hyperparameters, its decisions and what chose them, for a
  grid's ``tuned:`` agent (:mod:`intergreen.agents.tuned_params`);
- ``report.md`` / ``report.png``: see :mod:`intergreen.tuning.report`.

A trial starts while the budget is not spent (a cost budget counts the running trials'
planned decisions) and trains to its end, so the last trials may overshoot it; the report and
the command say by how much. Trial records, the line printed per trial and the report give
what trained (:mod:`intergreen.tuning.trials`: PPO's minibatch as a divisor of ``n_steps``,
decisions in whole collections) beside CARBS's suggestion.

Re-running the same tune resumes: finished trials are never repeated, trials that were running
are continued from their training checkpoints, and the budget counts what was already spent. A
re-run's ``--budget`` and ``--max-trials`` decide the trials it launches; ``tuned.json`` states
the limits under which its trials were launched, session by session.
Trial ``t0000`` trains the centre (the preset's defaults) as a reference.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from intergreen.common import (
    NotWritableError,
    atomic_write,
    ensure_writable,
    field_changes,
    parse_duration,
    progress_bar,
)
from intergreen.errors import IntergreenError
from intergreen.tuning.agent_spaces import (
    DEFAULT_TIMESTEPS,
    TIMESTEPS,
    centre,
    hyperparams_from_suggestion,
    search_space,
    suggestion_from_hyperparams,
)
from intergreen.tuning.sessions import limits_text, new_session
from intergreen.tuning.trials import DEFAULT_ID, load_trials, trained_values, values_text
from intergreen.workers import CrashSafePool, WorkerDied

COSTS = ("steps", "seconds")
#: The only seed stream trials are scored on (intergreen.seeds' roles: a selection never sees
#: the test episodes, and training episodes would score what was learnt by heart).
EVAL_SEEDS = "validation"
#: Distance between the training seeds of one trial (trial seeds are ``seed + number``).
SEED_STRIDE = 100_000
#: How often a running tune records its elapsed wall time (s), so that a killed one loses little.
META_SAVE_S = 30.0


class TuneError(IntergreenError, ValueError):
    """A problem with the tune's input or out folder that the user can fix."""


# ----- budget -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Budget:
    """``kind='wall'``: seconds of wall-clock time; ``kind='cost'``: total cost (steps or s)."""

    kind: str
    amount: float

    def describe(self, used: float) -> str:
        if self.kind == "wall":
            return f"{_hms(used)}/{_hms(self.amount)}"
        return f"{used:,.0f}/{self.amount:,.0f}"


def parse_budget(text: str | float | Budget, baseline: bool = False) -> Budget:
    """``'4h'``, ``'30m'``, ``'90s'``, ``'1h30m'``: wall clock; a plain number: total cost
    (``baseline``: a baseline tune's, in simulated episodes, which the message then names)."""
    if isinstance(text, Budget):
        return text
    s = str(text).strip().lower().replace("_", "")
    secs = parse_duration(s)
    if secs is not None:
        if secs > 0:
            return Budget("wall", secs)
    else:
        try:
            amount = float(s)
        except ValueError:
            amount = math.nan
        if math.isfinite(amount) and amount > 0:
            return Budget("cost", amount)
    cost = (
        "a number of simulated episodes > 0 like 300 (a baseline tune's cost)"
        if baseline
        else "a total cost > 0 like 2000000 (env steps with --cost steps, seconds with --cost "
        "seconds)"
    )
    raise TuneError(f"budget {text!r}: use a wall-clock time like 4h, 30m, 90s or 1h30m, or {cost}")


def _hms(secs: float) -> str:
    secs = int(round(secs))
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}"


def check_eval_seeds(role: str, option: str = "--eval-seeds") -> str:
    """``role`` if it is the validation stream, the only one tune trials are scored on.

    Raises:
        TuneError: ``test`` or ``train`` (a seed stream, but not one a selection may use) or
            an unknown stream; the message names ``option`` and the fix.
    """
    from intergreen.seeds import ROLES

    if role == EVAL_SEEDS:
        return role
    if role in ROLES:
        why = "they serve reports only" if role == "test" else "agents train on them"
        raise TuneError(
            f"{option} {role!r}: tuning selects settings, so it scores trials on the "
            f"{EVAL_SEEDS} seeds, never on {role} seeds ({why}); use {option} {EVAL_SEEDS}, "
            "the default"
        )
    raise TuneError(
        f"{option} {role!r}: not a seed stream; tune trials are scored on the {EVAL_SEEDS} "
        f"seeds: use {option} {EVAL_SEEDS}, the default"
    )


# ----- configuration ------------------------------------------------------------------------
@dataclass(frozen=True)
class TuneSpec:
    """Everything that defines a tune; ``tune.json`` holds it and a re-run must match it."""

    agent: str
    #: A reward name or ``{"name": ..., **params}`` (``tune --reward``'s JSON).
    reward: str | dict[str, Any] = "average_speed"
    junction: str = "gm_a56"
    train_demand: str | list[str] = "mixed"
    eval_demands: tuple[str, ...] = ("medium",)
    eval_episodes: int = 3
    eval_duration: float | None = None
    cost: str = "steps"
    preset: str | None = None
    hyperparams: dict[str, Any] = field(default_factory=dict)
    params: tuple[str, ...] | None = None
    timesteps: tuple[int, int, int] = DEFAULT_TIMESTEPS
    seed: int = 0
    #: Agents trained per trial (seeds ``seed + k * SEED_STRIDE``); the output is the mean over
    #: all of their evaluation episodes, so settings that fail on one seed score badly.
    train_seeds: int = 1
    checkpoint_every: int = 20_000
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    #: The seed stream trials are scored on; only "validation" (a selection never sees test).
    eval_seeds: str = "validation"

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))

    def base_hyperparams(self) -> dict[str, Any]:
        from intergreen.agents.config import resolve_hyperparameters

        return resolve_hyperparameters(self.agent, self.preset, self.hyperparams)

    def search_params(self):
        return search_space(self.agent, self.base_hyperparams(), self.timesteps, self.params)

    def planned_timesteps(self, hyperparams: dict[str, Any], asked: int) -> int:
        """The decisions one agent of a trial trains when CARBS asks for ``asked``: whole
        collections (PPO: rollouts of ``n_steps``), rounded up, or down where rounding up
        would pass the tune's maximum (``--max-timesteps``); never less than one collection."""
        from intergreen.agents.config import collection_unit, planned_timesteps

        unit = collection_unit(self.agent, hyperparams, 1)
        plan = planned_timesteps(0, asked, unit)
        top = int(self.timesteps[2])
        if unit is not None and plan > top:
            plan = max(unit, top // unit * unit)
        return plan


def validate_spec(spec: TuneSpec) -> TuneSpec:
    """Check the spec before any worker starts (unknown agent, reward, demand, ...)."""
    from intergreen.agents.config import AGENTS

    agent = spec.agent.lower()
    if agent not in AGENTS:
        raise TuneError(f"unknown agent {spec.agent!r}; use one of {', '.join(AGENTS)}")
    spec = replace(spec, agent=agent, eval_demands=tuple(spec.eval_demands))
    if spec.cost not in COSTS:
        raise TuneError(f"cost {spec.cost!r}: use one of {', '.join(COSTS)}")
    if spec.eval_episodes < 1 or not spec.eval_demands:
        raise TuneError("evaluation needs at least one demand and one episode")
    if spec.train_seeds < 1:
        raise TuneError(f"train_seeds={spec.train_seeds}: must be >= 1 (agents per trial)")
    check_eval_seeds(spec.eval_seeds)
    spec.search_params()  # bad preset, hyperparameter, tuned name or timesteps range
    _check_learning_starts(spec)
    from intergreen.junctions.env import make_env

    make_env(spec.junction, spec.train_demand, spec.reward, seed=0, **spec.env_kwargs).close()
    for d in spec.eval_demands:
        make_env(spec.junction, d, None, seed=0, **spec.env_kwargs).close()
    return spec


def _check_learning_starts(spec: TuneSpec) -> None:
    """Refuse a DQN tune none of whose trials would make a gradient step (every trial's
    training at most ``learning_starts`` decisions: each would score an untrained network);
    note one whose shortest trials would not.

    Raises:
        TuneError: naming the options and the fix.
    """
    from intergreen.agents.config import first_learning_step, stays_untrained

    hp = spec.base_hyperparams()
    starts = first_learning_step(spec.agent, hp)
    centre, lo, hi = (int(t) for t in spec.timesteps)
    if stays_untrained(spec.agent, hp, hi):
        raise TuneError(
            f"--max-timesteps {hi:,}: DQN makes its first gradient step after learning_starts "
            f"{starts:,} decisions, so no trial would learn; give --max-timesteps (and "
            f"--timesteps) above {starts:,}, or --hp learning_starts=N below {lo:,}"
        )
    if stays_untrained(spec.agent, hp, lo):
        from rich.console import Console

        Console(stderr=True, highlight=False).print(
            f"note: trials of fewer than learning_starts {starts:,} decisions (--min-timesteps "
            f"{lo:,}) make no gradient step: they score an untrained network",
            markup=False,
            soft_wrap=True,
        )


# ----- one trial (runs in a worker process) -------------------------------------------------
def trial_runs(spec: TuneSpec, run_dir: str, seed: int) -> list[tuple[str, int]]:
    """(run folder, training seed) of each agent a trial trains."""
    if spec.train_seeds == 1:
        return [(run_dir, seed)]
    seeds = [seed + k * SEED_STRIDE for k in range(spec.train_seeds)]
    return [(str(Path(run_dir) / f"seed_{s}"), s) for s in seeds]


def run_trial(spec: TuneSpec, trial_id: str, values: dict[str, Any], run_dir: str,
              seed: int) -> dict[str, Any]:  # fmt: skip
    """Train ``spec.train_seeds`` agents and evaluate them; returns output and cost.

    The output is the mean average waiting time (s) over every evaluation episode of every
    agent; ``timesteps`` and ``train_s`` add up over the agents. Never raises: an exception
    becomes ``{"error": ...}`` so the tuner records a failure.
    """
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()
    start = time.perf_counter()
    try:
        from intergreen.agents.evaluation import evaluate, evaluation_seeds
        from intergreen.agents.training import TrainingNote, train

        hp, asked = hyperparams_from_suggestion(spec.agent, values, spec.base_hyperparams())
        timesteps = spec.planned_timesteps(hp, asked)
        runs = trial_runs(spec, run_dir, seed)
        done = []
        for folder, train_seed in runs:
            with warnings.catch_warnings():  # the tune said them before its trials
                warnings.simplefilter("ignore", TrainingNote)
                train(
                    spec.agent, spec.junction, spec.train_demand, spec.reward, timesteps,
                    train_seed, hp, n_envs=1, run_dir=folder, preset=spec.preset,
                    checkpoint_every=spec.checkpoint_every, env_kwargs=spec.env_kwargs,
                    resume=True,
                )  # fmt: skip
            done.append(json.loads((Path(folder) / "done.json").read_text()))
        # never the test stream: validate_spec refuses any other role than validation
        seeds = evaluation_seeds(spec.eval_episodes, role=spec.eval_seeds)
        df = evaluate(
            [folder for folder, _ in runs], spec.junction, list(spec.eval_demands),
            seeds=seeds, duration=spec.eval_duration, workers=1,
        )  # fmt: skip
        by_demand = df.groupby("demand")["avg_waiting_time"].mean()
        result = {
            "output": float(df["avg_waiting_time"].mean()),
            "eval_seed_role": spec.eval_seeds,
            "eval_seeds": [int(s) for s in df["seed"].unique()],
            "by_demand": {str(k): float(v) for k, v in by_demand.items()},
            "timesteps": sum(int(d["timesteps"]) for d in done),
            "train_s": sum(float(d["wall_s"]) for d in done),
            "wall_s": time.perf_counter() - start,
        }
        if len(runs) > 1:
            per_seed = df.groupby("controller", sort=False)["avg_waiting_time"].mean()
            result["by_seed"] = [float(v) for v in per_seed]
        return result
    except Exception as e:  # noqa: BLE001 - every failure is an observation
        return {
            "error": f"{type(e).__name__}: {e}",
            "traceback": traceback.format_exc(limit=8),
            "wall_s": time.perf_counter() - start,
        }


TrialFn = Callable[[TuneSpec, str, dict[str, Any], str, int], dict[str, Any]]


# ----- results ------------------------------------------------------------------------------
@dataclass
class TuneResult:
    """What a call to :func:`tune` leaves behind."""

    out: Path
    trials: list[dict[str, Any]]
    ran: list[str]
    budget_used: float
    report: Path | None
    #: tune.json's ``sessions`` (this one last): the limits each run of the command had.
    sessions: list[dict[str, Any]] = field(default_factory=list)
    #: Wall clock of every session together (s).
    wall_s: float = 0.0

    @property
    def best(self) -> dict[str, Any] | None:
        ok = [t for t in self.trials if t.get("status") == "done"]
        return min(ok, key=lambda t: t["output"]) if ok else None


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(doc, indent=2))


# ----- the loop -----------------------------------------------------------------------------
class _Session:
    """State of one tune invocation over an out folder."""

    def __init__(self, spec: TuneSpec, budget: Budget, out: Path, workers: int,
                 carbs_overrides: dict[str, Any] | None, default_trial: bool,
                 max_trials: int | None) -> None:  # fmt: skip
        from intergreen.tuning import CARBS, CARBSParams

        self.spec, self.budget, self.out, self.workers = spec, budget, out, workers
        self.params = spec.search_params()
        tune_file, ckpt = out / "tune.json", out / "carbs.json"
        self.elapsed_before = 0.0
        self.sessions: list[dict[str, Any]] = []
        if tune_file.exists():
            doc = json.loads(tune_file.read_text())
            # fields added since the tune was written take their defaults (e.g. train_seeds = 1)
            saved = {**TuneSpec(agent=spec.agent).to_json(), **doc.get("spec", {})}
            if saved != spec.to_json():
                diff = field_changes(saved, spec.to_json())
                raise TuneError(
                    f"{out} holds a tune with another configuration (recorded -> given: "
                    f"{'; '.join(diff)}); use another --out or repeat its options"
                )
            self.elapsed_before = float(doc.get("elapsed_s", 0.0))
            self.sessions = list(doc.get("sessions", []))
        self.session = len(self.sessions)  # this one's index, recorded on the trials it launches
        self.sessions.append(new_session(budget.kind, budget.amount, max_trials))
        if ckpt.exists():
            self.carbs = CARBS.load(str(ckpt))
            self.carbs.config = replace(self.carbs.config, checkpoint_path=str(ckpt))
        else:
            cfg = {
                "better_direction_sign": -1,
                "seed": spec.seed,
                "num_random_samples": max(4, workers),
                "checkpoint_path": str(ckpt),
                **(carbs_overrides or {}),
            }
            self.carbs = CARBS(CARBSParams(**cfg), self.params)
            self.carbs.save(str(ckpt))
        self.started = time.monotonic()
        self.trials = {t["id"]: t for t in load_trials(out)}
        self.default_trial = default_trial
        self.ran: list[str] = []
        self._save_meta()

    # --- bookkeeping
    def _save_meta(self) -> None:
        self.saved_at = time.monotonic()
        _write_json(self.out / "tune.json", {
            "spec": self.spec.to_json(),
            "budget": asdict(self.budget),
            "elapsed_s": round(self.elapsed(), 2),
            "sessions": self.sessions,
            "params": [p.to_json() for p in self.params],
        })  # fmt: skip

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def spent_cost(self) -> float:
        return sum(t.get("cost", 0.0) for t in self.trials.values() if "cost" in t)

    def used(self) -> float:
        return self.elapsed() if self.budget.kind == "wall" else self.spent_cost()

    def _observed_ids(self) -> set[str]:
        obs = self.carbs.observations
        ids = {o["suggestion_id"] for o in obs if o["suggestion_id"] is not None}
        if any(o["suggestion_id"] is None for o in obs):
            ids.add(DEFAULT_ID)
        return ids

    def next_number(self) -> int:
        return max((t["number"] for t in self.trials.values()), default=0) + 1

    def best(self) -> float | None:
        ok = [t["output"] for t in self.trials.values() if t.get("status") == "done"]
        return min(ok) if ok else None

    def pending_cost(self, running: list[dict[str, Any]]) -> float:
        pending_steps = float(sum(_planned(t, self.spec.train_seeds) for t in running))
        if self.spec.cost == "steps":
            return pending_steps
        done = [t for t in self.trials.values() if t.get("status") == "done"]
        done_steps = sum(t["timesteps"] for t in done)
        seconds_per_step = sum(t["cost"] for t in done) / done_steps if done_steps else 0.0
        return seconds_per_step * pending_steps

    # --- trials
    def recover(self) -> list[dict[str, Any]]:
        """Observe finished-but-unobserved trials; return the trials to relaunch."""
        observed = self._observed_ids()
        relaunch = []
        for tid, t in sorted(self.trials.items()):
            if t["status"] in ("done", "failed") and tid not in observed:
                self._observe(t)
            elif t["status"] == "running":
                if tid in self.carbs.outstanding or tid == DEFAULT_ID:
                    relaunch.append(t)
                else:  # pragma: no cover - observed but the record was cut short
                    t["status"] = "lost"
        for sid in list(self.carbs.outstanding):
            if sid not in self.trials:  # suggested, but its record was never written
                self.carbs.forget(sid)
        return relaunch

    def new_trial(self) -> dict[str, Any]:
        if self.default_trial and not self.trials:
            tid, number, values = DEFAULT_ID, 0, centre(self.params)
        else:
            number = self.next_number()
            tid = f"t{number:04d}"
            s = self.carbs.suggest(suggestion_id=tid)
            values = {k: v for k, v in s.suggestion.items() if k != "suggestion_uuid"}
        agent = self.spec.agent
        hp, steps = hyperparams_from_suggestion(agent, values, self.spec.base_hyperparams())
        plan = self.spec.planned_timesteps(hp, steps)  # whole collections, within the maximum
        t = {
            "id": tid, "number": number, "session": self.session, "status": "running",
            "default": tid == DEFAULT_ID, "values": values, "hyperparams": hp,
            "seed": self.spec.seed + number,
            "started": time.time(), "planned_timesteps": plan * self.spec.train_seeds,
            "trained": suggestion_from_hyperparams(agent, hp, plan, self.params),
        }  # fmt: skip
        self.trials[tid] = t
        self._write_trial(t)
        return t

    def _write_trial(self, t: dict[str, Any]) -> None:
        _write_json(self.out / "trials" / t["id"] / "trial.json", t)

    def finish(self, t: dict[str, Any], result: dict[str, Any]) -> None:
        t.update({k: v for k, v in result.items() if k != "traceback"})
        out = result.get("output")
        ok = "error" not in result and out is not None and math.isfinite(out)
        if "error" not in result and not ok:
            t["error"] = f"non-finite output {out!r}"
        if result.get("timesteps") and "trained" in t:  # every agent trains the same plan
            t["trained"][TIMESTEPS] = int(result["timesteps"]) // self.spec.train_seeds
        if self.spec.cost == "steps":
            cost = result.get("timesteps") or t["values"][TIMESTEPS]
        else:
            cost = result.get("train_s") or result.get("wall_s") or 1.0
        t["cost"] = max(float(cost), 1e-3)
        t["status"] = "done" if ok else "failed"
        t["finished"] = time.time()
        if not ok:
            t["output"] = None
        if "traceback" in result:
            (self.out / "trials" / t["id"]).mkdir(parents=True, exist_ok=True)
            (self.out / "trials" / t["id"] / "error.txt").write_text(result["traceback"])
        self._write_trial(t)
        self._observe(t)
        self.ran.append(t["id"])
        self._save_meta()

    def _observe(self, t: dict[str, Any]) -> None:
        values = dict(t["values"])
        if t["id"] != DEFAULT_ID:
            values["suggestion_uuid"] = t["id"]
        failed = t["status"] != "done"
        self.carbs.observe(values, None if failed else t["output"], t["cost"], is_failure=failed)


def _planned(t: dict[str, Any], train_seeds: int) -> int:
    """A trial's planned decisions over its agents (its suggestion where not recorded)."""
    return int(t.get("planned_timesteps") or t["values"][TIMESTEPS] * train_seeds)


def tune(
    spec: TuneSpec,
    budget: str | float | Budget,
    out: str | Path,
    workers: int = 2,
    *,
    max_trials: int | None = None,
    progress: bool = True,
    trial_fn: TrialFn = run_trial,
    carbs_params: dict[str, Any] | None = None,
    default_trial: bool = True,
    report: bool = True,
    validate: bool = True,
) -> TuneResult:
    """Run (or resume) a tune in ``out`` until the budget or ``max_trials`` is spent.

    ``budget``: wall clock (``'4h'``) or total cost; ``max_trials`` counts every trial of the
    out folder, earlier sessions included. ``trial_fn`` (a picklable function with the
    signature of :func:`run_trial`) replaces the agent training, e.g. for synthetic objectives.
    """
    budget = parse_budget(budget)
    if workers < 1:
        raise TuneError(f"workers={workers}: must be >= 1")
    if max_trials is not None and max_trials < 1:
        raise TuneError(f"max_trials={max_trials}: must be >= 1")
    out = Path(out)
    spec = validate_spec(spec) if validate else spec
    _check_writable(out)  # after every check: a refused tune leaves no folder
    s = _Session(spec, budget, out, workers, carbs_params, default_trial, max_trials)
    queue = s.recover()
    bar = _Bar(progress, budget)
    running: dict[str, dict[str, Any]] = {}  # trial id -> trial
    pool = CrashSafePool(workers, start_method="spawn")

    def can_launch() -> bool:
        if queue:
            return True
        if max_trials is not None and len(s.trials) >= max_trials:
            return False
        if budget.kind == "wall":
            return s.elapsed() < budget.amount
        return s.spent_cost() + s.pending_cost(list(running.values())) < budget.amount

    def submit(t: dict[str, Any]) -> None:
        run_dir = str(out / "trials" / t["id"])
        pool.submit(t["id"], trial_fn, spec, t["id"], t["values"], run_dir, t["seed"])
        running[t["id"]] = t

    try:
        with bar:
            bar.resuming(s, queue)
            while True:
                while len(running) < workers and can_launch():
                    submit(queue.pop(0) if queue else s.new_trial())
                bar.update(s)
                if not running:
                    break
                finished = pool.wait(timeout=1.0)  # a dead worker's trials run again, alone
                if time.monotonic() - s.saved_at > META_SAVE_S:  # a killed tune loses little
                    s._save_meta()
                for outcome in finished:
                    t = running.pop(str(outcome.tag))
                    if isinstance(outcome.error, WorkerDied):
                        result = {"error": f"worker process died ({outcome.error})", "wall_s": 0.0}
                    elif outcome.error is not None:  # e.g. an unpicklable result
                        e = outcome.error
                        result = {"error": f"{type(e).__name__}: {e}", "wall_s": 0.0}
                    else:
                        result = outcome.result
                    s.finish(t, result)
                    bar.trial(s, t)
    finally:
        pool.close(wait=not running)
        s._save_meta()
    trials = load_trials(out)
    _write_tuned(spec, trials, s.sessions, s.elapsed(), out)
    report_path = None
    if report:
        from intergreen.tuning.report import write_report

        report_path = write_report(out)
    return TuneResult(out, trials, s.ran, s.used(), report_path, s.sessions, s.elapsed())


def _write_tuned(spec: TuneSpec, trials: list[dict[str, Any]], sessions: list[dict[str, Any]],
                 wall_s: float, out: Path) -> None:  # fmt: skip
    """``out/tuned.json`` (intergreen.agents.tuned_params) for the best trial so far; its
    limit is that of the ``sessions`` that launched the ``trials``."""
    from intergreen.agents.tuned_params import write_agent_tuned

    ok = [t for t in trials if t.get("status") == "done"]
    if not ok:
        return
    best = min(ok, key=lambda t: t["output"])
    # decisions per agent as trained (the trial record's, set from its runs' done.json)
    trained, asked = int(trained_values(best)[TIMESTEPS]), int(best["values"][TIMESTEPS])
    used = {"limit": limits_text(sessions, trials, spec.cost), "wall_s": round(wall_s, 1)}
    write_agent_tuned(out, spec.to_json(), trials, trained, spec.base_hyperparams(), used,
                      SEED_STRIDE, DEFAULT_ID, suggested_timesteps=asked)  # fmt: skip


def _check_writable(out: Path) -> None:
    try:
        ensure_writable(out)
    except NotWritableError as e:
        raise TuneError(str(e)) from None


def trained_so_far(folder: Path) -> int:
    """Decisions a running trial has trained: the last ``step`` of each of its runs'
    ``metrics.csv`` (one row per finished training episode), summed; 0 before the first."""
    total = 0
    for path in sorted(folder.rglob("metrics.csv")):
        with contextlib.suppress(OSError, ValueError, IndexError):
            last = path.read_text().strip().splitlines()[-1]
            total += int(last.split(",", 1)[0]) if not last.startswith("step") else 0
    return total


def running_trial_text(folder: Path, trial: dict[str, Any]) -> str:
    """``'12,345/50,000 decisions'`` for a running trial (trained so far / planned; equal
    while its agents are evaluated), ``'12,345 decisions'`` for a trial without a plan."""
    trained = trained_so_far(folder)
    planned = trial.get("planned_timesteps")
    return f"{trained:,}/{planned:,} decisions" if planned else f"{trained:,} decisions"


class _Bar:
    """Progress bar (trials done, best so far, budget used) and one log line per trial."""

    def __init__(self, enabled: bool, budget: Budget) -> None:
        self.enabled, self.budget = enabled, budget
        unit = "s of budget" if budget.kind == "wall" else "of the budget's cost"
        self.progress = progress_bar("tune", unit, info=True, enabled=enabled, transient=False)
        self.task = self.progress.add_task("tune", total=budget.amount, info="")

    def __enter__(self) -> _Bar:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def update(self, s: _Session) -> None:
        used = s.used()
        done = sum(t["status"] in ("done", "failed") for t in s.trials.values())
        best = s.best()
        running = [t for t in s.trials.values() if t["status"] == "running"]
        info = (
            f"trials {done} (+{len(running)} running)"
            f" | best {'-' if best is None else f'{best:.2f} s'}"
            f" | budget {self.budget.describe(used)}"
        )
        if self.progress.disable:  # reading the trials' logs only for a visible bar
            return self.progress.update(self.task, completed=min(used, self.budget.amount))
        for t in running:  # inside a trial: the decisions its agents have trained so far
            info += f" | {t['id']} {running_trial_text(s.out / 'trials' / t['id'], t)}"
        self.progress.update(self.task, completed=min(used, self.budget.amount), info=info)

    def resuming(self, s: _Session, relaunch: list[dict[str, Any]]) -> None:
        """At the start of a re-run: the trials kept from earlier sessions (never run again),
        the best of them, and the interrupted ones that run again from their checkpoints."""
        kept = [t for t in s.trials.values() if t["status"] in ("done", "failed")]
        if not self.enabled or not (kept or relaunch):
            return
        failed = sum(t["status"] == "failed" for t in kept)
        ok = [t for t in kept if t["status"] == "done"]
        best = min(ok, key=lambda t: t["output"]) if ok else None
        text = f"resuming {s.out}: {len(kept)} finished trial{'s' * (len(kept) != 1)} kept"
        text += f" ({failed} failed)" if failed else ""
        text += f", best so far {best['id']} {best['output']:.2f} s" if best else ""
        if relaunch:
            ids = ", ".join(t["id"] for t in relaunch)
            text += f"; interrupted, run again from their newest checkpoints: {ids}"
        self.progress.console.print(text, highlight=False, soft_wrap=True)

    def trial(self, s: _Session, t: dict[str, Any]) -> None:
        self.update(s)
        if not self.enabled:
            return
        what = f"{t['output']:.2f} s" if t["status"] == "done" else f"FAILED ({t.get('error')})"
        self.progress.console.print(  # one line however long (a pipe is 80 columns wide)
            f"{t['id']}: wait {what}, cost {t['cost']:,.0f} | {values_text(t)}",
            highlight=False, soft_wrap=True,
        )  # fmt: skip


__all__ = [
    "Budget",
    "TuneError",
    "TuneResult",
    "TuneSpec",
    "load_trials",
    "parse_budget",
    "run_trial",
    "tune",
]
