"""Wei et al.'s objective (eq. 4–7) and the four variants of their Table 1.

``L = L_temporal + λ·L_spatial + η·L_cGAN`` with

* ``L_spatial = (1/T) Σ_t ‖O_t − G_t‖₁`` (mean absolute error per frame, averaged over the clip);
* ``L_temporal = (1/(T−1)) Σ_t ‖E^o_t‖₁`` over the T−1 residuals of the clip (:mod:`.residual`, mean per
  pixel; the paper's 1/T over the frames that have a residual);
* ``L_cGAN``: the generator's BCE towards "real" on each discriminator head, summed (spatial channel; plus
  the temporal channel in ``local_global``); the discriminator's is ``½·(BCE(real, 1) + BCE(fake, 0))`` per
  head (pix2pix's halving), summed.

λ, η and the optimiser are not given: λ = 100, η = 1 (pix2pix), Adam lr 2e-4, β = (0.5, 0.999); one D step
then one G step per clip. Losses are computed in the generator's output range: [−1, 1] for RGB (tanh head,
as pix2pix), [0, 1] for vseg probabilities (sigmoid head).

Variants (``VARIANTS``), each a row of Table 1:

* ``image2image``: the U-Net without RNN, per frame, with pix2pix's 70×70 PatchGAN on (input, output) pairs
  (BCE) and λ·L1: pix2pix;
* ``video2video``: recurrent G and D, spatial channel only, no temporal loss;
* ``local``: + L_temporal;
* ``local_global``: + the temporal channel of the discriminator on the residuals.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from baselines.common.gan import adversarial_loss
from hypercon.errors import SettingError

VARIANTS = ("image2image", "video2video", "local", "local_global")
LABELS = {"image2image": "image2image", "video2video": "video2video", "local": "local",
          "local_global": "local+global"}


@dataclass(frozen=True)
class VariantParts:
    """What a variant switches on."""

    recurrent: bool        # RNN in G (and a recurrent D instead of the PatchGAN)
    temporal_loss: bool    # L_temporal (local consistency)
    temporal_channel: bool  # the discriminator's temporal channel (global consistency)


def variant_parts(variant: str) -> VariantParts:
    """The parts of ``variant`` (one of :data:`VARIANTS`), or a one-line error naming ``variant``."""
    if variant not in VARIANTS:
        raise SettingError(f"wei_v2v: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    return VariantParts(recurrent=variant != "image2image", temporal_loss=variant in ("local", "local_global"),
                        temporal_channel=variant == "local_global")


def spatial_loss(outputs: Tensor, targets: Tensor) -> Tensor:
    """``L_spatial``: mean ``|O − G|`` over the clip ``[T,B,C,H,W]`` (equal frame sizes: the mean of the
    per-frame means)."""
    return (outputs - targets).abs().mean()


def temporal_loss(residual_outputs: Tensor) -> Tensor:
    """``L_temporal``: mean ``|E^o|`` over the ``[T−1,B,C,H,W]`` reliable residuals of the outputs."""
    return residual_outputs.abs().mean()


def generator_gan(logits: list[Tensor]) -> Tensor:
    """The generator's ``L_cGAN``: BCE towards "real", summed over the discriminator heads."""
    return sum(adversarial_loss(s, True, "bce") for s in logits)  # type: ignore[return-value]


def discriminator_gan(real_logits: list[Tensor], fake_logits: list[Tensor]) -> Tensor:
    """The discriminator's loss: ``½·(BCE(real, 1) + BCE(fake, 0))`` per head, summed over the heads."""
    return sum(0.5 * (adversarial_loss(r, True, "bce") + adversarial_loss(f, False, "bce"))  # type: ignore[return-value]
               for r, f in zip(real_logits, fake_logits))


def generator_objective(spatial: Tensor, temporal: Tensor | None, gan: Tensor, lam: float = 100.0,
                        eta: float = 1.0) -> Tensor:
    """``L = L_temporal + λ·L_spatial + η·L_cGAN`` (``temporal`` None: no temporal term)."""
    total = lam * spatial + eta * gan
    return total if temporal is None else total + temporal
