"""Evaluate a sequence of videos with named metrics: the one loop shared by ``python -m metrics`` and
the experiment runner, so both give the same numbers.

Videos are evaluated in the order given. That order matters for the default patch-consistency metrics
(one random generator per metric run, as Szeto's VIE; see :mod:`metrics.patch_consistency`).
Aggregates are mean ± standard error of the mean across videos (:func:`metrics.reduce.aggregate`); for
keys whose :class:`metrics.base.MetricKey` says ``clip_inf`` (PSNR-type keys) +inf per-video values are
first clipped to the largest finite one, as VIE's ``summarize_quant_results.py`` does.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from metrics.base import EvalVideo, MetricKey, MetricUnavailable, SetMetric, key_specs
from metrics.reduce import aggregate

log = logging.getLogger(__name__)


def build_metrics(metric_names: Sequence[str],
                  metric_options: Mapping[str, Mapping[str, Any]] | None = None,
                  common: Mapping[str, Any] | None = None,
                  optional: Iterable[str] = ()) -> tuple[dict[str, Any], dict[str, str]]:
    """Instantiate metrics through :func:`metrics.registry.metric_class`.

    ``common`` keyword arguments (``device``, ``weights_dir``, ``cache_dir``, ``occlusion_rule`` …) reach
    every metric whose constructor accepts them (None values are skipped); per-metric ``metric_options``
    win. A metric in ``optional`` whose weights are missing is returned in the second dict as
    ``{name: reason}`` (reported "unavailable"); any other failure raises here, before any work.
    """
    from hypercon.weights import WeightsError
    from metrics.registry import metric_class

    options = dict(metric_options or {})
    unknown = set(options) - set(metric_names)
    if unknown:
        raise ValueError(f"options given for metrics not requested: {sorted(unknown)} "
                         f"(requested: {list(metric_names)})")
    optional = set(optional)
    built: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for name in metric_names:
        cls = metric_class(name)
        accepted = inspect.signature(cls).parameters
        kwargs = {k: v for k, v in (common or {}).items() if k in accepted and v is not None}
        kwargs.update(options.get(name) or {})
        try:
            built[name] = cls(**kwargs)
        except (WeightsError, MetricUnavailable) as exc:
            if name not in optional:
                raise
            unavailable[name] = str(exc)
            log.warning("metric %s unavailable: %s", name, exc)
    return built, unavailable


def evaluate_video(video: EvalVideo, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Every metric on one video: ``{"metrics": {key: value}, "unavailable": {name: reason},
    "self_reference": [name], "features": {name: arrays} (set metrics), "timing_s": {name: seconds}}``,
    plus ``"per_frame": {key: [values]}`` when a metric recorded its per-frame values (E_warp's per pair).

    A metric that compares with the frame-wise reference is not computed on the reference itself
    (``video.is_reference``): it is listed in ``self_reference`` (the paper's "-").

    A mask with no hole pixel at all makes the composited output the input itself: every metric would
    measure the input, not the method (PSNR = inf, E_warp of the source), so each is
    ``unavailable (no hole pixels …)``."""
    out: dict[str, Any] = {"metrics": {}, "unavailable": {}, "self_reference": [], "features": {}, "timing_s": {}}
    if video.known is not None and not bool((video.known < 0.5).any()):
        reason = (f"no hole pixels (the mask of {video.name} marks every pixel known: the composited output is "
                  f"the input)")
        out["unavailable"] = {name: reason for name in metrics}
        log.warning("%s: every metric unavailable: %s", video.name, reason)
        return out
    for name, metric in metrics.items():
        if video.is_reference and metric.needs_reference(has_gt=video.gt is not None):
            out["self_reference"].append(name)
            continue
        t0 = time.perf_counter()
        try:
            if isinstance(metric, SetMetric):
                out["features"][name] = metric.features(video)
            else:
                out["metrics"].update(metric.compute(video))
        except MetricUnavailable as exc:
            out["unavailable"][name] = str(exc)
            log.warning("%s: %s unavailable: %s", video.name, name, exc)
        out["timing_s"][name] = time.perf_counter() - t0
    if video.per_frame:
        out["per_frame"] = dict(video.per_frame)
    return out


def aggregate_rows(rows: Sequence[Mapping[str, Any]], specs: Mapping[str, MetricKey]) -> dict[str, dict[str, Any]]:
    """Per-key aggregates over per-video rows (``row["metrics"]``), keys in first-seen order; +inf of
    the keys whose spec says ``clip_inf`` clipped as VIE does."""
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row["metrics"] if k not in keys]
    return {k: aggregate((r["metrics"].get(k) for r in rows), clip_inf=k in specs and specs[k].clip_inf)
            for k in keys}


def pool_set_metrics(metrics: Mapping[str, Any], features: Mapping[str, Sequence[Any]],
                     num_videos: int, skip: Iterable[str] = ()) -> tuple[dict[str, float], dict[str, str]]:
    """Compute every set metric (FID, VFID) from its per-video features; missing features → unavailable.
    Metrics in ``skip`` (self-reference: a frame-wise run against itself) are not pooled."""
    values: dict[str, float] = {}
    unavailable: dict[str, str] = {}
    skip = set(skip)
    for name, metric in metrics.items():
        if not isinstance(metric, SetMetric) or num_videos == 0 or name in skip:
            continue
        feats = list(features.get(name, []))
        if len(feats) != num_videos:
            unavailable[name] = f"features missing for {num_videos - len(feats)} video(s)"
            continue
        try:
            values.update(metric.compute(feats))
        except MetricUnavailable as exc:
            unavailable[name] = str(exc)
    return values, unavailable


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
        "unavailable": {name: reason}, "metrics": {name: provenance (with its keys' MetricKey)},
        "higher_is_better": {key: bool}}``.
    """
    built = dict(metrics) if metrics is not None else build_metrics(metric_names, metric_options)[0]
    rows: list[dict[str, Any]] = []
    features: dict[str, list] = {name: [] for name, m in built.items() if isinstance(m, SetMetric)}
    unavailable: dict[str, str] = {}
    for video in videos:
        result = evaluate_video(video, built)
        for name, arrays in result.pop("features").items():
            features[name].append(arrays)
        for name, reason in result["unavailable"].items():
            unavailable.setdefault(name, reason)
        rows.append({"video": video.name, "num_frames": int(video.output.shape[0]), **result})
        log.info("%s: %s", video.name, ", ".join(f"{k}={v:.6g}" for k, v in result["metrics"].items()))

    specs = key_specs(built)
    aggregates = aggregate_rows(rows, specs)
    set_values, set_unavailable = pool_set_metrics(built, features, len(rows))
    for name, reason in set_unavailable.items():
        unavailable.setdefault(name, reason)
    higher = {key: spec.higher_is_better for key, spec in specs.items()}
    return {"videos": rows, "aggregate": aggregates, "set_metrics": set_values, "unavailable": unavailable,
            "metrics": {name: m.provenance() for name, m in built.items()}, "higher_is_better": higher}
