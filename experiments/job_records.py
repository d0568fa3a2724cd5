"""One job's results, read as data to verify: :func:`load_job`.

A job folder holds ``results.json`` or, when the process was killed before writing it, ``provenance.json``
plus per-video ``videos/<v>/metrics.json`` records (:mod:`experiments.store`). Each file is checked against
its seal (:func:`experiments.store.seal_state`) before use, and the aggregate is recomputed from the
records kept: a report never shows a value that was edited after the run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from experiments.store import RunStore, read_json, seal_state
from metrics.base import specs_from_provenance
from metrics.evaluate import aggregate_rows

log = logging.getLogger("experiments.collect")


def _read_sealed(path: Path) -> dict[str, Any] | None:
    """A JSON record that passes its seal (:func:`experiments.store.seal_state`; one without a seal, written
    before records were sealed, is accepted with a warning); None when absent, unreadable or changed after
    it was written (a warning names the file)."""
    if not path.is_file():
        return None
    try:
        data = read_json(path)
    except (OSError, ValueError) as exc:
        log.warning("%s: unreadable (%s); not used", path, exc)
        return None
    state = seal_state(data)
    if state == "tampered":
        log.warning("%s fails its digest (changed after it was written, e.g. by hand): not used", path)
        return None
    if state == "unsealed":
        log.warning("%s has no digest (written before records were sealed): its values are unverified", path)
    return data


def _trusted_rows(job_dir: Path, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(the per-video records that pass their seal or have none, {video: why} of those that fail it)."""
    kept, untrusted, unsealed = [], {}, 0
    for row in rows:
        state = seal_state(row)
        if state == "tampered":
            path = RunStore(job_dir).record_path(str(row.get("video")))
            untrusted[str(row.get("video"))] = (f"record {path} fails its digest (changed after it was written): "
                                                "not reported; rerun the job to recompute it")
            log.warning("%s", untrusted[str(row.get("video"))])
            continue
        unsealed += state == "unsealed"
        kept.append(row)
    if unsealed:
        log.warning("%s: %d per-video record(s) without a digest (written before records were sealed): their "
                    "values are unverified", job_dir, unsealed)
    return kept, untrusted


def _rebuild(job_dir: Path) -> dict[str, Any] | None:
    """A job's results from ``provenance.json`` and its per-video records of the same config hash
    (``complete`` False); None without a usable ``provenance.json``."""
    provenance = _read_sealed(job_dir / "provenance.json")
    if provenance is None:
        return None
    rows, failed = [], {}
    for record_path in sorted((job_dir / "videos").glob("*/metrics.json")):
        try:
            record = read_json(record_path)
        except (OSError, ValueError):
            continue
        if record.get("config_hash") != provenance.get("config_hash"):
            continue
        if record.get("complete"):
            rows.append(record)
        elif record.get("status") == "failed":
            failed[str(record.get("video"))] = str(record.get("reason", "failed"))
    return {"complete": False, "num_videos": len(rows), "videos": rows, "failed": failed, "set_metrics": {},
            "unavailable": dict(provenance.get("unavailable_metrics", {}) or {}), "provenance": provenance}


def load_job(job_dir: Path) -> dict[str, Any] | None:
    """The results dict of one job: ``results.json`` if present and intact, else rebuilt from
    ``provenance.json`` and the complete per-video records of the same config hash (``complete`` False).
    None if neither is usable.

    Records are data to verify: a ``results.json`` that fails its digest is not read (the job is rebuilt
    from its records, and a warning says so); a per-video record that fails its digest is left out and
    listed in ``failed`` with the reason (its table cells then say "failed", never its value). Files
    written before records were sealed are used, with a warning that they are unverified. The aggregate is
    always recomputed from the records kept; a stored one is never read."""
    job_dir = Path(job_dir)
    results = _read_sealed(job_dir / "results.json")
    if results is None or results.get("status") == "unavailable":
        results = results or _rebuild(job_dir)
        if results is None or results.get("status") == "unavailable":
            return results
    rows, untrusted = _trusted_rows(job_dir, list(results.get("videos", [])))
    specs = specs_from_provenance((results.get("provenance") or {}).get("metrics", {}))
    results.update(videos=rows, num_videos=len(rows), failed={**(results.get("failed") or {}), **untrusted},
                   aggregate=aggregate_rows(rows, specs))
    if untrusted:
        results["complete"] = False
    return results
