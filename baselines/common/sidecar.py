"""Trained checkpoints and their sidecar JSON: what was trained, on what, and a digest that ties the two.

A trained checkpoint ``X.pt`` holds ``{"format": FORMAT, "modules": {module name: state_dict}}`` (tensors
only, ``weights_only=True``). Beside it, ``X.json`` (the sidecar) records:

``file``, ``sha256`` (of ``X.pt``), ``tier: "trained-here"``, ``recipe``, ``config`` (resolved), ``data``
(dataset name and root-independent options), ``trained_on`` (the sequence names the sampler drew from),
``split``, ``steps``, ``seed``, ``wall_s``, ``git_commit``, ``torch`` (version) and ``dtype``.

:func:`load_trained` always verifies the sidecar first. A component built from a trained checkpoint sets::

    trained = load_trained(checkpoint)            # a file path, or a manifest name (shipped checkpoint)
    net.load_state_dict(trained.modules["net"])   # fp16 shipped tensors are cast to the parameters' dtype
    self.tier = TRAINED_HERE                       # hypercon.component (class attribute in practice)
    self._weights_record = trained.record()        # {"file", "sha256", "trained_on", "steps", "split"}
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from hypercon.component import TRAINED_HERE
from hypercon.io.atomic import atomic_path, atomic_write_bytes
from hypercon.provenance import git_state
from hypercon.weights import WeightsError, resolve_weights, sha256_of
from hypercon.weights.manifest import stand_in_mark
from hypercon.weights.registry import refusal_reason

LOG = logging.getLogger(__name__)
FORMAT = "hypercon-trained/1"


class SidecarError(WeightsError):
    """A trained checkpoint has no sidecar, an unreadable one, or one whose sha256 does not match."""


def sidecar_path(checkpoint: str | Path) -> Path:
    """``X.pt`` → ``X.json``."""
    return Path(checkpoint).with_suffix(".json")


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Pretty, key-sorted JSON, written atomically."""
    atomic_write_bytes(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
    return Path(path)


def write_trained(checkpoint: str | Path, modules: dict[str, dict[str, torch.Tensor]],
                  meta: dict[str, Any]) -> Path:
    """Save ``modules`` (state dicts) to ``checkpoint`` atomically, then its sidecar with ``meta`` plus
    ``file``, ``sha256``, ``tier``, ``torch``, ``git_commit`` (unless given) and ``dtype``. Returns the sidecar."""
    checkpoint = Path(checkpoint)
    with atomic_path(checkpoint) as tmp:
        torch.save({"format": FORMAT, "modules": modules}, tmp)
    dtypes = {str(t.dtype).removeprefix("torch.") for sd in modules.values() for t in sd.values() if t.is_floating_point()}
    sidecar = {"git_commit": git_state()["commit"], **meta, "file": checkpoint.name, "sha256": sha256_of(checkpoint),
               "tier": TRAINED_HERE, "torch": torch.__version__, "format": FORMAT,
               "dtype": ",".join(sorted(dtypes)) or "none"}
    return write_json(sidecar_path(checkpoint), sidecar)


def verify_sidecar(checkpoint: str | Path) -> dict[str, Any]:
    """Read ``X.json`` beside ``checkpoint`` and check its sha256 against the file. Returns the sidecar.

    Raises:
        SidecarError: naming the file, when the sidecar is missing or unreadable or the digests differ.
    """
    checkpoint = Path(checkpoint)
    path = sidecar_path(checkpoint)
    if not checkpoint.is_file():
        raise SidecarError(f"trained checkpoint {checkpoint} does not exist")
    if not path.is_file():
        raise SidecarError(f"trained checkpoint {checkpoint} has no sidecar {path.name}: refusing to load a "
                           f"checkpoint whose data and training are unknown")
    try:
        sidecar = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SidecarError(f"sidecar {path} of {checkpoint} cannot be read ({exc})") from exc
    digest = sha256_of(checkpoint)
    if sidecar.get("sha256") != digest:
        raise SidecarError(f"trained checkpoint {checkpoint} has sha256 {digest}, but its sidecar {path} records "
                           f"{sidecar.get('sha256')}: the file was changed or the sidecar belongs to another file")
    return sidecar


@dataclass(frozen=True)
class TrainedCheckpoint:
    """A verified trained checkpoint: ``modules`` (name → state dict) and its ``sidecar``."""

    path: Path
    sidecar: dict[str, Any]
    modules: dict[str, dict[str, torch.Tensor]]
    stand_in: bool = False  # found by a name of the test manifest: results carry tier test

    def record(self) -> dict[str, Any]:
        """The component's weights record, carried into every result's provenance."""
        keys = ("sha256", "trained_on", "steps", "split")
        return {"file": str(self.path), **{k: self.sidecar.get(k) for k in keys}, **stand_in_mark(self.stand_in)}


def locate_trained(checkpoint: str | Path, weights_dir: str | Path | None = None) -> tuple[Path, bool]:
    """A file path as given, else a manifest name resolved by the registry (shipped checkpoints live in
    ``hypercon/weights/trained/``; the manifest's sha256 is checked there); and whether that name is a
    stand-in of the test manifest."""
    if Path(checkpoint).suffix == ".pt" or Path(checkpoint).exists():
        return Path(checkpoint), False
    resolved = resolve_weights(str(checkpoint), weights_dir=weights_dir)
    return resolved.path, resolved.entry.stand_in


def load_trained(checkpoint: str | Path, weights_dir: str | Path | None = None,
                 map_location: Any = "cpu") -> TrainedCheckpoint:
    """Verify the sidecar, then load the module state dicts (``weights_only=True``)."""
    path, stand_in = locate_trained(checkpoint, weights_dir)
    sidecar = verify_sidecar(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a file that matches a forged sidecar but holds more than tensors
        raise SidecarError(f"trained checkpoint {path} was refused by the safe loader ({refusal_reason(exc)}); "
                           "it is not a checkpoint this harness wrote: replace it") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise SidecarError(f"trained checkpoint {path} is not a {FORMAT} file")
    LOG.info("trained-here checkpoint %s: %d steps on %s (sha256 %s…)", path, sidecar.get("steps", 0),
             ", ".join(sidecar.get("trained_on") or []) or "?", sidecar["sha256"][:12])
    return TrainedCheckpoint(path, sidecar, state["modules"], stand_in)
