"""The thesis' occlusion weights c of the temporal loss (Singh 2020, §3.4; Ruder et al. 2016's test).

For the pair (t−1, t) with ``ẃ`` = flow t → t−1 (on frame t's grid, the flow that warps G(x_{t−1}) onto t)
and ``w`` = flow t−1 → t (on frame t−1's grid), ``ŵ(x) = w(x + ẃ(x))`` (bilinear, border-clamped):

* disocclusion: ``c = 0`` where ``|ŵ + ẃ|² > k·(|ŵ|² + |ẃ|²) + 0.5``;
* motion boundary: ``c = 0`` where ``|∇ú|² + |∇v́|² > 0.01·|ŵ|² + 0.002`` (``ú, v́`` the components of ẃ;
  forward differences ``d[x] = v[x] − v[x+1]``, 0 on the last row / column, as the harness's ``lai`` rule);
* ``c = 1`` elsewhere. Strict ``>`` in both tests.

``k = 0.01`` is the standard check the thesis cites (Ruder, Sundaram et al.); the thesis prints 0.001.
``boundary_norm="backward"`` puts ``|ẃ|²`` in the boundary threshold instead of ``|ŵ|²`` (Wei et al. 2018's
masks, :mod:`baselines.wei_v2v.residual`).
Differences from :func:`metrics.occlusion.occlusion_mask`: the tolerance ``k`` and the boundary threshold on
``|ŵ|²`` (the thesis) instead of ``|ẃ|²``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from hypercon.checks import check_flow
from hypercon.warp import backward_warp
from metrics.occlusion import forward_difference_energy, squared_norm

DEFAULT_K = 0.01


BOUNDARY_NORMS = ("sampled", "backward")


def thesis_factors(flow_t_to_prev: Tensor, flow_prev_to_t: Tensor, k: float = DEFAULT_K,
                   boundary_norm: str = "sampled") -> tuple[Tensor, Tensor]:
    """``(disocclusion, motion_boundary)`` factors ``[B,1,H,W]`` float: 0 where the test of the module doc
    fails, else 1. ``ŵ`` is sampled once for both; ``boundary_norm``: the flow whose ``|·|²`` scales the
    boundary threshold, ``sampled`` (``ŵ``, the thesis) or ``backward`` (``ẃ``, Wei et al.)."""
    if boundary_norm not in BOUNDARY_NORMS:
        raise ValueError(f"thesis_factors: boundary_norm must be one of {BOUNDARY_NORMS}, got {boundary_norm!r}")
    check_flow(flow_t_to_prev, "flow_t_to_prev")
    check_flow(flow_prev_to_t, "flow_prev_to_t")
    back = flow_t_to_prev.float()
    sampled, _ = backward_warp(flow_prev_to_t.float(), back, padding="border")  # ŵ
    failed = squared_norm(sampled + back) > k * (squared_norm(sampled) + squared_norm(back)) + 0.5
    scale = squared_norm(sampled if boundary_norm == "sampled" else back)
    boundary = forward_difference_energy(back) > 0.01 * scale + 0.002
    return (~failed).float(), (~boundary).float()


def thesis_weights(flow_t_to_prev: Tensor, flow_prev_to_t: Tensor, k: float = DEFAULT_K) -> Tensor:
    """``c`` ``[B,1,H,W]`` in {0, 1}: the product of both factors of :func:`thesis_factors`."""
    disocclusion, boundary = thesis_factors(flow_t_to_prev, flow_prev_to_t, k)
    return disocclusion * boundary
