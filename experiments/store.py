"""The on-disk result store of one run (one Hydra job).

Layout under the job's output directory::

    provenance.json                     run-level provenance (config, hash, code, packages, components)
    masks/<video>.png                   inpainting masks used (white = known)
    videos/<video>/frames/00000.png     output frames (lossless)
    videos/<video>/<video>.mp4          the same, for viewing
    videos/<video>/features-<metric>.npz  per-video features of set metrics (FID, VFID)
    videos/<video>/metrics.json         per-video record; written LAST and atomically: its presence with
                                        "complete": true and the run's config hash marks the video done
    results.json / results.csv          one row per video + aggregates (mean ± SEM) + set metrics

All writes go through :func:`atomic_write_bytes` (write to a temporary file in the same folder, then
``os.replace``), so a killed run never leaves a half-written file that looks complete.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hypercon.io.atomic import atomic_write_bytes


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

    def mask_dir(self) -> Path:
        return self.root / "masks"

    def is_complete(self, video: str, config_hash: str) -> bool:
        """True when the video's record exists, is readable, complete, and from this config."""
        path = self.record_path(video)
        if not path.is_file():
            return False
        try:
            record = read_json(path)
        except (OSError, ValueError):
            return False
        return bool(record.get("complete")) and record.get("config_hash") == config_hash

    def save_record(self, video: str, record: dict[str, Any]) -> None:
        atomic_write_json(self.record_path(video), record)

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
