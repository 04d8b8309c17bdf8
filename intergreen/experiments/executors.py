"""Where the runs of a batch execute: local worker processes (default) or a Ray cluster.

An executor takes a picklable function and a list of tasks and yields ``(index, result)``
as tasks finish, in any order. The function never raises for a failed run (the runner
records failures itself); an executor only has to survive a worker that dies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from intergreen.errors import OptionError
from intergreen.workers import CrashSafePool, WorkerDied


class Executor(Protocol):
    name: str
    workers: int

    def run(
        self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_crash: Callable[[Any, str], Any]
    ) -> Iterator[tuple[int, Any]]: ...


def _init_worker() -> None:
    """One thread per worker: the parallelism is across runs, not inside torch."""
    from intergreen.agents.torch_setup import configure_torch

    configure_torch()


class LocalExecutor:
    """A pool of ``workers`` processes (forkserver, so no SUMO or torch state is forked).

    Worker processes are reused across runs (imports are paid once per worker). If a worker
    dies (killed, out of memory) the pool is rebuilt and the unfinished runs are submitted
    again, each alone; a run that kills its worker when alone is reported through ``on_crash``
    (:class:`intergreen.workers.CrashSafePool`).
    """

    name = "local"

    def __init__(self, workers: int = 1, start_method: str = "forkserver") -> None:
        if workers < 1:
            raise OptionError(f"--workers must be >= 1, got {workers}")
        self.workers = workers
        self.start_method = start_method

    def run(
        self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_crash: Callable[[Any, str], Any]
    ) -> Iterator[tuple[int, Any]]:
        with CrashSafePool(self.workers, self.start_method, _init_worker) as pool:
            for i, task in enumerate(tasks):
                pool.submit(i, fn, task)
            while pool.pending:
                for outcome in pool.wait():
                    i = int(outcome.tag)  # type: ignore[call-overload]
                    if isinstance(outcome.error, WorkerDied):
                        yield i, on_crash(tasks[i], str(outcome.error))
                    elif outcome.error is not None:
                        raise outcome.error
                    else:
                        yield i, outcome.result


class RayExecutor:
    """Ray tasks (``ray.remote``), scheduled by Ray over the cluster's CPUs.

    ``address``: ``"auto"`` joins a running cluster (``ray start --head``), ``None`` starts a
    local one. Each run reserves ``num_cpus`` CPUs (its ``n_envs``). The output folder must
    be on storage that every node can write (the runs write into it).
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ImportError("the Ray executor needs Ray: pip install 'intergreen[ray]'") from None
        self.address = address
        self.num_cpus = num_cpus
        self.workers = 0
        self._started = False

    def connect(self) -> bool:
        """Start or join Ray unless it runs already; True when this executor started it.

        Raises:
            OptionError: ``address`` names no running cluster (one line saying how to start
                one).
        """
        import ray

        if ray.is_initialized():
            return self._started
        kwargs: dict[str, Any] = {"address": self.address, "log_to_driver": False}
        if self.address is None and self.num_cpus is not None:
            kwargs["num_cpus"] = self.num_cpus
        try:
            ray.init(**kwargs)
        except ConnectionError:  # --address auto with no cluster running
            raise OptionError(
                f"--address {self.address}: no Ray cluster is running to join; start one "
                "with `ray start --head`, or drop --address to run a local Ray"
            ) from None
        self._started = True
        return True

    def run(
        self, fn: Callable[[Any], Any], tasks: Sequence[Any], on_crash: Callable[[Any, str], Any]
    ) -> Iterator[tuple[int, Any]]:
        import ray

        owns = self.connect()
        self.workers = int(ray.cluster_resources().get("CPU", 1))
        try:
            refs = {}
            for i, task in enumerate(tasks):
                cpus = max(1, int(getattr(task, "cpus", 1)))
                remote = ray.remote(num_cpus=cpus, max_retries=1)(_ray_call)
                refs[remote.remote(fn, task)] = i
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1)
                for ref in ready:
                    i = refs.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as e:  # worker or node died, twice
                        result = on_crash(tasks[i], f"Ray task failed ({type(e).__name__})")
                    yield i, result
        finally:
            if owns:
                ray.shutdown()


def _ray_call(fn: Callable[[Any], Any], task: Any) -> Any:
    _init_worker()
    return fn(task)


def make_executor(
    kind: str = "local", workers: int = 1, address: str | None = None
) -> LocalExecutor | RayExecutor:
    """``local`` (``workers`` processes) or ``ray`` (``address``: ``auto`` or none)."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(address=address, num_cpus=None if address else workers)
    raise OptionError(f"unknown executor {kind!r}; use local or ray")
