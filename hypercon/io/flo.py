"""Middlebury ``.flo`` optical-flow files.

Layout (little-endian): float32 tag ``202021.25`` (the bytes ``PIEH``), int32 width, int32 height, then
``height * width * 2`` float32 values in row-major order with (u, v) = (dx, dy) interleaved per pixel.
Middlebury marks pixels without ground truth by a component with magnitude above ``1e9`` (it writes
``1e10``). Here unknown pixels are NaN in memory: :func:`read_flo` turns every pixel with a component
``> 1e9`` in magnitude (or already non-finite) into NaN in both channels, and :func:`write_flo` writes NaN
back as ``1e10``, so a read/write round-trip keeps them. :func:`flo_valid` gives the matching mask.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from hypercon.errors import InputError

log = logging.getLogger(__name__)

FLO_TAG = 202021.25
UNKNOWN_THRESHOLD = 1e9
UNKNOWN_VALUE = 1e10
_MAX_SIDE = 100_000


def read_flo(path: str | Path) -> np.ndarray:
    """Read a ``.flo`` file into ``[H,W,2]`` float32 (dx, dy) pixels; unknown pixels are NaN.

    Raises ``ValueError`` naming the file when the tag, the size fields or the length are wrong.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 12:
        raise InputError(f"{path}: too short for a .flo header ({len(data)} bytes, need 12)")
    tag = np.frombuffer(data, dtype="<f4", count=1)[0]
    if tag != np.float32(FLO_TAG):
        raise InputError(
            f"{path}: not a Middlebury .flo file: magic number {float(tag)!r} "
            f"(bytes {data[:4]!r}), expected {FLO_TAG} (b'PIEH')"
        )
    width, height = (int(v) for v in np.frombuffer(data, dtype="<i4", count=2, offset=4))
    if not (0 < width < _MAX_SIDE and 0 < height < _MAX_SIDE):
        raise InputError(f"{path}: implausible .flo size width={width} height={height}")
    expected = 12 + 4 * 2 * width * height
    if len(data) != expected:
        raise InputError(
            f"{path}: .flo of {width}x{height} needs {expected} bytes, the file has {len(data)}"
        )
    flow = np.frombuffer(data, dtype="<f4", offset=12).reshape(height, width, 2).astype(np.float32)
    unknown = ~np.isfinite(flow).all(axis=-1) | (np.abs(flow) > UNKNOWN_THRESHOLD).any(axis=-1)
    flow[unknown] = np.nan
    return flow


def write_flo(path: str | Path, flow: np.ndarray) -> None:
    """Write ``flow [H,W,2]`` (dx, dy) pixels to a ``.flo`` file; NaN/inf pixels become ``1e10``."""
    path = Path(path)
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise ValueError(f"{path}: write_flo expects a flow [H,W,2], got shape {flow.shape}")
    height, width = flow.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"{path}: write_flo got an empty flow of shape {flow.shape}")
    out = flow.astype("<f4", copy=True)
    unknown = ~np.isfinite(out).all(axis=-1)
    out[unknown] = UNKNOWN_VALUE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(np.array([FLO_TAG], dtype="<f4").tobytes())
        fh.write(np.array([width, height], dtype="<i4").tobytes())
        fh.write(np.ascontiguousarray(out).tobytes())
    log.debug("wrote %s (%dx%d, %d unknown pixels)", path, width, height, int(unknown.sum()))


def flo_valid(flow: np.ndarray) -> np.ndarray:
    """``[H,W]`` bool: True where both components of ``flow [H,W,2]`` are finite (known)."""
    return np.isfinite(flow).all(axis=-1)


def hw2_to_tensor(flow: np.ndarray) -> Tensor:
    """``[H,W,2]`` numpy flow → ``[1,2,H,W]`` float32 tensor (NaN kept)."""
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise ValueError(f"hw2_to_tensor expects a flow [H,W,2], got shape {flow.shape}")
    return torch.from_numpy(np.ascontiguousarray(flow.transpose(2, 0, 1)))[None]


def flow_tensor_to_hw2(flow: Tensor) -> np.ndarray:
    """``[1,2,H,W]`` or ``[2,H,W]`` flow tensor → ``[H,W,2]`` float32 numpy array."""
    if flow.ndim == 4:
        if flow.shape[0] != 1:
            raise ValueError(f"flow_tensor_to_hw2 expects one flow, got batch shape {tuple(flow.shape)}")
        flow = flow[0]
    if flow.ndim != 3 or flow.shape[0] != 2:
        raise ValueError(f"flow_tensor_to_hw2 expects [1,2,H,W] or [2,H,W], got {tuple(flow.shape)}")
    return flow.detach().float().cpu().permute(1, 2, 0).contiguous().numpy()
