"""The losses of Gatys optimisation with coherence losses (Wang, Wu, Pan, CMU; seed 002; REFERENCE.md §4.2).

Every function is pure: images ``[B,3,H,W]`` float in [0,1] RGB, features ``[B,C,h,w]``; every "MSE" is
``F.mse_loss``, the mean over all elements. Notation: V the input video, V' the output, i the frame.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def gram(features: Tensor) -> Tensor:
    """``G = F Fᵀ / numel(F)`` ``[B,C,C]`` with ``F`` the ``[C, h·w]`` matrix of each image's features
    (``numel(F) = C·h·w``)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features: Sequence[Tensor], targets: Sequence[Tensor]) -> Tensor:
    """``L_content = (1/L) Σ_l MSE(F_l, P_l)``: the mean over the content layers (one, conv4_2, by default)."""
    return sum(F.mse_loss(f, t) for f, t in zip(features, targets, strict=True)) / len(features)


def style_loss(features: Sequence[Tensor], target_grams: Sequence[Tensor]) -> Tensor:
    """``L_style = (1/L) Σ_l MSE(G(F_l), A_l)``, A_l the style image's Gram matrices ``[1,C,C]``."""
    return sum(F.mse_loss(gram(f), a.expand(f.shape[0], -1, -1))
               for f, a in zip(features, target_grams, strict=True)) / len(features)


def mse_coherence(output: Tensor, prev_output: Tensor) -> Tensor:
    """``L_coh = MSE(V'[i], V'[i−1])`` (the seed's "MSE" model). The seed's optical-flow model is
    ``MSE(V'[i], P)`` with P the previous output moved along the flow (:mod:`baselines.gatys_coherence.flow`);
    Ruder et al.'s occlusion-weighted version is :func:`baselines.common.temporal_loss.temporal_loss`."""
    return F.mse_loss(output, prev_output)


def scene_factor(frame: Tensor, prev_frame: Tensor) -> Tensor:
    """``f = tanh(exp(−MSE(V[i], V[i−1])))`` (a 0-dim tensor): ``tanh 1 ≈ 0.762`` for equal frames, down to
    ``tanh(e⁻¹) ≈ 0.352`` for the largest possible change (MSE 1)."""
    return torch.tanh(torch.exp(-F.mse_loss(frame, prev_frame)))


def enhanced_coherence(output: Tensor, prev_output: Tensor, frame: Tensor, prev_frame: Tensor) -> Tensor:
    """``L_coh = f(MSE(V[i], V[i−1]))·MSE(V'[i], V'[i−1]) + MSE(V'[i] − V'[i−1], V[i] − V[i−1])`` with
    ``f(x) = tanh(e^{−x})`` (the seed's "enhanced coherence", the reference code's ``scaled_residual_mse``)."""
    return (scene_factor(frame, prev_frame) * F.mse_loss(output, prev_output)
            + F.mse_loss(output - prev_output, frame - prev_frame))

