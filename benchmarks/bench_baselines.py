"""Speed of the blind baselines beside frame-wise and HyperCon, measured side by side in one run.

    python benchmarks/bench_baselines.py [--size 832x480] [--frames 8] [--repeat 3] [--model fst_engstrom]
        [--weights-dir ../shared/weights] [--dvp-size 416x240] [--dvp-frames 24] [--dvp-epochs 25]
        [--dvp-repeat 1] [--device cpu | cuda] [--skip-dvp] [--inpaint-model opencv_inpaint] [--skip-inpaint]
        [--vinet-size 512] [--vinet-frames 4] [--vinet-repeat 1] [--skip-vinet]

On a synthetic textured video (``datasets.synthetic``), components composed from ``conf/`` as ``python
run.py`` composes them (``model=``, ``method=hypercon | vcons | dvp`` with their yaml defaults):

* frame-wise: the image model on every frame, frames/s;
* HyperCon: ``method.run`` (its own translation of the interpolated frames included), frames/s;
* vcons: Lai et al.'s network on (I, P) given P (the post-processing alone, no flow at test time), and
  frame-wise + vcons (what a user waits for), frames/s. The network is the shipped checkpoint
  (``method.checkpoint=trained``), or random weights of the same architecture when it is absent (speed does
  not depend on the weights; the table says which);
* DVP: seconds per ``--dvp-frames``-frame video at ``--dvp-size`` for ``--dvp-epochs`` (the training is
  the cost), P given;
* inpainting (``task=inpaint``, a centred rectangle hole): ``--inpaint-model`` frame-wise and HyperCon at
  ``--size``, interleaved with the others;
* VINet: ``method=vinet``'s loop (warm-up of ``min(30, N)`` steps included) at its ``--vinet-size``² network
  input, RANDOM weights (tier test: speed does not depend on the weights, and the real file is not here),
  seconds per output frame over a ``--vinet-frames``-frame video at ``--size``.

Each method runs ``--repeat`` times, interleaved round-robin (A B C, A B C, …) so that machine noise hits all
alike; the table gives medians and ratios to frame-wise. On a GPU (``--device cuda``) every timing ends with
``torch.cuda.synchronize()``. Lai et al. report > 400 frames/s at 1280×720 on a GPU for their network.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from typing import Callable

import torch
from tabulate import tabulate

from hypercon.config import available, compose_config, instantiate_component

log = logging.getLogger("bench_baselines")


def _size(text: str) -> tuple[int, int]:
    width, height = (int(v) for v in text.lower().split("x"))
    return width, height


def timed(fn: Callable[[], object], device: str) -> float:
    t0 = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def synthetic_frames(num_frames: int, width: int, height: int) -> torch.Tensor:
    from datasets.synthetic import make_synthetic_video

    return make_synthetic_video(0, num_frames, height, width).frames


def centred_hole(frames: torch.Tensor) -> torch.Tensor:
    """``known`` ``[T,1,H,W]`` with a centred rectangle hole of a third of each side."""
    t, _, h, w = frames.shape
    known = torch.ones(t, 1, h, w, device=frames.device)
    known[:, :, h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = 0
    return known


def build(args: argparse.Namespace) -> dict:
    """The image model, HyperCon, the vcons network (and whether it is the shipped one) and DVP."""
    from baselines.vcons.network import TransformNet
    from hypercon.errors import find_user_error
    from hypercon.weights import WeightsError

    values = {"device": args.device, **({"paths.weights_dir": args.weights_dir} if args.weights_dir else {})}
    cfg = compose_config([f"model={args.model}", "method=hypercon"], values)
    model = instantiate_component(cfg.model)
    hypercon = instantiate_component(cfg.method, model=model)
    vcons_cfg = compose_config([f"model={args.model}", "method=vcons"], values).method
    try:
        net, weights = instantiate_component(vcons_cfg, model=model).net, "shipped checkpoint"
    except Exception as exc:  # instantiate wraps the loader's WeightsError
        cause = find_user_error(exc)
        if not isinstance(cause, WeightsError):
            raise
        log.warning("vcons: %s; timing random weights of the same architecture", str(cause).splitlines()[0])
        net, weights = TransformNet().to(args.device).eval(), "random weights"
    dvp = None
    if not args.skip_dvp:
        dvp_values = {**values, "method.epochs": args.dvp_epochs}
        dvp = instantiate_component(compose_config([f"model={args.model}", "method=dvp"], dvp_values).method,
                                    model=model)
    return {"model": model, "hypercon": hypercon, "vcons_net": net, "vcons_weights": weights, "dvp": dvp}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line of the module docstring."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="832x480", help="WxH of the frame-wise / HyperCon / vcons video")
    p.add_argument("--frames", type=int, default=8)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--model", default="fst_engstrom", choices=available("model"), help="conf/model/ name")
    p.add_argument("--weights-dir", default=None)
    p.add_argument("--dvp-size", default="416x240")
    p.add_argument("--dvp-frames", type=int, default=24)
    p.add_argument("--dvp-epochs", type=int, default=25)
    p.add_argument("--dvp-repeat", type=int, default=1)
    p.add_argument("--skip-dvp", action="store_true")
    p.add_argument("--inpaint-model", default="opencv_inpaint", choices=available("model"))
    p.add_argument("--skip-inpaint", action="store_true")
    p.add_argument("--vinet-size", type=int, default=512, help="VINet's square input (512: save_agg_rec_512.pth)")
    p.add_argument("--vinet-frames", type=int, default=4)
    p.add_argument("--vinet-repeat", type=int, default=1)
    p.add_argument("--skip-vinet", action="store_true")
    p.add_argument("--device", default="cpu")
    return p.parse_args(argv)


def interleaved_runs(args: argparse.Namespace, parts: dict, frames: torch.Tensor) -> dict[str, Callable[[], object]]:
    """The methods timed round-robin: frame-wise, HyperCon, vcons (alone and after frame-wise) and, unless
    ``--skip-inpaint``, frame-wise and HyperCon inpainting with ``--inpaint-model``."""
    from baselines.vcons.method import vcons_video

    model, net = parts["model"], parts["vcons_net"]
    processed = model(frames)
    runs = {
        "frame-wise": lambda: model(frames),
        "HyperCon": lambda: parts["hypercon"].run(frames),
        "vcons (network only)": lambda: vcons_video(net, frames, processed),
        "frame-wise + vcons": lambda: vcons_video(net, frames, model(frames)),
    }
    if not args.skip_inpaint:
        from hypercon.checks import hide_holes

        values = {"device": args.device, **({"paths.weights_dir": args.weights_dir} if args.weights_dir else {})}
        cfg = compose_config(["task=inpaint", f"model={args.inpaint_model}", "method=hypercon"], values)
        inpainter = instantiate_component(cfg.model)
        inpaint_hypercon = instantiate_component(cfg.method, model=inpainter)
        known = centred_hole(frames)
        hidden = hide_holes(frames, known)
        runs[f"frame-wise inpainting ({args.inpaint_model})"] = lambda: inpainter(hidden, known)
        runs["HyperCon inpainting"] = lambda: inpaint_hypercon.run(hidden, known)
    return runs


def time_round_robin(runs: dict[str, Callable[[], object]], repeat: int, device: str) -> dict[str, list[float]]:
    """One warm-up call each (allocations, cuDNN autotuning), then ``repeat`` rounds A B C, A B C, …"""
    with torch.no_grad():
        for fn in runs.values():
            fn()
        seconds: dict[str, list[float]] = {k: [] for k in runs}
        for _ in range(repeat):
            for name, fn in runs.items():
                seconds[name].append(timed(fn, device))
    return seconds


def dvp_row(args: argparse.Namespace, parts: dict) -> list:
    """DVP's seconds per ``--dvp-frames``-frame video (its training is the cost), P given."""
    dw, dh = _size(args.dvp_size)
    dvp_frames = synthetic_frames(args.dvp_frames, dw, dh).to(args.device)
    dvp_reference = parts["model"](dvp_frames)
    dvp_seconds = [timed(lambda: parts["dvp"].run(dvp_frames, reference=dvp_reference), args.device)
                   for _ in range(args.dvp_repeat)]
    med = statistics.median(dvp_seconds)
    return [f"DVP ({args.dvp_epochs} epochs, P given)", f"{dw}x{dh}", args.dvp_frames, f"{med:.3f}",
            f"{args.dvp_frames / med:.3f}", "–"]


def vinet_row(args: argparse.Namespace, frames: torch.Tensor, framewise_per_frame: float) -> list:
    """VINet's loop with RANDOM weights (tier test) over ``--vinet-frames`` frames at ``--size``."""
    from baselines.vinet.method import vinet_video
    from baselines.vinet.network import VINet

    height, width = frames.shape[-2:]
    vinet = VINet(crop_size=args.vinet_size).to(args.device).eval()  # random weights: tier test
    vframes = frames[: args.vinet_frames] if args.vinet_frames <= args.frames else \
        synthetic_frames(args.vinet_frames, width, height).to(args.device)
    vknown = centred_hole(vframes)
    with torch.no_grad():
        vinet_seconds = [timed(lambda: vinet_video(vinet, vframes, vknown), args.device)
                         for _ in range(args.vinet_repeat)]
    med = statistics.median(vinet_seconds)
    steps = args.vinet_frames + min(30, args.vinet_frames)
    return [f"VINet (random weights, tier test; {steps} steps)", f"{width}x{height} via {args.vinet_size}²",
            args.vinet_frames, f"{med:.3f}", f"{args.vinet_frames / med:.3f}",
            f"{med / args.vinet_frames / framewise_per_frame:.2f}"]


def main(argv: list[str] | None = None) -> int:
    """Time the methods (module docstring) and print one table."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parts = build(args)
    width, height = _size(args.size)
    frames = synthetic_frames(args.frames, width, height).to(args.device)
    seconds = time_round_robin(interleaved_runs(args, parts, frames), args.repeat, args.device)
    rows, base = [], statistics.median(seconds["frame-wise"])
    for name, values in seconds.items():
        med = statistics.median(values)
        rows.append([name, f"{width}x{height}", args.frames, f"{med:.3f}", f"{args.frames / med:.2f}",
                     f"{med / base:.2f}"])
    if parts["dvp"] is not None:
        rows.append(dvp_row(args, parts))
    if not args.skip_vinet:
        rows.append(vinet_row(args, frames, base / args.frames))
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"cpu ({torch.get_num_threads()} threads)"
    print(f"# blind baselines, {device}, model={args.model}, vcons: {parts['vcons_weights']}, "
          f"median of {args.repeat} interleaved runs (DVP: {args.dvp_repeat})")
    print(tabulate(rows, headers=["method", "size", "frames", "median s / video", "frames/s", "x frame-wise time"],
                   tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
