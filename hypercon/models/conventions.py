"""Declared conventions of a user-supplied image model, and the pure conversions around it.

The harness works in ``[B,3,H,W]`` float32 RGB in [0,1] (:mod:`hypercon.checks`). A model may want
something else; it declares it (``conf/model/callable.yaml`` documents every key) and
:func:`to_model` / :func:`from_model` convert on the way in and out:

* ``range``: ``[0,1]`` | ``[-1,1]`` | ``[0,255]`` (input and output);
* ``channels``: ``RGB`` | ``BGR``;
* ``layout``: ``BCHW`` (a torch tensor) | ``BHWC`` (a NumPy array); ``dtype``: ``float32`` | ``uint8``
  (uint8 needs range [0,255]);
* ``multiple_of``: reflect-pad H and W to a multiple on the right/bottom, crop back after;
* ``max_side``: resize (bilinear, antialiased) so the longer side is at most this, resize back after.

The mask of an inpainting model (``known``, 1 = known) goes the same way (same layout, values 0/1 as
float32, thresholded after resizing). :func:`from_model` refuses a wrong declaration at once, naming the
key: a wrong type or shape, NaN / inf, a size the model changed, or values outside the declared range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hypercon.checks import check_finite
from hypercon.errors import SettingError
from hypercon.resize import pad_to_multiple, resize_frames, unpad

RANGES = {"[0,1]": (0.0, 1.0), "[-1,1]": (-1.0, 1.0), "[0,255]": (0.0, 255.0)}
CHANNELS = ("RGB", "BGR")
LAYOUTS = ("BCHW", "BHWC")
DTYPES = ("float32", "uint8")
#: output values may overshoot the declared range by this fraction of its span (models rarely clamp)
RANGE_SLACK = 0.05


def parse_range(value: Any) -> str:
    """``[0, 1]``, ``(-1, 1)``, ``"[0,255]"``, ``"0,255"`` → the canonical name (``"[0,1]"`` …)."""
    if isinstance(value, str):
        text = value.replace(" ", "")
        text = text if text.startswith("[") else f"[{text}]"
    else:
        try:
            lo, hi = (float(v) for v in value)
        except (TypeError, ValueError):
            text = repr(value)
        else:
            text = f"[{lo:g},{hi:g}]"
    if text not in RANGES:
        raise SettingError(f"model.range must be one of {', '.join(RANGES)}, got {value!r}")
    return text


@dataclass(frozen=True)
class Convention:
    """What a model takes and returns (see the module docstring). Values come from the model's yaml."""

    range: str
    channels: str
    layout: str
    dtype: str
    multiple_of: int
    max_side: int | None

    @classmethod
    def of(cls, range: Any, channels: str, layout: str, dtype: str, multiple_of: int,
           max_side: int | None) -> "Convention":
        """Validate and normalise the declared values (a one-line :class:`SettingError` naming the key)."""
        for key, value, allowed in (("channels", channels, CHANNELS), ("layout", layout, LAYOUTS),
                                    ("dtype", dtype, DTYPES)):
            if (str(value).upper() if key != "dtype" else str(value)) not in allowed:
                raise SettingError(f"model.{key} must be one of {', '.join(allowed)}, got {value!r}")
        rng = parse_range(range)
        if dtype == "uint8" and (rng != "[0,255]" or str(layout).upper() != "BHWC"):
            raise SettingError(f"model.dtype=uint8 needs model.range=[0,255] and model.layout=BHWC "
                               f"(got range {rng}, layout {layout})")
        if int(multiple_of) < 1:
            raise SettingError(f"model.multiple_of must be ≥ 1, got {multiple_of}")
        if max_side is not None and int(max_side) < 8:
            raise SettingError(f"model.max_side must be null or ≥ 8, got {max_side}")
        return cls(rng, str(channels).upper(), str(layout).upper(), str(dtype), int(multiple_of),
                   None if max_side is None else int(max_side))

    def record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Geometry:
    """How :func:`to_model` changed the frame size, for :func:`from_model` to undo it."""

    size: tuple[int, int]  # (H, W) of the harness's frames
    resized: tuple[int, int]  # (H, W) after max_side
    pads: tuple[int, int, int, int]  # pad_to_multiple's (left, right, top, bottom)
    padded: tuple[int, int]  # (H, W) the model sees


def model_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """``(H, W)`` scaled so that ``max(H, W) ≤ max_side`` (aspect kept, rounded); unchanged when it fits."""
    h, w = size
    if max_side is None or max(h, w) <= max_side:
        return h, w
    scale = max_side / max(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def _geometry_in(x: Tensor, conv: Convention, antialias: bool = True) -> tuple[Tensor, Geometry]:
    size = tuple(x.shape[-2:])
    resized = model_size(size, conv.max_side)
    x = resize_frames(x, resized, antialias=antialias)
    mode = "reflect" if min(resized) > conv.multiple_of else "replicate"  # reflect needs pad < size
    x, pads = pad_to_multiple(x, conv.multiple_of, mode=mode)
    return x, Geometry(size, resized, pads, tuple(x.shape[-2:]))


def to_model(frames: Tensor, known: Tensor | None, conv: Convention) -> tuple[Any, Any, Geometry]:
    """``frames [B,3,H,W]`` float [0,1] RGB (``known [B,1,H,W]`` | None) → what the model takes, and the
    :class:`Geometry` to undo. BCHW gives float32 tensors; BHWC gives NumPy arrays (``dtype``)."""
    x, geometry = _geometry_in(frames.float(), conv)
    if conv.channels == "BGR":
        x = x.flip(1)
    lo, hi = RANGES[conv.range]
    x = x * (hi - lo) + lo
    k = None
    if known is not None:
        k, _ = _geometry_in(known.float(), conv, antialias=False)
        k = (k > 0.5).float()
    if conv.layout == "BHWC":
        x = x.permute(0, 2, 3, 1).cpu()
        x = x.round().clamp(0, 255).to(torch.uint8).numpy() if conv.dtype == "uint8" else x.contiguous().numpy()
        k = None if k is None else k.permute(0, 2, 3, 1).cpu().contiguous().numpy()
    return x, k, geometry


def _declared(key: str, conv: Convention) -> str:
    return f"model.{key}={getattr(conv, key)}"


def from_model(out: Any, conv: Convention, geometry: Geometry, batch: int, what: str,
               source: Any = None) -> Tensor:
    """The model's output → ``[B,3,H,W]`` float32 [0,1] RGB at the harness's size. Raises
    :class:`SettingError` naming the declared key that does not match the output (``what`` names the model).
    ``source``: the model's input as converted (for the range check of [0,255] models)."""
    if conv.layout == "BCHW":
        if not isinstance(out, Tensor):
            raise SettingError(f"{what}: {_declared('layout', conv)} declared but the model returned "
                               f"{type(out).__name__}, not a torch.Tensor (declare model.layout=BHWC for NumPy)")
        y, expected = out.float(), (batch, 3, *geometry.padded)
    else:
        if isinstance(out, Tensor):
            raise SettingError(f"{what}: {_declared('layout', conv)} declared but the model returned a torch.Tensor "
                               f"(declare model.layout=BCHW)")
        if not isinstance(out, np.ndarray):
            raise SettingError(f"{what}: {_declared('layout', conv)} declared but the model returned "
                               f"{type(out).__name__}, not a NumPy array")
        y, expected = torch.from_numpy(np.ascontiguousarray(out)).float(), (batch, *geometry.padded, 3)
    if tuple(y.shape) != expected:
        hint = ("the model changed the frame size: declare model.multiple_of / model.max_side"
                if y.ndim == 4 and y.shape[0] == batch and 3 in (y.shape[1], y.shape[-1]) and tuple(y.shape) != expected
                else f"check {_declared('layout', conv)}")
        raise SettingError(f"{what}: expected output shape {expected} ({conv.layout}), got {tuple(y.shape)}: {hint}")
    check_finite(y, what)
    if conv.layout == "BHWC":
        y = y.permute(0, 3, 1, 2)
    lo, hi = RANGES[conv.range]
    slack = RANGE_SLACK * (hi - lo)
    y_min, y_max = float(y.min()), float(y.max())
    looks_01 = conv.range == "[0,255]" and y_max <= 1.0 and source is not None and float(source.max()) >= 128
    # (an output in [0,1] from a [0,255] model would be near black: refused when the input was not dark)
    if y_min < lo - slack or y_max > hi + slack or looks_01:
        raise SettingError(f"{what}: {_declared('range', conv)} declared but the output is in "
                           f"[{y_min:.3g}, {y_max:.3g}]: declare the range the model returns "
                           f"({' | '.join(RANGES)})")
    y = (y - lo) / (hi - lo)
    if conv.channels == "BGR":
        y = y.flip(1)
    y = unpad(y, geometry.pads)
    return resize_frames(y, geometry.size, antialias=False)
