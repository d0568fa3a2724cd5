"""Render the tables (and, for a grid search, the selected setting and the Fig. 5 plots) of a run or
sweep directory.

    python -m experiments.report outputs/sweeps/table1_style                 # auto: table1 / table2 / grid
    python -m experiments.report outputs/sweeps/gridsearch_style --table grid --format tex
    python -m experiments.report DIR --out reports/                         # files elsewhere

Prints the table in ``--format`` and writes ``<table>.md``, ``<table>.tex`` and ``<table>.csv`` to
``--out`` (default ``DIR/report``); for ``grid`` also ``selection.json`` and ``grid_<group>.png/.pdf``.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from experiments.collect import Collection, collect
from experiments.store import atomic_write_bytes
from experiments.tables import RENDERERS, Table, build_table

log = logging.getLogger("experiments.report")


def choose_table(collection: Collection) -> str:
    """``grid`` when some group has several HyperCon settings of (i, c, d) for one method and pool (mean
    and median alone are Table 2's two rows), else ``table2`` for inpainting, else ``table1``."""
    from experiments.gridsearch import GROUP_COLUMNS, grid_jobs

    jobs = grid_jobs(collection)
    if not jobs.empty:
        cols = [c for c in (*GROUP_COLUMNS, "method", "pool") if c in jobs]
        settings = jobs.astype({a: str for a in ("i", "c", "d")})
        if settings.groupby(cols, dropna=False)[["i", "c", "d"]].nunique().max().max() > 1:
            return "grid"
    return "table2" if (collection.jobs["task"] == "inpaint").any() else "table1"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "all"


def write_table(table: Table, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write the table in every format; returns ``{format: path}``."""
    paths = {}
    for fmt, render in RENDERERS.items():
        path = Path(out_dir) / f"{stem}.{fmt}"
        atomic_write_bytes(path, render(table).encode())
        paths[fmt] = path
    return paths


def report(root: Path | str, table: str = "auto", fmt: str = "md", out: Path | str | None = None) -> tuple[str, dict]:
    """Build and write the report of ``root``; returns (the rendered table in ``fmt``, written paths)."""
    collection = collect(root)
    name = choose_table(collection) if table == "auto" else table
    out_dir = Path(out) if out is not None else Path(root) / "report"
    written: dict[str, object] = {"table": name}
    if name == "grid":
        from experiments.gridsearch import grid_table, plot_grid, save_selection, select_all

        selections = select_all(collection)
        built = grid_table(collection, selections)
        save_selection(selections, out_dir / "selection.json")
        written["selection"] = out_dir / "selection.json"
        written["plots"] = [p for s in selections for p in plot_grid(collection, s, out_dir / f"grid_{_slug(s.label())}")]
    elif name in ("table1", "table2"):
        built = build_table(collection, name)
    else:
        raise ValueError(f"--table must be table1, table2, grid or auto, got {table!r}")
    written.update(write_table(built, out_dir, name))
    return RENDERERS[fmt](built), written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="a run directory (outputs/runs/…) or a sweep directory (outputs/sweeps/…)")
    parser.add_argument("--table", choices=["auto", "table1", "table2", "grid"], default="auto")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="md")
    parser.add_argument("--out", default=None, help="folder for the files (default: ROOT/report)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        text, written = report(args.root, args.table, args.format, args.out)
    except (FileNotFoundError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    sys.stdout.write(text)
    for key, value in written.items():
        if key != "table":
            log.info("wrote %s: %s", key, value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
