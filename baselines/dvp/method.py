"""Deep Video Prior (Lei et al., NeurIPS 2020; ChenyangLEI/deep-video-prior ``main_IRT.py``, PyTorch port
yzxing87/pytorch-deep-video-prior): a blind post-processor. For each video a fresh :class:`VCN` g is trained
so that g(I_t) ≈ P_t (I: the input frames, P: the frame-wise output of the image model, given by the runner
as ``reference``); the output is g(I_t). The network fits what the frames share before their flicker.

Training (upstream, kept): Adam at ``lr`` 1e-4; ``epochs`` (25) passes over the frames in order, one frame
per step; coarse to fine: the first 19 epochs on frames subsampled ``[::2, ::2]``, scaled to
``round(19·epochs/25)`` when ``epochs`` < 25; frames padded (replicate) to multiples of 32 and cropped back
(upstream crops the frames to multiples of 32 instead). ``size`` trains and infers at a reduced
``[width, height]`` (bilinear, antialiased in and back out): the CPU option.

Losses (``loss``): ``l1`` = mean|g(I)−P|; ``l2`` = mean (g(I)−P)²; ``perceptual`` = pixel L1 + Σ w_l ·
mean|φ_l(g(I)) − φ_l(P)| on the ``perceptual`` trunk's layers relu1_2/2.6, relu2_2/4.8, relu3_2/3.7,
relu4_2/5.6, relu5_2·10/1.5 (upstream names them conv1_2 … conv5_2: in its TF VGG19 a "conv" layer
includes its ReLU). A trunk without those layers (``pixel``) gives the pixel L1 alone; the result says so.

IRT (``irt=true``, Iteratively Reweighted Training as ``main_IRT.py`` defines it, with L1): the network
has 6 outputs, main then minor. The first 5 epochs (scaled like the 19) train on frame 0 only with
``L1(main,P) + 0.9·L1(minor,P)``; then :func:`irt_confidence` C and ``mean(|main−P|·C) +
mean(|minor−P|·(1−C))``. The output is main.

Inpainting: I is the input with the holes hidden (by the runner); the output is composited with the known
pixels (:func:`hypercon.checks.composite`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from baselines.dvp.network import MULTIPLE, VCN
from hypercon.checks import check_frames, composite
from hypercon.component import Component
from hypercon.method import VideoMethod
from hypercon.models.base import ImageModel
from hypercon.resize import pad_to_multiple, resize_frames, unpad

log = logging.getLogger(__name__)

LOSSES = ("l1", "l2", "perceptual")
UPSTREAM_EPOCHS, UPSTREAM_COARSE_EPOCHS, UPSTREAM_IRT_INIT_EPOCHS = 25, 19, 5
#: the VGG layers of upstream's perceptual loss (post-ReLU, upstream's conv<b>_2) and their weights
PERCEPTUAL_TAPS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2", "relu5_2")
PERCEPTUAL_WEIGHTS = (1 / 2.6, 1 / 4.8, 1 / 3.7, 1 / 5.6, 10 / 1.5)
IRT_MINOR_WEIGHT = 0.9  # weight of the minor output during the IRT initialisation
IRT_EPS = 0.1  # the confidence map divides the residual by (I + 0.1)


def scaled_epochs(upstream: int, epochs: int) -> int:
    """``upstream`` epochs of a 25-epoch schedule scaled to ``epochs`` (never more than ``upstream``).

    >>> scaled_epochs(19, 25), scaled_epochs(19, 3), scaled_epochs(19, 100), scaled_epochs(5, 3)
    (19, 2, 19, 1)
    """
    return min(upstream, round(upstream * epochs / UPSTREAM_EPOCHS))


def irt_confidence(main: Tensor, minor: Tensor, target: Tensor, source: Tensor) -> Tensor:
    """``C = [max_c |main−P|/(I+0.1) < max_c |minor−P|/(I+0.1)]`` as float ``[B,1,H,W]`` (1: main fits P
    better); all inputs ``[B,3,H,W]`` (P = ``target``, I = ``source``). No gradient flows through C."""
    with torch.no_grad():
        denom = source + IRT_EPS
        err_main = ((main - target).abs() / denom).amax(dim=1, keepdim=True)
        err_minor = ((minor - target).abs() / denom).amax(dim=1, keepdim=True)
        return (err_main < err_minor).to(main.dtype)


def irt_loss(pred: Tensor, target: Tensor, source: Tensor, initialising: bool) -> Tensor:
    """IRT loss of a 6-channel prediction ``[B,6,H,W]`` (main, minor) against P ``[B,3,H,W]``."""
    main, minor = pred[:, :3], pred[:, 3:]
    if initialising:
        return F.l1_loss(main, target) + IRT_MINOR_WEIGHT * F.l1_loss(minor, target)
    conf = irt_confidence(main, minor, target, source)
    return ((main - target).abs() * conf).mean() + ((minor - target).abs() * (1 - conf)).mean()


class DeepVideoPrior(VideoMethod):
    """``run(frames [T,3,H,W], known [T,1,H,W] | None, reference [T,3,H,W]) -> [T,3,H,W]`` (see module doc).

    ``perceptual``: a factory of a :class:`baselines.common.perceptual.PerceptualLoss` (the config's
    ``perceptual`` node, ``_partial_``), built only for ``loss=perceptual`` with this method's layers and
    weights; it then appears in :meth:`components` (so its tier joins the result's).
    """

    name = "dvp"
    needs_reference_input = True

    def __init__(self, model: ImageModel, epochs: int = 25, size: Sequence[int] | None = None, loss: str = "l1",
                 irt: bool = False, seed: int = 2020, lr: float = 1e-4, device: str = "cpu",
                 perceptual: Callable[..., Any] | None = None) -> None:
        if loss not in LOSSES:
            raise ValueError(f"method.loss must be one of {LOSSES}, got {loss!r}")
        if int(epochs) < 1:
            raise ValueError(f"method.epochs must be >= 1, got {epochs}")
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ValueError(f"method.size must be null or [width, height] > 0, got {list(size)}")
        if irt and loss != "l1":
            raise ValueError(f"method.irt=true trains with L1 (as upstream main_IRT.py): set method.loss=l1, "
                             f"got {loss!r}")
        self.model, self.epochs, self.loss, self.irt = model, int(epochs), loss, bool(irt)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.seed, self.lr, self.device = int(seed), float(lr), device
        self.coarse_epochs = scaled_epochs(UPSTREAM_COARSE_EPOCHS, self.epochs)
        self.irt_init_epochs = scaled_epochs(UPSTREAM_IRT_INIT_EPOCHS, self.epochs) if self.irt else 0
        self.perceptual, self.perceptual_terms = None, None
        if loss == "perceptual":
            if perceptual is None:
                raise ValueError("method.loss=perceptual needs a method.perceptual trunk (conf/perceptual/)")
            self.perceptual, self.perceptual_terms = _build_trunk(perceptual)
            self.perceptual.to(device)

    # ------------------------------------------------------------------------------------ description

    def label(self) -> str:
        size = f", {self.size[0]}x{self.size[1]}" if self.size else ""
        return f"DVP{'-IRT' if self.irt else ''} ({self.loss}, {self.epochs} ep{size})"

    def options(self) -> dict[str, Any]:
        record = {"epochs": self.epochs, "coarse_epochs": self.coarse_epochs, "size": list(self.size or []) or None,
                  "loss": self.loss, "irt": self.irt, "seed": self.seed, "lr": self.lr}
        if self.irt:
            record["irt_init_epochs"] = self.irt_init_epochs
        if self.perceptual_terms is not None:
            record["perceptual_terms"] = self.perceptual_terms
        return record

    def components(self) -> dict[str, Component]:
        parts: dict[str, Component] = {"model": self.model}
        if self.perceptual is not None:
            parts["perceptual"] = self.perceptual
        return parts

    # ------------------------------------------------------------------------------------------- run

    def run(self, frames: Tensor, known: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        check_frames(frames, "frames")
        if reference is None:
            raise ValueError("method=dvp needs the frame-wise output of its model as `reference` "
                             "(the runner passes it from its cache)")
        if reference.shape != frames.shape:
            raise ValueError(f"method=dvp: reference {tuple(reference.shape)} must match frames {tuple(frames.shape)}")
        height, width = frames.shape[-2:]
        source, target = frames.to(self.device), reference.to(self.device)
        if self.size is not None:
            source, target = resize_frames(source, self.size[::-1], antialias=True), resize_frames(target, self.size[::-1], antialias=True)
        t0 = time.perf_counter()
        net = self._fit(source, target)
        out = self._predict(net, source)
        log.info("DVP: %d frames at %dx%d, %d epochs, %.1fs", frames.shape[0], source.shape[-1], source.shape[-2],
                 self.epochs, time.perf_counter() - t0)
        if self.size is not None:
            out = resize_frames(out, (height, width), antialias=True)
        out = out.clamp(0, 1).to(frames.device)
        return composite(out, frames, known) if known is not None else out

    def _fit(self, source: Tensor, target: Tensor) -> VCN:
        generator = torch.Generator().manual_seed(self.seed)
        net = VCN(out_channels=6 if self.irt else 3)
        net.reset_parameters(generator)
        net.to(self.device).train()
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr)
        for epoch in range(1, self.epochs + 1):
            stride = 2 if epoch <= self.coarse_epochs else 1
            initialising = epoch <= self.irt_init_epochs
            for t in range(source.shape[0]):
                index = 0 if initialising else t
                src = source[index : index + 1, :, ::stride, ::stride]
                tgt = target[index : index + 1, :, ::stride, ::stride]
                loss = self._loss(_forward(net, src), tgt, src, initialising)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return net.eval()

    def _loss(self, pred: Tensor, target: Tensor, source: Tensor, initialising: bool) -> Tensor:
        if self.irt:
            return irt_loss(pred, target, source, initialising)
        if self.loss == "l2":
            return F.mse_loss(pred, target)
        loss = F.l1_loss(pred, target)
        if self.perceptual is not None and self.perceptual_terms != "pixel only":
            loss = loss + self.perceptual(pred, target)
        return loss

    @torch.no_grad()
    def _predict(self, net: VCN, source: Tensor) -> Tensor:
        return torch.cat([_forward(net, source[t : t + 1])[:, :3] for t in range(source.shape[0])])


def _forward(net: VCN, x: Tensor) -> Tensor:
    """``net`` on ``x`` padded (replicate) to multiples of 32, cropped back."""
    padded, pads = pad_to_multiple(x, MULTIPLE)
    return unpad(net(padded), pads)


def _build_trunk(factory: Callable[..., Any]) -> tuple[Any, str]:
    """The perceptual loss from ``factory`` (a builder of ``conf/perceptual/``, possibly partial) with DVP's
    layers, weights and L1 where the builder takes them. Returns ``(loss, terms)``: ``terms`` says what the
    loss adds to the pixel L1, for the record."""
    from baselines.common.perceptual import PixelTrunk, build_with

    loss = build_with(factory, taps=list(PERCEPTUAL_TAPS), layer_weights=list(PERCEPTUAL_WEIGHTS), distance="l1")
    if isinstance(loss.trunk, PixelTrunk):
        log.warning("method.loss=perceptual on the trunk %r: it has no VGG layers, so the loss is the pixel L1 "
                    "alone (the same as method.loss=l1)", loss.name)
        return loss, "pixel only"
    return loss, f"pixel L1 + {loss.name} " + ", ".join(f"{t}*{w:.4g}" for t, w in zip(PERCEPTUAL_TAPS,
                                                                                          PERCEPTUAL_WEIGHTS))
