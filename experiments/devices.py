"""Which device a job runs on: one GPU per job when a multirun sees several.

The runner calls ``job_device(cfg.device, hydra_job_num())`` once per job. ``device=cuda`` in a
multirun on a machine with n visible GPUs (``CUDA_VISIBLE_DEVICES``) becomes ``cuda:<job_num % n>``, so
parallel jobs (``hydra/launcher=joblib_cpu`` …) spread over the GPUs. An explicit index (``cuda:1``),
``cpu``, a single run, or a machine with at most one GPU leave the request unchanged (under SLURM each
task sees its own single GPU).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def job_device(requested: str, job_num: int | None, num_gpus: int | None = None) -> str:
    """Map ``requested`` to this job's device.

    Args:
        requested: the configured device (``cpu``, ``cuda``, ``cuda:1`` …).
        job_num: the job's index in the multirun (``hydra.job.num``), None for a single run.
        num_gpus: visible CUDA devices; default ``torch.cuda.device_count()``.
    Returns:
        ``cuda:<job_num % num_gpus>`` for ``requested == "cuda"`` in a multirun with ≥ 2 GPUs, else
        ``requested`` unchanged.
    """
    requested = str(requested).strip()
    if requested != "cuda" or job_num is None:
        return requested
    if num_gpus is None:
        import torch

        num_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if num_gpus < 2:
        return requested
    if job_num < 0:
        raise ValueError(f"job_device: job_num must be >= 0, got {job_num}")
    device = f"cuda:{job_num % num_gpus}"
    log.info("job %d: %s of %d visible GPUs", job_num, device, num_gpus)
    return device


def hydra_job_num() -> int | None:
    """``hydra.job.num`` inside a multirun job; None in a single run or outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
    except (ImportError, ValueError):
        return None
    if hc.mode != RunMode.MULTIRUN:
        return None
    num = hc.job.get("num", None)
    return int(num) if num is not None else None
