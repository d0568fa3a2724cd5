"""Checks made before any work, for what would otherwise fail midway through the first video (or be ignored):
the device is cpu or an existing CUDA GPU, ``seed`` is a valid seed, ``log_level`` a logging level,
``metrics.names`` known metrics, the output and cache folders can be written. Each failure is one
:class:`SettingError` line naming the key.

Called by :func:`experiments.runner.run` and, before Hydra makes the run folder, by the
:class:`experiments.hydra_setup.Preflight` callback (so a failed start leaves nothing on disk).
"""

from __future__ import annotations

import re
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
    check_seed(cfg.seed)
    check_log_level(cfg.get("log_level", "INFO"))
    check_metric_names(list(cfg.metrics.names or []) + list(cfg.metrics.get("optional") or []))
    if output_dir is not None:
        check_writable(Path(output_dir), "output folder (paths.output_root, hydra.run.dir)")
    check_writable(Path(str(cfg.paths.cache_dir)), "paths.cache_dir")


DEVICE = re.compile(r"^(cpu|cuda(:\d+)?)$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_SEED = 2**32 - 1  # numpy's SeedSequence takes any non-negative int; the runner also seeds per video in uint32


def check_device(device: str) -> None:
    """``device`` is ``cpu``, ``cuda`` or ``cuda:N``; CUDA needs a visible GPU (N+1 of them)."""
    if not DEVICE.match(device):
        raise SettingError(f"device={device}: the harness runs on cpu, cuda or cuda:N (components are written for "
                           "torch's CPU and CUDA back-ends; mps and others are not supported)")
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


def check_seed(seed: object) -> None:
    """``seed`` is an integer in 0..2**32-1 (numpy and torch seeds)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise SettingError(f"seed={seed}: must be an integer in 0..{MAX_SEED}")


def check_log_level(level: object) -> None:
    """``log_level`` is one of :data:`LOG_LEVELS` (any case)."""
    if str(level).upper() not in LOG_LEVELS:
        raise SettingError(f"log_level={level}: must be one of {', '.join(LOG_LEVELS)}")


def check_metric_names(names: list[str]) -> None:
    """Every name of ``metrics.names`` / ``metrics.optional`` is a metric of :data:`metrics.registry.METRICS`
    (:func:`metrics.registry.check_metric_name`: a typo gets the nearest name)."""
    from metrics.registry import check_metric_name

    for name in names:
        check_metric_name(str(name))
