"""Jobs that must run in different worker processes at the same time meet here first."""

from __future__ import annotations

import os
import time
from pathlib import Path


def meet(folder: str | Path, n: int, timeout_s: float = 120.0) -> int:
    """Note this process in ``folder`` and wait until ``n`` processes have: ``n`` jobs that
    all call it run in ``n`` different processes at once (one process cannot be in two). The
    pid; TimeoutError after ``timeout_s``."""
    here = Path(folder)
    (here / str(os.getpid())).touch()
    deadline = time.monotonic() + timeout_s
    while len(list(here.iterdir())) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{n} processes did not meet in {folder} within {timeout_s:g} s")
        time.sleep(0.05)
    return os.getpid()
