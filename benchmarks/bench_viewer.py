"""Size and load time of a viewer page (``python -m experiments.viewer``) in headless Chromium.

    python benchmarks/bench_viewer.py [--frames 100] [--methods 6] [--width 832] [--height 480] [--quality 85]
        [--max-side 480] [--json FILE]
    python benchmarks/bench_viewer.py --page site/davis2016-style/.../index.html    # time a built page

Without ``--page`` it writes a stand-in sweep (one video: ``bench_metrics.synthetic_video``, a panned natural
image; each "method" is the video with its own per-frame brightness flicker, and a squared frame difference as
its E_warp map, so the flicker view has images to load), builds the site and times its video page. Reported: the site's size and build time; in
Chromium (Navigation Timing): DOMContentLoaded, the load event (every preloaded frame fetched), the time until
every image is decoded and frame 0 drawn, and the frame rate reached during 3 s of playback at 24 fps (below
24 = the page stalls).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from experiments.store import RunStore, atomic_write_json  # noqa: E402
from experiments.viewer import build_site, human_size  # noqa: E402
from experiments.viewer.headless import close, find_browser, launch, page_load_times, wait_for  # noqa: E402


def stand_in_sweep(root: Path, frames: int, methods: int, width: int, height: int) -> None:
    """``methods`` run folders of one video, in the runner's layout (frames, error maps, records)."""
    from bench_metrics import synthetic_video  # a panned natural image: cheap at 832×480 × 100 frames
    from hypercon.checks import frames_from_uint8, frames_to_uint8
    from hypercon.io.frames import write_frames

    video = frames_to_uint8(synthetic_video(frames, height, width)[0]).astype(np.float32)
    rng = np.random.default_rng(0)
    for k in range(methods):
        store = RunStore(root / f"method{k}")
        flicker = 1.0 + (0.15 * k / max(1, methods - 1)) * rng.uniform(-1, 1, (frames, 1, 1, 1))
        out = np.clip(video * flicker, 0, 255).astype(np.uint8)
        write_frames(frames_from_uint8(out), store.frames_dir("video"))
        diff = ((out[:-1].astype(np.float32) - out[1:]) / 255.0) ** 2
        per_pair = diff.mean(axis=(1, 2, 3)).astype(np.float64)
        store.save_error_maps("video", {"error": _tensor(diff.mean(axis=3)),
                                        "keep": _tensor(np.ones(diff.shape[:3], bool)), "per_pair": _tensor(per_pair)})
        row = {"video": "video", "complete": True, "num_frames": frames, "metrics": {"ewarp": float(per_pair.mean())},
               "per_frame": {"ewarp": per_pair.tolist()}}
        atomic_write_json(store.root / "results.json", {
            "complete": True, "num_videos": 1, "videos": [row],
            "provenance": {"config": {"dataset": {"name": "bench"}, "task": {"name": "style"},
                                      "method": {"name": f"m{k}"}, "model": {"name": "stand_in"}},
                           "method": {"name": f"m{k}", "label": f"method {k}"}}})


def _tensor(array: np.ndarray):
    import torch

    return torch.from_numpy(np.ascontiguousarray(array))


COUNT_FRAMES = """const done = arguments[arguments.length - 1], ms = arguments[0], viewer = window.hyperconViewer;
let last = viewer.state.frame, changes = 0;
const t0 = performance.now();
function poll() {
  if (viewer.state.frame !== last) { changes += 1; last = viewer.state.frame; }
  if (performance.now() - t0 < ms) requestAnimationFrame(poll); else done(changes * 1000 / (performance.now() - t0));
}
requestAnimationFrame(poll);"""


def playback_fps(driver, seconds: float = 3.0) -> float:
    """Frame changes per second while playing, counted in the page (the target is the video's fps)."""
    driver.set_script_timeout(seconds + 30)
    driver.find_element("id", "play").click()
    fps = float(driver.execute_async_script(COUNT_FRAMES, seconds * 1000))
    driver.find_element("id", "play").click()
    return fps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--page", default=None, help="time this built video page instead of a stand-in")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--methods", type=int, default=6)
    parser.add_argument("--width", type=int, default=832)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--quality", type=int, default=85)
    parser.add_argument("--max-side", type=int, default=480)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    found = find_browser()
    if isinstance(found, str):
        sys.exit(f"bench_viewer: {found}")
    report: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.page is None:
            t0 = time.perf_counter()
            stand_in_sweep(Path(tmp) / "sweep", args.frames, args.methods, args.width, args.height)
            t1 = time.perf_counter()
            site = build_site([Path(tmp) / "sweep"], Path(tmp) / "site", args.quality, args.max_side)
            report.update(frames=args.frames, methods=args.methods, size=f"{args.width}x{args.height}",
                          stand_in_s=round(t1 - t0, 1), build_s=round(time.perf_counter() - t1, 1),
                          site_bytes=site.total_bytes, site=human_size(site.total_bytes))
            page = site.pages[0]
        else:
            page = Path(args.page).resolve()
            folder = page.parents[3]
            total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            report.update(page=str(page), site_bytes=total, site=human_size(total))
        driver, profile = launch(*found)
        try:
            times = [page_load_times(driver, page.as_uri()) for _ in range(3)]  # the first is a cold start
            for key in ("dom_content_loaded_ms", "load_event_ms", "all_frames_ms"):
                report[key] = round(float(np.median([t[key] for t in times])), 1)
            report["images"] = times[-1]["images"]
            report["js_heap_mb"] = times[-1]["heap_mb"]
            wait_for(driver, "document.body.dataset.loaded === '1'")
            report["playback_fps"] = round(playback_fps(driver), 1)
            report["target_fps"] = driver.execute_script(
                "return JSON.parse(document.getElementById('viewer-data').textContent).fps")
        finally:
            close(driver, profile)
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
