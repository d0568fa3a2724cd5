"""What a task makes of a dataset video: the method's input, the target the metrics compare with, and the
video whose motion defines temporal consistency. Pure functions on tensors; ``conf/task/*.yaml`` chooses them.

* ``input: frames`` (style, inpaint): the method sees the video (holes hidden for inpainting).
* ``input: luma`` (colorize): Rec. 601 luma Y' = 0.299 R + 0.587 G + 0.114 B of the gamma-encoded 8-bit RGB,
  replicated to 3 channels (Wei et al. only say "gray versions"; the weights are recorded by the task).
  The target is the colour video. ``keep_luminance`` composites the input's luma back into the output in
  CIE Lab (L* of the input, a*b* of the output): colourisation's analogue of inpainting's composite.
* ``input: sr2x`` (×2 super-resolution, Wei et al. §4.1): bicubic ×½ downsampling with antialiasing, then
  bicubic ×2 upsampling back to the exact size of the target (odd sides: the low-res side is ⌊side/2⌋).
* ``target: annotation`` (vseg): the target is the binary foreground ``[T,1,H,W]`` (DAVIS annotation > 0,
  read through the dataset's object masks: foreground = 1 − known); the method sees the RGB video. A
  segmentation output is a *probability image*: the foreground probability in every channel of a
  ``[T,3,H,W]`` frame, so that saving, viewing and every method (HyperCon pools it like colours) work unchanged;
  :func:`foreground_probability` reads it back as ``[T,1,H,W]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hypercon.checks import check_frames

LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # Rec. 601 Y'
INPUTS = ("frames", "luma", "sr2x")
TARGETS = ("frames", "annotation")


def rgb_to_luma(frames: Tensor) -> Tensor:
    """Rec. 601 luma ``[T,1,H,W]`` of ``[T,3,H,W]`` RGB in [0,1] (no linearisation: Y' of the encoded values).

    >>> round(rgb_to_luma(torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1)).item(), 4)
    0.5925
    """
    w = torch.tensor(LUMA_WEIGHTS, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1)
    return (frames * w).sum(dim=1, keepdim=True)


def luma_input(frames: Tensor) -> Tensor:
    """The colourisation input: luma replicated to 3 channels, ``[T,3,H,W]``."""
    check_frames(frames)
    return rgb_to_luma(frames).expand(-1, 3, -1, -1).contiguous()


def sr2x_input(frames: Tensor) -> Tensor:
    """The ×2 super-resolution input at the target's size: antialiased bicubic ×½, then bicubic ×2 back to
    ``H×W`` exactly, clamped to [0,1]. A constant video is returned unchanged (bicubic weights sum to 1)."""
    check_frames(frames)
    h, w = frames.shape[-2:]
    if h < 2 or w < 2:
        raise ValueError(f"sr2x: frames are {w}x{h}; ×2 super-resolution needs at least 2x2 pixels")
    low = F.interpolate(frames, size=(h // 2, w // 2), mode="bicubic", align_corners=False, antialias=True)
    return F.interpolate(low, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def foreground_probability(output: Tensor) -> Tensor:
    """The foreground probability ``[T,1,H,W]`` of a segmentation output: the channel mean of a probability
    image (every channel equal for outputs made by the harness; the mean is robust to 8-bit rounding)."""
    check_frames(output, "segmentation output")
    return output.mean(dim=1, keepdim=True)


def probability_image(probability: Tensor) -> Tensor:
    """``[T,1,H,W]`` foreground probability → the ``[T,3,H,W]`` probability image a segmentation method returns."""
    if probability.ndim != 4 or probability.shape[1] != 1:
        raise ValueError(f"probability_image: expected [T,1,H,W], got {tuple(probability.shape)}")
    return probability.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


# ------------------------------------------------------------------------------------------ Lab (D65, sRGB)

_M_RGB_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                       [0.212671, 0.715160, 0.072169],
                       [0.019334, 0.119193, 0.950227]])  # skimage's sRGB → XYZ (D65)
_WHITE = (0.95047, 1.0, 1.08883)


def _lab_f(t: Tensor) -> Tensor:
    return torch.where(t > 0.008856, t.clamp(min=1e-12) ** (1 / 3), 7.787 * t + 16 / 116)


def _lab_f_inv(t: Tensor) -> Tensor:
    return torch.where(t > 0.2068966, t**3, (t - 16 / 116) / 7.787)


def rgb_to_lab(frames: Tensor) -> Tensor:
    """sRGB ``[T,3,H,W]`` in [0,1] → CIE Lab (D65) ``[T,3,H,W]`` (L in [0,100]), as ``skimage.color.rgb2lab``."""
    lin = torch.where(frames > 0.04045, ((frames + 0.055) / 1.055) ** 2.4, frames / 12.92)
    m = torch.as_tensor(_M_RGB_XYZ, dtype=frames.dtype, device=frames.device)
    xyz = torch.einsum("ij,tjhw->tihw", m, lin)
    white = torch.as_tensor(_WHITE, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1)
    fx, fy, fz = _lab_f(xyz / white).unbind(1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=1)


def lab_to_rgb(lab: Tensor) -> Tensor:
    """CIE Lab (D65) ``[T,3,H,W]`` → sRGB in [0,1] (clamped), as ``skimage.color.lab2rgb``."""
    l, a, b = lab.unbind(1)
    fy = (l + 16) / 116
    f = torch.stack([fy + a / 500, fy, fy - b / 200], dim=1)
    white = torch.as_tensor(_WHITE, dtype=lab.dtype, device=lab.device).view(1, 3, 1, 1)
    xyz = _lab_f_inv(f).clamp(min=0) * white
    m_inv = torch.as_tensor(np.linalg.inv(_M_RGB_XYZ), dtype=lab.dtype, device=lab.device)
    lin = torch.einsum("ij,tjhw->tihw", m_inv, xyz).clamp(min=0)
    rgb = torch.where(lin > 0.0031308, 1.055 * lin.clamp(min=1e-12) ** (1 / 2.4) - 0.055, 12.92 * lin)
    return rgb.clamp(0, 1)


def keep_luminance(output: Tensor, gray_input: Tensor) -> Tensor:
    """Composite the input's lightness back: L* of ``gray_input`` (the 3-channel luma input), a*b* of
    ``output``, both ``[T,3,H,W]`` in [0,1]."""
    check_frames(output, "colourisation output")
    lab = rgb_to_lab(output)
    lab[:, :1] = rgb_to_lab(gray_input)[:, :1]
    return lab_to_rgb(lab)


# ------------------------------------------------------------------------------------------ a task's video


@dataclass
class TaskVideo:
    """One video as a task presents it: ``frames_in`` for the method, ``known`` (inpainting), ``gt`` the
    target of the metrics (None: no ground truth), ``motion_source`` the video whose motion defines
    temporal consistency (the metrics' ``source``)."""

    frames_in: Tensor
    known: Tensor | None
    gt: Tensor | None
    motion_source: Tensor


def task_video(frames: Tensor, known: Tensor | None, gt: Tensor | None, *, input: str = "frames",
               target: str = "frames") -> TaskVideo:
    """Make the method's input and the metrics' target from a dataset sample (see the module docstring).

    ``frames`` [T,3,H,W]; ``known``/``gt`` as the dataset gives them (``masks=object`` gives the annotation
    as holes: ``target="annotation"`` turns it into the foreground target and the method sees no holes).
    """
    from hypercon.checks import hide_holes

    if input not in INPUTS:
        raise ValueError(f"task.input must be one of {INPUTS}, got {input!r}")
    if target not in TARGETS:
        raise ValueError(f"task.target must be one of {TARGETS}, got {target!r}")
    if target == "annotation":
        if known is None:
            raise ValueError("task.target=annotation needs the dataset's object masks (task.masks=object)")
        foreground = (known < 0.5).to(frames.dtype)
        return TaskVideo(_make_input(frames, input), None, foreground, frames)
    if input != "frames":
        if known is not None:
            raise ValueError(f"task.input={input} makes its own input: it takes no masks (set task.masks=none)")
        return TaskVideo(_make_input(frames, input), None, frames, frames)
    frames_in = hide_holes(frames, known) if known is not None else frames
    return TaskVideo(frames_in, known, gt, gt if gt is not None else frames)


def _make_input(frames: Tensor, input: str) -> Tensor:
    return {"frames": lambda f: f, "luma": luma_input, "sr2x": sr2x_input}[input](frames)
