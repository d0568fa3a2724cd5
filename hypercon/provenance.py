"""Provenance: which code, packages, machine, config and components produced a result."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from hypercon.io.digest import record_digest
from hypercon.stack import (
    LOCK_FILE, REPO_ROOT, STACK, describe_drift, lock_state, read_lock, stack_drift, stack_versions,
)

#: recorded in every result: the numerical stack (:data:`hypercon.stack.STACK`) and the config/table packages
PACKAGES = (*STACK, "hydra-core", "omegaconf", "pandas")


def git_state(repo: Path = REPO_ROOT) -> dict[str, Any]:
    """``{"commit": sha or "unknown", "dirty": bool | None}`` of the harness's own checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo, capture_output=True,
            text=True, timeout=10, check=True,
        ).stdout
        return {"commit": commit, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    return {"python": sys.version.split()[0], **stack_versions(names)}


def code_and_stack() -> dict[str, Any]:
    """What produced a number besides the config: the harness's commit and work-tree state (``code``), the
    package versions (``packages``) and the lock they are compared with (``lock``: file, sha256, drift)."""
    return {"code": git_state(), "packages": package_versions(), "lock": lock_state()}


def device_info(device: str) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"requested": device, "platform": platform.platform(), "cpu": platform.processor()}
    info["torch_threads"] = torch.get_num_threads()
    if device.startswith("cuda") and torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(torch.device(device))
        info["cuda"] = torch.version.cuda
    return info


def config_hash(config: Any) -> str:
    """sha256 (first 16 hex) of a JSON-serialisable config, key order independent."""
    return record_digest(config)[:16]


def stack_report(path: Path = LOCK_FILE, names: tuple[str, ...] = STACK) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """The lines ``python -m hypercon env`` prints (each package installed vs locked, a mark on every
    mismatch, the harness's commit) and the drift they show."""
    installed = stack_versions(names)
    try:
        locked = read_lock(path)
        lock_line = f"numerical stack against {path} (sha256 {hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]})"
    except FileNotFoundError as exc:
        locked, lock_line = {}, f"numerical stack; {exc}"
    drift = stack_drift(installed, locked) if locked else {}
    width = max(map(len, names))
    lines = [lock_line, f"  {'package':<{width}}  {'installed':<14}  locked"]
    for name, version in installed.items():
        pin = locked.get(canonicalize_name(name), "not locked" if locked else "-")
        mark = "  <- differs" if name in drift else ""
        lines.append(f"  {name:<{width}}  {version:<14}  {pin}{mark}")
    code = git_state()
    dirty = {True: " (dirty work tree: uncommitted changes)", False: "", None: " (work tree state unknown)"}
    lines.append(f"  {'hypercon-bench':<{width}}  commit {code['commit'][:12]}{dirty[code['dirty']]}")
    if drift:
        lines.append(f"{len(drift)} package(s) differ from the lock: {describe_drift(drift)}. Numbers may differ "
                     "from the golden values (docs/install.md: Drift).")
    elif locked:
        lines.append("every package of the stack is the locked version")
    return lines, drift


def loaded_files(provenance: Any, path: str = "") -> dict[str, str]:
    """``{"method.components.model": sha256, …}``: the sha256 of every file a component loaded, found as
    ``weights: {"sha256": …}`` anywhere in a provenance tree (dicts and lists; ``path`` is the dotted
    position). Weight-free components and records without a sha256 contribute nothing."""
    found: dict[str, str] = {}
    if isinstance(provenance, dict):
        weights = provenance.get("weights")
        if isinstance(weights, dict) and weights.get("sha256"):
            found[path or "."] = str(weights["sha256"])
        for key, value in provenance.items():
            found.update(loaded_files(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(provenance, list):
        for i, value in enumerate(provenance):
            found.update(loaded_files(value, f"{path}[{i}]"))
    return found


def loaded_files_digest(provenance: Any) -> str:
    """The digest of :func:`loaded_files`: part of a result's resume key, so a model file replaced at the
    same path (TorchScript, ONNX, ``checkpoint=PATH``, user weights) makes its results stale."""
    return record_digest(loaded_files(provenance))
