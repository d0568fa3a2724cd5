"""A disk cache of frame-wise outputs used as references (fidelity, FID-to-frame-wise), shared by all
jobs of a sweep and safe under concurrent jobs: each entry is written to a private temporary folder
and renamed into place in one step; a job that loses the race discards its copy."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np
from torch import Tensor

from hypercon.io.atomic import atomic_path
from hypercon.checks import frames_from_uint8, frames_to_uint8

log = logging.getLogger(__name__)


class ReferenceCache:
    """``get_or_compute(key, compute)`` → frames ``[T,3,H,W]`` in [0,1] (8-bit exact)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.npy"

    def get_or_compute(self, key: str, compute: Callable[[], Tensor]) -> Tensor:
        path = self._path(key)
        if path.is_file():
            try:
                return frames_from_uint8(np.load(path))
            except (OSError, ValueError) as exc:
                log.warning("reference cache entry %s unreadable (%s); recomputing", path, exc)
        frames = compute()
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, frames_to_uint8(frames))
        return frames
