"""VLPIPS: the I3D-feature perceptual video distance of Szeto's evaluation code (VIE, where it is "PVCS").

For a pair of clips (target, output), each ``[B,3,10,H,W]`` in [0,1]:

    d = Σ_{l ∈ layers} mean_{t,h,w} Σ_c ( n(f_l(target)) − n(f_l(output)) )²,   n(x) = x / (√(Σ_c x²) + 1e-10)

with I3D endpoints ``layers = Conv3d_2c_3x3, Mixed_3c, Mixed_4f, Mixed_5c`` — LPIPS's recipe on I3D
activations, without learned linear weights. Clips are 10-frame windows with stride 1
(``max(1, N − 9)`` windows); the per-video value is the mean over windows. A video shorter than 10 frames
gives one window padded with each video's OWN last frame (VIE pads the prediction with the ground truth's
last frame, a bug not reproduced). Target: ground truth (inpainting; output composited) or the frame-wise
reference (style transfer). Key ``vlpips``, lower is better.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import Tensor

from hypercon.checks import check_frames
from metrics.base import EvalVideo, MetricKey, VideoMetric
from metrics.i3d import I3DFeatures, window_clips, window_starts
from metrics.i3d_metric import I3DClipMetric

VLPIPS_LAYERS = ("Conv3d_2c_3x3", "Mixed_3c", "Mixed_4f", "Mixed_5c")


def normalize_channels(x: Tensor, eps: float = 1e-10) -> Tensor:
    """Unit-normalise ``x`` ``[B,C,...]`` along channels: ``x / (‖x‖₂ over C + eps)``."""
    return x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


def feature_distance(feats_a: dict[str, Tensor], feats_b: dict[str, Tensor],
                     layers: Sequence[str] = VLPIPS_LAYERS) -> Tensor:
    """Per-clip distance ``[B]`` between two endpoint dicts ``{layer: [B,C,T,H,W]}`` (formula above)."""
    total = None
    for layer in layers:
        diff = (normalize_channels(feats_a[layer]) - normalize_channels(feats_b[layer])).pow(2).sum(dim=1)
        value = diff.flatten(1).mean(dim=1)
        total = value if total is None else total + value
    return total


def vlpips_windows(extractor: I3DFeatures, target: Tensor, output: Tensor, window: int = 10,
                   batch_size: int = 2) -> Tensor:
    """Distances ``[num_windows]`` (CPU, float64) between stride-1 windows of ``target`` and ``output``
    ``[T,3,H,W]`` in [0,1]."""
    check_frames(target, "target")
    check_frames(output, "output")
    if target.shape != output.shape:
        raise ValueError(f"vlpips: target {tuple(target.shape)} and output {tuple(output.shape)} differ in shape")
    starts = window_starts(target.shape[0], window)
    values = []
    for s in range(0, len(starts), batch_size):
        chunk = starts[s:s + batch_size]
        fa = extractor.extract(window_clips(target, chunk, window), VLPIPS_LAYERS)
        fb = extractor.extract(window_clips(output, chunk, window), VLPIPS_LAYERS)
        values.append(feature_distance(fa, fb).double().cpu())
    return torch.cat(values)


class VLPIPS(I3DClipMetric, VideoMetric):
    """Per-video mean VLPIPS over 10-frame windows (paper tier; needs ``i3d_rgb_imagenet``).

    Args:
        compare_with: "auto" | "gt" | "reference" (:meth:`metrics.base.VideoMetric.target_frames`).
        window: frames per clip (10, as VIE). batch_size: windows per I3D forward pass.
        input_range: "01" (VIE, default) or "pm1". weights / weights_dir / device: see :class:`I3DFeatures`.
    Raises:
        MissingWeightsError: in ``__init__``, when ``rgb_imagenet.pt`` is not found.
    """

    name = "vlpips"
    keys = {"vlpips": MetricKey("VLPIPS", ".4f", False, "auto")}

    def __init__(self, compare_with: str = "auto", window: int = 10, batch_size: int = 2, input_range: str = "01",
                 weights: str | None = None, weights_dir: str | None = None, device: str = "cpu"):
        self.setup_i3d(compare_with, window, batch_size, input_range, weights, weights_dir, device)

    def compute(self, video: EvalVideo) -> dict[str, float]:
        target = self.target_frames(video)
        values = vlpips_windows(self.extractor, target, video.evaluated_output(), self.window, self.batch_size)
        return {"vlpips": float(values.mean())}

    def options(self) -> dict[str, Any]:
        return {"compare_with": self.compare_with, "window": self.window, "stride": 1, "layers": list(VLPIPS_LAYERS),
                "input_range": self.extractor.input_range, "short_video_padding": "own last frame"}
