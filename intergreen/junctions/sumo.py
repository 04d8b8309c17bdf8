"""Where SUMO lives: SUMO_HOME, its binaries and tools, with clear errors when missing."""

from __future__ import annotations

import os
import shutil
from functools import cache
from pathlib import Path

from intergreen.errors import IntergreenError


class SumoNotFound(IntergreenError, RuntimeError):
    """SUMO (or one of its tools) is not installed where we look."""


FIX = "install it with `pip install eclipse-sumo libsumo traci sumolib` or set SUMO_HOME"


@cache
def sumo_home() -> Path:
    """The SUMO installation: the eclipse-sumo package, else $SUMO_HOME.

    The package comes first because importing libsumo points SUMO_HOME at the
    data-only ``sumo_data`` package, which has no binaries or tools.
    """
    try:
        import sumo  # the eclipse-sumo wheel

        home = str(sumo.SUMO_HOME)
    except ImportError:
        home = os.environ.get("SUMO_HOME", "")
    if not home or not Path(home).is_dir():
        raise SumoNotFound(f"SUMO not found (SUMO_HOME={home or 'unset'}): {FIX}")
    os.environ.setdefault("SUMO_HOME", home)
    return Path(home)


def sumo_binary(name: str = "sumo") -> str:
    """Path of a SUMO binary (sumo, sumo-gui, netconvert, ...)."""
    candidate = sumo_home() / "bin" / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise SumoNotFound(f"SUMO binary {name!r} not found under {sumo_home() / 'bin'}: {FIX}")


def sumo_tool(relative: str) -> Path:
    """Path of a script in SUMO's tools folder, e.g. ``routeSampler.py``."""
    path = sumo_home() / "tools" / relative
    if not path.is_file():
        raise SumoNotFound(f"SUMO tool {relative} not found under {sumo_home() / 'tools'}: {FIX}")
    return path


def libsumo_getter(conn, domain: str, name: str):
    """libsumo's compiled ``<domain>_<name>`` function where it exposes one, else the
    wrapper ``conn.<domain>.<name>``: the Python wrapper costs about as much again per call,
    and per-step reads are made every simulation step. Look it up once per run."""
    compiled = getattr(getattr(conn, "_libsumo", None), f"{domain}_{name}", None)
    return compiled or getattr(getattr(conn, domain), name)
