"""spec.py validates data and imports nothing back from catalog.py (which reads the files),
not even inside a function: the junctions.spec <-> junctions.catalog cycle stays gone."""

from __future__ import annotations

import ast
from pathlib import Path

import intergreen.junctions.spec as spec_module


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_spec_imports_no_other_intergreen_module() -> None:
    imported = _imports(Path(spec_module.__file__))
    assert not {m for m in imported if m.startswith("intergreen")}, imported


def test_yaml_reader_is_a_leaf() -> None:
    import intergreen.yamlfile as leaf

    assert not {m for m in _imports(Path(leaf.__file__)) if m.startswith("intergreen")}
