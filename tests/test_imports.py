"""The import graph of the tap and the benchmark has no circle.

Every import counts, those under ``if TYPE_CHECKING:`` or inside a function too: a reader
cannot take one module of a circle without the others, whenever the import runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("tap_kustomer", "benchmarks")


def module_files() -> dict[str, Path]:
    """Each module and package of ``PACKAGES`` by dotted name (a package is its ``__init__``)."""
    files = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            files[".".join(parts)] = path
    return files


def known(name: str, modules: set[str]) -> str | None:
    """``name``, or the closest package of it, that is one of ``modules``."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imported(name: str, path: Path, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that module ``name`` (at ``path``) imports."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets.update(known(alias.name, modules) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parent = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parent, *([node.module] if node.module else [])])
            # ``from package import module`` imports the module; a name imports its module.
            targets.update(known(f"{base}.{alias.name}", modules) for alias in node.names)
    return {target for target in targets if target is not None and target != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imported(name, path, set(files)) for name, path in files.items()}


def tangles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The groups of modules that each reach one another (Tarjan), two or more each."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            cut = stack.index(node)
            group = set(stack[cut:])
            del stack[cut:]
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    msg = f"no circle through {start}"
    raise AssertionError(msg)


def test_graph_sees_the_packages():
    graph = import_graph()
    assert "tap_kustomer.run" in graph["tap_kustomer.tap"]
    assert "tap_kustomer.streams" in graph["tap_kustomer.tap"]  # a package
    assert "tap_kustomer.schemas_objects" in graph["tap_kustomer.streams.objects"]  # from package
    assert "tap_kustomer.streams.base" in graph["tap_kustomer.streams.feed"]  # TYPE_CHECKING
    assert "benchmarks.common" in graph["benchmarks.runner"]  # relative
    assert "benchmarks.runner" in graph["benchmarks.measurement"]  # relative, TYPE_CHECKING
    assert "benchmarks" in graph["benchmarks.__main__"]  # from . import


def test_tangles_and_their_circles():
    graph = {"a": {"b"}, "b": {"c", "d"}, "c": {"a", "b"}, "d": set(), "e": {"e"}}
    assert tangles(graph) == [{"a", "b", "c"}]
    assert circle(graph, {"a", "b", "c"}) == ["a", "b", "c", "a"]
    assert tangles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle():
    graph = import_graph()
    found = [
        f"{' -> '.join(circle(graph, group))} (tangled: {', '.join(sorted(group))})"
        for group in tangles(graph)
    ]
    assert not found, "import circles:\n" + "\n".join(found)
