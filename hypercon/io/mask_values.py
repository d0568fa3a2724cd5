"""Which pixels a mask file marks: the thresholding rule, 0/1 masks, and the refusal of masks that mark
nothing only because every value is at or below the threshold.

The rule, per file (``threshold`` is the config key ``dataset.mask_threshold``, 127 by default):

* an indexed (palette) PNG, such as a DAVIS annotation: a pixel is marked where its label is > 0;
* a 1-bit image: where it is 1;
* a grey or colour image: where its value is > ``threshold``. Colour is read as luma,
  ``L = 0.299·R + 0.587·G + 0.114·B`` (PIL's ``convert("L")``), so pure red (255,0,0) is 76 and is NOT
  marked at the default threshold; pure green is 150 and is. 16-bit files are scaled to 8 bit first;
* a grey image whose values are only 0 and 1 (a binary mask saved without scaling to 255) is unambiguous:
  1 is marked, whatever the threshold (0/1 read against 127 would mark nothing).

:func:`check_marks_something`: a set of masks in which no pixel is marked although some value is above 0
(grey masks below the threshold, a red mask) is refused in one line naming the folder, the largest value
seen, its file and the threshold key. Masks that are all 0 mark nothing on purpose and are accepted (the
dataset warns that the video has no hole).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from hypercon.errors import InputError

log = logging.getLogger(__name__)

COLOUR_MODES = ("LA", "La", "RGB", "RGBA", "RGBX", "PA", "CMYK", "YCbCr")


def grey_image(img: Image.Image) -> Image.Image:
    """``img`` itself when grey, else its luma (``convert("L")``)."""
    return img.convert("L") if img.mode in COLOUR_MODES else img


def first_channel(arr: np.ndarray) -> np.ndarray:
    """``[H,W]`` from an ``[H,W]`` or ``[H,W,C]`` array."""
    return arr[..., 0] if arr.ndim == 3 else arr


def is_zero_one(values: np.ndarray) -> bool:
    """Whether ``values`` hold only 0 and 1, with some 1: a binary mask saved as 0/1 rather than 0/255."""
    return bool(values.max(initial=0) == 1 and values.min(initial=0) == 0)


def marked_pixels(img: Image.Image, threshold: int, to_uint8: Callable[[Image.Image], np.ndarray]) -> np.ndarray:
    """Boolean ``[H,W]``: the pixels ``img`` marks under the rule of the module docstring. ``to_uint8`` gives a
    grey image's values as 8 bit (16-bit and float files rescaled)."""
    if img.mode == "P":
        return np.asarray(img) > 0
    if img.mode == "1":
        return np.asarray(img, dtype=bool)
    grey = grey_image(img)
    raw = first_channel(np.asarray(grey))
    if is_zero_one(raw):
        return raw == 1
    return first_channel(to_uint8(grey)) > threshold


def check_marks_something(files: Sequence[Path], any_marked: bool, threshold: int,
                          to_uint8: Callable[[Image.Image], np.ndarray],
                          open_image: Callable[[Path], Image.Image]) -> None:
    """Raise :class:`InputError` when no file of ``files`` marks a pixel although some value is above 0 (the
    threshold hid every one); all-zero masks pass."""
    if any_marked or not files:
        return
    largest, where = 0, files[0]
    for path in files:
        img = open_image(path)
        if img.mode in ("P", "1"):
            continue
        value = int(first_channel(to_uint8(grey_image(img))).max(initial=0))
        if value > largest:
            largest, where = value, path
    if largest > 0:
        raise InputError(
            f"{where.parent}: no mask pixel is marked: every value is at or below mask_threshold={threshold} "
            f"(the largest, {largest}, in {where.name}; colour is read as luma 0.299R+0.587G+0.114B, so pure "
            f"red is 76): save marked pixels as white (255), or set dataset.mask_threshold below {largest}")
