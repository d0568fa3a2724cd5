"""Frames read lazily: a video or a frame folder of known length, decoded only as far as it is asked for and
held only until released, so that a method working in chunks (:meth:`hypercon.pipeline.HyperCon.iter_run`)
needs memory for a chunk, not for the video.

    stream = FrameStream(iter_frames("in.mp4"), count_frames("in.mp4"))
    stream[0], stream.rows([3, 4]); stream.release(3)   # frames 0..2 are dropped; asking for them again fails
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

from hypercon.checks import frames_from_uint8
from hypercon.errors import InputError


class FrameStream:
    """``[C,H,W]`` tensors from ``source`` (an iterator), ``length`` of them, indexed in increasing order.

    ``stream[k]`` decodes up to frame k and keeps what it decoded; :meth:`release` drops the frames before
    an index. Asking for a released frame is a bug of the caller (``IndexError``); a source that ends
    early or changes the frame size is bad input (:class:`InputError` naming ``what``)."""

    def __init__(self, source: Iterator[Tensor], length: int, what: str = "video") -> None:
        self._source, self._length, self.what = iter(source), int(length), what
        self._held: dict[int, Tensor] = {}
        self._next = 0  # index of the next frame to decode
        self._released = 0  # frames before this index were dropped
        self._shape: tuple[int, ...] | None = None
        self.peak_held = 0

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> Tensor:
        if not 0 <= index < self._length:
            raise IndexError(f"{self.what}: frame {index} of {self._length}")
        if index < self._released:
            raise IndexError(f"{self.what}: frame {index} was released (frames before {self._released} are gone)")
        while self._next <= index:
            frame = next(self._source, None)
            if frame is None:
                raise InputError(f"{self.what}: ended after {self._next} frames, {self._length} expected")
            if self._shape is None:
                self._shape = tuple(frame.shape)
            elif tuple(frame.shape) != self._shape:
                raise InputError(f"{self.what}: frame {self._next} has shape {tuple(frame.shape)}, "
                                 f"the first had {self._shape}")
            self._held[self._next] = frame
            self._next += 1
            self.peak_held = max(self.peak_held, len(self._held))
        return self._held[index]

    def rows(self, index: list[int]) -> Tensor:
        """``[len(index),C,H,W]``: the frames at ``index``, stacked."""
        return torch.stack([self[i] for i in index])

    def release(self, before: int) -> None:
        """Drop the frames before index ``before`` (never read again)."""
        for i in [i for i in self._held if i < before]:
            del self._held[i]
        self._released = max(self._released, int(before))


def iter_frames(path: str | os.PathLike) -> Iterator[Tensor]:
    """``[3,H,W]`` float32 RGB [0,1] frames of an mp4 (any video file) or a frame folder, one at a time."""
    from hypercon.io.frames import list_frame_files, read_image
    from hypercon.io.video import iter_video_frames

    path = Path(path)
    if path.is_dir():
        return (read_image(p) for p in list_frame_files(path))
    return (frames_from_uint8(a) for a in iter_video_frames(path))


def iter_masks(path: str | os.PathLike | list[Path], polarity: str = "hole") -> Iterator[Tensor]:
    """``known [1,H,W]`` masks of a folder (natural order) or of a list of files (that order), one at a
    time (:func:`hypercon.io.frames.read_mask`)."""
    from hypercon.io.frames import list_frame_files, read_mask

    files = path if isinstance(path, list) else list_frame_files(path)
    return (read_mask(p, polarity=polarity) for p in files)


def count_frames(path: str | os.PathLike) -> int:
    """Frames in a frame folder (files) or a video (decoded once, exact)."""
    from hypercon.io.frames import list_frame_files
    from hypercon.io.video import count_video_frames

    path = Path(path)
    return len(list_frame_files(path)) if path.is_dir() else count_video_frames(path)
