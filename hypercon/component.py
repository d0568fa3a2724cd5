"""Provenance of a component (flow estimator, interpolator, image model, metric network).

Every component declares its ``tier``:

* ``"offline"``: weight-free or a locally available substitute (the default);
* ``"paper"``: the paper's architecture with the original upstream weights;
* ``"trained-here"``: weights trained in this project (``baselines.common``), loaded from a checkpoint whose
  sidecar JSON was verified; its :meth:`Component.weights` record adds ``trained_on`` (the sequences the
  network saw) and ``steps``. Tables footnote it and never place it in a paper-tier cell.

Results record :meth:`Component.provenance` of every component that produced them.
"""

from __future__ import annotations

from abc import ABC
from typing import Any

TRAINED_HERE = "trained-here"
TIERS = ("offline", "paper", TRAINED_HERE)


class Component(ABC):
    """Mixin: a named component with a tier, options and (optionally) a weights file."""

    name: str = "component"
    tier: str = "offline"  # one of TIERS: "offline" | "paper" | "trained-here"

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
            "tier": self.tier,
            "options": self.options(),
            "weights": self.weights(),
        }
