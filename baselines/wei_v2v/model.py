"""``model=wei_image2image``: Wei et al.'s per-frame U-Net (the ``image2image`` row of their Table 1: pix2pix
without the RNN) trained here, as a frame-wise image model that every method runs on (HyperCon included).
Tier trained-here.

``task`` (``${task.name}``: colorize | sr2x | vseg) selects the shipped checkpoint
``wei_image2image_<task>_offline``; ``checkpoint``: a trained-here ``X.pt`` instead. Frames are translated one
at a time (BatchNorm normalises each frame alone, as in training), so the output never depends on the
batching; for ``vseg`` the output is the probability image (:func:`hypercon.tasks.probability_image`).
"""

from __future__ import annotations

from torch import Tensor

from baselines.wei_v2v.inference import label_source, load_generator, translate_video
from hypercon.component import TRAINED_HERE
from hypercon.models.base import ImageModel


class WeiImage2Image(ImageModel):
    """See the module docstring."""

    name = "wei_image2image"
    tier = TRAINED_HERE

    def __init__(self, task: str = "colorize", checkpoint: str | None = None, weights_dir: str | None = None,
                 device: str = "cpu", batch_size: int = 4) -> None:
        self.task, self.checkpoint, self.device, self.batch_size = str(task), checkpoint, device, batch_size
        self.net, self._weights_record = load_generator("image2image", self.task, checkpoint, weights_dir,
                                                        "model=wei_image2image")
        self.net.to(device)

    @property
    def label(self) -> str:  # type: ignore[override]
        source = label_source(self.checkpoint)
        return "Wei image2image" + ("" if self.checkpoint is None else f" ({source})")

    def options(self) -> dict[str, object]:
        return {"task": self.task, "generator": dict(self.net.options)}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return translate_video(self.net, frames, self.device)
