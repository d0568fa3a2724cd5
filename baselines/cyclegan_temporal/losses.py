"""The losses and LR schedule of the CycleGAN + optical-flow temporal loss baseline (Singh 2020, Ch. 3).

``L_G = α·L_adv + β·L_recon + γ·L_temp + θ·L_identity`` (the thesis gives no weights; here α = 1, β = 10,
θ = 5 as CycleGAN's λ_cycle = 10, λ_identity = 0.5·λ_cycle; γ from a sweep, γ = 0 the "original CycleGAN"):

* ``L_adv``: the generator's adversarial loss (:func:`baselines.common.gan.adversarial_loss`, ``lsgan`` or
  ``bce``) on D_Y(G1(x)) for each frame of the input pair, averaged; with two discriminators, plus
  D_X(G2(y)) (CycleGAN's symmetric term);
* ``L_recon = ‖G2(G1(x_t)) − x_t‖₁ + ‖G1(G2(y)) − y‖₁`` (mean absolute error, on the current frame x_t);
* ``L_identity = ‖G1(y) − y‖₁ + ‖G2(x_t) − x_t‖₁``;
* ``L_temp = (1/D) Σ_i c_i (G1(x_t)_i − W(G1(x_{t−1}))_i)²``, D = B·C·H·W (all entries, the thesis'
  normalisation), W the backward warp along the input flow t → t−1 and c the thesis' occlusion weights
  (:mod:`.occlusion`). Generator outputs are in [−1, 1], so L_temp is 4× its value on [0, 1] images.

Discriminators: ``½·(adv(D(real), 1) + adv(D(pool(fake)), 0))`` each, on pooled fakes (CycleGAN).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from baselines.common.gan import adversarial_loss, linear_decay_factor
from baselines.common.temporal_loss import temporal_loss


def temporal_term(fake_t: Tensor, fake_prev: Tensor, flow_t_to_prev: Tensor, weights: Tensor) -> Tensor:
    """L_temp of the module doc: ``Σ c·(G1(x_t) − W(G1(x_{t−1})))² / (B·C·H·W)``."""
    return temporal_loss(fake_t, fake_prev, flow_t_to_prev, weights, distance="mse", normalise="all")


def reconstruction_term(x: Tensor, x_cycled: Tensor, y: Tensor, y_cycled: Tensor) -> Tensor:
    """``‖G2(G1(x)) − x‖₁ + ‖G1(G2(y)) − y‖₁`` (means)."""
    return F.l1_loss(x_cycled, x) + F.l1_loss(y_cycled, y)


def identity_term(x: Tensor, g2_x: Tensor, y: Tensor, g1_y: Tensor) -> Tensor:
    """``‖G1(y) − y‖₁ + ‖G2(x) − x‖₁`` (means)."""
    return F.l1_loss(g1_y, y) + F.l1_loss(g2_x, x)


def generator_adversarial(scores: list[Tensor], mode: str) -> Tensor:
    """Mean over ``scores`` (discriminator logits of generated images) of the loss towards "real"."""
    return sum(adversarial_loss(s, True, mode) for s in scores) / len(scores)


def discriminator_term(real_scores: Tensor, fake_scores: Tensor, mode: str) -> Tensor:
    """``½·(adv(D(real), real) + adv(D(fake), fake))``."""
    return 0.5 * (adversarial_loss(real_scores, True, mode) + adversarial_loss(fake_scores, False, mode))


def cyclegan_lr(epoch: int, lr: float, constant_epochs: int = 100, decay_epochs: int = 70) -> float:
    """The LR of (1-based) ``epoch``: ``lr`` up to ``constant_epochs``, then linear to 0 at
    ``constant_epochs + decay_epochs`` (the thesis: 2e-4 for 100 epochs, 0 at epoch 170)."""
    return lr * linear_decay_factor(epoch, constant_epochs, decay_epochs)
