"""Build the static viewer site: resized JPEG frames per panel, heat maps of the saved E_warp maps, the
pages (:mod:`experiments.viewer.pages`) and the static assets beside this file.

Layout under ``SITE/``::

    index.html                                   one link per (dataset, task) page
    assets/viewer.js, assets/viewer.css          the player (vanilla JS, no network)
    <dataset>-<task>/index.html                  videos × methods with key metrics, per setting
    <dataset>-<task>/<setting>/<video>/index.html
    <dataset>-<task>/<setting>/<video>/p<k>/00000.jpg       panel k's frames (src/ = the source video)
    <dataset>-<task>/<setting>/<video>/p<k>/err/00000.jpg   its E_warp map at pair (t, t+1) (save_error_maps)
"""

from __future__ import annotations

import logging
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.store import atomic_write_bytes
from experiments.viewer.discover import Panel, VideoGroup, discover, slug
from experiments.viewer.images import fit_size, heat_rgb, write_jpegs
from experiments.viewer.pages import home_page, index_page, video_page
from experiments.viewer.source import read_rgb, source_frames
from hypercon.io.frames import list_frame_files

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
#: the share of kept map values below the heat map's top colour (one scale for every panel of a video)
HEAT_PERCENTILE = 99.0


@dataclass
class Site:
    """What :func:`build_site` wrote: the folder, its size, and where each job's rows land."""

    root: Path
    total_bytes: int
    pages: list[Path] = field(default_factory=list)  # video pages
    job_pages: dict[Path, str] = field(default_factory=dict)  # job folder -> "<dataset>-<task>/index.html#method-…"


def heat_scale(maps_paths: list[Path]) -> float:
    """One top value for every heat map of a video: the :data:`HEAT_PERCENTILE` percentile of kept values."""
    kept = []
    for path in maps_paths:
        with np.load(path) as maps:
            values = maps["error"][maps["keep"]].astype(np.float32).ravel()
        kept.append(values[:: values.size // 500_000 + 1])
    values = np.concatenate(kept) if kept else np.zeros(0, np.float32)
    return float(np.percentile(values, HEAT_PERCENTILE)) if values.size else 1.0


def _curve(panel: Panel, maps: dict[str, np.ndarray] | None) -> list[float | None] | None:
    values = panel.per_pair if panel.per_pair is not None else (maps["per_pair"].tolist() if maps else None)
    if values is None:
        return None
    return [None if v is None or not math.isfinite(float(v)) else float(v) for v in values]


def _write_panel(pid: str, frames: list[np.ndarray], maps_path: Path | None, folder: Path, length: int,
                 size: tuple[int, int], quality: int, vmax: float) -> tuple[int, dict[str, np.ndarray] | None]:
    """One panel's frames (and heat maps): bytes written, and the maps read (None without)."""
    total = write_jpegs(frames[:length], folder / pid, size, quality)
    if maps_path is None:
        return total, None
    maps = dict(np.load(maps_path))
    height, width = frames[0].shape[:2]
    pairs = min(length - 1, len(maps["error"]))
    heat = [heat_rgb(maps["error"][t], maps["keep"][t], vmax) for t in range(pairs)]
    heat += [np.full((height, width, 3), 64, np.uint8)] * (length - pairs)  # the last frame has no pair
    return total + write_jpegs(heat, folder / pid / "err", size, quality), maps


def build_video(group: VideoGroup, folder: Path, index_href: str, assets: str, quality: int, max_side: int,
                dataset: Any = None) -> int:
    """Write one video page and its images (panel by panel: one video in memory at a time); returns the
    bytes written. ``dataset``: the source panel's dataset config (:mod:`experiments.viewer.source`)."""
    source, note = source_frames(group, dataset)
    notes = [note] if note else []
    lengths = {len(list_frame_files(p.frames_dir)) for p in group.panels} | ({len(source)} if source else set())
    length = min(lengths)
    if len(lengths) > 1:
        notes.append(f"panels differ in length ({sorted(lengths)} frames): the first {length} are shown")
    panels = ([Panel("source", None)] if source is not None else []) + list(group.panels)
    vmax = heat_scale([p.maps_path for p in panels if p.maps_path is not None])
    total, entries, size = 0, [], None
    for i, panel in enumerate(panels):
        frames = source if panel.frames_dir is None else read_rgb(panel.frames_dir)
        if size is None:
            size = fit_size(frames[0].shape[1], frames[0].shape[0], max_side)
        pid = "src" if panel.frames_dir is None else f"p{i}"
        written, maps = _write_panel(pid, frames, panel.maps_path, folder, length, size, quality, vmax)
        total += written
        entries.append({"id": pid, "label": panel.label, "dir": pid, "metrics": panel.metrics,
                        "errors": maps is not None,
                        "curve": None if panel.frames_dir is None else _curve(panel, maps)})
    has_maps = any(e["errors"] for e in entries)
    notes.append(f"flicker view: squared warping error (output_t − W(output_t+1))², black 0 to yellow {vmax:.4g} "
                 f"(the {HEAT_PERCENTILE:g}th percentile); grey = occluded, not counted; the last frame has no pair"
                 if has_maps else "no E_warp maps: run with save_error_maps=true for the flicker view")
    if not any(e["curve"] for e in entries):
        notes.append("no per-frame E_warp recorded (runs from before it was recorded, or without the ewarp metric)")
    data = {"title": f"{group.video} · {group.dataset} · {group.task} · {group.setting}", "video": group.video,
            "fps": group.fps, "frames": length, "width": size[0], "height": size[1], "panels": entries,
            "notes": notes, "has_maps": has_maps, "vmax": vmax, "index": index_href}
    page = video_page(data, assets).encode()
    atomic_write_bytes(folder / "index.html", page)
    return total + len(page)


def build_site(dirs: list[Path | str], out: Path | str, quality: int = 85, max_side: int = 480,
               dataset: Any = None) -> Site:
    """Build the site for every video under ``dirs`` into ``out``; returns what was written. ``dataset``:
    the composed config of a dataset the user named, for the source panel of runs without saved inputs
    (:func:`experiments.viewer.source.dataset_config`); a run's recorded config is never instantiated."""
    if not 1 <= quality <= 95:
        raise ValueError(f"--quality must be in 1..95 (JPEG), got {quality}")
    if max_side < 16:
        raise ValueError(f"--max-side must be at least 16 pixels, got {max_side}")
    groups = discover([Path(d) for d in dirs])
    if not groups:
        raise FileNotFoundError(f"no video with saved frames under {', '.join(map(str, dirs))} "
                                "(runs with save_frames=false cannot be viewed)")
    out = Path(out)
    site = Site(out, 0)
    (out / "assets").mkdir(parents=True, exist_ok=True)
    for asset in sorted(STATIC.iterdir()):
        shutil.copyfile(asset, out / "assets" / asset.name)
        site.total_bytes += asset.stat().st_size
    pages: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for group in groups:
        page_dir = slug(f"{group.dataset}-{group.task}")
        folder = out / page_dir / slug(group.setting) / slug(group.video)
        log.info("viewer: %s (%d panels)", folder.relative_to(out), len(group.panels))
        site.total_bytes += build_video(group, folder, "../../index.html", "../../../assets", quality, max_side,
                                        dataset)
        site.pages.append(folder / "index.html")
        section = pages.setdefault(group.page_key, {}).setdefault(group.setting, {"setting": group.setting,
                                                                                  "methods": [], "rows": []})
        section["methods"] += [p.label for p in group.panels if p.label not in section["methods"]]
        section["rows"].append({"video": group.video, "href": f"{slug(group.setting)}/{slug(group.video)}/index.html",
                                "cells": {p.label: p.metrics for p in group.panels}})
        for panel in group.panels:
            page = f"{page_dir}/index.html#method-{slug(panel.label)}"
            site.job_pages.setdefault(Path(panel.job_dir).resolve(), page)
    entries = []
    for (dataset, task), sections in pages.items():
        title = f"{dataset} · {task}"
        data = index_page(title, list(sections.values())).encode()
        atomic_write_bytes(out / slug(f"{dataset}-{task}") / "index.html", data)
        site.total_bytes += len(data)
        rows = [r for s in sections.values() for r in s["rows"]]
        methods = {m for s in sections.values() for m in s["methods"]}
        entries.append((title, f"{slug(f'{dataset}-{task}')}/index.html", len(rows), len(methods)))
    home = home_page(entries).encode()
    atomic_write_bytes(out / "index.html", home)
    site.total_bytes += len(home)
    return site


def human_size(num_bytes: int) -> str:
    """``"12.3 MB"``."""
    for unit in ("B", "kB", "MB", "GB"):
        if num_bytes < 1000 or unit == "GB":
            return f"{num_bytes:.0f} {unit}" if unit == "B" else f"{num_bytes:.1f} {unit}"
        num_bytes /= 1000
    return ""
