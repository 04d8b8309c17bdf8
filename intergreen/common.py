"""Small helpers shared by the commands: durations, writable output folders, ranges."""

from __future__ import annotations

import re
from pathlib import Path

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


def parse_duration(text: str) -> float | None:
    """Seconds in ``'90s'``, ``'30m'``, ``'2h'``, ``'1h30m'``, ``'1.5d'``; None if it is no
    such duration (a bare number is not: callers decide what that means)."""
    s = str(text).strip().lower().replace("_", "")
    if not s or not re.fullmatch(r"(\d+(\.\d+)?[dhms])+", s):
        return None
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(s))


def span(lo: int, hi: int) -> str:
    """``'30'`` or ``'30–90'``: a count that may vary, for reports."""
    return str(lo) if lo == hi else f"{lo}–{hi}"


def ensure_writable(folder: Path, option: str = "--out") -> None:
    """Create ``folder`` if needed and check a file can be written there, before any work."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise NotWritableError(
            f"{option} {folder}: cannot write there ({e.strerror or e})"
        ) from None


class NotWritableError(ValueError):
    """An output folder cannot be created or written."""
