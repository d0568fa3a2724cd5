"""Run time of the per-video metrics and of the source-video flow they need, on one synthetic video.

    python benchmarks/bench_metrics.py [--frames 100] [--width 832] [--height 480] [--threads N]
        [--device cpu] [--flow NAME] [--metrics ewarp,ewarp_masked,cpsnr,cssim,fidelity,gt] [--json FILE]

The video: a natural image (scikit-image's ``astronaut``, upscaled) panned by (2, 1) px per frame with a
square moving across it; the "output" is that video plus per-frame brightness flicker and noise (8 bit);
a fixed rectangle is the hole for the masked metrics. Timed: the source motion (forward + backward DIS
flow of every pair, occlusion, cache write) on a cache miss and on a hit (npz read), then each metric
once on the cached motion. Reported: wall-clock and process CPU seconds (the fairer number on a shared
machine; with ``--threads 1`` it approximates the wall time on an idle one).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from tabulate import tabulate

from hypercon.checks import frames_from_uint8, frames_to_uint8
from metrics.base import EvalVideo
from metrics.cli import make_flow
from metrics.evaluate import build_metrics
from metrics.source_motion import SourceMotionCache

log = logging.getLogger("bench_metrics")


def synthetic_video(frames: int, height: int, width: int,
                    seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(source, output, known)``: a panned natural image with a moving square, a flickering copy, a hole."""
    from skimage.data import astronaut

    rng = np.random.default_rng(seed)
    big_h, big_w = height + frames + 8, width + 2 * frames + 8
    big = cv2.resize(astronaut(), (big_w, big_h), interpolation=cv2.INTER_CUBIC)
    square = rng.integers(0, 256, size=(height // 6, height // 6, 3), dtype=np.uint8)
    src = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        src[t] = big[t : t + height, 2 * t : 2 * t + width]
        top, left = height // 3, (width // 8 + 5 * t) % (width - square.shape[1])
        src[t, top : top + square.shape[0], left : left + square.shape[1]] = square
    source = frames_from_uint8(src)
    flicker = torch.from_numpy(rng.normal(0, 0.03, size=(frames, 1, 1, 1))).float()
    noise = torch.from_numpy(rng.normal(0, 0.01, size=source.shape)).float()
    output = frames_from_uint8(frames_to_uint8((source + flicker + noise).clamp(0, 1)))
    known = torch.ones(frames, 1, height, width)
    known[:, :, height // 4 : height // 2, width // 3 : width // 2] = 0
    return source, output, known


def _time(fn):
    """``((wall seconds, process CPU seconds), result)``: on a shared machine CPU time is the fairer
    number (with one thread it is close to the wall time on an idle machine)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return (time.perf_counter() - t0, time.process_time() - c0), out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--width", type=int, default=832)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--flow", help="conf/flow/ name (default: the flow of conf/metrics/default.yaml)")
    p.add_argument("--metrics", default="ewarp,ewarp_masked,cpsnr,cssim,fidelity,gt")
    p.add_argument("--json", help="also write the timings here")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)

    source, output, known = synthetic_video(args.frames, args.height, args.width)
    flow = make_flow(args.flow, device=args.device)
    names = [n for n in args.metrics.split(",") if n]
    options = {n: {"device": args.device} for n in names}
    metrics, _ = build_metrics(names, options)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = SourceMotionCache(Path(tmp))
        t_miss, _ = _time(lambda: cache.get("bench", source, flow))
        t_hit, motion = _time(lambda: SourceMotionCache(Path(tmp)).get("bench", source, flow))
        label = f"source motion ({flow.name})"
        rows += [[f"{label}, uncached", *t_miss], [f"{label}, cached", *t_hit]]
        video = EvalVideo(name="bench", output=output, source=source, known=known, gt=source, reference=source,
                          source_motion=lambda: motion)
        video.evaluated_output()  # compositing is shared by all metrics: not charged to the first one
        values = {}
        temporal = [t_hit[0], t_hit[1]]
        for name, metric in metrics.items():
            seconds, result = _time(lambda: metric.compute(video))
            values.update(result)
            rows.append([f"metric {name}", *seconds])
            if name in ("ewarp", "ewarp_masked", "cpsnr", "cssim"):
                temporal = [temporal[0] + seconds[0], temporal[1] + seconds[1]]
        rows.append(["temporal metrics + cached flow, total", *temporal])
    meta = {"frames": args.frames, "size": [args.width, args.height], "torch_threads": torch.get_num_threads(),
            "device": args.device, "flow": flow.provenance()}
    sys.stdout.write(f"{args.frames} frames {args.width}x{args.height}, torch threads {meta['torch_threads']}, "
                     f"device {args.device}\n")
    sys.stdout.write(tabulate(rows, headers=["step", "wall s", "CPU s"], floatfmt=".2f") + "\n")
    sys.stdout.write("values: " + ", ".join(f"{k}={v:.6g}" for k, v in values.items()) + "\n")
    result = {"meta": meta, "seconds": {r[0]: {"wall": r[1], "cpu": r[2]} for r in rows}, "values": values}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    main()
