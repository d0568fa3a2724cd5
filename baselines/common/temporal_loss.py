"""The temporal-consistency loss of the trained baselines: ``O_t`` against the previous output warped onto
frame t, on visible pixels.

Conventions (``hypercon/checks.py``): frames ``[B,C,H,W]``; flow ``[B,2,H,W]`` in pixels (dx, dy);
``flow_t_to_prev`` lives on frame t's grid and points into frame t−1, so the backward warp
``warp(O_{t−1})(x) = O_{t−1}(x + flow_t_to_prev(x))`` (:func:`hypercon.warp.backward_warp`, border
clamp) aligns the previous output onto frame t. Visibility ``[B,1,H,W]`` float in [0,1], 1 = visible.

Two visibility sources, combinable by product:

* :func:`visibility_from_flows`: 1 − the forward-backward check of :func:`metrics.occlusion.occlusion_mask`
  (the only copy of that check), binary;
* :func:`soft_visibility`: Lai et al. 2018's ``exp(−α · (Σ_c (I_t − warp(I_{t−1})))²)`` on the INPUT
  frames (α = 50 in Lai's code; the channel sum is signed, squared after summing, as upstream).
"""

from __future__ import annotations

import torch
from torch import Tensor

from hypercon.warp import backward_warp
from metrics.occlusion import occlusion_mask

DISTANCES = ("mse", "l1")
NORMALISATIONS = ("visible", "all")


def warp_previous(previous: Tensor, flow_t_to_prev: Tensor) -> Tensor:
    """``previous [B,C,H,W]`` (frame t−1) warped onto frame t's grid, border-clamped."""
    warped, _ = backward_warp(previous, flow_t_to_prev, padding="border")
    return warped


def visibility_from_flows(flow_t_to_prev: Tensor, flow_prev_to_t: Tensor, rule: str = "lai") -> Tensor:
    """``[B,1,H,W]`` float, 1 where frame t's pixel passes the forward-backward check into frame t−1."""
    return (~occlusion_mask(flow_t_to_prev, flow_prev_to_t, rule=rule)).float()


def soft_visibility(frame_t: Tensor, frame_prev: Tensor, flow_t_to_prev: Tensor, alpha: float = 50.0) -> Tensor:
    """Lai et al.: ``exp(−alpha · (Σ_c (I_t − warp(I_{t−1}))_c)²)`` ``[B,1,H,W]`` from the input frames."""
    diff = (frame_t - warp_previous(frame_prev, flow_t_to_prev)).sum(dim=1, keepdim=True)
    return torch.exp(-alpha * diff.square())


def temporal_loss(output_t: Tensor, output_prev: Tensor, flow_t_to_prev: Tensor, visibility: Tensor,
                  distance: str = "mse", normalise: str = "visible") -> Tensor:
    """Masked distance between ``O_t`` and ``warp(O_{t−1})``; a scalar.

    With ``d = O_t − warp(O_{t−1})`` ``[B,C,H,W]``, ``e = d²`` (``mse``) or ``|d|`` (``l1``) and the visibility
    ``v`` ``[B,1,H,W]`` broadcast over channels:

    * ``normalise="visible"``: ``Σ v·e / (C · Σ v)``, the mean over visible entries (0 when none is visible);
    * ``normalise="all"``: ``Σ v·e / (B·C·H·W)``, the thesis normalisation by ALL entries. For ``l1`` this
      equals Lai et al.'s ``L1(O_t·v, warp(O_{t−1})·v)``; for ``mse`` the visibility weighs the squared
      error once (Lai's masking of both images would weigh it by ``v²``; identical for a binary mask).
    """
    if distance not in DISTANCES or normalise not in NORMALISATIONS:
        raise ValueError(f"temporal_loss: distance must be one of {DISTANCES} and normalise one of "
                         f"{NORMALISATIONS}, got {distance!r}, {normalise!r}")
    if visibility.ndim != 4 or visibility.shape[1] != 1 or visibility.shape[-2:] != output_t.shape[-2:]:
        raise ValueError(f"temporal_loss: visibility must be [B,1,H,W] like output_t {tuple(output_t.shape)}, "
                         f"got {tuple(visibility.shape)}")
    diff = output_t - warp_previous(output_prev, flow_t_to_prev)
    error = diff.square() if distance == "mse" else diff.abs()
    weighted = (error * visibility).sum()
    if normalise == "all":
        return weighted / error.numel()
    return weighted / (visibility.sum() * output_t.shape[1]).clamp_min(1e-12)
