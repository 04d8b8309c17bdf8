"""A pool of worker processes that survives the death of a worker.

The one way the project runs independent jobs (batch runs, tuning trials) in local processes.
A worker killed by the out-of-memory killer, a signal or a crash in native code breaks a plain
``concurrent.futures.ProcessPoolExecutor`` for good, and every job in flight fails with it.
:class:`CrashSafePool` rebuilds the pool and runs the jobs that were in flight again, each
alone in a one-worker quarantine pool, so that the job that kills its worker is found and no
other job pays for it: a job that kills its worker when alone comes back failed
with :class:`WorkerDied`. A job's warnings come back with its result (or its error) and are
shown by the owner (:mod:`intergreen.worker_warnings`): in the owner's format, once however
many workers raise them. A leaf module: it imports only the leaf helpers of intergreen.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import Any

from intergreen.worker_warnings import KeptWarning, keep_warnings, kept_warnings, replay_warnings

__all__ = ["CrashSafePool", "Outcome", "WorkerDied"]

#: multiprocessing's resource tracker (a process it starts with this interpreter's ``-W``
#: options, ``sys.warnoptions``) warns "There appear to be N leaked semaphore objects to clean
#: up at shutdown" after an interrupted command's workers were stopped, as a raw Python
#: warning after the command's own last line; it then removes them, so there is nothing for a
#: user to do. Filtered in the processes it starts from here on.
TRACKER_WARNING = "ignore:resource_tracker:UserWarning"
if TRACKER_WARNING not in sys.warnoptions:
    sys.warnoptions.append(TRACKER_WARNING)


def _exit_with(owner: int) -> None:
    """End this process as soon as process ``owner`` has ended, however it ended (SIGKILL
    included): a daemon thread waits on the owner's pidfd (Linux >= 5.3), else checks every
    second whether it still exists.

    A pool's workers hold both ends of their job queue, and a forkserver lives while any
    process it started holds its pipe, so without this the workers of an owner that was
    killed, and their forkserver, would wait for jobs for ever."""
    try:
        fd: int | None = os.pidfd_open(owner)
    except ProcessLookupError:  # already gone
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here: poll
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while True:
                time.sleep(1.0)
                try:
                    os.kill(owner, 0)
                except ProcessLookupError:
                    break
                except PermissionError:  # alive, someone else's (a reused pid): keep going
                    continue
        os._exit(1)

    threading.Thread(target=watch, name=f"exit-with-{owner}", daemon=True).start()


def owner_environment() -> tuple[dict[str, str], list[str]]:
    """This process's environment variables and ``sys.path``, for the worker processes it
    starts to take (:func:`take_environment`)."""
    return dict(os.environ), list(sys.path)


def take_environment(environ: dict[str, str], path: list[str]) -> None:
    """In a worker: the owner's environment variables, exactly, and its ``sys.path`` entries
    first. A forkserver holds the environment of the moment it started (the first pool or
    training env of the process): without this, a reward module named since
    (``$INTERGREEN_REWARD_MODULES``, its folder on the path) would be missing in the workers,
    and one the owner no longer names still imported there."""
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:0] = [p for p in path if p not in sys.path]


def _init_worker(
    initializer: Callable[[], Any] | None, environ: dict[str, str], path: list[str], owner: int
) -> None:
    """Each worker ends when its pool's owner process ends (:func:`_exit_with`), takes the
    environment variables and ``sys.path`` the owner had when the pool was made
    (:func:`take_environment`), keeps its warnings for the owner to show
    (:func:`~intergreen.worker_warnings.keep_warnings`), then runs the pool's own
    initializer."""
    _exit_with(owner)
    take_environment(environ, path)
    keep_warnings()
    signal.signal(signal.SIGINT, _on_interrupt)
    if initializer is not None:
        initializer()


_busy = False  # whether this worker is running a job (:func:`_run_job`)


def _on_interrupt(signum: int, frame: Any) -> None:
    """A worker's Ctrl-C (a terminal sends it to the owner and its workers alike): the job
    running stops as it would in the foreground (a KeyboardInterrupt, which goes back to the
    owner as the job's outcome); an idle worker, waiting for its next job, ignores it (its
    owner got the same Ctrl-C and stops it), instead of dying with a traceback."""
    if _busy:
        raise KeyboardInterrupt


@dataclass(frozen=True)
class _Done:
    """A job's result and the warnings its worker raised (since the worker's last job)."""

    result: Any
    kept: tuple[KeptWarning, ...]


#: the attribute of a job's exception that carries the warnings its worker raised
_KEPT = "_intergreen_kept_warnings"


def _run_job(fn: Callable[..., Any], *args: Any) -> _Done:
    """``fn(*args)`` in a worker, marked as running for :func:`_on_interrupt`; its warnings go
    with its result, or on its exception."""
    global _busy
    _busy = True
    try:
        return _Done(fn(*args), kept_warnings())
    except BaseException as e:
        with contextlib.suppress(AttributeError, TypeError):  # an exception without __dict__
            setattr(e, _KEPT, kept_warnings())
        raise
    finally:
        _busy = False


def _result(future: Future) -> Any:
    """A finished job's result (or its exception raised), its worker's warnings shown here."""
    try:
        done = future.result()
    except BaseException as e:
        replay_warnings(getattr(e, _KEPT, ()))
        raise
    replay_warnings(done.kept)
    return done.result


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
        max_crashes: deaths of a job's worker, with the job running alone, after which the job
            is given up (>= 1).

    When a worker dies, the jobs that were in flight are suspects: each runs again alone in a
    quarantine process (one more process, one job at a time), where a death is that job's
    own. A job that always kills its worker runs ``1 + max_crashes`` times. Use as a context
    manager; :meth:`wait` returns the jobs that finished::

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
        max_crashes: int = 1,
    ) -> None:
        if workers < 1 or max_crashes < 1:
            raise ValueError(f"workers={workers}, max_crashes={max_crashes}: both must be >= 1")
        self.workers = workers
        self.max_crashes = max_crashes
        self._context = mp.get_context(start_method)
        self._initializer = initializer
        self._pool = self._new_pool(workers)
        self._quarantine: ProcessPoolExecutor | None = None
        self._suspects: deque[Hashable] = deque()  # waiting for the quarantine
        self._futures: dict[Future, Hashable] = {}  # main pool
        self._isolated: tuple[Future, Hashable] | None = None  # the job in quarantine
        self._jobs: dict[Hashable, _Job] = {}

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        init = partial(_init_worker, self._initializer, *owner_environment(), os.getpid())
        return ProcessPoolExecutor(workers, mp_context=self._context, initializer=init)

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
        self._futures[self._pool.submit(_run_job, fn, *args)] = tag

    def wait(self, timeout: float | None = None) -> list[Outcome]:
        """The jobs that finished within ``timeout`` seconds (None: until at least one has).

        A job's own exception comes back in ``Outcome.error``; a job that killed its worker
        running alone (``max_crashes`` times) comes back with a :class:`WorkerDied` error.
        """
        self._isolate_next()
        watched = list(self._futures) + ([self._isolated[0]] if self._isolated else [])
        if not watched:
            return []
        done, _ = wait(watched, timeout=timeout, return_when=FIRST_COMPLETED)
        outcomes: list[Outcome] = []
        broken = False
        for future in done:
            if self._isolated is not None and future is self._isolated[0]:
                outcomes += self._finish_isolated()
                continue
            tag = self._futures[future]
            try:
                result = _result(future)
            except BrokenProcessPool:
                broken = True
                continue
            except Exception as e:  # the job's own error, e.g. an unpicklable result
                outcomes.append(Outcome(tag, error=e))
            else:
                outcomes.append(Outcome(tag, result))
            del self._futures[future], self._jobs[tag]
        if broken:
            self._rebuild()
        self._isolate_next()
        return outcomes

    def _rebuild(self) -> None:
        """Replace the broken main pool; the jobs that were in flight become suspects."""
        for future, tag in self._futures.items():
            if not (future.done() and future.exception() is None):
                self._suspects.append(tag)  # maybe its death: it runs alone next
        self._futures.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool(self.workers)

    def _isolate_next(self) -> None:
        """Start the next suspect in the quarantine process, if it is free."""
        if self._isolated is not None or not self._suspects:
            return
        tag = self._suspects.popleft()
        if self._quarantine is None:
            self._quarantine = self._new_pool(1)
        job = self._jobs[tag]
        self._isolated = (self._quarantine.submit(_run_job, job.fn, *job.args), tag)

    def _finish_isolated(self) -> list[Outcome]:
        assert self._isolated is not None
        future, tag = self._isolated
        self._isolated = None
        try:
            result = _result(future)
        except BrokenProcessPool:  # alone in its process: this job killed it
            assert self._quarantine is not None
            self._quarantine.shutdown(wait=False, cancel_futures=True)
            self._quarantine = None
            job = self._jobs[tag]
            job.crashes += 1
            if job.crashes < self.max_crashes:
                self._suspects.appendleft(tag)
                return []
            del self._jobs[tag]
            times = "once" if job.crashes == 1 else f"{job.crashes} times"
            died = WorkerDied(f"its worker process died {times} running it alone (killed?)")
            return [Outcome(tag, error=died)]
        except Exception as e:
            del self._jobs[tag]
            return [Outcome(tag, error=e)]
        del self._jobs[tag]
        return [Outcome(tag, result)]

    def close(self, wait: bool = True) -> None:
        """Stop the workers; ``wait=False`` cancels the jobs not yet started."""
        for pool in (self._pool, self._quarantine):
            if pool is not None:
                pool.shutdown(wait=wait, cancel_futures=True)
        self._futures.clear()
        self._suspects.clear()
        self._isolated = None
        self._jobs.clear()

    def __enter__(self) -> CrashSafePool:
        return self

    def __exit__(self, *exc: object) -> None:
        # Ctrl-C, or a caller that stopped reading (a generator closed): stop now
        if isinstance(exc[1], KeyboardInterrupt | GeneratorExit):
            self.terminate()
        else:
            self.close(wait=exc[0] is None)

    def terminate(self) -> None:
        """Stop the workers at once: the jobs running are killed, the queued ones dropped
        (a ``ProcessPoolExecutor`` would otherwise run the jobs already handed to its
        workers before the process can exit)."""
        procs = [
            p
            for pool in (self._pool, self._quarantine)
            if pool is not None
            for p in list((getattr(pool, "_processes", None) or {}).values())
        ]
        for p in procs:
            p.terminate()
        self.close(wait=False)
        for p in procs:
            p.join(timeout=10)
