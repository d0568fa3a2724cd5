"""Diagnostic image models (tier offline, production: `model=identity`, `model=flicker`): :class:`Identity`
isolates what a method itself does; the content-seeded :class:`Flicker` is a synthetic flickering model."""

from __future__ import annotations

import torch
from torch import Tensor

from hypercon.models.base import ImageModel
from hypercon.models.classical import content_seed


def flicker_params(frame: Tensor, strength: float, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Per-channel ``(gain [3], offset [3])`` for one frame ``[3,H,W]``: gain uniform in
    ``[1−s, 1+s]``, offset uniform in ``[−s/2, s/2]`` (``s = strength``), drawn from a generator
    seeded by :func:`content_seed` (``seed`` is the salt)."""
    gen = torch.Generator().manual_seed(content_seed(frame, seed))
    u = torch.rand(2, 3, generator=gen, dtype=torch.float64).float()
    return 1.0 + strength * (2.0 * u[0] - 1.0), strength * (u[1] - 0.5)


def apply_flicker(frames: Tensor, strength: float, seed: int = 0) -> Tensor:
    """``frames [B,3,H,W]`` in [0,1] → ``clamp(gain_b·x + offset_b, 0, 1)`` with per-frame
    :func:`flicker_params` (each frame's parameters depend only on that frame)."""
    params = [flicker_params(f, strength, seed) for f in frames]
    gain = torch.stack([g for g, _ in params]).to(frames)[:, :, None, None]
    offset = torch.stack([o for _, o in params]).to(frames)[:, :, None, None]
    return (gain * frames + offset).clamp(0.0, 1.0)


class Identity(ImageModel):
    """``g(x) = x``: isolates what a method itself does to a video."""

    name = "identity"
    tier = "offline"

    def __init__(self, device: str = "cpu", batch_size: int = 8) -> None:
        self.device, self.batch_size = device, batch_size

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return frames.to(self.device).clone()


class Flicker(ImageModel):
    """A colour gain/offset per frame, seeded by the frame's content: identical frames → identical
    outputs, any change → an unrelated colour cast (a synthetic flickering image model)."""

    name = "flicker"
    tier = "offline"

    def __init__(self, strength: float = 0.1, seed: int = 0, device: str = "cpu", batch_size: int = 8) -> None:
        if not 0 <= strength <= 1:
            raise ValueError(f"model=flicker: strength must lie in [0,1], got {strength}")
        self.strength, self.seed, self.device, self.batch_size = float(strength), seed, device, batch_size

    def options(self) -> dict[str, object]:
        return {"strength": self.strength, "seed": self.seed}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return apply_flicker(frames.to(self.device), self.strength, self.seed)
