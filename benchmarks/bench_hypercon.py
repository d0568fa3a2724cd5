"""HyperCon speed per stage at 832×480, and the interpolation-quality check that chose flow_linear's default.

    python benchmarks/bench_hypercon.py [--frames 6] [--size 832x480] [--model flicker] [--interp flow_linear]
        [--flow dis] [--num-inserted I] [--window C] [--dilation D] [--pool P] [--device cpu] [--weights-dir DIR]
        [--random-weights]   # interp=superslomo without its checkpoint: timing only
    python benchmarks/bench_hypercon.py --interp-psnr [--videos 4] [--size 416x240]

Components are composed from ``conf/`` as ``python run.py`` composes them (``model=``, ``interp=``, ``flow=``,
``method=hypercon``); HyperCon's options left out keep their values in ``conf/method/hypercon.yaml``.

Speed: a synthetic textured video (``datasets.synthetic``) of ``--frames`` frames. Reported per output frame:
seconds in interpolation / translation / alignment flow / pooling (HyperCon's own clocks), and the network
forwards timed independently by wrappers around the image model, the alignment flow estimator and the
interpolator's networks (for ``flow_linear``: its flow estimator; for ``superslomo``: the whole
``warping_params``). ``overhead = HyperCon wall time / Σ forwards`` (goal ≤ 1.2).

Interpolation PSNR: procedural videos with occlusions; every ``--step``-th frame in, ``i = step − 1``, PSNR
of the interpolated frames against the held-out rendered ones, for ``flow_linear`` with ``occlusion=False`` (``w = t``) and
``occlusion=True`` (forward/backward-check visibility), with the ``--flow`` estimator.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time

import torch
from tabulate import tabulate

from hypercon.config import available, compose_config, instantiate_component
from hypercon.flow.base import FlowEstimator
from hypercon.interp.base import Interpolator
from hypercon.models.base import ImageModel

log = logging.getLogger("bench_hypercon")


class Timed:
    """Accumulates wall-clock seconds of wrapped calls."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, fn, *args):
        t0 = time.perf_counter()
        out = fn(*args)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out


class TimedFlow(FlowEstimator):
    def __init__(self, inner: FlowEstimator) -> None:
        self.inner, self.timer, self.name = inner, Timed(), inner.name

    def estimate(self, src, dst):
        return self.timer(self.inner.estimate, src, dst)


class TimedModel(ImageModel):
    def __init__(self, inner: ImageModel) -> None:
        self.inner, self.timer, self.name = inner, Timed(), inner.name
        self.needs_mask, self.batch_size, self.device = inner.needs_mask, inner.batch_size, inner.device

    def translate_batch(self, frames, known):
        return self.timer(self.inner.translate_batch, frames, known)

    def translate_frames(self, frames, known, times):  # the inner model may seed per frame time
        return self.timer(self.inner.translate_frames, frames, known, times)


class TimedInterp(Interpolator):
    def __init__(self, inner: Interpolator) -> None:
        self.inner, self.timer, self.name, self.batch_size = inner, Timed(), inner.name, inner.batch_size

    def warping_params(self, frame_a, frame_b, times):
        return self.timer(self.inner.warping_params, frame_a, frame_b, times)


def compose(args):
    """The root config with the benchmark's choices: ``--model``, ``--interp``, ``--flow``, HyperCon's options
    that were given, ``--device`` and ``--weights-dir``."""
    overrides = [f"{group}={getattr(args, group)}" for group in ("model", "interp", "flow") if getattr(args, group)]
    values = {f"method.{key}": getattr(args, key)
              for key in ("num_inserted", "window", "dilation", "pool", "chunk_size") if getattr(args, key) is not None}
    if args.occlusion is not None and args.interp == "flow_linear":
        values["interp.occlusion"] = args.occlusion
    values["device"] = args.device
    if args.weights_dir:
        values["paths.weights_dir"] = args.weights_dir
    return compose_config(overrides, values)


def synthetic_frames(num_frames: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    from datasets.synthetic import make_synthetic_video

    return make_synthetic_video(seed, num_frames, height, width).frames


def bench_speed(args) -> None:
    cfg = compose(args)
    width, height = map(int, args.size.split("x"))
    frames = synthetic_frames(args.frames, height, width)
    model = TimedModel(instantiate_component(cfg.model))
    align_flow = TimedFlow(instantiate_component(cfg.flow))
    interp_timer = None
    if args.interp == "flow_linear":
        interp_flow = TimedFlow(instantiate_component(cfg.flow))
        interp = instantiate_component(cfg.interp, flow=interp_flow)
        interp_timer = interp_flow.timer
    else:
        from hypercon.interp.superslomo import SuperSloMo, UNet

        if args.random_weights:  # timing only: the cost does not depend on the weights' values
            slomo = SuperSloMo.from_modules(UNet(6, 4), UNet(20, 5), device=args.device)
        else:
            slomo = instantiate_component(cfg.interp)
        interp = TimedInterp(slomo)
        interp_timer = interp.timer
    method = instantiate_component(cfg.method, model=model, interp=interp, flow=align_flow)
    method.run(frames[:2])  # warm-up
    for timer in (model.timer, align_flow.timer, interp_timer):
        timer.seconds, timer.calls = 0.0, 0
    t0 = time.perf_counter()
    method.run(frames)
    wall = time.perf_counter() - t0
    n = frames.shape[0]
    stats = method.last_stats
    forwards = model.timer.seconds + align_flow.timer.seconds + interp_timer.seconds
    rows = [[stage, f"{sec / n:.3f}"] for stage, sec in stats["seconds"].items()]
    rows += [["(forward) image model", f"{model.timer.seconds / n:.3f}"],
             ["(forward) alignment flow", f"{align_flow.timer.seconds / n:.3f}"],
             [f"(forward) interpolation ({args.interp})", f"{interp_timer.seconds / n:.3f}"],
             ["HyperCon total", f"{wall / n:.3f}"]]
    options = method.options()
    print(f"HyperCon on {n} frames of {width}x{height}, model={cfg.model.name}, interp={args.interp}, "
          f"flow={type(align_flow.inner).__name__} {align_flow.inner.options()}, i={options['num_inserted']}, "
          f"c={options['window']}, d={options['dilation']}, pool={options['pool']}, device={args.device}, "
          f"torch threads={torch.get_num_threads()}")
    print(tabulate(rows, headers=["stage", "s / output frame"]))
    print(f"translated frames {stats['translated']}, alignment flow pairs {stats['flow_pairs']}, interpolated "
          f"pairs {stats['interp_pairs']}, peak interpolated frames held {stats['peak_held']}")
    print(f"overhead = total / Σ forwards = {wall:.2f} / {forwards:.2f} = {wall / forwards:.3f}")


def bench_interp_psnr(args) -> None:
    from datasets.synthetic import make_synthetic_video
    from hypercon.interpolate import interpolate_video

    if args.interp != "flow_linear":
        raise SystemExit("--interp-psnr measures flow_linear's blend options (--interp flow_linear)")
    cfg = compose(args)
    width, height = map(int, args.size.split("x"))
    flow = instantiate_component(cfg.flow)
    rows, means = [], {False: [], True: []}
    for seed in range(args.videos):
        step = args.step
        video = make_synthetic_video(seed, step * args.pairs + 1, height, width)
        held = [k for k in range(video.frames.shape[0]) if k % step]
        coarse, held_out = video.frames[::step], video.frames[held]
        row = [seed]
        for occlusion in (False, True):
            interp = instantiate_component(cfg.interp, flow=flow, occlusion=occlusion)
            out, _ = interpolate_video(coarse, None, interp, step - 1)
            mse = (out[held] - held_out).square().mean(dim=(1, 2, 3))
            psnr = (10 * torch.log10(1.0 / mse)).mean().item()
            means[occlusion].append(psnr)
            row.append(f"{psnr:.2f}")
        rows.append(row)
    rows.append(["mean", f"{statistics.mean(means[False]):.2f}", f"{statistics.mean(means[True]):.2f}"])
    print(f"flow_linear interpolation PSNR (dB) on held-out frames, {width}x{height}, "
          f"{type(flow).__name__} {flow.options()}, "
          f"every {args.step}th frame in (i = {args.step - 1}), {args.pairs} pairs per video")
    print(tabulate(rows, headers=["video", "w = t", "occlusion-aware"]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--interp-psnr", action="store_true", help="measure flow_linear's blend options instead")
    p.add_argument("--frames", type=int, default=6)
    p.add_argument("--size", default=None, help="WxH (default 832x480; 416x240 for --interp-psnr)")
    p.add_argument("--model", default="flicker", choices=available("model"), help="conf/model/ name")
    p.add_argument("--interp", default="flow_linear", choices=available("interp"), help="conf/interp/ name")
    p.add_argument("--flow", choices=available("flow"), help="conf/flow/ name (default: conf/config.yaml's)")
    p.add_argument("--occlusion", type=lambda s: s.lower() in ("1", "true", "yes"), default=None,
                   help="flow_linear's occlusion-aware blend (default: conf/interp/flow_linear.yaml's)")
    p.add_argument("--num-inserted", type=int, help="i (default: conf/method/hypercon.yaml's, as the next four)")
    p.add_argument("--window", type=int, help="c")
    p.add_argument("--dilation", type=int, help="d")
    p.add_argument("--pool")
    p.add_argument("--chunk-size", type=int)
    p.add_argument("--device", default="cpu")
    p.add_argument("--weights-dir", default=None)
    p.add_argument("--random-weights", action="store_true", help="superslomo with random weights (timing only)")
    p.add_argument("--videos", type=int, default=4)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--step", type=int, default=2, help="--interp-psnr: keep every step-th frame (i = step-1)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.interp_psnr:
        args.size = args.size or "416x240"
        bench_interp_psnr(args)
    else:
        args.size = args.size or "832x480"
        bench_speed(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
