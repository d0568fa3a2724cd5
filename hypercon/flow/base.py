"""The optical-flow estimator interface shared by HyperCon, the baselines and the metrics."""

from __future__ import annotations

from abc import abstractmethod

from torch import Tensor

from hypercon.component import Component


class FlowEstimator(Component):
    """``flow(src, dst) -> [B,2,H,W]``: pixel x of ``src`` moves to ``x + f(x)`` in ``dst``.

    Inputs ``src``, ``dst``: ``[B,3,H,W]`` float32 RGB in [0,1] on any device; the output is on the
    same device, float32, in pixels (dx, dy), on src's grid. Batched over pairs. Subclasses
    implement :meth:`estimate`; ``__call__`` checks shapes and refuses NaN / inf flow (``NonFiniteError``).
    """

    name = "flow"

    @abstractmethod
    def estimate(self, src: Tensor, dst: Tensor) -> Tensor:
        """Flow src → dst for a batch of pairs (see the class docstring)."""

    def __call__(self, src: Tensor, dst: Tensor) -> Tensor:
        from hypercon.checks import check_finite, check_frames

        check_frames(src, "src")
        check_frames(dst, "dst")
        if src.shape != dst.shape:
            raise ValueError(f"flow: src {tuple(src.shape)} and dst {tuple(dst.shape)} differ in shape")
        return check_finite(self.estimate(src, dst), f"flow {self.name!r}")
