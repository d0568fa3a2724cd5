"""Train Wei et al.'s model here: ``python -m baselines.wei_v2v.train task=colorize|sr2x|vseg variant=... root=...``.

Configs (``conf/train/``): ``wei_v2v_offline`` (the CPU recipe of the shipped checkpoints; default) and
``wei_v2v_paper`` (the paper's scale, for a GPU host: ``--config-name train/wei_v2v_paper``). The checkpoint
is ``<out_dir>/wei_<variant>_<task>_<recipe>.pt`` (module ``G``). Rerunning the same command resumes.

One step, on one 5-frame clip (:mod:`.data`): the generator runs over the clip (recurrent: frame by frame,
hidden state from zeros at the clip's start, back-propagated through the clip; ``image2image``: the 5
frames as a batch); the reliable residuals of the output and of the ground truth (:mod:`.residual`, the
clip's flows); one discriminator step on the detached outputs, then one generator step on the objective of
:mod:`.losses` with the discriminator fixed. Networks get pix2pix's N(0, 0.02) init; Adam lr 2e-4, β1 0.5.
"""

from __future__ import annotations

import logging
from typing import Sequence

import torch
from torch import Tensor

from baselines.common.trainer import TrainParts, TrainRecipe
from baselines.cyclegan_temporal.discriminator import NLayerDiscriminator, init_weights
from baselines.wei_v2v.data import ClipVideo, clip_starts, draw_clip, load_clip_videos, task_spec
from baselines.wei_v2v.discriminator import TwoChannelDiscriminator
from baselines.wei_v2v.generator import WeiGenerator
from baselines.wei_v2v.losses import (discriminator_gan, generator_gan, generator_objective, spatial_loss,
                                      temporal_loss, variant_parts)
from baselines.wei_v2v.residual import clip_masks, reliable_residuals

LOG = logging.getLogger(__name__)


class WeiRecipe(TrainRecipe):
    """See the module docstring; options are ``conf/train/wei_v2v_*.yaml``'s ``recipe`` keys."""

    export = ("G",)

    def __init__(self, flow, root: str | None, sequences: Sequence[str], task: str = "colorize",
                 variant: str = "local_global", size: Sequence[int] = (854, 480), cache_dir: str | None = None,
                 **options) -> None:
        self.configure(task, variant, **options)
        videos = load_clip_videos(root, sequences, size, task, flow, cache_dir)
        self.use_videos(videos)
        self.trained_on = tuple(v.name for v in videos)
        self.data = {"dataset": "davis2016", "task": task, "size": [int(s) for s in size], "crop": self.crop,
                     "clips": len(self.starts), "clip_frames": 5, "flow": flow.name,
                     "generator": self.generator_options()}

    @classmethod
    def from_videos(cls, videos: list[ClipVideo], task: str, variant: str, **options) -> "WeiRecipe":
        """A recipe on given clips (tests, notebooks); ``options`` as :meth:`configure`."""
        recipe = cls.__new__(cls)
        recipe.configure(task, variant, **options)
        recipe.use_videos(videos)
        recipe.trained_on = ()
        recipe.data = {"dataset": "given", "task": task, "crop": recipe.crop, "generator": recipe.generator_options()}
        return recipe

    def configure(self, task: str, variant: str, crop: int = 256, width: float = 1.0, lam: float = 100.0,
                  eta: float = 1.0, lr: float = 2e-4, beta1: float = 0.5, ndf_width: float | None = None,
                  init_std: float = 0.02) -> None:
        """The training options (``recipe.*`` keys of the config); see the paper config's comments."""
        self.task, self.variant = task, variant
        self.spec, self.parts = task_spec(task), variant_parts(variant)
        self.crop, self.width = int(crop), float(width)
        self.d_width = float(width if ndf_width is None else ndf_width)
        self.lam, self.eta, self.lr, self.beta1, self.init_std = float(lam), float(eta), float(lr), float(beta1), \
            float(init_std)

    def use_videos(self, videos: list[ClipVideo]) -> None:
        self.videos, self.starts = videos, clip_starts(videos)
        if not self.starts:
            raise ValueError("wei_v2v training: no sequence has a 5-frame clip")

    def generator_options(self) -> dict:
        """The generator's constructor options (recorded in the sidecar's ``data.generator``)."""
        return {"in_channels": 3, "out_channels": self.spec.out_channels, "width": self.width,
                "recurrent": self.parts.recurrent, "head": self.spec.head}

    def build(self, device: torch.device) -> TrainParts:
        self.device = device
        self.G = init_weights(WeiGenerator(**self.generator_options()), self.init_std).to(device).train()
        c_out = self.spec.out_channels
        if self.parts.recurrent:
            D = TwoChannelDiscriminator(3, c_out, self.d_width, temporal=self.parts.temporal_channel)
        else:  # pix2pix's 70×70 PatchGAN on (input, output) pairs
            D = NLayerDiscriminator(max(1, int(round(64 * self.d_width))), in_channels=3 + c_out)
        self.D = init_weights(D, self.init_std).to(device).train()
        betas = (self.beta1, 0.999)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=self.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=self.lr, betas=betas)
        return TrainParts({"G": self.G, "D": self.D}, {"G": self.opt_g, "D": self.opt_d})

    def sample(self, generator: torch.Generator) -> dict[str, Tensor]:
        return draw_clip(self.videos, self.starts, self.crop, self.spec.head, generator)

    def _generate(self, inputs: Tensor) -> Tensor:
        """``[T,B,3,h,w]`` → outputs ``[T,B,C,h,w]``: recurrent over T, or frame by frame (BatchNorm then sees
        one frame, as at test time and in pix2pix's batch-1 training)."""
        if self.parts.recurrent:
            return self.G.run_clip(inputs)
        return torch.stack([self.G(x)[0] for x in inputs])

    def _scores(self, inputs: Tensor, outputs: Tensor, residuals: Tensor | None) -> list[Tensor]:
        """Discriminator logits: [spatial] (+ [temporal]) for the recurrent D, [patches] for the PatchGAN."""
        if not self.parts.recurrent:
            return [self.D(torch.cat((inputs, outputs), dim=2).flatten(0, 1))]
        scores = [self.D.spatial(inputs, outputs)]
        if self.parts.temporal_channel:
            scores.append(self.D.temporal(residuals))
        return scores

    def step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        inputs, targets, to_prev, to_next = (batch[k].to(self.device)[:, None]  # [T,1,...]: a batch of one clip
                                             for k in ("inputs", "targets", "to_prev", "to_next"))
        outputs = self._generate(inputs)
        with torch.no_grad():
            masks = clip_masks(to_prev, to_next)
            real_residuals = reliable_residuals(targets, to_prev, masks)
        fake_residuals = reliable_residuals(outputs, to_prev, masks)
        # one discriminator step on the detached outputs
        self.D.requires_grad_(True)
        d_loss = discriminator_gan(self._scores(inputs, targets, real_residuals),
                                   self._scores(inputs, outputs.detach(), fake_residuals.detach()))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        # then one generator step with D fixed
        self.D.requires_grad_(False)
        gan = generator_gan(self._scores(inputs, outputs, fake_residuals))
        spatial = spatial_loss(outputs, targets)
        temporal = temporal_loss(fake_residuals)
        total = generator_objective(spatial, temporal if self.parts.temporal_loss else None, gan, self.lam, self.eta)
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        self.opt_g.step()
        losses = {"spatial": spatial, "temporal": temporal, "gan": gan, "G": total, "D": d_loss}
        return {k: float(v.detach()) for k, v in losses.items()}


def rename_task_override(argv: list[str]) -> list[str]:
    """``task=X`` → ``task_name=X``: ``task`` is a config group of the run configs (``conf/task/``), so Hydra
    would read it as a group selection; the training configs name the key ``task_name``."""
    return [f"task_name={a.split('=', 1)[1]}" if a.startswith("task=") else a for a in argv]


if __name__ == "__main__":
    import sys

    from baselines.common.cli import run_training

    sys.argv = sys.argv[:1] + rename_task_override(sys.argv[1:])
    run_training("wei_v2v_offline")
