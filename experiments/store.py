"""The on-disk result store of one run (one Hydra job).

Layout under the job's output directory::

    provenance.json                     run-level provenance (config, hash, code, packages, components)
    masks/<video>.png                   inpainting masks used (white = known)
    inputs/<video>/frames/00000.png     the input frames as evaluated (save_inputs; default: generated data)
    videos/<video>/frames/00000.png     output frames (lossless)
    videos/<video>/<video>.mp4          the same, for viewing
    videos/<video>/features-<metric>.npz  per-video features of set metrics (FID, VFID)
    videos/<video>/error_maps.npz       per-pixel E_warp maps (save_error_maps): error [T-1,H,W] float16,
                                        keep [T-1,H,W] bool, per_pair [T-1] float64 (:func:`save_error_maps`)
    videos/<video>/metrics.json         per-video record; written LAST and atomically: its presence with
                                        "complete": true, the run's config hash, the digest of the input
                                        as read and readable feature files marks the video done; a video
                                        that failed has "status": "failed" and its one-line "reason"
    results.json / results.csv          one row per video + aggregates (mean ± SEM) + set metrics

All writes go through :func:`atomic_write_bytes` (write to a temporary file in the same folder, then
``os.replace``), so a killed run never leaves a half-written file that looks complete.

Records are data to verify: every per-video record, ``results.json`` and ``provenance.json`` is written
*sealed* (:func:`seal`: a ``"digest"`` key, the sha256 of the rest as it is stored), and
:func:`seal_state` tells a reader whether a record is as written (``verified``), was changed after it was
written (``tampered``: edited by hand, or by anything but this store) or predates sealing (``unsealed``). A
seal is no signature: it stops accidents and hand edits from passing as results, not a forger who
recomputes it (the config and inputs of a record are also checked against the run on resume).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from hypercon.io.array_cache import UNREADABLE
from hypercon.io.atomic import atomic_write_bytes

log = logging.getLogger(__name__)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _sanitize(obj: Any) -> Any:
    """JSON has no inf/NaN: write them as strings "inf", "-inf", "nan"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _sanitize(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_sanitize(v) for v in obj]
    return obj


#: the key of a sealed record that holds its digest
DIGEST_KEY = "digest"


def _stored_digest(record: dict[str, Any]) -> str:
    """sha256 of ``record`` without its digest, as :func:`atomic_write_json` stores it (non-finite floats
    as strings, NumPy scalars as Python numbers, keys sorted): equal before writing and after reading."""
    body = {k: v for k, v in record.items() if k != DIGEST_KEY}
    text = json.dumps(_sanitize(body), sort_keys=True, default=_json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def seal(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its ``"digest"`` set (a new dict; an old digest is replaced)."""
    return {**{k: v for k, v in record.items() if k != DIGEST_KEY}, DIGEST_KEY: _stored_digest(record)}


def seal_state(record: Any) -> str:
    """``"verified"`` (the digest matches), ``"tampered"`` (it does not, or is not a string) or
    ``"unsealed"`` (no digest: written before records were sealed)."""
    if not isinstance(record, dict) or DIGEST_KEY not in record:
        return "unsealed"
    return "verified" if record[DIGEST_KEY] == _stored_digest(record) else "tampered"


def atomic_write_json(path: Path, obj: Any) -> None:
    text = json.dumps(_sanitize(obj), indent=2, sort_keys=False, default=_json_default)
    atomic_write_bytes(path, text.encode())


def read_json(path: Path) -> Any:
    def _restore(v: Any) -> Any:
        if isinstance(v, str) and v in ("inf", "-inf", "nan"):
            return float(v)
        if isinstance(v, dict):
            return {k: _restore(x) for k, x in v.items()}
        if isinstance(v, list):
            return [_restore(x) for x in v]
        return v

    with open(path) as fh:
        return _restore(json.load(fh))


class RunStore:
    """Paths and records of one run directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def video_dir(self, video: str) -> Path:
        return self.root / "videos" / video

    def frames_dir(self, video: str) -> Path:
        return self.video_dir(video) / "frames"

    def record_path(self, video: str) -> Path:
        return self.video_dir(video) / "metrics.json"

    def features_path(self, video: str, metric: str) -> Path:
        return self.video_dir(video) / f"features-{metric}.npz"

    def error_maps_path(self, video: str) -> Path:
        return self.video_dir(video) / "error_maps.npz"

    def save_error_maps(self, video: str, maps: dict[str, Any]) -> None:
        """E_warp's per-pixel maps of one video (``{"error", "keep", "per_pair"}`` tensors, see
        :func:`metrics.warping_error.warping_error`), compressed: ``error`` as float16 (a pair's mean over its
        kept pixels is its E_warp to float16 precision, ~1e-3 relative), ``keep`` as bool, ``per_pair`` exact."""
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, error=maps["error"].numpy().astype(np.float16), keep=maps["keep"].numpy(),
                            per_pair=maps["per_pair"].numpy().astype(np.float64))
        atomic_write_bytes(self.error_maps_path(video), buf.getvalue())

    def load_error_maps(self, video: str) -> dict[str, np.ndarray]:
        with np.load(self.error_maps_path(video)) as data:
            return {k: data[k] for k in data.files}

    def mask_dir(self) -> Path:
        return self.root / "masks"

    def inputs_dir(self, video: str) -> Path:
        return self.root / "inputs" / video / "frames"

    def is_complete(self, video: str, config_hash: str, input_digest: str | None = None,
                    weights_digest: str | None = None) -> bool:
        """True when the video's record exists, is readable, passes its seal (:func:`seal_state`), is
        complete, from this config, (when given) from the same input content and the same loaded model
        files (``weights_digest``), and its set-metric feature files read. A record failing its seal or
        without one is logged and recomputed."""
        path = self.record_path(video)
        if not path.is_file():
            return False
        try:
            record = read_json(path)
        except (OSError, ValueError):
            log.warning("%s unreadable; %s is recomputed", path, video)
            return False
        if not self._sealed(path, record, video):
            return False
        if not (record.get("complete") and record.get("config_hash") == config_hash):
            return False
        if input_digest is not None and record.get("input_digest") != input_digest:
            log.info("%s: the input differs from the one its record was made from; recomputed", video)
            return False
        if weights_digest is not None and record.get("weights_digest") != weights_digest:
            log.warning("%s: a model file differs from the one its record was made with (sha256 of the loaded "
                        "files); recomputed", video)
            return False
        return self._features_readable(video, record)

    @staticmethod
    def _sealed(path: Path, record: dict[str, Any], video: str) -> bool:
        state = seal_state(record)
        if state == "tampered":
            log.warning("%s fails its digest (changed after it was written, e.g. by hand); %s is recomputed",
                        path, video)
        elif state == "unsealed":
            log.warning("%s has no digest (written before records were sealed); %s is recomputed", path, video)
        return state == "verified"

    def _features_readable(self, video: str, record: dict[str, Any]) -> bool:
        for metric in record.get("features", []):
            try:
                self.load_features(video, metric)
            except UNREADABLE as exc:
                log.warning("%s unreadable (%s); %s is recomputed", self.features_path(video, metric), exc, video)
                return False
        return True

    def previous_config(self) -> tuple[str, dict[str, Any] | None] | None:
        """(config hash, resolved config) of the results already in this folder, or None when it holds
        none: from ``provenance.json``, else from a per-video record (hash only). A file that fails its digest
        is not believed."""
        try:
            provenance = read_json(self.root / "provenance.json")
            if seal_state(provenance) != "tampered":
                return str(provenance.get("config_hash")), provenance.get("config")
            log.warning("%s fails its digest (edited by hand?): the folder's config is read from its verified "
                        "records instead", self.root / "provenance.json")
        except (OSError, ValueError):
            pass
        for path in sorted(self.root.glob("videos/*/metrics.json")):
            try:
                record = read_json(path)
            except (OSError, ValueError):
                continue
            if seal_state(record) != "tampered" and record.get("config_hash"):
                return str(record["config_hash"]), None
        return None

    def save_failed(self, video: str, config_hash: str, reason: str) -> None:
        """Record that ``video`` failed (not complete: a later run retries it)."""
        self.save_record(video, {"video": video, "status": "failed", "complete": False,
                                 "config_hash": config_hash, "reason": reason})

    def save_record(self, video: str, record: dict[str, Any]) -> None:
        """Write ``video``'s record, sealed (:func:`seal`)."""
        atomic_write_json(self.record_path(video), seal(record))

    def load_record(self, video: str) -> dict[str, Any]:
        return read_json(self.record_path(video))

    def save_features(self, video: str, metric: str, arrays: dict[str, np.ndarray]) -> None:
        import io

        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(self.features_path(video, metric), buf.getvalue())

    def load_features(self, video: str, metric: str) -> dict[str, np.ndarray]:
        with np.load(self.features_path(video, metric)) as data:
            return {k: data[k] for k in data.files}
