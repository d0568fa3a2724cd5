"""Aggregation windows on the interpolated video and alignment onto the reference (paper §2.3 eq. 4–5).

Output frame k's reference is interpolated index ``r = k·(i+1)``; its window holds the ``c = 2γ+1``
indices ``r + j·d`` for ``j = −γ … γ`` (d = dilation), keeping only those inside the interpolated video.
Each context frame is aligned with the flow from the reference to it, computed between the TRANSLATED
interpolated frames, and backward-warped: ``aligned(x) = context(x + F_ref→ctx(x))`` with zero padding;
samples that fall outside the frame are marked invalid and left out of the pooling.
"""

from __future__ import annotations

import logging
import numbers

from torch import Tensor

from hypercon.errors import SettingError
from hypercon.flow.base import FlowEstimator
from hypercon.interpolate import interp_length
from hypercon.warp import backward_warp


log = logging.getLogger(__name__)

#: the frames HyperCon computes its alignment flow on: the translated frames (the paper) or the interpolated inputs
ALIGN_ON = ("translated", "input")


def check_window_options(num_inserted: int, window: int, dilation: int, prefix: str = "method.") -> None:
    """Raise ``ValueError`` naming the config key unless i ≥ 0, c odd ≥ 1 and d ≥ 1 (integers)."""
    for key, value in (("num_inserted", num_inserted), ("window", window), ("dilation", dilation)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{prefix}{key} must be an integer, got {value!r}")
    if num_inserted < 0:
        raise ValueError(f"{prefix}num_inserted (i, frames inserted per pair) must be ≥ 0, got {num_inserted}")
    if window < 1 or window % 2 == 0:
        raise ValueError(f"{prefix}window (c = 2γ+1 frames pooled) must be odd and ≥ 1, got {window}")
    if dilation < 1:
        raise ValueError(f"{prefix}dilation (d, spacing in interpolated frames) must be ≥ 1, got {dilation}")


def window_offsets(window: int, dilation: int) -> list[int]:
    """Offsets ``j·d`` for ``j = −γ … γ`` (``γ = (c−1)/2``), in interpolated frames, ascending."""
    check_window_options(0, window, dilation, prefix="")
    gamma = (window - 1) // 2
    return [j * dilation for j in range(-gamma, gamma + 1)]


def window_indices(num_frames: int, num_inserted: int, window: int, dilation: int) -> list[list[int]]:
    """For each original frame k < ``num_frames``, the interpolated indices it pools over, ascending.

    The reference ``k·(i+1)`` is always included; indices outside ``[0, (N−1)(i+1)]`` are dropped
    (paper: "we only align and pool over valid frames").

    >>> window_indices(3, 1, 3, 1)
    [[0, 1], [1, 2, 3], [3, 4]]
    """
    check_window_options(num_inserted, window, dilation, prefix="")
    length = interp_length(num_frames, num_inserted)
    offsets = window_offsets(window, dilation)
    stride = num_inserted + 1
    return [[k * stride + o for o in offsets if 0 <= k * stride + o < length] for k in range(num_frames)]


def lonely_outputs(windows: list[list[int]]) -> list[int]:
    """The output frames whose window (:func:`window_indices`) holds only their reference: they pool
    nothing but themselves, i.e. they are the frame-wise output.

    >>> lonely_outputs([[0, 3], [1, 4], [2], [0, 3], [1, 4]])
    [2]
    """
    return [k for k, samples in enumerate(windows) if len(samples) < 2]


def check_pooling(windows: list[list[int]], window: int, dilation: int) -> None:
    """Refuse a setting under which no output frame pools more than itself, warn where some do not.

    ``windows``: the samples of each output frame (:func:`window_indices`). A video of one frame has
    nothing else to pool (nothing is said). ``window`` = 1 is frame-wise by definition: warned, not refused.

    Raises:
        SettingError: one line naming ``method.window`` and ``method.dilation``, when every output frame
            of a video of ≥ 2 frames pools only itself (d ≥ the interpolated length).
    """
    lonely = lonely_outputs(windows)
    if len(windows) < 2 or not lonely:
        return
    setting = f"method.window={window} method.dilation={dilation}"
    if len(lonely) == len(windows) and window > 1:
        span = max(max(w) for w in windows) + 1
        raise SettingError(f"{setting}: no output frame pools any other frame (the window's samples r ± d·j fall "
                           f"outside the {span} interpolated frames), so HyperCon would output the frame-wise video; "
                           f"choose method.dilation < {span} (or a smaller method.window)")
    if len(lonely) == len(windows):
        log.warning("%s: c = 1 pools nothing; the output is the frame-wise video", setting)
        return
    shown = ", ".join(map(str, lonely[:8])) + (", …" if len(lonely) > 8 else "")
    log.warning("%s: %d of %d output frames pool only themselves (frames %s: their window's other samples "
                "fall outside the video); a smaller method.dilation pools them", setting, len(lonely),
                len(windows), shown)


def warp_to_reference(context: Tensor, flow_ref_to_ctx: Tensor) -> tuple[Tensor, Tensor]:
    """Align ``context [B,C,H,W]`` onto the reference with ``flow_ref_to_ctx [B,2,H,W]`` (px, on the
    reference grid). Returns ``(aligned [B,C,H,W], valid [B,1,H,W] bool)``; outside samples are 0 and
    invalid."""
    return backward_warp(context, flow_ref_to_ctx.to(context.device), padding="zeros")


def align_to_reference(reference: Tensor, context: Tensor, flow: FlowEstimator) -> tuple[Tensor, Tensor]:
    """Estimate ``F_ref→ctx = flow(reference, context)`` and warp ``context`` onto ``reference``.

    ``reference``, ``context``: ``[B,3,H,W]`` in [0,1] (translated interpolated frames; a single
    reference ``[1,3,H,W]`` is broadcast over the batch). Returns ``(aligned, valid)`` as
    :func:`warp_to_reference`.
    """
    if reference.shape[0] == 1 and context.shape[0] > 1:
        reference = reference.expand_as(context)
    flow_ref_to_ctx = flow(reference, context)
    return warp_to_reference(context, flow_ref_to_ctx)
