"""The viewer's images: frames as resized JPEGs, E_warp maps as colour-mapped JPEG heat maps.

Pure array functions (uint8 ``[H,W,3]`` in, bytes out) plus the two writers the site builder calls.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import numpy as np
from PIL import Image

from hypercon.io.atomic import atomic_write_bytes


def fit_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``(w, h)`` scaled so that the longer side is at most ``max_side`` (never enlarged), aspect kept.

    >>> fit_size(832, 480, 416)
    (416, 240)
    """
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def jpeg_bytes(rgb: np.ndarray, size: tuple[int, int], quality: int) -> bytes:
    """``rgb`` uint8 ``[H,W,3]`` resized to ``size`` (w, h; Lanczos) and JPEG-encoded at ``quality``."""
    image = Image.fromarray(rgb)
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    buf = BytesIO()
    image.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def heat_rgb(error: np.ndarray, keep: np.ndarray, vmax: float) -> np.ndarray:
    """An E_warp map ``[H,W]`` (squared error, 0 outside ``keep``) as uint8 RGB: the ``inferno`` colour map
    from 0 to ``vmax`` (clipped); excluded pixels (occluded / outside the region) are mid grey."""
    from matplotlib import colormaps

    lut = (colormaps["inferno"](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)
    level = np.clip(np.nan_to_num(error.astype(np.float64)) / max(vmax, 1e-12), 0.0, 1.0)
    rgb = lut[(level * 255).round().astype(np.int64)]
    rgb[~keep.astype(bool)] = 128
    return rgb


def write_jpegs(frames: list[np.ndarray] | np.ndarray, folder: Path, size: tuple[int, int], quality: int) -> int:
    """Write ``frames`` (uint8 ``[H,W,3]`` each) as ``folder/00000.jpg`` …; returns the bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for t, rgb in enumerate(frames):
        data = jpeg_bytes(np.ascontiguousarray(rgb), size, quality)
        atomic_write_bytes(folder / f"{t:05d}.jpg", data)
        total += len(data)
    return total
