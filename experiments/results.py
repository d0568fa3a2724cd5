"""Write a run's ``results.json`` and ``results.csv``: one row per video plus aggregates."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from experiments.store import RunStore, atomic_write_bytes, atomic_write_json, read_json, seal
from hypercon.io.array_cache import UNREADABLE
from metrics.base import SetMetric, key_specs
from metrics.evaluate import aggregate_rows, pool_set_metrics

log = logging.getLogger(__name__)


def write_results(store: RunStore, videos: list[str], metrics: dict[str, Any], unavailable: dict[str, str],
                  provenance: dict[str, Any], complete: bool, failed: dict[str, str] | None = None) -> dict[str, Any]:
    """Collect the per-video records of ``videos``, pool set metrics, aggregate, write both files.

    ``failed`` ({video: one-line reason}) are listed as failed. A run that is not complete never replaces
    a ``results.json`` that was: the earlier complete aggregate is kept (and a warning says so)."""
    failed = dict(failed or {})
    rows = [store.load_record(v) for v in videos]
    aggregate = aggregate_rows(rows, key_specs(metrics))
    keys = list(aggregate)
    features: dict[str, list[Any]] = {}
    unreadable: dict[str, str] = {}
    for name, metric in metrics.items():
        if not isinstance(metric, SetMetric):
            continue
        features[name] = []
        for v in videos:
            if not store.features_path(v, name).is_file():
                continue
            try:
                features[name].append(store.load_features(v, name))
            except UNREADABLE as exc:
                unreadable[name] = (f"features of {v} unreadable ({store.features_path(v, name)}: {exc}); "
                                    "run again with overwrite=true")
    self_reference = sorted({name for row in rows for name in row.get("self_reference", [])})
    set_values, set_unavailable = pool_set_metrics(metrics, features, len(rows), skip=self_reference)
    for name, reason in unreadable.items():  # never a set value over fewer videos than the table says
        set_values = {k: v for k, v in set_values.items() if k != name and not k.startswith(f"{name}_")}
        set_unavailable[name] = reason
    unavailable = {**unavailable, **set_unavailable}
    for row in rows:
        for name, reason in row.get("unavailable", {}).items():
            unavailable.setdefault(name, reason)

    results = {
        "complete": complete,
        "num_videos": len(rows),
        "videos": rows,
        "failed": failed,
        "aggregate": aggregate,
        "set_metrics": set_values,
        "unavailable": unavailable,
        "self_reference": self_reference,
        "provenance": provenance,
    }
    if not complete and _complete_results(store):
        log.warning("%s holds the complete results of an earlier run: kept (this run did not finish; its "
                    "finished videos' records are in %s)", store.root / "results.json", store.root / "videos")
        return results
    atomic_write_json(store.root / "results.json", seal(results))
    atomic_write_bytes(store.root / "results.csv", _csv(rows, keys, aggregate, set_values, failed).encode())
    return results


def _complete_results(store: RunStore) -> bool:
    try:
        return bool(read_json(store.root / "results.json").get("complete"))
    except (OSError, ValueError):
        return False


def _csv(rows, keys, aggregate, set_values, failed) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["video", "method", "dataset", "num_frames", *keys])
    for r in rows:
        writer.writerow([r["video"], r["method"], r["dataset"], r["num_frames"],
                         *[r["metrics"].get(k, "") for k in keys]])
    method = rows[0]["method"] if rows else ""
    dataset = rows[0]["dataset"] if rows else ""
    if rows:  # no rows of empty aggregates
        writer.writerow(["mean", method, dataset, "", *[aggregate[k]["mean"] for k in keys]])
        writer.writerow(["sem", method, dataset, "", *[aggregate[k]["sem"] for k in keys]])
    for k, v in set_values.items():
        writer.writerow([f"set:{k}", method, dataset, "", *([v] + [""] * (len(keys) - 1) if keys else [v])])
    for video, reason in failed.items():
        writer.writerow([f"failed:{video}", method, dataset, "", reason])
    return buf.getvalue()

