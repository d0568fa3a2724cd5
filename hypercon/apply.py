"""Apply a method to one video file or frame folder, streaming: ``python -m hypercon apply`` (:mod:`hypercon.cli`).

Frames are decoded lazily (:class:`hypercon.io.stream.FrameStream`), HyperCon runs chunk by chunk
(:meth:`hypercon.pipeline.HyperCon.iter_run`, the loop behind ``run()``, so the output equals the in-memory
path frame for frame) and each output frame is encoded as it comes: memory depends on ``method.chunk_size``,
not on the video's length. Frame-wise runs stream in batches of the model's ``batch_size``; a method that
needs the whole video (``vcons``, ``dvp``, …) says so and runs in memory.

``compare``: also writes the frame-wise output and a side-by-side mp4 (input | frame-wise | method) and
evaluates E_warp and C_PSNR of both against the input; the metrics take whole videos, so these three videos
are held in memory as 8-bit frames (3.6 MB per 832×480 frame).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from hypercon.checks import frames_from_uint8, frames_to_uint8, hide_holes
from hypercon.errors import InputError
from hypercon.io.frames import list_frame_files
from hypercon.io.pairing import pair_by_name
from hypercon.io.stream import FrameStream, count_frames, iter_frames, iter_masks
from hypercon.io.video import FALLBACK_FPS, VIDEO_EXTENSIONS, probe_video, video_writer
from hypercon.method import VideoMethod
from hypercon.pipeline import HyperCon

log = logging.getLogger(__name__)

#: the metrics ``compare`` prints (registry names)
COMPARE_METRICS = ("ewarp", "cpsnr")


def is_video_file(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


@contextmanager
def frame_writer(path: Path, fps: float) -> Iterator[Callable[[Tensor], None]]:
    """``write(frames [T,3,H,W])`` appending to an mp4 (by extension) or to a folder of PNGs ``00000.png …``."""
    from hypercon.io.frames import write_frames

    if is_video_file(path):
        with video_writer(path, fps) as write:
            yield write
        return
    count = [0]

    def write_pngs(frames: Tensor) -> None:
        write_frames(frames, path, start=count[0])
        count[0] += frames.shape[0]

    yield write_pngs


@dataclass
class VideoInput:
    """One input video: its path, length, fps and (inpainting) mask folder."""

    path: Path
    num_frames: int
    fps: float
    mask: Path | None = None
    mask_polarity: str = "hole"
    kept: list[np.ndarray] | None = None  # 8-bit copies of the frames read, when kept for compare
    mask_files: list[Path] | None = None  # the mask of each frame, paired by name (a frame folder's input)

    def streams(self) -> tuple[FrameStream, FrameStream | None]:
        """The method's input (holes hidden, as ``run.py`` does) and the masks, read lazily."""
        frames = iter_frames(self.path)
        if self.kept is not None:
            frames = self._keeping(frames)
        if self.mask is None:
            return FrameStream(frames, self.num_frames, str(self.path)), None
        masks = iter_masks(self.mask_files or self.mask, self.mask_polarity)
        hidden = (hide_holes(f, k) for f, k in zip(frames, masks))
        known = FrameStream(iter_masks(self.mask_files or self.mask, self.mask_polarity), self.num_frames,
                            str(self.mask))
        return FrameStream(hidden, self.num_frames, str(self.path)), known

    def _keeping(self, frames: Iterator[Tensor]) -> Iterator[Tensor]:
        for frame in frames:
            self.kept.append(frames_to_uint8(frame))
            yield frame


def open_input(path: str | Path, mask: str | Path | None = None, mask_polarity: str = "hole",
               fps: float | None = None) -> VideoInput:
    """Probe ``path`` (a video file or a frame folder): frame count, fps (``fps`` wins; a folder without it
    gets :data:`FALLBACK_FPS`), and check that the mask folder has one mask per frame."""
    path = Path(path)
    num_frames = count_frames(path)
    if num_frames < 2:
        raise InputError(f"{path}: {num_frames} frame(s); a video needs at least 2")
    rate = fps or (probe_video(path)["fps"] if is_video_file(path) else 0.0) or FALLBACK_FPS
    if mask is not None and count_frames(mask) != num_frames:
        raise InputError(f"--mask {mask}: {count_frames(mask)} masks for {num_frames} frames of {path}")
    if mask is not None and path.is_dir():  # frame files pair with mask files by the numbers in their names
        mask_files = pair_by_name(list_frame_files(path), list_frame_files(mask), "--mask mask")
        return VideoInput(path, num_frames, float(rate), Path(mask), mask_polarity, mask_files=mask_files)
    return VideoInput(path, num_frames, float(rate), None if mask is None else Path(mask), mask_polarity)


def method_frames(method: VideoMethod, frames: FrameStream, known: FrameStream | None) -> Iterator[Tensor]:
    """``method``'s output frames ``[3,H,W]`` in order, streamed where the method allows it."""
    n = len(frames)
    if isinstance(method, HyperCon):
        yield from method.iter_run(frames, known)
        return
    if method.is_reference:  # frame-wise: the model on batches of frames, each frame at its time index
        model = method.components()["model"]
        step = max(1, int(model.batch_size))
        for start in range(0, n, step):
            index = list(range(start, min(n, start + step)))
            out = model(frames.rows(index), None if known is None else known.rows(index), index)
            for source in (frames, known):
                if source is not None:
                    source.release(index[-1] + 1)
            yield from out
        return
    log.info("method=%s needs the whole video: it runs in memory (%d frames)", method.name, n)
    video = frames.rows(list(range(n)))
    masks = None if known is None else known.rows(list(range(n)))
    reference = None
    if method.needs_reference_input:
        reference = frames_from_uint8(frames_to_uint8(method.components()["model"](video, masks)))
    yield from method.run(video, masks, reference=reference)


@dataclass
class Applied:
    """What one pass wrote: ``frames`` (8-bit, when kept for compare), seconds, the method's stats."""

    path: Path
    num_frames: int
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)
    frames: list[np.ndarray] | None = None


def apply_to_file(method: VideoMethod, video: VideoInput, out: str | Path, keep: bool = False,
                  progress: bool | None = None) -> Applied:
    """Run ``method`` on ``video`` and write ``out`` (an mp4 or a folder of PNGs) as frames come."""
    from tqdm import tqdm

    out, kept = Path(out), ([] if keep else None)
    frames, known = video.streams()
    t0 = time.perf_counter()
    bar = tqdm(total=video.num_frames, desc=f"{method.name} → {out.name}", unit="frame", dynamic_ncols=True,
               disable=not (progress if progress is not None else sys.stderr.isatty()))
    count = 0
    with torch.no_grad(), frame_writer(out, video.fps) as write, bar:
        for frame in method_frames(method, frames, known):
            frame8 = frames_to_uint8(frame[None])  # what is written is what is evaluated (as run.py)
            write(frames_from_uint8(frame8))
            if kept is not None:
                kept.append(frame8[0])
            count += 1
            bar.update(1)
    if count != video.num_frames:
        raise InputError(f"{video.path}: read {count} frames, expected {video.num_frames}")
    stats = dict(getattr(method, "last_stats", {}) or {})
    stats["input_peak_held"] = frames.peak_held
    return Applied(out, count, time.perf_counter() - t0, stats, kept)


def sibling(out: Path, tag: str, suffix: str | None = None) -> Path:
    """``out.mp4`` → ``out_<tag>.mp4``; a folder ``out`` → ``out_<tag>`` (``suffix`` replaces the extension)."""
    ext = out.suffix if suffix is None else suffix
    return out.with_name(f"{out.stem if out.suffix else out.name}_{tag}{ext}")


def compare(method: VideoMethod, framewise: VideoMethod, video: VideoInput, out: Path,
            progress: bool | None = None) -> dict[str, Any]:
    """Run ``method`` and the frame-wise ``framewise`` on ``video``: write both outputs and the side-by-side
    mp4 (input | frame-wise | method), and return E_warp and C_PSNR of both (:data:`COMPARE_METRICS`)."""
    from hypercon.api import evaluate

    video.kept = []
    main = apply_to_file(method, video, out, keep=True, progress=progress)
    source = np.stack(video.kept)
    video.kept = None
    fw = apply_to_file(framewise, video, sibling(out, "framewise"), keep=True, progress=progress)
    side = sibling(out, "compare", ".mp4")
    with video_writer(side, video.fps) as write:
        for i in range(0, len(source), 16):
            parts = [torch.from_numpy(np.stack(x[i : i + 16])) for x in (source, fw.frames, main.frames)]
            write(frames_from_uint8(torch.cat(parts, dim=2).numpy()))
    metrics = {name: evaluate(np.stack(a.frames), source, list(COMPARE_METRICS))
               for name, a in (("frame-wise", fw), (method.name, main))}
    return {"output": main, "framewise": fw, "side_by_side": side, "metrics": metrics}
