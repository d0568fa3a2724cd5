"""Frame folders and single images on disk ↔ tensors in the harness's conventions.

* Frames come back as ``[T,3,H,W]`` float32 RGB in [0,1]; images as ``[3,H,W]``.
* Frame files are ``.jpg .jpeg .png .bmp`` (any case), in natural order (``2.png`` before ``10.png``).
* Grayscale, palette and RGBA files are converted to RGB (alpha dropped) with a logged warning naming the
  file; 16-bit files are scaled to 8 bit.
* Masks come back as ``known`` ``[T,1,H,W]`` float32, 1 = known, 0 = hole. A mask file marks pixels as
  "set" (white: value > ``threshold``, colour as luma; a 0/1 file: 1; for palette/indexed PNGs such as DAVIS
  annotations: index > 0; the rule: :mod:`hypercon.io.mask_values`). Masks where the threshold hides every
  non-zero value are refused naming the folder, the largest value and ``dataset.mask_threshold``.
  ``polarity="hole"`` means set pixels are holes (DAVIS, ProPainter); ``polarity="known"`` means set
  pixels are known. Files this project writes use ``polarity="known"`` (white = known, like VIE's mode
  '1' masks with 1 = known).
* Writes are atomic per file (temporary name in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from hypercon.io.atomic import atomic_path
from hypercon.io.mask_values import check_marks_something, marked_pixels
from hypercon.checks import check_frames, frames_from_uint8, frames_to_uint8
from hypercon.errors import InputError, InputNotFound, NotAFolder, SettingError

log = logging.getLogger(__name__)

FRAME_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_PIL_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".bmp": "BMP"}
POLARITIES = ("hole", "known")


def natural_key(name: str) -> list:
    """Sort key that orders embedded numbers numerically: ``f2.png`` < ``f10.png``."""
    return [int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", name)]


def list_frame_files(folder: str | os.PathLike) -> list[Path]:
    """Image files (jpg/jpeg/png/bmp) directly in ``folder``, in natural order.

    Raises FileNotFoundError if the folder is missing and ValueError if it holds no frame files.
    """
    folder = Path(folder)
    if not folder.exists():
        raise InputNotFound(f"frame folder {folder} does not exist")
    if not folder.is_dir():
        raise NotAFolder(f"{folder} is not a folder of frames")
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FRAME_EXTENSIONS
             and not p.name.startswith(".")]
    if not files:
        raise InputError(f"frame folder {folder} holds no frames ({'/'.join(e[1:] for e in FRAME_EXTENSIONS)} files)")
    return sorted(files, key=lambda p: natural_key(p.name))


def _open(path: Path) -> Image.Image:
    if not path.is_file():
        raise InputNotFound(f"image file {path} does not exist")
    try:
        img = Image.open(path)
        img.load()
    except Exception as exc:  # PIL raises many types for truncated / corrupt files
        raise InputError(f"{path}: unreadable or corrupt image ({type(exc).__name__}: {exc})") from exc
    return img


def _to_uint8_array(img: Image.Image) -> np.ndarray:
    """The pixel array of ``img`` as uint8 (16-bit and float modes rescaled)."""
    arr = np.asarray(img)
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if img.mode.startswith("I;16") or arr.dtype == np.uint16:
        return np.round(arr.astype(np.float64) / 257.0).astype(np.uint8)
    if img.mode == "F":
        return np.round(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


def _rgb_array(img: Image.Image) -> tuple[np.ndarray, str | None]:
    """``[H,W,3]`` uint8 RGB and, when a conversion happened, a description of it."""
    mode = img.mode
    if mode == "RGB":
        return np.array(img, dtype=np.uint8), None
    if mode in ("RGBA", "RGBa", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA"):
        what = {"P": "palette", "PA": "palette+alpha"}.get(mode, mode)
        return np.array(img.convert("RGB"), dtype=np.uint8), f"{what} (mode {mode}) converted to RGB"
    gray = _to_uint8_array(img.convert("L") if mode in ("LA", "La", "1") else img)
    if gray.ndim == 3:
        gray = gray[..., 0]
    return np.repeat(gray[..., None], 3, axis=2), f"grayscale (mode {mode}) converted to RGB"


def read_image(path: str | os.PathLike) -> Tensor:
    """Read one image as ``[3,H,W]`` float32 RGB in [0,1] (non-RGB files converted, with a warning)."""
    path = Path(path)
    arr, note = _rgb_array(_open(path))
    if note:
        log.warning("%s: %s", path, note)
    return frames_from_uint8(arr)


def _check_same_size(path: Path, size: tuple[int, int], first: Path, first_size: tuple[int, int], what: str):
    if size != first_size:
        raise InputError(
            f"{path}: {what} size {size[0]}x{size[1]} (WxH) differs from {first_size[0]}x{first_size[1]} of "
            f"{first.name} in {first.parent}: every {what} of a video must have the same size"
        )


def _resolve_files(source: str | os.PathLike | Sequence, max_frames: int | None) -> list[Path]:
    files = list_frame_files(source) if isinstance(source, (str, os.PathLike)) else [Path(p) for p in source]
    if not files:
        raise InputError("read_frames: empty list of frame files")
    if max_frames is not None:
        if max_frames < 1:
            raise SettingError(f"max_frames must be >= 1 or None, got {max_frames}")
        files = files[:max_frames]
    return files


def read_frames(source: str | os.PathLike | Sequence, max_frames: int | None = None) -> Tensor:
    """Read a video's frames: a folder (see :func:`list_frame_files`) or an explicit list of files.

    Returns ``[T,3,H,W]`` float32 RGB in [0,1], ``T = min(#files, max_frames)``. Raises ValueError naming
    the file for unreadable/corrupt files and for a frame whose size differs from the first frame's.
    """
    files = _resolve_files(source, max_frames)
    out: np.ndarray | None = None
    converted: list[tuple[Path, str]] = []
    for i, path in enumerate(files):
        arr, note = _rgb_array(_open(path))
        if note:
            converted.append((path, note))
        if out is None:
            out = np.empty((len(files), *arr.shape), dtype=np.uint8)
        _check_same_size(path, (arr.shape[1], arr.shape[0]), files[0], (out.shape[2], out.shape[1]), "frame")
        out[i] = arr
    if converted:
        more = f" (and {len(converted) - 1} more files of this video)" if len(converted) > 1 else ""
        log.warning("%s: %s%s", converted[0][0], converted[0][1], more)
    return frames_from_uint8(out)


def _mask_set(img: Image.Image, threshold: int) -> np.ndarray:
    """Boolean ``[H,W]``: True where the mask file marks a pixel (:mod:`hypercon.io.mask_values`)."""
    return marked_pixels(img, threshold, _to_uint8_array)


def read_mask(path: str | os.PathLike, polarity: str = "hole", threshold: int = 127) -> Tensor:
    """One mask file → ``known`` ``[1,H,W]`` float32 (1 = known). See the module docstring for polarity."""
    if polarity not in POLARITIES:
        raise SettingError(f"mask polarity must be one of {POLARITIES}, got {polarity!r}")
    marked = _mask_set(_open(Path(path)), threshold)
    known = ~marked if polarity == "hole" else marked
    return torch.from_numpy(known.astype(np.float32))[None]


def read_masks(
    source: str | os.PathLike | Sequence, polarity: str = "hole", threshold: int = 127, max_frames: int | None = None
) -> Tensor:
    """A folder (or list) of mask files → ``known`` ``[T,1,H,W]`` float32 (1 = known, 0 = hole).

    ``polarity="hole"``: white (or label > 0) marks a hole; ``"known"``: white marks a known pixel.
    Raises ValueError naming the file for corrupt files and masks of different sizes.
    """
    if polarity not in POLARITIES:
        raise SettingError(f"mask polarity must be one of {POLARITIES}, got {polarity!r}")
    files = _resolve_files(source, max_frames)
    masks = []
    for path in files:
        m = read_mask(path, polarity, threshold)
        if masks:
            first = masks[0]
            _check_same_size(path, (m.shape[2], m.shape[1]), files[0], (first.shape[2], first.shape[1]), "mask")
        masks.append(m)
    known = torch.stack(masks)
    any_marked = bool((known < 0.5).any() if polarity == "hole" else (known > 0.5).any())
    check_marks_something(files, any_marked, threshold, _to_uint8_array, _open)
    return known


def _atomic_save(img: Image.Image, path: Path) -> None:
    fmt = _PIL_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SettingError(f"{path}: unsupported image extension (use one of {', '.join(_PIL_FORMATS)})")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        img.save(fh, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))


def write_image(image: Tensor, path: str | os.PathLike) -> Path:
    """Write ``[3,H,W]`` float RGB in [0,1] (clamped, rounded to 8 bit) to ``path`` atomically."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"write_image: expected [3,H,W] RGB, got {tuple(image.shape)}")
    path = Path(path)
    _atomic_save(Image.fromarray(frames_to_uint8(image)), path)
    return path


def write_mask(known: Tensor, path: str | os.PathLike, polarity: str = "known") -> Path:
    """Write a mask ``[1,H,W]`` or ``[H,W]`` (1 = known) as an 8-bit PNG with 0/255 values, atomically.

    ``polarity="known"`` (this project's files): white = known; ``"hole"``: white = hole.
    """
    if polarity not in POLARITIES:
        raise SettingError(f"mask polarity must be one of {POLARITIES}, got {polarity!r}")
    k = known[0] if known.ndim == 3 else known
    if k.ndim != 2:
        raise ValueError(f"write_mask: expected [1,H,W] or [H,W], got {tuple(known.shape)}")
    white = (k >= 0.5) if polarity == "known" else (k < 0.5)
    arr = white.to(torch.uint8).mul(255).cpu().numpy()
    path = Path(path)
    _atomic_save(Image.fromarray(arr, mode="L"), path)
    return path


def write_frames(frames: Tensor, folder: str | os.PathLike, pattern: str = "%05d.png", start: int = 0) -> list[Path]:
    """Write ``[T,3,H,W]`` frames in [0,1] to ``folder/pattern % (start + t)``, each file atomically."""
    check_frames(frames)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    array = frames_to_uint8(frames)
    paths = []
    for t in range(array.shape[0]):
        path = folder / (pattern % (start + t))
        _atomic_save(Image.fromarray(array[t]), path)
        paths.append(path)
    return paths
