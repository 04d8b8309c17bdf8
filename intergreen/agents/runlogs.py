"""A run's logs, continued across a resume: every log keeps its rows up to the checkpoint
being resumed and drops the later ones (the resumed run logs them again).

- ``metrics.csv``: one row per training episode (column ``step``);
- ``validation.csv``: one row per greedy validation episode (column ``step``;
  intergreen.agents.validation);
- ``tb/progress.csv``: stable-baselines3's CSV log (column ``time/total_timesteps``);
- ``tb/events.out.tfevents.*``: TensorBoard; the resumed run's writer carries TensorBoard's
  purge step (``SummaryWriter(purge_step=)``), so TensorBoard hides the events a killed run
  wrote after the checkpoint and shows one continuous curve;
- ``resumes.jsonl`` (intergreen.agents.rundir.record_resume): one line per resume, kept
  across resumes.

A run that starts afresh (no checkpoint) starts every log afresh.
"""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

from stable_baselines3.common.logger import CSVOutputFormat, Logger, TensorBoardOutputFormat
from torch.utils.tensorboard import SummaryWriter

from intergreen.agents.rundir import RESUMES, VALIDATION_LOG
from intergreen.common import atomic_path

METRICS = "metrics.csv"
VALIDATION = VALIDATION_LOG
LOG_DIR = "tb"
PROGRESS = "progress.csv"
#: The step column of each CSV log.
STEP_COLUMNS = {METRICS: "step", VALIDATION: "step", PROGRESS: "time/total_timesteps"}


def kept_rows(path: Path, step_column: str, step: int) -> tuple[list[str], list[list[str]]]:
    """Header and the rows of a CSV log whose ``step_column`` is at most ``step`` (rows
    without a step are kept: they were written before it)."""
    if not path.exists():
        return [], []
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return [], []
    header, body = rows[0], rows[1:]
    if step_column not in header:
        return header, body
    i = header.index(step_column)
    return header, [r for r in body if i >= len(r) or not r[i] or float(r[i]) <= step]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def truncate_metrics(run_dir: Path, step: int) -> None:
    """Drop the rows of metrics.csv and validation.csv logged after ``step``."""
    for name in (METRICS, VALIDATION):
        path = run_dir / name
        header, rows = kept_rows(path, STEP_COLUMNS[name], step)
        if header:
            _write_csv(path, header, rows)


def start_afresh(run_dir: Path) -> None:
    """Remove the logs of a run that starts again from step 0."""
    (run_dir / METRICS).unlink(missing_ok=True)
    (run_dir / VALIDATION).unlink(missing_ok=True)
    (run_dir / RESUMES).unlink(missing_ok=True)
    shutil.rmtree(run_dir / LOG_DIR, ignore_errors=True)


class ContinuedCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV log, started from the rows of an earlier log up to ``step``."""

    def __init__(self, filename: str, step: int) -> None:
        header, rows = kept_rows(Path(filename), STEP_COLUMNS[PROGRESS], step)
        super().__init__(filename)  # opens the file for writing, empty
        if header:
            writer = csv.writer(self.file, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
            self.file.flush()
            self.keys = list(header)


class PurgingTensorBoardOutputFormat(TensorBoardOutputFormat):
    """SB3's TensorBoard output whose writer purges the events at and after ``purge_step``
    that earlier writers in the folder left."""

    def __init__(self, folder: str, purge_step: int) -> None:
        _after_earlier_event_files(Path(folder))
        self.writer = SummaryWriter(log_dir=folder, purge_step=purge_step)
        self._is_closed = False


def _after_earlier_event_files(folder: Path) -> None:
    """Wait (under a second) until a new event file's name sorts after every one in
    ``folder``: TensorBoard reads the files in name order (``events.out.tfevents.SECONDS.
    HOST.PID...``) and applies a purge only to events read before it, so a resume started
    within the second the killed run started (its child's larger pid sorting later) left the
    killed run's events past the checkpoint in view."""
    stamps = []
    for f in folder.glob("events.out.tfevents.*"):
        try:
            stamps.append(int(f.name.split(".")[3]))
        except (IndexError, ValueError):
            continue
    if stamps and time.time() < max(stamps) + 1:  # a stamp far ahead (a skewed clock): 1 s
        time.sleep(min(1.0, max(stamps) + 1 - time.time()))


def run_logger(run_dir: Path, resume_step: int | None) -> Logger:
    """The SB3 logger of a run (CSV and TensorBoard under ``tb/``): fresh, or continuing the
    logs up to ``resume_step``."""
    folder = run_dir / LOG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    progress = str(folder / PROGRESS)
    if resume_step is None:
        formats = [CSVOutputFormat(progress), TensorBoardOutputFormat(str(folder))]
    else:
        formats = [
            ContinuedCSVOutputFormat(progress, resume_step),
            PurgingTensorBoardOutputFormat(str(folder), resume_step + 1),
        ]
    return Logger(str(folder), formats)


__all__ = ["kept_rows", "run_logger", "start_afresh", "truncate_metrics"]
