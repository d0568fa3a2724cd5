"""Provenance of a component (flow estimator, interpolator, image model, metric network).

Every component declares its ``tier``:

* ``"offline"``: weight-free or a locally available substitute (the default);
* ``"paper"``: the paper's architecture with the original upstream weights;
* ``"trained-here"``: weights trained in this project (``baselines.common``), loaded from a checkpoint whose
  sidecar JSON was verified; its :meth:`Component.weights` record adds ``trained_on`` (the sequences the
  network saw) and ``steps``. Tables footnote it and never place it in a paper-tier cell;
* ``"test"``: weights from a test manifest (``$HYPERCON_WEIGHTS_MANIFEST``: random or synthetic stand-ins),
  never a paper number. It is not declared but read from the weights record (:func:`weights_tier`), and the
  paper's tables refuse such a result;
* ``"user"``: a model the user brought (``model=callable | torchscript | onnx``, :mod:`hypercon.models.user`):
  its numbers are the user's, never a paper number; the paper's tables refuse such a result too.

Results record :meth:`Component.provenance` of every component that produced them.
"""

from __future__ import annotations

from abc import ABC
from typing import Any

TRAINED_HERE = "trained-here"
TEST = "test"
USER = "user"
TIERS = ("offline", "paper", TRAINED_HERE, TEST, USER)


def weights_tier(record: Any, declared: str) -> str:
    """``test`` when a weights record (or one nested in it, e.g. LPIPS's ``trunk``) says ``"tier": "test"``
    (:meth:`hypercon.weights.manifest.ResolvedWeights.record` of a test-manifest entry), else ``declared``.

    >>> weights_tier({"file": "x", "sha256": "0", "tier": "test"}, "paper"), weights_tier(None, "paper")
    ('test', 'paper')
    """
    if isinstance(record, dict):
        if record.get("tier") == TEST or any(weights_tier(v, declared) == TEST for v in record.values()):
            return TEST
    return declared


class Component(ABC):
    """Mixin: a named component with a tier, options and (optionally) a weights file."""

    name: str = "component"
    tier: str = "offline"  # declared: "offline" | "paper" | "trained-here" | "user" (test: from the weights record)

    def options(self) -> dict[str, Any]:
        """Options that change the output (recorded in provenance). Override in subclasses."""
        return {}

    def weights(self) -> dict[str, str] | None:
        """``{"file": ..., "sha256": ...}`` of the loaded weights (trained-here: also ``trained_on``, ``steps``),
        or None if weight-free."""
        return getattr(self, "_weights_record", None)

    def provenance(self) -> dict[str, Any]:
        cls = type(self)
        return {
            "name": self.name,
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "tier": weights_tier(self.weights(), self.tier),
            "options": self.options(),
            "weights": self.weights(),
        }
