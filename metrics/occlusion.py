"""Occlusion / motion-boundary masks of a forward flow, from the forward-backward consistency check.

Two rules, both binary (True = occluded or unreliable, excluded from E_warp):

* ``"lai"`` — Lai et al. 2018 ``detect_occlusion`` as used by Szeto's evaluation code (VIE), called
  with the backward flow first so that it returns the mask of the FORWARD flow on frame t's grid.
  With ``f = flow_fw`` (t → t+1, on t's grid) and ``b = flow_bw`` (t+1 → t, on t+1's grid):

  - ``b̃(x) = b(x + f(x))``: bilinear, sample positions clamped to the border (FlowNet2 ``Resample2d``);
  - inconsistent where ``|b̃ + f|² > 0.01·(|b̃|² + |f|²) + 0.5``;
  - motion boundary where ``u_x² + u_y² + v_x² + v_y² > 0.01·|f|² + 0.002`` with FORWARD differences
    ``d[x] = v[x] − v[x+1]`` (0 on the last row / column);
  - strict ``>`` in both tests, OR-ed, no smoothing.

* ``"ruder"`` — Ruder et al. 2016 ``consistencyChecker``: samples whose bilinear support leaves the
  frame (``floor(x) < 0`` or ``floor(x)+1 ≥ W``, same for y) are unreliable; inconsistent where
  ``|b̃ + f|² ≥ 0.01·(|b̃|² + |f|²) + 0.5`` (note ``≥``); motion boundary with CENTRAL differences
  ``0.5·(v[x+1] − v[x−1])`` (edge value repeated at the border) and strict ``>``. Upstream then smooths
  the 0/255 map (Gaussian σ = 0.8) into soft weights; we keep the binary map before smoothing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hypercon.checks import check_flow
from hypercon.warp import backward_warp

RULES = ("lai", "ruder")
#: the rule E_warp uses unless told otherwise (Szeto's evaluation code); the runner's default is
#: ``metrics.occlusion_rule`` in conf/metrics/default.yaml
DEFAULT_OCCLUSION_RULE = "lai"


def squared_norm(flow: Tensor) -> Tensor:
    """``[B,2,H,W]`` → ``[B,1,H,W]`` squared magnitude ``dx² + dy²``."""
    return flow.square().sum(dim=1, keepdim=True)


def forward_difference_energy(flow: Tensor) -> Tensor:
    """``|∇u|² + |∇v|²`` ``[B,1,H,W]`` with forward differences ``d[x] = v[x] − v[x+1]`` (last row/col 0)."""
    dx = torch.zeros_like(flow)
    dy = torch.zeros_like(flow)
    dx[..., :, :-1] = flow[..., :, :-1] - flow[..., :, 1:]
    dy[..., :-1, :] = flow[..., :-1, :] - flow[..., 1:, :]
    return (dx.square() + dy.square()).sum(dim=1, keepdim=True)


def central_difference_energy(flow: Tensor) -> Tensor:
    """``|∇u|² + |∇v|²`` ``[B,1,H,W]`` with central differences ``0.5·(v[x+1] − v[x−1])``, edges repeated."""
    padded = F.pad(flow, (1, 1, 1, 1), mode="replicate")
    dx = 0.5 * (padded[..., 1:-1, 2:] - padded[..., 1:-1, :-2])
    dy = 0.5 * (padded[..., 2:, 1:-1] - padded[..., :-2, 1:-1])
    return (dx.square() + dy.square()).sum(dim=1, keepdim=True)


def _support_inside(flow: Tensor) -> Tensor:
    """Ruder's test: the 2×2 bilinear support of ``x + f(x)`` lies inside the frame. ``[B,1,H,W]`` bool."""
    _, _, h, w = flow.shape
    xs = torch.arange(w, device=flow.device, dtype=flow.dtype).view(1, w)
    ys = torch.arange(h, device=flow.device, dtype=flow.dtype).view(h, 1)
    x0 = torch.floor(xs + flow[:, 0])
    y0 = torch.floor(ys + flow[:, 1])
    inside = (x0 >= 0) & (x0 + 1 <= w - 1) & (y0 >= 0) & (y0 + 1 <= h - 1)
    return inside[:, None]


def occlusion_mask(flow_fw: Tensor, flow_bw: Tensor, rule: str = DEFAULT_OCCLUSION_RULE) -> Tensor:
    """Occluded / unreliable pixels of the forward flow, on frame t's grid.

    Args:
        flow_fw: ``[B,2,H,W]`` pixels (dx, dy), t → t+1, on t's grid.
        flow_bw: ``[B,2,H,W]`` pixels, t+1 → t, on t+1's grid.
        rule: ``"lai"`` (Lai et al. / Szeto's VIE, the default) or ``"ruder"`` (see the module docstring).

    Returns:
        ``[B,1,H,W]`` bool, True = occluded, on a motion boundary or (``ruder``) sampled outside the frame.
    """
    check_flow(flow_fw, "flow_fw")
    check_flow(flow_bw, "flow_bw")
    if flow_fw.shape != flow_bw.shape:
        raise ValueError(f"occlusion_mask: flow_fw {tuple(flow_fw.shape)} and flow_bw {tuple(flow_bw.shape)} differ")
    if rule not in RULES:
        raise ValueError(f"occlusion_mask: rule must be one of {RULES}, got {rule!r}")
    f = flow_fw.float()
    b_warped, _ = backward_warp(flow_bw.float(), f, padding="border")
    round_trip = squared_norm(b_warped + f)
    tolerance = 0.01 * (squared_norm(b_warped) + squared_norm(f)) + 0.5
    boundary_tolerance = 0.01 * squared_norm(f) + 0.002
    if rule == "lai":
        inconsistent = round_trip > tolerance
        boundary = forward_difference_energy(f) > boundary_tolerance
        return inconsistent | boundary
    inconsistent = round_trip >= tolerance
    boundary = central_difference_energy(f) > boundary_tolerance
    return inconsistent | boundary | ~_support_inside(f)
