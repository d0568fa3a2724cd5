"""Cost volume of FlowNet2's ``Correlation`` package as VINet configures it, in pure PyTorch.

VINet (``models/flow_modules.py``, ``LongFlowNetCorr``) builds ``Correlation(pad_size=4, kernel_size=1,
max_displacement=4, stride1=1, stride2=1, corr_multiply=1)`` (``search_range = 4``). Read from the CUDA
kernel (``correlation_cuda_kernel.cu``, ``correlation_forward``; identical in NVIDIA/flownet2-pytorch and in
the copy under mcahny/Deep-Video-Inpainting ``models/correlation_package``):

* both inputs are zero-padded by ``pad_size``; with ``pad_size = max_displacement`` and kernel 1 the output
  keeps the input's ``H×W``;
* the sum over the kernel window and the channels is divided by ``nelems = kernel_size² · C``;
* channel ``(dy + d)·(2d + 1) + (dx + d)`` holds displacement (dx, dy): the vertical offset is the slow index;
* ``corr_multiply`` is accepted but unused by the kernel; no activation follows (VINet concatenates the raw
  volume).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

#: VINet's ``opt.search_range`` ("fixed as 4" in demo_vi.py): max displacement and padding of the volume
SEARCH_RANGE = 4


def correlation(feat1: Tensor, feat2: Tensor, max_displacement: int = SEARCH_RANGE) -> Tensor:
    """``out[b, (dy+d)(2d+1) + (dx+d), y, x] = 1/C · Σ_c feat1[b,c,y,x] · feat2[b,c,y+dy,x+dx]``.

    Args:
        feat1, feat2: ``[B,C,H,W]`` float features (same shape).
        max_displacement: ``d``; displacements ``dx, dy ∈ [−d, d]``; ``feat2`` outside the image is 0.

    Returns:
        ``[B,(2d+1)²,H,W]`` (81 channels for ``d = 4``), as FlowNet2's
        ``Correlation(pad_size=d, kernel_size=1, max_displacement=d, stride1=1, stride2=1)``.
    """
    if feat1.ndim != 4 or feat1.shape != feat2.shape:
        raise ValueError(f"correlation: feat1 {tuple(feat1.shape)} and feat2 {tuple(feat2.shape)} must be "
                         f"[B,C,H,W] alike")
    d = int(max_displacement)
    if d < 0:
        raise ValueError(f"correlation: max_displacement must be >= 0, got {max_displacement}")
    _, channels, height, width = feat1.shape
    padded = F.pad(feat2, (d, d, d, d))
    volume = [
        (feat1 * padded[:, :, d + dy:d + dy + height, d + dx:d + dx + width]).sum(dim=1)
        for dy in range(-d, d + 1)
        for dx in range(-d, d + 1)
    ]
    return torch.stack(volume, dim=1) / channels
