"""Motion of the SOURCE video (forward flow + occlusion of the forward flow), computed once per video
and cached on disk: the input to E_warp (Lai et al. and Szeto's VIE compute it on the input / ground-truth
video, never on the method's output, so every method is measured against the same motion).

Cache layout (:class:`hypercon.io.array_cache.ArrayCache`): ``<root>/<video key>/<digest>.npz`` with
``flow_fw`` (float16 by default), ``occluded`` (``numpy.packbits``) and a JSON ``meta`` record. The
digest hashes the estimator's provenance (name, class, options, weights sha256), H, W, T, the occlusion
rule, the storage dtype and the frames' digest, so a changed video or setting never reads a stale
entry. Writes are atomic: concurrent jobs computing the same entry are safe (last one wins, with
identical content); an unreadable entry is recomputed.

Stored flows are rounded to the storage dtype; :meth:`SourceMotionCache.get` returns the rounded flow
on a miss too, so a first (computing) and a second (cached) run give identical metric values.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hypercon.checks import check_frames
from hypercon.io.array_cache import Arrays, ArrayCache
from hypercon.io.digest import frames_digest, record_digest
from metrics.occlusion import DEFAULT_OCCLUSION_RULE, RULES, occlusion_mask

log = logging.getLogger(__name__)

CACHE_FORMAT = 1


@dataclass(frozen=True)
class SourceMotion:
    """Forward flow and its occlusion mask for a video of T frames.

    Attributes:
        flow_fw: ``[T-1,2,H,W]`` float32 pixels, flow t → t+1 on t's grid.
        occluded: ``[T-1,1,H,W]`` bool, True = occluded / motion boundary (excluded from E_warp).
        rule: the occlusion rule used (``"lai"`` | ``"ruder"``).
        flow_name: name of the estimator.
    """

    flow_fw: Tensor
    occluded: Tensor
    rule: str = DEFAULT_OCCLUSION_RULE
    flow_name: str = "unknown"


def compute_source_motion(frames: Tensor, estimator: Any, rule: str = DEFAULT_OCCLUSION_RULE,
                          batch_size: int = 8) -> SourceMotion:
    """Forward and backward flow of every consecutive pair (each computed once, batched over pairs),
    then the occlusion mask of the forward flow (:func:`metrics.occlusion.occlusion_mask`).

    Args:
        frames: ``[T,3,H,W]`` float32 RGB in [0,1], T ≥ 2.
        estimator: a :class:`hypercon.flow.base.FlowEstimator` (``estimator(src, dst) -> [B,2,H,W]``).
        rule: occlusion rule, ``"lai"`` or ``"ruder"``.
        batch_size: pairs per estimator call.

    Returns:
        :class:`SourceMotion` on the CPU (float32 flow).
    """
    check_frames(frames, "frames")
    if frames.shape[0] < 2:
        raise ValueError(f"compute_source_motion: need at least 2 frames, got {frames.shape[0]}")
    if rule not in RULES:
        raise ValueError(f"compute_source_motion: rule must be one of {RULES}, got {rule!r}")
    if batch_size < 1:
        raise ValueError(f"compute_source_motion: batch_size must be ≥ 1, got {batch_size}")
    pairs = frames.shape[0] - 1
    flow_fw = torch.empty(pairs, 2, *frames.shape[-2:], dtype=torch.float32)
    occluded = torch.empty(pairs, 1, *frames.shape[-2:], dtype=torch.bool)
    with torch.no_grad():
        for i in range(0, pairs, batch_size):
            j = min(i + batch_size, pairs)
            src, dst = frames[i:j], frames[i + 1 : j + 1]
            fw = estimator(src, dst).float()
            bw = estimator(dst, src).float()
            flow_fw[i:j] = fw.cpu()
            occluded[i:j] = occlusion_mask(fw, bw, rule=rule).cpu()
    return SourceMotion(flow_fw, occluded, rule, str(getattr(estimator, "name", type(estimator).__name__)))


def _estimator_record(estimator: Any) -> dict[str, Any]:
    if hasattr(estimator, "provenance"):
        record = dict(estimator.provenance())
    else:
        record = {"class": f"{type(estimator).__module__}.{type(estimator).__qualname__}"}
    options = dict(record.get("options") or {})
    options.pop("device", None)  # where it ran does not define the flow
    record["options"] = options
    if isinstance(record.get("weights"), dict):  # the weights' content, not where the file lies
        record["weights"] = {"sha256": record["weights"].get("sha256")}
    return record


class SourceMotionCache:
    """Disk cache of :class:`SourceMotion` per (video key, estimator, H, W, T, rule, frames).

    ``get(key, frames, estimator, rule)`` loads the entry or computes, stores and returns it. The last
    entry is also kept in memory, so several metrics of one video read the file once. ``temporary=True``
    (a folder deleted after use, e.g. ``python -m metrics`` without ``--cache``): the log says the motion
    is not kept instead of naming the folder.
    """

    def __init__(self, root: str | os.PathLike, flow_dtype: str = "float16", batch_size: int = 8,
                 temporary: bool = False) -> None:
        if flow_dtype not in ("float16", "float32"):
            raise ValueError(f"SourceMotionCache: flow_dtype must be 'float16' or 'float32', got {flow_dtype!r}")
        self.root = Path(root)
        self.entries = ArrayCache(self.root, layout="arrays", what="source-motion cache")
        self.flow_dtype = flow_dtype
        self.batch_size = batch_size
        self.temporary = temporary
        self._last: tuple[tuple, SourceMotion] | None = None

    def entry_meta(self, frames: Tensor, estimator: Any, rule: str) -> dict[str, Any]:
        t, _, h, w = frames.shape
        return {"format": CACHE_FORMAT, "estimator": _estimator_record(estimator), "height": h, "width": w,
                "num_frames": t, "rule": rule, "flow_dtype": self.flow_dtype, "frames_sha256": frames_digest(frames)}

    def entry_key(self, key: str, meta: dict[str, Any]) -> str:
        return f"{key}/{record_digest(meta)[:20]}"

    def path(self, key: str, meta: dict[str, Any]) -> Path:
        return self.entries.path(self.entry_key(key, meta))

    def get(self, key: str, frames: Tensor, estimator: Any, rule: str = DEFAULT_OCCLUSION_RULE) -> SourceMotion:
        check_frames(frames, "frames")
        # same key, rule, estimator object and frames tensor (storage, version) as the last call: reuse it
        memo = (key, rule, id(estimator), frames.data_ptr(), tuple(frames.shape), frames._version)
        if self._last is not None and self._last[0] == memo:
            return self._last[1]
        meta = self.entry_meta(frames, estimator, rule)
        name = str(getattr(estimator, "name", type(estimator).__name__))

        def compute() -> Arrays:
            computed = compute_source_motion(frames, estimator, rule=rule, batch_size=self.batch_size)
            if self.temporary:
                log.info("source motion of %s (%s, rule %s) computed (not kept after this command)", key, name, rule)
            else:
                log.info("source motion of %s (%s, rule %s) computed; caching it in %s", key, name, rule,
                         self.path(key, meta))
            occluded = computed.occluded.numpy()
            return {"flow_fw": computed.flow_fw.numpy().astype(self.flow_dtype),
                    "occluded": np.packbits(occluded.reshape(-1)),
                    "occluded_shape": np.asarray(occluded.shape, dtype=np.int64),
                    "meta": np.asarray(json.dumps(meta, sort_keys=True, default=str))}

        def decode(arrays: Arrays) -> SourceMotion:
            return _decode(arrays, frames.shape, rule, name)

        motion = self.entries.get_or_compute(self.entry_key(key, meta), compute, decode)
        self._last = (memo, motion)
        return motion


def _decode(arrays: Arrays, frames_shape: torch.Size, rule: str, name: str) -> SourceMotion:
    """A cache entry → :class:`SourceMotion` (float32 flow of the stored, rounded values)."""
    t, _, h, w = frames_shape
    flow = arrays["flow_fw"].astype(np.float32)
    shape = tuple(int(s) for s in arrays["occluded_shape"])
    if flow.shape != (t - 1, 2, h, w) or shape != (t - 1, 1, h, w):
        raise ValueError(f"shapes {flow.shape} / {shape} do not match {t} frames of {w}x{h}")
    occluded = np.unpackbits(arrays["occluded"], count=int(np.prod(shape))).reshape(shape).view(bool)
    return SourceMotion(torch.from_numpy(flow), torch.from_numpy(occluded), rule, name)
