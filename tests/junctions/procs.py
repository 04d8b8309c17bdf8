"""Child processes of the test process, read from /proc (to catch leaked SUMO servers)."""

from __future__ import annotations

import os
from pathlib import Path


def sumo_children() -> list[tuple[int, str, str]]:
    """(pid, name, state) of this process's child processes whose name starts with sumo."""
    me = os.getpid()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == me and name.startswith("sumo"):
            out.append((int(entry.name), name, state))
    return out
