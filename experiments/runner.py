"""One Hydra job: run a method on every video of a dataset, save outputs, evaluate, aggregate.

``python run.py …`` calls :func:`run`. Before any work, :func:`preflight` checks what would otherwise fail
midway (the device, writable output and cache folders) and :func:`check_run_dir` refuses a folder holding
another config's results (``overwrite=true`` replaces them). The steps per video are: load (dataset) →
the task's input and target (:mod:`hypercon.tasks`: holes hidden for inpainting, luma for colourisation, …)
→ method → quantise to 8 bit (what is saved is what is evaluated, so
``python -m metrics`` on the saved frames gives the same numbers) → save PNG frames + mp4 (+ the inputs,
``save_inputs``) → metrics → per-video record (written last, atomically). A video whose record is
complete for the same config hash AND the same input digest (the frames and masks actually read) is
skipped (``overwrite=true`` recomputes it). A video that fails on bad input is recorded as failed with its
one-line reason and the run goes on; the run then ends with :class:`VideosFailed`. Set metrics (FID,
VFID) are pooled after the last video from per-video feature files, so a resumed run needs no
recomputation.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from experiments.devices import hydra_job_num, job_device
from experiments.preflight import preflight
from experiments.run_config import apply_method_settings, check_run_dir, result_config
from experiments.run_lock import run_folder_lock
from hypercon.provenance import code_and_stack, config_hash, device_info, loaded_files_digest
from experiments.reference import ReferenceCache
from baselines.common.split import check_unseen
from experiments.store import RunStore, atomic_write_json, seal
from experiments.results import write_results
from hypercon.checks import frames_from_uint8, frames_to_uint8, warn_if_constant
from hypercon.config import instantiate_component
from experiments.failures import failure_reason, record_failure, refused_write
from hypercon.errors import SettingError, UserError, find_disk_refusal, find_expected_error, log_traceback_to_files
from hypercon.io.digest import frames_digest, record_digest
from hypercon.method import VideoMethod
from hypercon.tasks import keep_luminance, task_video
from hypercon.weights.manifest import MissingWeightsError
from metrics.base import EvalVideo
from metrics.evaluate import evaluate_video

log = logging.getLogger(__name__)

def configured_metrics(cfg: DictConfig) -> tuple[dict[str, Any], dict[str, str]]:
    """Instantiate the configured metrics. Required metrics that cannot run raise here, before any
    work; optional ones (``metrics.optional``) are recorded as unavailable with the reason."""
    from metrics.evaluate import build_metrics

    options = OmegaConf.to_container(cfg.metrics.options, resolve=True) if cfg.metrics.options else {}
    common = {"weights_dir": cfg.paths.weights_dir, "device": str(cfg.device),
              "cache_dir": str(Path(cfg.paths.cache_dir)), "occlusion_rule": str(cfg.metrics.occlusion_rule)}
    return build_metrics(list(cfg.metrics.names), options, common=common, optional=cfg.metrics.optional or [])


def _skip_in_metrics(metrics: dict[str, Any], record: dict[str, Any]) -> None:
    """Let stateful metrics (VIE's patch consistency: one random stream per run, in video order) advance
    past a video that an earlier, interrupted run already evaluated, so resuming changes no number."""
    width, height = record["size"]
    for metric in metrics.values():
        if hasattr(metric, "skip_video"):
            metric.skip_video(int(record["num_frames"]), int(height), int(width))


@dataclass
class Job:
    """One Hydra job, built before any work: a missing weights file or a bad option fails here."""

    cfg: DictConfig
    store: RunStore
    config_hash: str
    dataset: Any
    method: VideoMethod
    metrics: dict[str, Any]
    unavailable: dict[str, str]  # metrics that cannot run here, with the reason
    eval_flow: Any  # the flow estimator behind E_warp's source motion (None without metrics)
    reference_cache: ReferenceCache
    motion_cache: Any  # metrics.source_motion.SourceMotionCache | None
    reference_model: Any  # the method's image model, when a frame-wise reference may be needed; else None
    weights_digest: str = ""  # sha256 of the files the components loaded (:meth:`loaded_files`): resume key

    def component_provenance(self) -> dict[str, Any]:
        """The provenance of every component that can load a file: method (with its model, flow, …), the
        frame-wise reference's model, the metrics and the metrics' flow."""
        reference = self.reference_model
        return {"method": self.method.provenance(),
                "reference_model": reference.provenance() if hasattr(reference, "provenance") else None,
                "metrics": {n: m.provenance() for n, m in self.metrics.items()},
                "metric_flow": self.eval_flow.provenance() if self.eval_flow is not None else None}

    def needs_reference(self, has_gt: bool) -> bool:
        """Whether a video needs the frame-wise output of the image model: as the method's input (blind
        post-processors), or for a metric comparing with it (a frame-wise run is its own reference)."""
        if self.method.needs_reference_input:
            return True
        if not self.method.uses_image_model:  # no model, no frame-wise reference: such metrics are unavailable
            return False
        return not self.method.is_reference and any(m.needs_reference(has_gt) for m in self.metrics.values())

    def unavailable_self_references(self, has_gt: bool) -> list[str]:
        """Unavailable metrics that would compare a frame-wise run with itself: shown as "–" (the paper's
        "-"), like the available ones, not as "unavailable"."""
        if not self.method.is_reference:
            return []
        from metrics.base import compares_with_reference, declared_key_specs
        from metrics.registry import metric_class

        options = OmegaConf.to_container(self.cfg.metrics.options, resolve=True) if self.cfg.metrics.options else {}
        return [name for name in self.unavailable
                if compares_with_reference(declared_key_specs(metric_class(name)).values(), has_gt,
                                           (options.get(name) or {}).get("compare_with"))]


@dataclass
class LoadedVideo:
    """One video as the method sees it: 8-bit exact frames, holes hidden for inpainting."""

    name: str
    frames: torch.Tensor  # [T,3,H,W] the input video
    frames_in: torch.Tensor  # the method's input, made by the task (hypercon.tasks.task_video)
    known: torch.Tensor | None
    gt: torch.Tensor | None
    meta: dict[str, Any]
    seconds: float
    input_digest: str  # frames + masks + ground truth as read: part of the key that decides "done"
    motion_source: torch.Tensor | None = None  # whose motion defines consistency (hypercon.tasks); None = frames
    reference: torch.Tensor | None = None  # the frame-wise output of the image model, once computed


def build_job(cfg: DictConfig, output_dir: Path) -> Job:
    """Instantiate dataset, method, metrics and caches for ``cfg``."""
    store = RunStore(Path(output_dir))
    dataset = instantiate_component(cfg.dataset, mask_dir=str(store.mask_dir()))
    try:
        method = instantiate_component(cfg.method)
    except Exception as exc:
        missing = find_expected_error(exc)
        if isinstance(missing, MissingWeightsError):  # the METHOD cannot run here (not a metric's weights)
            raise MethodWeightsMissing(str(missing)) from exc
        raise
    method.name = str(cfg.method.name)  # the config's name (e.g. hypercon_median), recorded in provenance
    metrics, unavailable = configured_metrics(cfg)
    eval_flow = instantiate_component(cfg.metrics.flow) if metrics else None
    motion_cache = None
    if metrics:
        from metrics.source_motion import SourceMotionCache

        motion_cache = SourceMotionCache(Path(cfg.paths.cache_dir) / "source_motion")
    job = Job(cfg, store, config_hash(result_config(cfg)), dataset, method, metrics, unavailable, eval_flow,
              ReferenceCache(Path(cfg.paths.cache_dir) / "reference"), motion_cache, None)
    if job.needs_reference(has_gt=False):  # the frame-wise reference uses the method's own image model
        job.reference_model = method.components().get("model") or instantiate_component(cfg.model)
    job.weights_digest = loaded_files_digest(job.component_provenance())
    return job


class MethodWeightsMissing(MissingWeightsError):
    """The method's own paper-tier weights are missing: a single run stops; a sweep records the job as
    unavailable (:func:`write_unavailable`) and goes on."""


class VideosFailed(UserError):
    """Some videos of a run failed on bad input; the others finished (their results are kept)."""


def run(cfg: DictConfig, output_dir: Path) -> dict[str, Any] | None:
    """Run one job; return the results dict (also written to ``output_dir/results.json``), or None when
    nothing was written. Raises :class:`VideosFailed` at the end when some videos failed on bad input, and
    :class:`experiments.run_lock.RunFolderBusy` when another run holds ``output_dir`` (its lock is held from
    before the folder's config is checked until the results are written)."""
    output_dir = Path(output_dir)
    preflight(cfg, output_dir)
    with run_folder_lock(output_dir):
        return _run_locked(cfg, output_dir)


def _prepare_job(cfg: DictConfig, output_dir: Path) -> tuple[Job, list[str], dict[str, Any]]:
    """The job of a run whose folder lock is held: device, method settings, the folder's config check, the
    built components and its videos; the run's provenance. Raises SettingError before any video."""
    device = job_device(str(cfg.device), hydra_job_num())  # one GPU per job when a multirun sees several
    if device != str(cfg.device):
        with open_dict(cfg):
            cfg.device = device
    apply_method_settings(cfg)
    check_run_dir(RunStore(output_dir), cfg, config_hash(result_config(cfg)))
    torch.manual_seed(int(cfg.seed))
    job = build_job(cfg, output_dir)
    if cfg.get("save_error_maps") and "ewarp" not in job.metrics:
        raise SettingError(f"save_error_maps=true saves the maps of the metric ewarp, which metrics.names "
                           f"({list(cfg.metrics.names)}) does not include: add it, or set save_error_maps=false")
    names = job.dataset.video_names()
    if not names:
        raise SettingError(f"dataset {cfg.dataset.name!r} has no videos (check dataset.root / split / max_videos)")
    from experiments.console import ONCE

    ONCE.forget_words(names)  # "synth-000: fidelity unavailable" and "synth-001: …" are one warning
    components = job.component_provenance()
    check_unseen(components["method"], names)  # a network trained here never evaluates a video it saw
    return job, names, run_provenance(job, components)


def _raise_failures(bug: BaseException | None, refused: OSError | None, failed: dict[str, str], done: list[str],
                    names: list[str], output_dir: Path) -> None:
    """After the loop: re-raise a bug, a refused write (one line) or the failed videos (one line)."""
    if bug is not None:
        log.error("stopped at video %s (finished videos' results are kept in %s)", list(failed)[-1], output_dir)
        raise bug
    if refused is not None:
        raise refused_write(refused, output_dir, len(done)) from refused
    if failed:
        summary = "; ".join(f"{name}: {reason}" for name, reason in list(failed.items())[:3])
        kept = f"the others' results are in {output_dir}" if len(failed) < len(names) else "no video finished"
        raise VideosFailed(f"{len(failed)} of {len(names)} video(s) failed ({summary}"
                           f"{'; …' if len(failed) > 3 else ''}); {kept}; "
                           "fix the input and run the same command again (finished videos are skipped)")


def _run_locked(cfg: DictConfig, output_dir: Path) -> dict[str, Any] | None:
    """:func:`run` once preflight passed and the run folder's lock is held."""
    job, names, provenance = _prepare_job(cfg, output_dir)
    written = []

    def write_provenance() -> None:  # with the first thing written, never on a failed start
        if not written:
            atomic_write_json(output_dir / "provenance.json", seal(provenance))
            written.append(True)

    from experiments.progress import progress

    done: list[str] = []
    failed: dict[str, str] = {}
    bug: BaseException | None = None
    refused: OSError | None = None
    desc = f"{job.method.name} on {cfg.dataset.name}"
    for name in progress(names, desc=desc, enabled=cfg.get("progress", None)):
        try:
            video = load_video(job, name)
            if not cfg.overwrite and job.store.is_complete(name, job.config_hash, video.input_digest, job.weights_digest) and \
                    (not cfg.get("save_error_maps") or job.store.error_maps_path(name).is_file()):
                log.info("%s: complete, skipped (overwrite=true recomputes)", name)
                _skip_in_metrics(job.metrics, job.store.load_record(name))
                done.append(name)
                continue
            write_provenance()
            run_video(job, video)
            done.append(name)
        except Exception as exc:
            user_error = find_expected_error(exc)
            failed[name] = failure_reason(exc, user_error)
            refused = find_disk_refusal(exc)
            if refused is not None:  # a full or read-only disk: every later write fails the same way
                break
            record_failure(job.store, name, job.config_hash, failed[name], write_provenance)
            if user_error is None:  # a bug: stop here, keep what finished, show its traceback
                bug = exc
                break
            log.error("%s: FAILED, the run goes on: %s", name, failed[name])
            log_traceback_to_files(exc)

    results = None
    if done or failed:
        try:
            write_provenance()
            results = write_results(job.store, done, job.metrics, job.unavailable, provenance,
                                    complete=not failed and len(done) == len(names), failed=failed)
        except OSError as exc:
            refused = refused or exc
    _raise_failures(bug, refused, failed, done, names, output_dir)
    return results


def run_provenance(job: Job, components: dict[str, Any]) -> dict[str, Any]:
    """The run's ``provenance.json``: config and its hash, code, packages, device, seed, the components
    (:meth:`Job.component_provenance`), the dataset, unavailable metrics and the loaded files' digest."""
    return {
        "config_hash": job.config_hash,
        "config": OmegaConf.to_container(job.cfg, resolve=True),
        **code_and_stack(),
        "device": device_info(str(job.cfg.device)),
        "seed": int(job.cfg.seed),
        "method": components["method"],
        "dataset": job.dataset.provenance(),
        "metrics": components["metrics"],
        "metric_flow": components["metric_flow"],
        "unavailable_metrics": job.unavailable,
        "weights_digest": job.weights_digest,
    }


def write_unavailable(cfg: DictConfig, output_dir: Path, reason: str) -> dict[str, Any]:
    """Record a sweep job whose method cannot run on this machine (its paper-tier weights are missing):
    ``results.json`` with ``status: "unavailable"`` and the one-line ``reason``, no videos. The report shows
    the job's row as "unavailable" in every cell with the reason as a note; rerunning the sweep once the file
    is in place replaces the record (same config hash)."""
    from hydra.utils import get_class

    try:  # cfg as run() left it: method_settings already merged into cfg.method
        label = get_class(str(cfg.method._target_)).label_without_instance(cfg.method)
    except Exception:  # noqa: BLE001 - a label is a nicety; the record must be written
        label = str(cfg.method.name)
    results = {
        "status": "unavailable", "reason": reason, "complete": False, "num_videos": 0, "videos": [],
        "provenance": {"config_hash": config_hash(result_config(cfg)),
                       "config": OmegaConf.to_container(cfg, resolve=True),
                       "method": {"name": str(cfg.method.name), "label": label, "tier": "paper"}},
    }
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(output_dir) / "results.json", seal(results))
    return results


def run_video(job: Job, video: LoadedVideo) -> None:
    """Method → save → evaluate one loaded video; its record is written last (= "this video is done")."""
    name = video.name
    t0 = time.perf_counter()
    output = frames_from_uint8(frames_to_uint8(apply_method(job, video)))  # evaluate exactly what is saved
    t_method = time.perf_counter() - t0
    save_outputs(job, video, output)
    record: dict[str, Any] = {
        "video": name,
        "status": "complete",
        "config_hash": job.config_hash,
        "input_digest": video.input_digest,
        "weights_digest": job.weights_digest,
        "method": job.method.name,
        "dataset": str(job.cfg.dataset.name),
        "task": str(job.cfg.task.name),
        "num_frames": int(video.frames.shape[0]),
        "size": [int(video.frames.shape[-1]), int(video.frames.shape[-2])],
        "metrics": {},
        "unavailable": dict(job.unavailable),
        "timing_s": {"load": video.seconds, "method": t_method},
        "meta": {k: v for k, v in video.meta.items() if isinstance(v, (str, int, float, bool, list, type(None)))},
    }
    self_reference = job.unavailable_self_references(has_gt=video.gt is not None)
    if job.metrics:
        t0 = time.perf_counter()
        evaluated = evaluate_output(job, video, output)
        record["metrics"].update(evaluated["metrics"])
        record["unavailable"].update(evaluated["unavailable"])
        record["features"] = sorted(evaluated["features"])
        if evaluated.get("per_frame"):
            record["per_frame"] = evaluated["per_frame"]
        self_reference = evaluated["self_reference"] + self_reference
        record["timing_s"]["metrics"] = time.perf_counter() - t0
    if self_reference:
        record["self_reference"] = self_reference
    record["complete"] = True
    job.store.save_record(name, record)
    log.info("%s: %d frames, method %.1fs%s", name, video.frames.shape[0], t_method,
             "".join(f", {k}={v:.4g}" for k, v in record["metrics"].items() if isinstance(v, float)))


def input_digest(frames: torch.Tensor, known: torch.Tensor | None, gt: torch.Tensor | None) -> str:
    """Digest of what a video's result depends on besides the config: the frames, masks and ground truth
    as read (8-bit exact)."""
    return record_digest({"frames": frames_digest(frames), "known": None if known is None else frames_digest(known),
                          "gt": None if gt is None else frames_digest(gt)})


def load_video(job: Job, name: str) -> LoadedVideo:
    """Read one video at 8 bit, like any video on disk (the synthetic one is rendered in float): what
    ``python -m metrics`` reads back from saved frames is then exactly what the runner evaluated."""
    t0 = time.perf_counter()
    sample = job.dataset.load(name)
    frames, known = frames_from_uint8(frames_to_uint8(sample.frames)), sample.known
    gt = None
    if sample.gt is not None:
        gt = frames if sample.gt is sample.frames else frames_from_uint8(frames_to_uint8(sample.gt))
    task = job.cfg.task
    made = task_video(frames, known, gt, input=str(task.input), target=str(task.target))
    return LoadedVideo(name, frames, made.frames_in, made.known, made.gt, dict(sample.meta), time.perf_counter() - t0,
                       input_digest(frames, known, gt), motion_source=made.motion_source)


def frame_wise_reference(job: Job, video: LoadedVideo) -> torch.Tensor:
    """The frame-wise output of the method's image model on ``video`` (8-bit exact), from the shared cache:
    computed once per input and model, whoever asks first (a blind method or a metric)."""
    if video.reference is None:
        model = job.reference_model
        video.reference = job.reference_cache.get_or_compute(
            key=_reference_key(job.cfg, video.name, video.frames_in, getattr(model, "weights", lambda: None)()),
            compute=lambda: frames_from_uint8(frames_to_uint8(model(video.frames_in, video.known))),
        )
        model_name = getattr(model, "name", type(model).__name__)
        warn_if_constant(video.reference, f"the frame-wise reference of model {model_name!r} on video {video.name!r}")
    return video.reference


def apply_method(job: Job, video: LoadedVideo) -> torch.Tensor:
    """The method's output; blind post-processors get the frame-wise reference as input."""
    reference = frame_wise_reference(job, video) if job.method.needs_reference_input else None
    output = job.method.run(video.frames_in, video.known, reference=reference)
    if job.cfg.task.keep_luminance:  # colourisation's composite: the input's lightness, the output's colour
        output = keep_luminance(output, video.frames_in)
    return output


def save_outputs(job: Job, video: LoadedVideo, output: torch.Tensor) -> None:
    """PNG frames and an mp4, as configured."""
    from hypercon.io.frames import write_frames
    from hypercon.io.video import FALLBACK_FPS, write_video

    if job.cfg.save_frames:
        write_frames(output, job.store.frames_dir(video.name))
    if saves_inputs(job):  # the input as evaluated: `python -m metrics --source <run>/inputs` re-evaluates
        write_frames(video.frames, job.store.inputs_dir(video.name))
    if job.cfg.save_video:
        fps = float(video.meta.get("fps", FALLBACK_FPS) or FALLBACK_FPS)
        write_video(output, job.store.video_dir(video.name) / f"{video.name}.mp4", fps=fps)


def saves_inputs(job: Job) -> bool:
    """``save_inputs``: true / false, or null = only for generated data (nothing on disk to re-read)."""
    setting = job.cfg.get("save_inputs", None)
    return bool(getattr(job.dataset, "generated", False)) if setting is None else bool(setting)


def evaluate_output(job: Job, video: LoadedVideo, output: torch.Tensor) -> dict[str, Any]:
    """Every metric on the output, set-metric features saved beside the video (the result is
    :func:`metrics.evaluate.evaluate_video`'s)."""
    has_gt = video.gt is not None
    wants_reference = not job.method.is_reference and job.needs_reference(has_gt)
    reference = frame_wise_reference(job, video) if wants_reference else None
    source = video.motion_source if video.motion_source is not None else video.frames
    motion_key = f"{job.cfg.dataset.name}/{video.name}"
    rule = str(job.cfg.metrics.occlusion_rule)
    eval_video = EvalVideo(
        name=video.name, output=output, source=source, known=video.known, gt=video.gt, reference=reference,
        is_reference=job.method.is_reference, keep_maps=bool(job.cfg.get("save_error_maps", False)),
        source_motion=lambda: job.motion_cache.get(motion_key, source, job.eval_flow, rule=rule),
    )
    evaluated = evaluate_video(eval_video, job.metrics)
    for mname, arrays in evaluated["features"].items():
        job.store.save_features(video.name, mname, arrays)
    if eval_video.keep_maps:
        maps = eval_video.maps.get(job.metrics["ewarp"].key)
        if maps is None:
            log.warning("%s: no error maps (ewarp unavailable: %s)", video.name, evaluated["unavailable"].get("ewarp"))
        else:
            job.store.save_error_maps(video.name, maps)
    return evaluated


def _reference_key(cfg: DictConfig, name: str, frames_in: torch.Tensor, weights: dict | None = None) -> str:
    """The frame-wise reference's cache key: the model's config, the input and (when the model loaded a file,
    e.g. ``model=torchscript model.path=…``) the file's sha256, so a changed file at the same path misses."""
    model = OmegaConf.to_container(cfg.model, resolve=True)
    for key in ("device", "batch_size", "weights_dir"):
        model.pop(key, None)
    record = {"model": model, "input": frames_digest(frames_in)}
    if weights and weights.get("sha256"):
        record["weights_sha256"] = weights["sha256"]
    digest = config_hash(record)
    return f"{cfg.dataset.name}/{name}/{digest}"
