"""The video-method interface: frame-wise, HyperCon and the baselines all implement it.

A method describes itself, so that nothing outside its own file needs to know its name: its row label in
tables (:meth:`VideoMethod.label`), the options that form grid-search axes (:meth:`VideoMethod.grid_axes`),
whether it *is* the frame-wise reference of its image model (``is_reference``), whether it takes that
reference as input (``needs_reference_input``: blind post-processors such as Lai et al.'s vcons or Deep
Video Prior), where its rows go in a table (``table_rank``) and which rows of the paper's tables it
reproduces (``paper_rows``). All of it is recorded in the provenance of every result.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from torch import Tensor

from hypercon.component import TEST, TRAINED_HERE, USER, Component


@dataclass(frozen=True)
class PaperRow:
    """A row of one of the paper's tables (``table1`` style transfer, ``table2`` inpainting).

    ``strict`` rows need something a default run lacks (the authors' published weights): only a result
    labelled exactly ``label`` fills them (a trained-here result is labelled otherwise and marked †), and the
    tables say "not available: <label>: <note>" when no such result is present, even if the method ran.
    """

    table: str
    label: str
    note: str = ""  # how the harness produces it, or why it cannot yet
    strict: bool = False


class VideoMethod(Component):
    """``method.run(frames [T,3,H,W] in [0,1] RGB, known [T,1,H,W] | None, reference=None) -> [T,3,H,W]``.

    ``known`` (1 = known pixel, 0 = hole) is given for ``task=inpaint``; the output then has the
    known pixels composited back. ``reference`` is the frame-wise output of the method's image model,
    passed (from the runner's cache, never recomputed) only to methods with ``needs_reference_input``.
    :meth:`components` names the parts for provenance.
    """

    name = "method"
    #: the method's output is the frame-wise output of its image model (metrics comparing with that
    #: reference are trivial for it: the tables' "–")
    is_reference: ClassVar[bool] = False
    #: the method post-processes the frame-wise output of its image model (given as ``reference``)
    needs_reference_input: ClassVar[bool] = False
    #: the method translates through an image model (``model=``); False for a method that is its own translator
    #: (e.g. Gatys optimisation): it has no frame-wise reference, so metrics comparing with one are unavailable
    uses_image_model: ClassVar[bool] = True
    #: order of rows in a table block: 0 frame-wise references, 1 baselines, 2 the proposed method
    table_rank: ClassVar[int] = 1
    #: rows of the paper's tables this method reproduces
    paper_rows: ClassVar[tuple[PaperRow, ...]] = ()

    @abstractmethod
    def run(self, frames: Tensor, known: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        """Translate a whole video."""

    def components(self) -> dict[str, Component]:
        """Sub-components (image model, flow, interpolator, ...) by role."""
        return {}

    def label(self) -> str:
        """The row label in tables, built from the options (e.g. ``HyperCon-median (i=2, c=5, d=1)``)."""
        return self.name

    @classmethod
    def label_without_instance(cls, method_cfg: Any) -> str:
        """The row label of a method that could not be built (its weights are missing): the config's name,
        unless the class knows better."""
        return str(method_cfg.get("name") or cls.name)

    def grid_axes(self) -> dict[str, Any]:
        """The options that form grid-search axes, by their paper symbol (e.g. ``{"i": 2, "c": 5, "d": 1}``)."""
        return {}

    def provenance(self) -> dict:
        record = super().provenance()
        record["components"] = {role: c.provenance() for role, c in self.components().items()}
        record["tier"] = combined_tier([record["tier"], *(c["tier"] for c in record["components"].values())])
        record.update(label=self.label(), axes=self.grid_axes(), is_reference=self.is_reference,
                      needs_reference_input=self.needs_reference_input, table_rank=self.table_rank,
                      paper_rows=[asdict(r) for r in self.paper_rows])
        return record


def combined_tier(tiers: list[str]) -> str:
    """The tier of a result made by several components: ``test`` if any component ran on stand-in weights
    from a test manifest, else ``trained-here`` if any component was trained in this project (neither
    number ever goes in a paper-tier cell), else ``user`` if any component is a model the user brought (nor
    that), else ``paper`` / ``offline`` when all agree, else ``mixed``.

    >>> combined_tier(["paper", "paper"]), combined_tier(["paper", "offline"]), combined_tier(["offline", "trained-here"])
    ('paper', 'mixed', 'trained-here')
    >>> combined_tier(["trained-here", "test", "paper"]), combined_tier(["user", "offline"])
    ('test', 'user')
    """
    kinds = set(tiers)
    for dominant in (TEST, TRAINED_HERE, USER):
        if dominant in kinds:
            return dominant
    return kinds.pop() if len(kinds) == 1 else "mixed"
