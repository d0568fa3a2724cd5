"""Resize-to-cover + centre crop to the working resolution (the paper: 832×480 for DAVIS and ActivityNet).

Rule: scale ``s = max(W/w, H/h)`` (aspect kept) so the resized frame covers ``W×H``; resized size
``(max(W, round(w·s)), max(H, round(h·s)))``; then crop the centre ``W×H`` window (left = (w'−W)//2,
top = (h'−H)//2). Frames use antialiased bilinear resampling (no overshoot: values stay in [0,1]); masks use
nearest-neighbour and are re-thresholded at 0.5, so they stay binary. A DAVIS 854×480 frame is only
cropped (s = 1, 11 px off each side).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from hypercon.errors import SettingError
from hypercon.resize import resize_frames


@dataclass(frozen=True)
class CropBox:
    """How a video was brought to the working size (all sizes W×H, in pixels)."""

    original: tuple[int, int]  # (w, h) as read
    resized: tuple[int, int]  # (w', h') after scaling
    crop: tuple[int, int, int, int]  # (left, top, W, H) in the resized frame
    scale: float

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def parse_size(size: Sequence[int] | None, setting: str = "dataset.size") -> tuple[int, int] | None:
    """``[W, H]`` (or None = native size) → ``(W, H)``; ValueError naming ``setting`` otherwise."""
    if size is None:
        return None
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise SettingError(f"{setting} must be [width, height] or null, got {size!r}") from exc
    if w < 2 or h < 2:
        raise SettingError(f"{setting} must be at least [2, 2] (width, height), got {size!r}")
    return w, h


def cover_crop_box(original: tuple[int, int], size: tuple[int, int] | None) -> CropBox:
    """The crop box taking a ``original=(w,h)`` frame to ``size=(W,H)`` (None keeps the native size)."""
    w, h = original
    if size is None or tuple(size) == (w, h):
        return CropBox((w, h), (w, h), (0, 0, w, h), 1.0)
    tw, th = size
    scale = max(tw / w, th / h)
    rw, rh = max(tw, round(w * scale)), max(th, round(h * scale))
    return CropBox((w, h), (rw, rh), ((rw - tw) // 2, (rh - th) // 2, tw, th), scale)


def _resize(x: Tensor, size_hw: tuple[int, int], mode: str) -> Tensor:
    if mode == "nearest" and tuple(x.shape[-2:]) != tuple(size_hw):
        return F.interpolate(x, size=size_hw, mode="nearest-exact")
    return x if mode == "nearest" else resize_frames(x, size_hw, antialias=True)


def apply_crop_box(x: Tensor, box: CropBox, mode: str = "bilinear", chunk: int = 16) -> Tensor:
    """Resize ``x [T,C,h,w]`` to ``box.resized`` and crop ``box.crop``; processed ``chunk`` frames at a time.

    ``mode="bilinear"`` (frames, output clamped to [0,1]) or ``"nearest"`` (masks; re-thresholded at 0.5).
    """
    if x.ndim != 4:
        raise ValueError(f"apply_crop_box: expected [T,C,H,W], got {tuple(x.shape)}")
    if (x.shape[-1], x.shape[-2]) != box.original:
        raise ValueError(
            f"apply_crop_box: input is {x.shape[-1]}x{x.shape[-2]} (WxH) but the crop box was made for "
            f"{box.original[0]}x{box.original[1]}"
        )
    left, top, tw, th = box.crop
    if box.resized == box.original and (tw, th) == box.original:
        return x
    parts = []
    for start in range(0, x.shape[0], chunk):
        part = _resize(x[start : start + chunk], (box.resized[1], box.resized[0]), mode)
        parts.append(part[..., top : top + th, left : left + tw].contiguous())
    out = torch.cat(parts)
    return (out >= 0.5).to(x.dtype) if mode == "nearest" else out.clamp_(0.0, 1.0)


def resize_cover_crop(frames: Tensor, size: Sequence[int] | None) -> tuple[Tensor, CropBox]:
    """Frames ``[T,3,h,w]`` in [0,1] → ``([T,3,H,W], box)`` with ``size=(W,H)``; None keeps native size."""
    box = cover_crop_box((frames.shape[-1], frames.shape[-2]), parse_size(size))
    return apply_crop_box(frames, box, "bilinear"), box


def resize_cover_crop_mask(known: Tensor, box: CropBox) -> Tensor:
    """Masks ``[T,1,h,w]`` (binary) through the same ``box`` as their frames: nearest + threshold."""
    return apply_crop_box(known, box, "nearest")
