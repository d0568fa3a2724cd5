"""The smallest frames a metric can measure.

A metric whose window or network needs frames of at least ``min_side`` pixels on each side (SSIM's 7×7
window, LPIPS's trunk) is reported "unavailable (reason)" on smaller frames, as C_PSNR / C_SSIM are on
frames not larger than their patch, and the run completes with the other metrics: never a traceback.
"""

from __future__ import annotations

from torch import Tensor

from metrics.base import MetricUnavailable


def require_min_side(metric: str, video: str, frames: Tensor, min_side: int, needs: str) -> None:
    """Raise :class:`MetricUnavailable` naming ``metric``, ``video``, the frame size and what ``needs`` it
    unless both sides of ``frames`` ``[..., H, W]`` are at least ``min_side`` pixels."""
    height, width = frames.shape[-2:]
    if min(height, width) < min_side:
        raise MetricUnavailable(f"{metric}: {video} frames {width}x{height} are smaller than the "
                                f"{min_side}x{min_side} {needs}")
