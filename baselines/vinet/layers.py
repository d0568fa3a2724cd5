"""VINet's gated convolutions and its encoder, bottleneck, aggregator and decoder
(mcahny/Deep-Video-Inpainting ``models/gated_conv.py`` and ``models/vinet.py``, read at 0dabb83).

Attribute names are upstream's, so the state-dict keys match (``ec0.conv.weight``, ``dc1_1.conv.1.weight``,
``stAgg.conv.weight``). Every gated convolution has ``bias=False``; its conv yields ``2·C_out`` channels split
into ``(φ, gate)`` in that order:

* :class:`GatedConv`: ``sigmoid(gate) · ReLU(φ)`` (upstream ``GatedConvolution``, ``status='train'``);
* :class:`GatedUpConv`: ``nn.Upsample(size, mode='trilinear')`` then the conv (``conv.0`` / ``conv.1``),
  ``sigmoid(gate) · LeakyReLU_0.2(φ)`` (upstream ``GatedUpConvolution``).

Upsampling uses ``align_corners=False``: upstream leaves it unset, and PyTorch's default for (bi/tri)linear
``Upsample`` / ``F.upsample`` has been False since 0.4.0, the version upstream was written for.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: align_corners of every bilinear/trilinear resize in VINet (torch >= 0.4.0 default; upstream leaves it unset)
UPSAMPLE_ALIGN_CORNERS = False


class GatedConv(nn.Module):
    """``sigmoid(gate) · ReLU(φ)`` with ``(φ, gate) = split(conv(x))``; 2-D or 3-D (``conv3d``)."""

    def __init__(self, c_in: int, c_out: int, kernel, stride=1, padding=0, dilation=1, conv3d: bool = True) -> None:
        super().__init__()
        conv = nn.Conv3d if conv3d else nn.Conv2d
        self.conv = conv(c_in, 2 * c_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        phi, gate = self.conv(x).chunk(2, dim=1)
        return torch.sigmoid(gate) * torch.relu(phi)


class GatedUpConv(nn.Module):
    """Trilinear resize of ``[B,C,T,H,W]`` to ``size = (T', H', W')``, then a gated 3-D conv with LeakyReLU 0.2."""

    def __init__(self, size: tuple[int, int, int], c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Upsample(size=size, mode="trilinear", align_corners=UPSAMPLE_ALIGN_CORNERS),
            nn.Conv3d(c_in, 2 * c_out, (1, 3, 3), padding=(0, 1, 1), bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        phi, gate = self.conv(x).chunk(2, dim=1)
        return torch.sigmoid(gate) * nn.functional.leaky_relu(phi, 0.2)


def _gated2d(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> GatedConv:
    return GatedConv(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation, conv3d=False)


def _gated3d(c_in: int, c_out: int, dilation: int = 1) -> GatedConv:
    return GatedConv(c_in, c_out, (1, 3, 3), padding=(0, dilation, dilation), dilation=(1, dilation, dilation))


class Encoder(nn.Module):
    """Upstream ``VI_2D_Encoder_3``: ``[B,5,H,W]`` (masked frame, ones, hole mask) → four feature maps.

    Returns ``(out [128, H/16], out_4 [96, H/8], out_2 [64, H/4], out_1 [32, H/2])`` for ``double_size``
    (``ec0`` has stride 2); without it every scale is twice as large (``H/8 … H``).
    """

    def __init__(self, double_size: bool) -> None:
        super().__init__()
        self.ec0 = _gated2d(5, 32, stride=2 if double_size else 1)
        self.ec1 = _gated2d(32, 64, stride=2)
        self.ec2 = _gated2d(64, 64)
        self.ec3_1 = _gated2d(64, 96, stride=2)
        self.ec3_2 = _gated2d(96, 96)
        self.ec4_1 = _gated2d(96, 128, stride=2)
        self.ec4 = _gated2d(128, 128)
        self.ec5 = _gated2d(128, 128)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        out_1 = self.ec0(x)
        out_2 = self.ec2(self.ec1(out_1))
        out_4 = self.ec3_2(self.ec3_1(out_2))
        return self.ec5(self.ec4(self.ec4_1(out_4))), out_4, out_2, out_1


class BottleNeck(nn.Module):
    """Upstream ``VI_2D_BottleNeck``: four gated 3×3 convs, dilation 1, 2, 4, 8 (``in_ch`` → 128)."""

    def __init__(self, in_ch: int = 256) -> None:
        super().__init__()
        self.bt0 = _gated2d(in_ch, 128)
        self.bt1 = _gated2d(128, 128, dilation=2)
        self.bt2 = _gated2d(128, 128, dilation=4)
        self.bt3 = _gated2d(128, 128, dilation=8)

    def forward(self, x: Tensor) -> Tensor:
        return self.bt3(self.bt2(self.bt1(self.bt0(x))))


class Aggregator(nn.Module):
    """Upstream ``VI_Aggregator``: a gated 3-D conv, kernel ``(T,3,3)``: ``[B,C,T,h,w]`` → ``[B,C,h,w]``."""

    def __init__(self, in_ch: int, frames: int = 5) -> None:
        super().__init__()
        self.stAgg = GatedConv(in_ch, in_ch, (frames, 3, 3), padding=(0, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.stAgg(x).squeeze(2)


class Decoder(nn.Module):
    """Upstream ``VI_2D_Decoder_3`` on ``[B,C,1,h,w]`` tensors (3-D convs with kernel ``(1,3,3)``).

    ``forward(x [B,128,1,H/16], fused_64 [B,96,1,H/8], fused_128 [B,64,1,H/4]) -> [B,3,1,H,W]`` (scales for
    ``double_size``; the last resize to ``crop_size`` exists only then). The output conv ``dc6`` has no
    activation: nominally [−1, 1], not clamped.
    """

    def __init__(self, crop_size: int, double_size: bool) -> None:
        super().__init__()
        dv = 2 if double_size else 1
        self.double_size = double_size
        self.dc0 = _gated3d(128, 128)
        self.dc1 = _gated3d(128, 128)
        self.dc1_1 = GatedUpConv((1, crop_size // 4 // dv, crop_size // 4 // dv), 128, 96)
        self.dc2_1 = _gated3d(96 + 96, 96)
        self.dc2_bt1 = _gated3d(96, 96, dilation=2)
        self.dc2_bt2 = _gated3d(96, 96, dilation=4)
        self.dc2_bt3 = _gated3d(96, 96, dilation=8)
        self.dc2_2 = GatedUpConv((1, crop_size // 2 // dv, crop_size // 2 // dv), 96, 64)
        self.dc3_1 = _gated3d(64 + 64, 64)
        self.dc3_2 = _gated3d(64, 64)
        self.dc4 = GatedUpConv((1, crop_size // dv, crop_size // dv), 64, 32)
        if double_size:
            self.upsample = nn.Upsample(size=(1, crop_size, crop_size), mode="trilinear",
                                        align_corners=UPSAMPLE_ALIGN_CORNERS)
        self.dc5 = _gated3d(32, 16)
        self.dc6 = nn.Conv3d(16, 3, (1, 3, 3), padding=(0, 1, 1), bias=False)

    def forward(self, x: Tensor, fused_64: Tensor, fused_128: Tensor) -> Tensor:
        x = self.dc1_1(self.dc1(self.dc0(x)))
        x = self.dc2_bt3(self.dc2_bt2(self.dc2_bt1(self.dc2_1(torch.cat([x, fused_64], 1)))))
        x = self.dc4(self.dc3_2(self.dc3_1(torch.cat([self.dc2_2(x), fused_128], 1))))
        if self.double_size:
            x = self.upsample(x)
        return self.dc6(self.dc5(x))
