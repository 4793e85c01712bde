"""The import graph has no cycles (issue 12): neither between modules nor between packages.

Every ``.py`` under api/, worker/, shared/ and web/ is parsed with ``ast``; every import counts,
also those inside functions (a deferred import hides a cycle, it does not remove it). The
packages ("rooms") are each top package's subpackages and modules: ``shared/<package>``,
``api/blueprints``, ``api/schemas``, ``web/dashboard``, ... (a module directly in a top package
is a room of its own). The API's blueprints register the web pages and the pages reuse the
API's request schemas: two rooms each way round, no circle. On failure the message shows
one cycle, edge by edge, with the import lines that make it.
"""
from __future__ import annotations

import ast
from collections import deque
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP = ("api", "worker", "shared", "web")

Edges = dict[str, dict[str, list[str]]]  # module -> imported module -> ["file:line: source"]


def _modules() -> dict[str, Path]:
    modules = {}
    for top in TOP:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module an imported name lives in (``shared.db.Base`` -> ``shared.db``)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_names(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = package.split(".")
        parts = parts[: len(parts) - node.level + 1]
        base = ".".join(parts + ([base] if base else []))
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def import_graph() -> Edges:
    modules = _modules()
    edges: Edges = {module: {} for module in modules}
    for module, path in modules.items():
        source = path.read_text()
        lines = source.splitlines()
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(source, str(path))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}"
            for name in _imported_names(node, package):
                target = _resolve(name, modules)
                # ``from . import sibling`` inside a package does not import the package.
                own_package = (isinstance(node, ast.ImportFrom) and target == package
                               and name != package)
                if target is None or target == module or own_package:
                    continue
                found = edges[module].setdefault(target, [])
                if where not in found:
                    found.append(where)
    return edges


def room(module: str) -> str:
    """A package's room: the top package's direct subpackage or module (``shared.payments``,
    ``api.blueprints``, ``web.dashboard``); a top package's ``__init__`` is a room of its own."""
    return ".".join(module.split(".")[:2])


def room_graph(edges: Edges) -> Edges:
    rooms: Edges = {}
    for module, targets in edges.items():
        here = rooms.setdefault(room(module), {})
        for target, where in targets.items():
            if room(target) != room(module):
                here.setdefault(room(target), []).extend(where)
    return rooms


def strongly_connected(graph: Edges) -> list[set[str]]:
    """Tarjan's algorithm, iteratively; only components with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(graph.get(start, {})))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(graph.get(nxt, {}))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def one_cycle(graph: Edges, component: set[str]) -> list[str]:
    """The shortest cycle through the component's first node (by name), as a node list."""
    start = min(component)
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph[node]):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if nxt in component and nxt not in parents:
                parents[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start}")  # cannot happen in a component


def describe(graph: Edges, components: list[set[str]]) -> str:
    out = []
    for component in components:
        cycle = one_cycle(graph, component)
        out.append(f"cycle: {' -> '.join(cycle)}  (component: {', '.join(sorted(component))})")
        for here, there in zip(cycle, cycle[1:], strict=False):
            out.append(f"  {here} -> {there}")
            out.extend(f"      {where}" for where in graph[here][there][:5])
    return "\n".join(out)


def test_no_module_imports_itself_through_others():
    edges = import_graph()
    cycles = strongly_connected(edges)
    assert not cycles, "module import cycles:\n" + describe(edges, cycles)


def test_no_cycle_between_packages():
    rooms = room_graph(import_graph())
    cycles = strongly_connected(rooms)
    assert not cycles, "package import cycles:\n" + describe(rooms, cycles)


def test_the_graph_sees_function_level_and_relative_imports():
    edges = import_graph()
    assert "shared.db" in edges["shared.models"]
    assert "shared.models" not in edges["shared.db"]  # the entry points import the registry
    assert room("shared.payments.models") == "shared.payments"
    assert room("shared.db") == "shared.db"
    assert room("api.blueprints.reports") == "api.blueprints"
    assert room("api") == "api"
    cycle = strongly_connected({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}, "d": {}})
    assert cycle == [{"a", "b", "c"}]
