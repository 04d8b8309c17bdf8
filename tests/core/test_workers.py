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
    with CrashSafePool(2) as pool:
        pool.submit("once", die_once, str(tmp_path / "marker"))
        pool.submit("always", always_die)
        for i in range(4):
            pool.submit(i, square, i)
        with pytest.raises(ValueError, match="already pending"):
            pool.submit(0, square, 9)
        out = drain(pool)
    assert out["once"].result == "second try" and out["once"].error is None
    assert isinstance(out["always"].error, WorkerDied)
    assert "died 2 times" in str(out["always"].error)
    assert {i: out[i].result for i in range(4)} == {0: 0, 1: 1, 2: 4, 3: 9}
    assert pool.pending == 0


def test_a_jobs_own_error_comes_back_and_the_pool_goes_on() -> None:
    with CrashSafePool(1, start_method="spawn") as pool:
        pool.submit("bad", fail, "no such key")
        pool.submit("good", square, 3)
        out = drain(pool)
    assert isinstance(out["bad"].error, KeyError) and out["good"].result == 9


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="workers=0"):
        CrashSafePool(0)
