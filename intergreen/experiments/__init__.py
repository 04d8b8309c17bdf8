"""Batch comparisons of rewards, agents and baselines: grids, runner, executors, reports."""

from intergreen.experiments.executors import LocalExecutor, RayExecutor, make_executor
from intergreen.experiments.grid import GridConfig, GridError, RunCell, load_grid
from intergreen.experiments.report import build_report
from intergreen.experiments.runner import BatchLocked, ExperimentError, collect, run_batch

__all__ = [
    "BatchLocked",
    "ExperimentError",
    "GridConfig",
    "GridError",
    "LocalExecutor",
    "RayExecutor",
    "RunCell",
    "build_report",
    "collect",
    "load_grid",
    "make_executor",
    "run_batch",
]
