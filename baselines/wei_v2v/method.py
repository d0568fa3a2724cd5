"""``method=wei_v2v``: Wei et al.'s (ACM MM 2018) recurrent generator as a video method, tier trained-here.

No code or weights were published: the network is always trained here (:mod:`.train`). ``variant`` picks a
row of Wei's Table 1 (``image2image`` | ``video2video`` | ``local`` | ``local_global``, default the full
model) and ``task`` (``${task.name}``: colorize | sr2x | vseg) the checkpoint ``wei_<variant>_<task>_offline``
of ``hypercon/weights/trained/`` (shipped: ``image2image`` and ``local_global``; the others stop with a
one-line error naming the file and the train command), or ``checkpoint``: a trained-here ``X.pt``.

The method is its own translator (no ``model=``, hence no frame-wise reference: ``uses_image_model`` False):
it runs the generator over the task's input frame by frame, hidden state from zeros at each video's first
frame (:func:`.inference.translate_video`). The weights record carries ``trained_on``, so the report's split
check (:func:`baselines.common.split.check_unseen`) refuses a result on a video the network saw.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from baselines.wei_v2v.inference import label_source, load_generator, translate_video
from baselines.wei_v2v.losses import LABELS, variant_parts
from hypercon.checks import check_frames
from hypercon.component import TRAINED_HERE
from hypercon.method import VideoMethod


class WeiVideoToVideo(VideoMethod):
    """``run(frames [T,3,H,W] (the task's input), known=None) -> [T,3,H,W]`` (module doc)."""

    name = "wei_v2v"
    tier = TRAINED_HERE
    uses_image_model = False  # its own translator: no frame-wise reference

    def __init__(self, variant: str = "local_global", task: str = "colorize", checkpoint: str | None = None,
                 weights_dir: str | None = None, device: str = "cpu", dropout_at_test: bool = False) -> None:
        variant_parts(variant)
        self.variant, self.task, self.checkpoint, self.device = variant, str(task), checkpoint, device
        self.net, self._weights_record = load_generator(variant, self.task, checkpoint, weights_dir,
                                                        "method=wei_v2v")
        self.net.dropout_at_test = bool(dropout_at_test)
        self.net.eval().to(device)

    def label(self) -> str:
        """``Wei et al. (local+global)``; qualified when the weights are not the shipped ones."""
        source = label_source(self.checkpoint)
        extra = "" if self.checkpoint is None else f", {source}"
        return f"Wei et al. ({LABELS[self.variant]}{extra})"

    def options(self) -> dict[str, Any]:
        return {"variant": self.variant, "task": self.task, "dropout_at_test": self.net.dropout_at_test,
                "generator": dict(self.net.options)}

    def run(self, frames: Tensor, known: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        check_frames(frames, "frames")
        if known is not None:
            raise ValueError("method=wei_v2v translates colorize / sr2x / vseg inputs; it takes no masks "
                             "(task.masks must be none, or object for vseg's target)")
        return translate_video(self.net, frames, self.device)
