"""Shipped junctions by name, or a user's junction YAML by path."""

from __future__ import annotations

from difflib import get_close_matches
from pathlib import Path

from intergreen.junctions.spec import JunctionSpec, SpecError, load_spec

LIBRARY = Path(__file__).parent / "library"


def junction_names() -> list[str]:
    return sorted(p.name for p in LIBRARY.iterdir() if (p / "junction.yaml").is_file())


def junction_path(name: str) -> Path:
    """The junction.yaml of a shipped junction name, or a path given by the user."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise SpecError(f"junction file {name} does not exist")
        return path
    if path.is_dir() and (path / "junction.yaml").is_file():
        return path / "junction.yaml"
    candidate = LIBRARY / name / "junction.yaml"
    if candidate.is_file():
        return candidate
    names = junction_names()
    close = get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise SpecError(
        f"unknown junction {name!r}{hint}: use one of {', '.join(names)} or a path to a "
        "junction YAML"
    )


def resolve_junction(junction: str | Path | JunctionSpec) -> JunctionSpec:
    """A JunctionSpec from a spec, a shipped junction's name, or a YAML path."""
    if isinstance(junction, JunctionSpec):
        return junction
    return load_spec(junction_path(str(junction)))
