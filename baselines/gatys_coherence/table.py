"""The Gatys coherence-loss table (issue 13): every ``method.coherence`` on DAVIS-2016 test sequences and on a
synthetic video with a hard scene cut, through the harness's configs, metrics and source motion.

    python -m baselines.gatys_coherence.table --davis-root ../shared/data/davis2016-val \\
        --sequences camel,goat --frames 24 --size 96 54 --steps 2 --max-iter 20 --out gatys_table.md

Rows: none / mse / enhanced / flow (remap) / flow (splat) / flow_masked, each ``method=gatys_coherence`` with
the harness's defaults except ``steps`` / ``max_iter``. Columns: E_warp and C_PSNR (the harness metrics with
their defaults: DIS-medium source flow, occlusion rule lai, 50-px patches), the mean over the DAVIS
sequences; on the cut video: E_warp, the ghosting at the first frame after the cut (PSNR of that output
frame to the ``none`` output; higher = less of the previous scene), PSNR of that frame to the previous
OUTPUT frame (high = the old scene persists), f = tanh(exp(−MSE(V[k], V[k−1]))) at the cut; the final
content and style losses (at the kept iterate, mean over all frames of all videos) and seconds per frame.
Outputs are rounded to 8 bit before evaluation, as the runner does. Single-threaded (``--threads``).
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from pathlib import Path

import torch

from hypercon.config import compose_component, compose_config, instantiate_component
from hypercon.io.frames import frames_from_uint8, frames_to_uint8
from metrics.base import EvalVideo
from metrics.patch_consistency import PatchConsistencyPSNR
from metrics.source_motion import SourceMotion, compute_source_motion
from metrics.warping_error import WarpingError

log = logging.getLogger(__name__)
ROWS = (("none", "remap"), ("mse", "remap"), ("enhanced", "remap"), ("flow", "remap"), ("flow", "splat"),
        ("flow_masked", "remap"))


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR of two [0,1] frames (inf when equal)."""
    mse = float((a - b).square().mean())
    return math.inf if mse == 0 else 10 * math.log10(1 / mse)


def load_videos(args: argparse.Namespace) -> dict[str, torch.Tensor]:
    """The DAVIS sequences asked for (none without ``--davis-root``) and the synthetic video with a cut."""
    videos = {}
    if args.davis_root:
        davis = instantiate_component(compose_component("dataset", "davis2016", values={
            "dataset.root": args.davis_root, "dataset.size": list(args.size), "dataset.sequences": args.sequences,
            "dataset.max_frames": args.frames, "task.masks": "none"}))
        for name in davis.video_names():
            videos[name] = davis.load(name).frames
    synthetic = instantiate_component(compose_component("dataset", "synthetic", values={
        "dataset.num_videos": 1, "dataset.num_frames": args.synthetic_frames, "dataset.width": args.size[0],
        "dataset.height": args.size[1], "dataset.cut_at": args.cut_at, "seed": args.seed}))
    videos["synthetic-cut"] = synthetic.load("synth-000").frames
    return videos


def evaluate(output: torch.Tensor, source: torch.Tensor, motion: SourceMotion) -> dict[str, float]:
    """E_warp and C_PSNR of ``output`` with the harness's default options."""
    video = EvalVideo(name="v", output=output, source=source, source_motion=lambda: motion)
    return {**WarpingError().compute(video), **PatchConsistencyPSNR().compute(video)}


def run_row(coherence: str, flow_warp: str, videos: dict[str, torch.Tensor], motions: dict[str, SourceMotion],
            args: argparse.Namespace) -> dict:
    """One table row: ``method=gatys_coherence`` with this coherence on every video, outputs and metrics."""
    cfg = compose_config(["method=gatys_coherence"], values={
        "method.coherence": coherence, "method.flow_warp": flow_warp, "method.steps": args.steps,
        "method.max_iter": args.max_iter, "seed": args.seed})
    method = instantiate_component(cfg.method)
    row = {"label": method.label(), "tier": method.provenance()["tier"], "videos": {}}
    for name, frames in videos.items():
        t0 = time.perf_counter()
        output = frames_from_uint8(frames_to_uint8(method.run(frames)))
        stats = dict(method.last_stats)
        row["videos"][name] = {"output": output, "stats": stats, **evaluate(output, frames, motions[name]),
                               "wall": time.perf_counter() - t0}
        log.info("%s on %s: %.1fs, %s", row["label"], name, row["videos"][name]["wall"],
                 {k: v for k, v in row["videos"][name].items() if k in ("ewarp", "cpsnr")})
    return row


def fmt(value: float | None, spec: str) -> str:
    """A table cell: "–" for a missing or infinite value."""
    return "–" if value is None or math.isinf(value) else format(value, spec)


def table(rows: list[dict], davis: list[str], cut_at: int) -> str:
    """The markdown table (and one of per-video DAVIS values when there are DAVIS sequences)."""
    none_cut = rows[0]["videos"]["synthetic-cut"]["output"][cut_at]
    lines = ["| row | E_warp DAVIS ↓ | C_PSNR DAVIS ↑ | E_warp cut video ↓ | ghost: PSNR to `none` at cut ↑ | "
             "PSNR to prev. output at cut | f at cut | L_content | L_style | s/frame |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        vids = row["videos"]
        cut = vids["synthetic-cut"]
        every = list(vids.values())
        frames = sum(len(v["stats"]["seconds"]) for v in every)
        mean = lambda key: sum(sum(v["stats"][key]) for v in every) / frames  # noqa: E731
        lines.append("| " + " | ".join([
            row["label"],
            fmt(sum(vids[n]["ewarp"] for n in davis) / len(davis), ".6f") if davis else "–",
            fmt(sum(vids[n]["cpsnr"] for n in davis) / len(davis), ".2f") if davis else "–",
            fmt(cut["ewarp"], ".6f"),
            fmt(psnr(cut["output"][cut_at], none_cut), ".2f"),
            fmt(psnr(cut["output"][cut_at], cut["output"][cut_at - 1]), ".2f"),
            fmt(cut["stats"]["scene_factor"][cut_at], ".3f"),
            fmt(mean("content"), ".4f"), fmt(mean("style"), ".3e"), fmt(mean("seconds"), ".2f")]) + " |")
    per_video = ["", "| row | " + " | ".join(f"{n} E_warp / C_PSNR" for n in davis) + " |",
                 "|---|" + "---|" * len(davis)]
    for row in rows:
        per_video.append(f"| {row['label']} | " + " | ".join(
            f"{row['videos'][n]['ewarp']:.6f} / {row['videos'][n]['cpsnr']:.2f}" for n in davis) + " |")
    return "\n".join(lines + (per_video if davis else [])) + "\n"


def main(argv: list[str] | None = None) -> None:
    """``python -m baselines.gatys_coherence.table``: writes ``--out`` and prints it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--davis-root", default=None,
                        help="DAVIS 2016 root (JPEGImages/480p/…); none: synthetic only")
    parser.add_argument("--sequences", type=lambda s: s.split(","), default=["camel", "goat"])
    parser.add_argument("--frames", type=int, default=24, help="first N frames of each DAVIS sequence")
    parser.add_argument("--size", type=int, nargs=2, default=[96, 54], metavar=("W", "H"))
    parser.add_argument("--synthetic-frames", type=int, default=16)
    parser.add_argument("--cut-at", type=int, default=8, help="the synthetic video's first frame after the cut")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("gatys_table.md"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    videos = load_videos(args)
    eval_flow = instantiate_component(compose_config().metrics.flow)
    motions = {name: compute_source_motion(frames, eval_flow) for name, frames in videos.items()}
    rows = [run_row(coherence, warp, videos, motions, args) for coherence, warp in ROWS]
    davis = [n for n in videos if n != "synthetic-cut"]
    header = (f"Trunk vgg_random (VGG19 with seeded random weights, avg pooling; tier {rows[0]['tier']}): numbers "
              f"comparable to nothing published. {', '.join(f'{n} ({videos[n].shape[0]} frames)' for n in videos)} "
              f"at {args.size[0]}x{args.size[1]}, cut before frame {args.cut_at}; L-BFGS {args.steps} steps x "
              f"{args.max_iter} iterations per frame (the paper: 8 x 20), {args.threads} thread(s); "
              f"total {time.perf_counter() - t0:.0f} s.\n\n")
    args.out.write_text(header + table(rows, davis, args.cut_at))
    print(args.out.read_text())


if __name__ == "__main__":
    main()
