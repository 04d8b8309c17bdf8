"""A pool of worker processes that survives the death of a worker.

The one way the project runs independent jobs (batch runs, tuning trials) in local processes.
A worker killed by the out-of-memory killer, a signal or a crash in native code breaks a plain
``concurrent.futures.ProcessPoolExecutor`` for good, and every job in flight fails with it.
:class:`CrashSafePool` rebuilds the pool and submits the jobs that were in flight again; a job
that was in flight at ``max_crashes`` breakages comes back as failed with :class:`WorkerDied`
(it is probably the one killing its worker). A leaf module: it imports nothing of intergreen.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Hashable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

__all__ = ["CrashSafePool", "Outcome", "WorkerDied"]


class WorkerDied(RuntimeError):
    """A job's worker process died each time the job ran (killed, out of memory, crashed)."""


@dataclass(frozen=True)
class Outcome:
    """A finished job: its ``tag``, and its result or the exception it ended with."""

    tag: Hashable
    result: Any = None
    error: BaseException | None = None


@dataclass
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    crashes: int = 0


class CrashSafePool:
    """``workers`` processes running submitted jobs; a dead worker costs a retry, not the pool.

    Args:
        workers: worker processes (>= 1).
        start_method: ``"forkserver"`` (default: no SUMO or torch state is forked) or
            ``"spawn"``.
        initializer: run once in each new worker (e.g. to limit torch to one thread).
        max_crashes: breakages a job may be in flight for before it is given up (>= 1).

    Use as a context manager; :meth:`wait` returns the jobs that finished::

        with CrashSafePool(2) as pool:
            pool.submit("a", fn, 1)
            while pool.pending:
                for outcome in pool.wait():
                    ...
    """

    def __init__(
        self,
        workers: int,
        start_method: str = "forkserver",
        initializer: Callable[[], Any] | None = None,
        max_crashes: int = 2,
    ) -> None:
        if workers < 1 or max_crashes < 1:
            raise ValueError(f"workers={workers}, max_crashes={max_crashes}: both must be >= 1")
        self.workers = workers
        self.max_crashes = max_crashes
        self._context = mp.get_context(start_method)
        self._initializer = initializer
        self._pool = self._new_pool()
        self._futures: dict[Future, Hashable] = {}
        self._jobs: dict[Hashable, _Job] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=self._context, initializer=self._initializer
        )

    @property
    def pending(self) -> int:
        """Jobs submitted and not yet returned by :meth:`wait`."""
        return len(self._jobs)

    def tags(self) -> list[Hashable]:
        """The tags of the pending jobs."""
        return list(self._jobs)

    def submit(self, tag: Hashable, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in a worker; ``fn`` and ``args`` must pickle. Tags are unique."""
        if tag in self._jobs:
            raise ValueError(f"a job tagged {tag!r} is already pending")
        self._jobs[tag] = _Job(fn, args)
        self._futures[self._pool.submit(fn, *args)] = tag

    def wait(self, timeout: float | None = None) -> list[Outcome]:
        """The jobs that finished within ``timeout`` seconds (None: until at least one has).

        A job's own exception comes back in ``Outcome.error``. When a worker died, the pool is
        rebuilt, the jobs in flight are submitted again, and those that had been in flight at
        ``max_crashes`` breakages come back with a :class:`WorkerDied` error.
        """
        if not self._futures:
            return []
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        outcomes: list[Outcome] = []
        broken = False
        for future in done:
            tag = self._futures.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                broken = True
                self._futures[future] = tag  # handled with the others below
                continue
            except Exception as e:  # the job's own error, e.g. an unpicklable result
                outcomes.append(Outcome(tag, error=e))
            else:
                outcomes.append(Outcome(tag, result))
            del self._jobs[tag]
        if broken:
            outcomes += self._rebuild()
        return outcomes

    def _rebuild(self) -> list[Outcome]:
        """Replace the broken pool; resubmit the jobs in flight, give up on repeat victims."""
        in_flight = list(self._futures.values())
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()
        given_up = []
        for tag in in_flight:
            job = self._jobs[tag]
            job.crashes += 1
            if job.crashes >= self.max_crashes:
                del self._jobs[tag]
                died = WorkerDied(f"its worker process died {job.crashes} times (killed?)")
                given_up.append(Outcome(tag, error=died))
            else:
                self._futures[self._pool.submit(job.fn, *job.args)] = tag
        return given_up

    def close(self, wait: bool = True) -> None:
        """Stop the workers; ``wait=False`` cancels the jobs not yet started."""
        self._pool.shutdown(wait=wait, cancel_futures=True)
        self._futures.clear()
        self._jobs.clear()

    def __enter__(self) -> CrashSafePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(wait=exc[0] is None)
