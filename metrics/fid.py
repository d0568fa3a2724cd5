"""FID (Heusel et al. 2017) over all frames of all videos, with pytorch-fid's TF-FID Inception-v3.

Network: pytorch-fid's ``InceptionV3([3])`` (2048-d pool3; bilinear resize to 299×299 with
``align_corners=False``; [0,1] → [-1,1]), as :class:`FIDInceptionPool3`: the FID-Inception trunk is built from
pytorch-fid's public TF-compatible blocks (``FIDInceptionA`` …) on torchvision's ``inception_v3`` WITHOUT
weights, loaded strictly from the registry entry ``fid_inception`` (``pt_inception-2015-12-05-6726825d.pth``,
``weights_only=True``), and cut into ``InceptionV3``'s four blocks with its forward. Why not ``InceptionV3``
itself: its constructor always calls ``fid_inception_v3()``, which fetches the file through
``torch.hub.load_state_dict_from_url`` (a download, or the hub cache read with ``weights_only=False``); feeding
it our verified file would mean changing the process-wide ``torch.hub`` folder. ``tests/test_fid.py`` checks
the features equal those of pytorch-fid's own constructor.

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

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.checks import check_frames
from hypercon.io.array_cache import ArrayCache
from hypercon.io.digest import frames_digest, record_digest
from metrics.base import EvalVideo, MetricKey, SetMetric
from metrics.frechet import frechet_distance_of_features

LOG = logging.getLogger(__name__)

FEATURE_DIM = 2048


def fid_inception_skeleton() -> nn.Module:
    """torchvision Inception3 (1008 classes, no aux head) with pytorch-fid's TF-compatible blocks, random
    weights, nothing downloaded: the module whose state dict ``pt_inception-…-6726825d.pth`` is (what
    ``pytorch_fid.inception.fid_inception_v3`` builds before it downloads)."""
    import pytorch_fid.inception as pfi
    import torchvision

    net = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
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


class FIDInceptionPool3(nn.Module):
    """pytorch-fid's ``InceptionV3([3], resize_input=True, normalize_input=True)`` on a given trunk:
    ``forward(x [N,3,H,W] in [0,1]) -> [pool3 [N,2048,1,1]]`` (a list, as pytorch-fid returns it); the same
    ``blocks.<i>.<j>`` modules, so the two state dicts have the same keys."""

    def __init__(self, trunk: nn.Module) -> None:
        super().__init__()
        t = trunk
        self.blocks = nn.ModuleList([
            nn.Sequential(t.Conv2d_1a_3x3, t.Conv2d_2a_3x3, t.Conv2d_2b_3x3, nn.MaxPool2d(kernel_size=3, stride=2)),
            nn.Sequential(t.Conv2d_3b_1x1, t.Conv2d_4a_3x3, nn.MaxPool2d(kernel_size=3, stride=2)),
            nn.Sequential(t.Mixed_5b, t.Mixed_5c, t.Mixed_5d, t.Mixed_6a, t.Mixed_6b, t.Mixed_6c, t.Mixed_6d, t.Mixed_6e),
            nn.Sequential(t.Mixed_7a, t.Mixed_7b, t.Mixed_7c, nn.AdaptiveAvgPool2d(output_size=(1, 1))),
        ])

    def forward(self, x: Tensor) -> list[Tensor]:
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1  # (0, 1) -> (-1, 1)
        for block in self.blocks:
            x = block(x)
        return [x]


def build_fid_inception(state_dict: dict[str, Tensor]) -> FIDInceptionPool3:
    """:class:`FIDInceptionPool3` (pool3, resize 299, [0,1] input) with ``state_dict`` loaded strictly into the
    trunk (RuntimeError listing the keys otherwise)."""
    trunk = fid_inception_skeleton()
    trunk.load_state_dict(state_dict, strict=True)
    return FIDInceptionPool3(trunk).eval()


def load_fid_inception(weights: str | None = None, weights_dir: str | None = None,
                       device: str = "cpu") -> tuple[FIDInceptionPool3, dict[str, str]]:
    """Resolve ``fid_inception`` in the registry, load it, return (model on ``device``, weights record)."""
    from hypercon.weights import load_pretrained

    model, record = load_pretrained("fid_inception", lambda state, source: build_fid_inception(state), weights=weights,
                                    weights_dir=weights_dir, owner="fid (pytorch-fid's FID Inception)")
    return model.requires_grad_(False).to(device), record


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
