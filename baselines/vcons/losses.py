"""Lai et al.'s training objective for one clip, and their learning-rate schedule.

For a clip of n frames (inputs I, processed P, outputs O with ``O_0 = P_0``; all ``[B,3,H,W]``), with
``M_t(s) = exp(−α (Σ_c (I_t − warp(I_s)))²)`` (:func:`baselines.common.temporal_loss.soft_visibility`,
flow ``F_{t→s}`` on the inputs, channels summed before squaring as upstream):

* short-term ``Σ_{t≥1} w_ST · L1(O_t·M_t(t−1), warp(O_{t−1})·M_t(t−1))`` (O_{t−1} detached);
* long-term ``Σ_{t≥2} w_LT · L1(O_t·M_t(0), warp(O_0)·M_t(0))``;
* perceptual ``Σ_{t≥1} w_VGG · d(φ(O_t), φ(P_t))`` on the ``perceptual`` trunk (upstream: VGG16 relu4_3,
  L1, ImageNet-normalised).

Sums over t, not means, as upstream. ``L1(a·M, b·M)`` is the mean over all entries:
:func:`baselines.common.temporal_loss.temporal_loss` with ``distance="l1", normalise="all"``.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor

from baselines.common.temporal_loss import soft_visibility, temporal_loss


def pair_loss(output_t: Tensor, output_s: Tensor, input_t: Tensor, input_s: Tensor, flow_t_to_s: Tensor,
              alpha: float) -> Tensor:
    """``L1(O_t·M, warp(O_s)·M)`` with Lai's soft visibility M from the inputs."""
    visible = soft_visibility(input_t, input_s, flow_t_to_s, alpha)
    return temporal_loss(output_t, output_s.detach(), flow_t_to_s, visible, distance="l1", normalise="all")


def clip_losses(inputs: list[Tensor], processed: list[Tensor], outputs: list[Tensor],
                flows_to_prev: list[Tensor | None], flows_to_first: list[Tensor | None],
                perceptual: Callable[[Tensor, Tensor], Tensor], w_st: float = 100.0, w_lt: float = 100.0,
                w_vgg: float = 10.0, alpha: float = 50.0) -> dict[str, Tensor]:
    """``{"short", "long", "perceptual", "total"}`` for one clip (see the module docstring).
    ``flows_to_prev[t]`` = F_{t→t−1} (t ≥ 1), ``flows_to_first[t]`` = F_{t→0} (t ≥ 2); index 0 (and 1 for
    the long-term list) unused."""
    zero = outputs[0].new_zeros(())
    short, long_, percep = zero, zero, zero
    for t in range(1, len(outputs)):
        if w_st:
            short = short + w_st * pair_loss(outputs[t], outputs[t - 1], inputs[t], inputs[t - 1],
                                             flows_to_prev[t], alpha)
        if w_vgg:
            percep = percep + w_vgg * perceptual(outputs[t], processed[t])
        if w_lt and t >= 2:
            long_ = long_ + w_lt * pair_loss(outputs[t], outputs[0], inputs[t], inputs[0], flows_to_first[t], alpha)
    return {"short": short, "long": long_, "perceptual": percep, "total": short + long_ + percep}


def upstream_lr(epoch: int, lr_init: float = 1e-4, step: int = 20, drop: float = 0.5, floor: float = 1e-5) -> float:
    """Upstream ``utils.learning_rate_decay`` (1-based epochs): ``lr_init · drop^floor(epoch / step)``, never
    below ``floor``. (Upstream's ``-lr_offset`` option is documented but unused by that function: the first
    drop is at epoch ``step``.)

    >>> [upstream_lr(e) for e in (1, 19, 20, 39, 40, 60, 80, 100)]
    [0.0001, 0.0001, 5e-05, 5e-05, 2.5e-05, 1.25e-05, 1e-05, 1e-05]
    """
    return max(floor, lr_init * drop ** max(0, epoch // step))
