"""Metric names → classes: the one table the CLI and the runner share (imported lazily).

A leaf: it names metric classes by dotted path and imports nothing of ``metrics`` itself, so
:mod:`metrics.base` may use it without an import circle.

Adding a metric: one module with a :class:`metrics.base.VideoMetric` (or ``SetMetric``) that declares its
``keys``, one line here, and its test.
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metrics.base import MetricKey

from hypercon.errors import SettingError

METRICS: dict[str, str] = {
    "ewarp": "metrics.warping_error.WarpingError",
    "ewarp_all": "metrics.warping_error.ThesisWarpingError",
    "ewarp_masked": "metrics.warping_error.MaskedWarpingError",
    "cpsnr": "metrics.patch_consistency.PatchConsistencyPSNR",
    "cssim": "metrics.patch_consistency.PatchConsistencySSIM",
    "fidelity": "metrics.fidelity.Fidelity",
    "gt": "metrics.fidelity.GroundTruthPSNRSSIM",
    "saturation": "metrics.saturation.SaturationRatio",
    "hole_colour": "metrics.hole_colour.HoleColourShift",
    "lpips": "metrics.lpips.LPIPSMetric",
    "vlpips": "metrics.vlpips.VLPIPS",
    "fid": "metrics.fid.FID",
    "vfid": "metrics.vfid.VFID",
    "jf": "metrics.segmentation.SegmentationJF",
    "davis_t": "metrics.segmentation.DavisTemporalStability",
}


def declared_keys() -> dict[str, MetricKey]:
    """Every result key declared by a registered metric class, as ``{key: MetricKey}`` (``metric`` and
    ``set_metric`` filled in). Results on disk record their own keys; this serves code without results."""
    out: dict[str, MetricKey] = {}
    for name in METRICS:
        out.update(metric_class(name).declared_specs())
    return out


def check_metric_name(name: str) -> None:
    """SettingError (one line, the nearest known name as a hint) unless ``name`` is a key of :data:`METRICS`."""
    if name not in METRICS:
        near = difflib.get_close_matches(name, list(METRICS), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise SettingError(f"metrics.names: unknown metric {name!r}{hint}; known: {', '.join(sorted(METRICS))}")


def metric_class(name: str) -> type:
    """Resolve a metric name (see :data:`METRICS`) to its class."""
    check_metric_name(name)
    path = METRICS[name]
    module, _, cls = path.rpartition(".")
    return getattr(importlib.import_module(module), cls)
