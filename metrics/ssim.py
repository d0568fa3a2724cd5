"""SSIM primitives shared by the frame-wise metrics (:mod:`metrics.fidelity`) and patch consistency
(:mod:`metrics.patch_consistency`): skimage's ``structural_similarity`` conventions, vectorised in torch.

skimage's defaults: 7×7 uniform window (:data:`WIN`), sample covariance (×49/48), K1 = 0.01, K2 = 0.03,
the map averaged over the pixels whose window lies inside the image (skimage crops 3 pixels per side),
then over the channels. ``C1 = (K1·R)²``, ``C2 = (K2·R)²`` for the data range R.
"""

from __future__ import annotations

import torch
from torch import Tensor

WIN = 7
K1, K2 = 0.01, 0.03


def box_mean(x: Tensor, win: int = WIN) -> Tensor:
    """Mean over every ``win×win`` window fully inside ``x`` ``[..., H, W]`` → ``[..., H−win+1, W−win+1]``
    (separable: ``win`` shifted slices summed along each axis; float sums of ``win`` terms, like scipy's
    ``uniform_filter`` that skimage uses)."""
    w_out, h_out = x.shape[-1] - win + 1, x.shape[-2] - win + 1
    rows = x[..., :w_out].clone()
    for k in range(1, win):
        rows += x[..., k : k + w_out]
    out = rows[..., :h_out, :].clone()
    for k in range(1, win):
        out += rows[..., k : k + h_out, :]
    return out.div_(win * win)


def ssim_frames(x: Tensor, y: Tensor, data_range: float = 1.0) -> Tensor:
    """SSIM per frame ``[N]`` float64, equal to ``skimage.metrics.structural_similarity(x_n, y_n,
    channel_axis=-1, data_range=data_range)`` (HWC) for each frame of ``x``, ``y`` ``[N,C,H,W]``.

    ``S = (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2))`` over 7×7 windows, σ from the
    sample covariance ``cov_norm·(μ_ab − μa·μb)``, ``C1 = (0.01·R)²``, ``C2 = (0.03·R)²``.
    """
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"ssim_frames: need two [N,C,H,W] tensors of one shape, got {tuple(x.shape)}, "
                         f"{tuple(y.shape)}")
    if min(x.shape[-2:]) < WIN:
        raise ValueError(f"ssim_frames: frames of {x.shape[-1]}x{x.shape[-2]} are smaller than the {WIN}x{WIN} window")
    x, y = x.float(), y.float()
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    cov_norm = WIN * WIN / (WIN * WIN - 1.0)
    mu_x, mu_y = box_mean(x), box_mean(y)
    # the formula above, in place (frames are large: fewer full-size temporaries)
    vx = box_mean(x * x).addcmul_(mu_x, mu_x, value=-1).mul_(cov_norm)
    vy = box_mean(y * y).addcmul_(mu_y, mu_y, value=-1).mul_(cov_norm)
    num = box_mean(x * y).addcmul_(mu_x, mu_y, value=-1).mul_(2 * cov_norm).add_(c2)  # 2·σxy + C2
    num.mul_(torch.mul(mu_x, mu_y).mul_(2).add_(c1))
    den = mu_x.square_().add_(mu_y.square_()).add_(c1).mul_(vx.add_(vy).add_(c2))
    s_map = num.div_(den)
    return s_map.flatten(2).mean(dim=2, dtype=torch.float64).mean(dim=1)
