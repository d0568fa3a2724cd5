"""GAN utilities (as in CycleGAN, Zhu et al. 2017): adversarial losses, the image pool, the LR schedule."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

GAN_MODES = ("lsgan", "bce")


def adversarial_loss(prediction: Tensor, target_is_real: bool, mode: str = "lsgan") -> Tensor:
    """Discriminator output against a constant target ``y`` (1 real, 0 fake), mean over all entries:

    * ``lsgan``: ``mean((D − y)²)`` (Mao et al.; CycleGAN's default);
    * ``bce``: ``mean(−y·log σ(D) − (1−y)·log(1 − σ(D)))`` on logits ``D`` (the original GAN).
    """
    if mode not in GAN_MODES:
        raise ValueError(f"adversarial_loss: mode must be one of {GAN_MODES}, got {mode!r}")
    target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
    if mode == "lsgan":
        return F.mse_loss(prediction, target)
    return F.binary_cross_entropy_with_logits(prediction, target)


class ImagePool:
    """CycleGAN's history of generated images (Shrivastava et al. 2017), deterministic for a seed.

    ``query(images [B,...])`` returns ``[B,...]``: while fewer than ``size`` images are stored, each input is
    stored and returned; afterwards each input is, with probability 1/2, swapped for a random stored image
    (which is returned, the input taking its place), else returned as is. ``size=0`` returns the input.
    Randomness comes from the pool's own ``torch.Generator``; :meth:`state_dict` holds it and the images.
    """

    def __init__(self, size: int = 50, seed: int = 0) -> None:
        self.size = int(size)
        self.images: list[Tensor] = []
        self.generator = torch.Generator().manual_seed(int(seed))

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand((), generator=self.generator).item() > 0.5:
                index = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[index])
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, Any]:
        stored = torch.stack(self.images) if self.images else torch.empty(0)
        return {"size": self.size, "images": stored, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.size = int(state["size"])
        self.images = list(state["images"].unbind(0)) if state["images"].numel() else []
        self.generator.set_state(state["generator"])


def linear_decay_factor(step: int, constant_steps: int, decay_steps: int) -> float:
    """1 for ``step < constant_steps``, then ``1 − (step − constant_steps) / decay_steps``, 0 from
    ``constant_steps + decay_steps`` on. (CycleGAN divides by ``decay_steps + 1`` and never reaches 0.)"""
    if decay_steps <= 0:
        return 1.0 if step < constant_steps else 0.0
    return min(1.0, max(0.0, 1.0 - (step - constant_steps) / decay_steps))


def linear_decay_schedule(optimizer: torch.optim.Optimizer, constant_steps: int,
                          decay_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """``LambdaLR`` with :func:`linear_decay_factor`, stepped once per training step (epochs: in steps)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: linear_decay_factor(step, constant_steps, decay_steps))
