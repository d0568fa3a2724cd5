"""Load every job of a run or sweep directory into pandas DataFrames (the input of tables, grid search,
plots and the notebook).

A *job* is one Hydra job directory (see :mod:`experiments.store`): it holds ``results.json`` or, when
the process was killed before writing it, ``provenance.json`` plus per-video ``videos/<v>/metrics.json``
records. Both are read; a job rebuilt from records is marked ``complete = False``. Every file is verified
against its seal before use, and the aggregate is recomputed from the verified records (:func:`load_job`).

Frames returned by :func:`collect`:

* ``jobs``: one row per job. Job columns (:data:`JOB_COLUMNS`) come from the resolved config and the
  provenance (method name and row label, dataset, task, model, style, the method's grid axes such as
  HyperCon's i/c/d/pool, flows, tier, …); then for every
  per-video metric key ``k``: ``k`` (mean over videos), ``k_sem``, ``k_n``; then the set
  metrics (``fid``, ``vfid``) as plain columns; ``unavailable`` is a dict ``{metric: reason}``; ``failed``
  is a dict ``{video: reason}`` of the videos that failed (then the job's metric columns are empty: its
  table cells say "failed", never a number over the other videos).
* ``videos``: one row per (job, video): the job columns, ``video``, ``num_frames``, ``width``,
  ``height``, ``time_method_s`` and one column per metric key.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hypercon.component import TEST
from metrics.base import MetricKey, specs_from_provenance
from experiments.job_records import load_job  # noqa: F401 - the reading of one job, used here and re-exported

log = logging.getLogger(__name__)

#: job-level columns, in display order
JOB_COLUMNS = (
    "job", "method", "label", "dataset", "split", "task", "model", "style", "flow", "interp",
    "metric_flow", "tier", "seed", "config_hash", "complete", "num_videos", "is_reference", "table_rank",
    "model_options",
)


@dataclass
class Collection:
    """Everything found under ``root``: per-job and per-video frames plus the raw results by job."""

    root: Path
    jobs: pd.DataFrame
    videos: pd.DataFrame
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # job -> results dict
    metric_keys: list[str] = field(default_factory=list)  # per-video keys, first-seen order
    set_keys: list[str] = field(default_factory=list)  # set metric keys (fid, vfid)
    specs: dict[str, MetricKey] = field(default_factory=dict)  # how each key is reported, as recorded
    axes: list[str] = field(default_factory=list)  # grid-axis columns declared by the methods (i, c, d, pool)

    def spec(self, key: str) -> MetricKey:
        """The recorded :class:`MetricKey` of ``key``; KeyError naming the known keys otherwise."""
        try:
            return self.specs[key]
        except KeyError:
            raise KeyError(f"metric key {key!r} is not recorded by any job under {self.root} "
                           f"(known: {', '.join(self.specs) or 'none'})") from None

    def __len__(self) -> int:
        return len(self.jobs)


def find_job_dirs(root: Path) -> list[Path]:
    """Job directories under ``root`` (``root`` itself may be one): folders holding ``results.json`` or
    ``provenance.json``, sorted. Hidden folders (``.hydra``, ``.submitit``) and cache folders are skipped."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"results directory {root} does not exist")
    found = set()
    for name in ("results.json", "provenance.json"):
        for path in root.rglob(name):
            rel = path.parent.relative_to(root).parts
            if any(part.startswith(".") or part in ("videos", "cache") for part in rel):
                continue
            found.add(path.parent)
    return sorted(found)


def _get(tree: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def _component_name(node: Any) -> str | None:
    """Name of a component config/provenance node: its ``name``, else the class of its ``_target_``."""
    if not isinstance(node, dict):
        return None
    if node.get("name"):
        return str(node["name"])
    target = node.get("_target_") or node.get("class")
    return str(target).rsplit(".", 1)[-1] if target else None


def job_columns(results: dict[str, Any], job: str) -> dict[str, Any]:
    """The job-level columns (:data:`JOB_COLUMNS`) of one results dict."""
    prov = results.get("provenance", {}) or {}
    cfg = prov.get("config", {}) or {}
    method_cfg = cfg.get("method", {}) or {}
    method_prov = prov.get("method", {}) or {}
    components = method_prov.get("components", {}) or {}
    model_cfg = cfg.get("model", {}) or {}
    style = model_cfg.get("style") if isinstance(model_cfg, dict) else None
    row: dict[str, Any] = {
        "job": job,
        "method": method_cfg.get("name") or method_prov.get("name"),
        "label": method_prov.get("label") or method_cfg.get("name") or method_prov.get("name"),
        "dataset": _get(cfg, "dataset", "name"),
        "split": _get(cfg, "dataset", "split"),
        "task": _get(cfg, "task", "name"),
        "model": _component_name(model_cfg) or _component_name(components.get("model")),
        "style": str(style) if style is not None else None,
        "flow": _component_name(components.get("flow")) if "flow" in components else None,
        "interp": _component_name(components.get("interp")) if "interp" in components else None,
        "metric_flow": _component_name(prov.get("metric_flow")) or _component_name(_get(cfg, "metrics", "flow")),
        "tier": result_tier(prov),
        "seed": prov.get("seed", cfg.get("seed")),
        "config_hash": prov.get("config_hash"),
        "complete": bool(results.get("complete")),
        "num_videos": int(results.get("num_videos", len(results.get("videos", [])))),
        "is_reference": bool(method_prov.get("is_reference", False)),
        "table_rank": int(method_prov.get("table_rank", 1)),
        # the image model's recorded options (JSON), e.g. two variants of one model
        "model_options": json.dumps((components.get("model") or {}).get("options") or {}, sort_keys=True),
    }
    row.update(method_prov.get("axes") or {})
    return row


def component_note(results: dict[str, Any]) -> str:
    """"hypercon (tier offline; i=2, c=5, d=1, pool=mean): model fst_engstrom (offline, style udnie, sha256
    0cf7c0c32538); interp flow_linear (offline); flow dis (offline)" for one job; for a job recorded as
    unavailable (its method's weights are missing), "… : not run here: <the first part of its reason>"."""
    prov = results.get("provenance", {}) or {}
    method = prov.get("method", {}) or {}
    settings = [f"{sym}={value}" for sym, value in (method.get("axes") or {}).items()]
    parts = []
    for role, comp in (method.get("components", {}) or {}).items():
        text = f"{role} {comp.get('name')} ({comp.get('tier')}"
        if (comp.get("options") or {}).get("style"):
            text += f", style {comp['options']['style']}"
        weights = comp.get("weights") or {}
        if weights.get("sha256"):
            text += f", sha256 {str(weights['sha256'])[:12]}"
        parts.append(text + ")")
    head = f"{method.get('name')} (tier {method.get('tier')}" + (f"; {', '.join(settings)})" if settings else ")")
    if not parts and results.get("status") == "unavailable":  # recorded by a sweep job that could not run here
        return f"{head}: not run here: {str(results.get('reason') or 'no reason recorded').split(' | ')[0]}"
    return f"{head}: " + ("; ".join(parts) if parts else "no components")


def metric_note(results: dict[str, Any]) -> str:
    """"E_warp(dis) on source flow dis (offline), occlusion rule lai; cpsnr (offline); …" for one job."""
    prov = results.get("provenance", {}) or {}
    cfg = prov.get("config", {}) or {}
    flow = prov.get("metric_flow") or {}
    parts = []
    for name, metric in (prov.get("metrics", {}) or {}).items():
        text = f"{name} ({metric.get('tier')}"
        weights = metric.get("weights") or {}
        if isinstance(weights, dict) and weights.get("sha256"):
            text += f", sha256 {str(weights['sha256'])[:12]}"
        parts.append(text + ")")
    if flow:
        rule = (cfg.get("metrics") or {}).get("occlusion_rule")
        parts.insert(0, f"E_warp({flow.get('name')}) on source-video flow {flow.get('name')} ({flow.get('tier')})"
                        + (f", occlusion rule {rule}" if rule else ""))
    return "; ".join(parts) if parts else "no metrics"


def result_tier(prov: dict[str, Any]) -> str | None:
    """A result's tier: its method's, or ``test`` when a metric network or the metric flow ran on stand-in
    weights from a test manifest (see :data:`hypercon.component.TIERS`)."""
    measured_by = [*(prov.get("metrics") or {}).values(), prov.get("metric_flow")]
    if any(isinstance(p, dict) and p.get("tier") == TEST for p in measured_by):
        return TEST
    return (prov.get("method") or {}).get("tier")


def split_violation(results: dict[str, Any]) -> str | None:
    """Why a result must be refused (a network trained here saw one of the evaluated videos), or None."""
    from baselines.common.split import SplitViolation, check_unseen

    try:
        check_unseen(results.get("provenance", {}) or {}, [v.get("video") for v in results.get("videos", [])])
    except SplitViolation as exc:
        return str(exc)
    return None


def _job_label(job_dir: Path, root: Path) -> str:
    rel = job_dir.relative_to(root).as_posix()
    return rel if rel != "." else job_dir.name


def _job_row(results: dict[str, Any], cols: dict[str, Any], job_dir: Path, metric_keys: list[str],
             set_keys: list[str]) -> dict[str, Any]:
    """One ``jobs`` row: the job columns, each metric's mean/sem/n (none when a video failed), the set
    metrics and the job's status columns. Appends newly seen keys to ``metric_keys`` / ``set_keys``."""
    row = dict(cols)
    row["failed"] = dict(results.get("failed") or {})
    for key, agg in (results.get("aggregate", {}) or {}).items():
        if key not in metric_keys:
            metric_keys.append(key)
        if row["failed"]:  # a mean over the videos that did not fail is no number for this job
            continue
        row[key] = agg.get("mean")
        row[f"{key}_sem"] = agg.get("sem")
        row[f"{key}_n"] = agg.get("n")
    for key, value in (results.get("set_metrics", {}) or {}).items():
        if key not in set_keys:
            set_keys.append(key)
        if not row["failed"]:
            row[key] = value
    row["unavailable"] = dict(results.get("unavailable", {}) or {})
    row["self_reference"] = set(results.get("self_reference", []) or [])
    row["refused"] = split_violation(results)
    # the whole job could not run here (e.g. its method's weights are missing): every cell says so
    row["job_unavailable"] = str(results.get("reason")) if results.get("status") == "unavailable" else None
    row["path"] = str(job_dir)
    return row


def _video_rows(results: dict[str, Any], cols: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``videos`` rows of one job: the job columns, the video's size, timing and metrics."""
    rows = []
    for record in results.get("videos", []):
        size = record.get("size") or [None, None]
        vrow = dict(cols)
        vrow.update({
            "video": record.get("video"),
            "num_frames": record.get("num_frames"),
            "width": size[0],
            "height": size[1],
            "time_method_s": (record.get("timing_s") or {}).get("method"),
        })
        vrow.update(record.get("metrics", {}) or {})
        rows.append(vrow)
    return rows


def _log_problems(jobs_df: pd.DataFrame, root: Path) -> None:
    """One log line per refused, failed or unavailable job, and one for the incomplete ones."""
    for job, reason in jobs_df.loc[jobs_df["refused"].notna(), ["job", "refused"]].itertuples(index=False):
        log.error("%s: REFUSED, its numbers are not reported: %s", job, reason)
    for job, failed in jobs_df.loc[jobs_df["failed"].map(bool), ["job", "failed"]].itertuples(index=False):
        log.error("%s: %d video(s) FAILED, its numbers are not reported: %s", job, len(failed),
                  "; ".join(f"{v}: {r}" for v, r in list(failed.items())[:3]))
    for job, reason in jobs_df.loc[jobs_df["job_unavailable"].notna(), ["job", "job_unavailable"]].itertuples(
            index=False):
        log.warning("%s: unavailable here, its row says so: %s", job, reason)
    incomplete = jobs_df.loc[~jobs_df["complete"] & jobs_df["job_unavailable"].isna(), "job"].tolist()
    if incomplete:
        log.warning("%d of %d job(s) under %s are incomplete, e.g. %s", len(incomplete), len(jobs_df), root,
                    incomplete[0])


def collect(root: Path | str) -> Collection:
    """Load every job under ``root`` (a run directory or a sweep directory). Raises FileNotFoundError if
    ``root`` is missing or holds no job."""
    root = Path(root)
    jobs, videos, raw = [], [], {}
    metric_keys: list[str] = []
    set_keys: list[str] = []
    specs: dict[str, MetricKey] = {}
    axes: list[str] = []
    for job_dir in find_job_dirs(root):
        results = load_job(job_dir)
        if results is None:
            continue
        label = _job_label(job_dir, root)
        raw[label] = results
        cols = job_columns(results, label)
        prov = results.get("provenance", {}) or {}
        recorded = {**{n: {"name": n} for n in (results.get("unavailable") or {})}, **(prov.get("metrics") or {})}
        for key, spec in specs_from_provenance(recorded).items():  # unavailable ones: as their class declares
            specs.setdefault(key, spec)
        axes += [a for a in ((prov.get("method") or {}).get("axes") or {}) if a not in axes]
        jobs.append(_job_row(results, cols, job_dir, metric_keys, set_keys))
        videos += _video_rows(results, cols)
    if not jobs:
        raise FileNotFoundError(f"no results under {root} (expected results.json or provenance.json in job folders)")
    undeclared = [k for k in (*metric_keys, *set_keys) if k not in specs]
    if undeclared:  # results that recorded no key specs: as the registered metric classes declare them
        from metrics.registry import declared_keys

        declared = declared_keys()
        specs.update({k: declared[k] for k in undeclared if k in declared})
    jobs_df = pd.DataFrame(jobs)
    for axis in axes:  # jobs of methods without that axis have None (pandas: NaN)
        if axis not in jobs_df:
            jobs_df[axis] = None
    videos_df = pd.DataFrame(videos) if videos else pd.DataFrame(columns=[*JOB_COLUMNS, "video"])
    _log_problems(jobs_df, root)
    return Collection(root=root, jobs=jobs_df, videos=videos_df, results=raw, metric_keys=metric_keys,
                      set_keys=set_keys, specs=specs, axes=axes)
