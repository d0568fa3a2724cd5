"""Pretrained weights: manifest ``hypercon/weights.json``, lookup, sha256 checks, safe loading, CLI.

    from hypercon.weights import resolve_weights, load_checkpoint
    resolved = resolve_weights("i3d_rgb_imagenet", path=None, weights_dir=cfg.paths.weights_dir)
    state = load_checkpoint(resolved)          # torch.load(weights_only=True); legacy pickles: restricted
    self._weights_record = resolved.record()   # {"file": ..., "sha256": ...} for provenance

Command line: ``python -m hypercon.weights status [-v] | download [NAMES] | record NAME [--trust-pickle]``.
"""

from hypercon.weights.manifest import (
    ENV_DIR,
    ENV_LOCK,
    ENV_MANIFEST,
    LOCK_NAME,
    MANIFEST_PATH,
    TRAINED_DIR,
    MissingWeightsError,
    ResolvedWeights,
    WeightsEntry,
    WeightsError,
    WeightsHashError,
    load_manifest,
    manifest_entry,
    sha256_of,
)
from hypercon.weights.registry import (
    PICKLE_FORMATS,
    check_companions,
    check_digest,
    hub_checkpoints_dir,
    load_checkpoint,
    lock_path,
    record_weights,
    require_weights,
    resolve_weights,
    restricted_pickle_load,
    weights_dirs,
    weights_status,
)

__all__ = [
    "ENV_DIR", "ENV_LOCK", "ENV_MANIFEST", "LOCK_NAME", "MANIFEST_PATH", "PICKLE_FORMATS", "TRAINED_DIR",
    "MissingWeightsError", "ResolvedWeights", "WeightsEntry", "WeightsError", "WeightsHashError", "check_companions",
    "check_digest",
    "hub_checkpoints_dir", "load_checkpoint", "load_manifest", "lock_path", "manifest_entry",
    "record_weights", "require_weights", "resolve_weights", "restricted_pickle_load", "sha256_of", "weights_dirs",
    "weights_status",
]
