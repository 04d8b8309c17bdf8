"""The package's import graph keeps the layering of docs/design.md and has no cycles.

The graph comes from an AST walk of every module, imports inside functions and under
``TYPE_CHECKING`` included (a cycle hidden in a function is still a cycle). ``from P import N``
depends on package ``P``'s namespace (its ``__init__``) as well as on ``P.N`` when ``N`` is a
submodule; ``import P.N`` and ``from P.N import x`` depend on ``P.N``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "intergreen"

#: Layers of docs/design.md ("Data flow and layering"), lowest first.
LEAF = {"intergreen.errors", "intergreen.common", "intergreen.version", "intergreen.frames",
        "intergreen.yamlfile", "intergreen.workers", "intergreen.seeds",
        "intergreen.worker_warnings"}  # fmt: skip
PART_LAYER = {"rewards": 2, "junctions": 3, "agents": 4, "calibration": 4, "experiments": 5,
              "tuning": 5}  # fmt: skip
#: The CARBS core: imports nothing of intergreen but itself and the leaf helpers.
CARBS_CORE = {f"intergreen.tuning.{m}" for m in (
    "acquisition", "carbs", "config", "errors", "gp", "pareto", "search_space", "state",
    "transforms")}  # fmt: skip

#: Imports that close a cycle still being removed, each with the issue item that removes it
#: (empty since issue 18 item 10 is done: keep it so). The graph without them must be acyclic;
#: an entry that no longer closes a cycle fails the test, so that the list only shrinks.
ALLOWED_CYCLE_EDGES: dict[tuple[str, str], str] = {}
#: Imports that break the layering, with the issue item that removes them (same rule).
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def imports_of(name: str) -> Iterator[tuple[str, int]]:
    """(imported intergreen module, line) for every import statement of module ``name``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    package = name if is_package(name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if not target.startswith("intergreen"):
                continue
            yield from _known(target, node.lineno)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, node.lineno


def _known(target: str, line: int) -> Iterator[tuple[str, int]]:
    """The deepest module of the project that ``target`` names."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    if target.startswith("intergreen"):
        yield target, line


def build_graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for name in MODULES:
        edges: dict[str, int] = {}
        for target, line in imports_of(name):
            if target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


GRAPH = build_graph()


def layer(name: str) -> tuple[float, str]:
    """(layer number, part) of a module: part is the subpackage, or the module itself."""
    if name == "intergreen":
        return 7, "intergreen"
    if name in LEAF:
        return 1, "leaf"
    if name == "intergreen.cli_common":
        return 6.0, "cli_common"
    if name == "intergreen.cli":
        return 6.2, "cli"
    if name == "intergreen.__main__":  # python -m intergreen: runs the command line
        return 6.3, "__main__"
    part = name.split(".")[1]
    if name.endswith(".cli"):
        return 6.1, name
    return PART_LAYER[part], part


def allowed(source: str, target: str) -> bool:
    """May ``source`` import ``target``? Within its own part, or a lower layer."""
    if target == "intergreen":  # the public API imports (lazily) from everything
        return False
    (source_layer, source_part), (target_layer, target_part) = layer(source), layer(target)
    return source_part == target_part or target_layer < source_layer


def cycles(graph: dict[str, dict[str, int]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer() -> None:
    assert len(MODULES) > 50
    for name in MODULES:
        layer(name)  # a KeyError names a new top-level part missing from PART_LAYER


def without(graph: dict[str, dict[str, int]], edges) -> dict[str, dict[str, int]]:
    return {s: {t: line for t, line in e.items() if (s, t) not in edges} for s, e in graph.items()}


def test_no_import_cycles() -> None:
    found = [sorted(c) for c in cycles(without(GRAPH, ALLOWED_CYCLE_EDGES))]
    assert found == [], f"import cycles (move the shared code down to a leaf): {found}"
    stale = [
        reason
        for edge, reason in ALLOWED_CYCLE_EDGES.items()
        if edge[1] not in GRAPH[edge[0]]
        or not cycles(without(GRAPH, {e for e in ALLOWED_CYCLE_EDGES if e != edge}))
    ]
    assert stale == [], f"no longer closing a cycle, remove from ALLOWED_CYCLE_EDGES: {stale}"


def test_imports_point_down_the_layers() -> None:
    """A module imports its own part, or lower layers (docs/design.md); leaf helpers import
    only each other; nothing imports the public-API package ``intergreen`` itself."""
    wrong = []
    for source, edges in GRAPH.items():
        for target, line in edges.items():
            if not allowed(source, target) and (source, target) not in ALLOWED_UPWARD:
                wrong.append(f"{MODULES[source].relative_to(ROOT)}:{line} imports {target}")
    assert wrong == []
    stale = [k for k in ALLOWED_UPWARD if k[1] not in GRAPH[k[0]]]
    assert stale == [], f"remove from ALLOWED_UPWARD: {stale}"


def test_the_carbs_core_imports_nothing_of_intergreen() -> None:
    wrong = [
        f"{source} imports {target}"
        for source in CARBS_CORE
        for target in GRAPH[source]
        if target not in CARBS_CORE and target not in {"intergreen.errors", "intergreen.common"}
    ]
    assert wrong == []


def test_leaf_helpers_import_only_each_other() -> None:
    for source in LEAF | {"intergreen.cli_common"}:
        assert set(GRAPH[source]) <= LEAF, source


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import intergreen.junctions.env", {"intergreen.junctions.env"}),
        ("from intergreen.experiments import stats", {"intergreen.experiments",
                                                      "intergreen.experiments.stats"}),
        ("from intergreen.junctions.spec import SpecError", {"intergreen.junctions.spec"}),
        ("def f():\n    from . import carbs", {"intergreen.tuning", "intergreen.tuning.carbs"}),
        ("def f():\n    from .state import x", {"intergreen.tuning.state"}),
    ],
)  # fmt: skip
def test_the_walk_sees_every_kind_of_import(source: str, expected: set[str], tmp_path) -> None:
    """The graph would miss cycles if the walk missed imports inside functions or relative
    ones; checked on a module written for the purpose."""
    path = PACKAGE / "tuning" / "_probe_for_test.py"
    name = "intergreen.tuning._probe_for_test"
    tree_text = source
    MODULES[name] = tmp_path / "_probe_for_test.py"
    MODULES[name].write_text(tree_text)
    try:
        assert {t for t, _ in imports_of(name)} == expected
    finally:
        del MODULES[name]
    assert not path.exists()


def test_a_new_cycle_fails() -> None:
    graph = {k: dict(v) for k, v in GRAPH.items()}
    graph["intergreen.errors"]["intergreen.cli"] = 1  # the leaf importing the top
    assert any("intergreen.errors" in c for c in cycles(graph))
