"""Motion of the SOURCE video (forward flow + occlusion of the forward flow), computed once per video
and cached on disk: the input to E_warp (Lai et al. and Szeto's VIE compute it on the input / ground-truth
video, never on the method's output, so every method is measured against the same motion).

Cache layout: ``<root>/<video key>/<digest>.npz`` with ``flow_fw`` (float16 by default), ``occluded``
(``numpy.packbits``) and a JSON ``meta`` record. The digest hashes the estimator's provenance (name,
class, options, weights sha256), H, W, T, the occlusion rule, the storage dtype and a sha256 of the
frames, so a changed video or setting never reads a stale entry. Writes go to a temporary file in the
same folder, then ``os.replace``: concurrent jobs computing the same entry are safe (last one wins,
with identical content).

Stored flows are rounded to the storage dtype; :meth:`SourceMotionCache.get` returns the rounded flow
on a miss too, so a first (computing) and a second (cached) run give identical metric values.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hypercon.io.atomic import atomic_path
from hypercon.checks import check_frames
from metrics.masks import RULES, occlusion_mask

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
    rule: str = "lai"
    flow_name: str = "unknown"


def compute_source_motion(frames: Tensor, estimator: Any, rule: str = "lai", batch_size: int = 8) -> SourceMotion:
    """Forward and backward flow of every consecutive pair (each computed once, batched over pairs),
    then the occlusion mask of the forward flow (:func:`metrics.masks.occlusion_mask`).

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


def frames_digest(frames: Tensor) -> str:
    """sha256 (first 16 hex) of the frames' float32 values and shape (no copy for contiguous CPU float32)."""
    array = frames.detach().to("cpu", torch.float32).contiguous().numpy()
    digest = hashlib.sha256(str(tuple(frames.shape)).encode())
    digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()[:16]


def _safe_key(key: str) -> str:
    parts = [re.sub(r"[^A-Za-z0-9._=+-]", "_", p) for p in str(key).replace("\\", "/").split("/") if p]
    parts = [p for p in parts if p not in (".", "..")]
    if not parts:
        raise ValueError(f"SourceMotionCache: empty video key {key!r}")
    return "/".join(parts)


class SourceMotionCache:
    """Disk cache of :class:`SourceMotion` per (video key, estimator, H, W, T, rule, frames).

    ``get(key, frames, estimator, rule)`` loads the entry or computes, stores and returns it. The last
    entry is also kept in memory, so several metrics of one video read the file once.
    """

    def __init__(self, root: str | os.PathLike, flow_dtype: str = "float16", batch_size: int = 8) -> None:
        if flow_dtype not in ("float16", "float32"):
            raise ValueError(f"SourceMotionCache: flow_dtype must be 'float16' or 'float32', got {flow_dtype!r}")
        self.root = Path(root)
        self.flow_dtype = flow_dtype
        self.batch_size = batch_size
        self._last: tuple[tuple, SourceMotion] | None = None

    def entry_meta(self, frames: Tensor, estimator: Any, rule: str) -> dict[str, Any]:
        t, _, h, w = frames.shape
        return {"format": CACHE_FORMAT, "estimator": _estimator_record(estimator), "height": h, "width": w,
                "num_frames": t, "rule": rule, "flow_dtype": self.flow_dtype, "frames_sha256": frames_digest(frames)}

    def path(self, key: str, meta: dict[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode()).hexdigest()[:20]
        return self.root / _safe_key(key) / f"{digest}.npz"

    def get(self, key: str, frames: Tensor, estimator: Any, rule: str = "lai") -> SourceMotion:
        check_frames(frames, "frames")
        # same key, rule, estimator object and frames tensor (storage, version) as the last call: reuse it
        memo = (key, rule, id(estimator), frames.data_ptr(), tuple(frames.shape), frames._version)
        if self._last is not None and self._last[0] == memo:
            return self._last[1]
        meta = self.entry_meta(frames, estimator, rule)
        path = self.path(key, meta)
        name = str(getattr(estimator, "name", type(estimator).__name__))
        motion = None
        if path.is_file():
            try:
                motion = self._load(path, frames.shape, rule, name)
            except (OSError, ValueError, KeyError, EOFError) as exc:
                log.warning("source-motion cache entry %s unreadable (%s); recomputing", path, exc)
        if motion is None:
            computed = compute_source_motion(frames, estimator, rule=rule, batch_size=self.batch_size)
            flow_np = computed.flow_fw.numpy().astype(self.flow_dtype)
            self._save(path, flow_np, computed.occluded.numpy(), meta)
            log.info("source motion of %s (%s, rule %s) cached in %s", key, name, rule, path)
            motion = SourceMotion(torch.from_numpy(flow_np.astype(np.float32)), computed.occluded, rule, name)
        self._last = (memo, motion)
        return motion

    def _save(self, path: Path, flow: np.ndarray, occluded: np.ndarray, meta: dict[str, Any]) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, flow_fw=flow, occluded=np.packbits(occluded.reshape(-1)),
                     occluded_shape=np.asarray(occluded.shape, dtype=np.int64),
                     meta=np.asarray(json.dumps(meta, sort_keys=True, default=str)))

    @staticmethod
    def _load(path: Path, frames_shape: torch.Size, rule: str, name: str) -> SourceMotion:
        t, _, h, w = frames_shape
        with np.load(path, allow_pickle=False) as data:
            flow = data["flow_fw"].astype(np.float32)
            shape = tuple(int(s) for s in data["occluded_shape"])
            packed = data["occluded"]
        if flow.shape != (t - 1, 2, h, w) or shape != (t - 1, 1, h, w):
            raise ValueError(f"shapes {flow.shape} / {shape} do not match {t} frames of {w}x{h}")
        occluded = np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape).view(bool)
        return SourceMotion(torch.from_numpy(flow), torch.from_numpy(occluded), rule, name)
