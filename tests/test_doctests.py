"""The docstring examples (``>>>``) run as part of the suite: every module under the packages whose source holds
one is imported and run with :func:`doctest.testmod`. Only those modules are imported, so optional packages
(onnxruntime, selenium) that other modules import are never needed here."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("hypercon", "metrics", "datasets", "baselines", "experiments")


def modules_with_examples() -> list[str]:
    """Dotted names of the package modules with a line starting ``>>>`` (after indentation)."""
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if any(line.lstrip().startswith(">>>") for line in path.read_text().splitlines()):
                parts = path.relative_to(REPO).with_suffix("").parts
                found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


MODULES = modules_with_examples()


def test_the_scan_finds_the_examples():
    assert {"hypercon.api", "hypercon.align", "metrics.segmentation"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_pass(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, raise_on_error=False,
                             verbose=False, report=True)
    assert result.attempted > 0, f"{name}: a '>>>' line that doctest does not collect"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (output above)"
