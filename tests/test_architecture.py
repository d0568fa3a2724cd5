"""The direction of imports stated in README's "Architecture" section: each package imports only from the
floors below it (hypercon < metrics, datasets < baselines < experiments < run.py, notebooks)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLOOR = {"hypercon": 0, "metrics": 1, "datasets": 1, "baselines": 2, "experiments": 3}


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
            for lineno, modules in _imports(path):
                for module in modules:
                    top = module.split(".")[0]
                    if top in FLOOR and top != package and FLOOR[top] >= floor:
                        upward.append(f"{path.relative_to(REPO)}:{lineno} imports {module}")
    assert not upward, "imports against the architecture's direction:\n" + "\n".join(upward)
