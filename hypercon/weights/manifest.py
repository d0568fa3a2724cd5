"""Manifest side of the weights registry: entries of ``hypercon/weights.json``, errors, file hashing.

The manifest (data, not code) lists every pretrained file the harness knows: role, file name, upstream
URL, published digest (``sha256``, or the ``sha256_prefix`` upstream encodes in the file name), format,
licence, and the component ``tier`` its weights give (``paper`` unless stated; ``trained-here`` for
checkpoints trained in this project, shipped in :data:`TRAINED_DIR` with a ``sidecar`` JSON beside them).
``$HYPERCON_WEIGHTS_MANIFEST`` names an extra JSON file of the same layout whose entries replace
or add to the built-in ones by name (tests register random-weight stand-ins with their own digests).
Every entry read from that file is a stand-in (``WeightsEntry.stand_in``): whatever tier it declares, what it
loads has tier ``test`` (:attr:`ResolvedWeights.tier`, recorded by :meth:`ResolvedWeights.record`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hypercon.component import TEST
from hypercon.errors import UserError

__all__ = ["ENV_DIR", "ENV_LOCK", "ENV_MANIFEST", "LOCK_NAME", "MANIFEST_PATH", "TRAINED_DIR", "MissingWeightsError",
           "ResolvedWeights", "WeightsEntry", "WeightsError", "WeightsHashError", "load_manifest", "manifest_entry",
           "sha256_of"]

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "weights.json"
TRAINED_DIR = Path(__file__).resolve().parent / "trained"  # package data: shipped trained-here checkpoints
LOCK_NAME = "hypercon-weights.lock.json"
ENV_DIR = "HYPERCON_WEIGHTS"
ENV_MANIFEST = "HYPERCON_WEIGHTS_MANIFEST"
ENV_LOCK = "HYPERCON_WEIGHTS_LOCK"


class WeightsError(UserError, RuntimeError):
    """A pretrained file cannot be used (unknown name, bad manifest, refused format)."""


class MissingWeightsError(WeightsError):
    """A pretrained file was not found; the message says which file, where to put it and its source."""


class WeightsHashError(WeightsError):
    """A pretrained file's sha256 does not match the manifest or the lock file."""


@dataclass(frozen=True)
class WeightsEntry:
    """One manifest entry (see ``hypercon/weights.json``)."""

    name: str
    file: str
    role: str = ""
    url: str | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None
    format: str = "torch state_dict"
    legacy_pickle: bool = False
    licence: str = ""
    source: str = ""
    download: str = "direct"  # direct | archive | manual | bundled (shipped in TRAINED_DIR)
    archive_member: str | None = None
    aliases: tuple[str, ...] = ()
    tier: str = "paper"  # paper | trained-here (hypercon.component.TIERS)
    sidecar: str | None = None  # trained-here: the sidecar JSON beside the file (config, data, trained_on)
    #: companion files of a multi-file export (e.g. Engstrom's deeplearn.js folders): path relative to the
    #: folder of ``file`` → sha256. Each is verified with the main file; a mismatch names the companion.
    files: dict[str, str] | None = None
    #: a legacy pickle's known format (key of ``hypercon.weights.registry.PICKLE_FORMATS``): the only
    #: globals the restricted unpickler admits besides tensors and plain containers
    pickle_format: str | None = None
    #: read from ``$HYPERCON_WEIGHTS_MANIFEST`` (set by :func:`load_manifest`, never by the file itself)
    stand_in: bool = False

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any], origin: str) -> "WeightsEntry":
        if not isinstance(data, dict) or not data.get("file"):
            raise WeightsError(f"{origin}: entry {name!r} must be an object with a 'file' field")
        known = {f for f in cls.__dataclass_fields__ if f not in ("name", "stand_in")}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["aliases"] = tuple(kwargs.get("aliases") or ())
        for key in ("sha256", "sha256_prefix"):
            if kwargs.get(key) is not None:
                kwargs[key] = str(kwargs[key]).lower()
        if kwargs.get("files") is not None:
            if not isinstance(kwargs["files"], dict):
                raise WeightsError(f"{origin}: entry {name!r}: 'files' must map relative paths to sha256")
            kwargs["files"] = {str(k): str(v).lower() for k, v in kwargs["files"].items()}
        return cls(name=name, **kwargs)

    def candidates(self) -> tuple[str, ...]:
        """Relative paths tried in every weights folder: the file name, then the aliases."""
        return (self.file, *self.aliases)


def stand_in_mark(stand_in: bool) -> dict[str, str]:
    """What a weights record adds for a stand-in (``{"tier": "test"}``), else nothing."""
    return {"tier": TEST} if stand_in else {}


@dataclass(frozen=True)
class ResolvedWeights:
    """A located file: ``verified`` is True when its sha256 matched the manifest or the lock file."""

    name: str
    path: Path
    sha256: str
    verified: bool
    entry: WeightsEntry
    verified_by: str | None = None  # "sha256" | "sha256_prefix" | "lock" | None
    found_in: str = ""  # "explicit path" | "weights dir" | "torch hub cache"

    @property
    def tier(self) -> str:
        """``test`` for a stand-in from a test manifest, else the entry's declared tier."""
        return TEST if self.entry.stand_in else self.entry.tier

    def record(self) -> dict[str, str]:
        """``{"file": ..., "sha256": ...}`` for provenance (``Component._weights_record``), with
        ``"tier": "test"`` for a stand-in (:func:`hypercon.component.weights_tier` reads it)."""
        return {"file": str(self.path), "sha256": self.sha256, **stand_in_mark(self.entry.stand_in)}


# ----------------------------------------------------------------------------------------- manifest


def _read_entries(path: Path) -> dict[str, WeightsEntry]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"weights manifest {path}: cannot read it ({exc})") from exc
    raw = data.get("entries", data) if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        raise WeightsError(f"weights manifest {path}: expected an object with an 'entries' object")
    return {n: WeightsEntry.from_dict(n, e, str(path)) for n, e in raw.items() if not n.startswith("_")}


def load_manifest() -> dict[str, WeightsEntry]:
    """All entries: the built-in manifest, overlaid by ``$HYPERCON_WEIGHTS_MANIFEST`` if set (stand-ins)."""
    entries = _read_entries(MANIFEST_PATH)
    override = os.environ.get(ENV_MANIFEST)
    if override:
        if not Path(override).is_file():
            raise WeightsError(f"${ENV_MANIFEST}={override}: no such file")
        entries.update({n: replace(e, stand_in=True) for n, e in _read_entries(Path(override)).items()})
    return entries


def manifest_entry(name: str) -> WeightsEntry:
    entries = load_manifest()
    if name not in entries:
        raise WeightsError(f"unknown weights name {name!r} (manifest {MANIFEST_PATH}); known: "
                           f"{', '.join(sorted(entries))}")
    return entries[name]


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file (cached per path, size and mtime within the process)."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASH_CACHE:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while block := f.read(chunk):
                digest.update(block)
        _HASH_CACHE[key] = digest.hexdigest()
    return _HASH_CACHE[key]
