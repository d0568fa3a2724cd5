"""The paper's result tables from collected jobs: rows = methods grouped by dataset, columns = metrics
(optionally grouped by style, Table 1's layout), cells = mean ± standard error across videos, the best
cell per dataset and column in bold, unavailable metrics written as "unavailable", and numbered notes
giving the tier and components behind every row. Rendered as Markdown, LaTeX (booktabs) or CSV.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from experiments.collect import Collection, component_note, metric_note
from hypercon.component import TEST, TRAINED_HERE, USER
from metrics.base import MetricKey

DATASET_ORDER = ("davis2017", "davis2019", "activitynet")
#: appended to the row label of results made with a network trained in this project (never a paper-tier cell)
TRAINED_MARK = " †"
#: appended to the row label of results made with stand-in weights from a test manifest (tier test)
TEST_MARK = " (test)"
#: appended to the row label of results made with a model the user brought (tier user)
USER_MARK = " (user)"
TIER_MARKS = {TRAINED_HERE: TRAINED_MARK, TEST: TEST_MARK, USER: USER_MARK}
#: why a paper table refuses a result of tier test / user
STAND_IN_REASON = "stand-in weights (tier test): not a paper number"
USER_REASON = "a user-supplied model (tier user): not a paper number"
REFUSED_TIERS = {TEST: STAND_IN_REASON, USER: USER_REASON}


@dataclass(frozen=True)
class TableSpec:
    """Layout of one of the paper's tables: its title, the paper's metric keys (the first columns; other
    recorded keys follow them), column grouping and the task whose jobs it shows. Labels, formats and
    directions come from the metrics (:class:`metrics.base.MetricKey`), rows and their labels from the methods."""

    title: str
    metrics: tuple[str, ...]
    column_group: str | None = None  # a job column, e.g. "style"
    task: str = "style"  # the jobs it shows (style | inpaint)
    auto: bool = True  # rendered by ``--table auto`` when the sweep has jobs of its task (the paper's tables)
    paper: bool = True  # one of the paper's tables: a result of tier test or user is refused there
    offline: str = ""  # the overrides that make the sweep weight-free, said when rows are unavailable here


TABLES = {
    "table1": TableSpec("Table 1: video style transfer",
                        ("fid", "ewarp", "cpsnr", "cssim", "fidelity_psnr", "fidelity_ssim"), column_group="style",
                        task="style"),
    "table2": TableSpec("Table 2: video inpainting",
                        ("lpips", "vlpips", "fid", "vfid", "ewarp", "ewarp_masked", "psnr", "ssim"), task="inpaint",
                        offline="model=opencv_inpaint"),
    "blind_baselines": TableSpec("Blind post-processing baselines: video style transfer (+experiment=blind_baselines)",
                                 ("fid", "ewarp", "cpsnr", "cssim", "fidelity_psnr", "fidelity_ssim",
                                  "saturation_ratio"), column_group="style", task="style", auto=False, paper=False),
    "cyclegan_temporal": TableSpec("CycleGAN + optical-flow temporal loss (trained here) vs HyperCon over it "
                                   "(+experiment=cyclegan_temporal)",
                                   ("ewarp", "ewarp_all", "cpsnr", "cssim", "fidelity_psnr", "fidelity_ssim"),
                                   task="style", auto=False, paper=False),
}


def header(spec: MetricKey, flow: str | None = None) -> str:
    """``"E_warp(dis) ↓"``: the key's label (with the metric flow for source-motion keys) and direction."""
    label = spec.label
    if flow and spec.compare_with == "source":
        label = label.replace("E_warp", f"E_warp({flow})")
    return f"{label} {spec.direction()}"


def missing_paper_rows(table: str, present: set[str]) -> list[str]:
    """Notes for the paper's rows of ``table`` that are not among the row labels ``present``: the rows this
    harness cannot produce yet (:data:`baselines.PLANNED_ROWS`) and the strict rows of the methods that landed
    (:func:`baselines.declared_paper_rows`; e.g. FST-vcons needs Lai et al.'s weights). A trained-here row
    carries :data:`TRAINED_MARK`, so it never stands for a paper row."""
    from baselines import PLANNED_ROWS, declared_paper_rows

    rows = [*PLANNED_ROWS, *(row for row in declared_paper_rows() if row.strict)]
    present = {label for label in present if not label.endswith(TRAINED_MARK)}
    return [f"not available: {row.label}: {row.note}" for row in rows
            if row.table == table and row.label not in present]


@dataclass
class Cell:
    status: str  # value | unavailable | not_computed | self_reference | refused | failed | method_unavailable
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
    link: str = ""  # Markdown: the row label links here (the viewer's page, ``report --viewer``)


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
    column_name: str = "metric"  # CSV: what the columns are (the tasks table's columns are methods)
    csv_rows: tuple[str, str] = ("dataset", "method")  # CSV: the names of the two row-label fields


def job_labels(jobs: pd.DataFrame, axes: list[str], cell_columns: list[str]) -> dict[str, str]:
    """Each job's row label: the method's label with its tier mark, plus the settings that tell apart jobs of
    one dataset sharing a label and the same ``cell_columns`` values (they would fill the same cell)."""
    labels = {}
    for _, block in jobs.groupby("dataset", sort=False):
        base = block["label"] + block["tier"].map(lambda t: TIER_MARKS.get(t, ""))
        for label, same in block.groupby(base, sort=False):
            clash = same.duplicated([c for c in cell_columns if c in same], keep=False).any()
            suffix = _setting_suffix(same, axes) if clash else {}
            for job in same["job"]:
                labels[job] = f"{label} ({suffix[job]})" if job in suffix else label
    return labels


def _setting_suffix(jobs: pd.DataFrame, axes: list[str]) -> dict[str, str]:
    """Labels for jobs that share a method label: the settings that tell them apart (job columns, then the
    image model's options that differ, e.g. ``model.variant=original``; the job name as a last resort)."""
    varying = [c for c in (*axes, "model", "flow", "interp", "split", "seed", "tier")
               if c in jobs and jobs[c].astype(str).nunique() > 1]
    options = [json.loads(o) if isinstance(o, str) else {} for o in jobs.get("model_options", [None] * len(jobs))]
    differing = [k for k in dict.fromkeys(k for o in options for k in o)
                 if len({json.dumps(o.get(k), sort_keys=True) for o in options}) > 1]
    out = {}
    for (_, job), opts in zip(jobs.iterrows(), options):
        parts = [f"{c}={_setting(job[c])}" for c in varying]
        parts += [f"model.{k}={_setting(opts.get(k))}" for k in differing]
        out[job["job"]] = ", ".join(parts) if parts else str(job["job"])
    return out


def _setting(value: Any) -> str:
    """A setting as written in the config: whole floats (pandas' upcast of i/c/d) without ``.0``."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _fmt(value: float, fmt: str) -> str:
    return format(value, fmt) if math.isfinite(value) else str(value)


def metric_cell(job: pd.Series, key: str, spec: MetricKey) -> Cell:
    """The cell of ``key`` (reported as ``spec`` says) for one job."""
    if isinstance(job.get("refused"), str):
        return Cell("refused", reason=job["refused"], text="refused")
    if isinstance(job.get("job_unavailable"), str):
        return Cell("method_unavailable", reason=job["job_unavailable"], text="unavailable")
    if job.get("failed"):
        return Cell("failed", reason="; ".join(f"{v}: {r}" for v, r in job["failed"].items()), text="failed")
    unavailable = job.get("unavailable") or {}
    if spec.metric in (job.get("self_reference") or ()):
        return Cell("self_reference", text="–")
    value = job.get(key)
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        sem = None if spec.set_metric else job.get(f"{key}_sem")
        sem = None if sem is None or (isinstance(sem, float) and math.isnan(sem)) else float(sem)
        text = _fmt(float(value), spec.fmt) + (f" ± {_fmt(sem, spec.fmt)}" if sem is not None else "")
        n = None if spec.set_metric else job.get(f"{key}_n")
        return Cell("value", float(value), sem, None if n is None or n != n else int(n), text=text)
    if spec.metric in unavailable:
        return Cell("unavailable", reason=str(unavailable[spec.metric]), text="unavailable")
    return Cell("not_computed", text="n/a")


def _dataset_key(name: str) -> tuple[int, str]:
    return (DATASET_ORDER.index(name) if name in DATASET_ORDER else len(DATASET_ORDER), str(name))


def refuse_stand_ins(jobs: pd.DataFrame) -> pd.DataFrame:
    """``jobs`` with every job of tier test (stand-in weights) or user (a model the user brought) refused
    (:data:`REFUSED_TIERS`' reason), unless it already is for another reason."""
    refused = jobs["tier"].isin(list(REFUSED_TIERS)) & ~jobs["refused"].map(lambda r: isinstance(r, str))
    if not refused.any():
        return jobs
    jobs = jobs.copy()
    jobs.loc[refused, "refused"] = jobs.loc[refused, "tier"].map(REFUSED_TIERS)
    return jobs


def build_table(collection: Collection, spec: TableSpec | str, jobs: pd.DataFrame | None = None) -> Table:
    """Arrange the jobs of ``collection`` (or the subset ``jobs``) in ``spec``'s layout."""
    spec = TABLES[spec] if isinstance(spec, str) else spec
    jobs = collection.jobs if jobs is None else jobs
    if spec.paper:
        jobs = refuse_stand_ins(jobs)
    group_col = spec.column_group if spec.column_group and jobs[spec.column_group].notna().any() else None
    groups = list(dict.fromkeys(jobs[group_col].tolist())) if group_col else [None]
    if len(groups) == 1 and group_col:
        group_col, groups = None, [None]
    labels = job_labels(jobs, collection.axes, [group_col] if group_col else ["dataset"])
    # the paper's columns, then any other key the jobs recorded (a metric added to the registry shows up)
    extra = [k for k in (*collection.metric_keys, *collection.set_keys) if k not in spec.metrics]
    keys = [k for k in (*spec.metrics, *extra) if k in collection.specs]

    footnotes: list[str] = []
    blocks = []
    for dataset in sorted(jobs["dataset"].unique(), key=_dataset_key):
        block = jobs[jobs["dataset"] == dataset]
        rows: dict[str, Row] = {}
        ranks: dict[str, int] = {}
        for _, job in block.iterrows():
            row = rows.setdefault(labels[job["job"]], Row(labels[job["job"]]))
            ranks[row.label] = int(job["table_rank"])
            row.jobs.append(job["job"])
            note = component_note(collection.results.get(job["job"], {}))
            if note not in footnotes:
                footnotes.append(note)
            if footnotes.index(note) + 1 not in row.notes:
                row.notes.append(footnotes.index(note) + 1)
            for key in keys:
                cell = metric_cell(job, key, collection.spec(key))
                cell.job, cell.note = job["job"], footnotes.index(note) + 1
                row.cells[(job[group_col] if group_col else None, key)] = cell
        blocks.append((str(dataset), [rows[k] for k in sorted(rows, key=lambda label: (ranks[label], label))]))

    keys = [k for k in keys
            if any(c.status in ("value", "unavailable", "failed", "method_unavailable", "refused") for _, rows in blocks for r in rows for (g, kk), c in r.cells.items()
                   if kk == k)]
    for _, rows in blocks:
        mark_best(rows, {k: collection.spec(k) for k in keys}, groups)
    flows = {str(f) for f in jobs["metric_flow"].dropna().unique()}
    flow = next(iter(flows)) if len(flows) == 1 else None
    headers = {key: header(collection.spec(key), flow) for key in keys}
    notes = _table_notes(collection, jobs, blocks, keys, spec)
    return Table(spec.title, keys, headers, groups, group_col, blocks, footnotes, notes)


def mark_best(rows: list[Row], specs: dict[str, MetricKey], groups: list[Any]) -> None:
    """Bold the best finite value per (column group, key) among ``rows``, in each key's direction (or closest
    to its ideal: :meth:`metrics.base.MetricKey.badness`)."""
    for group in groups:
        for key, spec in specs.items():
            cells = [r.cells[(group, key)] for r in rows if (group, key) in r.cells]
            values = [spec.badness(c.mean) for c in cells if c.status == "value" and math.isfinite(c.mean)]
            if len(values) < 2:
                continue
            best = min(values)
            for c in cells:
                c.bold = c.status == "value" and abs(spec.badness(c.mean) - best) <= 1e-12 * max(1.0, abs(best))


def unavailable_notes(blocks: list[tuple[str, list[Row]]], specs: dict[str, MetricKey]) -> list[str]:
    """One "unavailable: <metric>: <reason>" line per metric shown as unavailable somewhere."""
    reasons: dict[str, str] = {}
    for _, rows in blocks:
        for row in rows:
            for (_, key), c in row.cells.items():
                if c.status == "unavailable" and key in specs:
                    reasons.setdefault(specs[key].metric, c.reason)
    return [f"unavailable: {_shorten(reason if reason.startswith(metric + ':') else f'{metric}: {reason}')}"
            for metric, reason in ((m, first_line(r)) for m, r in reasons.items())]


def unavailable_rows(blocks: list[tuple[str, list[Row]]], jobs: pd.DataFrame) -> dict[str, str]:
    """``{row label: reason}`` of the rows whose jobs could not run here (their ``results.json`` says
    ``"status": "unavailable"`` with a ``"reason"``), whether or not the table has a metric column."""
    reasons = dict(zip(jobs["job"], jobs["job_unavailable"])) if "job_unavailable" in jobs else {}
    return {r.label: reasons[j] for _, rows in blocks for r in rows for j in r.jobs if isinstance(reasons.get(j), str)}


def reason_head(reason: str, parts: int = 2) -> str:
    """The first line of a reason, and of a recorded one-line reason (continuation lines joined with " | ",
    :func:`hypercon.errors.one_line`) its first ``parts`` parts: for missing weights, the file and where it goes."""
    return " | ".join(first_line(reason).split(" | ")[:parts])


def offline_note(spec: TableSpec, whole_rows: dict[str, str]) -> list[str]:
    """How to get the table weight-free, when some row is unavailable for missing weights and ``spec`` says how."""
    if not spec.offline or not any("weights missing" in reason for reason in whole_rows.values()):
        return []
    return [f"offline table: rows whose weights are missing here can be computed weight-free: run the same sweep "
            f"with {spec.offline} added (methods that need their own weights, e.g. VINet, stay unavailable)."]


def first_line(reason: str) -> str:
    """The first line of a reason (a missing-weights message goes on with where to put the file; the
    run's log and ``python -m hypercon.weights status`` have the rest)."""
    lines = [line.strip() for line in str(reason).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())  # one line (reasons may span several)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _table_notes(collection, jobs, blocks, keys, spec) -> list[str]:
    notes = ["mean ± standard error of the mean across videos (set metrics FID/VFID: one value over all "
             "frames/clips); best per dataset and column in bold."]
    cells = [c for _, rows in blocks for r in rows for c in r.cells.values()]
    if any(c.status == "self_reference" for c in cells):
        notes.append("–: the frame-wise output is the reference these metrics compare with, so the frame-wise "
                     "row has no value (the paper's '-').")
    specs = {k: collection.spec(k) for k in keys}
    if any(s.clip_inf for s in specs.values()):
        notes.append("PSNR-type columns: an infinite per-video value (identical frames/patches) is clipped to the "
                     "largest finite one before averaging, as Szeto's evaluation code does.")
    if (jobs["tier"] == TRAINED_HERE).any():
        notes.append(f"{TRAINED_MARK.strip()} trained-here: a network trained in this project on the development "
                     "split (its sidecar names the data and steps); not the published weights, so these numbers "
                     "are not comparable with the paper's.")
    if (jobs["tier"] == TEST).any() and not spec.paper:
        notes.append(f"{TEST_MARK.strip()}: stand-in weights from a test manifest (random or synthetic), "
                     "never a paper number.")
    if (jobs["tier"] == USER).any() and not spec.paper:
        notes.append(f"{USER_MARK.strip()}: a model the user brought (model=callable | torchscript | onnx), "
                     "never a paper number.")
    notes += unavailable_notes(blocks, specs)
    whole_rows = unavailable_rows(blocks, jobs)
    notes += [f"unavailable: {label}: {_shorten(reason_head(reason))}" for label, reason in whole_rows.items()]
    notes += offline_note(spec, whole_rows)
    if any(c.status == "not_computed" for c in cells):
        notes.append("n/a: metric not computed in that run (e.g. run with metrics=paper).")
    ran = jobs.loc[jobs["job_unavailable"].isna(), "job"] if "job_unavailable" in jobs else jobs["job"]
    metric_notes = list(dict.fromkeys(metric_note(collection.results.get(j, {})) for j in ran))
    notes += [f"metrics: {m}" for m in metric_notes]
    table_name = next((name for name, t in TABLES.items() if t == spec), None)
    if table_name:
        notes += missing_paper_rows(table_name, {r.label for _, rows in blocks for r in rows})
    refused = jobs.loc[jobs["refused"].map(lambda r: isinstance(r, str)), ["job", "refused"]]
    notes += [f"REFUSED: {job}: {reason}" for job, reason in refused.itertuples(index=False)]
    if "failed" in jobs:
        for job, failed in jobs.loc[jobs["failed"].map(bool), ["job", "failed"]].itertuples(index=False):
            video, reason = next(iter(failed.items()))
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            notes.append(f"FAILED: {job}: {len(failed)} video(s) failed, so no number is shown: "
                         f"{video}: {_shorten(first_line(reason), 200)}{more}")
    could_run = jobs["job_unavailable"].isna() if "job_unavailable" in jobs else True
    incomplete = jobs.loc[~jobs["complete"].astype(bool) & could_run, "job"].tolist()  # not the unavailable ones
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
            label = (f"[{row.label}]({row.link})" if row.link else row.label) + "".join(f" [{n}]" for n in row.notes)
            lines.append("| " + " | ".join([dataset if i == 0 else "", label, *cells]) + " |")
    lines.append("")
    lines += [f"[{n}] {text}  " for n, text in enumerate(table.footnotes, 1)]
    lines += [f"- {text}" for text in table.notes]
    return "\n".join(lines) + "\n"


def tex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"), ("#", r"\#"),
                 ("_", r"\_"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}")):
        text = text.replace(a, b)
    return (text.replace("±", r"$\pm$").replace("↑", r"$\uparrow$").replace("↓", r"$\downarrow$")
            .replace("†", r"$^\dagger$").replace("–", "--"))


def render_latex(table: Table) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    cols = _columns(table)
    out = [r"\begin{table}[t]", r"\centering", r"\caption{" + tex_escape(table.title) + "}",
           r"\begin{tabular}{ll" + "r" * len(cols) + "}", r"\toprule"]
    if table.group_name:
        n = len(table.keys)
        out.append(" & & " + " & ".join(rf"\multicolumn{{{n}}}{{c}}{{{tex_escape(str(g))}}}" for g in table.groups)
                   + r" \\")
        out.append("".join(rf"\cmidrule(lr){{{3 + i * n}-{2 + (i + 1) * n}}}" for i in range(len(table.groups))))
    out.append(" & ".join([*table.row_headers] + [tex_escape(table.headers[k]) for _, k in cols]) + r" \\")
    for dataset, rows in table.blocks:
        out.append(r"\midrule")
        for i, row in enumerate(rows):
            cells = []
            for col in cols:
                c = row.cells.get(col, Cell("not_computed", text="n/a"))
                cells.append(r"\textbf{" + tex_escape(c.text) + "}" if c.bold else tex_escape(c.text))
            notes = r"\textsuperscript{" + ",".join(map(str, row.notes)) + "}" if row.notes else ""
            label = tex_escape(row.label) + notes
            out.append(" & ".join([tex_escape(dataset) if i == 0 else "", label, *cells]) + r" \\")
    out += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip", r"{\footnotesize"]
    out += [rf"\textsuperscript{{{n}}}{tex_escape(t)}\\" for n, t in enumerate(table.footnotes, 1)]
    out += [tex_escape(t) + r"\\" for t in table.notes]
    out += ["}", r"\end{table}"]
    return "\n".join(out) + "\n"


def render_csv(table: Table) -> str:
    """Long format: one line per (dataset, method, column group, metric) with mean, sem, n and status."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*table.csv_rows, table.group_name or "group", table.column_name,
                     "mean", "sem", "n",
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
