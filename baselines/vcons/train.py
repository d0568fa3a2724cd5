"""Train Lai et al.'s vcons here: ``python -m baselines.vcons.train [train=...] key=value ...``.

Configs (``conf/train/``): ``vcons_offline`` (the CPU recipe that produced the shipped checkpoint) and
``vcons_paper`` (upstream's recipe, for a GPU host). Rerunning the same command resumes.

A sample is ``batch`` clips of ``frames`` consecutive frames, each from a (sequence, task) pair drawn
uniformly (:mod:`baselines.vcons.data`), augmented, with flows computed on the augmented inputs by the
``flow`` estimator (upstream: FlowNet2, not available here). The first output is P_0; then
``O_t = P_t + net(P_t, O_{t−1}.detach(), I_t, I_{t−1})`` with the LSTM state detached between frames;
losses :mod:`baselines.vcons.losses`. The learning rate follows upstream's schedule over "epochs" of
``epoch_steps`` steps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from baselines.common.perceptual import PerceptualLoss, build_with
from baselines.common.recipe_options import recipe_options
from baselines.common.trainer import TrainParts, TrainRecipe
from baselines.common.videos import JITTER, load_training_videos
from baselines.vcons.data import Augment, JitterRange, augment_clip, draw_jitter, jitter_frames
from baselines.vcons.losses import clip_losses, upstream_lr
from baselines.vcons.network import TransformNet
from hypercon.flow.base import FlowEstimator

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class VconsOptions:
    """The training options: ``conf/train/vcons_paper.yaml``'s ``recipe`` keys (commented there) besides what
    the recipe wires (perceptual, flow, root, sequences, weights_dir, cache_dir)."""

    size: Sequence[int] = (416, 240)
    tasks: Sequence[str] = ("style:wave", "style:wreck", JITTER)
    frames: int = 11
    batch: int = 4
    crop: int = 192
    scale_min: float = 0.5
    scale_max: float = 2.0
    nf: int = 32
    blocks: int = 5
    norm: str = "IN"
    lr: float = 1e-4
    epoch_steps: int = 1000
    lr_step: int = 20
    lr_drop: float = 0.5
    lr_min: float = 1e-5
    w_st: float = 100.0
    w_lt: float = 100.0
    w_vgg: float = 10.0
    alpha: float = 50.0
    perceptual_taps: Sequence[str] = ("relu4_3",)
    perceptual_distance: str = "l1"
    jitter: dict[str, Any] = field(default_factory=dict)


class VconsRecipe(TrainRecipe):
    """See the module docstring; ``options`` are :class:`VconsOptions` (``conf/train/vcons_*.yaml``'s
    ``recipe`` keys)."""

    export = ("net",)

    def __init__(self, perceptual: Callable[..., PerceptualLoss], flow: FlowEstimator, root: str | None,
                 sequences: Sequence[str], weights_dir: str | None = None, cache_dir: str | None = None,
                 **options: Any) -> None:
        o = self.options = recipe_options(VconsOptions, options, "vcons")
        self.perceptual = build_with(perceptual, taps=list(o.perceptual_taps), distance=o.perceptual_distance)
        self.flow = flow
        self.network = {"nf": o.nf, "blocks": o.blocks, "norm": o.norm}
        self.frames, self.batch = o.frames, o.batch
        self.augment = Augment(o.crop, o.scale_min, o.scale_max)
        self.jitter = JitterRange(**(o.jitter or {}))
        self.lr, self.schedule = o.lr, dict(epoch_steps=o.epoch_steps, step=o.lr_step, drop=o.lr_drop, floor=o.lr_min)
        self.weights = dict(w_st=o.w_st, w_lt=o.w_lt, w_vgg=o.w_vgg, alpha=o.alpha)
        size, tasks = o.size, o.tasks
        self.videos = load_training_videos(root, sequences, size, tasks, weights_dir, cache_dir)
        self.videos = [v for v in self.videos if v[2].shape[0] >= self.frames]
        if not self.videos:
            raise ValueError(f"vcons training: no sequence has {self.frames} frames")
        self.trained_on = tuple(dict.fromkeys(v[0] for v in self.videos))
        self.data = {"dataset": "davis2016", "size": list(size), "tasks": list(tasks), "frames": self.frames,
                     "crop": self.augment.crop, "scale": [self.augment.scale_min, self.augment.scale_max],
                     "flow": flow.name, "perceptual": self.perceptual.name,
                     "perceptual_options": self.perceptual.options()}

    def lr_factor(self, step: int) -> float:
        s = self.schedule
        epoch = step // s["epoch_steps"] + 1
        return upstream_lr(epoch, self.lr, s["step"], s["drop"], s["floor"]) / self.lr

    def build(self, device: torch.device) -> TrainParts:
        self.device = device
        self.net = TransformNet(**self.network).to(device).train()
        self.perceptual = self.perceptual.to(device)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr, betas=(0.9, 0.999))
        schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.lr_factor)
        return TrainParts({"net": self.net}, {"adam": self.optimizer}, {"lr": schedule})

    def sample(self, generator: torch.Generator) -> dict[str, Tensor]:
        inputs, processed = [], []
        for _ in range(self.batch):
            name, task, frames, styled = self.videos[int(torch.randint(len(self.videos), (1,), generator=generator))]
            start = int(torch.randint(frames.shape[0] - self.frames + 1, (1,), generator=generator))
            clip = frames[start : start + self.frames]
            if styled is None:
                i_clip, = augment_clip([clip], self.augment, generator)
                p_clip = jitter_frames(i_clip, *draw_jitter(self.frames, self.jitter, generator))
            else:
                i_clip, p_clip = augment_clip([clip, styled[start : start + self.frames]], self.augment, generator)
            inputs.append(i_clip)
            processed.append(p_clip)
        return {"inputs": torch.stack(inputs, 1), "processed": torch.stack(processed, 1)}  # [T,B,3,h,w]

    def step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        inputs = [x.to(self.device) for x in batch["inputs"]]
        processed = [x.to(self.device) for x in batch["processed"]]
        n = len(inputs)
        with torch.no_grad():
            to_prev = [None] + [self.flow(inputs[t], inputs[t - 1]) for t in range(1, n)]
            to_first = [None, None] + [self.flow(inputs[t], inputs[0]) for t in range(2, n)]
        outputs, state = [processed[0]], None
        for t in range(1, n):
            x = torch.cat((processed[t], outputs[t - 1].detach(), inputs[t], inputs[t - 1]), 1)
            residual, state = self.net(x, state)
            state = tuple(s.detach() for s in state)
            outputs.append(processed[t] + residual)
        losses = clip_losses(inputs, processed, outputs, to_prev, to_first, self.perceptual, **self.weights)
        self.optimizer.zero_grad(set_to_none=True)
        losses["total"].backward()
        self.optimizer.step()
        return {k: float(v.detach()) for k, v in losses.items()}


if __name__ == "__main__":
    from baselines.common.cli import run_training

    run_training("vcons_offline")
