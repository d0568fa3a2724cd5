"""Gatys optimisation with coherence losses (Wang, Wu, Pan, CMU; seed 002; REFERENCE.md §4.2):
``method=gatys_coherence``. The method is its own translator: it uses no image model (``model=``).

Each output frame V'[i] is optimised from scratch (no network is trained):

* features: VGG19 ``features`` with 2×2 average pooling, ImageNet mean/std on [0,1] RGB, from the
  ``perceptual`` group (``vgg19_imagenet``: paper tier; ``vgg_random``: offline, seeded random weights);
  style layers conv1_1 … conv5_1, content layer conv4_2, all pre-ReLU (:mod:`.losses`);
* ``L_total = α L_content + β L_style + η L_coh`` (α = ``content_weight``, β = ``style_weight``, η =
  ``coherence_weight``); frame 0 has no coherence term;
* L-BFGS (lr 1, ``max_iter`` iterations per ``.step``), ``steps`` steps per frame; the closure clamps the
  image to [0,1] in place before evaluating it, and the evaluated iterate with the lowest total loss is
  the output (the reference code keeps a copy after every step and returns the lowest; keeping every
  evaluation is the same rule applied to every iterate L-BFGS visits);
* ``init``: ``content`` (the input frame, the reference code), ``prev_warped`` (Ruder et al.: the previous
  output backward-warped along ``flow`` V[i] → V[i−1]; the content frame at frame 0) or ``noise``
  (Gatys: uniform noise from ``seed``);
* ``coherence``: ``none`` | ``mse`` | ``enhanced`` | ``flow`` (the previous output moved along the seed's
  grayscale Farnebäck flow V[i−1] → V[i], by ``flow_warp`` = ``remap`` | ``splat``, :mod:`.flow`) |
  ``flow_masked`` (Ruder et al.: backward warp along ``flow`` V[i] → V[i−1], weighted by the harness's
  occlusion mask with ``occlusion_rule``, :mod:`baselines.common.temporal_loss`).

The style image (``style_image``: a path, or ``skimage:<name>`` for a photograph bundled with
scikit-image) is resized (bilinear, antialiased) to the frame size; its Gram matrices are the targets.
The method runs at the input's resolution: shrink videos with the dataset's options. After :meth:`run`,
``last_stats`` holds per-frame ``content``, ``style``, ``coherence``, ``total`` (weighted sum) losses of
each output, ``scene_factor`` f(MSE(V[i], V[i−1])) (NaN at frame 0) and ``seconds``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from baselines.common.temporal_loss import temporal_loss, visibility_from_flows, warp_previous
from baselines.gatys_coherence.flow import FLOW_WARPS, SEED_FARNEBACK, remap_warp, seed_farneback, splat_warp
from baselines.gatys_coherence.losses import content_loss, enhanced_coherence, gram, mse_coherence, scene_factor
from baselines.gatys_coherence.losses import style_loss
from hypercon.checks import check_frames
from hypercon.component import Component
from hypercon.errors import InputNotFound, SettingError
from hypercon.flow.base import FlowEstimator
from hypercon.method import VideoMethod
from hypercon.resize import resize_frames

log = logging.getLogger(__name__)

COHERENCES = ("none", "mse", "enhanced", "flow", "flow_masked")
INITS = ("content", "prev_warped", "noise")
OCCLUSION_RULES = ("lai", "ruder")
STYLE_TAPS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
CONTENT_TAPS = ("conv4_2",)
BUNDLED = "skimage:"
LABELS = {"none": "Gatys", "mse": "Gatys-MSE", "enhanced": "Gatys-enhanced", "flow": "Gatys-flow",
          "flow_masked": "Gatys-flow-masked"}


def load_style_image(spec: str) -> Tensor:
    """``[3,H,W]`` float32 RGB in [0,1] from a path or ``skimage:<name>``
    (:data:`datasets.synthetic.BUNDLED_IMAGES`)."""
    from datasets.synthetic import BUNDLED_IMAGES, bundled_image
    from hypercon.io.frames import read_image

    if spec.startswith(BUNDLED):
        name = spec[len(BUNDLED):]
        if name not in BUNDLED_IMAGES:
            raise SettingError(f"method.style_image: unknown bundled image {name!r}; use a path or skimage:<name> "
                               f"with <name> one of {BUNDLED_IMAGES}")
        return torch.from_numpy(bundled_image(name)).permute(2, 0, 1).contiguous()
    path = Path(spec).expanduser()
    if not path.is_file():
        raise InputNotFound(f"method.style_image: {path} is not a file (give an image path, or skimage:<name>)")
    return read_image(path)


def optimise_image(objective: Callable[[Tensor], dict[str, Tensor]], init: Tensor, steps: int,
                   max_iter: int) -> tuple[Tensor, dict[str, float]]:
    """Minimise ``objective(x)["total"]`` over an image ``x`` ``[1,3,H,W]`` from ``init`` with
    ``LBFGS([x], lr=1, max_iter=max_iter)``, ``steps`` calls of ``.step``. Each closure clamps ``x`` to [0,1]
    in place, then evaluates it. Returns the evaluated iterate with the lowest total and its terms (floats).
    ``x`` is a contiguous copy of ``init`` (L-BFGS flattens the gradient with ``view``)."""
    image = init.detach().clone(memory_format=torch.contiguous_format).clamp_(0, 1).requires_grad_(True)
    optimiser = torch.optim.LBFGS([image], lr=1, max_iter=max_iter)
    best: dict[str, Any] = {"total": math.inf, "image": image.detach().clone(), "terms": {}}

    def closure() -> Tensor:
        with torch.no_grad():
            image.clamp_(0, 1)
        optimiser.zero_grad()
        terms = objective(image)
        terms["total"].backward()
        total = float(terms["total"].detach())
        if total < best["total"]:
            best.update(total=total, image=image.detach().clone(),
                        terms={k: float(v.detach()) for k, v in terms.items()})
        return terms["total"]

    for _ in range(steps):
        optimiser.step(closure)
    return best["image"], best["terms"]


class GatysCoherence(VideoMethod):
    """``run(frames [T,3,H,W] in [0,1]) -> [T,3,H,W]`` (module docstring; the options' comments are in
    ``conf/method/gatys_coherence.yaml``). ``perceptual`` is a factory of the trunk (the config's
    ``_partial_`` node), built with VGG19, average pooling and this method's layers."""

    name = "gatys_coherence"
    uses_image_model = False  # no frame-wise reference: fidelity / saturation report "unavailable"

    def __init__(self, perceptual: Callable[..., Any], flow: FlowEstimator, *, style_image: str, coherence: str,
                 flow_warp: str, init: str, steps: int, max_iter: int, content_weight: float, style_weight: float,
                 coherence_weight: float, occlusion_rule: str, seed: int, device: str = "cpu") -> None:
        from baselines.common.perceptual import build_with

        for key, value, allowed in (("coherence", coherence, COHERENCES), ("flow_warp", flow_warp, FLOW_WARPS),
                                    ("init", init, INITS), ("occlusion_rule", occlusion_rule, OCCLUSION_RULES)):
            if value not in allowed:
                raise SettingError(f"method.{key} must be one of {allowed}, got {value!r}")
        for key, value in (("steps", steps), ("max_iter", max_iter)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SettingError(f"method.{key} must be an integer ≥ 1, got {value!r}")
        if not isinstance(flow, FlowEstimator):
            raise TypeError(f"method.flow: expected a FlowEstimator, got {type(flow).__name__}")
        self.style_image = str(style_image)
        self.style = load_style_image(self.style_image)
        self.style_sha256 = None if self.style_image.startswith(BUNDLED) else hashlib.sha256(
            Path(self.style_image).expanduser().read_bytes()).hexdigest()
        self.perceptual = build_with(perceptual, arch="vgg19", taps=list(STYLE_TAPS + CONTENT_TAPS), pool="avg")
        if set(getattr(self.perceptual.trunk, "taps", ())) != set(STYLE_TAPS + CONTENT_TAPS):
            raise SettingError(f"method.perceptual: gatys_coherence needs a VGG trunk (vgg_random | vgg19_imagenet), "
                               f"got {self.perceptual.name!r}")
        self.device = str(device)
        self.perceptual.to(self.device)
        self.flow, self.seed_flow = flow, seed_farneback()
        self.coherence, self.flow_warp, self.init, self.occlusion_rule = coherence, flow_warp, init, occlusion_rule
        self.steps, self.max_iter, self.seed = int(steps), int(max_iter), int(seed)
        self.content_weight, self.style_weight = float(content_weight), float(style_weight)  # α, β
        self.coherence_weight = float(coherence_weight)  # η
        self.tier = self.perceptual.tier  # the method adds no weights: the trunk's tier (flow: a component)
        self._style_grams: dict[tuple[int, int], list[Tensor]] = {}
        self.last_stats: dict[str, list[float]] = {}

    # ------------------------------------------------------------------ description
    def uses_harness_flow(self) -> bool:
        return self.coherence == "flow_masked" or self.init == "prev_warped"

    def options(self) -> dict[str, Any]:
        record = {"style_image": self.style_image, "style_sha256": self.style_sha256, "coherence": self.coherence,
                  "init": self.init, "steps": self.steps, "max_iter": self.max_iter,
                  "content_weight": self.content_weight, "style_weight": self.style_weight,
                  "coherence_weight": self.coherence_weight, "seed": self.seed, "style_taps": list(STYLE_TAPS),
                  "content_taps": list(CONTENT_TAPS)}
        if self.coherence == "flow":
            record.update(flow_warp=self.flow_warp, farneback=dict(SEED_FARNEBACK))
        if self.coherence == "flow_masked":
            record["occlusion_rule"] = self.occlusion_rule
        return record

    def components(self) -> dict[str, Component]:
        return {"perceptual": self.perceptual, **({"flow": self.flow} if self.uses_harness_flow() else {})}

    def grid_axes(self) -> dict[str, Any]:
        return {"coherence": self.coherence, "init": self.init, "steps": self.steps}

    def label(self) -> str:
        """e.g. ``Gatys-enhanced (VGG19-random, seed 0)``, ``Gatys-flow-splat (VGG19)``."""
        random = self.perceptual.name == "vgg_random"
        trunk = f"VGG19-random, seed {self.perceptual.options()['seed']}" if random else "VGG19"
        head = LABELS[self.coherence] + (f"-{self.flow_warp}" if self.coherence == "flow" else "")
        return f"{head} ({trunk}{'' if self.init == 'content' else ', init ' + self.init})"

    # ------------------------------------------------------------------ optimisation
    def _features(self, x: Tensor, taps: tuple[str, ...]) -> list[Tensor]:
        feats = self.perceptual.features(x)
        return [feats[t] for t in taps]

    @torch.no_grad()
    def style_grams(self, size_hw: tuple[int, int]) -> list[Tensor]:
        """The style image's Gram matrices at the frame size (cached per size)."""
        if size_hw not in self._style_grams:
            style = resize_frames(self.style[None].to(self.device), size_hw, antialias=True).clamp(0, 1)
            self._style_grams[size_hw] = [gram(f) for f in self._features(style, STYLE_TAPS)]
        return self._style_grams[size_hw]

    def _coherence_term(self, frame: Tensor, prev_frame: Tensor, prev_output: Tensor,
                        flow_to_prev: Callable[[], Tensor]) -> Callable[[Tensor], Tensor] | None:
        """``x -> L_coh(x)`` for frame i > 0 (all inputs ``[1,3,H,W]``), or None for ``coherence=none``."""
        if self.coherence == "mse":
            return lambda x: mse_coherence(x, prev_output)
        if self.coherence == "enhanced":
            return lambda x: enhanced_coherence(x, prev_output, frame, prev_frame)
        if self.coherence == "flow":
            moved = (remap_warp if self.flow_warp == "remap" else splat_warp)(
                prev_output, self.seed_flow(prev_frame, frame).to(prev_output))
            return lambda x: mse_coherence(x, moved)
        if self.coherence == "flow_masked":
            to_prev = flow_to_prev()
            visible = visibility_from_flows(to_prev, self.flow(prev_frame, frame).to(to_prev), self.occlusion_rule)
            return lambda x: temporal_loss(x, prev_output, to_prev, visible, "mse", "all")
        return None

    def translate_frame(self, frame: Tensor, init: Tensor,
                        coherence: Callable[[Tensor], Tensor] | None) -> tuple[Tensor, dict[str, float]]:
        """One output frame ``[1,3,H,W]`` and its loss terms (module docstring)."""
        alpha, beta, eta = self.content_weight, self.style_weight, self.coherence_weight
        with torch.no_grad():
            content_targets = self._features(frame, CONTENT_TAPS)
        style_targets = self.style_grams(tuple(frame.shape[-2:]))

        def objective(x: Tensor) -> dict[str, Tensor]:
            feats = self.perceptual.features(x)
            terms = {"content": content_loss([feats[t] for t in CONTENT_TAPS], content_targets),
                     "style": style_loss([feats[t] for t in STYLE_TAPS], style_targets),
                     "coherence": coherence(x) if coherence is not None else x.new_zeros(())}
            terms["total"] = alpha * terms["content"] + beta * terms["style"] + eta * terms["coherence"]
            return terms

        return optimise_image(objective, init, self.steps, self.max_iter)

    def run(self, frames: Tensor, known: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        check_frames(frames)
        if known is not None:
            raise SettingError("method=gatys_coherence is a style-transfer method (task=style); it takes no masks")
        self.last_stats = {k: [] for k in ("content", "style", "coherence", "total", "scene_factor", "seconds")}
        generator = torch.Generator().manual_seed(self.seed)
        outputs: list[Tensor] = []
        for i in range(frames.shape[0]):
            t0 = time.perf_counter()
            frame = frames[i : i + 1].to(self.device)
            prev_frame = frames[i - 1 : i].to(self.device) if i else None
            prev_output = outputs[-1].to(self.device) if i else None
            cached: list[Tensor] = []

            def flow_to_prev() -> Tensor:  # V[i] → V[i−1] on frame i's grid, computed at most once per frame
                if not cached:
                    cached.append(self.flow(frame, prev_frame).to(frame))
                return cached[0]

            if self.init == "noise":
                init = torch.rand(frame.shape, generator=generator).to(frame)
            elif self.init == "prev_warped" and i:
                init = warp_previous(prev_output, flow_to_prev())
            else:
                init = frame
            coherence = self._coherence_term(frame, prev_frame, prev_output, flow_to_prev) if i else None
            output, terms = self.translate_frame(frame, init, coherence)
            outputs.append(output.cpu())
            for key in ("content", "style", "coherence", "total"):
                self.last_stats[key].append(terms[key])
            self.last_stats["scene_factor"].append(float(scene_factor(frame, prev_frame)) if i else math.nan)
            self.last_stats["seconds"].append(time.perf_counter() - t0)
            log.debug("gatys_coherence: frame %d %s", i, terms)
        return torch.cat(outputs).to(frames.device) if outputs else frames.clone()
