"""The direction of imports stated in docs/architecture.md ("Floors"): each package imports only from the
floors below it (hypercon < metrics, datasets < baselines < experiments < run.py, notebooks)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLOOR = {"hypercon": 0, "metrics": 1, "datasets": 1, "baselines": 2, "experiments": 3}
#: the user's front door (``from hypercon import apply_hypercon, evaluate``, ``python -m hypercon``): entry points
#: on the top floor like run.py, inside the package only so that those names work. They may import any floor;
#: no other module may import them.
FRONT_DOOR = {"hypercon/__init__.py": "", "hypercon/__main__.py": "hypercon.__main__", "hypercon/api.py": "hypercon.api",
              "hypercon/apply.py": "hypercon.apply", "hypercon/cli.py": "hypercon.cli"}


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield node.lineno, [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, [node.module]


def test_packages_import_only_from_lower_floors():
    upward = []
    for package, floor in FLOOR.items():
        for path in sorted((REPO / package).rglob("*.py")):
            if str(path.relative_to(REPO)) in FRONT_DOOR:
                continue
            for lineno, modules in _imports(path):
                for module in modules:
                    top = module.split(".")[0]
                    if top in FLOOR and top != package and FLOOR[top] >= floor:
                        upward.append(f"{path.relative_to(REPO)}:{lineno} imports {module}")
    assert not upward, "imports against the architecture's direction:\n" + "\n".join(upward)


def test_only_entry_points_import_the_front_door():
    names = {m for m in FRONT_DOOR.values() if m}
    inward = [f"{path.relative_to(REPO)}:{lineno} imports {module}"
              for package in FLOOR for path in sorted((REPO / package).rglob("*.py"))
              if str(path.relative_to(REPO)) not in FRONT_DOOR
              for lineno, modules in _imports(path) for module in modules if module in names]
    assert not inward, "the front door is for users and entry points only:\n" + "\n".join(inward)


def test_the_architecture_page_states_these_floors():
    """docs/architecture.md draws the floors this test enforces: each package on the floor FLOOR gives it."""
    text = (REPO / "docs" / "architecture.md").read_text()
    for package, floor in FLOOR.items():
        assert re.search(rf"(^|\s){package}/\s.*\bfloor {floor}\b", text, re.M), (package, floor)


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, modules: set[str]) -> set[str]:
    """The repository modules ``path`` imports when it runs: module- and function-level imports (not those under
    ``if TYPE_CHECKING:``); ``from pkg import sub`` counts as importing the submodule ``pkg.sub``."""
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and getattr(block.test, "id", getattr(block.test, "attr", "")) == "TYPE_CHECKING"
                   for stmt in block.body for n in ast.walk(stmt)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [s for s in subs if s in modules] or [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_cycles_finds_a_planted_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    paths = [p for package in FLOOR for p in sorted((REPO / package).rglob("*.py"))]
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _runtime_imports(p, modules) - {_module_name(p)} for p in paths}
    assert not _cycles(graph), f"import circles (function-level imports included): {_cycles(graph)}"
