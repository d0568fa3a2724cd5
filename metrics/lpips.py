"""LPIPS (Zhang et al. 2018) per video, through the pip ``lpips`` package, with trunk weights from the registry.

``lpips.LPIPS(net, version='0.1')`` is built with a random trunk (``pnet_rand=True``, so nothing is
downloaded), then:

* the trunk (``net.net.sliceK.<i>.*``) is loaded from the torchvision ImageNet file of the registry entry
  ``lpips_<net>_trunk``; torchvision's ``features.<i>.*`` keeps the same index ``<i>`` inside each slice,
  so the mapping is ``sliceK.<i>.p ← features.<i>.p``. Every trunk parameter must be found, and a parameter
  is compared with the file after loading (VIE once ran LPIPS on a random trunk: REFERENCE §5.5);
* the linear heads ``linK.model.1.weight`` come from registry entry ``lpips_lin_<net>``
  (``<weights_dir>/lpips-v0.1/<net>.pth``) when present, else from the copy bundled in the pip package;
  both are sha256-checked against the manifest and loaded with a strict key check.

Inputs are [0,1] RGB (``normalize=True`` maps them to [-1,1]). Value per video: the mean over frames of
LPIPS(target_t, output_t), where the target is the ground truth (inpainting; the output is composited) or
the frame-wise reference (style transfer). Key ``lpips``, lower is better.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hypercon.checks import check_frames
from metrics.base import EvalVideo, MetricKey, MetricUnavailable, VideoMetric
from metrics.frame_size import require_min_side

LOG = logging.getLogger(__name__)

NETS = ("alex", "vgg", "squeeze")
#: the smallest frame side each trunk runs on (below it a pooling layer's output is empty; pinned by
#: tests/test_lpips_metric.py on the pip package's networks)
MIN_SIDE = {"alex": 31, "vgg": 16, "squeeze": 17}
def map_trunk_keys(trunk_keys: list[str], torchvision_state: dict[str, Tensor]) -> dict[str, Tensor]:
    """``sliceK.<i>.<param>`` (lpips trunk) ← ``features.<i>.<param>`` (torchvision). Raises ValueError listing
    trunk keys absent from the file or with a different shape."""
    mapped, missing = {}, []
    for key in trunk_keys:
        source = re.sub(r"^slice\d+\.", "features.", key)
        if source not in torchvision_state:
            missing.append(f"{key} (needs {source})")
        else:
            mapped[key] = torchvision_state[source]
    if missing:
        raise ValueError(f"trunk file lacks {len(missing)} parameter(s): {', '.join(missing[:5])}")
    return mapped


def resolve_lin_weights(net: str, lin_weights: str | None = None,
                        weights_dir: str | None = None) -> tuple[Path, str]:
    """The v0.1 linear heads for ``net``: registry entry ``lpips_lin_<net>`` (explicit file, then
    ``<weights_dir>/lpips-v0.1/<net>.pth``, …), else the copy bundled in the pip package. Both are checked
    against the manifest's sha256. Returns ``(path, sha256)``."""
    from hypercon.weights import MissingWeightsError, check_digest, manifest_entry, resolve_weights, sha256_of

    name = f"lpips_lin_{net}"
    try:
        resolved = resolve_weights(name, path=lin_weights, weights_dir=weights_dir)
        return resolved.path, resolved.sha256
    except MissingWeightsError:
        if lin_weights:
            raise
    import lpips

    bundled = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
    if not bundled.is_file():
        raise MissingWeightsError(f"lpips {net}: linear-layer weights not found in the weights folder nor at "
                                  f"{bundled} (pip package lpips); source {manifest_entry(name).url}")
    digest = sha256_of(bundled)
    check_digest(manifest_entry(name), bundled, digest, weights_dir)
    return bundled, digest


def lpips_with_trunk(net: str, file_state: dict[str, Tensor], source: str) -> torch.nn.Module:
    """A random-trunk ``lpips.LPIPS(net, version="0.1")`` (nothing downloaded) with its trunk loaded strictly from
    a torchvision state dict (:func:`map_trunk_keys`); ValueError naming ``source`` when it is not one."""
    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's deprecated `pretrained=` inside lpips
        model = lpips.LPIPS(pretrained=False, net=net, version="0.1", pnet_rand=True, verbose=False)
    trunk = model.net
    try:
        mapped = map_trunk_keys([k for k, _ in trunk.named_parameters()], file_state)
        trunk.load_state_dict(mapped, strict=True)
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"{source} is not a torchvision {net} state dict: {exc}") from exc
    probe = next(k for k, _ in trunk.named_parameters())
    if not torch.equal(trunk.state_dict()[probe], mapped[probe]):
        raise ValueError(f"trunk parameter {probe} differs from {source} after loading")
    return model


def build_lpips(net: str = "alex", weights: str | None = None, weights_dir: str | None = None,
                lin_weights: str | None = None) -> tuple[torch.nn.Module, dict[str, Any]]:
    """``lpips.LPIPS`` (v0.1) with the trunk from the registry and the linear heads from a local file.
    Returns the module (eval) and ``{"trunk": {file, sha256}, "lin": {file, sha256}}``."""
    from hypercon.weights import load_pretrained

    if net not in NETS:
        raise ValueError(f"lpips: net must be one of {NETS}, got {net!r}")
    model, trunk_record = load_pretrained(
        f"lpips_{net}_trunk", lambda state, source: lpips_with_trunk(net, state, source), weights=weights,
        weights_dir=weights_dir, owner=f"lpips {net}")
    lin_path, lin_sha = resolve_lin_weights(net, lin_weights, weights_dir)
    lin_state = torch.load(lin_path, map_location="cpu", weights_only=True)
    expected = {k for k in model.state_dict() if re.match(r"lin\d+\.", k)}
    if set(lin_state) != expected:
        raise ValueError(f"lpips {net}: {lin_path} has keys {sorted(lin_state)}, expected {sorted(expected)}")
    model.load_state_dict(lin_state, strict=False)
    record = {"trunk": trunk_record, "lin": {"file": str(lin_path), "sha256": lin_sha}}
    return model.eval().requires_grad_(False), record


@torch.no_grad()
def lpips_per_frame(model: torch.nn.Module, frames_a: Tensor, frames_b: Tensor, batch_size: int = 8,
                    device: str = "cpu") -> Tensor:
    """LPIPS between corresponding frames ``[T,3,H,W]`` in [0,1] → ``[T]`` (on CPU)."""
    check_frames(frames_a, "frames_a")
    check_frames(frames_b, "frames_b")
    out = []
    for s in range(0, frames_a.shape[0], batch_size):
        a = frames_a[s:s + batch_size].to(device, torch.float32)
        b = frames_b[s:s + batch_size].to(device, torch.float32)
        out.append(model(a, b, normalize=True).flatten().cpu())
    return torch.cat(out)


class LPIPSMetric(VideoMetric):
    """Per-video mean LPIPS between the output and the ground truth / frame-wise reference (paper tier).

    Args:
        net: "alex" (default, as VIE), "vgg" or "squeeze" (as Lai et al.).
        compare_with: "auto" | "gt" | "reference" (:meth:`metrics.base.VideoMetric.target_frames`).
        weights: explicit trunk file; weights_dir: weights folder; lin_weights: explicit linear-head file.
        device: where LPIPS runs; batch_size: frames per forward pass.
    Raises:
        MissingWeightsError: in ``__init__``, when the trunk file is not found.
    """

    name = "lpips"
    tier = "paper"
    keys = {"lpips": MetricKey("LPIPS", ".4f", False, "auto")}

    def __init__(self, net: str = "alex", compare_with: str = "auto", weights: str | None = None,
                 weights_dir: str | None = None, lin_weights: str | None = None, device: str = "cpu",
                 batch_size: int = 8):
        self.compare_with = self.check_compare_with(compare_with)
        self.net, self.device, self.batch_size = net, device, int(batch_size)
        self.model, self._weights_record = build_lpips(net, weights, weights_dir, lin_weights)
        self.model.to(device)

    def compute(self, video: EvalVideo) -> dict[str, float]:
        target = self.target_frames(video)
        require_min_side(self.name, video.name, target, MIN_SIDE[self.net], f"input of LPIPS's {self.net} trunk")
        values = lpips_per_frame(self.model, target, video.evaluated_output(), self.batch_size, self.device)
        return {"lpips": float(values.mean())}

    def options(self) -> dict[str, Any]:
        return {"net": self.net, "version": "0.1", "compare_with": self.compare_with}
