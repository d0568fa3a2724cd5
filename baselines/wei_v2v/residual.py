"""Wei et al.'s (§3.1) residual errors of a clip and their reliability masks.

For frames t = 1 … T−1 of a clip with ``W^b_t`` = flow t → t−1 (on t's grid) and ``W^f_t`` = flow t−1 → t
(on t−1's grid), both from the ``flow=`` group on the real video (FlowNet2 in the paper; recorded):

* warped previous output ``Ô_t(p) = O_{t−1}(p + W^b_t(p))`` (backward warp, bilinear, border-clamped,
  :func:`hypercon.warp.backward_warp`). The paper writes ``O_{t−1}(p + W_t(p))`` with ``W_t`` the flow
  t−1 → t, i.e. it samples with the forward flow; a backward warp onto frame t needs the flow t → t−1 on
  t's grid, which is what is implemented;
* raw residuals ``Ê^o_t = O_t − Ô_t`` (generated) and ``Ê^g_t = G_t − Ĝ_t`` (ground truth), same flow;
* occlusion ``D_t = 1`` where ``|W̃ + W^b|² > 0.01(|W̃|² + |W^b|²) + 0.5`` with ``W̃(p) = W^f(p + W^b(p))``;
  motion boundary ``M_t = 1`` where ``|∇û|² + |∇v̂|² > 0.01|W^b|² + 0.002`` (``û, v̂`` the components of
  ``W^b``; forward differences): :func:`baselines.cyclegan_temporal.occlusion.thesis_factors` with
  ``k = 0.01`` and ``boundary_norm="backward"`` (its factors are ``1 − D`` and ``1 − M``);
* ``E_t = (1 − D_t)(1 − M_t)·Ê_t``. The paper's "E_t = D_t × M_t × Ê_t" read literally would keep only the
  unreliable pixels; the reading that keeps the reliable ones is implemented (recorded).
"""

from __future__ import annotations

from torch import Tensor

from baselines.cyclegan_temporal.occlusion import thesis_factors
from hypercon.warp import backward_warp

OCCLUSION_K = 0.01


def reliable_mask(to_prev: Tensor, to_next: Tensor, k: float = OCCLUSION_K) -> Tensor:
    """``(1 − D)(1 − M)`` ``[B,1,H,W]`` in {0, 1} for ``to_prev`` = W^b (t → t−1, on t's grid) and
    ``to_next`` = W^f (t−1 → t, on t−1's grid), both ``[B,2,H,W]`` pixels (module doc)."""
    not_occluded, not_boundary = thesis_factors(to_prev, to_next, k, boundary_norm="backward")
    return not_occluded * not_boundary


def residuals(clip: Tensor, to_prev: Tensor) -> Tensor:
    """Raw residuals ``Ê_t = X_t − X_{t−1}(p + W^b_t(p))`` for t = 1 … T−1: ``clip [T,B,C,H,W]``,
    ``to_prev [T−1,B,2,H,W]`` → ``[T−1,B,C,H,W]``."""
    t, b = clip.shape[:2]
    if to_prev.shape[:2] != (t - 1, b):
        raise ValueError(f"residuals: clip {tuple(clip.shape)} needs flows [T−1,B,2,H,W], got {tuple(to_prev.shape)}")
    previous = clip[:-1].flatten(0, 1)
    warped, _ = backward_warp(previous, to_prev.flatten(0, 1).to(previous.dtype), padding="border")
    return clip[1:] - warped.view(t - 1, b, *clip.shape[2:])


def clip_masks(to_prev: Tensor, to_next: Tensor, k: float = OCCLUSION_K) -> Tensor:
    """:func:`reliable_mask` for every step of a clip: ``[T−1,B,2,H,W]`` flows → ``[T−1,B,1,H,W]``."""
    steps, b = to_prev.shape[:2]
    mask = reliable_mask(to_prev.flatten(0, 1).float(), to_next.flatten(0, 1).float(), k)
    return mask.view(steps, b, 1, *mask.shape[-2:])


def reliable_residuals(clip: Tensor, to_prev: Tensor, masks: Tensor) -> Tensor:
    """``E_t = (1 − D_t)(1 − M_t)·Ê_t`` ``[T−1,B,C,H,W]`` from ``masks`` of :func:`clip_masks`."""
    return masks.to(clip.dtype) * residuals(clip, to_prev)
