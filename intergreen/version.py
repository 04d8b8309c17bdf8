"""The package version (``intergreen.__version__`` re-exports it).

A leaf module: runs record the version in their configuration and run keys, so that a report
never mixes, and a batch never resumes over, runs made by different versions. Read from the
``pyproject.toml`` beside the package when there is one (a source checkout, whose editable
install keeps in its metadata the version it was installed with), else from the installed
distribution's metadata.
"""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["__version__"]


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
