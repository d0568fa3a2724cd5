"""Training videos of the trained baselines: DAVIS-2016 sequences at a working size, optionally with their
frame-wise stylisation by an Engstrom style net (the "processed" P / the target domain), cached.

A task is ``style:<engstrom style>`` (e.g. ``style:wave``) or ``jitter`` (no processed frames: the recipe
makes them, e.g. vcons' colour jitter).
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

LOG = logging.getLogger(__name__)
JITTER = "jitter"


def load_training_videos(root: str | None, sequences: Sequence[str], size: Sequence[int], tasks: Sequence[str],
                         weights_dir: str | None, cache_dir: str | None, device: str = "cpu"
                         ) -> list[tuple[str, str, Tensor, Tensor | None]]:
    """``[(sequence, task, frames uint8 [T,3,H,W], processed uint8 | None (jitter))]`` for every pair.
    Styled frames are cached in ``cache_dir`` (``train_styled/<style>/<w>x<h>/<sequence>.npz``, holding its key)."""
    from datasets.davis import DAVISDataset
    from hypercon.io.array_cache import ArrayCache

    dataset = DAVISDataset(root, year=2016, split="val", sequences=list(sequences), size=list(size), masks="none")
    cache = ArrayCache(cache_dir) if cache_dir else None
    models: dict[str, Any] = {}
    out = []
    for name in sequences:
        frames = (dataset.load(name).frames * 255).round().to(torch.uint8)
        for task in tasks:
            if task == JITTER:
                out.append((name, task, frames, None))
                continue
            style = task.removeprefix("style:")

            def stylise() -> np.ndarray:
                from hypercon.models.fst_engstrom import EngstromStyle

                if style not in models:
                    models[style] = EngstromStyle(style, weights_dir=weights_dir, device=device)
                return (models[style](frames.float() / 255) * 255).round().to(torch.uint8).numpy()

            key = f"train_styled/{style}/{size[0]}x{size[1]}/{name}"
            styled = cache.get_or_compute(key, stylise) if cache else stylise()
            out.append((name, task, frames, torch.from_numpy(np.asarray(styled))))
        LOG.info("training data: %s (%d frames) x %s", name, frames.shape[0], ", ".join(tasks))
    return out
