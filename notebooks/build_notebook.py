"""Generate ``results.ipynb`` from its paired script ``results.py`` (``# %%`` cells; ``# %% [markdown]``
cells have their ``# `` prefixes stripped), so the two cannot drift.

    python notebooks/build_notebook.py            # write notebooks/results.ipynb
    python notebooks/build_notebook.py --check    # exit 1 if the .ipynb differs from the script
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SCRIPT, NOTEBOOK = HERE / "results.py", HERE / "results.ipynb"
log = logging.getLogger("build_notebook")


def cells_from_script(text: str) -> list[tuple[str, str]]:
    """``[(cell_type, source)]`` of a py:percent script: "code" or "markdown", sources without the
    ``# %%`` marker lines and surrounding blank lines."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            cells.append(("markdown" if "[markdown]" in line else "code", []))
        elif cells:
            cells[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"{SCRIPT.name}: text before the first '# %%' cell marker: {line!r}")
    out = []
    for kind, lines in cells:
        if kind == "markdown":
            lines = [ln[2:] if ln.startswith("# ") else ln.lstrip("#") for ln in lines]
        out.append((kind, "\n".join(lines).strip("\n")))
    return out


def build(text: str) -> nbformat.NotebookNode:
    """The notebook (no outputs) for a script's text."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    make = {"code": nbformat.v4.new_code_cell, "markdown": nbformat.v4.new_markdown_cell}
    nb.cells = [make[kind](source) for kind, source in cells_from_script(text)]
    for n, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{n}"
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    expected = nbformat.writes(build(SCRIPT.read_text()))
    if args.check:
        current = NOTEBOOK.read_text() if NOTEBOOK.is_file() else ""
        if current != expected:
            log.error("%s is out of date with %s: run python notebooks/build_notebook.py", NOTEBOOK, SCRIPT)
            return 1
        return 0
    NOTEBOOK.write_text(expected)
    log.info("wrote %s", NOTEBOOK)
    return 0


if __name__ == "__main__":
    sys.exit(main())
