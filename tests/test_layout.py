"""The package layout (edge_fer/__init__.py): every module sits in one wing, imports only from its
own wing and the wings before it, and no two modules import each other in a cycle. Imports
inside functions count too: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Where each package's source lives (pyproject.toml's package-dir) and its wing's rank.
PACKAGES = {
    "edge_fer": REPO / "edge_fer",
    "edge_fer.data": REPO / "data",
    "edge_fer.runners": REPO / "runners",
    "edge_fer.converters": REPO / "convert",
}
ROOT_RANK = 0
WINGS = {
    "edge_fer.data": 1,
    "edge_fer.tensors": 2,
    "edge_fer.artifacts": 2,
    "edge_fer.platform": 3,
    "edge_fer.training": 4,
    "edge_fer.runners": 5,
    "edge_fer.analysis": 6,
    "edge_fer.converters": 7,
    "edge_fer.benchmarks": 8,
    "edge_fer.hub": 8,
    "edge_fer.prediction": 9,
    "edge_fer.commands": 10,
}
TOP_MODULES = {"edge_fer.cli": 10, "edge_fer.demo": 10, "edge_fer.api": 10}


def source_modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    modules = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            relative = path.relative_to(folder).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if package == "edge_fer" and parts and parts[0] in ("data", "runners", "convert"):
                continue
            modules[name] = path
    return modules


def rank(module: str) -> int:
    if module in TOP_MODULES:
        return TOP_MODULES[module]
    for wing, wing_rank in WINGS.items():
        if module == wing or module.startswith(wing + "."):
            return wing_rank
    return ROOT_RANK


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The edge_fer modules that `name` imports (resolving `from pkg import module`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{alias.name}" for alias in node.names]
            targets = [t if t in modules else node.module for t in targets]
        else:
            continue
        for target in targets:
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in modules and target != name and target != "edge_fer":
                found.add(target)
    return found


MODULES = source_modules()
GRAPH = {name: imports_of(name, path, MODULES) for name, path in MODULES.items()}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_wing(module):
    upward = sorted(t for t in GRAPH[module] if rank(t) > rank(module))
    assert not upward, f"{module} (wing {rank(module)}) imports {upward} from higher wings"


def test_every_wing_has_modules_and_the_walk_sees_imports():
    for wing in WINGS:
        assert any(m == wing or m.startswith(wing + ".") for m in MODULES), wing
    assert "edge_fer.training.model" in GRAPH["edge_fer.training.train"]


def test_no_import_cycle():
    # Imports between a package's __init__ and its own modules are how registries load their
    # entries; every other edge must form a DAG.
    def package_edge(a: str, b: str) -> bool:
        return b.startswith(a + ".") or a.startswith(b + ".")

    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(GRAPH[node]):
            if package_edge(node, target):
                continue
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
