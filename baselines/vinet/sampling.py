"""VINet's test-time input preparation (``demo_vi.py`` / ``davis.py`` of mcahny/Deep-Video-Inpainting, the
public inference code the paper ran): frame order with warm-up, the five frames seen at each step, and the
frames and masks as the network takes them. Pure functions; the recurrent loop lives with the method.

* **Warm-up**: upstream prepends the first 30 frames in reverse order (``frames[29], …, frames[0]``, then the
  video from ``frames[0]``) and writes outputs only for steps ``t > 30``, so real frame 0 is never written
  and clips shorter than 30 frames fail. Here the warm-up is ``W = min(30, N)`` frames and the output of
  real frame j is the step ``W + j`` (frame 0 included): output length = input length.
* **Neighbours**: at step t the network sees steps ``t − 2s, t − s, t, t + s, t + 2s`` (``s`` = t_stride 3),
  mirrored at both ends without repeating the edge — upstream's ``abs(t − k·s)`` at the start and
  ``−1 − abs(M − 1 − t − k·s)`` at the end (M steps) — and mirrored again where a sequence is too short for
  one reflection (where upstream would index out of range).
* **Frames**: RGB [0,1] → BGR (upstream reads with ``cv2.imread``), bilinear resize to ``size × size``
  (upstream passes ``cv2.INTER_CUBIC`` in ``cv2.resize``'s ``dst`` slot, so the default bilinear is used; the
  square distorts the aspect ratio), scaled to [−1, 1], holes zeroed (``x · (1 − m)``).
* **Masks** (1 = hole): resized the same way (upstream: bilinear on the 0/1 label image, i.e. > 0.5), then
  dilated as ``scipy.signal.convolve2d(m, ones((10, 6)), 'same') != 0``: an output pixel (i, j) is a hole when
  any input hole lies in rows i−5 … i+4 and columns j−3 … j+2 (the even kernel's 'same' window is off
  centre).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hypercon.checks import check_frames, check_known
from hypercon.resize import resize_frames

WARMUP = 30  # demo_vi.py: pre = 30
T_STRIDE = 3  # opt.t_stride
SIZE = 512  # save_agg_rec_512.pth runs at exactly 512×512 (256 for the 256 model)
DILATE_KERNEL = (10, 6)  # davis.py: np.ones((10, 6)), rows × columns
#: rows above / below and columns left / right of an output pixel that the 'same' convolution covers
DILATE_REACH = (5, 4, 3, 2)


def step_order(num_frames: int, warmup: int = WARMUP) -> list[int]:
    """The frame index processed at each step: ``W−1, …, 0`` (the warm-up, ``W = min(warmup, N)``), then
    ``0, …, N−1``. Real frame j is step ``W + j``."""
    if num_frames < 1:
        raise ValueError(f"VINet: a video needs at least one frame, got {num_frames}")
    first = min(int(warmup), num_frames)
    return list(range(first - 1, -1, -1)) + list(range(num_frames))


def reflect(index: int, length: int) -> int:
    """``index`` mirrored into ``[0, length)`` without repeating the edge (``−1 → 1``, ``length → length − 2``),
    as often as needed; ``length == 1`` maps everything to 0."""
    if length == 1:
        return 0
    period = 2 * (length - 1)
    index = abs(index) % period
    return period - index if index >= length else index


def neighbour_steps(t: int, length: int, stride: int = T_STRIDE) -> list[int]:
    """The five steps ``t + k·stride``, k = −2 … 2, each :func:`reflect`-ed into ``[0, length)`` (module doc)."""
    return [reflect(t + k * stride, length) for k in (-2, -1, 0, 1, 2)]


def dilate_holes(hole: Tensor) -> Tensor:
    """``hole`` ``[T,1,H,W]`` bool → the upstream dilation (module doc): the max over rows i−5 … i+4 and
    columns j−3 … j+2, outside the frame counting as no hole."""
    up, down, left, right = DILATE_REACH
    padded = F.pad(hole.float(), (left, right, up, down))
    return F.max_pool2d(padded, kernel_size=DILATE_KERNEL, stride=1) > 0


def network_inputs(frames: Tensor, known: Tensor, size: int = SIZE, dilate: bool = True) -> tuple[Tensor, Tensor]:
    """``frames`` ``[T,3,H,W]`` RGB [0,1] and ``known`` ``[T,1,H,W]`` (1 = known) → ``(masked [T,3,S,S] BGR in
    [−1,1] with holes 0, hole [T,1,S,S] float {0,1})`` at ``S = size`` (module doc)."""
    check_frames(frames, "frames")
    check_known(known, frames)
    square = (int(size), int(size))
    bgr = resize_frames(frames.flip(1), square) * 2.0 - 1.0
    hole = resize_frames(1.0 - known.float(), square) > 0.5
    if dilate:
        hole = dilate_holes(hole)
    hole = hole.float()
    return bgr * (1.0 - hole), hole


def network_output(output: Tensor, size_hw: tuple[int, int]) -> Tensor:
    """The network's ``[B,3,S,S]`` BGR output in [−1,1] → RGB [0,1] at ``size_hw`` (``(x + 1) / 2``, clipped,
    bilinear back from the square)."""
    rgb = ((output.flip(1) + 1.0) / 2.0).clamp(0.0, 1.0)
    return resize_frames(rgb, tuple(size_hw)).clamp(0.0, 1.0)
