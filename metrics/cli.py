"""``python -m metrics``: evaluate saved output frames against their source video, without Hydra.

    python -m metrics --pred OUT --source SRC [--gt GT] [--mask MASKS] [--reference REF] \\
        --metrics ewarp,cpsnr,cssim [--flow NAME] [--cache DIR] [--set ewarp.averaging=lai] --out results.json

Each DIR holds one sub-folder of frames per video (videos = the sub-folders of ``--pred``, matched by
name in the other folders), or is itself a single folder of frames (one video, named after it). Within a
video, the files of ``--source``/``--gt``/``--reference``/``--mask`` pair with ``--pred``'s by the numbers in
their names (:mod:`hypercon.io.pairing`): a missing or extra file stops with one line naming it. Frames
are read with :func:`hypercon.io.frames.read_frames`, masks with :func:`hypercon.io.frames.read_masks`
(``--mask-polarity hole``: white marks the hole, as DAVIS / ProPainter; ``known``: white = known, as the
masks this project writes). The source video defines the motion (E_warp's flow + occlusion, computed
once with ``--flow`` (``conf/flow/NAME.yaml``, composed as in ``python run.py``; default: the metrics
config's flow) and cached in ``--cache``; without it, a temporary folder that is deleted at the end (nothing
is kept, and the output says so; values are identical either way). A progress bar per video shows on a
terminal (``--progress`` / ``--no-progress`` to force it on or off). Metrics run through :func:`metrics.evaluate.evaluate_videos`, the loop the runner uses.
Prints one table row per video and mean ± SEM; writes per-video values, aggregates and provenance.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("metrics.cli")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m metrics", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pred", required=True, help="output frames: folder of per-video folders, or one frame folder")
    p.add_argument("--source", help="source video frames (defines the motion); default: --gt")
    p.add_argument("--gt", help="ground-truth frames (inpainting: psnr/ssim)")
    p.add_argument("--mask", help="mask frames (inpainting; composited before evaluation)")
    p.add_argument("--mask-polarity", choices=("hole", "known"), default="hole",
                   help="what white marks in --mask files (default: hole)")
    p.add_argument("--reference", help="frame-wise output of the same image model (fidelity)")
    p.add_argument("--metrics", required=True, help="comma-separated metric names (metrics/registry.py)")
    p.add_argument("--set", action="append", default=[], metavar="NAME.KEY=VALUE",
                   help="metric option, e.g. ewarp.averaging=lai (repeatable)")
    from hypercon.config import available
    from metrics.occlusion import DEFAULT_OCCLUSION_RULE, RULES

    p.add_argument("--flow", help=f"flow estimator for the source motion: {', '.join(available('flow'))} "
                   "(conf/flow/) or a class path (default: the flow of conf/metrics/default.yaml)")
    p.add_argument("--occlusion-rule", choices=RULES, default=DEFAULT_OCCLUSION_RULE)
    p.add_argument("--weights-dir", help="folder of pretrained weights (paper-tier flow estimators)")
    p.add_argument("--device", default="cpu", help="device for flow and metrics (cpu, cuda)")
    p.add_argument("--cache", help="folder for the source-motion cache, kept and reused across runs (default: a "
                   "temporary folder, deleted at the end)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar per video (default: only when stderr is a terminal)")
    p.add_argument("--out", required=True, help="results JSON file")
    p.add_argument("--log-level", default="INFO")
    return p


def parse_options(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``["ewarp.averaging=lai", "cpsnr.seed_per_video=true"]`` → ``{"ewarp": {"averaging": "lai"}, …}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        name, dot, option = key.partition(".")
        if not sep or not dot or not name or not option:
            raise ValueError(f"--set {item!r}: expected NAME.KEY=VALUE, e.g. ewarp.averaging=lai")
        lowered = raw.strip().lower()
        if lowered in ("true", "false", "null", "none"):
            value: Any = {"true": True, "false": False}.get(lowered)
        else:
            try:
                value = ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                value = raw
        out.setdefault(name, {})[option] = value
    return out


def _has_frames(folder: Path) -> bool:
    from hypercon.io.frames import FRAME_EXTENSIONS

    return any(p.is_file() and p.suffix.lower() in FRAME_EXTENSIONS for p in folder.iterdir())


def discover_videos(pred: Path) -> list[tuple[str, bool]]:
    """``[(video name, single)]``: the sub-folders of ``pred`` (sorted), or ``pred`` itself if it holds frames."""
    from hypercon.io.frames import natural_key

    if not pred.is_dir():
        raise FileNotFoundError(f"--pred {pred}: not a folder")
    if _has_frames(pred):
        return [(pred.name, True)]
    names = sorted((p.name for p in pred.iterdir() if p.is_dir() and not p.name.startswith(".")), key=natural_key)
    if not names:
        raise ValueError(f"--pred {pred}: holds neither frames nor per-video sub-folders")
    return [(n, False) for n in names]


def _video_dir(root: Path, name: str, single: bool, what: str) -> Path:
    """The frame folder of ``name`` under ``root``; a run's store layout (``<video>/frames/``, as in
    ``outputs/runs/<job>/videos``) is accepted as well as frames directly in ``<video>/``."""
    folder = root if single else root / name
    if not folder.is_dir():
        raise FileNotFoundError(f"--{what} {root}: no folder for video {name!r} (expected {folder})")
    if not _has_frames(folder) and (folder / "frames").is_dir():
        return folder / "frames"
    return folder


def make_flow(name: str | None, device: str = "cpu", weights_dir: str | None = None) -> Any:
    """The flow estimator for the source motion: ``conf/flow/<name>.yaml`` composed with the root config
    (``device``, ``paths.weights_dir`` set), the metrics config's flow when ``name`` is None, or a class
    path ``module.Class`` (given ``device`` / ``weights_dir`` when it takes them)."""
    from hypercon.config import compose_component, compose_config, instantiate_component

    if name is not None and "." in name:
        module, _, cls_name = name.rpartition(".")
        cls = getattr(importlib.import_module(module), cls_name)
        params = inspect.signature(cls).parameters
        kwargs = {"device": device} if "device" in params else {}
        if "weights_dir" in params and weights_dir:
            kwargs["weights_dir"] = weights_dir
        return cls(**kwargs)
    values = {"device": device, **({"paths.weights_dir": weights_dir} if weights_dir else {})}
    cfg = compose_config(values=values).metrics.flow if name is None else compose_component("flow", name, values=values)
    return instantiate_component(cfg)


def load_videos(args: argparse.Namespace, flow: Any, cache: Any) -> Iterator:
    """Yield one :class:`metrics.base.EvalVideo` per video (frames read lazily, one video at a time)."""
    from hypercon.io.frames import list_frame_files, read_frames, read_masks
    from hypercon.io.pairing import pair_by_name
    from metrics.base import EvalVideo

    pred = Path(args.pred)
    source_root = Path(args.source or args.gt)
    for name, single in discover_videos(pred):
        pred_files = list_frame_files(_video_dir(pred, name, single, "pred"))

        def paired(root: str | Path | None, what: str) -> list[Path] | None:
            """``what``'s files of this video, one per --pred frame, paired by name (hypercon.io.pairing)."""
            if root is None:
                return None
            files = list_frame_files(_video_dir(Path(root), name, single, what))
            return pair_by_name(pred_files, files, f"--{what} {'mask' if what == 'mask' else 'frame'}")

        output = read_frames(pred_files)
        source = read_frames(paired(source_root, "source"))
        gt = read_frames(paired(args.gt, "gt")) if args.gt else None
        reference = read_frames(paired(args.reference, "reference")) if args.reference else None
        known = read_masks(paired(args.mask, "mask"), polarity=args.mask_polarity) if args.mask else None
        for what, frames in (("source", source), ("gt", gt), ("reference", reference), ("mask", known)):
            if frames is not None and (frames.shape[0] != output.shape[0] or frames.shape[-2:] != output.shape[-2:]):
                raise ValueError(f"video {name!r}: --{what} has {frames.shape[0]} frames of "
                                 f"{frames.shape[-1]}x{frames.shape[-2]}, --pred has {output.shape[0]} of "
                                 f"{output.shape[-1]}x{output.shape[-2]}")

        def motion(source=source, name=name):
            return cache.get(name, source, flow, rule=args.occlusion_rule)

        yield EvalVideo(name=name, output=output, source=source, known=known, gt=gt, reference=reference,
                        source_motion=motion)


def with_progress(videos: Iterator, total: int, enabled: bool | None = None) -> Iterator:
    """``videos`` with a tqdm bar (one step per video) when ``enabled``; None: only when stderr is a TTY."""
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return iter(tqdm(videos, total=total, desc="videos", unit="video", disable=not enabled, dynamic_ncols=True))


def _fmt(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def format_table(results: dict[str, Any]) -> str:
    """Per-video rows plus a ``mean ± sem`` row (tabulate, plain text)."""
    from tabulate import tabulate

    from metrics.base import specs_from_provenance

    keys = list(results["aggregate"])
    specs = specs_from_provenance(results.get("metrics") or {})
    arrows = {k: specs[k].direction() if k in specs else ("↑" if results["higher_is_better"].get(k) else "↓")
              for k in keys}
    rows = [[r["video"], *[_fmt(r["metrics"][k]) if k in r["metrics"] else "n/a" for k in keys]]
            for r in results["videos"]]

    def fmt(agg: dict[str, Any]) -> str:
        if agg["mean"] is None:
            return "n/a"
        return _fmt(agg["mean"]) + (f" ± {agg['sem']:.2g}" if agg["sem"] is not None else "")

    rows.append([f"mean ± sem (n={len(results['videos'])})", *[fmt(results["aggregate"][k]) for k in keys]])
    table = tabulate(rows, headers=["video", *[f"{k} {arrows[k]}" for k in keys]], disable_numparse=True)
    if results["unavailable"]:
        table += "\nunavailable: " + "; ".join(f"{k}: {v}" for k, v in results["unavailable"].items())
    return table


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, default=str)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.INFO),
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.source and not args.gt:
        raise SystemExit("python -m metrics: give --source (or --gt, which then defines the motion)")
    from hypercon.provenance import code_and_stack
    from metrics.evaluate import build_metrics, evaluate_videos
    from metrics.source_motion import SourceMotionCache

    names = [n.strip() for n in args.metrics.split(",") if n.strip()]
    options = parse_options(args.set)
    common = {"device": args.device, "occlusion_rule": args.occlusion_rule, "weights_dir": args.weights_dir}
    metrics, _ = build_metrics(names, options, common=common)  # --set NAME.KEY=VALUE wins over common
    flow = make_flow(args.flow, args.device, args.weights_dir)
    with tempfile.TemporaryDirectory(prefix="source_motion_") as tmp:
        cache = SourceMotionCache(Path(args.cache) if args.cache else Path(tmp), temporary=not args.cache)
        videos = with_progress(load_videos(args, flow, cache), len(discover_videos(Path(args.pred))), args.progress)
        results = evaluate_videos(videos, names, metrics=metrics)
    if args.cache:
        log.info("source motion cached in %s (reused by the next run with --cache %s)", args.cache, args.cache)
    else:
        log.info("source motion: nothing was kept (pass --cache DIR to keep it for the next run)")
    results["provenance"] = {
        "command": ["python", "-m", "metrics", *(argv if argv is not None else sys.argv[1:])],
        "inputs": {k: getattr(args, k) for k in ("pred", "source", "gt", "mask", "mask_polarity", "reference")},
        "metric_flow": flow.provenance() if hasattr(flow, "provenance") else {"name": args.flow},
        "occlusion_rule": args.occlusion_rule,
        **code_and_stack(),
    }
    _write_json(Path(args.out), results)
    sys.stdout.write(format_table(results) + "\n")
    log.info("results written to %s", args.out)
    return results
