"""Inpainting masks: the paper's seeded rectangles (§3.1 / 4), saved and reused; object-mask dilation.

Rectangle protocol (HyperCon, after Wang et al. / Xu et al.): one axis-aligned rectangle per video, fixed
over time. Its height is ``round(u·H)`` and its width ``round(v·W)`` with ``u, v ~ U[0.15, 0.5]`` drawn
independently, and its top-left corner is uniform among the positions that keep it inside the frame.
The draw uses ``np.random.default_rng([seed, crc32(video name)])``: the same for a video whatever the
order or number of videos in the run, and across Python processes (unlike ``hash()``).

Files: ``<mask_dir>/<video>.png``, one 8-bit grayscale PNG per video, **white (255) = known, black (0) =
hole** (the polarity of VIE's mode-'1' masks, 1 = known). An existing file is reused as is, so every
method of a run (and a resumed run) sees identical masks; a file whose size differs from the video's
stops with an error.
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor
from hypercon.errors import InputError, SettingError

log = logging.getLogger(__name__)

MIN_FRACTION, MAX_FRACTION = 0.15, 0.5


@dataclass(frozen=True)
class Rectangle:
    """A hole rectangle in pixels: rows ``top … top+height−1``, columns ``left … left+width−1``."""

    top: int
    left: int
    height: int
    width: int

    def as_dict(self) -> dict:
        return {"top": self.top, "left": self.left, "height": self.height, "width": self.width}


def name_seed(seed: int, name: str) -> list[int]:
    """Seed sequence for per-video randomness: ``[seed, crc32(name)]`` (stable across processes)."""
    return [int(seed), zlib.crc32(name.encode("utf-8"))]


def random_rectangle(
    seed: int,
    name: str,
    height: int,
    width: int,
    min_fraction: float = MIN_FRACTION,
    max_fraction: float = MAX_FRACTION,
) -> Rectangle:
    """The seeded hole rectangle of video ``name`` in a ``height×width`` frame (see module docstring)."""
    if not 0 < min_fraction <= max_fraction <= 1:
        raise SettingError(f"need 0 < min_fraction <= max_fraction <= 1, got {min_fraction}, {max_fraction}")
    rng = np.random.default_rng(name_seed(seed, name))
    rh = min(height, max(1, round(rng.uniform(min_fraction, max_fraction) * height)))
    rw = min(width, max(1, round(rng.uniform(min_fraction, max_fraction) * width)))
    top = int(rng.integers(0, height - rh + 1))
    left = int(rng.integers(0, width - rw + 1))
    return Rectangle(top, left, rh, rw)


def rectangle_known(rect: Rectangle, height: int, width: int) -> Tensor:
    """``[1,H,W]`` float32 mask: 0 inside the rectangle (hole), 1 elsewhere (known)."""
    known = torch.ones(1, height, width)
    known[:, rect.top : rect.top + rect.height, rect.left : rect.left + rect.width] = 0.0
    return known


def rectangle_from_known(known: Tensor) -> Rectangle | None:
    """Bounding box of the hole of a ``[1,H,W]`` mask (None if it has no hole)."""
    rows = torch.nonzero((known[0] < 0.5).any(dim=1)).flatten()
    cols = torch.nonzero((known[0] < 0.5).any(dim=0)).flatten()
    if rows.numel() == 0:
        return None
    return Rectangle(int(rows[0]), int(cols[0]), int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1))


def rectangle_masks(
    name: str, num_frames: int, height: int, width: int, seed: int, mask_dir: str | Path | None = None
) -> tuple[Tensor, dict]:
    """Known masks ``[T,1,H,W]`` for video ``name`` and a meta dict (kind, box, file).

    With ``mask_dir``: reuse ``<mask_dir>/<name>.png`` if present (error if its size differs), otherwise
    write it (atomically). Without: generate only.
    """
    from hypercon.io.frames import read_mask, write_mask

    rect = random_rectangle(seed, name, height, width)
    known = rectangle_known(rect, height, width)
    meta = {"mask_kind": "rectangle", "mask_seed": int(seed), "mask_box": rect.as_dict(), "mask_file": None}
    if mask_dir is not None:
        path = Path(mask_dir) / f"{name}.png"
        meta["mask_file"] = str(path)
        stored = None
        if path.exists():
            try:
                stored = read_mask(path, polarity="known")
            except InputError as exc:  # unreadable: counts as missing, rewritten from the seed
                log.warning("mask file %s unreadable (%s); rewriting it from seed %d", path, exc, seed)
        if stored is not None:
            if tuple(stored.shape[-2:]) != (height, width):
                raise InputError(
                    f"mask file {path} is {stored.shape[-1]}x{stored.shape[-2]} (WxH) but video {name!r} is "
                    f"{width}x{height}: it belongs to another setting (dataset.size?); delete it or use another "
                    "mask_dir / output folder"
                )
            if not torch.equal(stored, known):
                log.warning("%s differs from the rectangle seed %d gives for %s: using the file", path, seed, name)
                box = rectangle_from_known(stored)
                meta["mask_box"] = box.as_dict() if box else None
            known = stored
        else:
            write_mask(known, path, polarity="known")
    return known[None].expand(num_frames, 1, height, width).contiguous(), meta


def dilate_holes(known: Tensor, radius: int) -> Tensor:
    """Grow the holes of ``known [T,1,H,W]`` by the disc ``dx² + dy² <= radius²`` (0 = unchanged)."""
    if radius < 0:
        raise SettingError(f"mask dilation radius must be >= 0, got {radius}")
    if radius == 0:
        return known
    dy, dx = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    kernel = (dx**2 + dy**2 <= radius**2).astype(np.uint8)
    holes = (known < 0.5).to(torch.uint8).cpu().numpy()
    grown = np.stack([cv2.dilate(h[0], kernel)[None] for h in holes])
    return torch.from_numpy(1.0 - grown.astype(np.float32))
