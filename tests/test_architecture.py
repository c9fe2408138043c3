"""Dependencies point one way: the import graph of the package, read from its source.

Every import counts, including those inside functions: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "artalk_service"
GENERATED = "api"  # the gRPC stubs, generated from proto/


def module_imports() -> dict[str, set[str]]:
    """artalk_service module -> the artalk_service modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[1:2] == (GENERATED,):
            continue
        is_init = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_init else parts)
        package = module.split(".") if is_init else module.split(".")[:-1]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                imported.add(target)
                imported |= {f"{target}.{alias.name}" for alias in node.names}  # `from pkg import module`
        graph[module] = {m for m in imported if m.split(".")[0] == "artalk_service"}
    return graph


def unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: artalk_service.model.stream -> model."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def unit_graph() -> dict[str, set[str]]:
    units = {unit(m) for m in module_imports()}
    graph = defaultdict(set)
    for module, imported in module_imports().items():
        graph[unit(module)] |= {unit(m) for m in imported if unit(m) in units and unit(m) != unit(module)}
    return graph


def test_the_graph_is_read():
    graph = unit_graph()
    assert {"model", "server", "runtime", "data", "train", "export"} <= set(graph)
    assert "model" in graph["server"] and "runtime" in graph["server"]  # the reader sees real edges


@pytest.mark.parametrize(
    "forbidden", ["data", "train", "export", "runtime", "server", "bench", "eval", "retarget", "loader", "client"]
)
def test_the_model_depends_on_the_motion_layout_only(forbidden):
    assert forbidden not in unit_graph()["model"]


def test_the_model_depends_on_leaf_modules_only():
    assert unit_graph()["model"] <= {"layout", "timebase", "blink_timing"}


@pytest.mark.parametrize("tool", ["retarget", "bench"])
def test_tools_never_load_models_through_the_server_cli(tool):
    offenders = [
        m for m, imported in module_imports().items() if unit(m) == tool and "artalk_service.server.cli" in imported
    ]
    assert not offenders


def test_leaf_modules_import_nothing_above_them():
    graph = unit_graph()
    assert graph["timebase"] == set()
    assert graph["layout"] <= {"timebase"} and graph["blink_timing"] <= {"timebase"}


def test_no_import_cycle_between_packages():
    graph = unit_graph()
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                pytest.fail("import cycle: " + " -> ".join(path[path.index(nxt) :] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])


def test_no_import_cycle_inside_data():
    graph = module_imports()
    data = {m for m in graph if unit(m) == "data"}
    edges = {m: {i for i in graph[m] if i in data and i != m} for m in data}
    for a in data:
        for b in edges[a]:
            assert a not in edges[b], f"{a} and {b} import each other"
