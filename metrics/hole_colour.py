"""Hole colour shift: how a method changes the colour of the inpainted region compared with the frame-wise
inpainting by the same image model (``video.reference``). The paper notes that vcons darkens the fill and
shifts its hue (§4.3); this puts numbers on it.

Over the hole pixels of all frames of a video (``known = 0``; both videos composited with the known pixels
first, so only the fill differs), with RGB values in [0,1]:

* ``hole_luma_shift = mean Y(output) − mean Y(reference)``, ``Y = 0.299 R + 0.587 G + 0.114 B`` (BT.601):
  negative = darker; the ideal is 0;
* ``hole_colour_shift = ‖mean RGB(output) − mean RGB(reference)‖₂``: the size of the shift of the mean fill
  colour (≥ 0; a uniform brightening by δ reads δ·√3).

Both are reported in 8-bit levels (× 255) so that "−3.2" reads as "3.2 grey levels darker". Needs a mask
(``video.known``) with at least one hole pixel, else unavailable.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hypercon.checks import check_known
from metrics.base import EvalVideo, MetricKey, MetricUnavailable, VideoMetric

LUMA = (0.299, 0.587, 0.114)  # BT.601
LEVELS = 255.0


def mean_hole_colour(frames: Tensor, known: Tensor) -> Tensor:
    """Mean RGB ``[3]`` (float64) over the hole pixels (``known == 0``) of ``frames`` ``[T,3,H,W]``."""
    hole = (known < 0.5).to(torch.float64)
    count = hole.sum()
    return (frames.to(torch.float64) * hole).sum(dim=(0, 2, 3)) / count


def hole_colour_shift(output: Tensor, reference: Tensor, known: Tensor) -> dict[str, float]:
    """``{"hole_luma_shift", "hole_colour_shift"}`` in 8-bit levels (module doc). ``known`` ``[T,1,H,W]``."""
    check_known(known, output)
    if not bool((known < 0.5).any()):
        raise MetricUnavailable("no hole pixels (every pixel is known)")
    diff = mean_hole_colour(output, known) - mean_hole_colour(reference, known)
    luma = sum(w * d for w, d in zip(LUMA, diff))
    return {"hole_luma_shift": float(luma) * LEVELS, "hole_colour_shift": float(diff.norm()) * LEVELS}


class HoleColourShift(VideoMetric):
    """Mean fill colour of the output against the frame-wise reference, inside the holes (module doc). Keys
    ``hole_luma_shift`` (ideal 0, signed) and ``hole_colour_shift`` (lower is better)."""

    name = "hole_colour"
    keys = {"hole_luma_shift": MetricKey("Hole ΔY", ".2f", True, "reference", ideal=0.0),
            "hole_colour_shift": MetricKey("Hole |ΔRGB|", ".2f", False, "reference")}

    def compute(self, video: EvalVideo) -> dict[str, float]:
        if video.known is None:
            raise MetricUnavailable(f"{self.name}: {video.name} has no mask (known): there is no hole to measure")
        output, reference = video.evaluated_output(), video.evaluated_reference(self.name)
        if output.shape != reference.shape:
            raise ValueError(f"{self.name}: {video.name}: output {tuple(output.shape)} and reference "
                             f"{tuple(reference.shape)} differ in shape")
        try:
            return hole_colour_shift(output, reference, video.known)
        except MetricUnavailable as exc:
            raise MetricUnavailable(f"{self.name}: {video.name}: {exc}") from None
