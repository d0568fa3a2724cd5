"""Video files ↔ ``[T,3,H,W]`` float32 RGB frames in [0,1], through PyAV (FFmpeg).

Writing uses H.264 (libx264) in yuv420p, which needs even width and height: odd sizes are padded by
replicating the last row/column (noted in the log). Writing is atomic (temporary file in the same folder,
then ``os.replace``). mp4 output is lossy: it is for viewing; metrics read the lossless PNG frames.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch.nn.functional as F
from torch import Tensor

from hypercon.io.atomic import atomic_path
from hypercon.checks import check_frames, frames_from_uint8, frames_to_uint8
from hypercon.errors import InputError, InputNotFound, SettingError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".gif")


def _open_container(path: Path):
    if not path.is_file():
        raise InputNotFound(f"video file {path} does not exist")
    try:
        container = av.open(str(path))
    except Exception as exc:
        raise InputError(f"{path}: cannot open video ({type(exc).__name__}: {exc})") from exc
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: no video stream in the file")
    return container


def probe_video(path: str | os.PathLike) -> dict:
    """``{"fps", "width", "height"}`` of the first video stream (fps 0.0 when the file does not say)."""
    path = Path(path)
    with _open_container(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        return {"fps": float(rate) if rate else 0.0, "width": stream.codec_context.width,
                "height": stream.codec_context.height}


def iter_video_frames(
    path: str | os.PathLike, start_frame: int = 0, max_frames: int | None = None
) -> Iterator[np.ndarray]:
    """Yield frames ``start_frame …`` (at most ``max_frames``) as ``[H,W,3]`` uint8 RGB, in decode order
    from the first decoded frame (no seeking, so frame indices are exact)."""
    path = Path(path)
    if start_frame < 0 or (max_frames is not None and max_frames < 1):
        raise SettingError(f"video {path}: need start_frame >= 0 and max_frames >= 1, got {start_frame}, {max_frames}")
    container = _open_container(path)
    try:
        count = 0
        for index, frame in enumerate(container.decode(container.streams.video[0])):
            if index < start_frame:
                continue
            yield frame.to_ndarray(format="rgb24")
            count += 1
            if max_frames is not None and count >= max_frames:
                break
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: corrupt or undecodable video ({exc})") from exc
    finally:
        container.close()


def read_video(path: str | os.PathLike, max_frames: int | None = None, start_frame: int = 0) -> tuple[Tensor, float]:
    """Decode frames ``start_frame … start_frame + max_frames − 1`` of the first video stream.

    Returns ``(frames [T,3,H,W] float32 RGB in [0,1], fps)``; T may be smaller than ``max_frames`` when the
    video ends first (callers that need an exact count check it).
    """
    info = probe_video(path)
    arrays = list(iter_video_frames(path, start_frame, max_frames))
    if not arrays:
        return frames_from_uint8(np.zeros((0, info["height"], info["width"], 3), dtype=np.uint8)), info["fps"]
    return frames_from_uint8(np.stack(arrays)), info["fps"]


def count_video_frames(path: str | os.PathLike) -> int:
    """Number of frames in the first video stream, by decoding (exact; containers' counts can be wrong)."""
    return sum(1 for _ in iter_video_frames(path))


#: the frame rate of an mp4 made from frames that carry none (a frame folder): run.py's and apply's
FALLBACK_FPS = 24.0


@contextmanager
def video_writer(path: str | os.PathLike, fps: float = FALLBACK_FPS, crf: int = 18) -> Iterator[Callable[[Tensor], None]]:
    """Encode H.264 yuv420p to ``path`` (mp4/mkv/mov by extension) as frames come: yields
    ``write(frames [T,3,H,W] in [0,1])``, callable any number of times with frames of one size.

    Odd heights/widths are padded to even by edge replication. ``crf``: x264 quality (0 = lossless
    luma, 18 ≈ visually lossless). The file appears only when complete (and when some frame was written).
    """
    if fps <= 0:
        raise ValueError(f"write_video({path}): fps must be > 0, got {fps}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    container_format = None if path.suffix else "mp4"  # PyAV picks the format from the suffix
    written: list[int] = []
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", format=container_format) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf)}

        def write(frames: Tensor) -> None:
            check_frames(frames)
            h, w = frames.shape[-2:]
            pad_h, pad_w = h % 2, w % 2
            if pad_h or pad_w:
                if not written:
                    log.info("%s: padding %dx%d to even size %dx%d for yuv420p", path, w, h, w + pad_w, h + pad_h)
                frames = F.pad(frames, (0, pad_w, 0, pad_h), mode="replicate")
            array = frames_to_uint8(frames)
            if not written:
                stream.width, stream.height = array.shape[2], array.shape[1]
            for img in array:
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    container.mux(packet)
            written.append(len(array))

        yield write
        if not sum(written):
            raise ValueError(f"write_video({path}): no frames to write")
        for packet in stream.encode():
            container.mux(packet)


def write_video(frames: Tensor, path: str | os.PathLike, fps: float = FALLBACK_FPS, crf: int = 18) -> Path:
    """Encode ``[T,3,H,W]`` frames in [0,1] as H.264 yuv420p to ``path`` (:func:`video_writer`)."""
    check_frames(frames)
    if frames.shape[0] == 0:
        raise ValueError(f"write_video({path}): no frames to write")
    with video_writer(path, fps, crf) as write:
        write(frames)
    return Path(path)
