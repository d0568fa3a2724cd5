"""VFID: Fréchet distance between I3D features of output clips and target clips (Szeto's VIE definition).

Feature of a clip: the 1024-d global average over (T, H, W) of I3D's ``Mixed_5c`` activation (VIE calls
it "logits"; it is the pre-logit pooled feature). Samples (``mode``):

* ``clips`` (default; the paper's "FID on I3D features of 10-frame segments"): one feature per stride-1
  10-frame window → ``Σ_v max(1, N_v − 9)`` samples (a short video: one window padded with its own last frame);
* ``video``: one feature per whole video (all frames in one pass; memory heavy; with ~100 videos the
  1024-d covariances are rank-deficient, so a warning is logged — prefer ``clips``).

Pooled over all videos (a :class:`metrics.base.SetMetric`); Fréchet distance from :mod:`metrics.frechet`.
Target: ground truth (inpainting; output composited) or frame-wise reference (style). Key ``vfid``, lower is better.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hypercon.checks import check_frames
from metrics.base import EvalVideo, MetricKey, SetMetric
from metrics.frechet import frechet_distance_of_features
from metrics.i3d import I3DFeatures, frames_to_clip, window_clips, window_starts
from metrics.i3d_metric import I3DClipMetric

LOG = logging.getLogger(__name__)

MODES = ("clips", "video")
FEATURE_DIM = 1024


def pooled_i3d_features(extractor: I3DFeatures, frames: Tensor, mode: str = "clips", window: int = 10,
                        batch_size: int = 2) -> np.ndarray:
    """``[S,1024]`` float64 features of ``frames`` ``[T,3,H,W]`` in [0,1]: S = number of windows (clips) or 1."""
    check_frames(frames, "frames")
    if mode == "video":
        clips_batches = [frames_to_clip(frames)]
    elif mode == "clips":
        starts = window_starts(frames.shape[0], window)
        clips_batches = [window_clips(frames, starts[s:s + batch_size], window)
                         for s in range(0, len(starts), batch_size)]
    else:
        raise ValueError(f"vfid: mode must be one of {MODES}, got {mode!r}")
    out = []
    for clips in clips_batches:
        feat = extractor.extract(clips, ["Mixed_5c"])["Mixed_5c"]
        out.append(feat.mean(dim=(2, 3, 4)).double().cpu().numpy())
    return np.concatenate(out)


class VFID(I3DClipMetric, SetMetric):
    """Video FID on I3D Mixed_5c features (paper tier; needs ``i3d_rgb_imagenet``).

    Args:
        mode: "clips" (default) or "video". compare_with: "auto" | "gt" | "reference".
        window: frames per clip (10). batch_size: clips per I3D forward pass.
        input_range: "01" (VIE, default) or "pm1". weights / weights_dir / device: see :class:`I3DFeatures`.
    Raises:
        MissingWeightsError: in ``__init__``, when ``rgb_imagenet.pt`` is not found.
    """

    name = "vfid"
    keys = {"vfid": MetricKey("VFID", ".3f", False, "auto")}

    def __init__(self, mode: str = "clips", compare_with: str = "auto", window: int = 10, batch_size: int = 2,
                 input_range: str = "01", weights: str | None = None, weights_dir: str | None = None,
                 device: str = "cpu"):
        if mode not in MODES:
            raise ValueError(f"vfid: mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.setup_i3d(compare_with, window, batch_size, input_range, weights, weights_dir, device)

    @torch.no_grad()
    def features(self, video: EvalVideo) -> dict[str, np.ndarray]:
        target = self.target_frames(video)
        args = (self.mode, self.window, self.batch_size)
        return {"pred": pooled_i3d_features(self.extractor, video.evaluated_output(), *args),
                "ref": pooled_i3d_features(self.extractor, target, *args)}

    def compute(self, features: list[dict[str, np.ndarray]]) -> dict[str, float]:
        if not features:
            raise ValueError("vfid: no per-video features to pool")
        pred = np.concatenate([f["pred"] for f in features])
        ref = np.concatenate([f["ref"] for f in features])
        if pred.shape[0] < 2 or ref.shape[0] < 2:
            raise ValueError(f"vfid: needs at least 2 samples per side, got {pred.shape[0]} and {ref.shape[0]} "
                             f"(mode={self.mode!r}, {len(features)} video(s))")
        if min(pred.shape[0], ref.shape[0]) < pred.shape[1]:
            LOG.warning("vfid: %d samples (mode=%s) < %d feature dimensions: the covariances are rank-deficient "
                        "and the value is not comparable with larger sets", min(pred.shape[0], ref.shape[0]),
                        self.mode, pred.shape[1])
        LOG.info("vfid: %d output and %d target samples from %d videos", pred.shape[0], ref.shape[0], len(features))
        return {"vfid": frechet_distance_of_features(pred, ref)}

    def options(self) -> dict[str, Any]:
        return {"mode": self.mode, "compare_with": self.compare_with, "window": self.window, "stride": 1,
                "feature": "Mixed_5c mean over T,H,W (1024-d)", "input_range": self.extractor.input_range}
