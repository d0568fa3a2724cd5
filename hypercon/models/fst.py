"""Fast neural style (Johnson et al. 2016) as released in pytorch/examples ``fast_neural_style``: the
``TransformerNet`` and the one loader for its checkpoints (``mosaic.pth``, ``candy.pth``,
``rain_princess.pth``, ``udnie.pth`` from ``saved_models.zip``; the HyperCon paper used mosaic and
rain_princess).

Network (module and state-dict names as upstream, so checkpoints load with ``strict=True``):

* ``conv1`` 9×9/1 (3→32) → ``in1`` → ReLU; ``conv2`` 3×3/2 (32→64) → ``in2`` → ReLU;
  ``conv3`` 3×3/2 (64→128) → ``in3`` → ReLU;
* ``res1`` … ``res5``: ``conv1`` → ``in1`` → ReLU → ``conv2`` → ``in2``, plus the block input;
* ``deconv1`` (nearest ×2, then 3×3, 128→64) → ``in4`` → ReLU; ``deconv2`` (×2, 64→32) → ``in5`` → ReLU;
  ``deconv3`` 9×9/1 (32→3), no output activation;
* every conv reflection-pads ``k // 2`` first and has a bias (key ``<layer>.conv2d.weight|bias``);
  every norm is ``InstanceNorm2d(affine=True)`` without running statistics (``in<k>.weight|bias``).

Input RGB in [0,255] (no mean/std normalisation); output ≈ [0,255], clamped and divided by 255 here.
The released checkpoints were saved with torch < 0.4 and carry stale ``in<k>.running_mean/var`` buffers
that :func:`load_transformer_net` deletes (pytorch/examples does the same) before a strict load.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.models.base import ImageModel
from hypercon.resize import pad_to_multiple, unpad

log = logging.getLogger(__name__)

STYLES = ("mosaic", "candy", "rain_princess", "udnie")
#: legacy InstanceNorm buffers in torch < 0.4 checkpoints, matched anywhere in a key (``res1.in2.running_var``)
LEGACY_NORM_KEY = re.compile(r"in\d+\.running_(mean|var)$")
SIZE_MULTIPLE = 4  # two stride-2 convs, two ×2 upsamplings


class ConvLayer(nn.Module):
    """Reflection pad ``k // 2`` then ``conv2d`` (stride ``stride``, with bias)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, upsample: int = 1) -> None:
        super().__init__()
        self.pad, self.upsample = kernel // 2, upsample
        self.conv2d = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x: Tensor) -> Tensor:
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv2d(F.pad(x, (self.pad,) * 4, mode="reflect"))


class ResidualBlock(nn.Module):
    """``x + in2(conv2(relu(in1(conv1(x)))))``, 3×3 convs, channels kept."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, 3)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.in2(self.conv2(F.relu(self.in1(self.conv1(x)))))


class TransformerNet(nn.Module):
    """``forward(x [B,3,H,W] RGB in [0,255]) -> [B,3,H',W']`` ≈ [0,255] (unclamped), ``H' = H`` when H is
    a multiple of 4 (otherwise sizes drift by the stride-2 rounding; use :func:`fst_stylize`)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvLayer(3, 32, 9)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, 3, stride=2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, 3, stride=2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1, self.res2, self.res3, self.res4, self.res5 = (ResidualBlock(128) for _ in range(5))
        self.deconv1 = ConvLayer(128, 64, 3, upsample=2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = ConvLayer(64, 32, 3, upsample=2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, 9)

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        for block in (self.res1, self.res2, self.res3, self.res4, self.res5):
            y = block(y)
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


def clean_state_dict(state: Mapping[str, Tensor]) -> tuple[dict[str, Tensor], list[str]]:
    """Drop the legacy InstanceNorm running statistics (:data:`LEGACY_NORM_KEY`).

    Returns ``(cleaned state, dropped keys)``; everything else is kept unchanged (a stray ``module.``
    prefix from DataParallel is stripped).
    """
    cleaned: dict[str, Tensor] = {}
    dropped: list[str] = []
    for key, value in state.items():
        if LEGACY_NORM_KEY.search(key):
            dropped.append(key)
            continue
        cleaned[key.removeprefix("module.")] = value
    return cleaned, dropped


def load_transformer_net(state_dict: Mapping[str, Tensor]) -> TransformerNet:
    """The one loader: an upstream ``TransformerNet`` state dict → :class:`TransformerNet` (eval mode).

    Legacy ``in<k>.running_mean|var`` keys are deleted, then the rest loads with ``strict=True``, so any
    other missing or unexpected key raises (``RuntimeError`` listing them).
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"fast_neural_style checkpoint: expected a state dict (mapping of tensors), "
                        f"got {type(state_dict).__name__}")
    cleaned, dropped = clean_state_dict(state_dict)
    if dropped:
        log.debug("fast_neural_style: dropped %d legacy InstanceNorm running-stat keys", len(dropped))
    net = TransformerNet()
    net.load_state_dict(cleaned, strict=True)
    return net.eval()


def fst_stylize(net: TransformerNet, frames: Tensor) -> Tensor:
    """Stylize ``frames [B,3,H,W]`` RGB in [0,1] → ``[B,3,H,W]`` in [0,1], any H, W.

    Frames are scaled to [0,255], reflect-padded at the bottom/right to a multiple of 4 (replicate when
    the image is too small to reflect), passed through ``net``, clamped to [0,255], divided by 255 and
    cropped back to H×W.
    """
    h, w = frames.shape[-2:]
    mode = "reflect" if min(h, w) >= SIZE_MULTIPLE else "replicate"
    padded, pads = pad_to_multiple(frames * 255.0, SIZE_MULTIPLE, mode=mode)
    return unpad(net(padded).clamp(0.0, 255.0) / 255.0, pads)


class FastNeuralStyle(ImageModel):
    """``model=fst_pytorch``: frame-wise fast style transfer with the pytorch/examples checkpoints
    (tier paper). Weights come from the registry entry ``fst_<style>`` (explicit ``weights`` file, else
    ``weights_dir`` / ``$HYPERCON_WEIGHTS``, else the torch hub cache)."""

    name = "fst_pytorch"
    label = "FST"
    tier = "paper"

    def __init__(self, style: str = "mosaic", weights: str | None = None, weights_dir: str | None = None,
                 device: str = "cpu", batch_size: int = 4) -> None:
        if style not in STYLES:
            raise ValueError(f"model=fst_pytorch: style must be one of {', '.join(STYLES)}, got {style!r}")
        from hypercon.weights import load_pretrained

        self.style, self.device, self.batch_size = style, device, batch_size
        net, self._weights_record = load_pretrained(
            f"fst_{style}", lambda state, source: load_transformer_net(state), weights=weights,
            weights_dir=weights_dir, owner="model=fst_pytorch")
        self.net = net.to(device)

    def options(self) -> dict[str, object]:
        return {"style": self.style}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return fst_stylize(self.net, frames.to(self.device, torch.float32))
