"""Size adapters: image resizing, flow resizing with magnitude rescaling, pad/unpad to a multiple."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from hypercon.checks import check_flow


def resize_flow(flow: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinearly resize ``flow [B,2,h,w]`` to ``size=(H,W)`` and rescale dx by W/w, dy by H/h."""
    check_flow(flow)
    h, w = flow.shape[-2:]
    if (h, w) == tuple(size):
        return flow
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)
    out = out.clone()
    out[:, 0] *= size[1] / w
    out[:, 1] *= size[0] / h
    return out


def resize_frames(x: Tensor, size_hw: tuple[int, int], antialias: bool = False) -> Tensor:
    """Bilinear resize of images ``[B,C,h,w]`` to ``size_hw=(H,W)`` (``align_corners=False``; ``antialias`` for
    downscaling like PIL); ``x`` itself when the size already matches."""
    if tuple(x.shape[-2:]) == tuple(size_hw):
        return x
    return F.interpolate(x, size=tuple(size_hw), mode="bilinear", align_corners=False, antialias=antialias)


def pad_to_multiple(x: Tensor, multiple: int, mode: str = "replicate") -> tuple[Tensor, tuple[int, int, int, int]]:
    """Pad ``[B,C,H,W]`` on the right/bottom so H and W are multiples of ``multiple``.

    ``mode`` is ``F.pad``'s (``"replicate"``, ``"reflect"``, ``"constant"``); :func:`reflect_if_it_fits` picks
    reflection where it is possible. Returns the padded tensor and ``pads = (left, right, top, bottom)`` for
    :func:`unpad`.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    pads = (0, pw, 0, ph)
    if ph == 0 and pw == 0:
        return x, pads
    return F.pad(x, pads, mode=mode), pads


def reflect_if_it_fits(size_hw: tuple[int, int], multiple: int) -> str:
    """``"reflect"`` when the padding :func:`pad_to_multiple` adds to an ``H×W`` image is shorter than each side
    (reflection needs pad < side), else ``"replicate"``."""
    h, w = size_hw
    return "reflect" if (-h) % multiple < h and (-w) % multiple < w else "replicate"


def unpad(x: Tensor, pads: tuple[int, int, int, int]) -> Tensor:
    """Undo :func:`pad_to_multiple`."""
    left, right, top, bottom = pads
    h, w = x.shape[-2:]
    return x[..., top : h - bottom, left : w - right]
