"""The house rules on imports, read from the source (every import counts: top level, inside a function,
under TYPE_CHECKING): lower layers never reach up into the CLI, the CLI never imports the completer,
no two kubectl_ray modules import each other (directly or round a circle), commands stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kubectl_ray"
LOWER_LAYERS = ("kubectl_ray.kube", "kubectl_ray.resources", "kubectl_ray.ray", "kubectl_ray.debug")
BELOW_CLI = (*LOWER_LAYERS, "kubectl_ray.env", "kubectl_ray.names", "kubectl_ray.parsing", "kubectl_ray.printing",
             "kubectl_ray.errors", "kubectl_ray.websocket", "kubectl_ray.emitters", "kubectl_ray.safetar",
             "kubectl_ray.jsonpath")
MAX_COMMAND_LINES = 400

# Import circles still tolerated, as "every module of the circle lies in one of these": none since issue 15
# removed the last ones, so any circle fails here. An entry whose circle is gone fails
# test_known_cycles_still_exist, so an entry cannot outlive its circle.
KNOWN_CYCLES: dict[str, tuple[str, ...]] = {
}


def known(cycle: frozenset[str]) -> str | None:
    for label, scopes in KNOWN_CYCLES.items():
        if all(in_layer(module, scopes) for module in cycle):
            return label
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """module -> the kubectl_ray modules it imports (`from a import b` counts as a.b when b is a module)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                graph[name].update(alias.name for alias in node.names if alias.name in known)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in known:
                        graph[name].add(target)
                    elif node.module in known:
                        graph[name].add(node.module)
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Tarjan's algorithm, iterative; components of more than one module are import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            advanced = False
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
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
                    found.append(frozenset(component))
    return found


def in_layer(module: str, layers: tuple[str, ...]) -> bool:
    return any(module == layer or module.startswith(layer + ".") for layer in layers)


def test_lower_layers_never_import_the_cli_or_the_completer():
    graph = import_graph()
    offenders = {mod: sorted(dep for dep in deps if in_layer(dep, ("kubectl_ray.cli", "kubectl_ray.completion")))
                 for mod, deps in graph.items() if in_layer(mod, BELOW_CLI)}
    assert {mod: deps for mod, deps in offenders.items() if deps} == {}


def test_the_cli_never_imports_the_completer():
    graph = import_graph()
    offenders = {mod: sorted(deps) for mod, deps in graph.items()
                 if in_layer(mod, ("kubectl_ray.cli",)) and "kubectl_ray.completion" in deps}
    assert offenders == {}


def test_no_import_circles_beyond_the_known_ones():
    new = [sorted(c) for c in strongly_connected(import_graph()) if known(c) is None]
    assert new == []


def test_known_cycles_still_exist():
    """A circle removed by its owner should leave KNOWN_CYCLES too, so it cannot come back unnoticed."""
    present = {known(c) for c in strongly_connected(import_graph())}
    stale = sorted(label for label in KNOWN_CYCLES if label not in present)
    if stale:
        pytest.xfail(f"remove from KNOWN_CYCLES (the circle is gone): {stale}")


def test_the_cycle_finder_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [frozenset({"a", "b", "c"})]


@pytest.mark.parametrize("path", sorted((PACKAGE / "cli").rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_command_modules_stay_small(path: Path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_COMMAND_LINES, f"{path.name} has {lines} lines; split it by subcommand or concern"
