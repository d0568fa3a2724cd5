"""Patch consistency C_PSNR / C_SSIM (the idea of Gupta et al. 2017, as implemented in Szeto's VIE
``pcons_psnr_computer.py`` / ``pcons_ssim_computer.py``), vectorised over the search window.

For each consecutive pair (a = frame t, b = frame t+1) of the evaluated frames:

* a patch position is drawn: ``y = rng.integers(H − P)`` then ``x = rng.integers(W − P)`` (P = 50),
  and ``A = a[y:y+P, x:x+P]``;
* candidates ``B = b[y+dy : y+dy+P, x+dx : x+dx+P]`` for ``dy, dx ∈ −S … S−1`` (S = 20: VIE's
  ``range(y − S, y + S)``, 40×40 = 1,600 candidates; ``symmetric=True`` uses ``−S … +S``); candidates
  not wholly inside the frame are skipped;
* the pair's value is the best candidate score: PSNR with data range 1 (skimage, float input), or SSIM
  with skimage's defaults and VIE's data range **2** (skimage's guess for float images; ``data_range=1``
  is the textbook value), see :func:`metrics.ssim.ssim_frames`.

Random numbers: VIE creates ONE ``numpy.random.default_rng(1234)`` per metric run and draws from it
for every pair of every video in order, so a video's value depends on the videos before it (and on the
order). The wrappers keep that generator as state (:meth:`PatchConsistency.reset` starts over);
``seed_per_video=True`` reseeds for each video instead (order-independent, resume-safe, not VIE).

Identical patches give PSNR = +inf for that pair (kept in the per-pair vector). The per-video value
applies ``inf_policy`` (:func:`metrics.reduce.reduce_frames`): ``"clip"`` (default) replaces +inf
by the largest finite pair value of the video, ``"keep"`` gives +inf like VIE's per-video sum; VIE's
table then clips +inf to the largest finite per-video value (:func:`metrics.reduce.clip_inf`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hypercon.checks import check_frames
from metrics.base import EvalVideo, MetricKey, MetricUnavailable, VideoMetric
from metrics.reduce import check_inf_policy, reduce_frames
from metrics.ssim import K1, K2, WIN, box_mean

__all__ = ["draw_positions", "patch_consistency", "PatchConsistencyPSNR", "PatchConsistencySSIM"]

SEED = 1234
MEASURES = ("psnr", "ssim")


def draw_positions(rng: np.random.Generator, num_pairs: int, height: int, width: int,
                   patch_size: int = 50) -> np.ndarray:
    """Top-left ``(y, x)`` of the patch in frame t for each pair ``[num_pairs, 2]`` int64, drawn as VIE:
    per pair ``rng.integers(H − P)`` then ``rng.integers(W − P)``."""
    if height <= patch_size or width <= patch_size:
        raise ValueError(f"frames of {width}x{height} are too small for {patch_size}x{patch_size} patches")
    out = np.empty((num_pairs, 2), dtype=np.int64)
    for i in range(num_pairs):
        out[i, 0] = rng.integers(height - patch_size)
        out[i, 1] = rng.integers(width - patch_size)
    return out


def _search_region(b: Tensor, y: int, x: int, patch: int, search: int, symmetric: bool):
    """Frame-b region holding every valid candidate, and the (dy, dx) of its first candidate."""
    h, w = b.shape[-2:]
    hi = search + (1 if symmetric else 0)  # exclusive upper offset
    y0, y1 = max(y - search, 0), min(y + hi - 1, h - patch)
    x0, x1 = max(x - search, 0), min(x + hi - 1, w - patch)
    return b[:, y0 : y1 + patch, x0 : x1 + patch], (y0 - y, x0 - x)


def _sse_exact(a_patch: Tensor, region: Tensor, cand: Tensor, patch: int) -> Tensor:
    """Sum of squared differences for the candidates ``cand [K,2]`` (row, col in the region), computed
    as skimage does: difference and square in float32, sum in float64."""
    views = region.unfold(1, patch, 1).unfold(2, patch, 1)  # [C, ny, nx, P, P]
    picked = views[:, cand[:, 0], cand[:, 1]]  # [C, K, P, P]
    return (picked - a_patch[:, None]).square().sum(dim=(0, 2, 3), dtype=torch.float64)


def best_patch_psnr(a_patch: Tensor, region: Tensor, data_range: float = 1.0) -> float:
    """Max PSNR of ``a_patch [C,P,P]`` against every ``P×P`` window of ``region [C,h,w]``.

    All windows are ranked by ``Σ(A−B)² = ΣA² + ΣB² − 2·ΣAB`` (cross term by one ``conv2d`` on data
    centred at 0.5); the windows within the float32 error bound of the best are re-scored exactly.
    """
    patch = a_patch.shape[-1]
    a32, r32 = a_patch.float() - 0.5, region.float() - 0.5
    cross = F.conv2d(r32[None], a32[None])[0, 0].double()  # [ny, nx]
    a2 = a32.double().square().sum()
    r2 = F.avg_pool2d(r32.double().square().sum(0, keepdim=True)[None], patch, stride=1)[0, 0] * patch * patch
    approx = a2 + r2 - 2.0 * cross
    tol = 4e-5 * torch.sqrt(a2 * r2) + 1e-9
    cutoff = (approx + tol).min()
    cand = torch.nonzero(approx - tol <= cutoff)
    sse = _sse_exact(a_patch.float(), region.float(), cand, patch)
    mse = sse.min() / a_patch.numel()
    return float(10.0 * torch.log10(data_range**2 / mse))  # mse = 0 → +inf


def _band(patch: int, device, dtype) -> Tensor:
    """``[n, P]`` 0/1 window matrix: row p sums entries p … p+6 (n = P − 6). Weights stay exact; the
    sums are divided by 49 once (a rounded 1/7 weight would bias every cross term by ~1e-7, which SSIM
    amplifies by up to 2/C2 in flat areas)."""
    n = patch - WIN + 1
    idx = torch.arange(patch, device=device)
    start = torch.arange(n, device=device)[:, None]
    return ((idx >= start) & (idx < start + WIN)).to(dtype)


def best_patch_ssim(a_patch: Tensor, region: Tensor, data_range: float = 2.0) -> float:
    """Max SSIM (skimage defaults, channel mean) of ``a_patch [C,P,P]`` against every ``P×P`` window of
    ``region [C,h,w]``, all windows at once (float32, like skimage on float32 images).

    Local means of A, B, A², B² come from box filters of A and of the region; the cross term
    ``mean_7×7(A·B)`` for every window is two banded matrix products per row offset (``bmm``).
    """
    c, hr, wr = region.shape
    patch = a_patch.shape[-1]
    ny, nx, n = hr - patch + 1, wr - patch + 1, patch - WIN + 1
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cov_norm = WIN * WIN / (WIN * WIN - 1.0)
    dtype = torch.float64 if a_patch.dtype == torch.float64 else torch.float32
    a, r = a_patch.to(dtype), region.to(dtype)
    band = _band(patch, a.device, dtype)
    # layout [row, channel, col, ...] throughout, so that every per-offset slice below is contiguous
    ux, uxx = box_mean(a).transpose(0, 1), box_mean(a * a).transpose(0, 1)  # [py, C, px]
    uy_r, uyy_r = box_mean(r).transpose(0, 1), box_mean(r * r).transpose(0, 1)  # [hr-6, C, wr-6]
    vy_r, uy2_r = cov_norm * (uyy_r - uy_r * uy_r), uy_r * uy_r
    vx_c2 = (cov_norm * (uxx - ux * ux) + c2)[:, :, None, :]  # [py, C, 1, px]
    ux2_c1 = (ux * ux + c1)[:, :, None, :]
    ux_b = ux[:, :, None, :].contiguous()
    rows = r.unfold(2, patch, 1).transpose(0, 1).contiguous()  # [hr, C, nx, P]: r[c, k, dx + j]
    # a_band[(i, c), j, px] = A[c, i, j] · [px ≤ j < px+7]
    a_band = (a.transpose(0, 1)[:, :, :, None] * band.t()[None, None]).reshape(patch * c, patch, n)
    scores = torch.empty(ny, nx, dtype=torch.float64, device=a.device)
    prod, den1, den2 = (torch.empty(n, c, nx, n, device=a.device, dtype=dtype) for _ in range(3))
    for dy in range(ny):
        row_box = torch.bmm(rows[dy : dy + patch].view(patch * c, nx, patch), a_band)  # [i·C, dx, px]
        uxy = torch.mm(band, row_box.view(patch, c * nx * n)).view(n, c, nx, n).div_(WIN * WIN)  # [py, C, dx, px]
        uy = uy_r[dy : dy + n].unfold(2, n, 1)  # [py, C, dx, px] views
        uy2 = uy2_r[dy : dy + n].unfold(2, n, 1)
        vy = vy_r[dy : dy + n].unfold(2, n, 1)
        torch.mul(ux_b, uy, out=prod)
        uxy.sub_(prod).mul_(2 * cov_norm).add_(c2)  # 2·σxy + C2
        prod.mul_(2).add_(c1)  # 2·μx·μy + C1
        uxy.mul_(prod)
        torch.add(ux2_c1, uy2, out=den1)
        torch.add(vx_c2, vy, out=den2)
        uxy.div_(den1.mul_(den2))
        scores[dy] = uxy.sum(dim=(0, 3)).double().mean(dim=0) / (n * n)  # [C, dx] → [dx]
    return float(scores.max())


def patch_consistency(frames: Tensor, positions: np.ndarray, measure: str = "psnr", patch_size: int = 50,
                      search: int = 20, symmetric: bool = False, data_range: float | None = None,
                      device: str = "cpu") -> Tensor:
    """Per-pair patch consistency ``[T-1]`` float64 (PSNR in dB or SSIM), see the module docstring.

    Args:
        frames: ``[T,3,H,W]`` float in [0,1] (composited for inpainting).
        positions: ``[T-1,2]`` top-left ``(y, x)`` of the patch in frame t (:func:`draw_positions`).
        measure: ``"psnr"`` or ``"ssim"``.
        data_range: None = VIE's (PSNR 1, SSIM 2).
    """
    check_frames(frames, "frames")
    if measure not in MEASURES:
        raise ValueError(f"patch_consistency: measure must be one of {MEASURES}, got {measure!r}")
    t, _, h, w = frames.shape
    if len(positions) != t - 1:
        raise ValueError(f"patch_consistency: {t} frames need {t - 1} positions, got {len(positions)}")
    if patch_size < WIN and measure == "ssim":
        raise ValueError(f"patch_consistency: patch_size {patch_size} is smaller than the SSIM window {WIN}")
    if data_range is None:
        data_range = 1.0 if measure == "psnr" else 2.0
    out = torch.empty(t - 1, dtype=torch.float64)
    with torch.no_grad():
        for i, (y, x) in enumerate(np.asarray(positions, dtype=np.int64)):
            if not (0 <= y <= h - patch_size and 0 <= x <= w - patch_size):
                raise ValueError(f"patch_consistency: position {(int(y), int(x))} outside a {w}x{h} frame")
            a = frames[i].to(device)
            b = frames[i + 1].to(device)
            a_patch = a[:, y : y + patch_size, x : x + patch_size]
            region, _ = _search_region(b, int(y), int(x), patch_size, search, symmetric)
            if measure == "psnr":
                out[i] = best_patch_psnr(a_patch, region, data_range)
            else:
                out[i] = best_patch_ssim(a_patch, region, data_range)
    return out


class PatchConsistency(VideoMetric):
    """Shared wrapper state: options and the random generator (VIE: one per metric run)."""

    measure = "psnr"

    def __init__(self, patch_size: int = 50, search: int = 20, symmetric: bool = False, seed: int = SEED,
                 seed_per_video: bool = False, inf_policy: str = "clip", data_range: float | None = None,
                 device: str = "cpu") -> None:
        check_inf_policy(inf_policy, self.name)
        if patch_size < 1 or search < 1:
            raise ValueError(f"{self.name}: patch_size and search must be ≥ 1, got {patch_size}, {search}")
        self.patch_size, self.search, self.symmetric = int(patch_size), int(search), bool(symmetric)
        self.seed, self.seed_per_video = int(seed), bool(seed_per_video)
        self.inf_policy, self.device = inf_policy, device
        self.data_range = float(data_range if data_range is not None else (1.0 if self.measure == "psnr" else 2.0))
        self.reset()

    def reset(self) -> None:
        """Start the random sequence over (as a new VIE run would)."""
        self.rng = np.random.default_rng(self.seed)

    def skip_video(self, num_frames: int, height: int, width: int) -> None:
        """Advance the shared generator past a video evaluated earlier (a resumed run), drawing exactly
        what :meth:`per_pair` would have drawn, so later videos get the same patches as in one pass."""
        if self.seed_per_video or num_frames < 2 or height <= self.patch_size or width <= self.patch_size:
            return
        draw_positions(self.rng, num_frames - 1, height, width, self.patch_size)

    def options(self) -> dict[str, Any]:
        return {"patch_size": self.patch_size, "search": self.search, "symmetric": self.symmetric,
                "seed": self.seed, "seed_per_video": self.seed_per_video, "inf_policy": self.inf_policy,
                "data_range": self.data_range}

    def per_pair(self, video: EvalVideo) -> Tensor:
        """The ``[T-1]`` per-pair values of one video (advances the shared generator)."""
        frames = video.evaluated_output()
        t, _, h, w = frames.shape
        if t < 2:
            raise MetricUnavailable(f"{self.name}: {video.name} has fewer than 2 frames")
        if h <= self.patch_size or w <= self.patch_size:
            raise MetricUnavailable(f"{self.name}: {video.name} frames {w}x{h} are not larger than the "
                                    f"{self.patch_size}x{self.patch_size} patch")
        rng = np.random.default_rng(self.seed) if self.seed_per_video else self.rng
        positions = draw_positions(rng, t - 1, h, w, self.patch_size)
        return patch_consistency(frames, positions, self.measure, self.patch_size, self.search, self.symmetric,
                                 self.data_range, self.device)


class PatchConsistencyPSNR(PatchConsistency):
    """C_PSNR (key ``cpsnr``, dB, higher is better)."""

    name = "cpsnr"
    measure = "psnr"
    keys = {"cpsnr": MetricKey("C_PSNR", ".2f", True, clip_inf=True)}

    def compute(self, video: EvalVideo) -> dict[str, float]:
        return {"cpsnr": reduce_frames(self.per_pair(video), self.inf_policy)}


class PatchConsistencySSIM(PatchConsistency):
    """C_SSIM (key ``cssim``, higher is better); SSIM data range 2 by default (VIE)."""

    name = "cssim"
    measure = "ssim"
    keys = {"cssim": MetricKey("C_SSIM", ".4f", True)}

    def compute(self, video: EvalVideo) -> dict[str, float]:
        return {"cssim": float(self.per_pair(video).mean())}
