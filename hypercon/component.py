"""Provenance of a component (flow estimator, interpolator, image model, metric network).

Every component declares its ``tier``: ``"offline"`` (weight-free or locally available substitute) or
``"paper"`` (the paper's architecture with the original upstream weights). Results record
:meth:`Component.provenance` of every component that produced them.
"""

from __future__ import annotations

from abc import ABC
from typing import Any


class Component(ABC):
    """Mixin: a named component with a tier, options and (optionally) a weights file."""

    name: str = "component"
    tier: str = "offline"  # "offline" | "paper"

    def options(self) -> dict[str, Any]:
        """Options that change the output (recorded in provenance). Override in subclasses."""
        return {}

    def weights(self) -> dict[str, str] | None:
        """``{"file": ..., "sha256": ...}`` of the loaded weights, or None if weight-free."""
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
