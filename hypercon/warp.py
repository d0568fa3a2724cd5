"""Backward warping with an explicit border policy and a validity mask.

Rule: ``out(x) = src(x + flow(x))`` with bilinear sampling, pixel centres at integer
coordinates (``align_corners=True``). Warping frame b with ``flow_a_to_b`` aligns b onto a.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from hypercon.checks import check_flow


def coords_grid(batch: int, height: int, width: int, device=None, dtype=torch.float32) -> Tensor:
    """Pixel coordinates ``[B,2,H,W]``: channel 0 = x (column), channel 1 = y (row)."""
    ys, xs = torch.meshgrid(
        torch.arange(height, device=device, dtype=dtype),
        torch.arange(width, device=device, dtype=dtype),
        indexing="ij",
    )
    return torch.stack((xs, ys), dim=0)[None].expand(batch, 2, height, width)


@lru_cache(maxsize=16)
def _pixel_grid(height: int, width: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Cached ``[1,2,H,W]`` pixel coordinates (the warp's hot path rebuilds nothing per call)."""
    return coords_grid(1, height, width, device=device, dtype=dtype).contiguous()


GRID_ROUNDINGS = ("divide", "reciprocal")


def backward_warp(
    src: Tensor, flow: Tensor, padding: str = "border", mode: str = "bilinear", grid_rounding: str = "divide"
) -> tuple[Tensor, Tensor]:
    """Sample ``src`` at ``x + flow(x)``.

    Args:
        src: ``[B,C,H,W]`` any float values (frames, masks, flows).
        flow: ``[B,2,H,W]`` pixels (dx, dy), on the output grid.
        padding: ``"border"`` clamps samples to the border (FlowNet2 ``Resample2d``, as Lai et al. and
            Szeto's evaluation code); ``"zeros"`` treats outside as 0.
        mode: ``"bilinear"`` or ``"nearest"``.
        grid_rounding: how a sample position p becomes ``grid_sample``'s coordinate in [-1, 1]:
            ``"divide"`` computes ``2·p / (W−1) − 1`` (HyperCon, the default), ``"reciprocal"``
            ``p · (2/(W−1)) − 1`` (E_warp). The two differ only by float32 rounding (one ulp of the grid,
            about 1e-4 px at W = 832); each caller keeps the rounding its recorded numbers were made with.

    Returns:
        ``(out [B,C,H,W], valid [B,1,H,W] bool)``; ``valid`` is False where the sample position
        fell outside ``[0, W−1] × [0, H−1]``.
    """
    check_flow(flow)
    if padding not in ("border", "zeros"):
        raise ValueError(f"padding must be 'border' or 'zeros', got {padding!r}")
    if grid_rounding not in GRID_ROUNDINGS:
        raise ValueError(f"grid_rounding must be one of {GRID_ROUNDINGS}, got {grid_rounding!r}")
    if src.ndim != 4 or src.shape[0] != flow.shape[0] or src.shape[-2:] != flow.shape[-2:]:
        raise ValueError(f"src {tuple(src.shape)} and flow {tuple(flow.shape)} must be [B,C,H,W] / [B,2,H,W] alike")
    b, _, h, w = flow.shape
    pos = _pixel_grid(h, w, flow.device, flow.dtype) + flow
    px, py = pos[:, 0], pos[:, 1]
    valid = (px >= 0) & (px <= w - 1) & (py >= 0) & (py <= h - 1)
    if grid_rounding == "divide":
        gx = 2.0 * px / max(w - 1, 1) - 1.0
        gy = 2.0 * py / max(h - 1, 1) - 1.0
    else:
        gx = px * (2.0 / max(w - 1, 1)) - 1.0
        gy = py * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    out = F.grid_sample(src.to(flow.dtype), grid, mode=mode, padding_mode=padding, align_corners=True)
    return out.to(src.dtype), valid[:, None]
