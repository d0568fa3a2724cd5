"""Weight-free image models (tier offline) for the embedded default: content-seeded k-means colour
quantisation (a deliberately flickering "painterly" style) and OpenCV's ``cv2.stylization``.

Both work on single frames; a frame's output depends only on that frame (never on the batch).
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
import torch
from torch import Tensor

from hypercon.checks import frames_to_uint8
from hypercon.models.base import ImageModel

SMOOTHING = ("none", "bilateral", "edge_preserving")
FIT_STRIDE = 2  # k-means is fitted on every 2nd row and column, then every pixel takes its nearest colour


def content_seed(frame: Tensor, salt: int = 0) -> int:
    """A 63-bit seed from a frame's content: sha256 of its uint8 quantisation (``[3,H,W]`` in [0,1],
    rounded as :func:`frames_to_uint8`) and ``salt``. Equal images → equal seeds; any change of one
    8-bit level → an unrelated seed."""
    digest = hashlib.sha256(frames_to_uint8(frame).tobytes())
    digest.update(int(salt).to_bytes(8, "little", signed=True))
    return int.from_bytes(digest.digest()[:8], "little") >> 1


def kmeans_quantize(pixels: Tensor, init: Tensor, iterations: int) -> tuple[Tensor, Tensor]:
    """Batched Lloyd k-means. ``pixels [B,N,C]``, ``init [B,K,C]`` initial centroids.

    Each iteration assigns every pixel to its nearest centroid (:func:`nearest_centroid`) and moves
    each centroid to the mean of its pixels (an empty cluster keeps its centroid).
    Returns ``(centroids [B,K,C], labels [B,N] int64)`` with labels from the final centroids.
    """
    centroids = init.clone()
    b, k, c = centroids.shape
    for _ in range(max(0, int(iterations))):
        labels = nearest_centroid(pixels, centroids)
        sums = torch.zeros_like(centroids).scatter_add_(1, labels.unsqueeze(2).expand(-1, -1, c), pixels)
        counts = torch.zeros(b, k, 1, dtype=pixels.dtype, device=pixels.device)
        counts.scatter_add_(1, labels.unsqueeze(2), torch.ones_like(pixels[..., :1]))
        centroids = torch.where(counts > 0, sums / counts.clamp_min(1), centroids)
    return centroids, nearest_centroid(pixels, centroids)


def nearest_centroid(pixels: Tensor, centroids: Tensor) -> Tensor:
    """``[B,N]`` index of the nearest of ``centroids [B,K,C]`` to each of ``pixels [B,N,C]``: argmin
    over k of ``|c_k|² − 2⟨p, c_k⟩`` (= squared Euclidean distance minus |p|²; ties → lowest k).
    Elementwise per channel, so a frame's result does not depend on the rest of the batch."""
    score = centroids.square().sum(dim=2).unsqueeze(1)  # [B,1,K]
    for ch in range(pixels.shape[2]):
        score = score - 2.0 * pixels[:, :, ch : ch + 1] * centroids[:, :, ch].unsqueeze(1)
    return score.argmin(dim=2)


def smooth_frame(image: np.ndarray, method: str) -> np.ndarray:
    """Edge-preserving smoothing of an ``[H,W,3]`` uint8 image: ``none`` | ``bilateral``
    (cv2.bilateralFilter d=7, σ_color=40, σ_space=5) | ``edge_preserving`` (cv2.edgePreservingFilter,
    recursive, σ_s=30, σ_r=0.4)."""
    if method == "none":
        return image
    if method == "bilateral":
        return cv2.bilateralFilter(image, 7, 40, 5)
    if method == "edge_preserving":
        return cv2.edgePreservingFilter(image, flags=cv2.RECURS_FILTER, sigma_s=30, sigma_r=0.4)
    raise ValueError(f"model=kmeans_palette: smooth must be one of {SMOOTHING}, got {method!r}")


class KMeansPalette(ImageModel):
    """Per-frame k-means colour quantisation with content-seeded initial centroids.

    ``num_colors`` centroids start at pixels drawn by a generator seeded with :func:`content_seed`
    (``seed`` is the salt): deterministic and batch-independent, but a slightly different frame draws a
    different start and lands in a different local optimum, so outputs flicker like a noisy image model.
    The optional edge-preserving smoothing (``smooth``) runs first, for a painterly look.
    """

    name = "kmeans_palette"
    tier = "offline"

    def __init__(self, num_colors: int = 8, iterations: int = 10, smooth: str = "bilateral", seed: int = 0,
                 device: str = "cpu", batch_size: int = 8) -> None:
        if num_colors < 1:
            raise ValueError(f"model=kmeans_palette: num_colors must be ≥ 1, got {num_colors}")
        if smooth not in SMOOTHING:
            raise ValueError(f"model=kmeans_palette: smooth must be one of {SMOOTHING}, got {smooth!r}")
        self.num_colors, self.iterations, self.smooth, self.seed = int(num_colors), int(iterations), smooth, seed
        self.device, self.batch_size = device, batch_size

    def options(self) -> dict[str, object]:
        return {"num_colors": self.num_colors, "iterations": self.iterations, "smooth": self.smooth,
                "seed": self.seed}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        b, _, h, w = frames.shape
        images = frames_to_uint8(frames)
        smoothed = np.stack([smooth_frame(img, self.smooth) for img in images])
        pixels = torch.from_numpy(smoothed).to(self.device).reshape(b, h * w, 3).float() / 255.0
        starts = []
        for i in range(b):
            gen = torch.Generator().manual_seed(content_seed(frames[i], self.seed))
            starts.append(torch.randint(0, h * w, (self.num_colors,), generator=gen))
        index = torch.stack(starts).to(self.device)
        init = torch.gather(pixels, 1, index.unsqueeze(2).expand(-1, -1, 3))
        grid = pixels.reshape(b, h, w, 3)[:, ::FIT_STRIDE, ::FIT_STRIDE].reshape(b, -1, 3)
        centroids, _ = kmeans_quantize(grid, init, self.iterations)
        labels = nearest_centroid(pixels, centroids)
        out = torch.gather(centroids, 1, labels.unsqueeze(2).expand(-1, -1, 3))
        return out.reshape(b, h, w, 3).permute(0, 3, 1, 2).contiguous()


def stylize_frame(image: np.ndarray, sigma_s: float, sigma_r: float) -> np.ndarray:
    """``cv2.stylization`` of one ``[H,W,3]`` uint8 RGB image (OpenCV wants BGR; flipped both ways).

    Two OpenCV quirks are avoided: ``sigma_s`` is capped at ``min(H,W)/2`` (from ≈ ⅔·min(H,W) on,
    OpenCV returns an all-black image for images with flat regions), and a constant image, whose edge
    map OpenCV cannot min–max normalise (black output), is returned unchanged.
    """
    if (image == image[:1, :1]).all():
        return image.copy()
    sigma = min(float(sigma_s), min(image.shape[:2]) / 2.0)
    bgr = cv2.stylization(np.ascontiguousarray(image[..., ::-1]), sigma_s=sigma, sigma_r=float(sigma_r))
    return np.ascontiguousarray(bgr[..., ::-1])


class Stylization(ImageModel):
    """OpenCV's non-photorealistic ``cv2.stylization`` (edge-preserving filter + edge darkening), a
    deterministic, smooth second offline style model. ``sigma_s`` in [0,200] (capped at half the
    smaller image side, see :func:`stylize_frame`), ``sigma_r`` in [0,1]."""

    name = "stylize"
    tier = "offline"

    def __init__(self, sigma_s: float = 60.0, sigma_r: float = 0.45, device: str = "cpu",
                 batch_size: int = 8) -> None:
        if not (0 <= sigma_s <= 200 and 0 <= sigma_r <= 1):
            raise ValueError(f"model=stylize: need 0 ≤ sigma_s ≤ 200 and 0 ≤ sigma_r ≤ 1, "
                             f"got {sigma_s}, {sigma_r}")
        self.sigma_s, self.sigma_r = float(sigma_s), float(sigma_r)
        self.device, self.batch_size = device, batch_size

    def options(self) -> dict[str, object]:
        return {"sigma_s": self.sigma_s, "sigma_r": self.sigma_r}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        outs = [stylize_frame(img, self.sigma_s, self.sigma_r) for img in frames_to_uint8(frames)]
        out = torch.from_numpy(np.stack(outs)).permute(0, 3, 1, 2).float() / 255.0
        return out.to(frames.device)
