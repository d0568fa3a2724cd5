"""``model=cyclegan_temporal``: the generator G1 (video frames → style) trained here, as a frame-wise image
model that every method runs on (HyperCon included). Tier trained-here.

``variant``: ``original`` (γ = 0, the "original CycleGAN" control) | ``temporal`` (the best γ of the sweep),
the shipped checkpoints ``cyclegan_<variant>_offline`` of ``hypercon/weights/trained/``; ``checkpoint``: a
trained-here ``X.pt`` (with its sidecar) instead. The temporal weight γ is read from the sidecar.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor

from hypercon.component import TRAINED_HERE
from hypercon.models.base import ImageModel
from hypercon.models.cyclegan import generate, load_resnet_generator

log = logging.getLogger(__name__)

VARIANTS = ("original", "temporal")


def shipped_name(variant: str) -> str:
    """The manifest name of a shipped generator."""
    if variant not in VARIANTS:
        raise ValueError(f"model=cyclegan_temporal: model.variant must be one of {VARIANTS}, got {variant!r}")
    return f"cyclegan_{variant}_offline"


class CycleGANTemporal(ImageModel):
    """See the module docstring. Input frames in [0,1] → [−1,1] → G1 → [0,1] (padded to multiples of 4)."""

    name = "cyclegan_temporal"
    tier = TRAINED_HERE

    def __init__(self, variant: str = "temporal", checkpoint: str | None = None, weights_dir: str | None = None,
                 device: str = "cpu", batch_size: int = 4) -> None:
        from baselines.common.sidecar import load_trained

        source = checkpoint or shipped_name(variant)
        trained = load_trained(source, weights_dir)
        if "G1" not in trained.modules:
            raise ValueError(f"model=cyclegan_temporal: {trained.path} holds no G1 generator "
                             f"(modules: {', '.join(trained.modules)})")
        self.net = load_resnet_generator(trained.modules["G1"], source=str(trained.path)).float().to(device)
        recipe = trained.sidecar.get("config", {}).get("recipe", {})
        self.gamma = float(recipe.get("gamma", float("nan")))
        self.variant = variant if checkpoint is None else Path(checkpoint).stem
        self.device, self.batch_size = device, batch_size
        self._weights_record = {**trained.record(), "gamma": self.gamma}

    @property
    def label(self) -> str:  # type: ignore[override]
        if self.gamma == 0:
            return "CycleGAN (γ=0, trained here)"
        return f"CycleGAN+temporal (γ={self.gamma:g}, trained here)"

    def options(self) -> dict[str, object]:
        return {"variant": self.variant, "gamma": self.gamma, "ngf": self.net.ngf, "n_blocks": self.net.n_blocks}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return generate(self.net, frames.to(self.device, torch.float32))
