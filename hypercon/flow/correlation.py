"""The FlowNet-style cost volume in pure PyTorch (runs on CPU and GPU, differentiable): the one home of the
layer for PWC-Net (:mod:`hypercon.flow.pwcnet`) and VINet (:mod:`baselines.vinet.flow`).

Same numerics as the CUDA correlation layer of sniklaus/pytorch-pwc and of FlowNet2's ``Correlation`` package
with kernel 1, stride 1, ``max_displacement`` d (PWC-Net and VINet: 4):

    out[b, (dy + d) * (2d + 1) + (dx + d), y, x] = (1 / C) * sum_c one[b, c, y, x] * two[b, c, y + dy, x + dx]

for ``dx, dy`` in ``[-d, d]``; ``two`` is zero outside the image. Output channels are ordered with dx
varying fastest (81 channels for d = 4).

FlowNet2's kernel (``correlation_cuda_kernel.cu``, ``correlation_forward``; identical in NVIDIA/flownet2-pytorch
and in the copy under mcahny/Deep-Video-Inpainting ``models/correlation_package``), as VINet's
``LongFlowNetCorr`` builds it, ``Correlation(pad_size=4, kernel_size=1, max_displacement=4, stride1=1, stride2=1,
corr_multiply=1)``: both inputs are zero-padded by ``pad_size`` (= d, so the output keeps ``H×W``); the sum
over the kernel window and the channels is divided by ``kernel_size² · C``; ``corr_multiply`` is accepted but
unused; no activation follows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def correlation(one: Tensor, two: Tensor, max_displacement: int = 4) -> Tensor:
    """Cost volume between feature maps.

    Args:
        one: ``[B,C,H,W]`` features of the first image (the grid the output lives on).
        two: ``[B,C,H,W]`` features of the second image (zero-padded by ``max_displacement``).
        max_displacement: d; the search window is ``(2d+1)^2`` displacements.

    Returns:
        ``[B,(2d+1)^2,H,W]`` mean over channels of ``one * shifted(two)`` (formula in the module docstring).
    """
    if one.ndim != 4 or one.shape != two.shape:
        raise ValueError(
            f"correlation: need two [B,C,H,W] tensors of one shape, got {tuple(one.shape)} and {tuple(two.shape)}"
        )
    if max_displacement < 0:
        raise ValueError(f"correlation: max_displacement must be >= 0, got {max_displacement}")
    d = max_displacement
    _, channels, height, width = one.shape
    padded = F.pad(two, (d, d, d, d))
    slices = []
    for dy in range(-d, d + 1):
        for dx in range(-d, d + 1):
            window = padded[:, :, d + dy : d + dy + height, d + dx : d + dx + width]
            slices.append((one * window).sum(dim=1))
    return torch.stack(slices, dim=1) / channels
