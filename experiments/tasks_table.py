"""The "new tasks" table (``python -m experiments.report DIR --table tasks``): Wei et al.'s Table 1 layout,
tasks × methods. Rows are (task, metric) — segmentation J / F / T, colourisation and ×2 SR PSNR with the
harness' E_warp, C_PSNR and C_SSIM — and columns are the methods (frame-wise, HyperCon, the blind baselines,
the four Wei et al. variants). Cells, bold best, tiers and notes are :func:`experiments.tables.build_table`'s,
built per task and transposed; Wei et al.'s published numbers are listed under the table for comparison.
"""

from __future__ import annotations

from experiments.collect import Collection
from experiments.tables import Row, Table, TableSpec, build_table

#: the tasks of the table, in Wei et al.'s order, with the metric keys shown first (J, F, T; PSNR, E_warp, C_PSNR/SSIM)
TASKS = {
    "vseg": ("j_mean", "f_mean", "davis_t"),
    "colorize": ("psnr", "ewarp", "cpsnr", "cssim"),
    "sr2x": ("psnr", "ewarp", "cpsnr", "cssim"),
}
TITLE = "New tasks (Wei et al. 2018, Table 1 layout): video segmentation, colourisation, x2 super-resolution"

#: Wei et al. (ACM MM 2018) Table 1, DAVIS 2017 val, 854x480: image2image → video2video → local → local+global
WEI_TABLE1 = {
    ("vseg", "j_mean"): (0.5066, 0.7290, 0.7359, 0.9229),
    ("vseg", "f_mean"): (0.4617, 0.7813, 0.7932, 0.9589),
    ("vseg", "davis_t"): (0.3494, 0.2006, 0.1767, 0.0537),
    ("colorize", "psnr"): (33.0289, 33.3417, 34.8182, 37.8843),
    ("sr2x", "psnr"): (30.1813, 30.7219, 30.5414, 33.0043),
}
WEI_VARIANTS = ("image2image", "video2video", "local", "local+global")
_NAMES = {"j_mean": "J", "f_mean": "F", "davis_t": "T", "psnr": "PSNR (dB)"}


def published_notes() -> list[str]:
    """Wei et al.'s published Table 1, one note per (task, metric)."""
    out = []
    for (task, key), values in WEI_TABLE1.items():
        cells = ", ".join(f"{v:.4f} {n}" for v, n in zip(values, WEI_VARIANTS))
        out.append(f"Wei et al. Table 1 (DAVIS 2017 val, 854x480, published): {task} {_NAMES[key]}: {cells}")
    return out


def build_tasks_table(collection: Collection) -> Table:
    """Transpose one :func:`build_table` per task (rows = methods) into rows = (task, metric), columns =
    methods. A column is one method config (``method=``) across tasks, headed by its first row label (a label
    that differs in another task is given in a note). Footnotes are merged and renumbered; each column header
    carries its methods' footnotes. A task shows its own metrics, and any other key with a value."""
    jobs = collection.jobs[collection.jobs["task"].isin(list(TASKS))]
    if jobs.empty:
        raise ValueError(f"{collection.root}: no jobs of the tasks {', '.join(TASKS)} for the tasks table")
    method_of = dict(zip(jobs["job"], jobs["method"].astype(str)))
    columns: dict[str, set[int]] = {}  # method config -> merged footnote numbers
    labels: dict[str, dict[str, str]] = {}  # method config -> {task: row label}
    footnotes: list[str] = []
    notes: list[str] = []
    blocks: list[tuple[str, list[Row]]] = []
    for task in [t for t in TASKS if (jobs["task"] == t).any()]:
        spec = TableSpec(TITLE, TASKS[task], task=task, auto=False, paper=False)
        part = build_table(collection, spec, jobs=jobs[jobs["task"] == task])
        renumber = {}
        for n, text in enumerate(part.footnotes, 1):
            if text not in footnotes:
                footnotes.append(text)
            renumber[n] = footnotes.index(text) + 1
        for note in (n.replace("best per dataset and column", "best per row") for n in part.notes):
            notes += [] if note in notes else [note]
        for dataset, method_rows in part.blocks:
            metric_rows = []
            for key in part.keys:
                row = Row(part.headers[key])
                for method in method_rows:
                    column = method_of[method.jobs[0]]
                    columns.setdefault(column, set()).update(renumber[n] for n in method.notes)
                    labels.setdefault(column, {}).setdefault(task, method.label)
                    cell = method.cells.get((None, key))
                    if cell is not None:
                        cell.note = renumber.get(cell.note, cell.note) if cell.note else None
                        row.cells[(None, column)] = cell
                        row.jobs.append(cell.job)
                if key in TASKS[task] or any(c.status == "value" for c in row.cells.values()):
                    metric_rows.append(row)
            many = jobs["dataset"].nunique() > 1
            blocks.append((f"{task} ({dataset})" if many else task, metric_rows))
    rank = dict(zip(jobs["method"].astype(str), jobs["table_rank"].astype(int)))
    keys = sorted(columns, key=lambda c: rank.get(c, 1))  # frame-wise, baselines, HyperCon (stable otherwise)
    heads = {c: max(labels[c].values(), key=lambda label: (list(labels[c].values()).count(label), label != c))
             for c in keys}
    headers = {c: heads[c] + "".join(f" [{n}]" for n in sorted(columns[c])) for c in keys}
    notes += [f"column {heads[c]}: on {task}: {label}" for c in keys for task, label in labels[c].items()
              if label != heads[c]]
    return Table(TITLE, keys, headers, [None], None, blocks, footnotes, notes + published_notes(),
                 row_headers=("Task", "Metric"), column_name="method",
                 csv_rows=("task", "metric"))
