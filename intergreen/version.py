"""The package version (``intergreen.__version__`` re-exports it).

A leaf module: runs record the version in their configuration and run keys, so that a report
never mixes, and a batch never resumes over, runs made by different versions. Read from the
``pyproject.toml`` beside the package when there is one (a source checkout, whose editable
install keeps in its metadata the version it was installed with), else from the installed
distribution's metadata.
"""

from __future__ import annotations

import platform
import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["SOFTWARE", "__version__", "software_versions"]

#: The installed distributions whose versions a run records beside intergreen's: SUMO (the
#: simulator and the libsumo/TraCI bindings), the learner's stack, and sumo-rl (RESCO's
#: networks). Their results depend on them: another SUMO release moves vehicles differently.
SOFTWARE = ("eclipse-sumo", "libsumo", "traci", "stable-baselines3", "torch", "gymnasium",
            "numpy", "sumo-rl")  # fmt: skip


def _source_version() -> str | None:
    """The version in the pyproject.toml of the source tree this package sits in, if any."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text())["project"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None
    return str(project["version"]) if project.get("name") == "intergreen" else None


def _installed_version() -> str:
    try:
        return version("intergreen")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "0+unknown"


__version__: str = _source_version() or _installed_version()


@cache
def software_versions() -> dict[str, str]:
    """``{"python": "3.11.7", "eclipse-sumo": "1.28.0", ...}``: Python's version and those of
    the :data:`SOFTWARE` distributions installed here (one not installed is left out). Read
    from the installed metadata, without importing them."""
    out = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out
