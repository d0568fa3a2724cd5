"""The prediction P of frame i from the previous OUTPUT V'[i−1], for the flow coherence losses.

* ``remap`` (the reference code): P(x) = V'[i−1](x − f(x)), ``cv2.remap`` bilinear with its default
  constant (0) border, f the grayscale Farnebäck flow V[i−1] → V[i] on V[i−1]'s grid. Sampling the
  negated forward flow at the TARGET pixel approximates a forward warp (exact for constant motion).
* ``splat`` (the seed's text, §5.2.4): each pixel x of V'[i−1] is moved to x + f(x); the integer pixels
  of P are filled by linear interpolation of the moved samples around them (piecewise-linear on their
  Delaunay triangulation, ``scipy.interpolate.LinearNDInterpolator``), and the pixels no triangle covers
  take the nearest moved sample.

Ruder et al.'s ``flow_masked`` (the backward warp of V'[i−1] along the flow V[i] → V[i−1], weighted by the
harness's occlusion mask) is :mod:`baselines.common.temporal_loss`.

Images ``[B,3,H,W]`` float in [0,1]; flows ``[B,2,H,W]`` pixels (dx, dy).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor

from hypercon.flow.farneback import FarnebackFlow

#: ``cv2.calcOpticalFlowFarneback(prev, curr, None, 0.5, 3, 15, 3, 5, 1.2, 0)`` as the reference code calls it
SEED_FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2,
                  "flags": 0}
FLOW_WARPS = ("remap", "splat")


def seed_farneback() -> FarnebackFlow:
    """The grayscale (OpenCV ``COLOR_RGB2GRAY``) Farnebäck estimator with the seed's parameters."""
    return FarnebackFlow(**SEED_FARNEBACK)


def _pixel_coords(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def remap_warp(image: Tensor, flow: Tensor) -> Tensor:
    """``P(x) = image(x − flow(x))``: ``cv2.remap`` (INTER_LINEAR, BORDER_CONSTANT 0) per batch element."""
    _, _, h, w = image.shape
    xs, ys = _pixel_coords(h, w)
    out = []
    for img, f in zip(image.detach().cpu().numpy(), flow.detach().cpu().numpy()):
        hwc = np.ascontiguousarray(img.transpose(1, 2, 0), dtype=np.float32)
        warped = cv2.remap(hwc, xs - f[0], ys - f[1], cv2.INTER_LINEAR)
        out.append(torch.from_numpy(warped.reshape(h, w, -1).transpose(2, 0, 1).copy()))
    return torch.stack(out).to(image)


def splat_warp(image: Tensor, flow: Tensor) -> Tensor:
    """Forward splatting with linear fill: ``P(x + flow(x)) = image(x)``, P read at the integer pixels by
    linear interpolation of the moved samples, nearest outside their convex hull (module docstring)."""
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    _, c, h, w = image.shape
    xs, ys = _pixel_coords(h, w)
    grid = np.stack((xs.ravel(), ys.ravel()), axis=1).astype(np.float64)
    out = []
    for img, f in zip(image.detach().cpu().numpy(), flow.detach().cpu().numpy()):
        moved = grid + np.stack((f[0].ravel(), f[1].ravel()), axis=1)
        values = img.reshape(c, h * w).T.astype(np.float64)
        filled = LinearNDInterpolator(moved, values)(grid)
        holes = np.isnan(filled).any(axis=1)
        if holes.any():
            filled[holes] = NearestNDInterpolator(moved, values)(grid[holes])
        out.append(torch.from_numpy(filled.T.reshape(c, h, w).astype(np.float32)))
    return torch.stack(out).to(image)

