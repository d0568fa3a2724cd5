"""Pixel-wise pooling over valid samples only (paper §2.3 eq. 6): masked mean and masked median.

Samples are stacked on a leading axis: ``samples [S,B,C,H,W]`` with ``valid [S,B,1,H,W]`` (bool or
0/1), broadcast over channels. Each output pixel pools only its valid samples, so windows truncated at
the ends of the video and aligned samples that fell outside the frame are simply left out. A pixel with
no valid sample gets NaN (HyperCon's reference frame is always valid, so this does not occur there).
"""

from __future__ import annotations

import torch
from torch import Tensor

POOLS = ("mean", "median")


def _check(samples: Tensor, valid: Tensor) -> Tensor:
    if samples.ndim != 5 or valid.ndim != 5 or valid.shape[2] != 1:
        raise ValueError(
            f"pooling: expected samples [S,B,C,H,W] and valid [S,B,1,H,W], got {tuple(samples.shape)} "
            f"and {tuple(valid.shape)}"
        )
    if valid.shape[:2] != samples.shape[:2] or valid.shape[3:] != samples.shape[3:]:
        raise ValueError(f"pooling: valid {tuple(valid.shape)} does not match samples {tuple(samples.shape)}")
    return valid.to(torch.bool).expand_as(samples)


def masked_mean(samples: Tensor, valid: Tensor) -> Tensor:
    """Mean over the valid samples of each pixel: ``Σ_s v_s x_s / Σ_s v_s`` → ``[B,C,H,W]``."""
    mask = _check(samples, valid)
    total = torch.where(mask, samples, torch.zeros_like(samples)).sum(0)
    count = mask.sum(0).to(samples.dtype)
    return torch.where(count > 0, total / count.clamp_min(1), torch.full_like(total, float("nan")))


def masked_median(samples: Tensor, valid: Tensor) -> Tensor:
    """Median over the valid samples of each pixel → ``[B,C,H,W]`` (vectorised, no Python loop).

    Invalid samples are replaced by +inf and the stack is sorted, so the n valid values of a pixel come
    first; the median is the average of the values at sorted positions ``⌊(n−1)/2⌋`` and ``⌊n/2⌋``
    (the middle value for odd n, the mean of the two middle values for even n, as ``numpy.median``).
    """
    mask = _check(samples, valid)
    ordered = torch.where(mask, samples, torch.full_like(samples, float("inf"))).sort(dim=0).values
    count = mask.sum(0, keepdim=True)
    low = ((count - 1).clamp_min(0) // 2).long()
    high = (count // 2).clamp_max(samples.shape[0] - 1).long()
    median = 0.5 * (ordered.gather(0, low) + ordered.gather(0, high))
    return torch.where(count > 0, median, torch.full_like(median, float("nan"))).squeeze(0)


def pool_window(reference: Tensor, aligned: Tensor, valid: Tensor, method: str) -> Tensor:
    """Pool one window per batch item: the (always valid) ``reference [B,C,H,W]`` with the aligned
    context samples ``aligned [S,B,C,H,W]`` / ``valid [S,B,1,H,W]`` → ``[B,C,H,W]``.

    Same result as :func:`pool` on the stack ``[reference, *aligned]``; the mean is accumulated without
    building that stack (``(ref + Σ v·x) / (1 + Σ v)``).
    """
    if aligned.shape[0] == 0:
        return reference.clone()
    if method == "mean":
        mask = _check(aligned, valid)
        total = torch.where(mask, aligned, torch.zeros((), dtype=aligned.dtype, device=aligned.device)).sum(0)
        return (total + reference) / (valid.sum(0).to(aligned.dtype) + 1.0)
    ones = torch.ones((1, *valid.shape[1:]), dtype=torch.bool, device=valid.device)
    return pool(torch.cat((reference[None], aligned)), torch.cat((ones, valid.to(torch.bool))), method)


def pool(samples: Tensor, valid: Tensor, method: str) -> Tensor:
    """``masked_mean`` or ``masked_median`` by name (``method.pool``)."""
    if method == "mean":
        return masked_mean(samples, valid)
    if method == "median":
        return masked_median(samples, valid)
    raise ValueError(f"method.pool must be one of {POOLS}, got {method!r}")
