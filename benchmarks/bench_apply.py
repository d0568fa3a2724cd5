"""Peak memory and speed of ``python -m hypercon apply`` (streaming) as the video grows.

    python benchmarks/bench_apply.py [--frames 100,400] [--size 832x480] [--model kmeans_palette]
        [--threads 2] [--in-memory 100] [--keep DIR]
    python benchmarks/bench_apply.py --frames 1800 --threads 1      # by hand: long on 2 cores
    python benchmarks/bench_apply.py --frames 100,1800 --model identity --apply-args "--num-inserted 0 --window 3 --flow dis_ultrafast"

For each length, a synthetic mp4 (a photograph panning with a sub-pixel drift, written frame by frame) is
made, then ``python -m hypercon apply IN --model MODEL --out OUT.mp4`` runs in a child process; its peak RSS
(``ru_maxrss`` from ``os.wait4``, that child alone) and seconds per frame are reported. HyperCon's options
keep their values in ``conf/method/hypercon.yaml``. Flat memory: the peak does not grow with the length.
``--in-memory N``: for contrast, the in-memory path (:func:`hypercon.apply_hypercon` on the whole decoded video,
what ``run.py`` does per video) on the first N frames.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from tabulate import tabulate

REPO = Path(__file__).resolve().parents[1]

IN_MEMORY = """
import sys
from hypercon import apply_hypercon
from hypercon.checks import frames_to_uint8
from hypercon.io.video import read_video
frames, _ = read_video(sys.argv[1], max_frames=int(sys.argv[2]))
apply_hypercon(frames_to_uint8(frames), sys.argv[3])
"""


def make_video(path: Path, num_frames: int, width: int, height: int, fps: float = 30.0) -> None:
    """A photograph (skimage's ``astronaut``, tiled with period W×H, so the pan wraps seamlessly) panning by
    (1.3, 0.7) px per frame, encoded 16 frames at a time (memory independent of the length)."""
    import cv2

    from datasets.synthetic import bundled_image
    from hypercon.io.video import video_writer

    photo = bundled_image("astronaut")
    texture = cv2.resize(np.tile(photo, (2, 2, 1)), (2 * width, 2 * height), interpolation=cv2.INTER_AREA)
    with video_writer(path, fps) as write:
        for start in range(0, num_frames, 16):
            batch = []
            for t in range(start, min(num_frames, start + 16)):
                shift = np.float32([[1, 0, (1.3 * t) % width], [0, 1, (0.7 * t) % height]])  # out(x) = tex(x + s)
                batch.append(cv2.warpAffine(texture, shift, (width, height),
                                            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
            write(torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).contiguous())


def measure(cmd: list[str], threads: int) -> tuple[float, float]:
    """``(seconds, peak RSS in GB)`` of a child process (its own ``ru_maxrss``, not this process's)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    sys.stderr.write(out)
    return seconds, usage.ru_maxrss / 2**20  # KiB on Linux


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", default="100,400", help="comma-separated video lengths")
    p.add_argument("--size", default="832x480", help="WxH")
    p.add_argument("--model", default="kmeans_palette", help="apply's --model")
    p.add_argument("--threads", type=int, default=2, help="OMP threads of the child")
    p.add_argument("--in-memory", type=int, default=0, help="also the in-memory path on this many frames")
    p.add_argument("--keep", help="folder for the videos (default: a temporary one, deleted)")
    p.add_argument("--apply-args", default="", help="more arguments for apply, e.g. \"--num-inserted 1 --flow dis_fast\"")
    args = p.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_apply_") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        lengths = [int(n) for n in args.frames.split(",")]
        for n in sorted(set(lengths + ([args.in_memory] if args.in_memory else []))):
            video = folder / f"in_{n}.mp4"
            if not video.exists():
                make_video(video, n, width, height)
            if n in lengths:
                cmd = [sys.executable, "-m", "hypercon", "apply", str(video), "--model", args.model,
                       "--out", str(folder / f"out_{n}.mp4"), "--no-progress", *args.apply_args.split()]
                seconds, peak = measure(cmd, args.threads)
                rows.append(["apply (streaming)", n, f"{peak:.2f}", f"{seconds / n:.3f}", f"{seconds:.0f}"])
            if n == args.in_memory:
                seconds, peak = measure([sys.executable, "-c", IN_MEMORY, str(video), str(n), args.model], args.threads)
                rows.append(["apply_hypercon (in memory)", n, f"{peak:.2f}", f"{seconds / n:.3f}", f"{seconds:.0f}"])
    print(f"python -m hypercon apply, model {args.model}, {width}x{height}, {args.threads} thread(s); "
          f"HyperCon options: conf/method/hypercon.yaml {args.apply_args} (seconds include start-up, decoding, encoding)")
    print(tabulate(rows, headers=["path", "frames", "peak RSS (GB)", "s/frame", "total s"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
