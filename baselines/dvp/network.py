"""``VCN``: the U-Net of Deep Video Prior (Lei et al., NeurIPS 2020; ChenyangLEI/deep-video-prior
``models/network.py: VCN``, PyTorch port yzxing87/pytorch-deep-video-prior).

Five levels of ``32·2^k`` channels (k = 0..4). Level 1: a 1×1 conv then a 3×3 conv; the others: two 3×3
convs; LeakyReLU 0.2 after every conv but the decoder's up-convs and the last; 2×2 max-pool between levels.
Decoder step: bilinear ×2, a 3×3 conv (no activation) to the skip's width, concatenate the skip, two 3×3
convs. A last 3×3 conv gives ``out_channels`` (3; 6 with IRT: main then minor), no output activation.
Xavier-normal weights (the port's ``initialize_weights``), zero biases. H and W must be multiples of 32.

Module names follow upstream's TF scopes: ``conv1_1``, ``conv1_2``, …, ``conv5_2``, ``up1`` … ``up4``
(``g_up_1`` …), ``conv6_1`` … ``conv9_1`` and the output conv ``conv9_2``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LEVELS = 5
MULTIPLE = 2 ** (LEVELS - 1) * 2  # 32: upstream crops (we pad) frames to multiples of 32


def _conv(c_in: int, c_out: int, k: int = 3) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, k, padding=k // 2)


class VCN(nn.Module):
    """``forward(x [B,3,H,W]) -> [B,out_channels,H,W]`` (H, W multiples of :data:`MULTIPLE`)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: int = 32) -> None:
        super().__init__()
        ch = [width * 2**k for k in range(LEVELS)]  # 32, 64, 128, 256, 512
        self.conv1_1, self.conv1_2 = _conv(in_channels, ch[0], 1), _conv(ch[0], ch[0])
        for level in range(2, LEVELS + 1):  # encoder levels 2..5
            setattr(self, f"conv{level}_1", _conv(ch[level - 2], ch[level - 1]))
            setattr(self, f"conv{level}_2", _conv(ch[level - 1], ch[level - 1]))
        for step in range(1, LEVELS):  # decoder: up1 (512 → 256) … up4 (64 → 32), blocks conv6 … conv9
            c_skip = ch[LEVELS - 1 - step]
            setattr(self, f"up{step}", _conv(2 * c_skip, c_skip))
            setattr(self, f"conv{LEVELS + step}_1", _conv(2 * c_skip, c_skip))
            if step < LEVELS - 1:
                setattr(self, f"conv{LEVELS + step}_2", _conv(c_skip, c_skip))
        self.conv9_2 = _conv(ch[0], out_channels)  # the output conv (upstream g_conv9_2): no activation
        self.out_channels = out_channels
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Xavier-normal weights (from ``generator`` if given), zero biases."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_normal_(module.weight, generator=generator)
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        if h % MULTIPLE or w % MULTIPLE:
            raise ValueError(f"VCN: H and W must be multiples of {MULTIPLE}, got {h}x{w} (pad first)")
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        skips = []
        for level in range(1, LEVELS + 1):
            if level > 1:
                x = F.max_pool2d(x, 2)
            x = act(getattr(self, f"conv{level}_2")(act(getattr(self, f"conv{level}_1")(x))))
            skips.append(x)
        x = skips.pop()
        for step in range(1, LEVELS):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = torch.cat([getattr(self, f"up{step}")(x), skips.pop()], dim=1)
            x = act(getattr(self, f"conv{LEVELS + step}_1")(x))
            if step < LEVELS - 1:
                x = act(getattr(self, f"conv{LEVELS + step}_2")(x))
        return self.conv9_2(x)
