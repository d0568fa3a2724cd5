"""A disk cache of frame-wise outputs used as references (fidelity, FID-to-frame-wise), shared by all
jobs of a sweep: 8-bit frames in a :class:`hypercon.io.array_cache.ArrayCache` (atomic writes, safe under
concurrent jobs; an unreadable entry is recomputed)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from torch import Tensor

from hypercon.checks import frames_from_uint8, frames_to_uint8
from hypercon.io.array_cache import ArrayCache


class ReferenceCache:
    """``get_or_compute(key, compute)`` → frames ``[T,3,H,W]`` in [0,1] (8-bit exact: what is stored is
    what is returned, on a miss too)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.entries = ArrayCache(self.root, what="reference cache")

    def get_or_compute(self, key: str, compute: Callable[[], Tensor]) -> Tensor:
        return self.entries.get_or_compute(key, lambda: frames_to_uint8(compute()), decode=frames_from_uint8)
