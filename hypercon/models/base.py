"""The frame-wise image model interface ``g`` (style transfer, inpainting, ...)."""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from hypercon.checks import check_finite, check_frames, check_known, composite
from hypercon.component import Component


class ImageModel(Component):
    """An image-to-image model applied to each frame independently.

    ``model(frames [B,3,H,W] in [0,1] RGB, known [B,1,H,W] | None) -> [B,3,H,W] in [0,1] RGB``.
    Subclasses implement :meth:`translate_batch` for one batch; ``__call__`` splits into batches of
    ``batch_size`` (so outputs never depend on how frames are grouped), checks shapes, refuses NaN / inf
    output (:class:`hypercon.checks.NonFiniteError` naming the model), and for inpainting models
    (``needs_mask``) composites known pixels back.

    ``times`` (optional, one per frame) says where each frame sits in the video, in original-frame units:
    frame k of a video is ``k``; HyperCon's interpolated frame m is ``Fraction(m, i+1)``. Left out, the
    frames of one call are ``0, 1, …``. Only models that seed per frame use it (:meth:`translate_frames`).
    """

    name = "image_model"
    #: how tables name the model's rows (the paper's "FST", "Cxtattn"); default: ``name``
    label: str = ""
    needs_mask: bool = False
    batch_size: int = 8
    device: str = "cpu"

    def display_label(self) -> str:
        return self.label or self.name

    @abstractmethod
    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        """Translate one batch ``[b,3,H,W]`` (+ ``known [b,1,H,W]``) → ``[b,3,H,W]`` in [0,1]."""

    def translate_frames(self, frames: Tensor, known: Tensor | None, times: list) -> Tensor:
        """One batch with its frames' ``times``; the default ignores them (:meth:`translate_batch`)."""
        return self.translate_batch(frames, known)

    @torch.no_grad()
    def __call__(self, frames: Tensor, known: Tensor | None = None, times: list | None = None) -> Tensor:
        check_frames(frames)
        if self.needs_mask:
            if known is None:
                raise ValueError(f"model {self.name!r} is an inpainting model and needs a mask (task=inpaint)")
            check_known(known, frames)
        times = list(range(frames.shape[0])) if times is None else list(times)
        if len(times) != frames.shape[0]:
            raise ValueError(f"model {self.name!r}: {len(times)} times for {frames.shape[0]} frames")
        outs = []
        for start in range(0, frames.shape[0], max(1, int(self.batch_size))):
            f = frames[start : start + self.batch_size]
            k = None if known is None else known[start : start + self.batch_size]
            t = times[start : start + self.batch_size]
            out = check_finite(self.translate_frames(f, k, t), f"model {self.name!r}").clamp(0, 1)
            if self.needs_mask:
                out = composite(out, f.to(out.device), k.to(out.device))
            outs.append(out.to(frames.device))
        return torch.cat(outs, dim=0)
