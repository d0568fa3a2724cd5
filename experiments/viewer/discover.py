"""What the viewer shows: every (dataset, task, setting, video) found under run or sweep folders, with one
panel per method (its saved output frames, E_warp maps and per-pair E_warp) and the source video.

A *setting* is what makes two outputs of one method on one video differ besides the method: the image
model and, for style transfer, the style. Jobs are read with :mod:`experiments.collect` (the same reading
as the report), so a folder the report understands is one the viewer understands.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.collect import find_job_dirs, job_columns, load_job
from experiments.store import RunStore
from metrics.base import specs_from_provenance

log = logging.getLogger(__name__)

#: keys shown first on the index page and under each panel (others recorded follow, up to :data:`MAX_KEYS`)
FIRST_KEYS = ("ewarp", "ewarp_masked", "cpsnr", "cssim", "fidelity_psnr", "lpips", "psnr")
MAX_KEYS = 4


def slug(text: str) -> str:
    """A file-name-safe form of ``text`` (``"a b/c"`` → ``"a_b_c"``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "all"


@dataclass
class Panel:
    """One method's output of one video (or the source video, ``job`` empty)."""

    label: str
    frames_dir: Path | None  # PNG/JPEG frames on disk (None: ``source_frames`` holds them)
    method: str = ""  # the method's config name (hypercon, framewise, vcons, …)
    is_reference: bool = False  # the frame-wise output of the image model
    job: str = ""
    job_dir: Path | None = None
    metrics: dict[str, str] = field(default_factory=dict)  # "E_warp ↓" -> "0.001234"
    per_pair: list[float] | None = None  # per-pair E_warp (pair t = frames t, t+1)
    maps_path: Path | None = None  # error_maps.npz (save_error_maps=true)


@dataclass
class VideoGroup:
    """Everything shown on one video page."""

    dataset: str
    task: str
    setting: str
    video: str
    panels: list[Panel] = field(default_factory=list)
    source: Panel | None = None
    source_note: str = ""
    fps: float = 24.0
    style: str = ""  # the style (style transfer) or the image model: Table 17's column groups
    jobs: list[tuple[str, Path, dict[str, Any]]] = field(default_factory=list)  # (job, dir, config) for the source

    @property
    def page_key(self) -> tuple[str, str]:
        return (self.dataset, self.task)


def setting_of(cols: dict[str, Any]) -> str:
    """``"fst_engstrom · wave"`` (style transfer) or ``"opencv_inpaint"``: what varies besides the method."""
    model = str(cols.get("model") or "no model")
    return f"{model} · {cols['style']}" if cols.get("task") == "style" and cols.get("style") else model


def key_metrics(record: dict[str, Any], specs: dict[str, Any]) -> dict[str, str]:
    """Up to :data:`MAX_KEYS` of a video's metric values, formatted as the tables do (``"E_warp ↓": "0.0012"``)."""
    values = record.get("metrics") or {}
    keys = [k for k in FIRST_KEYS if k in values] + [k for k in values if k not in FIRST_KEYS]
    out = {}
    for key in keys[:MAX_KEYS]:
        value, spec = values[key], specs.get(key)
        label = f"{spec.label} {spec.direction()}" if spec else key
        out[label] = format(value, spec.fmt) if spec and isinstance(value, (int, float)) else str(value)
    return out


def discover(dirs: list[Path]) -> list[VideoGroup]:
    """Every video group under ``dirs`` (run or sweep folders), in a stable order. Raises FileNotFoundError
    naming a folder that is missing or holds no job."""
    groups: dict[tuple[str, str, str, str], VideoGroup] = {}
    for root in dirs:
        job_dirs = find_job_dirs(Path(root))
        if not job_dirs:
            raise FileNotFoundError(f"{root} holds no run (no results.json or provenance.json below it)")
        for job_dir in job_dirs:
            results = load_job(job_dir)
            if results is None or results.get("status") == "unavailable":
                continue
            job = f"{Path(root).name}/{job_dir.relative_to(root).as_posix()}".rstrip("/.")
            cols = job_columns(results, job)
            specs = specs_from_provenance((results.get("provenance") or {}).get("metrics") or {})
            config = (results.get("provenance") or {}).get("config") or {}
            for row in results.get("videos", []):
                _add_panel(groups, job, job_dir, cols, specs, config, row)
    out = [g for _, g in sorted(groups.items())]
    for group in out:
        _disambiguate(group.panels)
    return out


def _add_panel(groups, job: str, job_dir: Path, cols, specs, config, row: dict[str, Any]) -> None:
    store = RunStore(job_dir)
    video = str(row.get("video"))
    frames = store.frames_dir(video)
    if not row.get("complete", True) or not frames.is_dir():
        log.info("%s: %s has no saved frames (save_frames=false?); not shown", job, video)
        return
    key = (str(cols["dataset"]), str(cols["task"]), setting_of(cols), video)
    group = groups.setdefault(key, VideoGroup(*key))
    group.style = str(cols.get("style") if cols.get("task") == "style" and cols.get("style") else cols.get("model"))
    fps = (row.get("meta") or {}).get("fps")
    if isinstance(fps, (int, float)) and fps > 0:
        group.fps = float(fps)
    per_pair = (row.get("per_frame") or {}).get("ewarp")
    maps = store.error_maps_path(video)
    group.panels.append(Panel(str(cols.get("label") or cols.get("method") or job), frames, str(cols.get("method")),
                              bool(cols.get("is_reference")), job, job_dir, key_metrics(row, specs), per_pair,
                              maps if maps.is_file() else None))
    group.jobs.append((job, job_dir, config))


def _disambiguate(panels: list[Panel]) -> None:
    """Two panels with one label (two jobs of one method) get their job folder appended."""
    labels = [p.label for p in panels]
    for panel in panels:
        if labels.count(panel.label) > 1:
            panel.label = f"{panel.label} ({panel.job})"
