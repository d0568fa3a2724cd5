"""The video-method interface: frame-wise, HyperCon and the baselines all implement it."""

from __future__ import annotations

from abc import abstractmethod

from torch import Tensor

from hypercon.component import Component


class VideoMethod(Component):
    """``method.run(frames [T,3,H,W] in [0,1] RGB, known [T,1,H,W] | None) -> [T,3,H,W]``.

    ``known`` (1 = known pixel, 0 = hole) is given for ``task=inpaint``; the output then has the
    known pixels composited back. :meth:`components` names the parts for provenance.
    """

    name = "method"

    @abstractmethod
    def run(self, frames: Tensor, known: Tensor | None = None) -> Tensor:
        """Translate a whole video."""

    def components(self) -> dict[str, Component]:
        """Sub-components (image model, flow, interpolator, ...) by role."""
        return {}

    def provenance(self) -> dict:
        record = super().provenance()
        record["components"] = {role: c.provenance() for role, c in self.components().items()}
        tiers = {record["tier"], *(c["tier"] for c in record["components"].values())}
        record["tier"] = "paper" if tiers == {"paper"} else ("offline" if tiers == {"offline"} else "mixed")
        return record
