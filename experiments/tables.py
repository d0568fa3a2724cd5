"""The paper's result tables from collected jobs: rows = methods grouped by dataset, columns = metrics
(optionally grouped by style, Table 1's layout), cells = mean ± standard error across videos, the best
cell per dataset and column in bold, unavailable metrics written as "unavailable", and numbered notes
giving the tier and components behind every row. Rendered as Markdown, LaTeX (booktabs) or CSV.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from experiments.collect import Collection, component_note, metric_note
from metrics.evaluate import INF_CLIPPED_KEYS

# key: (metric name in metrics/registry.py, label, number format, set metric?); the direction (↑/↓) comes
# from the metric class's ``higher_is_better`` (see :func:`higher_is_better`)
COLUMNS: dict[str, tuple[str, str, str, bool]] = {
    "fid": ("fid", "FID", ".2f", True),
    "vfid": ("vfid", "VFID", ".3f", True),
    "ewarp": ("ewarp", "E_warp", ".6f", False),
    "ewarp_masked": ("ewarp_masked", "E_warp holes", ".6f", False),
    "cpsnr": ("cpsnr", "C_PSNR", ".2f", False),
    "cssim": ("cssim", "C_SSIM", ".4f", False),
    "fidelity_psnr": ("fidelity", "PSNR vs frame-wise", ".2f", False),
    "fidelity_ssim": ("fidelity", "SSIM vs frame-wise", ".4f", False),
    "psnr": ("gt", "PSNR", ".2f", False),
    "ssim": ("gt", "SSIM", ".4f", False),
    "lpips": ("lpips", "LPIPS", ".4f", False),
    "vlpips": ("vlpips", "VLPIPS", ".4f", False),
}
#: metrics that compare against the frame-wise output in style transfer: meaningless for frame-wise itself
SELF_REFERENCE_KEYS = ("fid", "vfid", "fidelity_psnr", "fidelity_ssim", "lpips", "vlpips")
MODEL_LABELS = {"fst_engstrom": "FST", "fst_pytorch": "FST", "cxtattn": "Cxtattn"}
DATASET_ORDER = ("davis2017", "davis2019", "activitynet")


@dataclass(frozen=True)
class TableSpec:
    """Layout of one table: metric keys (columns), the column grouping and methods we cannot run."""

    title: str
    metrics: tuple[str, ...]
    column_group: str | None = None  # a job column, e.g. "style"
    missing_methods: tuple[tuple[str, str], ...] = ()  # (paper row, why it is absent)


TABLES = {
    "table1": TableSpec(
        "Table 1: video style transfer", ("fid", "ewarp", "cpsnr", "cssim", "fidelity_psnr", "fidelity_ssim"),
        column_group="style",
        missing_methods=(("FST-vcons", "Lai et al. 2018 blind video consistency is not implemented here"),)),
    "table2": TableSpec(
        "Table 2: video inpainting", ("lpips", "vlpips", "fid", "vfid", "ewarp", "ewarp_masked", "psnr", "ssim"),
        missing_methods=(("Cxtattn-vcons", "Lai et al. 2018 blind video consistency is not implemented here"),
                         ("VINet", "VINet (Kim et al. 2019) is not implemented here"))),
}


@functools.lru_cache(maxsize=None)
def higher_is_better(key: str) -> bool:
    """Direction of a metric key, as its metric class declares it (``higher_is_better``)."""
    from metrics.registry import metric_class

    return bool(metric_class(COLUMNS[key][0]).higher_is_better[key])


@dataclass
class Cell:
    status: str  # value | unavailable | not_computed | self_reference
    mean: float | None = None
    sem: float | None = None
    n: int | None = None
    reason: str = ""
    bold: bool = False
    text: str = ""
    job: str = ""  # the job behind the cell
    note: int | None = None  # its footnote number


@dataclass
class Row:
    label: str
    notes: list[int] = field(default_factory=list)  # numbers of the footnotes that apply
    cells: dict[tuple[Any, str], Cell] = field(default_factory=dict)  # (column group value, key) -> cell
    jobs: list[str] = field(default_factory=list)


@dataclass
class Table:
    title: str
    keys: list[str]
    headers: dict[str, str]  # key -> "E_warp(dis) ↓"
    groups: list[Any]  # column group values ([None] when ungrouped)
    group_name: str | None
    blocks: list[tuple[str, list[Row]]]  # (dataset, rows)
    footnotes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    row_headers: tuple[str, str] = ("Dataset", "Method")


def method_label(job: pd.Series | dict) -> str:
    """Display name of a job's method: "FST (frame-wise)", "HyperCon-mean", …"""
    method = str(job.get("method"))
    if method == "framewise":
        model = str(job.get("model"))
        return f"{MODEL_LABELS.get(model, model)} (frame-wise)"
    if method.startswith("hypercon"):
        pool = job.get("pool")
        return f"HyperCon-{pool}" if isinstance(pool, str) and pool else "HyperCon"
    return method


def _setting_suffix(jobs: pd.DataFrame) -> dict[str, str]:
    """Labels for jobs that share a method label: the settings that tell them apart."""
    varying = [c for c in ("i", "c", "d", "pool", "model", "flow", "interp", "split", "seed", "tier")
               if c in jobs and jobs[c].astype(str).nunique() > 1]
    out = {}
    for _, job in jobs.iterrows():
        out[job["job"]] = ", ".join(f"{c}={_setting(job[c])}" for c in varying) if varying else str(job["job"])
    return out


def _setting(value: Any) -> str:
    """A setting as written in the config: whole floats (pandas' upcast of i/c/d) without ``.0``."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _fmt(value: float, fmt: str) -> str:
    return format(value, fmt) if math.isfinite(value) else str(value)


def metric_cell(job: pd.Series, key: str) -> Cell:
    metric, _, fmt, is_set = COLUMNS[key]
    unavailable = job.get("unavailable") or {}
    if job.get("task") == "style" and job.get("method") == "framewise" and key in SELF_REFERENCE_KEYS:
        return Cell("self_reference", text="–")
    value = job.get(key)
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        sem = None if is_set else job.get(f"{key}_sem")
        sem = None if sem is None or (isinstance(sem, float) and math.isnan(sem)) else float(sem)
        text = _fmt(float(value), fmt) + (f" ± {_fmt(sem, fmt)}" if sem is not None else "")
        n = None if is_set else job.get(f"{key}_n")
        return Cell("value", float(value), sem, None if n is None or n != n else int(n), text=text)
    if metric in unavailable:
        return Cell("unavailable", reason=str(unavailable[metric]), text="unavailable")
    return Cell("not_computed", text="n/a")


def _dataset_key(name: str) -> tuple[int, str]:
    return (DATASET_ORDER.index(name) if name in DATASET_ORDER else len(DATASET_ORDER), str(name))


def _method_key(label: str) -> tuple[int, str]:
    return (0 if "frame-wise" in label else (2 if label.startswith("HyperCon") else 1), label)


def build_table(collection: Collection, spec: TableSpec | str, jobs: pd.DataFrame | None = None) -> Table:
    """Arrange the jobs of ``collection`` (or the subset ``jobs``) in ``spec``'s layout."""
    spec = TABLES[spec] if isinstance(spec, str) else spec
    jobs = collection.jobs if jobs is None else jobs
    group_col = spec.column_group if spec.column_group and jobs[spec.column_group].notna().any() else None
    groups = list(dict.fromkeys(jobs[group_col].tolist())) if group_col else [None]
    if len(groups) == 1 and group_col:
        group_col, groups = None, [None]
    labels = {}
    for _, block in jobs.groupby("dataset", sort=False):
        base = block.apply(method_label, axis=1)
        for label, same in block.groupby(base, sort=False):
            clash = same.duplicated([group_col] if group_col else ["dataset"], keep=False).any()
            suffix = _setting_suffix(same) if clash else {}
            for job in same["job"]:
                labels[job] = f"{label} ({suffix[job]})" if job in suffix else label

    footnotes: list[str] = []
    blocks = []
    for dataset in sorted(jobs["dataset"].unique(), key=_dataset_key):
        block = jobs[jobs["dataset"] == dataset]
        rows: dict[str, Row] = {}
        for _, job in block.iterrows():
            row = rows.setdefault(labels[job["job"]], Row(labels[job["job"]]))
            row.jobs.append(job["job"])
            note = component_note(collection.results.get(job["job"], {}))
            if note not in footnotes:
                footnotes.append(note)
            if footnotes.index(note) + 1 not in row.notes:
                row.notes.append(footnotes.index(note) + 1)
            for key in spec.metrics:
                cell = metric_cell(job, key)
                cell.job, cell.note = job["job"], footnotes.index(note) + 1
                row.cells[(job[group_col] if group_col else None, key)] = cell
        blocks.append((str(dataset), [rows[k] for k in sorted(rows, key=_method_key)]))

    keys = [k for k in spec.metrics
            if any(c.status in ("value", "unavailable") for _, rows in blocks for r in rows for (g, kk), c in r.cells.items()
                   if kk == k)]
    for _, rows in blocks:
        mark_best(rows, keys, groups)
    flows = {str(f) for f in jobs["metric_flow"].dropna().unique()}
    headers = {}
    for key in keys:
        label = COLUMNS[key][1]
        if key.startswith("ewarp") and len(flows) == 1:
            label = label.replace("E_warp", f"E_warp({next(iter(flows))})")
        headers[key] = f"{label} {'↑' if higher_is_better(key) else '↓'}"
    notes = _table_notes(collection, jobs, blocks, keys, spec)
    return Table(spec.title, keys, headers, groups, group_col, blocks, footnotes, notes)


def mark_best(rows: list[Row], keys: list[str], groups: list[Any]) -> None:
    for group in groups:
        for key in keys:
            cells = [r.cells[(group, key)] for r in rows if (group, key) in r.cells]
            values = [c.mean for c in cells if c.status == "value" and math.isfinite(c.mean)]
            if len(values) < 2:
                continue
            best = max(values) if higher_is_better(key) else min(values)
            for c in cells:
                c.bold = c.status == "value" and abs(c.mean - best) <= 1e-12 * max(1.0, abs(best))


def unavailable_notes(blocks: list[tuple[str, list[Row]]], keys: list[str]) -> list[str]:
    """One "unavailable: <metric>: <reason>" line per metric shown as unavailable somewhere."""
    reasons: dict[str, str] = {}
    for _, rows in blocks:
        for row in rows:
            for (_, key), c in row.cells.items():
                if c.status == "unavailable" and key in keys:
                    reasons.setdefault(COLUMNS[key][0], c.reason)
    return [f"unavailable: {_shorten(reason if reason.startswith(metric + ':') else f'{metric}: {reason}')}"
            for metric, reason in reasons.items()]


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())  # one line (reasons may span several)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table_notes(collection, jobs, blocks, keys, spec) -> list[str]:
    notes = ["mean ± standard error of the mean across videos (set metrics FID/VFID: one value over all "
             "frames/clips); best per dataset and column in bold."]
    cells = [c for _, rows in blocks for r in rows for c in r.cells.values()]
    if any(c.status == "self_reference" for c in cells):
        notes.append("–: for style transfer the frame-wise output is the reference of FID/fidelity, so the "
                     "frame-wise row has no value (the paper's '-').")
    if any(k in INF_CLIPPED_KEYS for k in keys):
        notes.append("PSNR-type columns: an infinite per-video value (identical frames/patches) is clipped to the "
                     "largest finite one before averaging, as Szeto's evaluation code does.")
    notes += unavailable_notes(blocks, keys)
    if any(c.status == "not_computed" for c in cells):
        notes.append("n/a: metric not computed in that run (e.g. run with metrics=paper).")
    metric_notes = list(dict.fromkeys(metric_note(collection.results.get(j, {})) for j in jobs["job"]))
    notes += [f"metrics: {m}" for m in metric_notes]
    notes += [f"not available: {name}: {why}" for name, why in spec.missing_methods]
    incomplete = jobs.loc[~jobs["complete"].astype(bool), "job"].tolist()
    if incomplete:
        notes.append(f"INCOMPLETE: {len(incomplete)} job(s) did not finish, e.g. {incomplete[0]}")
    return notes


def _columns(table: Table) -> list[tuple[Any, str]]:
    return [(g, k) for g in table.groups for k in table.keys]


def render_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table (column group prefixed to each header), notes below."""
    cols = _columns(table)
    head = list(table.row_headers) + [f"{g}: {table.headers[k]}" if g is not None else table.headers[k]
                                    for g, k in cols]
    lines = [f"**{table.title}**", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * 2 + "---:|" * len(cols)]
    for dataset, rows in table.blocks:
        for i, row in enumerate(rows):
            cells = []
            for col in cols:
                c = row.cells.get(col, Cell("not_computed", text="n/a"))
                cells.append(f"**{c.text}**" if c.bold else c.text)
            label = row.label + "".join(f" [{n}]" for n in row.notes)
            lines.append("| " + " | ".join([dataset if i == 0 else "", label, *cells]) + " |")
    lines.append("")
    lines += [f"[{n}] {text}  " for n, text in enumerate(table.footnotes, 1)]
    lines += [f"- {text}" for text in table.notes]
    return "\n".join(lines) + "\n"


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                 ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}")):
        text = text.replace(a, b)
    return (text.replace("±", r"$\pm$").replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$")
            .replace("†", r"$^\dagger$").replace("–", "--"))


def render_latex(table: Table) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    cols = _columns(table)
    out = [r"\begin{table}[t]", r"\centering", r"\caption{" + _tex(table.title) + "}",
           r"\begin{tabular}{ll" + "r" * len(cols) + "}", r"\toprule"]
    if table.group_name:
        n = len(table.keys)
        out.append(" & & " + " & ".join(rf"\multicolumn{{{n}}}{{c}}{{{_tex(str(g))}}}" for g in table.groups) + r" \\")
        out.append("".join(rf"\cmidrule(lr){{{3 + i * n}-{2 + (i + 1) * n}}}" for i in range(len(table.groups))))
    out.append(" & ".join([*table.row_headers] + [_tex(table.headers[k]) for _, k in cols]) + r" \\")
    for dataset, rows in table.blocks:
        out.append(r"\midrule")
        for i, row in enumerate(rows):
            cells = []
            for col in cols:
                c = row.cells.get(col, Cell("not_computed", text="n/a"))
                cells.append(r"\textbf{" + _tex(c.text) + "}" if c.bold else _tex(c.text))
            label = _tex(row.label) + (r"\textsuperscript{" + ",".join(map(str, row.notes)) + "}" if row.notes else "")
            out.append(" & ".join([_tex(dataset) if i == 0 else "", label, *cells]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip", r"{\footnotesize"]
    out += [rf"\textsuperscript{{{n}}}{_tex(t)}\\" for n, t in enumerate(table.footnotes, 1)]
    out += [_tex(t) + r"\\" for t in table.notes]
    out += ["}", r"\end{table}"]
    return "\n".join(out) + "\n"


def render_csv(table: Table) -> str:
    """Long format: one line per (dataset, method, column group, metric) with mean, sem, n and status."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["dataset", "method", table.group_name or "group", "metric", "mean", "sem", "n",
                     "status", "text", "best", "reason", "components", "job"])
    for dataset, rows in table.blocks:
        for row in rows:
            for (g, key), c in row.cells.items():
                if key in table.keys:
                    writer.writerow([dataset, row.label, "" if g is None else g, key, c.mean, c.sem, c.n,
                                     c.status, c.text, int(c.bold), c.reason,
                                     table.footnotes[c.note - 1] if c.note else "", c.job])
    return buf.getvalue()


RENDERERS = {"md": render_markdown, "tex": render_latex, "csv": render_csv}
