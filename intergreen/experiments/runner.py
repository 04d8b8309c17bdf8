"""Run a grid: train and evaluate every cell, evaluate the baselines once, collect the results.

Output folder layout::

    OUT/
      .batch.lock                 held while a batch writes here (flock)
      grid.json                   the validated grid of the latest batch (grid.grid_record: with
                                  junction_file, the absolute path of a junction given as a file)
      runs/<reward>-<agent>-s<seed>-<key>/
          config.json, metrics.csv, tb/, checkpoints/, model.zip, done.json  (intergreen.agents)
          validation.csv, best_model.zip, best.json   with training.validate_every set
          cell.json               the cell's place in the grid
          eval.parquet, eval.json one row per evaluation episode; eval.json holds the plan key,
                                  the seed role and the seeds, and which model was evaluated
                                  (``checkpoint``: best by validation score when the run has
                                  one, else final; its step)
          eval_validation.parquet, eval_validation.json
                                  with evaluation.validation_episodes: the same model on the
                                  validation stream's episodes (rows with split = validation)
          error.json              only after a failure: type, message, traceback
          reused.json             a run trained by another batch (--reuse), copied here
      baselines/<name>-<plan key>/eval.parquet, eval.json (and eval_validation.*)
                                  (a parameter file's baseline: <name>-file-<8 hex digits>)
          cell.json               the baseline; for NAME:tuned and a parameter file also the
                                  tuned parameters, the file, their validation scores and the
                                  tuning budget (baseline_params.py)
      results.parquet             every evaluation episode of the grid (tidy)
      learning_curves.parquet     every training episode (metrics.csv of each run)
      validation_curves.parquet   every validation episode (validation.csv of each run)
      seed_extension.json         with ``more_seeds``: which rewards got the added seeds, and
                                  the validation scores that decided it (seed_extension.py)
      batch.json                  counts, timings and failures of the latest batch

Every row has ``split``: ``test``, or ``validation`` for the validation episodes (and for a
grid whose ``evaluation.seeds`` is ``validation``). A run is complete when done.json and an
eval.json for the current evaluation plan exist (and an eval_validation.json for the current
validation plan, when the grid has one); complete runs are skipped, and a finished evaluation
is kept when only the other one is missing (adding validation episodes to a finished grid runs
only them). A killed run has config.json and checkpoints but no done.json:
it resumes exactly from its newest checkpoint (``train(..., resume=True)``). Run folders are
named by keys that hold the package and reward versions, so a batch never resumes over runs
made under an older formula: those are run again in folders of their own.

``reuse``: a run another results folder has finished training under the same key (the same
resolved configuration, package and reward versions: the same run) is copied in instead of
trained again, with ``reused.json`` saying from where; its evaluations are made again under
this batch's plans (:func:`reuse_trained`). Reports say which runs were reused.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import socket
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from intergreen.common import atomic_folder, atomic_path, atomic_write, read_json
from intergreen.errors import IntergreenError, Interrupted
from intergreen.experiments.grid import EvalPlan, GridConfig, RunCell, grid_record
from intergreen.experiments.provenance import REUSED
from intergreen.experiments.seed_extension import (
    SeedDecision,
    decide,
    extension_cells,
    write_decision,
)
from intergreen.version import __version__

RESULT_ID_COLUMNS = (
    "kind", "split", "controller", "reward", "agent", "train_demand", "train_seed", "run_key",
    "demand", "eval_seed", "episode",
)  # fmt: skip


class ExperimentError(IntergreenError, ValueError):
    """A batch that cannot go on: output folder unwritable, disk full, folder locked."""


class BatchLocked(ExperimentError):
    """Another batch is writing to the same output folder."""


# ----- tasks --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Task:
    """One unit of work for an executor: a training cell or a baseline."""

    kind: str  # "run" or "baseline"
    root: str
    plan: EvalPlan
    cell: RunCell | None = None
    baseline: str | None = None
    #: the validation episodes evaluated beside the test ones (grid validation_plan)
    validation: EvalPlan | None = None

    def evaluations(self) -> list[tuple[EvalPlan, str]]:
        """(plan, file stem) of each evaluation of the task: the test plan (``eval``), then the
        validation plan (``eval_validation``) when there is one."""
        out = [(self.plan, "eval")]
        return out + ([(self.validation, VALIDATION_STEM)] if self.validation else [])

    @property
    def name(self) -> str:
        if self.cell:
            return self.cell.dir_name()
        from intergreen.junctions.baselines import baseline_folder_name

        return f"{baseline_folder_name(str(self.baseline))}-{self.plan.key()}"

    @property
    def folder(self) -> Path:
        sub = "runs" if self.kind == "run" else "baselines"
        return Path(self.root) / sub / self.name

    @property
    def cpus(self) -> int:
        return self.cell.n_envs if self.cell else 1


@dataclass
class Outcome:
    """What a task did: ``done``, ``skipped`` (already complete) or ``failed``."""

    name: str
    kind: str
    status: str
    wall_s: float = 0.0
    train_s: float = 0.0
    eval_s: float = 0.0
    error: str | None = None
    errno: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


VALIDATION_STEM = "eval_validation"


def is_evaluated(folder: Path, plan: EvalPlan, stem: str = "eval") -> bool:
    """Whether ``folder`` holds ``<stem>.parquet`` and a ``<stem>.json`` of ``plan``'s key."""
    info = read_json(folder / f"{stem}.json")
    return (
        isinstance(info, dict)
        and info.get("plan") == plan.key()
        and (folder / f"{stem}.parquet").exists()
    )


def is_complete(
    folder: Path, plan: EvalPlan, kind: str = "run", validation: EvalPlan | None = None
) -> bool:
    """A task is complete when trained (a run's done.json) and evaluated under ``plan`` and,
    if given, under the ``validation`` plan."""
    if kind == "run" and not (folder / "done.json").exists():
        return False
    if validation is not None and not is_evaluated(folder, validation, VALIDATION_STEM):
        return False
    return is_evaluated(folder, plan)


def task_complete(task: Task) -> bool:
    return is_complete(task.folder, task.plan, task.kind, task.validation)


def execute(task: Task) -> Outcome:
    """Run one task in the current process; failures are recorded in error.json, not raised."""
    start = time.perf_counter()
    folder = task.folder
    out = Outcome(task.name, task.kind, "done")
    try:
        if task_complete(task):
            out.status = "skipped"
            return out
        folder.mkdir(parents=True, exist_ok=True)
        if task.kind == "run":
            _train_cell(task, out)
        else:
            _write_json(folder / "cell.json", _baseline_cell(task))
        for plan, stem in task.evaluations():
            if is_evaluated(folder, plan, stem):
                continue  # finished before (resume): kept
            t0 = time.perf_counter()
            frame, checkpoint = _evaluate(task, plan)
            out.eval_s += time.perf_counter() - t0
            _write_parquet(frame, folder / f"{stem}.parquet")
            _write_json(
                folder / f"{stem}.json",
                {"plan": plan.key(), **asdict(plan), "seeds": plan.seeds()}
                | ({"checkpoint": checkpoint} if checkpoint else {}),
            )
        (folder / "error.json").unlink(missing_ok=True)
    except Exception as e:  # recorded; the batch goes on
        out.status = "failed"
        out.error = f"{type(e).__name__}: {e}"
        out.errno = getattr(e, "errno", None)
        record_error(folder, e)
    finally:
        out.wall_s = time.perf_counter() - start
    return out


def record_error(folder: Path, e: BaseException | str) -> None:
    payload = (
        {"type": "WorkerDied", "message": e, "traceback": ""}
        if isinstance(e, str)
        else {
            "type": type(e).__name__,
            "message": str(e),
            "traceback": "".join(traceback.format_exception(e)),
        }
    )
    payload["time"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_json(folder / "error.json", payload)
    except OSError:
        pass  # a full disk: the outcome still carries the error


def _train_cell(task: Task, out: Outcome) -> None:
    from intergreen.agents.training import TrainingNote, train

    cell, folder = task.cell, task.folder
    assert cell is not None
    _write_json(
        folder / "cell.json",
        {
            "key": cell.key(),
            "reward": cell.reward_label,
            "agent": cell.agent_label,
            "algorithm": cell.agent,
            "train_demand": cell.demand_label,
            "seed": cell.seed,
            "cell": asdict(cell),
        },
    )
    t0 = time.perf_counter()
    # the cell's training configuration is exactly train()'s keyword arguments
    with warnings.catch_warnings():  # compare said them once, before any run (grid notes)
        warnings.simplefilter("ignore", TrainingNote)
        train(**cell.train_config().model_dump(), run_dir=folder, resume=True)
    out.train_s = time.perf_counter() - t0


def _evaluate(task: Task, plan: EvalPlan) -> tuple[Any, dict[str, Any] | None]:
    """The episodes of ``plan`` (the task's test or validation plan) for a task, and for a run
    which of its models they evaluate (the same model for both plans)."""
    import pandas as pd

    from intergreen.agents.evaluation import evaluate

    # every controller's episodes: the plan's junction, length (the grid's episode_duration, the
    # same as in training: GridConfig refuses another) and the training episodes' pedestrians and
    # sensor noise, so that a baseline meets what the agents met
    checkpoint: dict[str, Any] | None = None
    if task.kind == "run":
        from intergreen.agents.policy import load_policy

        # loaded once for all episodes: the best by validation score when the run has one
        controller: Any = load_policy(task.folder)
        choice = controller.choice
        checkpoint = {"checkpoint": choice.checkpoint, "step": choice.step,
                      "validation_score": choice.score}  # fmt: skip
    else:
        controller = task.baseline
    frame = evaluate(
        [controller],
        junction=plan.junction,
        demands=plan.demands,
        seeds=plan.seeds(),
        duration=plan.duration,
        episode_options=plan.episode_options,
        workers=1,
    )
    # reward_<name>: the episode's sum of the agent's own reward (queue for a baseline)
    frame = frame.rename(columns={"seed": "eval_seed"})
    frame["episode"] = frame.groupby("demand").cumcount()
    from intergreen.junctions.baselines import baseline_label

    cell = task.cell
    label = None if cell else baseline_label(str(task.baseline))
    ids: dict[str, Any] = {
        "kind": "agent" if cell else "baseline",
        "split": split_of(plan),
        "controller": f"{cell.reward_label}/{cell.agent_label}" if cell else label,
        "reward": cell.reward_label if cell else None,
        "agent": cell.agent_label if cell else None,
        "train_demand": cell.demand_label if cell else None,
        "train_seed": cell.seed if cell else None,
        "run_key": cell.key() if cell else task.plan.key(),
        "intergreen_version": __version__,
        "reward_version": cell.train_config().versions()["reward_version"] if cell else None,
    }
    for k, v in ids.items():
        frame[k] = v
    frame["train_seed"] = frame["train_seed"].astype("Int64")
    # which model of the run: "best" (by validation score) or "final", and its step
    frame["checkpoint"] = checkpoint["checkpoint"] if checkpoint else None
    frame["checkpoint_step"] = pd.array(
        [checkpoint["step"] if checkpoint else None] * len(frame), dtype="Int64"
    )
    first = [c for c in RESULT_ID_COLUMNS if c in frame]
    return pd.DataFrame(frame[first + [c for c in frame if c not in first]]), checkpoint


def split_of(plan: EvalPlan) -> str:
    """The ``split`` of a plan's rows: ``validation`` for validation-stream episodes (they may
    select, never be reported), else ``test``."""
    return "validation" if plan.seed_role == "validation" else "test"


def _baseline_cell(task: Task) -> dict[str, Any]:
    """cell.json of a baseline: its name and, for ``NAME:tuned``, the tuned parameters, their
    validation scores and the tuning budget (see intergreen.junctions.baseline_params)."""
    from intergreen.junctions.baselines import baseline_label, baseline_record
    from intergreen.junctions.catalog import resolve_junction

    return {"baseline": baseline_label(str(task.baseline)),
            **baseline_record(task.baseline, resolve_junction(task.plan.junction))}  # fmt: skip


# ----- files --------------------------------------------------------------------------------
def _write_json(path: Path, payload: Any) -> None:
    atomic_write(path, json.dumps(payload, indent=2, default=str))


def _write_parquet(frame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def check_writable(out: Path) -> None:
    """Create the output folder and write a probe file, or raise a clear ExperimentError."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_text("x")
        probe.unlink()
    except OSError as e:
        raise _os_error(out, e) from None


def _os_error(where: Path, e: OSError) -> ExperimentError:
    if e.errno == errno.ENOSPC:
        return ExperimentError(
            f"disk full writing to {where}: free some space and run the same command again "
            "(finished runs are kept and skipped)"
        )
    return ExperimentError(f"cannot write to {where} ({e.strerror or e}); choose another --out")


#: the lock file a running compare holds (flock) in its results folder
LOCK_FILE = ".batch.lock"


class BatchLock:
    """An exclusive lock on an output folder (O_EXCL lock file + flock).

    The lock file is created with O_EXCL; if it exists, the holder is alive exactly when
    the file's flock is held, so a lock left by a killed batch is taken over.
    """

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self) -> BatchLock:
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    fd = os.open(self.path, os.O_WRONLY)
                except FileNotFoundError:
                    continue  # released between the two opens: try again
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = self._holder()
                raise BatchLocked(
                    f"{self.path.parent} is in use by another batch ({holder}); wait for it to "
                    "finish or use another --out"
                ) from None
            try:  # the file we locked must still be the one at the path
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            info = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.ctime()}
            os.write(fd, json.dumps(info).encode())
            self.fd = fd
            return self
        raise BatchLocked(f"could not lock {self.path}")

    def _holder(self) -> str:
        info = lock_holder(self.path.parent)
        return "holder unknown" if info is None else describe_holder(info)

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def lock_holder(out: Path) -> dict[str, Any] | None:
    """What the lock file of the batch folder ``out`` says of the batch that took it (``pid``,
    ``host``, ``since``), or None where there is no lock file (no batch holds the folder; a
    batch that ends, even by Ctrl-C or SIGTERM, removes it) or it cannot be read. A file left
    by a killed batch (SIGKILL, a session's end) is still there: see :func:`holder_alive`."""
    info = read_json(Path(out) / LOCK_FILE)
    if not isinstance(info, dict) or not {"pid", "host", "since"} <= info.keys():
        return None
    return info


def holder_alive(out: Path, info: dict[str, Any]) -> bool | None:
    """Whether the batch that took the lock of ``out`` (``info``: :func:`lock_holder`) still
    holds it. On Linux from ``/proc/locks`` (the lock file's flock, whoever holds it: exact,
    and nothing is locked to find out); elsewhere whether its pid still runs on this host.
    None where it cannot be told (another host)."""
    path = Path(out) / LOCK_FILE
    try:
        st = path.stat()
        table = Path("/proc/locks").read_text()
    except FileNotFoundError:
        return False if not path.exists() else _pid_alive(info)
    except OSError:
        return _pid_alive(info)
    wanted = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    for line in table.splitlines():
        fields = line.split()  # "1: FLOCK  ADVISORY  WRITE 11824 fe:00:5498478 0 EOF"
        if "FLOCK" in fields and "->" not in fields:  # "->": a process waiting for it
            major, minor, inode = fields[fields.index("FLOCK") + 4].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) == wanted:
                return True
    return False


def _pid_alive(info: dict[str, Any]) -> bool | None:
    if info["host"] != socket.gethostname():
        return None
    try:
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def describe_holder(info: dict[str, Any]) -> str:
    return f"pid {info['pid']} on {info['host']} since {info['since']}"


# ----- the batch ----------------------------------------------------------------------------
@dataclass
class BatchSummary:
    out: Path
    total: int
    done: int
    skipped: int
    failed: list[dict[str, str]]
    wall_s: float
    executor: str
    workers: int
    outcomes: list[Outcome]
    #: the ``more_seeds`` decision (seed_extension.json), None for a grid without the rule
    seed_extension: dict[str, Any] | None = None
    #: run name -> the results folder its training was copied from (``reuse``)
    reused: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


ProgressFn = Callable[[int, int, Outcome | None], None]


def plan_tasks(grid: GridConfig, out: Path) -> list[Task]:
    """Training runs first (the long ones), then the runs ``more_seeds`` has added (once its
    decision is made: intergreen.experiments.seed_extension), then the baselines."""
    plan, valid = grid.eval_plan(), grid.validation_plan()
    tasks = [Task("run", str(out), plan, cell=c, validation=valid) for c in grid.cells()]
    tasks += [
        Task("run", str(out), plan, cell=c, validation=valid)
        for c in extension_cells(grid, decide_seeds(grid, out))
    ]
    from intergreen.junctions.baselines import baseline_key

    seen = set()
    for b in grid.baselines:
        name = baseline_key(b)
        if name not in seen:
            seen.add(name)
            tasks.append(Task("baseline", str(out), plan, baseline=name, validation=valid))
    return tasks


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """What a reused run leaves behind: its evaluations (made again under this batch's plans
    and code) and a failure or reuse record, in the run's folder; hidden temporary files of
    writes a kill interrupted, anywhere."""
    top = Path(folder).parent.name == "runs"
    return {
        n for n in names
        if n.startswith(".") or (top and n.startswith(("eval", "error.json", REUSED)))
    }  # fmt: skip


def reuse_trained(tasks: list[Task], sources: list[Path]) -> dict[str, str]:
    """Copy into the batch each run of ``tasks`` not started here that a folder of
    ``sources`` (results folders of other batches, first match wins) has finished training
    under the same run key; writes ``reused.json`` (the source folder and its grid's name)
    in the copy. Returns run name -> source folder.

    Raises:
        ExperimentError: a source's copy holds another key in its config.json than its
            folder's name (an edited or damaged run), naming it.
    """
    reused: dict[str, str] = {}
    for task in tasks:
        if task.kind != "run" or task.folder.exists() or task.cell is None:
            continue
        for source in sources:
            found = source / "runs" / task.name
            if not (found / "done.json").exists():
                continue
            config = read_json(found / "config.json")
            if not isinstance(config, dict) or config.get("key") != task.cell.key():
                raise ExperimentError(
                    f"{found}: its config.json does not hold the key {task.cell.key()} its "
                    "folder is named by; leave it out of --reuse or train it again"
                )
            grid = read_json(source / "grid.json")
            grid = grid.get("name") if isinstance(grid, dict) else None
            # staged beside runs/, whose folders reports glob
            with atomic_folder(task.folder, staging=Path(task.root)) as staged:
                shutil.copytree(found, staged, ignore=_not_copied, dirs_exist_ok=True)
                _write_json(staged / REUSED, {"from": str(source.resolve()), "grid": grid,
                                              "run": task.name})  # fmt: skip
            reused[task.name] = str(source.resolve())
            break
    return reused


def decide_seeds(grid: GridConfig, out: Path) -> SeedDecision | None:
    """The grid's ``more_seeds`` decision from the run folders under ``out`` (None without the
    rule); see intergreen.experiments.seed_extension."""
    plan = grid.eval_plan()
    return decide(grid, lambda cell: Task("run", str(out), plan, cell=cell).folder)


def run_batch(
    grid: GridConfig,
    out: str | Path,
    executor: Any = None,
    progress: ProgressFn | None = None,
    reuse: list[Path] | tuple[Path, ...] = (),
) -> BatchSummary:
    """Run every incomplete task of the grid and write results.parquet and
    learning_curves.parquet; complete runs are skipped, failures recorded. Runs that a
    folder of ``reuse`` finished training under the same key are copied in, not trained
    (:func:`reuse_trained`), and evaluated here.

    With ``more_seeds``, the first seeds of every reward run first; their validation scores
    then decide which rewards train on the added seeds (seed_extension.json), and those runs
    follow in the same batch. ``progress`` is called with ``outcome=None`` once per phase
    (the counts so far, the phase's runs included in the total)."""
    from intergreen.experiments.executors import LocalExecutor

    out = Path(out)
    executor = executor or LocalExecutor(1)
    check_writable(out)
    start = time.perf_counter()
    with BatchLock(out):
        _write_json(out / "grid.json", grid_record(grid))
        planned: list[Task] = []
        outcomes: list[Outcome] = []
        reused: dict[str, str] = {}

        def run_phase(tasks: list[Task]) -> None:
            planned.extend(tasks)
            reused.update(reuse_trained(tasks, [Path(r) for r in reuse]))
            todo = [t for t in tasks if not task_complete(t)]
            outcomes.extend(Outcome(t.name, t.kind, "skipped") for t in tasks if t not in todo)
            finished = len(outcomes)
            if progress:
                progress(finished, len(planned), None)
            if not todo:
                return
            runs = executor.run(execute, todo, _crashed)
            try:
                for _, outcome in runs:
                    outcomes.append(outcome)
                    finished += 1
                    if progress:
                        progress(finished, len(planned), outcome)
                    if outcome.errno == errno.ENOSPC:
                        raise _os_error(out, OSError(errno.ENOSPC, "No space left on device"))
            except KeyboardInterrupt:  # count on disk, once the workers have stopped: a run
                runs.close()  # can finish in a worker before its outcome reaches this loop
                parts = []
                for kind, noun in (("run", "runs"), ("baseline", "baselines")):
                    tasks = [t for t in planned if t.kind == kind]
                    if tasks:
                        done = sum(task_complete(t) for t in tasks)
                        parts.append(f"{done} of {len(tasks)} {noun}")
                raise Interrupted(
                    f"{' and '.join(parts)} complete in {out} (kept); re-run the same command "
                    f"to run the other ones (`intergreen status {out}` prints it)"
                ) from None

        run_phase(plan_tasks(grid, out))
        decision = decide_seeds(grid, out)
        if decision is not None:
            write_decision(out, decision)
            added = [t for t in plan_tasks(grid, out) if t not in planned]
            if added:
                run_phase(added)
        try:
            collect(grid, out)
        except OSError as e:
            raise _os_error(out, e) from None
        folders = {t.name: t.folder for t in planned}
        failed = [
            {"name": o.name, "error": o.error or "",
             "error_file": str(folders[o.name] / "error.json") if o.name in folders else ""}
            for o in outcomes if o.status == "failed"
        ]  # fmt: skip
        summary = BatchSummary(
            out=out,
            total=len(planned),
            done=sum(o.status == "done" for o in outcomes),
            skipped=sum(o.status == "skipped" for o in outcomes),
            failed=failed,
            wall_s=time.perf_counter() - start,
            executor=getattr(executor, "name", type(executor).__name__),
            workers=getattr(executor, "workers", 1),
            outcomes=outcomes,
            seed_extension=None if decision is None else decision.to_json(),
            reused=reused,
        )
        _write_json(
            out / "batch.json",
            {k: v for k, v in asdict(summary).items() if k != "outcomes"}
            | {"outcomes": [asdict(o) for o in outcomes]},
        )
    return summary


def _crashed(task: Task, why: str) -> Outcome:
    record_error(task.folder, why)
    return Outcome(task.name, task.kind, "failed", error=why)


def collect(grid: GridConfig, out: Path) -> tuple[Any, Any]:
    """results.parquet, learning_curves.parquet and validation_curves.parquet from the complete
    tasks of ``grid``; returns the first two."""
    import pandas as pd

    frames, curves, validation = [], [], []
    for task in plan_tasks(grid, out):
        if not task_complete(task):
            continue
        for plan, stem in task.evaluations():
            frame = pd.read_parquet(task.folder / f"{stem}.parquet")
            if "split" not in frame:  # written before rows carried their split
                frame.insert(1, "split", split_of(plan))
            frames.append(frame)
        if task.cell is None:
            continue
        for name, into in (("metrics.csv", curves), ("validation.csv", validation)):
            if (task.folder / name).exists():
                into.append(_run_log(task.cell, task.folder / name))
    results = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    learning = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    _write_parquet(results, out / "results.parquet")
    _write_parquet(learning, out / "learning_curves.parquet")
    greedy = pd.concat(validation, ignore_index=True) if validation else pd.DataFrame()
    _write_parquet(greedy, out / "validation_curves.parquet")
    return results, learning


def _run_log(cell: RunCell, path: Path):
    """A run's CSV log (metrics.csv, validation.csv) with the cell's ids in front."""
    import pandas as pd

    c = pd.read_csv(path).rename(columns={"reward": "reward_sum", "demand": "episode_demand"})
    c.insert(0, "run_key", cell.key())
    c.insert(0, "train_seed", cell.seed)
    c.insert(0, "train_demand", cell.demand_label)
    c.insert(0, "agent", cell.agent_label)
    c.insert(0, "reward", cell.reward_label)
    return c


def clear_run(folder: Path) -> None:
    """Remove a run folder (e.g. to re-run a failed cell from scratch)."""
    shutil.rmtree(folder, ignore_errors=True)
