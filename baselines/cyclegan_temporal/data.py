"""Training data of the CycleGAN + temporal loss baseline: unpaired video frames X and style images Y.

* X: pairs of adjacent frames ``(x_{t−1}, x_t)`` of DAVIS sequences (and synthetic videos), resized (not
  cropped) to the working size so the pair stays warpable, with the flows ``ẃ`` (t → t−1) and ``w``
  (t−1 → t): computed once per (video, size) by the recipe's flow estimator and cached; the exact flows for
  synthetic videos. No flips (a flipped pair would need flipped flows).
* Y: the target domain, frames of other sequences stylised frame-wise (offline: the Engstrom ``wave``
  net, a real unpaired domain), at the load size (CycleGAN's 286 for 256: ``size·286/256``), randomly cropped
  to the working size, flipped with probability ½, colour-jittered with probability ``jitter_p`` (0.15).

All randomness comes from the sampler's ``torch.Generator``. Values: uint8 until :func:`to_unit_range`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor

LOAD_RATIO = 286 / 256  # CycleGAN's load_size / crop_size


@dataclass(frozen=True)
class PairVideo:
    """One X video: ``frames`` uint8 ``[T,3,H,W]``, ``to_prev[t−1]`` = flow t → t−1 and ``to_next[t−1]`` =
    flow t−1 → t (``[T−1,2,H,W]`` float32, pixels)."""

    name: str
    frames: Tensor
    to_prev: Tensor
    to_next: Tensor


def load_size(size_wh: tuple[int, int]) -> tuple[int, int]:
    """The size Y frames are loaded at before the crop: ``round(s · 286 / 256)`` per side."""
    return tuple(int(round(s * LOAD_RATIO)) for s in size_wh)  # type: ignore[return-value]


def video_flows(frames: Tensor, flow) -> tuple[Tensor, Tensor]:
    """``(to_prev, to_next)`` of a float video ``[T,3,H,W]`` in [0,1] by the estimator ``flow(a, b)`` (a → b)."""
    to_prev = torch.cat([flow(frames[t : t + 1], frames[t - 1 : t]) for t in range(1, frames.shape[0])])
    to_next = torch.cat([flow(frames[t - 1 : t], frames[t : t + 1]) for t in range(1, frames.shape[0])])
    return to_prev.float(), to_next.float()


def draw_pair(videos: list[PairVideo], generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(x_prev, x_t, to_prev, to_next)`` of a uniformly drawn video and pair (uint8 frames, float flows)."""
    video = videos[int(torch.randint(len(videos), (1,), generator=generator))]
    t = int(torch.randint(1, video.frames.shape[0], (1,), generator=generator))
    return video.frames[t - 1], video.frames[t], video.to_prev[t - 1], video.to_next[t - 1]


def draw_target(styled: list[Tensor], size_wh: tuple[int, int], generator: torch.Generator,
                jitter_p: float = 0.15) -> Tensor:
    """A Y image ``[3,h,w]`` uint8: a uniformly drawn frame of a uniformly drawn styled video (at the load
    size), randomly cropped to ``size_wh``, flipped with p ½, colour-jittered with p ``jitter_p``
    (brightness, contrast, saturation factors in [0.8, 1.2], hue shift in [−0.05, 0.05])."""
    video = styled[int(torch.randint(len(styled), (1,), generator=generator))]
    frame = video[int(torch.randint(video.shape[0], (1,), generator=generator))]
    width, height = size_wh
    top = int(torch.randint(frame.shape[-2] - height + 1, (1,), generator=generator))
    left = int(torch.randint(frame.shape[-1] - width + 1, (1,), generator=generator))
    image = frame[:, top : top + height, left : left + width]
    draws = torch.rand(6, generator=generator)  # flip, jitter?, brightness, contrast, saturation, hue
    if draws[0] < 0.5:
        image = image.flip(-1)
    if draws[1] < jitter_p:
        factors = 0.8 + 0.4 * draws[2:5]
        image = TF.adjust_brightness(image, float(factors[0]))
        image = TF.adjust_contrast(image, float(factors[1]))
        image = TF.adjust_saturation(image, float(factors[2]))
        image = TF.adjust_hue(image, float(0.1 * draws[5] - 0.05))
    return image


def to_unit_range(images: Tensor) -> Tensor:
    """uint8 ``[...,3,H,W]`` → float in [−1, 1] (CycleGAN's ``Normalize((0.5,)*3, (0.5,)*3)``)."""
    return images.float() / 127.5 - 1.0
