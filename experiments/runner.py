"""One Hydra job: run a method on every video of a dataset, save outputs, evaluate, aggregate.

``python run.py …`` calls :func:`run`. The steps per video are: load (dataset) → hide the holes
(inpainting) → method → quantise to 8 bit (what is saved is what is evaluated, so ``python -m metrics``
on the saved frames gives the same numbers) → save PNG frames + mp4 → metrics → per-video record
(written last, atomically). Videos whose record is complete for the same config hash are skipped
(``overwrite=true`` recomputes them). Set metrics (FID, VFID) are pooled after the last video from
per-video feature files, so a resumed run needs no recomputation.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments.devices import hydra_job_num, job_device
from experiments.provenance import config_hash, device_info, git_state, package_versions
from experiments.reference import ReferenceCache
from experiments.store import RunStore, atomic_write_json
from experiments.results import write_results
from hypercon.checks import composite, frames_from_uint8, frames_to_uint8
from hypercon.interpolate import HOLE_PLACEHOLDER  # grey written into holes before any method sees them
from metrics.base import EvalVideo
from metrics.evaluate import evaluate_video

log = logging.getLogger(__name__)

#: keys of the resolved config that do not change results (excluded from the resume hash)
NON_RESULT_KEYS = ("overwrite", "save_video", "save_frames", "log_level", "paths", "progress", "sweep_name")


def _strip_labels(node: Any) -> Any:
    """Drop the ``name`` label of every ``_target_`` node (a config label, not a constructor argument)."""
    if isinstance(node, dict):
        return {k: _strip_labels(v) for k, v in node.items() if not (k == "name" and "_target_" in node)}
    if isinstance(node, list):
        return [_strip_labels(v) for v in node]
    return node


def instantiate_component(cfg: DictConfig, **kwargs: Any) -> Any:
    """Instantiate a config node (and its nested ``_target_`` nodes), ignoring their ``name`` labels."""
    return instantiate(_strip_labels(OmegaConf.to_container(cfg, resolve=True)), **kwargs)


def result_config(cfg: DictConfig) -> dict[str, Any]:
    """The part of the resolved config that determines results (hashed for resuming)."""
    container = OmegaConf.to_container(cfg, resolve=True)
    for key in NON_RESULT_KEYS:
        container.pop(key, None)
    for key in ("root", "data_root", "cache_dir", "mask_dir", "manifest"):  # where data lives, not what it is
        container.get("dataset", {}).pop(key, None)
    return _same_device_kind(container)


def _same_device_kind(node: Any) -> Any:
    """``cuda:1`` → ``cuda`` in every ``device`` entry: which GPU a job ran on does not change results."""
    if isinstance(node, dict):
        return {k: (re.sub(r"^cuda:\d+$", "cuda", v) if k == "device" and isinstance(v, str) else _same_device_kind(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_same_device_kind(v) for v in node]
    return node


def build_metrics(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, str]]:
    """Instantiate the configured metrics. Required metrics that cannot run raise here, before any
    work; optional ones (``metrics.optional``) are recorded as unavailable with the reason."""
    from metrics.evaluate import build_metrics as build

    options = OmegaConf.to_container(cfg.metrics.options, resolve=True) if cfg.metrics.options else {}
    common = {"weights_dir": cfg.paths.weights_dir, "device": str(cfg.device),
              "cache_dir": str(Path(cfg.paths.cache_dir)), "occlusion_rule": str(cfg.metrics.occlusion_rule)}
    return build(list(cfg.metrics.names), options, common=common, optional=cfg.metrics.optional or [])


def _skip_in_metrics(metrics: dict[str, Any], record: dict[str, Any]) -> None:
    """Let stateful metrics (VIE's patch consistency: one random stream per run, in video order) advance
    past a video that an earlier, interrupted run already evaluated, so resuming changes no number."""
    width, height = record["size"]
    for metric in metrics.values():
        if hasattr(metric, "skip_video"):
            metric.skip_video(int(record["num_frames"]), int(height), int(width))


def _needs_reference(metrics: dict[str, Any], method_name: str, has_gt: bool) -> bool:
    """Whether some metric compares with the frame-wise output: fidelity always; FID / LPIPS / VLPIPS /
    VFID when told to (``reference``) or when ``auto`` finds no ground truth. Frame-wise runs have none
    (fidelity to themselves is trivial: the paper's "-")."""
    if method_name == "framewise":
        return False
    for name, metric in metrics.items():
        target = getattr(metric, "pair", getattr(metric, "reference", None))
        if name == "fidelity" or target == "reference" or (target == "auto" and not has_gt):
            return True
    return False


def run(cfg: DictConfig, output_dir: Path) -> dict[str, Any]:
    """Run one job; return the results dict (also written to ``output_dir/results.json``)."""
    output_dir = Path(output_dir)
    store = RunStore(output_dir)
    device = job_device(str(cfg.device), hydra_job_num())  # one GPU per job when a multirun sees several
    if device != str(cfg.device):
        with open_dict(cfg):
            cfg.device = device
    torch.manual_seed(int(cfg.seed))
    chash = config_hash(result_config(cfg))
    method_name = str(cfg.method.name)

    # Build everything first: a missing weights file or a bad option fails before any work.
    dataset = instantiate_component(cfg.dataset, mask_dir=str(store.mask_dir()))
    method = instantiate_component(cfg.method)
    metrics, unavailable = build_metrics(cfg)
    eval_flow = instantiate_component(cfg.metrics.flow) if metrics else None
    names = dataset.video_names()
    if not names:
        raise ValueError(f"dataset {cfg.dataset.name!r} has no videos (check dataset.root / split / max_videos)")

    provenance = {
        "config_hash": chash,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "code": git_state(),
        "packages": package_versions(),
        "device": device_info(str(cfg.device)),
        "seed": int(cfg.seed),
        "method": method.provenance(),
        "dataset": dataset.provenance(),
        "metrics": {n: m.provenance() for n, m in metrics.items()},
        "metric_flow": eval_flow.provenance() if eval_flow is not None else None,
        "unavailable_metrics": unavailable,
    }
    atomic_write_json(output_dir / "provenance.json", provenance)

    reference_cache = ReferenceCache(Path(cfg.paths.cache_dir) / "reference")
    # the frame-wise reference uses the method's own image model (the configured `model`), built once
    reference_model = None
    if _needs_reference(metrics, method_name, has_gt=False):
        reference_model = method.components().get("model") or instantiate_component(cfg.model)
    motion_cache = None
    if metrics:
        from metrics.source_motion import SourceMotionCache

        motion_cache = SourceMotionCache(Path(cfg.paths.cache_dir) / "source_motion")

    from experiments.progress import progress

    done, errors = [], []
    for name in progress(names, desc=f"{method_name} on {cfg.dataset.name}", enabled=cfg.get("progress", None)):
        if not cfg.overwrite and store.is_complete(name, chash):
            log.info("%s: complete, skipped (overwrite=true recomputes)", name)
            _skip_in_metrics(metrics, store.load_record(name))
            done.append(name)
            continue
        try:
            _run_video(cfg, name, dataset, method, metrics, eval_flow, store, chash, reference_cache,
                       motion_cache, unavailable, reference_model)
            done.append(name)
        except Exception as exc:  # keep finished results: aggregate them, then re-raise
            errors.append((name, exc))
            break

    results = write_results(store, done, metrics, unavailable, provenance, complete=not errors and len(done) == len(names))
    if errors:
        name, exc = errors[0]
        log.error("stopped at video %s: %s (finished videos' results are kept in %s)", name, exc, output_dir)
        raise exc
    return results


def _run_video(cfg, name, dataset, method, metrics, eval_flow, store, chash, reference_cache, motion_cache,
               unavailable, reference_model) -> None:
    from hypercon.io.frames import write_frames
    from hypercon.io.video import write_video

    t0 = time.perf_counter()
    sample = dataset.load(name)
    # 8-bit like any video on disk (the synthetic one is rendered in float): what `python -m metrics`
    # reads back from saved frames is then exactly what the runner evaluated.
    frames, known = frames_from_uint8(frames_to_uint8(sample.frames)), sample.known
    if sample.gt is not None:
        sample.gt = frames if sample.gt is sample.frames else frames_from_uint8(frames_to_uint8(sample.gt))
    if known is not None:
        frames_in = composite(torch.full_like(frames, HOLE_PLACEHOLDER), frames, known)
    else:
        frames_in = frames
    t_load = time.perf_counter() - t0

    t0 = time.perf_counter()
    output = method.run(frames_in, known)
    t_method = time.perf_counter() - t0
    output_u8 = frames_to_uint8(output)
    output = frames_from_uint8(output_u8)  # evaluate exactly what is saved

    if cfg.save_frames:
        write_frames(output, store.frames_dir(name))
    if cfg.save_video:
        write_video(output, store.video_dir(name) / f"{name}.mp4", fps=float(sample.meta.get("fps", 24) or 24))

    record: dict[str, Any] = {
        "video": name,
        "config_hash": chash,
        "method": str(cfg.method.name),
        "dataset": str(cfg.dataset.name),
        "task": str(cfg.task.name),
        "num_frames": int(frames.shape[0]),
        "size": [int(frames.shape[-1]), int(frames.shape[-2])],
        "metrics": {},
        "unavailable": dict(unavailable),
        "timing_s": {"load": t_load, "method": t_method},
        "meta": {k: v for k, v in sample.meta.items() if isinstance(v, (str, int, float, bool, list, type(None)))},
    }

    if metrics:
        t0 = time.perf_counter()
        reference = None
        if _needs_reference(metrics, str(cfg.method.name), has_gt=sample.gt is not None):
            reference = reference_cache.get_or_compute(
                key=_reference_key(cfg, name, frames_in),
                compute=lambda: frames_from_uint8(frames_to_uint8(reference_model(frames_in, known))),
            )
        source = sample.gt if sample.gt is not None else frames
        motion_key = f"{cfg.dataset.name}/{name}"
        video = EvalVideo(
            name=name, output=output, source=source, known=known, gt=sample.gt, reference=reference,
            source_motion=lambda: motion_cache.get(motion_key, source, eval_flow, rule=str(cfg.metrics.occlusion_rule)),
        )
        evaluated = evaluate_video(video, metrics)
        for mname, arrays in evaluated["features"].items():
            store.save_features(name, mname, arrays)
        record["metrics"].update(evaluated["metrics"])
        record["unavailable"].update(evaluated["unavailable"])
        record["timing_s"]["metrics"] = time.perf_counter() - t0

    record["complete"] = True
    store.save_record(name, record)
    log.info("%s: %d frames, method %.1fs%s", name, frames.shape[0], t_method,
             "".join(f", {k}={v:.4g}" for k, v in record["metrics"].items() if isinstance(v, float)))


def _reference_key(cfg: DictConfig, name: str, frames_in: torch.Tensor) -> str:
    model = OmegaConf.to_container(cfg.model, resolve=True)
    for key in ("device", "batch_size", "weights_dir"):
        model.pop(key, None)
    digest = config_hash({"model": model, "input": _tensor_digest(frames_in)})
    return f"{cfg.dataset.name}/{name}/{digest}"


def _tensor_digest(x: torch.Tensor) -> str:
    import hashlib

    return hashlib.sha256(frames_to_uint8(x).tobytes()).hexdigest()[:16]

