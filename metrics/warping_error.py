"""Warping error E_warp: how much frame t+1 of the output, warped onto frame t with the SOURCE video's
flow, differs from frame t of the output, away from occlusions.

Default numerics reproduce Szeto's evaluation code (VIE, ``warp_error_computer.py``):

* ``warped_t = resample(output[t+1], flow_fw[t])`` — bilinear, sample positions clamped to the border
  (FlowNet2 ``Resample2d``; :func:`resample_border` reproduces it with exact pixel coordinates);
* per pair: squared error averaged over the non-occluded pixel·channel entries (``averaging="vie"``;
  NaN when every pixel is occluded); per video: ``nanmean`` over pairs (such pairs dropped).

``averaging="lai"`` is Lai et al.'s original ``evaluate_WarpError.py``: per pair ``Σ/N`` with N the
non-occluded entry count (N = H·W·3 when none, so the pair counts as 0), per video the mean over the
T−1 pairs. ``form="l2"`` is the paper's eq. (10): squared L2 norm over the three channels per pixel,
i.e. 3× the ``"mean"`` form; its result key gets the suffix ``_l2`` (and ``averaging="lai"`` the
suffix ``_lai``) so values on different scales never share a column. Values are on [0,1] images.

The masked variant (VIE ``warp_error_mask``) keeps only entries where a flow vector starts or ends in
a hole: ``(1 − known_t) + resample(1 − known_{t+1}, flow_fw[t]) > 0``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from hypercon.checks import check_flow, check_frames, check_known
from metrics.base import EvalVideo, MetricUnavailable, VideoMetric

AVERAGING = ("vie", "lai")
FORMS = ("mean", "l2")
CHUNK = 8  # pairs per batch (bounds memory at 832×480)


def resample_border(src: Tensor, flow: Tensor) -> Tensor:
    """FlowNet2 ``Resample2d``: ``out(x) = src(x + flow(x))``, bilinear, corners clamped to the frame.

    Same values as :func:`hypercon.warp.backward_warp` with ``padding="border"``, but the sample
    position is used in pixel units as is: ``grid_sample``'s normalisation leaks weights of ~1e-5 onto
    neighbours of integer positions, which would flip the ``> 0`` hole test of the masked variant.

    Args:
        src: ``[B,C,H,W]`` float. flow: ``[B,2,H,W]`` pixels (dx, dy) on the output grid.

    Returns:
        ``[B,C,H,W]`` float, dtype of ``src``.
    """
    check_flow(flow)
    b, c, h, w = src.shape
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype).view(1, 1, w) + flow[:, 0]
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype).view(1, h, 1) + flow[:, 1]
    x0, y0 = torch.floor(xs), torch.floor(ys)
    ax, ay = (xs - x0)[:, None], (ys - y0)[:, None]
    x0i, y0i = x0.long(), y0.long()
    xl, xr = x0i.clamp(0, w - 1), (x0i + 1).clamp(0, w - 1)
    yt, yb = y0i.clamp(0, h - 1), (y0i + 1).clamp(0, h - 1)
    flat = src.reshape(b, c, h * w)

    def gather(yy: Tensor, xx: Tensor) -> Tensor:
        index = (yy * w + xx).view(b, 1, h * w).expand(b, c, h * w)
        return flat.gather(2, index).view(b, c, h, w)

    top = (1 - ax) * gather(yt, xl) + ax * gather(yt, xr)
    bottom = (1 - ax) * gather(yb, xl) + ax * gather(yb, xr)
    return ((1 - ay) * top + ay * bottom).to(src.dtype)


def hole_flow_region(known: Tensor, flow_fw: Tensor) -> Tensor:
    """Flow vectors that start or end in a hole: ``(1−known_t) + resample(1−known_{t+1}) > 0``.

    ``known`` ``[T,1,H,W]`` (1 = known); ``flow_fw`` ``[T-1,2,H,W]``. Returns ``[T-1,1,H,W]`` bool.
    """
    hole = 1.0 - known.float()
    region = torch.empty(flow_fw.shape[0], 1, *flow_fw.shape[-2:], dtype=torch.bool, device=flow_fw.device)
    for i in range(0, flow_fw.shape[0], CHUNK):
        j = min(i + CHUNK, flow_fw.shape[0])
        warped = resample_border(hole[i + 1 : j + 1].to(flow_fw.device), flow_fw[i:j].float())
        region[i:j] = (hole[i:j].to(flow_fw.device) + warped) > 0
    return region


def warping_error(output: Tensor, flow_fw: Tensor, occluded: Tensor, averaging: str = "vie",
                  form: str = "mean", region: Tensor | None = None) -> Tensor:
    """Per-pair warping error ``[T-1]`` (float64).

    Args:
        output: ``[T,3,H,W]`` frames in [0,1] (the method's output, composited for inpainting).
        flow_fw: ``[T-1,2,H,W]`` flow t → t+1 of the SOURCE video, on t's grid (pixels).
        occluded: ``[T-1,1,H,W]`` bool, True = excluded (see :func:`metrics.masks.occlusion_mask`).
        averaging: ``"vie"`` (mean over kept entries, NaN if none) or ``"lai"`` (Σ/N, 0 if none).
        form: ``"mean"`` (per entry) or ``"l2"`` (per pixel, squared L2 over channels = 3× mean).
        region: optional ``[T-1,1,H,W]`` bool; entries outside it are excluded too (masked variant).
    """
    check_frames(output, "output")
    check_flow(flow_fw, "flow_fw")
    if averaging not in AVERAGING or form not in FORMS:
        raise ValueError(f"warping_error: averaging must be in {AVERAGING} and form in {FORMS}, "
                         f"got {averaging!r}, {form!r}")
    t, c, h, w = output.shape
    if flow_fw.shape != (t - 1, 2, h, w) or occluded.shape != (t - 1, 1, h, w):
        raise ValueError(f"warping_error: output {tuple(output.shape)} needs flow_fw [T-1,2,H,W] and occluded "
                         f"[T-1,1,H,W], got {tuple(flow_fw.shape)} and {tuple(occluded.shape)}")
    device = flow_fw.device
    sums = torch.zeros(t - 1, dtype=torch.float64)
    counts = torch.zeros(t - 1, dtype=torch.float64)
    for i in range(0, t - 1, CHUNK):
        j = min(i + CHUNK, t - 1)
        warped = resample_border(output[i + 1 : j + 1].to(device).float(), flow_fw[i:j].float())
        keep = ~occluded[i:j].to(device)
        if region is not None:
            keep = keep & region[i:j].to(device)
        sq = (warped - output[i:j].to(device).float()).square() * keep
        sums[i:j] = sq.sum(dim=(1, 2, 3), dtype=torch.float64).cpu()
        counts[i:j] = keep.sum(dim=(1, 2, 3), dtype=torch.float64).cpu() * c
    scale = float(c) if form == "l2" else 1.0
    if averaging == "vie":
        return sums / counts * scale  # 0/0 → NaN: no valid entry
    return sums / torch.where(counts > 0, counts, torch.full_like(counts, h * w * c)) * scale


def reduce_pairs(per_pair: Tensor, averaging: str = "vie") -> float:
    """Per-video value: ``nanmean`` over pairs (``"vie"``, NaN if every pair is NaN) or mean (``"lai"``)."""
    values = per_pair.double()
    if averaging == "vie":
        return float(torch.nanmean(values)) if values.numel() else math.nan
    return float(values.mean()) if values.numel() else math.nan


class WarpingError(VideoMetric):
    """E_warp of ``video.output`` under the source video's flow and occlusion (``video.source_motion()``).

    Keys: ``ewarp`` (+ ``_lai`` / ``_l2`` for the non-default averaging / form). Lower is better.
    ``occlusion_rule`` must match the rule the source motion was computed with (None accepts it).
    """

    name = "ewarp"
    base_key = "ewarp"

    def __init__(self, occlusion_rule: str | None = "lai", averaging: str = "vie", form: str = "mean",
                 device: str = "cpu") -> None:
        if averaging not in AVERAGING:
            raise ValueError(f"{self.name}: averaging must be one of {AVERAGING}, got {averaging!r}")
        if form not in FORMS:
            raise ValueError(f"{self.name}: form must be one of {FORMS}, got {form!r}")
        self.occlusion_rule, self.averaging, self.form, self.device = occlusion_rule, averaging, form, device
        self.key = self.base_key + ("_lai" if averaging == "lai" else "") + ("_l2" if form == "l2" else "")
        self.higher_is_better = {self.key: False}

    def options(self) -> dict[str, Any]:
        return {"occlusion_rule": self.occlusion_rule, "averaging": self.averaging, "form": self.form}

    def _motion(self, video: EvalVideo):
        if video.source_motion is None:
            raise MetricUnavailable(f"{self.name}: no source motion (flow of the source video) for {video.name}")
        motion = video.source_motion()
        if self.occlusion_rule is not None and motion.rule != self.occlusion_rule:
            raise ValueError(f"{self.name}: occlusion_rule={self.occlusion_rule!r} but the source motion of "
                             f"{video.name} was computed with rule {motion.rule!r} (set metrics.occlusion_rule "
                             f"and the metric's occlusion_rule alike, or occlusion_rule=null)")
        return motion

    def _region(self, video: EvalVideo, flow_fw: Tensor) -> Tensor | None:
        return None

    def compute(self, video: EvalVideo) -> dict[str, float]:
        motion = self._motion(video)
        output = video.evaluated_output()
        if output.shape[0] < 2:
            raise MetricUnavailable(f"{self.name}: {video.name} has fewer than 2 frames")
        flow_fw = motion.flow_fw.to(self.device)
        region = self._region(video, flow_fw)
        per_pair = warping_error(output, flow_fw, motion.occluded, self.averaging, self.form, region)
        return {self.key: reduce_pairs(per_pair, self.averaging)}


class MaskedWarpingError(WarpingError):
    """E_warp restricted to flow vectors that start or end in a hole (VIE ``warp_error_mask``).

    Key ``ewarp_masked`` (+ suffixes as :class:`WarpingError`). Needs ``video.known``.
    """

    name = "ewarp_masked"
    base_key = "ewarp_masked"

    def _region(self, video: EvalVideo, flow_fw: Tensor) -> Tensor:
        if video.known is None:
            raise MetricUnavailable(f"{self.name}: {video.name} has no mask (known), nothing to restrict to")
        check_known(video.known, video.output)
        return hole_flow_region(video.known, flow_fw)
