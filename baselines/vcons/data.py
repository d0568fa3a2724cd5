"""Training clips for Lai et al.'s vcons: pairs (I, P) of an input video and its per-frame processed video,
cut into augmented crops of ``frames`` consecutive frames.

Tasks (what P is):

* ``style:<name>``: Engstrom's fast style transfer ``<name>`` (``hypercon.models.fst_engstrom``), computed
  once per sequence at the working size and cached as uint8 (``cache_dir``);
* ``jitter``: a synthetic flicker drawn per sample and per frame: gamma in ``[1/g, g]``, gain in
  ``[1−a, 1+a]`` and a hue rotation in ``[−h, h]`` radians (YIQ) of I (:func:`jitter_frames`).

Augmentation (upstream ``datasets.py``, kept): a crop of ``crop/scale`` pixels, resized to ``crop``, with
``scale`` uniform in ``[scale_min, scale_max]``; rot90 ×k, a horizontal flip, and temporal reversal. Every
draw uses the sampler's generator only. Flows are computed later, on the augmented crops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

#: RGB → YIQ (NTSC); the hue rotation turns the (I, Q) plane
RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


@dataclass(frozen=True)
class JitterRange:
    gamma: float = 1.4  # gamma drawn log-uniformly in [1/gamma, gamma]
    gain: float = 0.2   # gain in [1 − gain, 1 + gain]
    hue: float = 0.15   # hue rotation in [−hue, hue] radians


def hue_rotation(angle: Tensor) -> Tensor:
    """``[B,3,3]`` RGB matrices rotating the hue by ``angle [B]`` radians (in YIQ, luma kept)."""
    yiq = torch.tensor(RGB_TO_YIQ, dtype=angle.dtype)
    cos, sin = angle.cos(), angle.sin()
    rot = torch.zeros(angle.shape[0], 3, 3, dtype=angle.dtype)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    return torch.linalg.inv(yiq) @ rot @ yiq


def jitter_frames(frames: Tensor, gamma: Tensor, gain: Tensor, hue: Tensor) -> Tensor:
    """Per-frame ``clip(gain · hue_rot(x^gamma), 0, 1)`` of ``frames [T,3,H,W]``; parameters ``[T]``."""
    x = frames.clamp(0, 1).pow(gamma.view(-1, 1, 1, 1))
    x = torch.einsum("tij,tjhw->tihw", hue_rotation(hue).to(frames), x)
    return (x * gain.view(-1, 1, 1, 1)).clamp(0, 1)


def draw_jitter(num: int, spec: JitterRange, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
    u = torch.rand(3, num, generator=generator) * 2 - 1
    return (torch.exp(u[0] * math.log(spec.gamma)), 1 + u[1] * spec.gain, u[2] * spec.hue)


@dataclass(frozen=True)
class Augment:
    crop: int = 96
    scale_min: float = 0.5
    scale_max: float = 2.0
    geometry: bool = True  # rot90, flip
    reverse: bool = True   # temporal reversal


def augment_clip(clips: Sequence[Tensor], spec: Augment, generator: torch.Generator) -> list[Tensor]:
    """The same random crop / scale / rotation / flip / reversal of each ``[T,3,H,W]`` uint8 or float clip
    (same shape), as float ``[T,3,crop,crop]`` in [0,1]."""
    t, _, height, width = clips[0].shape
    r = torch.rand(5, generator=generator)
    scale = spec.scale_min + float(r[0]) * (spec.scale_max - spec.scale_min)
    side = max(8, min(height, width, round(spec.crop / scale)))
    top = int(r[1] * (height - side + 1))
    left = int(r[2] * (width - side + 1))
    k = int(torch.randint(4, (1,), generator=generator)) if spec.geometry else 0
    flip = spec.geometry and bool(r[3] < 0.5)
    reverse = spec.reverse and bool(r[4] < 0.5)
    out = []
    for clip in clips:
        x = clip[:, :, top : top + side, left : left + side]
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        x = F.interpolate(x, size=(spec.crop, spec.crop), mode="bilinear", align_corners=False,
                          antialias=side > spec.crop).clamp(0, 1)
        x = torch.rot90(x, k, dims=(2, 3))
        if flip:
            x = x.flip(3)
        if reverse:
            x = x.flip(0)
        out.append(x.contiguous())
    return out
