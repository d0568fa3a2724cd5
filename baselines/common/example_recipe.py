"""The worked example of the training kit: a 2-layer conv net learns a fixed colour transform.

    python -m baselines.common.example_recipe                      # conf/train/example.yaml, ~200 steps, seconds
    python -m baselines.common.example_recipe steps=500 perceptual=vgg_random temporal_weight=0.5

Data: one procedural video of :mod:`datasets.synthetic` (``synth-000``, exact flows). A batch is a few
consecutive frame pairs drawn with the sampler's generator; the target is :func:`colour_transform` of the
frames. Loss: the ``perceptual`` distance to the target plus ``temporal_weight`` × the temporal loss between
consecutive outputs (:mod:`baselines.common.temporal_loss`). :class:`ColourNetModel` loads the trained
checkpoint as an image model of tier ``trained-here``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from baselines.common.perceptual import PerceptualLoss
from baselines.common.sidecar import load_trained
from baselines.common.temporal_loss import temporal_loss, visibility_from_flows
from baselines.common.trainer import TrainParts, TrainRecipe
from hypercon.component import TRAINED_HERE
from hypercon.models.base import ImageModel

# a fixed, invertible colour mixing (warm tint + channel cross-talk) and offset
COLOUR_MATRIX = ((0.80, 0.30, 0.05), (0.10, 0.70, 0.15), (0.05, 0.10, 0.60))
COLOUR_OFFSET = (0.05, 0.02, -0.03)


def colour_transform(frames: Tensor) -> Tensor:
    """``clamp(M · rgb + b, 0, 1)`` per pixel, ``frames [B,3,H,W]``."""
    matrix = torch.tensor(COLOUR_MATRIX, dtype=frames.dtype, device=frames.device)
    offset = torch.tensor(COLOUR_OFFSET, dtype=frames.dtype, device=frames.device).view(1, 3, 1, 1)
    return (torch.einsum("ij,bjhw->bihw", matrix, frames) + offset).clamp(0, 1)


class ColourNet(nn.Module):
    """3×3 conv (3 → ``width``), ReLU, 1×1 conv (``width`` → 3), plus the input (a residual colour map)."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, 3, 1)

    def forward(self, frames: Tensor) -> Tensor:
        return frames + self.conv2(torch.relu(self.conv1(frames)))


class ColourRecipe(TrainRecipe):
    """See the module docstring. ``pairs``: frame pairs per batch; ``lr``: Adam, halved at ``lr_step``."""

    def __init__(self, perceptual: PerceptualLoss, width: int = 8, lr: float = 1e-2, lr_step: int = 100,
                 pairs: int = 2, temporal_weight: float = 0.1, num_frames: int = 6, height: int = 32,
                 width_px: int = 48, data_seed: int = 0) -> None:
        from datasets.synthetic import SyntheticDataset

        self.perceptual, self.width, self.lr, self.lr_step = perceptual, width, lr, lr_step
        self.pairs, self.temporal_weight = pairs, temporal_weight
        dataset = SyntheticDataset(num_videos=1, num_frames=num_frames, height=height, width=width_px,
                                   seed=data_seed)
        self.video = dataset.motion("synth-000")
        self.data = {"dataset": "synthetic", "seed": data_seed, "num_frames": num_frames,
                     "height": height, "width": width_px}
        self.trained_on = ("synth-000",)
        self.export = ("net",)

    def build(self, device: torch.device) -> TrainParts:
        self.device = device
        self.net = ColourNet(self.width).to(device)
        self.perceptual = self.perceptual.to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr)
        schedule = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=self.lr_step, gamma=0.5)
        return TrainParts({"net": self.net}, {"adam": self.optimizer}, {"step": schedule})

    def sample(self, generator: torch.Generator) -> dict[str, Tensor]:
        t = torch.randint(self.video.frames.shape[0] - 1, (self.pairs,), generator=generator)
        return {"prev": self.video.frames[t], "next": self.video.frames[t + 1],
                "flow_next_to_prev": self.video.flow_bw[t], "flow_prev_to_next": self.video.flow_fw[t]}

    def step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        batch = {k: v.to(self.device) for k, v in batch.items()}
        frames = torch.cat((batch["prev"], batch["next"]))
        outputs = self.net(frames)
        fit = self.perceptual(outputs, colour_transform(frames))
        out_prev, out_next = outputs.chunk(2)
        visible = visibility_from_flows(batch["flow_next_to_prev"], batch["flow_prev_to_next"])
        temporal = temporal_loss(out_next, out_prev, batch["flow_next_to_prev"], visible)
        loss = fit + self.temporal_weight * temporal
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.item(), "fit": fit.item(), "temporal": temporal.item()}


class ColourNetModel(ImageModel):
    """The trained :class:`ColourNet` as an image model g (tier ``trained-here``)."""

    name = "colour_net"
    tier = TRAINED_HERE

    def __init__(self, checkpoint: str, weights_dir: str | None = None, device: str = "cpu") -> None:
        trained = load_trained(checkpoint, weights_dir)  # verifies the sidecar
        width = trained.modules["net"]["conv1.weight"].shape[0]
        self.net = ColourNet(width)
        self.net.load_state_dict(trained.modules["net"], strict=True)
        self.net.to(device).eval()
        self.device = device
        self._weights_record = trained.record()

    def options(self) -> dict[str, Any]:
        return {"width": self.net.conv1.out_channels}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return self.net(frames.to(self.device))


if __name__ == "__main__":
    from baselines.common.cli import run_training

    run_training("example")
