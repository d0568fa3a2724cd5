"""The weights registry: find a pretrained file, check its sha256, load it safely.

Entries come from the manifest ``hypercon/weights.json`` (see :mod:`hypercon.weights.manifest`).

Lookup order for a name (:func:`resolve_weights`):

1. an explicit ``path`` (a file, or a folder holding the entry's file) — no fallback if it is missing;
1b. for ``trained-here`` entries, the package folder ``hypercon/weights/trained/`` (checkpoints trained in
   this project and shipped with it, see :data:`TRAINED_DIR`);
2. the weights folder: the ``weights_dir`` argument (config ``paths.weights_dir``), then ``$HYPERCON_WEIGHTS``;
3. the torch hub cache ``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``), where
   torchvision, lpips and pytorch-fid put their downloads.

In each folder the entry's ``file`` is tried, then its ``aliases`` (relative paths). The file's sha256 is
checked before use: against the manifest's full digest or published prefix, else against the user's lock
file (``<weights_dir>/hypercon-weights.lock.json``, written by ``python -m hypercon.weights record NAME``);
with neither the file is used but marked unverified. A mismatch raises :class:`WeightsHashError`.
Multi-file entries (manifest ``files``, e.g. Engstrom's deeplearn.js folders) have every companion file
checked too (:func:`check_companions`). Loading (:func:`load_checkpoint`) never runs code from a file:
``torch.load(weights_only=True)``, and for the named legacy pickles a restricted unpickler admitting only
their format's types (:data:`PICKLE_FORMATS`). Nothing here downloads (see :mod:`hypercon.weights.download`).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypercon.component import TEST, TRAINED_HERE
from hypercon.io.atomic import atomic_write_bytes
from hypercon.weights.manifest import (
    ENV_DIR,
    ENV_LOCK,
    LOCK_NAME,
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

__all__ = ["PICKLE_FORMATS", "check_companions", "check_digest", "hub_checkpoints_dir", "load_checkpoint", "lock_path",
           "record_weights", "require_weights", "resolve_weights", "restricted_pickle_load", "weights_dirs",
           "weights_status"]

LOG = logging.getLogger(__name__)


def hub_checkpoints_dir() -> Path:
    """``torch.hub.get_dir()/checkpoints`` (``$TORCH_HOME/hub/checkpoints``)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def weights_dirs(weights_dir: str | Path | None = None, entry: WeightsEntry | None = None) -> list[tuple[str, Path]]:
    """The folders searched, in order: ``(label, path)``; the package's trained folder first for a
    ``trained-here`` ``entry``."""
    dirs: list[tuple[str, Path]] = []
    if entry is not None and entry.tier == TRAINED_HERE:
        dirs.append(("package", TRAINED_DIR))
    for label, d in (("weights dir", weights_dir), (f"${ENV_DIR}", os.environ.get(ENV_DIR))):
        if d and all(Path(d) != p for _, p in dirs):
            dirs.append((label, Path(d).expanduser()))
    dirs.append(("torch hub cache", hub_checkpoints_dir()))
    return dirs


def lock_path(weights_dir: str | Path | None = None) -> Path:
    """The user's lock file: ``$HYPERCON_WEIGHTS_LOCK``, else in the weights folder, else the hub cache."""
    if os.environ.get(ENV_LOCK):
        return Path(os.environ[ENV_LOCK]).expanduser()
    base = weights_dir or os.environ.get(ENV_DIR)
    return (Path(base).expanduser() if base else hub_checkpoints_dir()) / LOCK_NAME


def read_lock(weights_dir: str | Path | None = None) -> dict[str, dict[str, str]]:
    path = lock_path(weights_dir)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text()).get("entries", {})
    except (OSError, json.JSONDecodeError, AttributeError) as exc:
        raise WeightsError(f"weights lock file {path}: cannot read it ({exc}); delete it and re-record") from exc


def check_digest(entry: WeightsEntry, path: Path, digest: str,
                 weights_dir: str | Path | None = None) -> str | None:
    """Compare ``digest`` with the manifest, else the lock file. Returns how it was verified (None: not).

    Raises:
        WeightsHashError: naming the file and both digests, on any mismatch.
    """
    if entry.sha256:
        expected, how, ok = entry.sha256, "sha256", digest == entry.sha256
    elif entry.sha256_prefix:
        expected, how = entry.sha256_prefix + "…", "sha256_prefix"
        ok = digest.startswith(entry.sha256_prefix)
    else:
        locked = read_lock(weights_dir).get(entry.name)
        if not locked:
            return None
        expected, how, ok = locked.get("sha256", ""), "lock", digest == locked.get("sha256")
    if not ok:
        where = f"the lock file {lock_path(weights_dir)}" if how == "lock" else "the manifest"
        raise WeightsHashError(
            f"weights {entry.name!r}: file {path} has sha256 {digest}, but {where} expects {expected}. "
            f"Refusing to use it: replace the file with the original from {entry.url or entry.source}"
            + (f" (or re-record it with `python -m hypercon.weights record {entry.name}`)" if how == "lock" else ""))
    return how


def check_companions(entry: WeightsEntry, path: Path) -> int:
    """Verify the companion files of a multi-file entry (manifest ``files``: path relative to the folder of
    ``path`` → sha256). Returns how many were checked.

    Raises:
        MissingWeightsError: a companion file is missing (one line naming it).
        WeightsHashError: a companion's sha256 differs (one line naming the file and both digests).
    """
    for rel, expected in (entry.files or {}).items():
        companion = path.parent / rel
        if not companion.is_file():
            raise MissingWeightsError(f"weights {entry.name!r}: file {companion} is missing; restore the folder "
                                      f"{path.parent} from {entry.url or entry.source}")
        digest = sha256_of(companion)
        if digest != expected:
            raise WeightsHashError(
                f"weights {entry.name!r}: file {companion} has sha256 {digest}, but the manifest expects "
                f"{expected}. Refusing to use it: replace it with the original from {entry.url or entry.source}")
    return len(entry.files or {})


# ------------------------------------------------------------------------------------------- lookup


def _missing_message(entry: WeightsEntry, tried: list[Path], weights_dir: str | Path | None) -> str:
    if entry.tier == TRAINED_HERE:
        target = TRAINED_DIR / entry.file  # shipped with the package: a fresh clone has it
    else:
        target = Path(weights_dir or os.environ.get(ENV_DIR) or hub_checkpoints_dir()) / entry.file
    lines = [
        f"weights {entry.name!r} ({entry.role or entry.format}): file {entry.file!r} not found.",
        f"  Put it at {target}",
        f"  (weights folder: config key paths.weights_dir or env {ENV_DIR}; the torch hub cache "
        f"{hub_checkpoints_dir()} is searched too).",
        f"  Source: {entry.url or entry.source or 'unknown'}"
        + (f" (member {entry.archive_member} of the archive)" if entry.archive_member else ""),
    ]
    if entry.download in ("direct", "archive") and entry.url:
        lines.append(f"  With internet: python -m hypercon.weights download {entry.name}")
    lines.append("  Looked in: " + ", ".join(str(p) for p in tried))
    return "\n".join(lines)


def _find(entry: WeightsEntry, path: str | Path | None,
          weights_dir: str | Path | None) -> tuple[Path, str, list[Path]]:
    tried: list[Path] = []
    if path is not None:
        p = Path(path).expanduser()
        cands = [p / c for c in entry.candidates()] if p.is_dir() else [p]
        for c in cands:
            tried.append(c)
            if c.is_file():
                return c, "explicit path", tried
        raise MissingWeightsError(_missing_message(entry, tried, weights_dir)
                                  + f"\n  (an explicit path was given: {p})")
    for label, d in weights_dirs(weights_dir, entry):
        for c in entry.candidates():
            tried.append(d / c)
            if (d / c).is_file():
                return d / c, label, tried
    raise MissingWeightsError(_missing_message(entry, tried, weights_dir))


def resolve_weights(name: str, path: str | Path | None = None,
                    weights_dir: str | Path | None = None) -> ResolvedWeights:
    """Locate the manifest entry ``name``'s file and check its sha256 (see the module docstring).

    Raises:
        WeightsError: unknown name. MissingWeightsError: file not found (message: file, where, URL).
        WeightsHashError: digest mismatch.
    """
    entry = manifest_entry(name)
    found, where, _ = _find(entry, path, weights_dir)
    digest = sha256_of(found)
    how = check_digest(entry, found, digest, weights_dir)
    check_companions(entry, found)
    if how is None:
        LOG.warning("weights %r: %s is unverified (no published hash; sha256 %s). Record it with "
                    "`python -m hypercon.weights record %s` once you trust the file.", name, found, digest, name)
    else:
        LOG.debug("weights %r: %s verified by %s", name, found, how)
    return ResolvedWeights(name, found, digest, how is not None, entry, verified_by=how, found_in=where)


def require_weights(names: list[str], weights_dir: str | Path | None = None) -> dict[str, ResolvedWeights]:
    """Resolve every name up front; raise one :class:`MissingWeightsError` listing all missing files.

    Hash mismatches are collected too and raised as one :class:`WeightsHashError` (after the missing ones).
    """
    resolved: dict[str, ResolvedWeights] = {}
    missing: list[str] = []
    bad: list[str] = []
    for name in dict.fromkeys(names):
        try:
            resolved[name] = resolve_weights(name, weights_dir=weights_dir)
        except MissingWeightsError as exc:
            missing.append(str(exc))
        except WeightsHashError as exc:
            bad.append(str(exc))
    if missing:
        raise MissingWeightsError(f"{len(missing)} pretrained file(s) missing for this run:\n"
                                  + "\n".join(missing) + ("\n" + "\n".join(bad) if bad else ""))
    if bad:
        raise WeightsHashError("\n".join(bad))
    return resolved


# ------------------------------------------------------------------------------------------ loading


#: Known legacy-pickle formats (manifest ``pickle_format``) → the only globals their unpickler admits, besides
#: what ``torch.load(weights_only=True)`` admits (tensors, storages, plain containers and numbers).
PICKLE_FORMATS: dict[str, tuple[str, ...]] = {
    # avinashpaliwal/Super-SloMo's SuperSloMo.ckpt: {'state_dictFC', 'state_dictAT', 'timestamp': datetime, ...}
    "superslomo": ("datetime.datetime",),
    # Lai et al.'s options: a Python-2 pickle of an argparse Namespace (protocol 0 → copy_reg._reconstructor)
    "argparse_namespace": ("argparse.Namespace", "copyreg._reconstructor", "builtins.object"),
}


def _pickle_globals(entry: WeightsEntry) -> tuple[str, ...]:
    if entry.pickle_format is None:
        return ()
    if entry.pickle_format not in PICKLE_FORMATS:
        raise WeightsError(f"weights {entry.name!r}: unknown pickle_format {entry.pickle_format!r}; known: "
                           f"{', '.join(sorted(PICKLE_FORMATS))}")
    return PICKLE_FORMATS[entry.pickle_format]


def _import_global(qualname: str) -> Any:
    import importlib

    module, _, name = qualname.rpartition(".")
    return getattr(importlib.import_module(module), name)


def restricted_pickle_load(path: str | Path, allowed: tuple[str, ...], encoding: str = "latin1") -> Any:
    """Unpickle a plain Python pickle admitting only the globals named in ``allowed`` (``"module.name"``,
    Python-3 names: Python-2 names such as ``copy_reg`` are mapped first). Anything else — ``os.system``,
    ``builtins.eval``, any class not listed — raises ``pickle.UnpicklingError`` before it is called."""
    import _compat_pickle
    import pickle

    class _Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            mod, nm = module, name
            if (mod, nm) in _compat_pickle.NAME_MAPPING:
                mod, nm = _compat_pickle.NAME_MAPPING[(mod, nm)]
            mod = _compat_pickle.IMPORT_MAPPING.get(mod, mod)
            if f"{mod}.{nm}" not in allowed:
                raise pickle.UnpicklingError(f"global '{mod}.{nm}' is not allowed (admitted: {', '.join(allowed) or 'none'})")
            return super().find_class(module, name)

    with open(path, "rb") as f:
        return _Restricted(f, encoding=encoding).load()


def refusal_reason(exc: BaseException) -> str:
    """One line saying why a safe load failed: torch's ``Unsupported global: GLOBAL x.y`` line when there
    is one, else its first line that gives no advice to load unsafely (torch's message is many lines of it:
    "Re-running torch.load with weights_only set to False will likely succeed"). Never that advice."""
    import re

    lines = [re.sub(r"\x1b\[[0-9;]*m", "", ln).strip() for ln in str(exc).splitlines()]
    lines = [ln for ln in lines if ln]
    for ln in lines:
        match = re.search(r"Unsupported global: GLOBAL ([\w.]+)", ln)
        if match:
            return f"unsupported global {match.group(1)}"
    advice = re.compile(r"weights_only|can still be loaded|trust|Re-running|safe_globals|arbitrary code", re.I)
    plain = [ln for ln in lines if not advice.search(ln)]
    return plain[0] if plain else f"{type(exc).__name__} from the safe loader"


def load_checkpoint(resolved: ResolvedWeights, map_location: Any = "cpu") -> Any:
    """Load a resolved file, never running code from it.

    * a torch file: ``torch.load(weights_only=True)``; a legacy pickle of a known format (manifest
      ``pickle_format``, see :data:`PICKLE_FORMATS`) admits only its format's extra globals;
    * a plain Python pickle (format ``python_pickle``): a restricted unpickler with the same allow-list.

    Raises:
        WeightsError: one line naming the file, when the file holds anything else (e.g. a pickle whose
        payload calls ``os.system``: the call is refused, not run).
    """
    import pickle

    import torch

    entry = resolved.entry
    allowed = _pickle_globals(entry)
    try:
        if entry.format.startswith("python_pickle"):
            return restricted_pickle_load(resolved.path, allowed)
        with torch.serialization.safe_globals([_import_global(g) for g in allowed]):
            return torch.load(resolved.path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise WeightsError(f"weights {resolved.name!r}: {resolved.path} was refused by the safe loader "
                           f"({refusal_reason(exc)}); expected {entry.format}. Replace it with the "
                           f"original from {entry.url or entry.source}") from exc


TRUST_PICKLE_MESSAGE = (
    "weights {name!r}: {path} is a legacy pickle. A pickle can run any code when it is loaded; hypercon loads "
    "it with a restricted unpickler that admits only tensors, containers and {allowed}, but recording its "
    "sha256 tells every later run that this exact file is the original from {source}. Record it only if you "
    "got it from there: rerun with --trust-pickle")


def record_weights(name: str, weights_dir: str | Path | None = None,
                   path: str | Path | None = None, trust_pickle: bool = False) -> ResolvedWeights:
    """Write the observed sha256 of ``name``'s file into the user's lock file (trust on first use).

    Raises:
        WeightsError: the entry is a legacy pickle and ``trust_pickle`` is False (message: what trusting a
        pickle means, and the flag to pass).
    """
    entry = manifest_entry(name)
    found, where, _ = _find(entry, path, weights_dir)
    if entry.legacy_pickle and not trust_pickle:
        raise WeightsError(TRUST_PICKLE_MESSAGE.format(
            name=name, path=found, allowed=", ".join(_pickle_globals(entry)) or "nothing else",
            source=entry.url or entry.source))
    digest = sha256_of(found)
    how = check_digest(entry, found, digest, weights_dir) if (entry.sha256 or entry.sha256_prefix) else None
    check_companions(entry, found)
    lock = lock_path(weights_dir)
    data = read_lock(weights_dir)
    data[name] = {"file": entry.file, "sha256": digest, "path": str(found)}
    atomic_write_bytes(lock, (json.dumps({"version": 1, "entries": data}, indent=2, sort_keys=True) + "\n").encode())
    LOG.info("recorded weights %r: %s sha256 %s in %s", name, found, digest, lock)
    return ResolvedWeights(name, found, digest, True, entry, verified_by=how or "lock", found_in=where)


@dataclass
class StatusRow:
    name: str
    role: str
    file: str
    tier: str = "paper"
    found: str = "missing"  # "<where>: <path>" (kept for callers); found_in / path split it
    verified: str = "-"
    size: str = "-"
    found_in: str = ""
    path: str = ""
    sha256: str = ""
    licence: str = ""
    source: str = ""
    companions: str = ""


def weights_status(weights_dir: str | Path | None = None, names: list[str] | None = None) -> list[StatusRow]:
    """One row per manifest entry: where the file was found, whether its hash (and its companion files'
    hashes) verified, its size (with companions)."""
    rows = []
    for name, entry in sorted(load_manifest().items()):
        if names and name not in names:
            continue
        row = StatusRow(name, entry.role, entry.file, f"{TEST} ({entry.tier})" if entry.stand_in else entry.tier, licence=entry.licence,
                        source=entry.url or entry.source)
        try:
            found, where, _ = _find(entry, None, weights_dir)
        except MissingWeightsError:
            rows.append(row)
            continue
        companions = [found.parent / rel for rel in entry.files or {}]
        size = found.stat().st_size + sum(c.stat().st_size for c in companions if c.is_file())
        row.found, row.found_in, row.path = f"{where}: {found}", where, str(found)
        row.size = f"{size / 2**20:.1f} MiB"
        try:
            row.sha256 = sha256_of(found)
            how = check_digest(entry, found, row.sha256, weights_dir)
            n = check_companions(entry, found)
            row.verified = f"verified ({how})" if how else "unverified (no published hash)"
            row.companions = f"{n} companion files verified" if n else ""
        except WeightsHashError as exc:
            row.verified = "HASH MISMATCH"
            row.sha256 = str(exc)
        except MissingWeightsError as exc:
            row.verified = "INCOMPLETE"
            row.sha256 = str(exc)
        rows.append(row)
    return rows
