"""Checks made before any work, for what would otherwise fail midway through the first video: the device
exists, the output and cache folders can be written. Each failure is one :class:`SettingError` line.

Called by :func:`experiments.runner.run` and, before Hydra makes the run folder, by the
:class:`experiments.hydra_setup.Preflight` callback (so a failed start leaves nothing on disk).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from omegaconf import DictConfig

from experiments.run_config import check_run_options
from hypercon.errors import SettingError


def preflight(cfg: DictConfig, output_dir: Path | None = None) -> None:
    """What would otherwise fail midway, checked before any work (one line each, :class:`SettingError`):
    the device exists, the output folder and ``paths.cache_dir`` can be written. Creates nothing."""
    check_run_options(cfg)  # every component option declared by its class, of its type (hypercon.option_check)
    check_device(str(cfg.device))
    if output_dir is not None:
        check_writable(Path(output_dir), "output folder (paths.output_root, hydra.run.dir)")
    check_writable(Path(str(cfg.paths.cache_dir)), "paths.cache_dir")


def check_device(device: str) -> None:
    """``device=cuda`` (or ``cuda:N``) needs a visible CUDA GPU (N of them)."""
    if not device.startswith("cuda"):
        return
    if not torch.cuda.is_available():
        raise SettingError(f"device={device}: no CUDA GPU is visible to torch {torch.__version__} "
                           "(torch.cuda.is_available() is False); run with device=cpu, or on a GPU host")
    index = device.partition(":")[2]
    if index and int(index) >= torch.cuda.device_count():
        raise SettingError(f"device={device}: only {torch.cuda.device_count()} CUDA GPU(s) visible; "
                           f"use device=cuda:0 … cuda:{torch.cuda.device_count() - 1}")


def check_writable(path: Path, key: str) -> None:
    """``path`` (existing or not) can be created and written: its nearest existing ancestor is a folder
    in which a file can be made. Nothing is left behind."""
    existing = Path(path).expanduser().absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise SettingError(f"{key} {path}: {existing} is a file, not a folder; choose another folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise SettingError(f"{key} {path}: cannot write in {existing} ({exc.strerror or exc}); "
                           "choose a writable folder") from exc
