"""Leaf helpers shared across the package: atomic writes, durations, writable folders, ranges.

A leaf module: it imports nothing of intergreen but :mod:`intergreen.errors`, so every layer
may use it (see ``docs/design.md``, "Layering").
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

from intergreen.errors import IntergreenError

__all__ = [
    "NotWritableError",
    "atomic_path",
    "atomic_write",
    "ensure_writable",
    "parse_duration",
    "span",
]

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dhms])")


def parse_duration(text: str | float, *, bare_seconds: bool = False) -> float | None:
    """Seconds in a duration such as ``'90s'``, ``'30m'``, ``'2h'``, ``'1h30m'``, ``'1.5d'``.

    Args:
        text: the duration; units d, h, m, s, summed (``'1h30m'`` is 5400 s); ``_`` ignored.
        bare_seconds: read a plain number (``'90'``, ``'2.5'``) as seconds. Without it a plain
            number is no duration (callers that give it another meaning, such as a tuning
            budget in cost units, decide what it is).

    Returns:
        The duration in seconds (>= 0), or None when ``text`` is no such duration.
    """
    s = str(text).strip().lower().replace("_", "")
    if bare_seconds:
        with contextlib.suppress(ValueError):
            value = float(s)
            return value if value == value and abs(value) != float("inf") else None
    if not s or not re.fullmatch(r"(\d+(\.\d+)?[dhms])+", s):
        return None
    return sum(float(n) * _UNITS[u] for n, u in _DURATION.findall(s))


def span(lo: int, hi: int) -> str:
    """``'30'`` or ``'30–90'``: a count that may vary, for reports."""
    return str(lo) if lo == hi else f"{lo}–{hi}"


class NotWritableError(IntergreenError, ValueError):
    """An output folder cannot be created or written."""


def ensure_writable(folder: Path, option: str = "--out") -> None:
    """Create ``folder`` if needed and check a file can be written there, before any work.

    Raises:
        NotWritableError: naming ``option`` and the folder, when it cannot be written.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise NotWritableError(
            f"{option} {folder}: cannot write there ({e.strerror or e})"
        ) from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; it replaces ``path`` atomically.

    The one way the project writes a file that a crash must not leave half written::

        with atomic_path(run_dir / "model.zip") as tmp:
            model.save(tmp)

    The temporary file has a unique name in the same folder (so ``os.replace`` is atomic and
    concurrent writers never share it) and keeps ``path``'s suffix (libraries that append a
    missing suffix, such as stable-baselines3's ``save``, write to it unchanged). On a clean
    exit of the block it is flushed to disk (``fsync``) and renamed over ``path``; on an
    exception it is removed and ``path`` is left as it was. The parent folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def atomic_write(path: str | os.PathLike[str], data: str | bytes, encoding: str = "utf-8") -> None:
    """Write ``data`` (text or bytes) to ``path`` atomically: see :func:`atomic_path`."""
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            with open(tmp, "w", encoding=encoding, newline="") as f:
                f.write(data)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable where the platform allows (not on Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
