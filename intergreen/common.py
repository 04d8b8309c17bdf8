"""Leaf helpers shared across the package: atomic writes, durations, writable folders, ranges.

A leaf module: it imports nothing of intergreen but :mod:`intergreen.errors`, so every layer
may use it (see ``docs/design.md``, "Layering").
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from intergreen.errors import IntergreenError, OptionError

__all__ = [
    "MAX_SIM_SECONDS",
    "NotWritableError",
    "atomic_folder",
    "atomic_path",
    "atomic_write",
    "check_finite",
    "check_sim_seconds",
    "ensure_writable",
    "ensure_writable_file",
    "field_changes",
    "print_table",
    "fmt_number",
    "fmt_spread",
    "folded_warnings",
    "warning_line",
    "made_public",
    "progress_bar",
    "read_json",
    "temp_folder",
    "parse_duration",
    "remove_stale_temporaries",
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


#: The most simulated time (s) one run or time window may cover: 7 days. SUMO runs roughly
#: an hour of a busy junction in seconds, so a week is already hours of wall time and an
#: episode's per-step records grow with it; a value above it (``--duration 100000000``,
#: ``--end 1e12``) is a slip that would run for ever, and is refused before anything runs.
MAX_SIM_SECONDS = 7 * 86400.0


def check_finite(value: float, option: str, fix: str) -> float:
    """``value`` (given with ``option``) when it is a finite number.

    Args:
        value: the value.
        option: what gave it, for the message: ``"--end"``.
        fix: what to give instead: ``"give the SUMO time the runs end, in s"``.

    Raises:
        OptionError: ``--end nan: not a number; FIX`` (``inf``: not a finite number).
    """
    if math.isfinite(value):
        return value
    what = "not a number" if math.isnan(value) else "not a finite number"
    raise OptionError(f"{option} {value:g}: {what}; {fix}")


def check_sim_seconds(value: float, option: str) -> float:
    """``value`` (simulated seconds given with ``option``) when it is finite and at most
    :data:`MAX_SIM_SECONDS`.

    Raises:
        OptionError: naming ``option``, the value and the bound.
    """
    if not value <= MAX_SIM_SECONDS:  # also NaN
        raise OptionError(
            f"{option} {float(value):.15g}: more than {MAX_SIM_SECONDS:g} s (7 days) of "
            f"simulated time, the most one run may cover (MAX_SIM_SECONDS); give a shorter one"
        )
    return value


def fmt_number(value: object, digits: int = 3) -> str:
    """A number as people read it: ``digits`` significant digits, and a power of ten only
    outside 0.001-99999 (``1.33e-4``, ``0.0133``, ``0.98``, ``12346``, ``2.05e6``);
    integers, booleans and non-numbers as they are (``1024``, ``True``, ``'tanh'``)."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if value == 0 or value != value or abs(value) == float("inf"):
        return f"{value:g}"
    if 1e-3 <= abs(value) < 1e5:
        text = f"{value:.{digits}g}"
        return text if "e" not in text else f"{value:.0f}"  # 999.5 -> 1000, 12345.6 -> 12346
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{int(exponent)}"


def first_repeat(items: Sequence[Any]) -> Any | None:
    """The first item of ``items`` that an earlier one equals (None when all differ): what a
    list of stages or demand levels names twice."""
    seen: list[Any] = []
    for item in items:
        if item in seen:
            return item
        seen.append(item)
    return None


def fmt_spread(mean: float, std: float | None, n: int, decimals: int = 2) -> str:
    """``mean ± std`` with ``decimals`` decimals; ``± n/a`` where the spread needs two samples
    (``n < 2``, or no std): a single episode has no spread, not a spread of 0."""
    spread = "n/a" if n < 2 or std is None or std != std else f"{std:.{decimals}f}"
    return f"{mean:.{decimals}f} ± {spread}"


def warning_line(message: Warning | str, filename: str) -> str:
    """The one line a command prints for a warning raised in ``filename``: ``warning
    (PACKAGE): MESSAGE``, the message's lines joined, the package that warned instead of its
    site-packages path and source line (stable-baselines3's four-line UserWarnings become one
    line each)."""
    parts = Path(filename).parts
    package = next(
        (
            parts[i + 1]
            for i in range(len(parts) - 1)
            if parts[i] in ("site-packages", "dist-packages")
        ),
        "intergreen" if _in_package(filename) else Path(filename).stem,
    )
    return f"warning ({package}): {' '.join(str(message).split())}"


def _print_warning(text: str, file: object = None) -> None:
    out = file if file is not None else sys.stderr
    with contextlib.suppress(OSError, ValueError):  # a closed stream: the warning is lost
        print(text, file=out, flush=True)  # type: ignore[call-overload]


def _in_package(filename: str) -> bool:
    """Whether ``filename`` is a module of this package (an editable install or a checkout,
    which is not under site-packages)."""
    with contextlib.suppress(OSError, ValueError):
        return Path(filename).resolve().is_relative_to(Path(__file__).resolve().parent)
    return False


@contextlib.contextmanager
def folded_warnings() -> Iterator[None]:
    """Within the block (a command: :mod:`intergreen.cli_common`), warnings print as
    :func:`warning_line` writes them, each line once (the filters and the previous printer come
    back after it). Python's own once-per-location record is not enough: it is forgotten
    whenever anything changes the warning filters (loading a trained model does), so a
    reward built again after that (``evaluate`` and ``simulate --controller`` build the run's
    reward for their checks, then in the episode's env; a worker's copy, replayed by
    :mod:`intergreen.worker_warnings`) printed its deprecation warning twice."""
    shown: set[str] = set()

    def show_once(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: object = None,
        line: str | None = None,
    ) -> None:
        text = warning_line(message, filename)
        if text not in shown:
            shown.add(text)
            _print_warning(text, file)

    with warnings.catch_warnings():
        warnings.showwarning = show_once
        yield


def json_safe(value: Any) -> Any:
    """``value`` (nested mappings, lists, tuples) with every NaN or infinite float as None,
    JSON's null: a bare ``NaN``, which Python's json writes by default, is not JSON and other
    readers (JavaScript's ``JSON.parse``) refuse it. Write with ``allow_nan=False``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def span(lo: int, hi: int) -> str:
    """``'30'`` or ``'30–90'``: a count that may vary, for reports."""
    return str(lo) if lo == hi else f"{lo}–{hi}"


def listing(items: Sequence[Any], limit: int, sep: str = ", ") -> str:
    """The first ``limit`` items joined by ``sep``, and how many more: ``'a, b and 3 more'``
    (for messages that name what is wrong without printing all of it)."""
    shown = sep.join(map(str, items[:limit]))
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


class NotWritableError(IntergreenError, ValueError):
    """An output folder cannot be created or written."""


#: Suffixes of the files the commands read and write: a new output folder named so is a
#: file meant (``--output sim.csv``), refused by :func:`ensure_writable`.
FILE_SUFFIXES = frozenset(
    {".csv", ".json", ".parquet", ".txt", ".xml", ".yaml", ".yml", ".png", ".html", ".md", ".zip"}
)


def ensure_writable(folder: Path, option: str = "--out") -> None:
    """Create ``folder`` if needed and check a file can be written there, before any work.

    Raises:
        NotWritableError: naming ``option`` and the folder, when it cannot be written (a file
            where the folder or one of its parents should be is named as such).
    """
    file = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if file is not None:
        what = "a file" if file == folder else f"{file} is a file"
        raise NotWritableError(f"{option} {folder}: {what}, not a folder; give a folder's path")
    if not folder.exists() and folder.suffix.lower() in FILE_SUFFIXES:
        raise NotWritableError(
            f"{option} {folder}: a folder is written there (several files), not a "
            f"{folder.suffix} file; give a folder's name, e.g. {folder.with_suffix('')}"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise NotWritableError(
            f"{option} {folder}: cannot write there ({e.strerror or e})"
        ) from None


def field_changes(old: Any, new: Any, skip: tuple[str, ...] = ()) -> list[str]:
    """How mapping ``new`` differs from ``old``, field by field (nested mappings dotted):
    ``["training.timesteps: 2000 -> 1500", "seed: null -> 3"]`` (values as JSON), sorted by
    path; top-level keys in ``skip`` are left out."""
    changes: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b), key=str):
                if path or k not in skip:
                    walk(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        elif a != b:
            changes.append(f"{path}: {json.dumps(a, default=str)} -> {json.dumps(b, default=str)}")

    walk(old, new, "")
    return changes


def ensure_writable_file(path: Path, option: str, example: str) -> None:
    """Check before any work that ``path`` can be written as a file: not a folder, ending in
    the suffix of ``example`` (a file name to suggest, ``eval.csv``: so that a script or a
    folder's name is never overwritten), its folder created if needed and writable.

    Raises:
        NotWritableError: naming ``option``, the path and the fix.
    """
    if path.is_dir():
        raise NotWritableError(
            f"{option} {path} is a folder; give a file path, e.g. {path / example}"
        )
    suffix = Path(example).suffix
    if path.suffix.lower() != suffix:  # a script or a folder's name: nothing is overwritten
        instead = path.with_suffix(suffix) if path.suffix else path.parent / f"{path.name}{suffix}"
        raise NotWritableError(
            f"{option} {path}: it is written as a {suffix} file; give a path ending in "
            f"{suffix}, e.g. {instead}"
        )
    ensure_writable(path.parent, option)


def print_table(console: Any, table: Any) -> None:
    """Print a rich ``table`` on ``console``; where that is not a terminal (a pipe or a file,
    which rich gives 80 columns), as wide as its cells need, so that no controller name or
    number is folded across lines (``vehicle-actuate`` / ``d``)."""
    if console.is_terminal:
        console.print(table)
        return
    from rich.console import Console
    from rich.measure import Measurement

    need = Measurement.get(console, console.options.update_width(10_000), table).maximum
    if need <= console.width:
        console.print(table)
        return
    # print(width=) cannot widen past the console's own width: a console as wide as the table
    Console(file=console.file, width=need, color_system=None, highlight=False).print(table)


def _umask() -> int:
    """The process umask, read without changing it where Linux shows it (``os.umask`` can
    only be read by setting it, which a concurrent thread's new file would see)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def made_public(path: Path) -> Path:
    """Give ``path`` the permissions a plain ``open``/``mkdir`` would (0666 / 0777 less the
    umask): :mod:`tempfile` makes files 0600 and folders 0700, which the user's other tools
    and colleagues then cannot read. Returns ``path``."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())
    return path


def temp_folder(parent: Path, prefix: str) -> Path:
    """A new uniquely named folder in ``parent`` (to fill, then rename into place), with the
    permissions of a plain ``mkdir`` (:func:`made_public`)."""
    return made_public(Path(tempfile.mkdtemp(dir=parent, prefix=prefix)))


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
    tmp = made_public(Path(name))
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_folder(path: Path, staging: Path | None = None) -> Iterator[Path]:
    """A new temporary folder to fill; on a clean exit of the block it is renamed to ``path``
    at once, so ``path`` never holds part of its files. ``staging``: where the temporary
    folder lives (default ``path``'s parent; give another folder on the same filesystem
    when readers glob the parent). On an exception it is removed and ``path`` left alone.

    Raises:
        OSError: ``path`` exists and is not an empty folder (the rename refuses it).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_folder(staging or path.parent, f".{path.name}.")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_folder(path.parent)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files :func:`atomic_path` left in ``folder`` (not below it) when
    its writer was killed (``.<stem>.<random>.tmp<suffix>``); for a folder no live writer is
    using, such as a killed run's before it resumes. Returns what was deleted."""
    stale = [p for p in folder.glob(".*.tmp*") if p.is_file() and _TEMPORARY.match(p.name)]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


_TEMPORARY = re.compile(r"^\.[^/]*\.[^./]+\.tmp(\.[^./]+)?$")


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON value in ``path``, or None when the file is missing or not valid JSON (a
    record that may not have been written yet; callers check the value's type)."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None


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


def progress_bar(
    label: str,
    unit: str = "",
    *,
    info: bool = False,
    enabled: bool = True,
    transient: bool = True,
    console: Any = None,
) -> Any:
    """The project's one progress bar (rich, on stderr, drawn on a terminal only): ``label``,
    the bar, done/total ``unit``, with ``info`` a text field (``update(task, info=...)``),
    elapsed time and the time left. A ``rich.progress.Progress``: use it as a context manager
    (or ``start()``/``stop()``); ``add_task(label, total=N)`` and ``update(task, completed=n)``
    move it. ``enabled=False`` draws nothing; ``transient`` clears it at the end."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = console or Console(stderr=True)
    columns: list[Any] = [TextColumn(f"[bold]{escape(label)}"), BarColumn(), MofNCompleteColumn()]
    columns.append(TextColumn(escape(unit)))
    if info:
        columns.append(TextColumn("{task.fields[info]}"))
    columns += [TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn()]
    return Progress(
        *columns,
        console=console,
        transient=transient,
        disable=not (enabled and console.is_terminal),
    )
