"""Frame-wise translation: the image model applied to every frame independently (the paper's FST /
Cxtattn rows)."""

from __future__ import annotations

import torch
from torch import Tensor

from hypercon.checks import warn_if_constant
from hypercon.component import Component
from hypercon.method import PaperRow, VideoMethod
from hypercon.models.base import ImageModel


class Framewise(VideoMethod):
    """``run(frames [T,3,H,W], known [T,1,H,W] | None) -> [T,3,H,W]``: ``model`` on each frame.

    Frames are processed in batches of ``model.batch_size`` on ``model``'s device; for inpainting the
    model composites known pixels back. An output that is one value everywhere (e.g. all black) is
    logged as a warning (:func:`hypercon.checks.warn_if_constant`): it usually means broken weights.
    """

    name = "framewise"
    is_reference = True
    table_rank = 0
    paper_rows = (PaperRow("table1", "FST", "model=fst_pytorch (paper) | fst_engstrom (offline)"),
                  PaperRow("table2", "Cxtattn", "model=cxtattn (paper) | opencv_inpaint (offline)"))

    def __init__(self, model: ImageModel) -> None:
        self.model = model

    @torch.no_grad()
    def run(self, frames: Tensor, known: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        out = self.model(frames, known)
        if out.shape[0] > 1:  # a constant frame-wise video almost always means broken weights
            warn_if_constant(out, f"the frame-wise output of model {self.model.name!r}")
        return out

    def label(self) -> str:
        return f"{self.model.display_label()} (frame-wise)"

    def components(self) -> dict[str, Component]:
        return {"model": self.model}
