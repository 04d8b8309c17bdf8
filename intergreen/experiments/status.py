"""Where a batch stands, read from its results folder without running or locking anything.

A batch of many runs (the reward study's rerun: tens of runs of an hour each, resumed over
days) is followed with ``intergreen status OUT``: each task of the grid the batch recorded
(``grid.json``) is complete, trained with its evaluations to come, training (its newest
checkpoint's decision), waiting, or failed (``error.json``); runs copied from another batch
(``reused.json``) are counted; the ``more_seeds`` decision is waiting (with the most runs it
can add) or made; and the training
still to do is given in decisions and, at the median rate of the runs the running compare
has trained since it started (else of every run this batch trained; ``done.json``'s
``steps_per_s``), in hours of one worker: a batch resumed on another machine, or beside other
work, runs at that machine's rate, not at the rate its earlier runs had.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from intergreen.common import read_json
from intergreen.errors import IntergreenError
from intergreen.experiments.grid import REWARD_MODULES, GridError, load_grid
from intergreen.experiments.provenance import REUSED, counted
from intergreen.experiments.runner import (
    LOCK_FILE,
    Task,
    decide_seeds,
    describe_holder,
    holder_alive,
    lock_holder,
    plan_tasks,
    task_complete,
)

COMPLETE, TRAINED, TRAINING, WAITING, FAILED = (
    "complete", "trained", "training", "waiting", "failed"
)  # fmt: skip


class StatusError(IntergreenError, ValueError):
    """A folder that holds no batch (no readable grid.json)."""


@dataclass
class TaskStatus:
    """One task of the batch: its state, and for a run its decisions so far (newest
    checkpoint, or all of them once trained) of its budget."""

    name: str
    kind: str  # "run" or "baseline"
    state: str  # COMPLETE, TRAINED (evaluations to come), TRAINING, WAITING or FAILED
    step: int = 0
    timesteps: int = 0
    reused: bool = False
    error: str = ""
    #: decisions per second its training ran at (done.json), once trained
    rate: float | None = None
    #: when it finished training (done.json's modification time, s since the epoch)
    trained_at: float | None = None


def resume_command(out: Path, modules: list[str]) -> str:
    """The command that continues the batch in ``out``: compare on its recorded grid.json
    (the grid as run, ``--set`` values included), with the reward modules it loaded."""
    import shlex

    mods = "".join(f" --reward-module {shlex.quote(m)}" for m in modules)
    folder = shlex.quote(str(out))
    return f"intergreen{mods} compare {shlex.quote(str(out / 'grid.json'))} --out {folder}"


@dataclass
class BatchStatus:
    """Every task's status, the ``more_seeds`` decision and the training still to do."""

    out: Path
    grid_name: str
    tasks: list[TaskStatus] = field(default_factory=list)
    #: "decided", "waiting", or None for a grid without ``more_seeds``
    seed_extension: str | None = None
    #: while the ``more_seeds`` decision waits: the most runs it can add (every reward within
    #: the margin) and their training decisions, not counted in ``tasks``
    more_runs_at_most: int = 0
    more_decisions_at_most: int = 0
    #: median decisions per second of the runs the running compare trained since it took
    #: the folder, else of every run this batch trained itself (None: none yet)
    rate: float | None = None
    #: whose rate it is ("the runs this batch trained", ...), as the status line says it
    rate_source: str = ""
    #: whether a compare is running on the folder now: True, False, or None (cannot tell:
    #: its lock names another host); ``holder`` describes it (pid, host, start)
    running: bool | None = False
    holder: str = ""
    #: the user reward modules the batch's process had loaded (grid.json)
    modules: list[str] = field(default_factory=list)

    def count(self, state: str, kind: str | None = None) -> int:
        return sum(t.state == state and kind in (None, t.kind) for t in self.tasks)

    @property
    def remaining_decisions(self) -> int:
        """Training decisions the planned runs still have to make."""
        return sum(max(t.timesteps - t.step, 0) for t in self.tasks if t.kind == "run")


def _run_state(task: Task) -> TaskStatus:
    folder, cell = task.folder, task.cell
    assert cell is not None
    status = TaskStatus(task.name, "run", WAITING, timesteps=int(cell.timesteps))
    status.reused = (folder / REUSED).exists()
    done = _read(folder / "done.json")
    if done is not None:
        status.step = int(done.get("timesteps", cell.timesteps))
        status.rate = float(done["steps_per_s"]) if done.get("steps_per_s") else None
        status.trained_at = (folder / "done.json").stat().st_mtime
        status.state = COMPLETE if task_complete(task) else TRAINED
    elif (folder / "checkpoints" / "latest.json").exists():
        latest = _read(folder / "checkpoints" / "latest.json") or {}
        status.step, status.state = int(latest.get("step", 0)), TRAINING
    elif (folder / "config.json").exists():
        status.state = TRAINING  # started, no checkpoint yet (step stays 0)
    return _failed(status, folder)


def _failed(status: TaskStatus, folder: Path) -> TaskStatus:
    error = _read(folder / "error.json")
    if error is not None and status.state != COMPLETE:
        status.state = FAILED
        status.error = f"{error.get('type', 'Error')}: {error.get('message', '')}".strip()
    return status


def _read(path: Path) -> dict | None:
    payload = read_json(path)
    return payload if isinstance(payload, dict) else None


def batch_status(out: str | Path) -> BatchStatus:
    """The status of the batch in ``out`` (a ``compare --out`` folder), from its files only.

    Raises:
        StatusError: ``out`` has no readable grid.json (not a results folder, or a batch
            that never started), or the grid it records no longer loads here.
    """
    out = Path(out)
    if not out.is_dir():
        raise StatusError(
            f"{out}: no such folder; give the --out folder of an intergreen compare"
            if not out.exists()
            else f"{out}: a file, not a results folder; give the --out folder of an intergreen "
            "compare"
        )
    raw = _read(out / "grid.json")
    if raw is None:
        raise StatusError(
            f"{out}: no grid.json; give the --out folder of an intergreen compare that has started"
        )
    try:
        grid = load_grid(raw)
    except GridError as e:  # an unknown reward's message names the modules recorded
        raise StatusError(f"{out}/grid.json no longer loads here: {e}") from None
    status = BatchStatus(out, grid.name)
    status.modules = [str(m) for m in raw.get(REWARD_MODULES) or []]
    holder = lock_holder(out)
    if holder is not None:
        status.running, status.holder = holder_alive(out, holder), describe_holder(holder)
    for task in plan_tasks(grid, out):
        if task.kind == "run":
            status.tasks.append(_run_state(task))
        else:
            state = COMPLETE if task_complete(task) else WAITING
            status.tasks.append(_failed(TaskStatus(task.name, "baseline", state), task.folder))
    decision = decide_seeds(grid, out)
    status.seed_extension = None if decision is None else decision.status
    if decision is not None and decision.status == "waiting" and grid.more_seeds is not None:
        # each first-phase cell (reward, agent, training demand) may train on every added seed
        share = len(grid.more_seeds.seeds) / len(grid.seeds)
        runs = [t for t in status.tasks if t.kind == "run"]
        status.more_runs_at_most = round(len(runs) * share)
        status.more_decisions_at_most = round(sum(t.timesteps for t in runs) * share)
    status.rate, status.rate_source = _training_rate(status, out)
    return status


def _training_rate(status: BatchStatus, out: Path) -> tuple[float | None, str]:
    """The median training rate (decisions/s) to count the training left at, and whose it is:
    the runs the running compare has trained since it took the folder (its lock file's
    time), as they show this machine's rate now; else every run this batch trained; else
    the reused runs (trained elsewhere)."""
    trained = [t for t in status.tasks if t.rate is not None]
    try:
        since = (out / LOCK_FILE).stat().st_mtime if status.running else None
    except OSError:  # the compare ended meanwhile
        since = None
    if since is not None:
        recent = [t.rate for t in trained if not t.reused and (t.trained_at or 0) >= since]
        if recent:
            return statistics.median(recent), (
                f"the {counted(len(recent), 'run')} trained since this compare started"
            )
    for reused, source in ((False, "the runs this batch trained"), (True, "the reused runs")):
        rates = [t.rate for t in trained if t.reused == reused]
        if rates:
            return statistics.median(rates), source
    return None, ""


def _hours(seconds: float) -> str:
    """A duration as hours ("3.2 h"), or minutes below six of them ("4.5 min", never 0)."""
    return f"{seconds / 3600:.1f} h" if seconds >= 360 else f"{max(seconds / 60, 0.1):.1f} min"


def status_lines(status: BatchStatus) -> list[str]:
    """The status as the lines ``intergreen status`` prints."""
    runs = [t for t in status.tasks if t.kind == "run"]
    stopped = status.running is False and status.count(TRAINING, "run") > 0
    n_base = len(status.tasks) - len(runs)
    lines = [
        f"{status.grid_name} ({status.out}): {len(runs)} run{'' if len(runs) == 1 else 's'} "
        f"and {n_base} baseline{'' if n_base == 1 else 's'} planned",
        "runs: " + ", ".join(
            f"{status.count(s, 'run')} {label}" for s, label in (
                (COMPLETE, "complete"), (TRAINED, "trained (evaluations to come)"),
                (TRAINING, "stopped partway" if stopped else "training"),
                (WAITING, "waiting"), (FAILED, "failed"))
        ) + (f"; {sum(t.reused for t in runs)} of them reused from another batch"
             if any(t.reused for t in runs) else ""),
        f"baselines: {status.count(COMPLETE, 'baseline')} complete, "
        f"{status.count(WAITING, 'baseline')} waiting, {status.count(FAILED, 'baseline')} failed",
    ]  # fmt: skip
    unfinished = any(t.state != COMPLETE for t in status.tasks)
    if status.running:
        lines.append(f"batch: running ({status.holder})")
    elif status.running is None:
        lines.append(f"batch: held by {status.holder}: cannot tell from here whether it runs")
    elif unfinished:
        killed = f" (its last compare, {status.holder}, was killed)" if status.holder else ""
        lines.append(
            f"batch: not running{killed}; to continue: {resume_command(status.out, status.modules)}"
            " (its recorded grid, --set values included; --workers as you like)"
        )
    if status.seed_extension == "waiting":
        most = status.more_decisions_at_most
        cost = f", about {_hours(most / status.rate)} of one worker" if status.rate else ""
        lines.append(
            "more seeds: decided once every first-seed run has trained; not yet (it adds at "
            f"most {status.more_runs_at_most} runs, {most:,} decisions{cost}, not counted below)"
        )
    elif status.seed_extension == "decided":
        lines.append("more seeds: decided (seed_extension.json); the added runs are counted above")
    for t in runs:
        if t.state == TRAINING:
            share = t.step / t.timesteps if t.timesteps else 0.0
            where = (
                f"{t.step:,} of {t.timesteps:,} decisions ({share:.0%}, newest checkpoint)"
                if t.step
                else f"started, no checkpoint yet (of {t.timesteps:,} decisions)"
            )
            doing = "training" if status.running is not False else "stopped"
            lines.append(f"  {doing} {t.name}: {where}")  # fmt: skip
    for t in status.tasks:
        if t.state == FAILED:
            lines.append(f"  failed {t.name}: {t.error}")
    left = status.remaining_decisions
    if left == 0:
        lines.append("training: nothing left to train")
    elif status.rate:
        took = _hours(left / status.rate)
        lines.append(
            f"training left: {left:,} decisions, about {took} of one worker at the "
            f"median {status.rate:,.0f} decisions/s of {status.rate_source} (evaluation episodes "
            "not included; divide by the workers that run in parallel)"
        )
    else:
        lines.append(f"training left: {left:,} decisions (no run has finished training yet "
                     "to give a rate)")  # fmt: skip
    return lines
