"""FID (Heusel et al. 2017) over all frames of all videos, with pytorch-fid's TF-FID Inception-v3.

Network: ``pytorch_fid.inception.InceptionV3([3])`` (2048-d pool3; bilinear resize to 299×299 with
``align_corners=False``; [0,1] → [-1,1]) whose FID-Inception trunk is built here from pytorch-fid's own
blocks WITHOUT weights, then loaded strictly from the registry entry ``fid_inception``
(``pt_inception-2015-12-05-6726825d.pth``). pytorch-fid itself would download the file during
construction; we hand it the loaded trunk instead (``fid_inception_v3`` is swapped for the duration of
the constructor).

Features: one 2048-d vector per frame (output frames, composited for inpainting, as VIE) and per target
frame (ground truth for inpainting, the frame-wise reference for style transfer: ``reference`` option).
Pooled over all videos, then ``metrics.frechet``. Target features are cached in ``cache_dir``
(:class:`hypercon.io.array_cache.ArrayCache`) keyed by the target frames' digest and the weights' sha256,
so other methods on the same data reuse them.
Fewer than 2048 samples per side gives rank-deficient covariances: a warning is logged.
Key ``fid``, lower is better.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch
from torch import Tensor

from hypercon.checks import check_frames
from hypercon.io.array_cache import ArrayCache
from hypercon.io.digest import frames_digest, record_digest
from metrics.base import EvalVideo, MetricKey, SetMetric
from metrics.frechet import frechet_distance_of_features

LOG = logging.getLogger(__name__)

FEATURE_DIM = 2048


def fid_inception_skeleton() -> torch.nn.Module:
    """torchvision Inception3 (1008 classes, no aux head) with pytorch-fid's TF-compatible blocks, random
    weights, nothing downloaded: the module whose state dict ``pt_inception-…-6726825d.pth`` is."""
    import pytorch_fid.inception as pfi

    net = pfi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    for name, block in (("Mixed_5b", pfi.FIDInceptionA(192, pool_features=32)),
                        ("Mixed_5c", pfi.FIDInceptionA(256, pool_features=64)),
                        ("Mixed_5d", pfi.FIDInceptionA(288, pool_features=64)),
                        ("Mixed_6b", pfi.FIDInceptionC(768, channels_7x7=128)),
                        ("Mixed_6c", pfi.FIDInceptionC(768, channels_7x7=160)),
                        ("Mixed_6d", pfi.FIDInceptionC(768, channels_7x7=160)),
                        ("Mixed_6e", pfi.FIDInceptionC(768, channels_7x7=192)),
                        ("Mixed_7b", pfi.FIDInceptionE_1(1280)),
                        ("Mixed_7c", pfi.FIDInceptionE_2(2048))):
        setattr(net, name, block)
    return net


def build_fid_inception(state_dict: dict[str, Tensor]) -> torch.nn.Module:
    """pytorch-fid ``InceptionV3([3])`` (pool3, resize 299, [0,1] input) with ``state_dict`` loaded strictly."""
    import pytorch_fid.inception as pfi

    trunk = fid_inception_skeleton()
    trunk.load_state_dict(state_dict, strict=True)
    with mock.patch.object(pfi, "fid_inception_v3", lambda: trunk):
        model = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[FEATURE_DIM]], resize_input=True,
                                normalize_input=True, use_fid_inception=True)
    return model.eval()


def load_fid_inception(weights: str | None = None, weights_dir: str | None = None,
                       device: str = "cpu") -> tuple[torch.nn.Module, dict[str, str]]:
    """Resolve ``fid_inception`` in the registry, load it, return (model on ``device``, weights record)."""
    from hypercon.weights import load_checkpoint, resolve_weights

    resolved = resolve_weights("fid_inception", path=weights, weights_dir=weights_dir)
    try:
        model = build_fid_inception(load_checkpoint(resolved))
    except RuntimeError as exc:
        raise ValueError(f"FID Inception weights {resolved.path}: keys do not match pytorch-fid's "
                         f"FID Inception: {exc}") from exc
    return model.requires_grad_(False).to(device), resolved.record()


@torch.no_grad()
def inception_features(model: torch.nn.Module, frames: Tensor, batch_size: int = 50,
                       device: str = "cpu") -> np.ndarray:
    """pool3 features ``[N,2048]`` (float32) of ``frames`` ``[N,3,H,W]`` RGB in [0,1]."""
    check_frames(frames, "frames")
    out = []
    for s in range(0, frames.shape[0], batch_size):
        act = model(frames[s:s + batch_size].to(device, torch.float32))[0]
        out.append(act.flatten(1).cpu().numpy().astype(np.float32))
    return np.concatenate(out) if out else np.zeros((0, FEATURE_DIM), np.float32)


class FID(SetMetric):
    """Frame-level FID between output frames and target frames, pooled over the set (paper tier).

    Args:
        compare_with: "auto" | "gt" | "reference": the target frames (:meth:`metrics.base.SetMetric.target_frames`).
        weights / weights_dir: explicit file / weights folder for ``fid_inception``. device: where it runs.
        batch_size: frames per forward pass. cache_dir: folder for cached target features (None: no cache).
    Raises:
        MissingWeightsError: in ``__init__``, when the Inception file is not found.
    """

    name = "fid"
    tier = "paper"
    keys = {"fid": MetricKey("FID", ".2f", False, "auto")}

    def __init__(self, compare_with: str = "auto", weights: str | None = None, weights_dir: str | None = None,
                 device: str = "cpu", batch_size: int = 50, cache_dir: str | None = None):
        self.compare_with = self.check_compare_with(compare_with)
        self.device, self.batch_size = device, int(batch_size)
        self.cache_dir = Path(cache_dir) / "fid" if cache_dir else None
        self.model, self._weights_record = load_fid_inception(weights, weights_dir, device)

    def _target_features(self, frames: Tensor) -> np.ndarray:
        def compute() -> np.ndarray:
            return inception_features(self.model, frames, self.batch_size, self.device)

        if self.cache_dir is None:
            return compute()
        key = record_digest({"frames": frames_digest(frames), "weights": self._weights_record["sha256"],
                             "layer": "pool3"})
        return ArrayCache(self.cache_dir, what="FID statistics cache").get_or_compute(f"target-{key[:32]}", compute)

    def features(self, video: EvalVideo) -> dict[str, np.ndarray]:
        target = self.target_frames(video)
        return {"pred": inception_features(self.model, video.evaluated_output(), self.batch_size, self.device),
                "ref": self._target_features(target)}

    def compute(self, features: list[dict[str, np.ndarray]]) -> dict[str, float]:
        if not features:
            raise ValueError("fid: no per-video features to pool")
        pred = np.concatenate([f["pred"] for f in features])
        ref = np.concatenate([f["ref"] for f in features])
        n = min(pred.shape[0], ref.shape[0])
        if n < 2:
            raise ValueError(f"fid: needs at least 2 frames per side, got {pred.shape[0]} and {ref.shape[0]}")
        if n < FEATURE_DIM:
            LOG.warning("fid: %d frames < %d feature dimensions: rank-deficient covariances, the value is not "
                        "comparable with FIDs on larger sets (pytorch-fid recommends >= 2048)", n, FEATURE_DIM)
        return {"fid": frechet_distance_of_features(pred, ref)}

    def options(self) -> dict[str, Any]:
        return {"compare_with": self.compare_with, "dims": FEATURE_DIM, "resize": "bilinear 299 (pytorch-fid)"}
