"""Train CycleGAN with the thesis' optical-flow temporal loss here: ``python -m baselines.cyclegan_temporal.train``.

Configs (``conf/train/``): ``cyclegan_temporal_offline`` (the CPU recipe of the shipped generators; default)
and ``cyclegan_temporal_paper`` (the thesis' scale, for a GPU host: ``--config-name train/cyclegan_temporal_paper``).
``recipe.gamma=0`` is the "original CycleGAN" control, trained identically. Rerunning the same command resumes.

One step (batch B): X pairs and Y images from :mod:`.data`; ``G1`` (X → Y) on both frames of each pair,
``G2`` (Y → X) for the cycle and identity terms, then the discriminators on pooled fakes; the losses of
:mod:`.losses`, occlusion weights of :mod:`.occlusion`. Generators and discriminators get CycleGAN's
normal(0, 0.02) init (``init_std`` for the discriminators: the thesis prints 0.2), Adam (β1 0.5), and the
constant-then-linear LR over "epochs" of ``epoch_steps`` steps. The trained checkpoint holds ``G1`` only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import Tensor

from baselines.common.gan import GAN_MODES, ImagePool
from baselines.common.recipe_options import recipe_options
from baselines.common.trainer import TrainParts, TrainRecipe
from baselines.common.videos import JITTER, load_training_videos
from baselines.cyclegan_temporal.data import (PairVideo, draw_pair, draw_target, load_size, to_unit_range,
                                              video_flows)
from baselines.cyclegan_temporal.discriminator import NLayerDiscriminator, init_weights
from baselines.cyclegan_temporal.losses import (cyclegan_lr, discriminator_term, generator_adversarial,
                                                identity_term, reconstruction_term, temporal_term)
from baselines.cyclegan_temporal.occlusion import thesis_weights
from hypercon.flow.base import FlowEstimator
from hypercon.models.cyclegan import ResnetGenerator

LOG = logging.getLogger(__name__)


def load_pair_videos(root: str | None, sequences: Sequence[str], size: Sequence[int], flow: FlowEstimator,
                     synthetic: int, synthetic_frames: int, cache_dir: str | None) -> list[PairVideo]:
    """X videos at ``size`` (W, H) with their flows (cached as ``cyclegan_flow/<flow>/<w>x<h>/<seq>``), plus
    ``synthetic`` procedural videos with their exact flows."""
    from datasets.synthetic import make_synthetic_video
    from hypercon.io.array_cache import ArrayCache

    cache = ArrayCache(cache_dir) if cache_dir else None
    videos = []
    for name, _, frames, _ in load_training_videos(root, sequences, size, [JITTER], None, None):
        def compute():  # [2,T−1,2,H,W]: to_prev, to_next
            return torch.stack(video_flows(frames.float() / 255, flow)).numpy()

        key = f"cyclegan_flow/{flow.name}/{size[0]}x{size[1]}/{name}"
        flows = torch.as_tensor(cache.get_or_compute(key, compute) if cache else compute())
        videos.append(PairVideo(name, frames, flows[0], flows[1]))
    for index in range(synthetic):
        video = make_synthetic_video((7, index), synthetic_frames, int(size[1]), int(size[0]))
        frames = (video.frames * 255).round().to(torch.uint8)
        videos.append(PairVideo(f"synth-{index:03d}", frames, video.flow_bw, video.flow_fw))
    return videos


@dataclass(frozen=True)
class CycleGANTemporalOptions:
    """The training options: ``conf/train/cyclegan_temporal_paper.yaml``'s ``recipe`` keys (commented there)
    besides what the recipe wires (flow, root, sequences, size, style, synthetic videos, folders)."""

    batch: int = 4
    ngf: int = 64
    n_blocks: int = 10
    ndf: int = 64
    discriminators: int = 2
    init_std: float = 0.02
    gan_loss: str = "lsgan"
    alpha: float = 1.0
    beta: float = 10.0
    gamma: float = 10.0
    theta: float = 5.0
    k: float = 0.01
    lr: float = 2e-4
    epoch_steps: int = 1000
    constant_epochs: int = 100
    decay_epochs: int = 70
    pool_size: int = 50
    jitter_p: float = 0.15

    def __post_init__(self) -> None:
        if self.gan_loss not in GAN_MODES or self.discriminators not in (1, 2):
            raise ValueError(f"cyclegan_temporal: recipe.gan_loss must be one of {GAN_MODES} and "
                             f"recipe.discriminators 1 or 2, got {self.gan_loss!r}, {self.discriminators!r}")


class CycleGANTemporalRecipe(TrainRecipe):
    """See the module docstring; options are ``conf/train/cyclegan_temporal_*.yaml``'s ``recipe`` keys.
    ``sequences``: the first half (rounded up) are X, the rest are stylised by ``style`` into Y."""

    export = ("G1",)

    def __init__(self, flow: FlowEstimator, root: str | None, sequences: Sequence[str], size: Sequence[int] = (256, 256),
                 style: str = "wave", synthetic: int = 0, synthetic_frames: int = 24,
                 weights_dir: str | None = None, cache_dir: str | None = None, **options: Any) -> None:
        self.configure(size, recipe_options(CycleGANTemporalOptions, options, "cyclegan_temporal"))
        half = (len(sequences) + 1) // 2
        x_names, y_names = list(sequences[:half]), list(sequences[half:])
        if not x_names or not y_names:
            raise ValueError(f"cyclegan_temporal: recipe.sequences needs at least 2 sequences (X and Y halves), "
                             f"got {list(sequences)}")
        self.x_videos = load_pair_videos(root, x_names, self.size, flow, int(synthetic), int(synthetic_frames),
                                         cache_dir)
        styled = load_training_videos(root, y_names, load_size(self.size), [f"style:{style}"], weights_dir, cache_dir)
        self.y_videos = [s for _, _, _, s in styled]
        self.trained_on = tuple(x_names + y_names)
        self.data = {"dataset": "davis2016", "x": x_names, "y": y_names, "synthetic": int(synthetic),
                     "size": list(self.size), "y_load_size": list(load_size(self.size)),
                     "y_domain": f"fst_engstrom:{style}", "flow": flow.name}

    @classmethod
    def from_videos(cls, x_videos: list[PairVideo], y_videos: list[Tensor], size: Sequence[int],
                    **options: Any) -> "CycleGANTemporalRecipe":
        """A recipe on given data (tests, notebooks): X pairs with flows, Y videos uint8 ``[T,3,h,w]`` at least
        ``size`` (W, H); ``options``: :class:`CycleGANTemporalOptions`' keys."""
        recipe = cls.__new__(cls)
        recipe.configure(size, recipe_options(CycleGANTemporalOptions, options, "cyclegan_temporal"))
        recipe.x_videos, recipe.y_videos = list(x_videos), list(y_videos)
        recipe.trained_on, recipe.data = (), {"dataset": "given", "size": list(recipe.size)}
        return recipe

    def configure(self, size: Sequence[int], options: CycleGANTemporalOptions) -> None:
        """Set the frame ``size`` (W, H, multiples of 4) and the training ``options``."""
        if len(size) != 2 or any(int(s) % 4 for s in size):
            raise ValueError(f"cyclegan_temporal: recipe.size {list(size)} must be [W, H], multiples of 4")
        o = self.options = options
        self.size = (int(size[0]), int(size[1]))
        self.network = {"ngf": o.ngf, "n_blocks": o.n_blocks, "ndf": o.ndf, "discriminators": o.discriminators,
                        "init_std": o.init_std}
        self.weights = {"alpha": o.alpha, "beta": o.beta, "gamma": o.gamma, "theta": o.theta}
        self.gan_loss, self.k, self.batch, self.jitter_p = o.gan_loss, o.k, o.batch, o.jitter_p
        self.lr, self.schedule = o.lr, (o.epoch_steps, o.constant_epochs, o.decay_epochs)
        self.pools = {"Y": ImagePool(o.pool_size, seed=1), "X": ImagePool(o.pool_size, seed=2)}

    def lr_factor(self, step: int) -> float:
        epoch_steps, constant, decay = self.schedule
        return cyclegan_lr(step // epoch_steps + 1, 1.0, constant, decay)

    def build(self, device: torch.device) -> TrainParts:
        n = self.network
        self.device = device
        self.G1 = init_weights(ResnetGenerator(n["ngf"], n["n_blocks"]), 0.02).to(device).train()
        self.G2 = init_weights(ResnetGenerator(n["ngf"], n["n_blocks"]), 0.02).to(device).train()
        self.D = {"Y": init_weights(NLayerDiscriminator(n["ndf"]), n["init_std"]).to(device).train()}
        if n["discriminators"] == 2:
            self.D["X"] = init_weights(NLayerDiscriminator(n["ndf"]), n["init_std"]).to(device).train()
        g_params = list(self.G1.parameters()) + list(self.G2.parameters())
        d_params = [p for d in self.D.values() for p in d.parameters()]
        self.opt_g = torch.optim.Adam(g_params, lr=self.lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(d_params, lr=self.lr, betas=(0.5, 0.999))
        schedules = {name: torch.optim.lr_scheduler.LambdaLR(opt, self.lr_factor)
                     for name, opt in (("G", self.opt_g), ("D", self.opt_d))}
        modules = {"G1": self.G1, "G2": self.G2, **{f"D_{k}": d for k, d in self.D.items()}}
        return TrainParts(modules, {"G": self.opt_g, "D": self.opt_d}, schedules)

    def sample(self, generator: torch.Generator) -> dict[str, Tensor]:
        pairs = [draw_pair(self.x_videos, generator) for _ in range(self.batch)]
        targets = [draw_target(self.y_videos, self.size, generator, self.jitter_p) for _ in range(self.batch)]
        x_prev, x_t, to_prev, to_next = (torch.stack(parts) for parts in zip(*pairs))
        return {"x_prev": x_prev, "x_t": x_t, "to_prev": to_prev, "to_next": to_next, "y": torch.stack(targets)}

    def step(self, batch: dict[str, Tensor]) -> dict[str, float]:
        w, mode = self.weights, self.gan_loss
        x_prev, x_t, y = (to_unit_range(batch[k]).to(self.device) for k in ("x_prev", "x_t", "y"))
        to_prev, to_next = batch["to_prev"].to(self.device), batch["to_next"].to(self.device)
        with torch.no_grad():
            visible = thesis_weights(to_prev, to_next, self.k)
        for d in self.D.values():
            d.requires_grad_(False)
        fake_t, fake_prev, fake_x = self.G1(x_t), self.G1(x_prev), self.G2(y)
        adv = generator_adversarial([self.D["Y"](fake_t), self.D["Y"](fake_prev)], mode)
        if "X" in self.D:
            adv = adv + generator_adversarial([self.D["X"](fake_x)], mode)
        recon = reconstruction_term(x_t, self.G2(fake_t), y, self.G1(fake_x))
        ident = identity_term(x_t, self.G2(x_t), y, self.G1(y)) if w["theta"] else torch.zeros((), device=self.device)
        temp = temporal_term(fake_t, fake_prev, to_prev, visible)
        total = w["alpha"] * adv + w["beta"] * recon + w["gamma"] * temp + w["theta"] * ident
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        self.opt_g.step()
        for d in self.D.values():
            d.requires_grad_(True)
        fakes = {"Y": self.pools["Y"].query(torch.cat((fake_t, fake_prev)).detach()),
                 "X": self.pools["X"].query(fake_x.detach())}
        reals = {"Y": y, "X": x_t}
        d_losses = {k: discriminator_term(d(reals[k]), d(fakes[k]), mode) for k, d in self.D.items()}
        self.opt_d.zero_grad(set_to_none=True)
        sum(d_losses.values()).backward()
        self.opt_d.step()
        losses = {"adv": adv, "recon": recon, "identity": ident, "temp": temp, "G": total,
                  **{f"D_{k}": v for k, v in d_losses.items()}}
        return {k: float(v.detach()) for k, v in losses.items()}

    def extra_state(self) -> dict:
        return {k: pool.state_dict() for k, pool in self.pools.items()}

    def load_extra_state(self, state: dict) -> None:
        for k, pool in self.pools.items():
            pool.load_state_dict(state[k])


if __name__ == "__main__":
    from baselines.common.cli import run_training

    run_training("cyclegan_temporal_offline")
