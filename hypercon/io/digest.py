"""Content digests for cache keys: one for tensors (frames, masks, flows), one for JSON-able records."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import torch
from torch import Tensor


def frames_digest(x: Tensor) -> str:
    """sha256 (64 hex) of a tensor's shape, dtype and values: its bytes in C order, read on the CPU.

    Equal digests mean bit-identical tensors of one shape and dtype; the device and the memory layout
    (strides, views) do not matter. A float32 copy of float64 frames is another tensor, another digest.
    """
    values = x.detach().to("cpu").contiguous().reshape(-1)
    digest = hashlib.sha256(f"{tuple(x.shape)}|{x.dtype}|".encode())
    digest.update(values.view(torch.uint8).numpy())
    return digest.hexdigest()


def record_digest(record: Any) -> str:
    """sha256 (64 hex) of a JSON-serialisable record, independent of key order (``default=str``)."""
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()
