"""``python -m hypercon``: HyperCon on any model and any video, without Hydra.

    python -m hypercon apply INPUT --model MODEL --out OUTPUT [--mask MASKS] [--method hypercon]
        [--num-inserted I] [--window C] [--dilation D] [--pool mean|median] [--chunk-size N]
        [--interp NAME] [--flow NAME] [--conv KEY=VALUE ...] [--device cpu] [--seed S] [--fps F] [--compare]
    python -m hypercon evaluate OUTPUT --source INPUT [--metrics ewarp,cpsnr,cssim] [--flow NAME]
    python -m hypercon env [--strict] [--lock FILE]

INPUT and OUTPUT are a video file (mp4, …) or a folder of frames (PNG out). MODEL is a config name
(``kmeans_palette``, ``fst_engstrom:udnie``), ``package.module:function`` or a ``.pt2`` (``torch.export``) /
``.pt`` (TorchScript) / ``.onnx`` file; ``--conv`` declares a callable's or file's conventions
(``--conv range=[-1,1] --conv channels=BGR``, the keys of ``conf/model/callable.yaml``). Options left out keep their values in ``conf/`` (e.g. HyperCon's in
``conf/method/hypercon.yaml``). ``apply`` streams (:mod:`hypercon.apply`); ``--compare`` also writes the
frame-wise output (``OUTPUT_framewise``) and ``OUTPUT_compare.mp4`` (input | frame-wise | HyperCon) and prints
E_warp and C_PSNR of both. ``evaluate`` is ``python -m metrics`` for one video (video files too). ``env``
prints the installed numerical stack against the lock, marking each difference (:mod:`hypercon.stack`).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("hypercon.cli")

#: HyperCon's options on the command line → its config keys (values: conf/method/hypercon.yaml)
METHOD_OPTIONS = {"num_inserted": int, "window": int, "dilation": int, "pool": str, "chunk_size": int}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hypercon", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("apply", help="apply a method (HyperCon) with an image model to one video")
    a.add_argument("input", help="video file or folder of frames")
    a.add_argument("--model", required=True, help="config name, package.module:function, or a .pt2 / .pt / .onnx file")
    a.add_argument("--out", required=True, help="output video file (.mp4) or folder of PNG frames")
    a.add_argument("--mask", help="folder of masks, one per frame (inpainting)")
    a.add_argument("--mask-polarity", choices=("hole", "known"), default="hole",
                   help="what white marks in --mask files (default: hole)")
    a.add_argument("--method", default="hypercon", help="conf/method name: hypercon (default), framewise, vcons, dvp, …")
    for key, typ in METHOD_OPTIONS.items():
        a.add_argument(f"--{key.replace('_', '-')}", type=typ, help=f"method.{key} (default: conf/method/hypercon.yaml)")
    a.add_argument("--interp", help="conf/interp name (default: conf/config.yaml's)")
    a.add_argument("--flow", help="conf/flow name for alignment and interpolation (default: conf/config.yaml's)")
    a.add_argument("--conv", action="append", default=[], metavar="KEY=VALUE",
                   help="a callable's or model file's convention, e.g. range=[-1,1] (repeatable)")
    a.add_argument("--device", help="cpu | cuda (default: conf/config.yaml's)")
    a.add_argument("--seed", type=int, help="root seed (default: conf/config.yaml's)")
    a.add_argument("--fps", type=float, help="output frame rate (default: the input's; 24 for a frame folder)")
    a.add_argument("--compare", action="store_true",
                   help="also write the frame-wise output and a side-by-side mp4; print E_warp and C_PSNR of both")
    a.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar (default: only when stderr is a terminal)")
    e = sub.add_parser("evaluate", help="the benchmark's metrics for one output video (python -m metrics)")
    e.add_argument("output", help="output video file or folder of frames")
    e.add_argument("--source", required=True, help="the input video (defines the motion)")
    e.add_argument("--metrics", help="comma-separated metric names (default: the style task's without a reference)")
    e.add_argument("--flow", help="conf/flow name for the source motion (default: conf/metrics/default.yaml's)")
    e.add_argument("--device", default="cpu")
    e.add_argument("--json", help="also write the values to this JSON file")
    v = sub.add_parser("env", help="the installed numerical stack against the lock (requirements/lock.txt)")
    v.add_argument("--lock", help="lock file to compare with (default: requirements/lock.txt of this checkout)")
    v.add_argument("--strict", action="store_true", help="exit 1 when a package differs from the lock")
    for parser in (a, e, v):
        parser.add_argument("--log-level", default="WARNING")
    return p


def read_any(path: str | Path):
    """A video file or a frame folder → ``[T,3,H,W]`` float32 (whole)."""
    from hypercon.io.frames import read_frames
    from hypercon.io.video import read_video

    path = Path(path)
    return read_frames(path) if path.is_dir() else read_video(path)[0]


def check_apply_outputs(args: argparse.Namespace) -> None:
    """SettingError if ``--out`` (or, with ``--compare``, its ``_framewise`` / ``_compare.mp4`` siblings) is, or
    would overwrite, INPUT or ``--mask`` (:mod:`hypercon.io.overwrite`)."""
    from hypercon.apply import is_video_file, sibling
    from hypercon.io.overwrite import refuse_overwrite

    out = Path(args.out)
    outputs = {"--out": out}
    if args.compare:
        outputs.update({"--compare's frame-wise output": sibling(out, "framewise"),
                        "--compare's side-by-side video": sibling(out, "compare", ".mp4")})
    folders = frozenset(k for k, path in outputs.items() if not is_video_file(path))
    refuse_overwrite(outputs, {"INPUT": args.input, "--mask": args.mask}, folders)


def run_apply(args: argparse.Namespace) -> dict[str, Any]:
    from hypercon.api import build_method, resolve_model
    from hypercon.apply import apply_to_file, compare, open_input
    from hypercon.errors import SettingError
    from metrics.cli import parse_options

    check_apply_outputs(args)

    options = {k: getattr(args, k) for k in METHOD_OPTIONS if getattr(args, k) is not None}
    if options and args.method != "hypercon":
        raise SettingError(f"--{', --'.join(k.replace('_', '-') for k in options)}: HyperCon's options, "
                           f"not method {args.method!r}'s")
    conventions = parse_options([f"model.{c}" for c in args.conv]).get("model", {})
    model = resolve_model(args.model, conventions, args.device, args.seed)
    method = build_method(args.method, model, options, args.interp, args.flow, args.device, args.seed)
    video = open_input(args.input, args.mask, args.mask_polarity, args.fps)
    out = Path(args.out)
    if not args.compare:
        done = apply_to_file(method, video, out, progress=args.progress)
        sys.stdout.write(f"{done.num_frames} frames → {out} ({video.fps:g} fps), {method.label()}, "
                         f"{done.seconds / done.num_frames:.3g} s/frame\n")
        return {"output": str(out), "num_frames": done.num_frames, "seconds": done.seconds}
    framewise = build_method("framewise", model, device=args.device, seed=args.seed)
    result = compare(method, framewise, video, out, progress=args.progress)
    from tabulate import tabulate

    rows = [[name, values.get("ewarp"), values.get("cpsnr")] for name, values in result["metrics"].items()]
    sys.stdout.write(f"{video.num_frames} frames → {out}, {result['framewise'].path}, "
                     f"{result['side_by_side']} (input | frame-wise | {method.name})\n")
    sys.stdout.write(tabulate(rows, headers=["", "E_warp ↓", "C_PSNR ↑"], floatfmt=".4f") + "\n")
    return {"output": str(out), "framewise": str(result["framewise"].path),
            "side_by_side": str(result["side_by_side"]), "metrics": result["metrics"]}


def run_evaluate(args: argparse.Namespace) -> dict[str, float]:
    from hypercon.api import evaluate
    from hypercon.io.overwrite import refuse_overwrite

    refuse_overwrite({"--json": args.json}, {"OUTPUT": args.output, "--source": args.source})
    names = [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None
    values = evaluate(read_any(args.output), read_any(args.source), names, flow=args.flow, device=args.device)
    for key, value in values.items():
        sys.stdout.write(f"{key}\t{value:.6g}\n" if isinstance(value, float) else f"{key}\t{value}\n")
    if args.json:
        Path(args.json).write_text(json.dumps(values, indent=2, default=str))
    return values


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command == "env":
        return run_env(args)
    return run_apply(args) if args.command == "apply" else run_evaluate(args)


def run_env(args: argparse.Namespace) -> dict[str, Any]:
    """``python -m hypercon env``: print the stack against the lock; ``--strict`` exits 1 on a difference."""
    from hypercon.provenance import stack_report
    from hypercon.stack import LOCK_FILE

    lines, drift = stack_report(Path(args.lock) if args.lock else LOCK_FILE)
    sys.stdout.write("\n".join(lines) + "\n")
    if args.strict and drift:
        raise SystemExit(1)
    return {"drift": drift}
