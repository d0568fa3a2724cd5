"""Vector-based video interpolation of frames and masks (paper §2.1 eq. 1–2 and §2.4 eq. 7–8).

Index layout: with ``num_inserted = i`` frames inserted between each pair, original frame k sits at
interpolated index ``k·(i+1)`` and the interpolated video has ``(N−1)(i+1)+1`` frames. Interpolated
index m between originals ``a = m // (i+1)`` and ``a+1`` is at time ``t = (m mod (i+1)) / (i+1)``.

Frames: ``(1 − w)·warp(a, F_t→a) + w·warp(b, F_t→b)`` (bilinear; outside the frame border padding, or
the interpolator's :attr:`~hypercon.interp.base.Interpolator.outside_colour`).
Masks (``known``, 1 = known): the SAME grids and weight blend the masks, then any pixel that received a
contribution from a hole becomes a hole: ``known_t = [blend ≥ 1 − 1e−6]``. Hole pixels of interpolated
frames are then set to :data:`hypercon.checks.HOLE_PLACEHOLDER` (:func:`hypercon.checks.hide_holes`), so
no value borrowed from a hole reaches the image model.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from hypercon.checks import check_frames, check_known, hide_holes
from hypercon.interp.base import Interpolator, WarpingParams
from hypercon.warp import backward_warp

#: a blended, warped mask counts as known only at (numerically) 1: paper eq. 8
KNOWN_THRESHOLD = 1.0 - 1e-6


def interp_length(num_frames: int, num_inserted: int) -> int:
    """Length of the interpolated video: ``(N−1)(i+1) + 1`` (0 for an empty video)."""
    return 0 if num_frames <= 0 else (num_frames - 1) * (num_inserted + 1) + 1


def source_of(index: int, num_inserted: int) -> tuple[int, float]:
    """Interpolated index ``m`` → ``(a, t)``: between original frames a and a+1 at time t ∈ [0,1).

    ``t == 0`` means m is original frame a itself.
    """
    stride = num_inserted + 1
    return index // stride, (index % stride) / stride


def blend(src_a: Tensor, src_b: Tensor, params: WarpingParams, outside: Sequence[float] | None = None) -> Tensor:
    """Paper eq. 1: ``(1 − w)·warp(src_a, F_t→a) + w·warp(src_b, F_t→b)``.

    ``src_a``, ``src_b``: ``[B,C,H,W]`` (frames or masks); ``params``: grids ``[B,2,H,W]`` and weight
    ``[B,1,H,W]`` on the intermediate grid. ``outside``: ``None`` = border padding; else one value per
    channel that samples outside the frame take (``warp(src − outside, zeros) + outside``, as Super SloMo
    warps its mean-subtracted frames). Returns ``[B,C,H,W]``.
    """
    if outside is None:
        warped_a, _ = backward_warp(src_a, params.flow_to_a.to(src_a.device), padding="border")
        warped_b, _ = backward_warp(src_b, params.flow_to_b.to(src_b.device), padding="border")
        return torch.lerp(warped_a, warped_b, params.weight_b.to(src_a.device))  # a + w·(b − a)
    fill = torch.as_tensor(outside, dtype=src_a.dtype, device=src_a.device).view(1, -1, 1, 1)
    warped_a, _ = backward_warp(src_a - fill, params.flow_to_a.to(src_a.device), padding="zeros")
    warped_b, _ = backward_warp(src_b - fill, params.flow_to_b.to(src_b.device), padding="zeros")
    return torch.lerp(warped_a, warped_b, params.weight_b.to(src_a.device)) + fill


def threshold_known(blended_known: Tensor) -> Tensor:
    """Paper eq. 8: 1 where the blended warped mask is (numerically) 1, else 0; float ``[B,1,H,W]``."""
    return (blended_known >= KNOWN_THRESHOLD).to(blended_known.dtype)


def blend_known(known_a: Tensor, known_b: Tensor, params: WarpingParams) -> Tensor:
    """Interpolated mask (eq. 7–8): the masks blended with the frames' grids, then thresholded.

    A pixel stays known only if every bilinear source sample with non-zero weight, in a and in b (where
    its blend weight is non-zero), was known.
    """
    return threshold_known(blend(known_a, known_b, params))


def interpolate_pair(
    frame_a: Tensor,
    frame_b: Tensor,
    interpolator: Interpolator,
    times: Sequence[float],
    known_a: Tensor | None = None,
    known_b: Tensor | None = None,
) -> tuple[list[Tensor], list[Tensor] | None]:
    """Interpolate a batch of pairs at ``times`` (one interpolator call shared by all times).

    Args:
        frame_a, frame_b: ``[B,3,H,W]`` in [0,1]. known_a, known_b: ``[B,1,H,W]`` or None (no masks).

    Returns:
        ``(frames, known)``: lists over ``times`` of ``[B,3,H,W]`` (clamped to [0,1]; holes set to the
        placeholder) and ``[B,1,H,W]`` binary masks (None when no masks were given).
    """
    if not times:
        return [], ([] if known_a is not None else None)
    params = interpolator(frame_a, frame_b, times)
    frames, masks = [], ([] if known_a is not None else None)
    for p in params:
        frame = blend(frame_a, frame_b, p, getattr(interpolator, "outside_colour", None)).clamp_(0.0, 1.0)
        if known_a is not None:
            known = blend_known(known_a, known_b, p)
            frame = hide_holes(frame, known)
            masks.append(known)
        frames.append(frame)
    return frames, masks


def interpolate_video(
    frames: Tensor, known: Tensor | None, interpolator: Interpolator, num_inserted: int
) -> tuple[Tensor, Tensor | None]:
    """Insert ``num_inserted`` frames between each pair of ``frames`` ``[N,3,H,W]``.

    Returns ``(frames_interp [(N−1)(i+1)+1,3,H,W], known_interp [same,1,H,W] | None)``; the original
    frames (and masks) are copied unchanged to indices ``k·(i+1)``. Holds the whole interpolated video:
    for long videos use :class:`hypercon.pipeline.HyperCon`, which works in temporal chunks.
    """
    check_frames(frames)
    if known is not None:
        check_known(known, frames)
    if int(num_inserted) < 0:
        raise ValueError(f"num_inserted must be ≥ 0, got {num_inserted}")
    stride = int(num_inserted) + 1
    n = frames.shape[0]
    out = frames.new_empty((interp_length(n, num_inserted), *frames.shape[1:]))
    out_known = None if known is None else known.new_empty((out.shape[0], *known.shape[1:]))
    out[::stride] = frames
    if out_known is not None:
        out_known[::stride] = known
    times = [j / stride for j in range(1, stride)]
    pairs_per_call = max(1, int(getattr(interpolator, "batch_size", 1)))
    for start in range(0, max(n - 1, 0) if times else 0, pairs_per_call):
        stop = min(start + pairs_per_call, n - 1)
        ka = None if known is None else known[start:stop]
        kb = None if known is None else known[start + 1 : stop + 1]
        inner, inner_known = interpolate_pair(frames[start:stop], frames[start + 1 : stop + 1], interpolator,
                                              times, ka, kb)
        for j, frame in enumerate(inner, start=1):
            out[start * stride + j : stop * stride : stride] = frame
            if out_known is not None:
                out_known[start * stride + j : stop * stride : stride] = inner_known[j - 1]
    return out, out_known
