"""Training clips of Wei et al.'s model: non-overlapping 5-frame clips of the split's train sequences.

Wei et al. cut DAVIS 2017 train into 903 clips ("sample each 5 frames", read as non-overlapping 5-frame
clips). Here: every sequence of ``recipe.sequences`` (the split's train list; the trainer refuses test
sequences) is read from DAVIS 2016 at the working ``size`` (W, H), cut into clips starting at frames 0, 5,
10, … (a shorter tail is dropped), and a sample is a uniformly drawn clip with one random crop of
``crop``×``crop`` pixels for all its frames and a horizontal flip with probability ½ (flows flipped too).

Per task (:data:`TASKS`) the input and the target come from :func:`hypercon.tasks.task_video` on the
resized video (``vseg``: the dataset's object masks give the binary annotation). The flows ``W^b`` (t → t−1)
and ``W^f`` (t−1 → t) of the real (colour) video come from the ``flow=`` estimator, computed once per
(video, size) and cached exactly as the CycleGAN baseline caches them
(:func:`baselines.cyclegan_temporal.train.load_pair_videos`, key ``cyclegan_flow/<flow>/<w>x<h>/<seq>``).

All randomness comes from the sampler's ``torch.Generator``. Values: inputs in [−1, 1]; targets in the
generator's output range ([−1, 1] RGB, [0, 1] probability).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from hypercon.errors import SettingError
from hypercon.tasks import task_video

CLIP_FRAMES = 5


@dataclass(frozen=True)
class TaskSpec:
    """How a task (``conf/task/<name>.yaml``) is trained: the ``task_video`` options, the dataset masks it
    needs, and the generator's output channels and head."""

    input: str
    target: str
    masks: str
    out_channels: int
    head: str


TASKS = {"colorize": TaskSpec("luma", "frames", "none", 3, "tanh"),
         "sr2x": TaskSpec("sr2x", "frames", "none", 3, "tanh"),
         "vseg": TaskSpec("frames", "annotation", "object", 1, "sigmoid")}


def task_spec(task: str) -> TaskSpec:
    """The :class:`TaskSpec` of ``task``, or a one-line error naming the known tasks."""
    if task not in TASKS:
        raise SettingError(f"wei_v2v: task must be one of {', '.join(TASKS)}, got {task!r}")
    return TASKS[task]


def to_output_range(target: Tensor, head: str) -> Tensor:
    """A target in [0,1] → the generator's range: [−1,1] for ``tanh``, unchanged for ``sigmoid``."""
    return target * 2 - 1 if head == "tanh" else target


@dataclass(frozen=True)
class ClipVideo:
    """One training video: ``inputs [T,3,H,W]`` and ``targets [T,C,H,W]`` in [0,1] (float16), ``to_prev[t−1]``
    = flow t → t−1 and ``to_next[t−1]`` = flow t−1 → t (``[T−1,2,H,W]`` pixels)."""

    name: str
    inputs: Tensor
    targets: Tensor
    to_prev: Tensor
    to_next: Tensor


def make_clip_video(name: str, frames: Tensor, known: Tensor | None, to_prev: Tensor, to_next: Tensor,
                    task: str) -> ClipVideo:
    """A :class:`ClipVideo` of ``task`` from float frames ``[T,3,H,W]`` in [0,1] (``known``: the object masks
    for ``vseg``, 1 = background)."""
    spec = task_spec(task)
    made = task_video(frames, known if spec.masks != "none" else None, frames, input=spec.input, target=spec.target)
    return ClipVideo(name, made.frames_in.half(), made.gt.half(), to_prev.float(), to_next.float())


def load_clip_videos(root: str | None, sequences: Sequence[str], size: Sequence[int], task: str, flow,
                     cache_dir: str | None) -> list[ClipVideo]:
    """The train videos of ``task`` at ``size`` (W, H) with their cached flows (module doc)."""
    from baselines.cyclegan_temporal.train import load_pair_videos

    spec = task_spec(task)
    pairs = load_pair_videos(root, sequences, size, flow, 0, 0, cache_dir)
    masks = {}
    if spec.masks != "none":
        from datasets.davis import DAVISDataset

        dataset = DAVISDataset(root, year=2016, split="val", sequences=list(sequences), size=list(size),
                               masks=spec.masks)
        masks = {name: dataset.load(name).known for name in sequences}
    return [make_clip_video(p.name, p.frames.float() / 255, masks.get(p.name), p.to_prev, p.to_next, task)
            for p in pairs]


def clip_starts(videos: Sequence[ClipVideo], length: int = CLIP_FRAMES) -> list[tuple[int, int]]:
    """``(video index, first frame)`` of every non-overlapping clip of ``length`` frames (tails dropped)."""
    return [(i, s) for i, v in enumerate(videos) for s in range(0, v.inputs.shape[0] - length + 1, length)]


def draw_clip(videos: Sequence[ClipVideo], starts: Sequence[tuple[int, int]], crop: int, head: str,
              generator: torch.Generator, length: int = CLIP_FRAMES) -> dict[str, Tensor]:
    """A uniformly drawn clip, cropped and maybe flipped: ``inputs [T,3,c,c]`` in [−1,1], ``targets
    [T,C,c,c]`` in the output range of ``head``, ``to_prev``/``to_next [T−1,2,c,c]``."""
    index, start = starts[int(torch.randint(len(starts), (1,), generator=generator))]
    video = videos[index]
    h, w = video.inputs.shape[-2:]
    if crop > h or crop > w:
        raise ValueError(f"wei_v2v: recipe.crop {crop} exceeds the working size {w}x{h} (recipe.size)")
    top = int(torch.randint(h - crop + 1, (1,), generator=generator))
    left = int(torch.randint(w - crop + 1, (1,), generator=generator))
    flip = bool(torch.rand((), generator=generator) < 0.5)
    frames, flows = slice(start, start + length), slice(start, start + length - 1)
    window = (..., slice(top, top + crop), slice(left, left + crop))
    parts = {"inputs": video.inputs[frames][window].float() * 2 - 1,
             "targets": to_output_range(video.targets[frames][window].float(), head),
             "to_prev": video.to_prev[flows][window].clone(), "to_next": video.to_next[flows][window].clone()}
    if flip:
        parts = {k: v.flip(-1) for k, v in parts.items()}
        for key in ("to_prev", "to_next"):
            parts[key][:, 0] *= -1  # dx changes sign in a mirrored frame
    return parts
