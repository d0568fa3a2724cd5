"""PWC-Net (Sun et al. 2018) as re-implemented by sniklaus/pytorch-pwc, with a pure-PyTorch cost volume.

Architecture (upstream ``run.py``): a 6-level feature pyramid (16, 32, 64, 96, 128, 196 channels, each
level = stride-2 conv + two convs, LeakyReLU 0.1); flow decoders at levels 6 → 2, each a DenseNet-style
stack (128, 128, 96, 64, 32 channels, new features concatenated in front) predicting 2 channels; below
level 6 the decoder upsamples the coarser flow and features with 4x4 transposed convs and backwarps the
second image's features by the upsampled flow times ``20 / 2**level``; the cost volume (max displacement 4,
81 channels, mean over channels) goes through LeakyReLU 0.1; a dilated context network (dilations
1, 2, 4, 8, 16, 1, 1) refines the level-2 flow, and the result is multiplied by 20 (so it is in
full-resolution pixels, on the 1/4-resolution grid).

Upstream checkpoint (``network-default.pytorch``, the official Caffe weights) is a plain state dict whose
keys mirror the module tree: ``netExtractor.netOne.0.weight`` (older files: ``moduleExtractor.moduleOne...``,
which upstream maps with ``key.replace('module', 'net')``). :func:`load_pwcnet_state_dict` accepts both and
maps them onto this module's names in code; loading is strict.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.flow.base import FlowEstimator
from hypercon.flow.correlation import correlation
from hypercon.warp import backward_warp

log = logging.getLogger(__name__)

PYRAMID_CHANNELS = (16, 32, 64, 96, 128, 196)  # levels 1..6
DENSE_CHANNELS = (128, 128, 96, 64, 32)
MAX_DISPLACEMENT = 4
COST_CHANNELS = (2 * MAX_DISPLACEMENT + 1) ** 2  # 81
FLOW_SCALE = 20.0
SIZE_MULTIPLE = 64
_UPSTREAM_NUMBERS = ("One", "Two", "Thr", "Fou", "Fiv", "Six")  # upstream spells indices 1..6 this way


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(negative_slope=0.1)


def _decoder_in_channels(level: int) -> int:
    """Channels entering the decoder at ``level``: cost volume (+ features, flow, upsampled features)."""
    if level == 6:
        return COST_CHANNELS
    return COST_CHANNELS + PYRAMID_CHANNELS[level - 1] + 2 + 2


def pwc_backwarp(image: Tensor, flow: Tensor) -> Tensor:
    """PWC-S ``backwarp``: bilinear, ``align_corners=True``, zeros outside, and every output pixel whose
    bilinear footprint leaves the image (warped ones-channel ``<= 0.999``) set to 0.

    ``image [B,C,h,w]``, ``flow [B,2,h,w]`` pixels (dx, dy) → ``[B,C,h,w]``.
    """
    ones = image.new_ones(image.shape[0], 1, *image.shape[-2:])
    warped, _ = backward_warp(torch.cat([image, ones], dim=1), flow, padding="zeros")
    return warped[:, :-1] * (warped[:, -1:] > 0.999).to(image.dtype)


class FeaturePyramid(nn.Module):
    """``[B,3,H,W]`` → 6 feature maps, level k at 1/2^k resolution with ``PYRAMID_CHANNELS[k-1]`` channels."""

    def __init__(self) -> None:
        super().__init__()
        stages, in_ch = [], 3
        for out_ch in PYRAMID_CHANNELS:
            stages.append(
                nn.Sequential(
                    nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1), _lrelu(),
                    nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1), _lrelu(),
                    nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1), _lrelu(),
                )
            )
            in_ch = out_ch
        self.levels = nn.ModuleList(stages)

    def forward(self, image: Tensor) -> list[Tensor]:
        feats = []
        for stage in self.levels:
            image = stage(image)
            feats.append(image)
        return feats


class FlowDecoder(nn.Module):
    """The flow estimator of one pyramid level (6 = coarsest, no upsampling inputs)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level
        in_ch = _decoder_in_channels(level)
        if level < 6:
            prev_feat = _decoder_in_channels(level + 1) + sum(DENSE_CHANNELS)
            self.upflow = nn.ConvTranspose2d(2, 2, 4, stride=2, padding=1)
            self.upfeat = nn.ConvTranspose2d(prev_feat, 2, 4, stride=2, padding=1)
            self.backwarp_scale = FLOW_SCALE / 2**level  # 0.625, 1.25, 2.5, 5.0 for levels 5..2
        layers = []
        for out_ch in DENSE_CHANNELS:
            layers.append(nn.Sequential(nn.Conv2d(in_ch, out_ch, 3, padding=1), _lrelu()))
            in_ch += out_ch
        self.dense = nn.ModuleList(layers)
        self.predict = nn.Conv2d(in_ch, 2, 3, padding=1)

    def forward(self, one: Tensor, two: Tensor, previous: tuple[Tensor, Tensor] | None) -> tuple[Tensor, Tensor]:
        """Features ``one``, ``two`` of this level and ``(flow, feat)`` of the coarser level → ``(flow, feat)``."""
        if previous is None:
            feat = F.leaky_relu(correlation(one, two, MAX_DISPLACEMENT), 0.1)
        else:
            flow_up = self.upflow(previous[0])
            feat_up = self.upfeat(previous[1])
            warped = pwc_backwarp(two, flow_up * self.backwarp_scale)
            cost = F.leaky_relu(correlation(one, warped, MAX_DISPLACEMENT), 0.1)
            feat = torch.cat([cost, one, flow_up, feat_up], dim=1)
        for layer in self.dense:
            feat = torch.cat([layer(feat), feat], dim=1)
        return self.predict(feat), feat


class PWCNet(nn.Module):
    """``forward(one, two)``: ``[B,3,H,W]`` BGR in [0,1], H and W multiples of 64 →
    ``[B,2,H/4,W/4]`` flow one → two, already in full-resolution pixels (×20 applied)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = FeaturePyramid()
        self.decoders = nn.ModuleDict({str(level): FlowDecoder(level) for level in (6, 5, 4, 3, 2)})
        dilations = (1, 2, 4, 8, 16, 1)
        widths = (128, 128, 128, 96, 64, 32)
        layers: list[nn.Module] = []
        in_ch = _decoder_in_channels(2) + sum(DENSE_CHANNELS)
        for dilation, out_ch in zip(dilations, widths):
            layers += [nn.Conv2d(in_ch, out_ch, 3, padding=dilation, dilation=dilation), _lrelu()]
            in_ch = out_ch
        layers.append(nn.Conv2d(in_ch, 2, 3, padding=1))
        self.refiner = nn.Sequential(*layers)

    def forward(self, one: Tensor, two: Tensor) -> Tensor:
        feats_one, feats_two = self.features(one), self.features(two)
        estimate = None
        for level in (6, 5, 4, 3, 2):
            estimate = self.decoders[str(level)](feats_one[level - 1], feats_two[level - 1], estimate)
        flow, feat = estimate
        return (flow + self.refiner(feat)) * FLOW_SCALE


def pwcnet_flow(net: PWCNet, src: Tensor, dst: Tensor) -> Tensor:
    """Run ``net`` like upstream ``estimate``: RGB ``[B,3,H,W]`` in [0,1] → flow ``[B,2,H,W]`` src → dst.

    Flips RGB → BGR, resizes to multiples of 64 (bilinear, ``align_corners=False``), runs the network,
    resizes the 1/4-resolution flow to (H, W) the same way and scales dx by W/W_pad, dy by H/H_pad.
    """
    height, width = src.shape[-2:]
    size = (math.ceil(height / SIZE_MULTIPLE) * SIZE_MULTIPLE, math.ceil(width / SIZE_MULTIPLE) * SIZE_MULTIPLE)
    one = F.interpolate(src.flip(1), size=size, mode="bilinear", align_corners=False)
    two = F.interpolate(dst.flip(1), size=size, mode="bilinear", align_corners=False)
    flow = F.interpolate(net(one, two), size=(height, width), mode="bilinear", align_corners=False)
    scale = torch.tensor([width / size[1], height / size[0]], dtype=flow.dtype, device=flow.device)
    return flow * scale.view(1, 2, 1, 1)


_UPSTREAM_RULES = (
    (re.compile(r"^netExtractor\.net(One|Two|Thr|Fou|Fiv|Six)\.(.+)$"), "features.levels.{n}.{rest}"),
    (re.compile(r"^net(Two|Thr|Fou|Fiv|Six)\.netUpflow\.(.+)$"), "decoders.{l}.upflow.{rest}"),
    (re.compile(r"^net(Two|Thr|Fou|Fiv|Six)\.netUpfeat\.(.+)$"), "decoders.{l}.upfeat.{rest}"),
    (re.compile(r"^net(Two|Thr|Fou|Fiv|Six)\.net(One|Two|Thr|Fou|Fiv)\.0\.(.+)$"), "decoders.{l}.dense.{n}.0.{rest}"),
    (re.compile(r"^net(Two|Thr|Fou|Fiv|Six)\.netSix\.0\.(.+)$"), "decoders.{l}.predict.{rest}"),
    (re.compile(r"^netRefiner\.netMain\.(.+)$"), "refiner.{rest}"),
)


def upstream_key_to_ours(key: str) -> str:
    """Map a sniklaus/pytorch-pwc key (``module*`` or ``net*`` spelling) to this module's key.

    Raises ``KeyError`` naming the key when it matches no upstream pattern.
    """
    key = key.replace("module", "net")
    for pattern, template in _UPSTREAM_RULES:
        match = pattern.match(key)
        if match is None:
            continue
        groups = match.groups()
        if template.startswith("features"):
            return template.format(n=_UPSTREAM_NUMBERS.index(groups[0]), rest=groups[1])
        if template.startswith("refiner"):
            return template.format(rest=groups[0])
        level = _UPSTREAM_NUMBERS.index(groups[0]) + 1
        if "{n}" in template:
            return template.format(l=level, n=_UPSTREAM_NUMBERS.index(groups[1]), rest=groups[2])
        return template.format(l=level, rest=groups[1])
    raise KeyError(f"PWC-Net checkpoint: key {key!r} is not a sniklaus/pytorch-pwc parameter name")


def load_pwcnet_state_dict(state: dict[str, Tensor]) -> PWCNet:
    """Build :class:`PWCNet` from an upstream state dict (``moduleExtractor...`` or ``netExtractor...``
    keys), strictly: a missing, unexpected or misshaped key raises ``RuntimeError``/``KeyError``."""
    if not isinstance(state, dict):
        raise TypeError(f"PWC-Net checkpoint: expected a state dict, got {type(state).__name__}")
    mapped = {upstream_key_to_ours(k): v for k, v in state.items()}
    if len(mapped) != len(state):
        raise KeyError("PWC-Net checkpoint: two keys map to the same parameter (mixed module*/net* spellings?)")
    net = PWCNet()
    net.load_state_dict(mapped, strict=True)
    return net.eval()


class PWCNetFlow(FlowEstimator):
    """PWC-Net flow with the official weights (registry entry ``"pwcnet"``: ``network-default.pytorch``
    of sniklaus/pytorch-pwc), tier ``paper``. The weights are resolved and loaded in ``__init__``.
    Runs on ``device``; the output is on the input's device."""

    name = "pwcnet"
    tier = "paper"

    def __init__(self, weights: str | None = None, weights_dir: str | None = None, device: str = "cpu") -> None:
        from hypercon.weights import load_checkpoint, resolve_weights

        resolved = resolve_weights("pwcnet", path=weights, weights_dir=weights_dir)
        self._weights_record = resolved.record()
        self.device = torch.device(device)
        self.net = load_pwcnet_state_dict(load_checkpoint(resolved)).to(self.device)
        log.info("PWC-Net weights %s (sha256 %s, verified=%s)", resolved.path, resolved.sha256, resolved.verified)

    def options(self) -> dict[str, Any]:
        return {}

    @torch.inference_mode()
    def estimate(self, src: Tensor, dst: Tensor) -> Tensor:
        flow = pwcnet_flow(self.net, src.to(self.device, torch.float32), dst.to(self.device, torch.float32))
        return flow.to(src.device)
