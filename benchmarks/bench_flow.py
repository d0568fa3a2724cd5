"""Middlebury EPE and run time of the flow estimators.

    python benchmarks/bench_flow.py --data ../shared/data/middlebury-flow [--estimators dis_medium farneback]
        [--device cpu] [--weights-dir DIR] [--repeat 3]

Estimators are named by their configs, ``conf/flow/<name>.yaml``, composed as ``python run.py flow=<name>``
would compose them.

EPE = mean end-point error over known ground-truth pixels per scene (``frame10 → frame11``); time =
median wall-clock seconds per pair over ``--repeat`` runs (after one warm-up pair). Paper-tier estimators
(raft_small, raft_large, pwcnet) need their weights (``--weights-dir`` or ``$HYPERCON_WEIGHTS``).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from tabulate import tabulate

from hypercon.checks import frames_from_uint8
from hypercon.config import available, compose_component, instantiate_component
from hypercon.io.flo import flo_valid, read_flo

log = logging.getLogger("bench_flow")

#: measured when --estimators is not given: the offline-tier ones
DEFAULT_ESTIMATORS = ("dis_ultrafast", "dis_fast", "dis_medium", "dis_fine", "farneback")


def build(name: str, device: str, weights_dir: str | None):
    """The estimator of ``conf/flow/<name>.yaml`` on ``device`` (``weights_dir`` for paper-tier ones)."""
    values = {"device": device, **({"paths.weights_dir": weights_dir} if weights_dir else {})}
    return instantiate_component(compose_component("flow", name, values=values))


def load_scenes(root: Path) -> list[tuple[str, torch.Tensor, np.ndarray]]:
    """``(scene, frames [2,3,H,W] RGB [0,1], gt [H,W,2])`` for every scene folder under ``root``."""
    scenes = []
    for folder in sorted(p for p in root.iterdir() if (p / "flow10.flo").is_file()):
        frames = [cv2.imread(str(folder / f"frame1{i}.png")) for i in (0, 1)]
        if any(f is None for f in frames):
            raise FileNotFoundError(f"{folder}: frame10.png / frame11.png missing or unreadable")
        rgb = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames])
        scenes.append((folder.name, frames_from_uint8(rgb), read_flo(folder / "flow10.flo")))
    if not scenes:
        raise FileNotFoundError(f"{root}: no <scene>/flow10.flo found")
    return scenes


def evaluate(estimator, scenes, device: str, repeat: int) -> tuple[dict[str, float], float]:
    """Per-scene EPE and the median seconds per pair."""
    epes, times = {}, []
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    estimator(scenes[0][1][:1].to(device), scenes[0][1][1:].to(device))  # warm-up
    for scene, frames, gt in scenes:
        src, dst = frames[:1].to(device), frames[1:].to(device)
        for _ in range(repeat):
            sync()
            start = time.perf_counter()
            flow = estimator(src, dst)
            sync()
            times.append(time.perf_counter() - start)
        flow = flow[0].permute(1, 2, 0).cpu().numpy()
        epes[scene] = float(np.linalg.norm(flow - gt, axis=-1)[flo_valid(gt)].mean())
    return epes, statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = Path(os.environ.get("HYPERCON_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    parser.add_argument("--data", type=Path, default=shared / "data/middlebury-flow")
    parser.add_argument("--estimators", nargs="+", default=list(DEFAULT_ESTIMATORS), choices=available("flow"),
                        metavar="NAME", help=f"conf/flow/ names: {', '.join(available('flow'))}")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--weights-dir", default=os.environ.get("HYPERCON_WEIGHTS"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    scenes = load_scenes(args.data)
    rows = []
    for name in args.estimators:
        estimator = build(name, args.device, args.weights_dir)
        epes, seconds = evaluate(estimator, scenes, args.device, args.repeat)
        rows.append([name, *epes.values(), float(np.mean(list(epes.values()))), 1000 * seconds])
        log.info("%s: mean EPE %.3f, %.1f ms per pair", name, rows[-1][-2], rows[-1][-1])
    headers = ["estimator", *[s for s, _, _ in scenes], "mean EPE", "ms/pair"]
    sys.stdout.write(tabulate(rows, headers=headers, floatfmt=".3f", tablefmt="github") + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
