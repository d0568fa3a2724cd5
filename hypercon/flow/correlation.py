"""PWC-Net's cost volume in pure PyTorch (runs on CPU and GPU, differentiable).

Same numerics as the CUDA correlation layer of sniklaus/pytorch-pwc and FlowNet2 with kernel 1, stride 1,
``max_displacement`` d (PWC-Net: 4):

    out[b, (dy + d) * (2d + 1) + (dx + d), y, x] = (1 / C) * sum_c one[b, c, y, x] * two[b, c, y + dy, x + dx]

for ``dx, dy`` in ``[-d, d]``; ``two`` is zero outside the image. Output channels are ordered with dx
varying fastest (81 channels for d = 4).
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
