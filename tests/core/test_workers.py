"""The one process pool that survives a worker's death (batch runs and tuning trials use it)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from intergreen.workers import CrashSafePool, WorkerDied


def square(x: int) -> int:
    return x * x


def die_once(marker: str) -> str:
    """Kill the worker the first time (as the out-of-memory killer would), succeed after."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)
    return "second try"


def always_die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def fail(message: str) -> None:
    raise KeyError(message)


def drain(pool: CrashSafePool) -> dict:
    out = {}
    while pool.pending:
        for o in pool.wait(timeout=60):
            out[o.tag] = o
    return out


def test_a_killed_worker_costs_a_retry_not_the_pool(tmp_path: Path) -> None:
    """Jobs that kill their worker are found; the jobs beside them in the pool finish."""
    with CrashSafePool(2, max_crashes=2) as pool:
        pool.submit("once", die_once, str(tmp_path / "marker"))
        pool.submit("always", always_die)
        for i in range(4):
            pool.submit(i, square, i)
        pool.submit("always too", always_die)
        for i in range(4, 8):
            pool.submit(i, square, i)
        with pytest.raises(ValueError, match="already pending"):
            pool.submit(0, square, 9)
        out = drain(pool)
    assert out["once"].result == "second try" and out["once"].error is None
    for tag in ("always", "always too"):
        assert isinstance(out[tag].error, WorkerDied)
        assert "died 2 times running it alone" in str(out[tag].error)
    assert {i: out[i].result for i in range(8)} == {i: i * i for i in range(8)}
    assert all(out[i].error is None for i in range(8))
    assert pool.pending == 0


def test_by_default_a_job_that_kills_its_worker_alone_is_given_up() -> None:
    with CrashSafePool(1) as pool:
        pool.submit("always", always_die)
        pool.submit("fine", square, 5)
        out = drain(pool)
    assert str(out["always"].error) == "its worker process died once running it alone (killed?)"
    assert out["fine"].result == 25


def test_a_jobs_own_error_comes_back_and_the_pool_goes_on() -> None:
    with CrashSafePool(1, start_method="spawn") as pool:
        pool.submit("bad", fail, "no such key")
        pool.submit("good", square, 3)
        out = drain(pool)
    assert isinstance(out["bad"].error, KeyError) and out["good"].result == 9


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="workers=0"):
        CrashSafePool(0)


def _environment(name: str) -> tuple[str | None, list[str]]:
    import sys

    return os.environ.get(name), sys.path


def test_workers_see_the_environment_and_path_of_their_pools_making(tmp_path: Path) -> None:
    """A forkserver started by an earlier pool keeps the environment of its start; a later
    pool's workers must still see what the owner set since (e.g. a reward module named by
    --reward-module: its name in $INTERGREEN_REWARD_MODULES, its folder on sys.path)."""
    import sys

    name = "INTERGREEN_TEST_WORKER_ENV"
    with CrashSafePool(1) as pool:  # starts the forkserver (if none runs yet)
        pool.submit("before", _environment, name)
        assert pool.wait()[0].result[0] is None
    os.environ[name] = "set later"
    sys.path.insert(0, str(tmp_path))
    try:
        with CrashSafePool(1) as pool:
            pool.submit("after", _environment, name)
            value, path = pool.wait()[0].result
    finally:
        del os.environ[name]
        sys.path.remove(str(tmp_path))
    assert value == "set later" and str(tmp_path) in path


def _pids() -> tuple[int, int]:
    return os.getpid(), os.getppid()  # the worker and its forkserver


def _own_a_pool_and_wait(out: str) -> None:
    """A pool's owner that gets killed: it writes its worker's and forkserver's pids, then
    waits to be killed (with its pool open)."""
    import time

    pool = CrashSafePool(1)
    pool.submit("pids", _pids)
    worker, forkserver = pool.wait()[0].result
    Path(out).write_text(f"{worker} {forkserver}")
    time.sleep(600)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_workers_and_their_forkserver_end_when_the_owner_is_killed(tmp_path: Path) -> None:
    """An owner killed with SIGKILL (a session's end, the out-of-memory killer) leaves no
    worker behind waiting for jobs (and so no forkserver held open by one)."""
    import multiprocessing as mp
    import time

    out = tmp_path / "pids"
    owner = mp.get_context("spawn").Process(target=_own_a_pool_and_wait, args=(str(out),))
    owner.start()
    deadline = time.monotonic() + 120
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    worker, forkserver = map(int, out.read_text().split())
    assert _alive(worker) and _alive(forkserver)
    os.kill(owner.pid, signal.SIGKILL)
    owner.join()
    deadline = time.monotonic() + 20
    while (_alive(worker) or _alive(forkserver)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker) and not _alive(forkserver)


#: An owner with two workers, one running a long job and one idle, that says "ready" once both
#: have started and exits with 130 on Ctrl-C (the pool stopped by its context manager).
_CTRL_C_OWNER = """
import sys, time
from intergreen.workers import CrashSafePool
try:
    with CrashSafePool(2) as pool:
        pool.submit("long", time.sleep, 60)
        pool.submit("short", time.sleep, 0.1)
        while len(pool.wait(timeout=30)) == 0:
            pass
        print("ready", flush=True)
        while pool.pending:
            pool.wait()
except KeyboardInterrupt:
    print("owner interrupted", flush=True)
    sys.exit(130)
"""


def test_ctrl_c_stops_busy_and_idle_workers_without_tracebacks() -> None:
    """Ctrl-C in a terminal reaches the owner and every worker: the idle worker (waiting for
    a job) ignores it and the busy one's job stops, so that no worker prints a traceback; the
    owner stops the pool and nothing is left running."""
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-c", _CTRL_C_OWNER],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.default_int_handler),
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        children = _children(proc.pid)
        time.sleep(0.5)  # the short job's worker back at its queue
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert "owner interrupted" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in children)


def _children(pid: int) -> list[int]:
    """The pids of every descendant of ``pid`` (from /proc)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            listed = task / "children"
            children = listed.read_text().split() if listed.exists() else []
            found += [int(c) for c in children]
            todo += [int(c) for c in children]
    return found


@pytest.mark.parametrize("load_intergreen", [False, True])
def test_no_raw_resource_tracker_warning_after_killed_workers(load_intergreen, tmp_path) -> None:
    """An interrupted compare printed multiprocessing's "There appear to be 5 leaked semaphore
    objects to clean up at shutdown" as a raw warning after its own last line. A process that
    dies holding a semaphore shows it (without intergreen: the check can fail); with
    intergreen.workers loaded, the tracker it starts filters it."""
    import subprocess
    import sys
    import time

    script = tmp_path / "leak.py"
    script.write_text(
        "import os, multiprocessing as mp\n"
        + ("import intergreen.workers\n" if load_intergreen else "")
        + "lock = mp.get_context('spawn').Lock()\nos._exit(0)\n"
    )
    err = tmp_path / "err.txt"
    with open(err, "w") as f:
        subprocess.run([sys.executable, str(script)], stderr=f, check=False)
    for _ in range(50):  # the tracker outlives the process a moment, writing to its stderr
        if "leaked semaphore" in err.read_text():
            break
        time.sleep(0.1)
    assert ("leaked semaphore" in err.read_text()) is (not load_intergreen)
