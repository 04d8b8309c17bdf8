"""Junction files: shipped junctions by name, RESCO's scenarios by ``resco:NAME``, a user's
junction YAML by path (geometry, or a SUMO network with ``network:``), and loading them.

:mod:`intergreen.junctions.spec` validates a mapping into a JunctionSpec; this module finds
and reads the files (through the project's one YAML reader, which refuses repeated keys),
including the ``extends:`` chain of a variant, so that spec.py does no I/O and imports
nothing back from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from intergreen.errors import OptionError, did_you_mean
from intergreen.junctions import resco
from intergreen.junctions.imported import is_imported, load_imported
from intergreen.junctions.imported_yaml import profile_name
from intergreen.junctions.spec import JunctionSpec, SpecError, parse_spec, stated_below_minimum
from intergreen.yamlfile import YamlError
from intergreen.yamlfile import read_yaml as _read_yaml

LIBRARY = Path(__file__).parent / "library"


def read_yaml(path: str | Path) -> Any:
    """A junction or demand YAML file's data. Raises SpecError naming the file (and line)
    when it cannot be read, is malformed, or repeats a key."""
    try:
        return _read_yaml(path)
    except YamlError as e:
        raise SpecError(str(e)) from None


def junction_names() -> list[str]:
    """The shipped junctions' names (``gm_a56``, ...)."""
    return sorted(p.name for p in LIBRARY.iterdir() if (p / "junction.yaml").is_file())


def resco_names() -> list[str]:
    """RESCO's scenarios by name (``resco:cologne1``, ...); ``resco:NAME:PROFILE`` runs one
    under another rule profile."""
    return [f"{resco.PREFIX}{name}" for name in resco.SCENARIOS]


def junction_path(name: str) -> Path:
    """The junction.yaml of a shipped junction name, or a path given by the user."""
    path = Path(name)
    if name.endswith((".net.xml", ".net.xml.gz")):
        raise SpecError(
            f"{name}: a SUMO network, not a junction: import it first (`intergreen junctions "
            f"import {name} --out DIR`), then give DIR"
        )
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise SpecError(f"junction file {name} does not exist")
        return path
    if path.is_dir() and (path / "junction.yaml").is_file():
        return path / "junction.yaml"
    candidate = LIBRARY / name / "junction.yaml"
    if candidate.is_file():
        return candidate
    if path.is_dir():
        raise SpecError(
            f"{name}: the folder holds no junction.yaml; give a junction YAML or the folder of "
            f"one (`intergreen junctions import NET.net.xml --out {name}` makes one from a SUMO "
            "network)"
        )
    names = junction_names()
    hint = did_you_mean(name, names + resco_names())
    raise SpecError(
        f"unknown junction {name!r}{hint}: use one of {', '.join(names + resco_names())} "
        f"({resco.PREFIX}NAME:uk under UK rules), or a junction YAML or its folder "
        "(`intergreen junctions import` makes one from a SUMO network)"
    )


def junction_file(name: str) -> Path | None:
    """The absolute path (symbolic links resolved) of the user's junction YAML that ``name``
    names, a YAML path or its folder (relative to the current folder, as given); None for a
    shipped junction's name or RESCO's ``resco:NAME`` (those are names, the same from every
    folder) and for a name that names no junction here. A run records it beside the name it
    was given (intergreen.agents.rundir), so that it can be used from any folder."""
    if name.startswith(resco.PREFIX):
        return None
    try:
        path = junction_path(name)
    except SpecError:
        return None
    shipped = not Path(name).is_absolute() and path == LIBRARY / name / "junction.yaml"
    return None if shipped else path.resolve()


def junction_of_record(name: str, file: Any = None) -> str:
    """The junction a record names: ``file``, the absolute path it recorded with
    :func:`junction_file` (a run's config.json ``junction_file``, a batch's grid.json), where
    that file exists, else ``name`` as it was given (a shipped junction's name, or a path
    relative to the folder the record was made in, as records made before ``junction_file``
    hold it: found from that folder only)."""
    return file if isinstance(file, str) and Path(file).is_file() else name


def junction_found(name: str) -> bool:
    """Whether ``name`` names a junction from the current folder: a shipped one, RESCO's
    ``resco:NAME`` (its own checks when it loads), or a junction YAML path or folder that
    exists (:func:`junction_path`)."""
    if name.startswith(resco.PREFIX):
        return True
    try:
        junction_path(name)
    except SpecError:
        return False
    return True


def load_spec(path: str | Path) -> JunctionSpec:
    """Load and validate a junction YAML file.

    A file with ``extends: NAME`` (a shipped junction, or a YAML path relative to the file)
    is a variant: its keys override the base's, mappings merged key by key, e.g. a base
    junction with maximum greens added to two stages. Raises SpecError naming the file.
    """
    path = Path(path)
    data = _read_variant(path, ())
    spec = parse_spec(data, str(path))
    spec._folder = path.parent
    spec._raised = stated_below_minimum(data)
    return spec


def resolve_junction(junction: str | Path | JunctionSpec) -> JunctionSpec:
    """A JunctionSpec from a spec, a shipped junction's name, ``resco:NAME`` or a YAML path."""
    if isinstance(junction, JunctionSpec):
        return junction
    name = str(junction)
    if name.startswith(resco.PREFIX):
        scenario, _, profile = name.removeprefix(resco.PREFIX).partition(":")
        if profile and scenario in resco.SCENARIOS:  # a name, where no profile can be inline
            plain = f"{resco.PREFIX}{scenario}"
            try:
                profile_name(profile, name, form=plain + ":{}", also=[f"{plain} (RESCO's own)"])
            except OptionError as e:
                raise SpecError(str(e)) from None
        return resco.junction(name.removeprefix(resco.PREFIX))
    path = junction_path(name)
    data = read_yaml(path)
    if is_imported(data):
        return load_imported(data, path.parent, str(path))
    return load_spec(path)


def _read_variant(path: Path, seen: tuple[Path, ...]) -> Any:
    """A junction YAML's mapping with its ``extends:`` chain merged in (base first)."""
    data = read_yaml(path)
    if not isinstance(data, dict) or data.get("extends") is None:
        return data
    base = data["extends"]
    relative = path.parent / str(base)
    try:
        base_path = junction_path(str(relative) if relative.exists() else str(base))
    except SpecError as e:
        raise SpecError(f"{path}: extends: {e}") from None
    seen = (*seen, path.resolve())
    if base_path.resolve() in seen:
        raise SpecError(f"{path}: extends: {base!r} leads back to itself; remove the cycle")
    base_data = _read_variant(base_path, seen)
    if not isinstance(base_data, dict):
        raise SpecError(f"{base_path}: expected a mapping at the top level")
    merged = _merge(base_data, data)
    merged["extends"] = str(base_data.get("name", base))
    return merged


def _merge(base: dict[Any, Any], override: dict[Any, Any]) -> dict[Any, Any]:
    """``base`` with ``override``'s keys: mappings merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
