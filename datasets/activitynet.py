"""ActivityNet clips (Caba Heilbron et al. 2015) as HyperCon used them: curated clips of consecutive frames.

ActivityNet is distributed as YouTube ids, so the harness reads clips from local files named in a
**clip manifest** (CSV, one row per clip)::

    clip_id,source,start_frame,num_frames[,split][,...]
    v_abc123_0,videos/v_abc123.mp4,120,100
    v_def456_0,frames/v_def456,0,100

``source`` is a video file (decoded with PyAV) or a folder of frame images; a relative path is resolved
against ``root`` if given, else the manifest's folder. ``start_frame`` (default 0) is a 0-based decoded
frame index; ``num_frames`` defaults to ``clip_frames`` (100, as in the paper: 100 clips × 100 frames per
split). An optional ``split`` column is filtered by ``dataset.split``; other columns are kept as meta.

Frames are resized (aspect kept) and centre-cropped to ``size`` (832×480) and, with ``cache_dir``, cached
losslessly as ``<cache_dir>/<clip_id>/%05d.png`` plus ``clip.json`` (what was extracted and how, and the
frames' digest). A cache whose ``clip.json`` does not match the manifest row and size, or whose frames are not
the ones it records, is rebuilt; the folder appears atomically.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from datasets.base import PAPER_SIZE, VideoDataset
from datasets.preprocess import apply_crop_box, cover_crop_box
from hypercon.checks import frames_from_uint8, frames_to_uint8
from hypercon.io.digest import frames_digest
from hypercon.io.frames import list_frame_files, read_frames, write_frames
from hypercon.io.video import iter_video_frames, probe_video
from hypercon.errors import InputError, InputNotFound, SettingError

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("clip_id", "source")
CHUNK = 16  # frames decoded / resized at a time while extracting


def read_manifest(path: Path, clip_frames: int = 100) -> list[dict[str, Any]]:
    """Parse and validate a clip manifest; errors name the file, the line and the problem."""
    if not path.is_file():
        raise InputNotFound(f"clip manifest {path} does not exist (set dataset.manifest to a CSV with "
                                f"columns clip_id,source,start_frame,num_frames)")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise InputError(f"clip manifest {path}: missing column(s) {missing}; has {columns}; required "
                             f"{list(REQUIRED_COLUMNS)}, optional start_frame, num_frames, split")
        rows, seen = [], set()
        for line, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            clip_id = row["clip_id"]
            if not clip_id or "/" in clip_id or "\\" in clip_id or clip_id.startswith("."):
                raise InputError(f"clip manifest {path}, line {line}: bad clip_id {clip_id!r} (needs a file name)")
            if clip_id in seen:
                raise InputError(f"clip manifest {path}, line {line}: duplicate clip_id {clip_id!r}")
            seen.add(clip_id)
            if not row["source"]:
                raise InputError(f"clip manifest {path}, line {line}: empty source for clip {clip_id!r}")
            try:
                row["start_frame"] = int(row.get("start_frame") or 0)
                row["num_frames"] = int(row.get("num_frames") or clip_frames)
            except ValueError as exc:
                raise InputError(f"clip manifest {path}, line {line}: start_frame / num_frames must be integers "
                                 f"({exc})") from exc
            if row["start_frame"] < 0 or row["num_frames"] < 2:
                raise InputError(f"clip manifest {path}, line {line}: need start_frame >= 0 and num_frames >= 2, "
                                 f"got {row['start_frame']}, {row['num_frames']}")
            rows.append(row)
    return rows


class ActivityNetDataset(VideoDataset):
    """Manifest-driven clips, resized/cropped to ``size`` and cached as PNG (see module docstring).
    ``**options``: the options every dataset shares (:class:`datasets.base.VideoDataset`)."""

    name = "activitynet"
    location_options = ("manifest",)  # the CSV's path (its rows decide the clips, its place does not)

    def __init__(
        self,
        manifest: str | None,
        *,
        root: str | None = None,
        cache_dir: str | None = None,
        split: str | None = None,
        clip_frames: int = 100,
        size: list[int] | tuple[int, int] | None = PAPER_SIZE,
        **options: Any,
    ):
        super().__init__(size=size, **options)
        if manifest is None or str(manifest).strip() in ("", "None", "null"):
            raise SettingError("dataset.manifest is not set: give a CSV clip manifest (columns clip_id,source,"
                             "start_frame,num_frames), e.g. dataset.manifest=/data/activitynet/clips.csv")
        self.root = None if root is None else Path(str(root)).expanduser()
        path = Path(str(manifest)).expanduser()
        self.manifest = self.root / path if self.root is not None and not path.is_absolute() else path
        self.cache_dir = None if cache_dir is None else Path(str(cache_dir)).expanduser()
        self.split, self.clip_frames = split, int(clip_frames)
        rows = read_manifest(self.manifest, self.clip_frames)
        if split is not None:
            if rows and "split" not in rows[0]:
                raise InputError(f"dataset.split={split!r} but clip manifest {self.manifest} has no split column")
            rows = [r for r in rows if r["split"] == split]
            if not rows:
                raise InputError(f"clip manifest {self.manifest} has no clips of dataset.split={split!r}")
        self._rows = {r["clip_id"]: r for r in rows}

    def _video_names(self) -> list[str]:
        return list(self._rows)

    def _source_path(self, row: dict[str, Any]) -> Path:
        source = Path(row["source"]).expanduser()
        if not source.is_absolute():
            source = (self.root if self.root is not None else self.manifest.parent) / source
        if not source.exists():
            raise InputNotFound(f"clip {row['clip_id']!r}: source {source} (clip manifest {self.manifest}) "
                                    "does not exist")
        return source

    def _describe(self, row: dict[str, Any], source: Path) -> dict[str, Any]:
        return {"source": str(source), "start_frame": row["start_frame"], "num_frames": row["num_frames"],
                "size": list(self.size) if self.size else None}

    def _read(self, name: str) -> tuple[Tensor, dict[str, Any]]:
        if name not in self._rows:
            raise KeyError(f"clip manifest {self.manifest} has no clip {name!r}")
        row = self._rows[name]
        source = self._source_path(row)
        extra = {k: v for k, v in row.items() if k not in ("clip_id", "source", "start_frame", "num_frames")}
        wanted = self._describe(row, source)
        cached = self._cached(name, wanted)
        if cached is not None:
            try:
                frames = read_frames(self.cache_dir / name)
                if frames_digest(frames) == cached.get("frames_sha256"):
                    frames = frames[: self.max_frames] if self.max_frames else frames
                    return frames, {**cached, **extra, "cache": str(self.cache_dir / name)}
                log.warning("cached frames of clip %r in %s are not the frames its clip.json records (changed "
                            "or swapped by hand?); re-extracting", name, self.cache_dir / name)
            except (InputError, InputNotFound) as exc:  # an unreadable cache entry counts as missing
                log.warning("cached frames of clip %r unreadable (%s); re-extracting", name, exc)
        frames, info = self._extract(row, source)
        meta = {**wanted, **info, "frames_sha256": frames_digest(frames)}
        if self.cache_dir is not None:
            self._store(name, frames, meta)
            meta["cache"] = str(self.cache_dir / name)
        return frames[: self.max_frames] if self.max_frames else frames, {**meta, **extra}

    def _cached(self, name: str, wanted: dict[str, Any]) -> dict[str, Any] | None:
        if self.cache_dir is None:
            return None
        sidecar = self.cache_dir / name / "clip.json"
        try:
            meta = json.loads(sidecar.read_text())
        except (OSError, ValueError):
            return None
        if any(meta.get(k) != v for k, v in wanted.items()):
            log.info("cache %s was made for %s, not %s: re-extracting", sidecar.parent, meta, wanted)
            return None
        if len(list_frame_files(sidecar.parent)) != wanted["num_frames"]:
            return None
        return meta

    def _chunks(self, row: dict[str, Any], source: Path):
        start, count = row["start_frame"], row["num_frames"]
        if source.is_dir():
            files = list_frame_files(source)[start : start + count]
            for i in range(0, len(files), CHUNK):
                yield read_frames(files[i : i + CHUNK])
            return
        batch = []
        for array in iter_video_frames(source, start, count):
            batch.append(array)
            if len(batch) == CHUNK:
                yield frames_from_uint8(np.stack(batch))
                batch = []
        if batch:
            yield frames_from_uint8(np.stack(batch))

    def _extract(self, row: dict[str, Any], source: Path) -> tuple[Tensor, dict[str, Any]]:
        parts, box = [], None
        for chunk in self._chunks(row, source):
            if box is None:
                box = cover_crop_box((chunk.shape[-1], chunk.shape[-2]), self.size)
            elif (chunk.shape[-1], chunk.shape[-2]) != box.original:
                raise InputError(f"clip {row['clip_id']!r}: frames of {source} change size mid-clip")
            parts.append(apply_crop_box(chunk, box, "bilinear"))
        got = sum(p.shape[0] for p in parts)
        if got < row["num_frames"]:
            raise InputError(
                f"clip {row['clip_id']!r}: {source} has only {got} frame(s) from start_frame={row['start_frame']}, "
                f"the manifest ({self.manifest}) asks for num_frames={row['num_frames']}"
            )
        info = {"original_size": list(box.original), "preprocess": box.as_dict(),
                "fps": probe_video(source)["fps"] if source.is_file() else None}
        # quantise to 8 bit: identical frames whether they come from the cache or straight from the source
        return frames_from_uint8(frames_to_uint8(torch.cat(parts))), info

    def _store(self, name: str, frames: Tensor, meta: dict[str, Any]) -> None:
        final = self.cache_dir / name
        tmp = self.cache_dir / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        write_frames(frames, tmp)
        (tmp / "clip.json").write_text(json.dumps(meta, indent=1))
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        try:
            os.rename(tmp, final)
        except OSError:  # another job stored the same clip first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)

    def _provenance_extra(self) -> dict[str, Any]:
        return {"manifest": str(self.manifest), "root": None if self.root is None else str(self.root),
                "split": self.split, "clip_frames": self.clip_frames, "num_clips": len(self._rows),
                "cache_dir": None if self.cache_dir is None else str(self.cache_dir)}
