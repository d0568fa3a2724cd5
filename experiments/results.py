"""Write a run's ``results.json`` and ``results.csv``: one row per video plus aggregates."""

from __future__ import annotations

import csv
import io
import logging
from typing import Any

from experiments.store import RunStore, atomic_write_bytes, atomic_write_json
from metrics.base import SetMetric, key_specs
from metrics.evaluate import aggregate_rows, pool_set_metrics

log = logging.getLogger(__name__)


def write_results(store: RunStore, videos: list[str], metrics: dict[str, Any], unavailable: dict[str, str],
                  provenance: dict[str, Any], complete: bool) -> dict[str, Any]:
    """Collect the per-video records of ``videos``, pool set metrics, aggregate, write both files."""
    rows = [store.load_record(v) for v in videos]
    aggregate = aggregate_rows(rows, key_specs(metrics))
    keys = list(aggregate)
    features = {name: [store.load_features(v, name) for v in videos if store.features_path(v, name).is_file()]
                for name, metric in metrics.items() if isinstance(metric, SetMetric)}
    self_reference = sorted({name for row in rows for name in row.get("self_reference", [])})
    set_values, set_unavailable = pool_set_metrics(metrics, features, len(rows), skip=self_reference)
    unavailable = {**unavailable, **set_unavailable}
    for row in rows:
        for name, reason in row.get("unavailable", {}).items():
            unavailable.setdefault(name, reason)

    results = {
        "complete": complete,
        "num_videos": len(rows),
        "videos": rows,
        "aggregate": aggregate,
        "set_metrics": set_values,
        "unavailable": unavailable,
        "self_reference": self_reference,
        "provenance": provenance,
    }
    atomic_write_json(store.root / "results.json", results)
    atomic_write_bytes(store.root / "results.csv", _csv(rows, keys, aggregate, set_values).encode())
    return results


def _csv(rows, keys, aggregate, set_values) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["video", "method", "dataset", "num_frames", *keys])
    for r in rows:
        writer.writerow([r["video"], r["method"], r["dataset"], r["num_frames"],
                         *[r["metrics"].get(k, "") for k in keys]])
    method = rows[0]["method"] if rows else ""
    dataset = rows[0]["dataset"] if rows else ""
    writer.writerow(["mean", method, dataset, "", *[aggregate[k]["mean"] for k in keys]])
    writer.writerow(["sem", method, dataset, "", *[aggregate[k]["sem"] for k in keys]])
    for k, v in set_values.items():
        writer.writerow([f"set:{k}", method, dataset, "", *([v] + [""] * (len(keys) - 1) if keys else [v])])
    return buf.getvalue()

