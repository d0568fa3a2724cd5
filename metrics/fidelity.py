"""Frame-wise PSNR / SSIM (skimage-equivalent, vectorised in torch) and the two metrics built on them:

* :class:`Fidelity` — how close the output stays to the frame-wise translation by the same image model
  (``video.reference``): mean PSNR (data range 1) and SSIM (data range 1) over frames.
* :class:`GroundTruthPSNRSSIM` — inpainting quality against the ground truth, as Szeto's VIE
  (``psnr_computer.py``, ``ssim_computer.py``): composited frames, PSNR with data range 1 and SSIM
  called without ``data_range`` on float images, which skimage resolves to **2** (C1 = 0.02²,
  C2 = 0.06²). ``ssim_data_range=1`` gives the textbook value.

SSIM is skimage's ``structural_similarity(x, y, channel_axis=-1, data_range=R)`` with its defaults
(:func:`metrics.ssim.ssim_frames`).

Identical frames give PSNR = +inf; the per-video mean applies ``inf_policy`` (:mod:`metrics.reduce`:
``"clip"``, the default, or ``"keep"``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from hypercon.checks import check_frames
from metrics.base import EvalVideo, MetricKey, MetricUnavailable, VideoMetric
from metrics.frame_size import require_min_side
from metrics.reduce import check_inf_policy, reduce_frames
from metrics.ssim import WIN, ssim_frames

CHUNK = 4


def psnr_frames(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """PSNR per frame ``[N]`` float64: ``10·log10(R² / mean((x−y)²))`` over all pixels and channels.

    ``x``, ``y``: ``[N,C,H,W]`` float. As skimage: the difference is squared in the inputs' float type
    and averaged in float64. Identical frames give +inf.
    """
    if x.shape != y.shape:
        raise ValueError(f"psnr_frames: shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    mse = (x - y).square().flatten(1).sum(dim=1, dtype=torch.float64) / x[0].numel()
    return 10.0 * torch.log10(data_range**2 / mse)  # mse = 0 → +inf


def _per_frame(fn, x: Tensor, y: Tensor, device: str, **kwargs: Any) -> Tensor:
    out = [fn(x[i : i + CHUNK].to(device), y[i : i + CHUNK].to(device), **kwargs).cpu()
           for i in range(0, len(x), CHUNK)]
    return torch.cat(out)


class _FramePairMetric(VideoMetric):
    prefix = ""
    psnr_range = 1.0

    def __init__(self, ssim_data_range: float = 1.0, inf_policy: str = "clip", device: str = "cpu") -> None:
        check_inf_policy(inf_policy, self.name)
        if ssim_data_range <= 0:
            raise ValueError(f"{self.name}: ssim_data_range must be > 0, got {ssim_data_range}")
        self.ssim_data_range, self.inf_policy, self.device = float(ssim_data_range), inf_policy, device

    def options(self) -> dict[str, Any]:
        return {"psnr_data_range": self.psnr_range, "ssim_data_range": self.ssim_data_range,
                "inf_policy": self.inf_policy}

    def _pair(self, video: EvalVideo) -> tuple[Tensor, Tensor]:
        raise MetricUnavailable(f"{self.name}: no frames to compare")

    def compute(self, video: EvalVideo) -> dict[str, float]:
        x, y = self._pair(video)
        check_frames(x, "output")
        if x.shape != y.shape:
            raise ValueError(f"{self.name}: {video.name}: output {tuple(x.shape)} and comparison frames "
                             f"{tuple(y.shape)} differ in shape")
        require_min_side(self.name, video.name, x, WIN, "SSIM window (psnr and ssim are reported together)")
        psnr = _per_frame(psnr_frames, y, x, self.device, data_range=self.psnr_range)
        ssim = _per_frame(ssim_frames, y, x, self.device, data_range=self.ssim_data_range)
        return {f"{self.prefix}psnr": reduce_frames(psnr, self.inf_policy),
                f"{self.prefix}ssim": float(ssim.mean())}


class Fidelity(_FramePairMetric):
    """Mean PSNR / SSIM (both data range 1) between ``video.output`` and ``video.reference``, the
    frame-wise output of the same image model. Keys ``fidelity_psnr``, ``fidelity_ssim``."""

    name = "fidelity"
    prefix = "fidelity_"
    keys = {"fidelity_psnr": MetricKey("PSNR vs frame-wise", ".2f", True, "reference", clip_inf=True),
            "fidelity_ssim": MetricKey("SSIM vs frame-wise", ".4f", True, "reference")}

    def _pair(self, video: EvalVideo) -> tuple[Tensor, Tensor]:
        return video.evaluated_output(), video.evaluated_reference(self.name)


class GroundTruthPSNRSSIM(_FramePairMetric):
    """PSNR (data range 1) and SSIM (data range 2 by default, as VIE) of the composited output against
    ``video.gt``, averaged over frames. Keys ``psnr``, ``ssim``."""

    name = "gt"
    prefix = ""
    keys = {"psnr": MetricKey("PSNR", ".2f", True, "gt", clip_inf=True),
            "ssim": MetricKey("SSIM", ".4f", True, "gt")}

    def __init__(self, ssim_data_range: float = 2.0, inf_policy: str = "clip", device: str = "cpu") -> None:
        super().__init__(ssim_data_range=ssim_data_range, inf_policy=inf_policy, device=device)

    def _pair(self, video: EvalVideo) -> tuple[Tensor, Tensor]:
        if video.gt is None:
            raise MetricUnavailable(f"{self.name}: {video.name} has no ground truth (psnr/ssim need it)")
        return video.evaluated_output(), video.gt
