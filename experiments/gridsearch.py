"""HyperCon's hyper-parameter selection (paper §3.3, Fig. 5) over a sweep of i (frames inserted),
c (frames aggregated) and d (dilation).

Selection rule (paper): among the settings in the top 15% by FID (lowest FID), choose the one with the
lowest warping error E_warp. When no setting has an FID (the Inception weights are missing, or FID was
not computed), the fidelity proxy ``fidelity_psnr`` (PSNR against the frame-wise output, higher is
better: top 15% by highest) stands in, and every output says so.

Details the paper leaves open, fixed here: the top set has ``max(1, ceil(0.15·n))`` settings of the n
settings that have a criterion value; ties in the criterion are broken by E_warp, then by (i, c, d);
ties in E_warp among candidates by the criterion rank. Selection is done per (dataset, split, task,
model, style) group.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.collect import Collection, component_note
from experiments.store import atomic_write_json
from experiments.tables import Row, Table, header, mark_best, metric_cell, unavailable_notes
from metrics.base import MetricKey

log = logging.getLogger(__name__)

GROUP_COLUMNS = ("dataset", "split", "task", "model", "style")
AXES = ("i", "c", "d", "pool")  # HyperCon's grid axes, as its grid_axes() names them (paper symbols)
TOP_FRACTION = 0.15


def _order(spec: MetricKey) -> str:
    """How the criterion ranks: ``highest``, ``lowest`` or ``closest to 1``."""
    if spec.ideal is not None:
        return f"closest to {spec.ideal:g}"
    return "highest" if spec.higher_is_better else "lowest"


@dataclass
class Selection:
    """The outcome of the selection rule for one group of settings."""

    group: dict[str, Any]
    criterion: str  # "fid" or the proxy key
    proxy: bool
    message: str  # human-readable statement of the rule as applied (says when the proxy stands in)
    num_settings: int
    top_fraction: float
    selected: dict[str, Any]  # axes, job, criterion value, ewarp
    candidates: list[dict[str, Any]] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # jobs without a criterion value

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.group.items() if v is not None)


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(float(value))


def _plain(value: Any) -> Any:
    """A JSON-friendly Python scalar (numpy scalars unwrapped; NaN/None as None)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _setting(job: pd.Series, keys: tuple[str, ...]) -> dict[str, Any]:
    out = {a: _plain(job.get(a)) for a in AXES}
    out["job"] = job["job"]
    for key in keys:
        value = job.get(key)
        out[key] = float(value) if _finite(value) else None
    return out


def select_setting(jobs: pd.DataFrame, top_fraction: float = TOP_FRACTION, fid_key: str = "fid",
                   proxy_key: str = "fidelity_psnr", ewarp_key: str = "ewarp",
                   specs: dict[str, MetricKey] | None = None) -> Selection:
    """Apply the selection rule to ``jobs`` (one row per setting, columns as in
    :func:`experiments.collect.collect`); ``specs`` gives the keys' directions (default: as the registered
    metric classes declare them). Raises ValueError when no setting can be ranked."""
    if not 0 < top_fraction <= 1:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}")
    if jobs.empty:
        raise ValueError("grid search: no HyperCon jobs to select from")
    has = lambda key: key in jobs and jobs[key].map(_finite).any()  # noqa: E731
    if has(fid_key):
        criterion, proxy, why = fid_key, False, ""
    elif has(proxy_key):
        criterion, proxy = proxy_key, True
        reasons = [u.get(fid_key) for u in jobs.get("unavailable", pd.Series(dtype=object)) if isinstance(u, dict)]
        reason = next((r for r in reasons if r), None)
        why = f"FID unavailable ({reason})" if reason else "FID not computed (run with metrics=paper)"
    else:
        raise ValueError(f"grid search: neither {fid_key!r} nor the proxy {proxy_key!r} has a value in any job "
                         f"(jobs: {', '.join(map(str, jobs['job'][:3]))}…); run with metrics=paper or default")
    if not has(ewarp_key):
        raise ValueError(f"grid search: no job has {ewarp_key!r} (E_warp); the rule needs it")

    if specs is None:
        from metrics.registry import declared_keys

        specs = declared_keys()
    spec = specs[criterion]
    ranked = jobs[jobs[criterion].map(_finite)].copy()
    excluded = jobs.loc[~jobs[criterion].map(_finite), "job"].tolist()
    ranked["_crit"] = ranked[criterion].astype(float).map(spec.badness)
    ranked["_ewarp"] = ranked[ewarp_key].map(lambda v: float(v) if _finite(v) else math.inf)
    ranked = ranked.sort_values(["_crit", "_ewarp", *[a for a in ("i", "c", "d") if a in ranked]], kind="stable")
    k = max(1, math.ceil(top_fraction * len(ranked) - 1e-9))
    top = ranked.iloc[:k]
    if not top["_ewarp"].map(math.isfinite).any():
        raise ValueError(f"grid search: none of the top {k} settings by {criterion} has an E_warp value")
    best = top.sort_values(["_ewarp", "_crit"], kind="stable").iloc[0]
    keys = (criterion, ewarp_key)
    selected = _setting(best, keys)
    name = "FID" if not proxy else f"{proxy_key} (proxy for FID: {why})"
    message = (f"selected {', '.join(f'{a}={selected[a]}' for a in AXES if selected[a] is not None)} "
               f"({selected['job']}): lowest E_warp ({selected[ewarp_key]:.6g}) among the top {k} of "
               f"{len(ranked)} settings ({top_fraction:.0%}) by {_order(spec)} {name}")
    if proxy:
        message = f"NOTE: FID is not available, the fidelity proxy {proxy_key} stands in. " + message
    if excluded:
        message += f"; {len(excluded)} setting(s) without {criterion} left out"
    group = {c: _plain(jobs.iloc[0].get(c)) for c in GROUP_COLUMNS if c in jobs}
    return Selection(group, criterion, proxy, message, len(ranked), top_fraction, selected,
                     [_setting(r, keys) for _, r in top.iterrows()], excluded)


def _in_group(jobs: pd.DataFrame, group: dict[str, Any]) -> pd.DataFrame:
    for col, value in group.items():
        jobs = jobs[jobs[col].isna()] if value is None else jobs[jobs[col] == value]
    return jobs


def grid_jobs(collection: Collection) -> pd.DataFrame:
    """The jobs of a collection whose method declares HyperCon's grid axes (i, c, d)."""
    jobs = collection.jobs
    if not all(a in jobs for a in ("i", "c", "d")):
        return jobs.iloc[:0]
    failed = jobs["failed"].map(bool).astype(bool) if "failed" in jobs else pd.Series(False, index=jobs.index)
    return jobs[jobs[["i", "c", "d"]].notna().all(axis=1) & jobs["refused"].isna() & ~failed]  # never a failed job


def select_all(collection: Collection, top_fraction: float = TOP_FRACTION) -> list[Selection]:
    """:func:`select_setting` for each (dataset, split, task, model, style) group of HyperCon jobs."""
    jobs = grid_jobs(collection)
    if jobs.empty:
        raise ValueError(f"grid search: no HyperCon jobs under {collection.root}")
    cols = [c for c in GROUP_COLUMNS if c in jobs]
    out = []
    for _, group in jobs.groupby(cols, sort=True, dropna=False):
        selection = select_setting(group, top_fraction, specs=collection.specs)
        log.info("%s: %s", selection.label(), selection.message)
        out.append(selection)
    return out


def grid_table(collection: Collection, selections: list[Selection]) -> Table:
    """One block per group, one row per setting (★ = selected, ○ = in the top set), metric columns."""
    jobs = grid_jobs(collection)
    blocks, footnotes, keys = [], [], []
    for sel in selections:
        wanted = [sel.criterion, "ewarp", "cpsnr", "cssim", "fid", "fidelity_psnr", "fidelity_ssim"]
        for k in wanted:
            has_value = k in jobs and jobs[k].map(_finite).any()
            if k not in collection.specs:
                continue
            metric = collection.spec(k).metric
            unavailable = jobs["unavailable"].map(lambda u, m=metric: isinstance(u, dict) and m in u).any()
            if k not in keys and (has_value or unavailable):
                keys.append(k)
    for sel in selections:
        group = _in_group(jobs, sel.group)
        candidates = {c["job"] for c in sel.candidates}
        rows = []
        shown = [a for a in AXES if a != "pool" or group["pool"].nunique() > 1]
        for _, job in group.sort_values(["i", "c", "d"]).iterrows():
            mark = " ★" if job["job"] == sel.selected["job"] else (" ○" if job["job"] in candidates else "")
            label = ", ".join(f"{a}={job[a]}" for a in shown if not pd.isna(job.get(a))) + mark
            note = component_note(collection.results.get(job["job"], {}))
            if note not in footnotes:
                footnotes.append(note)
            cells = {(None, k): metric_cell(job, k, collection.spec(k)) for k in keys}
            for cell in cells.values():
                cell.job, cell.note = job["job"], footnotes.index(note) + 1
            rows.append(Row(label, [footnotes.index(note) + 1], cells, [job["job"]]))
        mark_best(rows, {k: collection.spec(k) for k in keys}, [None])
        blocks.append((sel.label(), rows))
    headers = {k: header(collection.spec(k)) for k in keys}
    notes = [f"{sel.label()}: {sel.message}" for sel in selections]
    notes += unavailable_notes(blocks, {k: collection.spec(k) for k in keys})
    notes.append(f"★ selected setting; ○ other settings in the top {selections[0].top_fraction:.0%} by the "
                 "style criterion. Values are mean ± SEM across videos; best per column in bold.")
    return Table("Grid search (paper §3.3, Fig. 5)", keys, headers, [None], None, blocks, footnotes, notes,
                 row_headers=("Group", "Setting"))


def save_selection(selections: list[Selection], path: Path) -> None:
    """Write the chosen settings (and the rule as applied) to a JSON file."""
    payload = {"rule": "top {:.0%} by FID (lowest), then lowest E_warp; proxy fidelity_psnr (highest) when FID "
                       "is unavailable".format(selections[0].top_fraction if selections else TOP_FRACTION),
               "selections": [asdict(s) for s in selections]}
    atomic_write_json(Path(path), json.loads(json.dumps(payload, default=str)))


def plot_grid(collection: Collection, selection: Selection, stem: Path) -> list[Path]:
    """Fig. 5-style small multiples: rows = style criterion and E_warp, columns = i, c, d. Grey dots are
    all settings, the black line the mean per axis value, orange circles the top set, the red star the
    selected setting. Saved as ``<stem>.png`` and ``<stem>.pdf``; returns both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    jobs = _in_group(grid_jobs(collection), selection.group)
    metrics = [selection.criterion, "ewarp"]
    axes_used = [a for a in ("i", "c", "d") if jobs[a].nunique() > 1] or ["i", "c", "d"]
    fig, grid = plt.subplots(len(metrics), len(axes_used), figsize=(3.2 * len(axes_used), 2.8 * len(metrics)),
                             squeeze=False, constrained_layout=True)
    candidates = {c["job"] for c in selection.candidates}
    for r, key in enumerate(metrics):
        values = jobs[key].map(lambda v: float(v) if _finite(v) else math.nan)
        for c, axis in enumerate(axes_used):
            ax = grid[r][c]
            x = jobs[axis].astype(float)
            ax.scatter(x, values, s=14, color="0.65", label="settings")
            means = values.groupby(x).mean()
            ax.plot(means.index, means.values, color="black", lw=1.2, label="mean over others")
            top = jobs["job"].isin(candidates)
            ax.scatter(x[top], values[top], s=60, facecolors="none", edgecolors="tab:orange", label="top set")
            chosen = jobs["job"] == selection.selected["job"]
            ax.scatter(x[chosen], values[chosen], s=140, marker="*", color="tab:red", zorder=5, label="selected")
            ax.set_xlabel({"i": "i (frames inserted)", "c": "c (frames aggregated)", "d": "d (dilation)"}[axis])
            ax.set_xticks(sorted(x.unique()))
            ax.set_ylabel(header(collection.spec(key)) + (" (proxy)" if key == selection.criterion and
                                                          selection.proxy else ""))
            ax.grid(alpha=0.3)
    grid[0][0].legend(fontsize=7, loc="best")
    title = selection.label() + ("  [FID unavailable: fidelity proxy]" if selection.proxy else "")
    fig.suptitle(title, fontsize=9)
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=120)
    plt.close(fig)
    return paths
