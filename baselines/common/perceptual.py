"""Perceptual trunks and the feature distance built on them (Hydra group ``conf/perceptual/``).

* ``vgg16_imagenet`` / ``vgg19_imagenet`` (tier ``paper``): torchvision's VGG ``features`` with the
  ImageNet weights from the registry (``lpips_vgg_trunk`` = ``vgg16-397923af.pth``, ``vgg19`` =
  ``vgg19-dcbb9e9d.pth``), keys checked strictly; a missing file raises ``MissingWeightsError`` first.
* ``vgg_random`` (tier ``offline``): the same architecture with seeded Kaiming weights; each tapped layer
  is divided by its per-channel std measured once on fixed frames (four photographs bundled with
  scikit-image, resized to ``calibration_size``²), so the features have unit scale.
* ``pixel`` (tier ``offline``): the frame itself is the only "feature".

Input ``[B,3,H,W]`` RGB in [0,1]; ImageNet normalisation happens inside. Taps are named after the layers:
``conv<b>_<i>``, ``relu<b>_<i>``, ``pool<b>`` (e.g. ``relu1_2, relu2_2, relu3_3, relu4_3`` for LPIPS-like
VGG16 losses; the pre-ReLU ``conv1_1 … conv5_1`` and ``conv4_2`` with ``pool="avg"`` for Gatys on VGG19, as
``baselines/gatys_coherence`` uses them). The trunk is frozen; gradients flow to the input.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.component import Component

VGG_CONFIGS = {"vgg16": "D", "vgg19": "E"}
REGISTRY_NAMES = {"vgg16": "lpips_vgg_trunk", "vgg19": "vgg19"}
CLASSIFIER_KEYS = tuple(f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias"))
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CALIBRATION_IMAGES = ("astronaut", "coffee", "chelsea", "rocket")
DISTANCES = ("mse", "l1")
POOLS = ("max", "avg")  # VGG's 2×2 pooling: torchvision's max, or average (Gatys et al.)


def vgg_features(arch: str, pool: str = "max") -> nn.Sequential:
    """torchvision's ``vgg16`` / ``vgg19`` ``features`` (no batch norm) with UNINITIALISED parameters (built on
    the meta device, then allocated): load or initialise them. Consumes no RNG. ``pool="avg"`` replaces each
    2×2 max-pool by ``AvgPool2d(2)`` (Gatys et al.); the parameters and their keys are unchanged."""
    from torchvision.models.vgg import cfgs, make_layers

    if arch not in VGG_CONFIGS:
        raise ValueError(f"perceptual: arch must be one of {tuple(VGG_CONFIGS)}, got {arch!r}")
    if pool not in POOLS:
        raise ValueError(f"perceptual: pool must be one of {POOLS}, got {pool!r}")
    with torch.device("meta"):
        features = make_layers(cfgs[VGG_CONFIGS[arch]], batch_norm=False)
    if pool == "avg":
        features = nn.Sequential(*(nn.AvgPool2d(2) if isinstance(m, nn.MaxPool2d) else m for m in features))
    return features.to_empty(device="cpu")


def vgg_layer_names(features: nn.Sequential) -> list[str]:
    """``conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, …`` for each module of ``features``."""
    names, block, index = [], 1, 0
    for module in features:
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            names.append(f"pool{block}")
            block, index = block + 1, 0
        elif isinstance(module, nn.Conv2d):
            index += 1
            names.append(f"conv{block}_{index}")
        else:
            names.append(f"relu{block}_{index}")
    return names


class VGGTrunk(nn.Module):
    """``forward(x [B,3,H,W] in [0,1]) -> {tap: [B,C,h,w]}``, each tap multiplied by its ``scale`` ``[C]``."""

    def __init__(self, features: nn.Sequential, taps: Sequence[str],
                 scales: dict[str, Tensor] | None = None) -> None:
        super().__init__()
        names = vgg_layer_names(features)
        unknown = [t for t in taps if t not in names]
        if unknown or not taps:
            raise ValueError(f"perceptual: unknown tap(s) {unknown or '(none given)'}; layers: {', '.join(names)}")
        last = max(names.index(t) for t in taps)
        self.features = features[: last + 1].requires_grad_(False).eval()
        self.names, self.taps = names[: last + 1], tuple(taps)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        for tap in self.taps:  # [C] per-channel factors, or [1] (no rescaling)
            scale = (scales or {}).get(tap)
            self.register_buffer(f"scale_{tap}", scale if scale is not None else torch.ones(1))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        out, h = {}, (x - self.mean) / self.std
        for name, module in zip(self.names, self.features):
            h = module(h)
            if name in self.taps:
                out[name] = h * getattr(self, f"scale_{name}").view(1, -1, 1, 1)
        return out


class PixelTrunk(nn.Module):
    """``forward(x) -> {"pixel": x}``: the identity "features"."""

    taps = ("pixel",)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return {"pixel": x}


def feature_distance(feats_a: dict[str, Tensor], feats_b: dict[str, Tensor], distance: str = "mse",
                     layer_weights: Sequence[float] | None = None) -> Tensor:
    """``Σ_l w_l · mean(|a_l − b_l|^p)`` over the taps (p = 2 for ``mse``, 1 for ``l1``; ``w_l`` = 1 default)."""
    if distance not in DISTANCES:
        raise ValueError(f"perceptual: distance must be one of {DISTANCES}, got {distance!r}")
    fn = F.mse_loss if distance == "mse" else F.l1_loss
    weights = list(layer_weights) if layer_weights is not None else [1.0] * len(feats_a)
    if len(weights) != len(feats_a):
        raise ValueError(f"perceptual: {len(weights)} layer_weights for {len(feats_a)} taps {list(feats_a)}")
    return sum(w * fn(feats_a[k], feats_b[k]) for w, k in zip(weights, feats_a))


class PerceptualLoss(Component, nn.Module):
    """``loss(a, b)``: :func:`feature_distance` of the trunk's features; ``features(x)`` for Gram-style losses."""

    def __init__(self, trunk: nn.Module, name: str, tier: str, distance: str = "mse",
                 layer_weights: Sequence[float] | None = None, options: dict[str, Any] | None = None,
                 weights_record: dict[str, Any] | None = None) -> None:
        nn.Module.__init__(self)
        self.trunk, self.name, self.tier, self.distance = trunk, name, tier, distance
        self.layer_weights = None if layer_weights is None else list(layer_weights)
        self._options = {"distance": distance, "layer_weights": self.layer_weights, **(options or {})}
        self._weights_record = weights_record

    def options(self) -> dict[str, Any]:
        return dict(self._options)

    def features(self, x: Tensor) -> dict[str, Tensor]:
        return self.trunk(x)

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return feature_distance(self.trunk(a), self.trunk(b), self.distance, self.layer_weights)


def load_vgg_imagenet(arch: str, weights: str | None = None, weights_dir: str | None = None, pool: str = "max"
                      ) -> tuple[nn.Sequential, dict[str, str]]:
    """torchvision's ImageNet ``arch`` features from the registry; the file must hold exactly torchvision's
    ``features.*`` and ``classifier.{0,3,6}.*`` keys. Returns ``(features, {"file", "sha256"})``."""
    from hypercon.weights import load_checkpoint, resolve_weights

    if arch not in REGISTRY_NAMES:
        raise ValueError(f"perceptual: arch must be one of {tuple(REGISTRY_NAMES)}, got {arch!r}")
    resolved = resolve_weights(REGISTRY_NAMES[arch], path=weights, weights_dir=weights_dir)
    state = load_checkpoint(resolved)
    features = vgg_features(arch, pool)
    expected = {f"features.{k}" for k in features.state_dict()} | set(CLASSIFIER_KEYS)
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise ValueError(f"perceptual {arch}: {resolved.path} is not a torchvision {arch} state dict "
                         f"(missing {missing[:4]}, unexpected {unexpected[:4]})")
    features.load_state_dict({k.removeprefix("features."): v for k, v in state.items()
                              if k.startswith("features.")}, strict=True)
    return features, resolved.record()


def build_vgg_imagenet(arch: str = "vgg16", taps: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
                       distance: str = "mse", layer_weights: Sequence[float] | None = None,
                       weights: str | None = None, weights_dir: str | None = None, pool: str = "max"
                       ) -> PerceptualLoss:
    """Paper tier: ImageNet VGG from the registry (see :func:`load_vgg_imagenet`)."""
    features, record = load_vgg_imagenet(arch, weights, weights_dir, pool)
    return PerceptualLoss(VGGTrunk(features, taps), f"{arch}_imagenet", "paper", distance, layer_weights,
                          {"arch": arch, "taps": list(taps), "pool": pool}, record)


@torch.no_grad()
def calibration_frames(size: int = 64) -> Tensor:
    """``[4,3,size,size]`` in [0,1]: the bundled photographs of :data:`CALIBRATION_IMAGES`, resized."""
    from datasets.synthetic import bundled_image

    images = [torch.from_numpy(bundled_image(n)).permute(2, 0, 1)[None] for n in CALIBRATION_IMAGES]
    return torch.cat([F.interpolate(im, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
                      for im in images]).clamp(0, 1)


@torch.no_grad()
def build_vgg_random(arch: str = "vgg16", taps: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
                     distance: str = "mse", layer_weights: Sequence[float] | None = None, seed: int = 0,
                     calibration_size: int = 64, pool: str = "max") -> PerceptualLoss:
    """Offline tier: Kaiming-normal (fan_out, ReLU) weights from ``torch.Generator().manual_seed(seed)``, zero
    biases; each tap scaled by ``1 / std`` per channel on :func:`calibration_frames` (channels with zero std
    keep scale 1)."""
    trunk, generator = VGGTrunk(vgg_features(arch, pool), taps), torch.Generator().manual_seed(int(seed))
    for module in trunk.features:  # up to the deepest tap
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu", generator=generator)
            nn.init.zeros_(module.bias)
    stds = {k: v.std(dim=(0, 2, 3), unbiased=False) for k, v in trunk(calibration_frames(calibration_size)).items()}
    scales = {k: torch.where(s > 1e-8, 1.0 / s.clamp_min(1e-8), torch.ones_like(s)) for k, s in stds.items()}
    return PerceptualLoss(VGGTrunk(trunk.features, taps, scales), "vgg_random", "offline", distance, layer_weights,
                          {"arch": arch, "taps": list(taps), "seed": int(seed), "calibration_size": calibration_size,
                           "pool": pool})


def build_pixel(distance: str = "l1") -> PerceptualLoss:
    """Offline tier: the distance on pixels (``L1`` by default)."""
    return PerceptualLoss(PixelTrunk(), "pixel", "offline", distance)


def build_with(factory: Callable[..., PerceptualLoss], **wanted: Any) -> PerceptualLoss:
    """``factory`` (a builder of ``conf/perceptual/``, possibly a ``functools.partial``) called with those of
    ``wanted`` (e.g. a method's own ``taps``, ``layer_weights``, ``distance``) that it accepts: a trunk
    without layers (``pixel``) takes only the distance."""
    import inspect

    accepted = inspect.signature(getattr(factory, "func", factory)).parameters
    return factory(**{k: v for k, v in wanted.items() if k in accepted})
