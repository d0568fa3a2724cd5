"""Frame-wise PSNR / SSIM (skimage-equivalent, vectorised in torch) and the two metrics built on them:

* :class:`Fidelity` — how close the output stays to the frame-wise translation by the same image model
  (``video.reference``): mean PSNR (data range 1) and SSIM (data range 1) over frames.
* :class:`GroundTruthPSNRSSIM` — inpainting quality against the ground truth, as Szeto's VIE
  (``psnr_computer.py``, ``ssim_computer.py``): composited frames, PSNR with data range 1 and SSIM
  called without ``data_range`` on float images, which skimage resolves to **2** (C1 = 0.02²,
  C2 = 0.06²). ``ssim_data_range=1`` gives the textbook value.

SSIM is skimage's ``structural_similarity(x, y, channel_axis=-1, data_range=R)`` with its defaults:
7×7 uniform window, sample covariance (×49/48), K1 = 0.01, K2 = 0.03, the map averaged over the pixels
whose window lies inside the image (skimage crops 3 pixels per side), then over the channels.

Identical frames give PSNR = +inf. Per video, ``inf_policy="clip"`` (default) replaces +inf values by
the largest finite value of that video before averaging (as VIE's table does across videos);
``"keep"`` averages them as they are (the per-video value is then +inf, exactly VIE's per-video number).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hypercon.checks import check_frames, composite
from metrics.base import EvalVideo, MetricKey, MetricUnavailable, VideoMetric

WIN = 7
K1, K2 = 0.01, 0.03
INF_POLICIES = ("clip", "keep")
CHUNK = 4


def clip_inf(values: np.ndarray | Tensor | list[float]) -> np.ndarray:
    """Replace +inf by the largest finite value (VIE's ``np.clip(v, 0, max_non_inf(v))`` upper bound).

    Returns a float64 array; values stay +inf only when none is finite. NaN is left as is.
    """
    arr = np.asarray(values.cpu() if isinstance(values, Tensor) else values, dtype=np.float64).copy()
    finite = arr[np.isfinite(arr)]
    if finite.size:
        arr[np.isposinf(arr)] = finite.max()
    return arr


def reduce_frames(values: Tensor | np.ndarray, inf_policy: str = "clip") -> float:
    """Per-video mean of per-frame (or per-pair) values under ``inf_policy`` (see the module docstring)."""
    if inf_policy not in INF_POLICIES:
        raise ValueError(f"inf_policy must be one of {INF_POLICIES}, got {inf_policy!r}")
    arr = np.asarray(values.cpu() if isinstance(values, Tensor) else values, dtype=np.float64)
    if arr.size == 0:
        return math.nan
    if inf_policy == "clip":
        arr = clip_inf(arr)
    return float(arr.mean())


def psnr_frames(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """PSNR per frame ``[N]`` float64: ``10·log10(R² / mean((x−y)²))`` over all pixels and channels.

    ``x``, ``y``: ``[N,C,H,W]`` float. As skimage: the difference is squared in the inputs' float type
    and averaged in float64. Identical frames give +inf.
    """
    if x.shape != y.shape:
        raise ValueError(f"psnr_frames: shapes differ: {tuple(x.shape)} vs {tuple(y.shape)}")
    mse = (x - y).square().flatten(1).sum(dim=1, dtype=torch.float64) / x[0].numel()
    return 10.0 * torch.log10(data_range**2 / mse)  # mse = 0 → +inf


def box_mean(x: Tensor, win: int = WIN) -> Tensor:
    """Mean over every ``win×win`` window fully inside ``x`` ``[..., H, W]`` → ``[..., H−win+1, W−win+1]``
    (separable: ``win`` shifted slices summed along each axis; float sums of ``win`` terms, like scipy's
    ``uniform_filter`` that skimage uses)."""
    w_out, h_out = x.shape[-1] - win + 1, x.shape[-2] - win + 1
    rows = x[..., :w_out].clone()
    for k in range(1, win):
        rows += x[..., k : k + w_out]
    out = rows[..., :h_out, :].clone()
    for k in range(1, win):
        out += rows[..., k : k + h_out, :]
    return out.div_(win * win)


def ssim_frames(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """SSIM per frame ``[N]`` float64, equal to ``skimage.metrics.structural_similarity(x_n, y_n,
    channel_axis=-1, data_range=data_range)`` (HWC) for each frame of ``x``, ``y`` ``[N,C,H,W]``.

    ``S = (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))`` over 7×7 windows, σ from the
    sample covariance ``cov_norm·(μ_ab − μa·μb)``, ``C1 = (0.01·R)²``, ``C2 = (0.03·R)²``.
    """
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"ssim_frames: need two [N,C,H,W] tensors of one shape, got {tuple(x.shape)}, "
                         f"{tuple(y.shape)}")
    if min(x.shape[-2:]) < WIN:
        raise ValueError(f"ssim_frames: frames of {x.shape[-1]}x{x.shape[-2]} are smaller than the {WIN}x{WIN} window")
    x, y = x.float(), y.float()
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cov_norm = WIN * WIN / (WIN * WIN - 1.0)
    mu_x, mu_y = box_mean(x), box_mean(y)
    # the formula above, in place (frames are large: fewer full-size temporaries)
    vx = box_mean(x * x).addcmul_(mu_x, mu_x, value=-1).mul_(cov_norm)
    vy = box_mean(y * y).addcmul_(mu_y, mu_y, value=-1).mul_(cov_norm)
    num = box_mean(x * y).addcmul_(mu_x, mu_y, value=-1).mul_(2 * cov_norm).add_(c2)  # 2·σxy + C2
    num.mul_(torch.mul(mu_x, mu_y).mul_(2).add_(c1))
    den = mu_x.square_().add_(mu_y.square_()).add_(c1).mul_(vx.add_(vy).add_(c2))
    s_map = num.div_(den)
    return s_map.flatten(2).mean(dim=2, dtype=torch.float64).mean(dim=1)


def _per_frame(fn, x: Tensor, y: Tensor, device: str, **kwargs: Any) -> Tensor:
    out = [fn(x[i : i + CHUNK].to(device), y[i : i + CHUNK].to(device), **kwargs).cpu()
           for i in range(0, len(x), CHUNK)]
    return torch.cat(out)


class _FramePairMetric(VideoMetric):
    prefix = ""
    psnr_range = 1.0

    def __init__(self, ssim_data_range: float = 1.0, inf_policy: str = "clip", device: str = "cpu") -> None:
        if inf_policy not in INF_POLICIES:
            raise ValueError(f"{self.name}: inf_policy must be one of {INF_POLICIES}, got {inf_policy!r}")
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
        if video.reference is None:
            raise MetricUnavailable(f"{self.name}: {video.name} has no frame-wise reference output")
        reference = video.reference
        if video.known is not None:  # compare like with like: both composited with the known pixels
            truth = video.gt if video.gt is not None else video.source
            reference = composite(reference, truth, video.known)
        return video.evaluated_output(), reference


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
