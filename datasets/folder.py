"""Any videos on disk: frame folders or video files, optionally with per-frame mask folders.

``root`` may be

* a video file (``.mp4`` …): one video, named after the file;
* a folder of frame images: one video, named after the folder;
* a folder of videos: each sub-folder (frames directly in it, or in ``<video>/<frames_subdir>``) and each
  video file is one video.

A relative ``root`` is resolved against ``data_root`` (``paths.data_root``, env ``HYPERCON_DATA``) when that
is set, so ``dataset=inpaint_samples`` works with ``HYPERCON_DATA=/path/to/shared/data``.

Masks (``masks=folder`` or ``object``, the same here): from ``<root>/<video>/<masks_subdir>`` if
``masks_subdir`` is set, else from ``<masks_root>/<video>`` (or ``masks_root`` itself for a single video).
One mask file per frame, same size, paired with the frames by the numbers in their names
(:mod:`hypercon.io.pairing`; a missing or extra mask is refused naming it); masks of a video file pair in
order. ``mask_polarity``: ``hole`` = white marks the region to fill (DAVIS,
ProPainter), ``known`` = white marks known pixels (the files this project writes).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from torch import Tensor

from datasets.base import VideoDataset, require_root
from hypercon.io.frames import FRAME_EXTENSIONS, POLARITIES, list_frame_files, read_frames, read_masks
from hypercon.io.pairing import pair_by_name
from hypercon.io.video import VIDEO_EXTENSIONS, count_video_frames, read_video
from hypercon.errors import InputError, InputNotFound, SettingError

log = logging.getLogger(__name__)

LAYOUT = ("a video file, a folder of frames, or a folder with one sub-folder of frames (or video file) "
          "per video")


def _is_video_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in VIDEO_EXTENSIONS


def _has_frames(path: Path) -> bool:
    return path.is_dir() and any(p.suffix.lower() in FRAME_EXTENSIONS for p in path.iterdir() if p.is_file())


class FolderDataset(VideoDataset):
    """Videos from a folder or a file (see module docstring); ``size=None`` (the default) keeps the native
    size. ``**options``: the options every dataset shares (:class:`datasets.base.VideoDataset`)."""

    name = "folder"
    object_mask_kinds = ("object", "folder")

    def __init__(
        self,
        root: str | None,
        *,
        masks_root: str | None = None,
        mask_polarity: str = "hole",
        frames_subdir: str | None = None,
        masks_subdir: str | None = None,
        data_root: str | None = None,
        mask_threshold: int = 127,
        fps: float | None = None,
        **options: Any,
    ):
        super().__init__(**options)
        if mask_polarity not in POLARITIES:
            raise SettingError(f"dataset.mask_polarity must be one of {POLARITIES}, got {mask_polarity!r}")
        if root is not None and data_root is not None and not Path(str(root)).expanduser().is_absolute():
            root = str(Path(str(data_root)).expanduser() / str(root))
        self.root = require_root(
            root, "dataset.root", "pass dataset.root=/path (a relative root is resolved against paths.data_root, "
            f"env HYPERCON_DATA, currently {data_root!r})", LAYOUT)
        self.frames_subdir = frames_subdir or None
        self.masks_subdir = masks_subdir or None
        self.masks_root = None if masks_root is None else Path(str(masks_root)).expanduser()
        self.mask_polarity, self.mask_threshold, self.fps = mask_polarity, int(mask_threshold), fps
        if self.masks in ("object", "folder") and self.masks_subdir is None and self.masks_root is None:
            raise SettingError(f"dataset.masks={self.masks!r} needs dataset.masks_subdir or dataset.masks_root")
        if self.masks_root is not None and not self.masks_root.is_dir():
            raise InputNotFound(f"dataset.masks_root={self.masks_root} is not a folder")
        self._sources = self._discover()

    def _discover(self) -> dict[str, Path]:
        """Video name → frame folder or video file."""
        root = self.root
        if _is_video_file(root):
            self._single = True
            return {root.stem: root}
        if root.is_file():
            raise InputError(f"dataset.root={root} is a file but not a video ({', '.join(VIDEO_EXTENSIONS)})")
        if _has_frames(root) or (self.frames_subdir and _has_frames(root / self.frames_subdir)):
            self._single = True
            return {root.name: root / self.frames_subdir if self.frames_subdir else root}
        self._single = False
        sources = {}
        for entry in sorted(root.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                sources[entry.name] = entry / self.frames_subdir if self.frames_subdir else entry
            elif _is_video_file(entry):
                if entry.stem in sources:
                    raise InputError(f"{root}: two videos named {entry.stem!r} (a folder and {entry.name})")
                sources[entry.stem] = entry
        if not sources:
            raise InputError(f"dataset.root={root} holds no videos. Expected: {LAYOUT}")
        return sources

    def _video_names(self) -> list[str]:
        return list(self._sources)

    def _source(self, name: str) -> Path:
        if name not in self._sources:
            raise KeyError(f"dataset.root={self.root} has no video {name!r}")
        return self._sources[name]

    def _read(self, name: str) -> tuple[Tensor, dict[str, Any]]:
        source = self._source(name)
        if _is_video_file(source):
            frames, fps = read_video(source, self.max_frames)
            return frames, {"source": str(source), "fps": self.fps or fps}
        return read_frames(source, self.max_frames), {"source": str(source), "fps": self.fps}

    def _mask_folder(self, name: str) -> Path:
        if self.masks_subdir is not None:
            if self._single:
                base = self.root if self.root.is_dir() else self.root.parent
            else:
                base = self.root / name
            return base / self.masks_subdir
        return self.masks_root if self._single and not (self.masks_root / name).is_dir() else self.masks_root / name

    def _read_object_masks(self, name: str, frames: Tensor, meta: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        folder = self._mask_folder(name)
        source = self._source(name)
        masks = list_frame_files(folder)
        frame_files = None if _is_video_file(source) else list_frame_files(source)
        num_frames = count_video_frames(source) if frame_files is None else len(frame_files)
        if len(masks) != num_frames:
            raise InputError(f"{folder}: {len(masks)} mask files for {num_frames} frames in {source}: "
                             "need exactly one mask per frame")
        if frame_files is not None:  # by the numbers in the names (hypercon.io.pairing); a video file's: in order
            masks = pair_by_name(frame_files, masks, "mask")
        known = read_masks(masks, self.mask_polarity, self.mask_threshold, self.max_frames)
        return known, {"mask_source": str(folder), "mask_polarity_on_disk": self.mask_polarity}

    def _provenance_extra(self) -> dict[str, Any]:
        return {"root": str(self.root), "masks_root": None if self.masks_root is None else str(self.masks_root),
                "frames_subdir": self.frames_subdir, "masks_subdir": self.masks_subdir,
                "mask_polarity": self.mask_polarity, "mask_threshold": self.mask_threshold}
