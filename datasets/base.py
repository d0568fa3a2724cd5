"""The dataset interface the runner uses: ``video_names()``, ``load(name) -> VideoSample``, ``provenance()``.

A dataset reads a video's frames (subclass: :meth:`VideoDataset._read`), brings them to the working size
(:mod:`datasets.preprocess`) and attaches masks according to ``masks``:

* ``none``: ``known = gt = None`` (style transfer);
* ``rectangle``: the paper's seeded rectangle (:mod:`datasets.masks`); ``gt = frames`` (the full video;
  the runner hides the hole before the method sees it);
* ``object`` / ``folder``: the dataset's own masks (DAVIS annotations, a mask folder, synthetic sprites),
  cropped like the frames, optionally dilated; ``gt = None`` (object removal has no ground truth).

The mask rule (:func:`hypercon.checks.check_known_pixels`): every frame of an inpainting video must keep at
least one known pixel; a video with an all-hole frame is refused (``NoKnownPixelsError`` naming the video
and the frames), since a model has nothing to inpaint from and the grey placeholder it returns scores a
perfect-looking E_warp. A video with no hole pixel at all is accepted with a warning naming it; its
hole-restricted metrics are ``unavailable (no hole pixels)``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor

from hypercon.checks import check_known_pixels

from datasets.masks import dilate_holes, rectangle_masks
from datasets.preprocess import apply_crop_box, cover_crop_box, parse_size, resize_cover_crop_mask
from hypercon.errors import InputError, InputNotFound, SettingError

log = logging.getLogger(__name__)

MASK_KINDS = ("none", "rectangle", "object", "folder")
#: ``[width, height]`` the paper works at (DAVIS, ActivityNet)
PAPER_SIZE = (832, 480)


@dataclass
class VideoSample:
    """One video, ready for a method.

    frames: ``[T,3,H,W]`` float32 RGB in [0,1], the input video (for rectangle inpainting: the full
        ground-truth video; holes are applied through ``known``).
    known: ``[T,1,H,W]`` float32, 1 = known, 0 = hole; None for style transfer.
    gt: ground truth for inpainting metrics (rectangles: ``frames``; object removal: None).
    meta: source paths, original size, crop box, fps, mask kind / file / box, …
    """

    name: str
    frames: Tensor
    known: Tensor | None
    gt: Tensor | None
    meta: dict[str, Any] = field(default_factory=dict)


def check_video_length(frames: Tensor, name: str, source: Any) -> None:
    """A video needs at least 2 frames; ValueError naming the video and its source otherwise."""
    if frames.shape[0] < 2:
        raise InputError(
            f"video {name!r} ({source}) has {frames.shape[0]} frame(s): a video needs at least 2 frames"
        )


def check_mask_match(known: Tensor, frames: Tensor, source: Any) -> None:
    """Masks must be one per frame with the frames' size; ValueError naming ``source`` otherwise."""
    if known.shape[0] != frames.shape[0]:
        raise InputError(
            f"{source}: {known.shape[0]} masks for {frames.shape[0]} frames: need exactly one mask per frame"
        )
    if known.shape[-2:] != frames.shape[-2:]:
        raise InputError(
            f"{source}: masks are {known.shape[-1]}x{known.shape[-2]} (WxH) but frames are "
            f"{frames.shape[-1]}x{frames.shape[-2]}: masks must have the frames' size"
        )


class VideoDataset(ABC):
    """Base class: options shared by every dataset, mask attachment, size handling and provenance.

    The shared options are keyword-only and declared here once; a dataset declares its own and passes
    the rest on (``def __init__(self, root, *, own=…, **options): super().__init__(**options)``):

    Args:
        size: ``[width, height]``: resize (aspect kept) to cover, centre crop; None = native size.
        max_videos / max_frames: keep the first videos (sorted) / frames; None = all.
        masks: ``none`` | ``rectangle`` | ``object`` | ``folder`` (see the module docstring).
        seed: seeds the rectangle masks.
        mask_dir: where rectangle masks are saved (the runner sets ``<output>/masks``).
        mask_dilation: object masks: grow holes by this many pixels.
    """

    name: str = "dataset"
    #: mask kinds this dataset can provide (besides none/rectangle, which every dataset supports)
    object_mask_kinds: tuple[str, ...] = ()
    #: options that say where the data lives, not what it is, besides those named ``root``, ``*_root``,
    #: ``*_dir`` or ``*_path`` (left out of the resume hash: :func:`experiments.run_config.data_location_keys`)
    location_options: tuple[str, ...] = ()

    def __init__(
        self,
        *,
        size: list[int] | tuple[int, int] | None = None,
        max_videos: int | None = None,
        max_frames: int | None = None,
        masks: str = "none",
        seed: int = 0,
        mask_dir: str | None = None,
        mask_dilation: int = 0,
    ):
        if masks not in MASK_KINDS:
            raise SettingError(f"dataset.masks must be one of {MASK_KINDS}, got {masks!r}")
        if masks in ("object", "folder") and masks not in self.object_mask_kinds:
            supported = ", ".join(("none", "rectangle", *self.object_mask_kinds))
            raise SettingError(f"dataset.masks={masks!r} is not available for dataset {self.name!r} (use {supported})")
        if max_frames is not None and int(max_frames) < 2:
            raise SettingError(f"dataset.max_frames must be >= 2 (a video) or null, got {max_frames}")
        if max_videos is not None and int(max_videos) < 1:
            raise SettingError(f"dataset.max_videos must be >= 1 or null, got {max_videos}")
        if int(mask_dilation) < 0:
            raise SettingError(f"dataset.mask_dilation must be >= 0 pixels, got {mask_dilation}")
        self.size = parse_size(size)
        self.max_videos = None if max_videos is None else int(max_videos)
        self.max_frames = None if max_frames is None else int(max_frames)
        self.masks = masks
        self.seed = int(seed)
        self.mask_dir = None if mask_dir is None else str(mask_dir)
        self.mask_dilation = int(mask_dilation)

    # ---- to implement -------------------------------------------------------------------------------
    @abstractmethod
    def _video_names(self) -> list[str]:
        """Every video of the selected split (any order; the base sorts and applies max_videos)."""

    @abstractmethod
    def _read(self, name: str) -> tuple[Tensor, dict[str, Any]]:
        """Frames ``[T,3,h,w]`` (``max_frames`` applied) and meta (at least ``source``). If the frames are
        already at the working size, put the crop box under ``meta["preprocess"]``."""

    def _read_object_masks(self, name: str, frames: Tensor, meta: dict[str, Any]) -> tuple[Tensor, dict[str, Any]]:
        """Object masks ``known [T,1,h,w]`` on the grid of the frames ``_read`` returned, and mask meta."""
        raise SettingError(f"dataset {self.name!r} has no object masks (dataset.masks={self.masks!r})")

    def _provenance_extra(self) -> dict[str, Any]:
        return {}

    # ---- the interface ------------------------------------------------------------------------------
    def video_names(self) -> list[str]:
        """Sorted video names of the split, truncated to ``max_videos``."""
        names = sorted(set(self._video_names()))
        return names[: self.max_videos] if self.max_videos is not None else names

    def load(self, name: str) -> VideoSample:
        """Read, check, resize/crop and attach masks (see the module docstring)."""
        frames, meta = self._read(name)
        check_video_length(frames, name, meta.get("source"))
        native_h, native_w = frames.shape[-2:]
        box = cover_crop_box((native_w, native_h), self.size)
        meta.setdefault("original_size", [native_w, native_h])
        meta.setdefault("preprocess", box.as_dict())
        known, gt = None, None
        if self.masks in ("object", "folder"):
            known, mask_meta = self._read_object_masks(name, frames, meta)
            check_mask_match(known, frames, mask_meta.get("mask_source", meta.get("source")))
            known = dilate_holes(resize_cover_crop_mask(known, box), self.mask_dilation)
            meta.update(mask_meta, mask_kind=self.masks, mask_dilation=self.mask_dilation)
        frames = apply_crop_box(frames, box, "bilinear")
        if self.masks == "rectangle":
            t, _, h, w = frames.shape
            known, mask_meta = rectangle_masks(name, t, h, w, self.seed, self.mask_dir)
            meta.update(mask_meta)
            gt = frames
        elif self.masks == "none":
            meta["mask_kind"] = "none"
        if known is not None:
            check_known_pixels(known, name)  # the mask rule: a known pixel in every frame (module docstring)
        meta["size"] = [int(frames.shape[-1]), int(frames.shape[-2])]
        meta["num_frames"] = int(frames.shape[0])
        return VideoSample(name=name, frames=frames, known=known, gt=gt, meta=meta)

    def provenance(self) -> dict[str, Any]:
        cls = type(self)
        record = {
            "name": self.name,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "tier": "data",
            "size": list(self.size) if self.size else None,
            "max_videos": self.max_videos,
            "max_frames": self.max_frames,
            "masks": self.masks,
            "mask_dilation": self.mask_dilation,
            "mask_dir": self.mask_dir,
            "seed": self.seed,
        }
        record.update(self._provenance_extra())
        return record


def require_root(root: str | Path | None, setting: str, hint: str, layout: str) -> Path:
    """Resolve a dataset root setting; errors name the setting, how to set it (``hint``) and the layout."""
    if root is None or str(root).strip() in ("", "None", "null"):
        raise SettingError(f"{setting} is not set: {hint}. Expected layout: {layout}")
    path = Path(str(root)).expanduser()
    if not path.exists():
        raise InputNotFound(f"{setting}={path} does not exist: {hint}. Expected layout: {layout}")
    return path
