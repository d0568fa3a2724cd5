"""Saturation ratio: how much colour a method keeps compared with the frame-wise translation by the same image
model (``video.reference``). The paper notes that FST-vcons "greatly desaturates" its output; this puts a
number on it.

Per pixel, HSV saturation ``S = (max_c − min_c) / max_c`` over the RGB channels c (0 where ``max_c = 0``), as
:func:`colorsys.rgb_to_hsv`. Per video, ``saturation_ratio = mean S(output) / mean S(reference)``, each mean
over **all pixels of all frames** of the video (one number per video, not a mean of per-frame ratios).
1 = as saturated as the frame-wise output (the ideal), < 1 = desaturated, > 1 = oversaturated.

For inpainting both videos are composited with the known pixels first, as :class:`metrics.fidelity.Fidelity`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hypercon.checks import check_frames
from metrics.base import EvalVideo, MetricKey, MetricUnavailable, VideoMetric


def hsv_saturation(frames: Tensor) -> Tensor:
    """HSV saturation ``[T,H,W]`` in [0,1] of ``frames`` ``[T,3,H,W]`` float RGB in [0,1]:
    ``(max_c − min_c) / max_c``, 0 where ``max_c = 0`` (black)."""
    high, low = frames.amax(dim=1), frames.amin(dim=1)
    return torch.where(high > 0, (high - low) / high.clamp_min(torch.finfo(frames.dtype).tiny), 0.0)


def mean_saturation(frames: Tensor) -> float:
    """Mean HSV saturation over all pixels and frames of ``frames`` ``[T,3,H,W]`` (float64 sum)."""
    return float(hsv_saturation(frames).sum(dtype=torch.float64) / (frames.shape[0] * frames[0, 0].numel()))


class SaturationRatio(VideoMetric):
    """``mean S(output) / mean S(reference)`` per video (module doc). Key ``saturation_ratio``; the ideal is 1,
    so tables bold the value closest to 1 (:attr:`metrics.base.MetricKey.ideal`)."""

    name = "saturation"
    keys = {"saturation_ratio": MetricKey("Sat. ratio", ".3f", True, "reference", ideal=1.0)}

    def compute(self, video: EvalVideo) -> dict[str, float]:
        output, reference = video.evaluated_output(), video.evaluated_reference(self.name)
        check_frames(output, "output")
        if output.shape != reference.shape:
            raise ValueError(f"{self.name}: {video.name}: output {tuple(output.shape)} and reference "
                             f"{tuple(reference.shape)} differ in shape")
        denominator = mean_saturation(reference)
        if denominator == 0:
            raise MetricUnavailable(f"{self.name}: {video.name}: the frame-wise reference is grey everywhere "
                                    "(saturation 0), so the ratio is undefined")
        return {"saturation_ratio": mean_saturation(output) / denominator}
