"""Render the tables (and, for a grid search, the selected setting and the Fig. 5 plots) of a run or
sweep directory.

    python -m experiments.report outputs/sweeps/table1_style                 # auto: table1 / table2 / grid
    python -m experiments.report outputs/sweeps/gridsearch_style --table grid --format tex
    python -m experiments.report outputs/sweeps/blind_baselines --table blind_baselines  # any TABLES name
    python -m experiments.report outputs/sweeps/new_tasks --table tasks      # colorize / sr2x / vseg x methods
    python -m experiments.report DIR --out reports/                         # files elsewhere
    python -m experiments.report DIR --viewer               # + the side-by-side viewer, rows linked to it
    python -m experiments.report DIR --strict               # refuse rows from mixed stacks, dirty trees, off the lock
    python -m experiments.report DIR --viewer --dataset davis2016 --dataset-override root=/data/DAVIS

Prints the table in ``--format`` and writes ``<table>.md``, ``<table>.tex`` and ``<table>.csv`` to
``--out`` (default ``DIR/report``); for ``grid`` also ``selection.json`` and ``grid_<group>.png/.pdf``;
with ``--viewer`` also the viewer site in ``OUT/viewer/`` (:mod:`experiments.viewer`), each Markdown row's
label linking to its method's column on the page of its dataset and task (its source panel: the saved
inputs, or ``--dataset NAME``'s current config, never the config recorded in the results:
:mod:`experiments.viewer.source`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from experiments.collect import Collection, collect
from experiments.stack_notes import refuse_mixed, stack_notes
from experiments.store import atomic_write_bytes
from experiments.tables import RENDERERS, TABLES, Table, build_table
from experiments.viewer.discover import slug
from experiments.viewer.source import add_dataset_options, dataset_config
from hypercon.errors import EXIT_USER_ERROR, UserError, one_line

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


def write_table(table: Table, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write the table in every format; returns ``{format: path}``."""
    paths = {}
    for fmt, render in RENDERERS.items():
        path = Path(out_dir) / f"{stem}.{fmt}"
        atomic_write_bytes(path, render(table).encode())
        paths[fmt] = path
    return paths


def auto_tables(collection: Collection) -> list[str]:
    """``["grid"]`` for a grid search, else Table 1 and/or Table 2 for the tasks present (the tables with
    ``auto`` set)."""
    if choose_table(collection) == "grid":
        return ["grid"]
    from experiments.tasks_table import TASKS

    tasks = set(collection.jobs["task"])
    names = [name for name, spec in TABLES.items() if spec.auto and spec.task in tasks]
    names += ["tasks"] if tasks & set(TASKS) else []
    return names or [choose_table(collection)]


def link_rows(table: Table, root: Path, site_pages: dict[Path, str], prefix: str) -> None:
    """Point each row's label at the viewer page of its first job with one (``prefix`` + page)."""
    for _, rows in table.blocks:
        for row in rows:
            for job in row.jobs:
                job_dir = (root / job) if (root / job).is_dir() else root
                page = site_pages.get(job_dir.resolve())
                if page:
                    row.link = f"{prefix}/{page}"
                    break


def table_jobs(table: Table) -> set[str]:
    """The jobs behind a table's rows."""
    return {job for _, rows in table.blocks for row in rows for job in row.jobs}


def report(root: Path | str, table: str = "auto", fmt: str = "md", out: Path | str | None = None,
           viewer: bool = False, dataset: Any = None, strict: bool = False) -> tuple[str, dict]:
    """Build and write the report of ``root``; returns (the rendered table(s) in ``fmt``, written paths).

    Table 1 shows only style-transfer jobs and Table 2 only inpainting jobs; ``auto`` renders the grid
    search, or each table whose task has jobs under ``root``. ``viewer``: also build the viewer site in
    ``OUT/viewer/`` (:mod:`experiments.viewer`) and link each Markdown row to its page; ``dataset``: its
    source panel's dataset config (:func:`experiments.viewer.source.dataset_config`). Every
    table notes rows computed on different stacks (:mod:`experiments.stack_notes`); ``strict`` refuses such a
    table."""
    if table not in ("auto", "grid", "tasks", *TABLES):
        raise ValueError(f"--table must be one of {', '.join(TABLES)}, tasks, grid or auto, got {table!r}")
    collection = collect(root)
    names = auto_tables(collection) if table == "auto" else [table]
    if strict:  # before anything is written
        refuse_mixed(",".join(names), stack_notes(collection.results))
    out_dir = Path(out) if out is not None else Path(root) / "report"
    written: dict[str, object] = {"table": ",".join(names)}
    site = None
    if viewer:
        from experiments.viewer import build_site, human_size

        site = build_site([root], out_dir / "viewer", dataset=dataset)
        written["viewer"] = f"{site.root / 'index.html'} ({human_size(site.total_bytes)})"
    texts = []
    for name in names:
        if name == "grid":
            from experiments.gridsearch import grid_table, plot_grid, save_selection, select_all

            selections = select_all(collection)
            built = grid_table(collection, selections)
            save_selection(selections, out_dir / "selection.json")
            written["selection"] = out_dir / "selection.json"
            written["plots"] = [p for s in selections
                                for p in plot_grid(collection, s, out_dir / f"grid_{slug(s.label())}")]
        elif name == "tasks":
            from experiments.tasks_table import build_tasks_table

            built = build_tasks_table(collection)
        else:
            jobs = collection.jobs[collection.jobs["task"] == TABLES[name].task]
            if jobs.empty:
                raise ValueError(f"{root}: no {TABLES[name].task} jobs for {name}")
            built = build_table(collection, name, jobs=jobs)
        jobs_here = table_jobs(built) or set(collection.results)
        built.notes += stack_notes({job: res for job, res in collection.results.items() if job in jobs_here})
        if site is not None and name != "tasks":  # the tasks table's rows are metrics, not methods
            link_rows(built, Path(root), site.job_pages, "viewer")
        written.update({f"{name}.{k}": v for k, v in write_table(built, out_dir, name).items()})
        texts.append(RENDERERS[fmt](built))
    return "\n".join(texts), written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="a run directory (outputs/runs/…) or a sweep directory (outputs/sweeps/…)")
    parser.add_argument("--table", choices=["auto", *TABLES, "tasks", "grid"], default="auto")
    parser.add_argument("--format", choices=sorted(RENDERERS), default="md")
    parser.add_argument("--out", default=None, help="folder for the files (default: ROOT/report)")
    parser.add_argument("--viewer", action="store_true",
                        help="also build the side-by-side viewer in OUT/viewer/ and link the Markdown rows to it")
    parser.add_argument("--strict", action="store_true",
                        help="refuse a table whose rows were computed with different package versions or commits, "
                             "from a dirty work tree, or off the lock (without it: a note under the table)")
    add_dataset_options(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        dataset = dataset_config(args.dataset, args.dataset_override)
        text, written = report(args.root, args.table, args.format, args.out, viewer=args.viewer, dataset=dataset,
                               strict=args.strict)
    except (UserError, FileNotFoundError, ValueError) as exc:  # bad folder or option: one line, status 2
        sys.stderr.write(f"python -m experiments.report: error: {one_line(exc)}\n")
        return EXIT_USER_ERROR
    sys.stdout.write(text)
    for key, value in written.items():
        if key != "table":
            log.info("wrote %s: %s", key, value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
