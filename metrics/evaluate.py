"""Evaluate a sequence of videos with named metrics: the one loop shared by ``python -m metrics`` and
the experiment runner, so both give the same numbers.

Videos are evaluated in the order given. That order matters for the default patch-consistency metrics
(one random generator per metric run, as Szeto's VIE; see :mod:`metrics.patch_consistency`).
Aggregates are mean ± standard error of the mean across videos (``scipy.stats.sem``, ddof = 1); for
PSNR-type keys (:data:`INF_CLIPPED_KEYS`) +inf per-video values are first clipped to the largest
finite one, as VIE's ``summarize_quant_results.py`` does.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from metrics.base import EvalVideo, MetricUnavailable, SetMetric
from metrics.fidelity import clip_inf as _clip_inf

log = logging.getLogger(__name__)

#: per-video keys whose +inf values (identical frames / patches) are clipped before aggregation (VIE)
INF_CLIPPED_KEYS = frozenset({"psnr", "cpsnr", "fidelity_psnr"})


def aggregate(values: Iterable[float | None], clip_inf: bool = False) -> dict[str, float | int | None]:
    """``{"mean", "sem", "n"}`` over the per-video ``values``.

    None / NaN entries are dropped (n counts the rest). ``clip_inf`` replaces +inf by the largest finite
    value first (VIE's table); otherwise an infinite value makes the mean infinite. ``sem`` is the sample
    standard deviation / √n (None when n < 2); ``mean`` is None when n = 0.
    """
    vals = np.asarray([float(v) for v in values if v is not None and not math.isnan(float(v))], dtype=np.float64)
    if clip_inf and vals.size:
        vals = _clip_inf(vals)
    n = int(vals.size)
    if n == 0:
        return {"mean": None, "sem": None, "n": 0}
    mean = float(vals.mean())
    if n < 2 or not np.all(np.isfinite(vals)):
        sem = None if n < 2 else math.nan
    else:
        sem = float(vals.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "sem": sem, "n": n}


def build_metrics(metric_names: Sequence[str],
                  metric_options: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Instantiate metrics through :func:`metrics.registry.metric_class` (``metric_class(name)(**opts)``)."""
    from metrics.registry import metric_class

    options = dict(metric_options or {})
    unknown = set(options) - set(metric_names)
    if unknown:
        raise ValueError(f"options given for metrics not requested: {sorted(unknown)} "
                         f"(requested: {list(metric_names)})")
    return {name: metric_class(name)(**dict(options.get(name) or {})) for name in metric_names}


def evaluate_videos(videos: Iterable[EvalVideo], metric_names: Sequence[str],
                    metric_options: Mapping[str, Mapping[str, Any]] | None = None,
                    metrics: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate every video with every metric, in order.

    Args:
        videos: :class:`EvalVideo` objects (an iterator is fine: each is dropped after use).
        metric_names: registry names (``ewarp``, ``cpsnr``, …).
        metric_options: per-name keyword arguments for the constructors.
        metrics: already built metrics by name (then ``metric_options`` is ignored).

    Returns:
        ``{"videos": [{"video", "metrics": {key: value}, "unavailable": {name: reason}, "timing_s"}],
        "aggregate": {key: {"mean","sem","n"}}, "set_metrics": {key: value},
        "unavailable": {name: reason}, "metrics": {name: provenance}, "higher_is_better": {key: bool}}``.
    """
    built = dict(metrics) if metrics is not None else build_metrics(metric_names, metric_options)
    rows: list[dict[str, Any]] = []
    features: dict[str, list] = {name: [] for name, m in built.items() if isinstance(m, SetMetric)}
    unavailable: dict[str, str] = {}
    for video in videos:
        row: dict[str, Any] = {"video": video.name, "num_frames": int(video.output.shape[0]), "metrics": {},
                               "unavailable": {}, "timing_s": {}}
        for name, metric in built.items():
            t0 = time.perf_counter()
            try:
                if isinstance(metric, SetMetric):
                    features[name].append(metric.features(video))
                else:
                    row["metrics"].update(metric.compute(video))
            except MetricUnavailable as exc:
                row["unavailable"][name] = str(exc)
                unavailable.setdefault(name, str(exc))
                log.warning("%s: %s unavailable: %s", video.name, name, exc)
            row["timing_s"][name] = time.perf_counter() - t0
        rows.append(row)
        log.info("%s: %s", video.name, ", ".join(f"{k}={v:.6g}" for k, v in row["metrics"].items()))

    keys: list[str] = []
    for row in rows:
        keys += [k for k in row["metrics"] if k not in keys]
    aggregates = {k: aggregate((r["metrics"].get(k) for r in rows), clip_inf=k in INF_CLIPPED_KEYS) for k in keys}
    set_values: dict[str, float] = {}
    for name, feats in features.items():
        if len(feats) != len(rows):
            unavailable.setdefault(name, f"features missing for {len(rows) - len(feats)} video(s)")
            continue
        try:
            set_values.update(built[name].compute(feats))
        except MetricUnavailable as exc:
            unavailable[name] = str(exc)
    higher: dict[str, bool] = {}
    for metric in built.values():
        higher.update(getattr(metric, "higher_is_better", {}) or {})
    return {"videos": rows, "aggregate": aggregates, "set_metrics": set_values, "unavailable": unavailable,
            "metrics": {name: m.provenance() for name, m in built.items()}, "higher_is_better": higher}
