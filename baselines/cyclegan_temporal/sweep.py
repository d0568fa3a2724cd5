"""Pick γ of the temporal loss from a sweep: ``python -m baselines.cyclegan_temporal.sweep A.pt B.pt ...``.

Each trained generator G1 (a trained-here checkpoint with its sidecar) translates the same unseen synthetic
videos (``datasets.synthetic``, seeds no recipe trains on) frame by frame. Per generator, means over videos:

* E_warp on the videos' EXACT flow and occlusion (``metrics.warping_error``, per-entry mean over visible
  entries, nanmean over pairs) and the thesis' E(V) (``normalise="all"``);
* style adherence: PSNR / SSIM of G1(x) to the target domain's own translation of x, FST_``style``(x)
  (Engstrom's net: needs ``--weights-dir`` or ``$HYPERCON_WEIGHTS``).

The rule: among generators with γ > 0 whose adherence PSNR is within ``--tolerance-db`` (1 dB) of the γ = 0
generator's, the lowest E_warp wins — temporal consistency bought without giving up the style. Nothing is
chosen on a test sequence of the split. Prints a markdown table and the choice; ``--out`` writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path
from typing import Sequence

import torch

from baselines.cyclegan_temporal.model import CycleGANTemporal
from datasets.synthetic import make_synthetic_video
from metrics.fidelity import psnr_frames
from metrics.ssim import ssim_frames
from metrics.warping_error import reduce_pairs, warping_error

LOG = logging.getLogger(__name__)
SEED = 1000  # synthetic videos (SEED, i); training uses (7, i)


def score(model: CycleGANTemporal, videos: Sequence, targets: Sequence[torch.Tensor]) -> dict[str, float]:
    """Means over ``videos`` (``SyntheticVideo``) of E_warp, E(V) and adherence PSNR / SSIM to ``targets``."""
    rows = []
    for video, target in zip(videos, targets):
        out = model(video.frames)
        rows.append({
            "ewarp": reduce_pairs(warping_error(out, video.flow_fw, video.occluded_fw)),
            "ewarp_all": reduce_pairs(warping_error(out, video.flow_fw, video.occluded_fw, normalise="all")),
            "psnr": float(psnr_frames(out, target).mean()), "ssim": float(ssim_frames(out, target).mean())})
    return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}


def choose(results: dict[str, dict[str, float]], tolerance_db: float = 1.0) -> str | None:
    """The checkpoint the rule of the module doc picks (``results[name]`` has ``gamma``, ``ewarp``, ``psnr``);
    None without a γ = 0 generator or an admissible γ > 0 one."""
    base = [r for r in results.values() if r["gamma"] == 0]
    if not base:
        return None
    admissible = {n: r for n, r in results.items()
                  if r["gamma"] > 0 and r["psnr"] >= base[0]["psnr"] - tolerance_db and math.isfinite(r["ewarp"])}
    return min(admissible, key=lambda n: admissible[n]["ewarp"]) if admissible else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m baselines.cyclegan_temporal.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoints", nargs="+", help="trained-here generator checkpoints (X.pt beside X.json)")
    p.add_argument("--videos", type=int, default=4)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--size", type=int, nargs=2, default=(256, 144), metavar=("W", "H"))
    p.add_argument("--style", default="wave", help="Engstrom style of the target domain (the recipe's style)")
    p.add_argument("--weights-dir", default=None, help="folder with fst-engstrom/<style>/ (default $HYPERCON_WEIGHTS)")
    p.add_argument("--tolerance-db", type=float, default=1.0)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from hypercon.models.fst_engstrom import EngstromStyle

    width, height = args.size
    videos = [make_synthetic_video((SEED, i), args.frames, height, width) for i in range(args.videos)]
    style_net = EngstromStyle(args.style, weights_dir=args.weights_dir)
    targets = [style_net(v.frames) for v in videos]
    results = {}
    for path in args.checkpoints:
        model = CycleGANTemporal(checkpoint=path)
        results[Path(path).stem] = {"gamma": model.gamma, **score(model, videos, targets)}
    chosen = choose(results, args.tolerance_db)
    print(f"| checkpoint | γ | E_warp (exact flow) ↓ | E(V) ↓ | PSNR to FST_{args.style} ↑ | SSIM ↑ |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        mark = " (chosen)" if name == chosen else ""
        print(f"| {name}{mark} | {r['gamma']:g} | {r['ewarp']:.6f} | {r['ewarp_all']:.6f} | {r['psnr']:.2f} | "
              f"{r['ssim']:.4f} |")
    print(f"chosen: {chosen}" if chosen else "chosen: none (no gamma > 0 generator within the tolerance)")
    if args.out:
        args.out.write_text(json.dumps({"results": results, "chosen": chosen, "videos": args.videos,
                                        "frames": args.frames, "size": [width, height], "style": args.style,
                                        "tolerance_db": args.tolerance_db}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
