"""The package version, read once from the installed distribution's metadata.

A leaf module (``intergreen.__version__`` re-exports it): runs record it in their configuration
so that a report never mixes runs made by different versions.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("intergreen")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"
