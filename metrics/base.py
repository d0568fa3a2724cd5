"""What a video metric sees, and the interface every metric wrapper implements.

The functional cores live in one module per metric (``metrics/warping_error.py`` …) and take plain
tensors. The wrappers here are what the runner (``python run.py``) and the CLI (``python -m metrics``)
call, so both give the same numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from torch import Tensor

if TYPE_CHECKING:
    from metrics.source_motion import SourceMotion


class MetricUnavailable(RuntimeError):
    """A metric cannot be computed here (missing weights, missing ground truth, …).

    Results record it as ``{"status": "unavailable", "reason": str(exc)}``, never as a number.
    """


@dataclass
class EvalVideo:
    """One video to evaluate. All frames ``[T,3,H,W]`` float32 RGB in [0,1] at the same size.

    Attributes:
        name: video name (unique within the dataset).
        output: the method's output (composited for inpainting).
        source: the video whose motion defines temporal consistency: the input video for style
            transfer, the ground-truth video for inpainting. Source flows are computed on it.
        known: ``[T,1,H,W]`` 1 = known, 0 = hole, or None.
        gt: ground-truth frames (inpainting with synthetic holes), or None.
        reference: the frame-wise output of the same image model (fidelity, FID reference), or None.
        source_motion: callable returning the :class:`metrics.source_motion.SourceMotion` of ``source``
            (forward flow t → t+1 on t's grid ``[T-1,2,H,W]`` + its occlusion mask ``[T-1,1,H,W]``);
            computed once and cached by the caller (:class:`metrics.source_motion.SourceMotionCache`).
    """

    name: str
    output: Tensor
    source: Tensor
    known: Tensor | None = None
    gt: Tensor | None = None
    reference: Tensor | None = None
    source_motion: Callable[[], "SourceMotion"] | None = None
    _evaluated: Tensor | None = field(default=None, init=False, repr=False, compare=False)

    def evaluated_output(self) -> Tensor:
        """The frames every metric evaluates: ``output`` composited with the known pixels when a mask is
        given (``known·G + (1−known)·output`` with G = ``gt``, else ``source``; a no-op for an already
        composited output, as VIE composites every prediction), else ``output``. Computed once."""
        if self._evaluated is None:
            if self.known is None:
                self._evaluated = self.output
            else:
                from hypercon.checks import check_known, composite

                check_known(self.known, self.output)
                truth = self.gt if self.gt is not None else self.source
                self._evaluated = composite(self.output, truth, self.known)
        return self._evaluated


class VideoMetric(ABC):
    """A per-video metric. ``compute`` returns ``{key: float}`` (one metric may give several keys).

    ``higher_is_better`` maps each key to its direction (for ↑/↓ in tables). Raise
    :class:`MetricUnavailable` when the inputs needed are missing.
    """

    name: str = "metric"
    higher_is_better: dict[str, bool] = {}

    @abstractmethod
    def compute(self, video: EvalVideo) -> dict[str, float]:
        """Evaluate one video."""

    def options(self) -> dict[str, Any]:
        return {}

    def provenance(self) -> dict[str, Any]:
        cls = type(self)
        return {"name": self.name, "class": f"{cls.__module__}.{cls.__qualname__}", "options": self.options(),
                "tier": getattr(self, "tier", "offline")}


class SetMetric(ABC):
    """A metric pooled over a whole set of videos (FID, VFID).

    The runner calls :meth:`features` once per video and stores the arrays beside that video's
    results (so resumed runs need not recompute them), then :meth:`compute` once on all of them.
    """

    name: str = "set_metric"
    higher_is_better: dict[str, bool] = {}

    @abstractmethod
    def features(self, video: EvalVideo) -> dict[str, "np.ndarray"]:
        """Per-video feature arrays, e.g. ``{"pred": [N,D], "ref": [N,D]}`` (float64/32)."""

    @abstractmethod
    def compute(self, features: list[dict[str, "np.ndarray"]]) -> dict[str, float]:
        """Pool the per-video features of every video into the metric value(s)."""

    def options(self) -> dict[str, Any]:
        return {}

    def provenance(self) -> dict[str, Any]:
        cls = type(self)
        return {"name": self.name, "class": f"{cls.__module__}.{cls.__qualname__}", "options": self.options(),
                "tier": getattr(self, "tier", "paper")}
