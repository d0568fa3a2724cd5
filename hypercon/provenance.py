"""Provenance: which code, packages, machine, config and components produced a result."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from hypercon.io.digest import record_digest

REPO_ROOT = Path(__file__).resolve().parents[1]  # the checkout (hypercon/ sits at its root)
PACKAGES = (
    "torch", "torchvision", "numpy", "scipy", "scikit-image", "opencv-python-headless", "hydra-core",
    "omegaconf", "lpips", "pytorch-fid", "av", "pandas", "pillow",
)


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
    out = {"python": sys.version.split()[0]}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


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
