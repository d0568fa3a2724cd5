"""VINet's flow and occlusion sub-networks and its two warps (mcahny/Deep-Video-Inpainting
``models/flow_modules.py``, read at 0dabb83), for ``opt.batch_norm = False`` (demo_vi.py): every conv has a
bias and no BatchNorm. Attribute names are upstream's (``flow_estimator.convs.0.0.weight``,
``flow_estimator.convs_fine.convs.6.0.bias``, ``convs.2.weight`` of a mask estimator).

Warps (``out(x) = src(x + flow(x))``, flow in pixels (dx, dy), :func:`hypercon.warp.backward_warp`):

* :func:`warp_zeros` is upstream's ``WarpingLayer``: ``grid_sample`` on ``linspace(−1, 1, W)`` plus
  ``flow · 2/(W−1)``, bilinear, zeros padding. Upstream leaves ``align_corners`` unset; that grid puts pixel
  centres at ±1, i.e. ``align_corners=True`` (:data:`WARP_ALIGN_CORNERS`), which is also what ``grid_sample``
  did in PyTorch 0.4.0 (the version the model was trained with; the default became False in 1.3).
* :func:`resample2d` is FlowNet2's ``Resample2d`` (``warping_256``): bilinear, each neighbour index clamped
  to the image, i.e. border padding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.vinet.layers import UPSAMPLE_ALIGN_CORNERS
from hypercon.flow.correlation import correlation
from hypercon.warp import backward_warp

#: VINet's ``opt.search_range`` ("fixed as 4" in demo_vi.py): the cost volume's max displacement and padding
SEARCH_RANGE = 4
#: the grid upstream's WarpingLayer builds (linspace(-1, 1) + flow·2/(size-1)) is the align_corners=True one
WARP_ALIGN_CORNERS = True


def warp_zeros(src: Tensor, flow: Tensor) -> Tensor:
    """Upstream ``WarpingLayer``: bilinear ``src(x + flow(x))``, 0 outside (``align_corners=True``)."""
    return backward_warp(src, flow, padding="zeros")[0]


def resample2d(src: Tensor, flow: Tensor) -> Tensor:
    """FlowNet2 ``Resample2d`` (kernel 1, bilinear): ``src(x + flow(x))`` clamped to the border."""
    return backward_warp(src, flow, padding="border")[0]


def upflow(flow: Tensor, factor: int) -> Tensor:
    """``F.upsample(flow, scale_factor=factor, mode='bilinear') * factor`` (``align_corners=False``)."""
    up = F.interpolate(flow, scale_factor=factor, mode="bilinear", align_corners=UPSAMPLE_ALIGN_CORNERS)
    return up * factor


def _conv_lrelu(c_in: int, c_out: int, dilation: int = 1) -> nn.Sequential:
    """Upstream ``conv(False, …)`` / ``conv_(False, …)``: 3×3 conv with bias, LeakyReLU 0.1."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation), nn.LeakyReLU(0.1))


class MaskEstimator(nn.Module):
    """Upstream ``MaskEstimator_``: ``[B,C,H,W]`` → occlusion mask ``[B,1,H,W]`` in (0, 1) (sigmoid)."""

    def __init__(self, ch_in: int) -> None:
        super().__init__()
        half = ch_in // 2
        self.convs = nn.Sequential(_conv_lrelu(ch_in, half), _conv_lrelu(half, half),
                                   nn.Conv2d(half, 1, 3, padding=1), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        return self.convs(x)


class ContextNetwork(nn.Module):
    """Upstream ``ContextNetwork``: dilations 1, 2, 4, 8, 16, 1, 1; LeakyReLU 0.1 after every conv, the last
    (→ 2 channels) included."""

    def __init__(self, ch_in: int) -> None:
        super().__init__()
        widths = (ch_in, 128, 128, 128, 96, 64, 32, 2)
        dilations = (1, 2, 4, 8, 16, 1, 1)
        self.convs = nn.Sequential(*(_conv_lrelu(widths[i], widths[i + 1], d) for i, d in enumerate(dilations)))

    def forward(self, x: Tensor) -> Tensor:
        return self.convs(x)


class LongFlowEstimatorCorr(nn.Module):
    """``convs`` (→ 32 ch), ``conv1`` (→ coarse flow), ``convs_fine`` (residual): coarse + fine."""

    def __init__(self, ch_in: int) -> None:
        super().__init__()
        widths = (ch_in, 128, 128, 96, 64, 32)
        self.convs = nn.Sequential(*(_conv_lrelu(widths[i], widths[i + 1]) for i in range(5)))
        self.conv1 = nn.Conv2d(32, 2, 3, padding=1)
        self.convs_fine = ContextNetwork(32 + 2)

    def forward(self, x: Tensor) -> Tensor:
        x = self.convs(x)
        coarse = self.conv1(x)
        return coarse + self.convs_fine(torch.cat([x, coarse], 1))


class LongFlowNetCorr(nn.Module):
    """Upstream ``LongFlowNetCorr``: flow from ``cat(x1, correlation(x1, x2), upflow)``.

    ``in_ch`` counts ``x1`` plus the 2 ``upflow`` channels when there is one (upstream: 128 for ``flownet``,
    96+2, 64+2, 32+2 for ``flownet_64/_128/_256``); the 81 correlation channels are added here.
    ``forward(x1, x2 [B,C,h,w], upflow [B,2,h,w] | None) -> flow [B,2,h,w]`` in pixels of that scale.
    """

    def __init__(self, in_ch: int) -> None:
        super().__init__()
        self.flow_estimator = LongFlowEstimatorCorr(in_ch + (2 * SEARCH_RANGE + 1) ** 2)

    def forward(self, x1: Tensor, x2: Tensor, upflow_: Tensor | None = None) -> Tensor:
        parts = [x1, correlation(x1, x2, SEARCH_RANGE)] + ([] if upflow_ is None else [upflow_])
        return self.flow_estimator(torch.cat(parts, dim=1))
