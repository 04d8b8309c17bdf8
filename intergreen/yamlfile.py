"""The one YAML reader of the project: safe, and strict about repeated keys.

Every YAML file intergreen reads (junctions, demand assumptions and profiles, experiment
grids, agent presets, ...) goes through :func:`read_yaml`. PyYAML's own ``safe_load`` keeps
the last of two equal keys in a mapping without a word, so ``timing: {amber: 3.0, amber:
0.6}`` would run with a 0.6 s amber; here it is refused with the file, the line and the key.
Keys brought in by a YAML merge (``<<: *base``) may be overridden, as YAML intends.

A leaf module: it imports nothing of intergreen but the error base.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from intergreen.errors import IntergreenError

__all__ = ["YamlError", "parse_yaml", "read_yaml"]

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlError(IntergreenError, ValueError):
    """A YAML file cannot be read, is malformed or repeats a key; the message names the file
    and the line."""


class _DuplicateKey(ConstructorError):
    """A mapping repeats a key."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping with a repeated key."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: SafeLoader reports it below
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise _DuplicateKey(
                        None,
                        None,
                        f"duplicate key {key!r} (first given on line {first}); keep one",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str = "<string>") -> Any:
    """The data of a YAML document; ``source`` names it in errors.

    Raises YamlError ``"SOURCE: line N: PROBLEM"`` for malformed YAML or a repeated key.
    """
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        if not isinstance(e, _DuplicateKey):
            problem = f"malformed YAML ({problem})"
        raise YamlError(f"{source}:{where} {problem}") from None


def read_yaml(path: str | Path) -> Any:
    """Read and parse a YAML file. Raises YamlError naming the file (and the line) when it
    cannot be read, is malformed or repeats a key in a mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise YamlError(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise YamlError(f"{path}: not a UTF-8 text file ({e.reason})") from None
    return parse_yaml(text, str(path))
