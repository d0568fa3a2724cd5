"""Test helper (imported by tests): exact flow for videos that translate globally by whole pixels."""

from __future__ import annotations

import torch
from torch import Tensor


def integer_shift_flow(src: Tensor, dst: Tensor, radius: int = 4) -> Tensor:
    """``[B,2,H,W]`` constant flow per pair: the integer (dx, dy) within ``radius`` minimising the mean
    absolute difference of the overlapping (mean-removed) regions, by exhaustive search."""
    _, _, h, w = src.shape
    flows = torch.zeros(src.shape[0], 2, h, w)
    for n, (a, b) in enumerate(zip(src - src.mean((1, 2, 3), keepdim=True), dst - dst.mean((1, 2, 3), keepdim=True))):
        costs = {}
        for dy in range(-radius, radius + 1):
            for dx in range(-radius, radius + 1):
                pa = a[:, max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)]
                pb = b[:, max(0, dy): h + min(0, dy), max(0, dx): w + min(0, dx)]
                costs[(dx, dy)] = (pa - pb).abs().mean().item()
        dx, dy = min(costs, key=costs.get)
        flows[n, 0], flows[n, 1] = float(dx), float(dy)
    return flows
