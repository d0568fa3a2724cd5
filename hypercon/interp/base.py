"""The interpolator interface (the paper's ``wrpgrd``) and the intermediate-flow formulas it shares.

An interpolator does not produce frames: for a batch of frame pairs ``(a, b)`` and intermediate times
``t ∈ [0,1]`` it returns *warping parameters* (paper eq. 1–2), one :class:`WarpingParams` per time:

* ``flow_to_a [B,2,H,W]``: backward-warp flow on the intermediate grid, ``warp(a, flow_to_a)`` brings
  frame a to time t (pixels, (dx, dy); rule ``out(x) = a(x + flow_to_a(x))``);
* ``flow_to_b [B,2,H,W]``: the same for frame b;
* ``weight_b [B,1,H,W]`` in [0,1]: blend weight of b; the interpolated frame is
  ``(1 − w)·warp(a, flow_to_a) + w·warp(b, flow_to_b)``.

The same parameters are applied to the RGB frames and to their masks (:mod:`hypercon.interpolate`), so
the interpolated mask moves exactly like the interpolated video (paper §2.4).

Samples that leave the frame: each interpolator says what the frames take there
(:attr:`Interpolator.outside_colour`, recorded in its options): ``None`` = the nearest border pixel
(border padding; the offline ``flow_linear``), or a fixed colour (Super SloMo: upstream warps
mean-subtracted frames with zero padding, so outside samples take the mean colour). Masks always use
border padding.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import NamedTuple, Sequence

import torch
from torch import Tensor

from hypercon.checks import check_finite, check_flow, check_frames
from hypercon.component import Component


class WarpingParams(NamedTuple):
    """Warping grids and blend weight for one intermediate time (see the module docstring)."""

    flow_to_a: Tensor  # [B,2,H,W] px, on the intermediate grid
    flow_to_b: Tensor  # [B,2,H,W] px, on the intermediate grid
    weight_b: Tensor  # [B,1,H,W] in [0,1]


def intermediate_flows(flow_ab: Tensor, flow_ba: Tensor, t: float) -> tuple[Tensor, Tensor]:
    """Super SloMo's intermediate flows (Jiang et al. 2018, eq. 4) from the two bidirectional flows.

    ``F_t→a = −t(1−t)·F_ab + t²·F_ba`` and ``F_t→b = (1−t)²·F_ab − t(1−t)·F_ba``.

    Args:
        flow_ab: ``[B,2,H,W]`` px, a → b on a's grid. flow_ba: ``[B,2,H,W]`` px, b → a on b's grid.
        t: time in [0,1] (0 = a, 1 = b).

    Returns:
        ``(flow_t_to_a, flow_t_to_b)``, each ``[B,2,H,W]`` on the intermediate grid. For a constant
        translation ``F_ab = u, F_ba = −u`` they are exactly ``−t·u`` and ``(1−t)·u``.
    """
    t = float(t)
    flow_t_to_a = torch.add(flow_ab * (-t * (1.0 - t)), flow_ba, alpha=t * t)
    flow_t_to_b = torch.add(flow_ab * ((1.0 - t) * (1.0 - t)), flow_ba, alpha=-t * (1.0 - t))
    return flow_t_to_a, flow_t_to_b


def visibility_weight(t: float, visible_a: Tensor, visible_b: Tensor, eps: float = 1e-6) -> Tensor:
    """Occlusion-aware blend weight of b (Super SloMo eq. 1): ``w = t·V_b / ((1−t)·V_a + t·V_b)``.

    ``visible_a``, ``visible_b``: ``[B,1,H,W]`` in [0,1], visibility at time t of the intermediate pixel
    in a and in b. Where the denominator is below ``eps`` (seen in neither) the weight falls back to
    ``t``. Returns ``[B,1,H,W]`` in [0,1].
    """
    t = float(t)
    num = t * visible_b
    den = (1.0 - t) * visible_a + num
    ok = den > eps
    weight = torch.where(ok, num / den.clamp_min(eps), torch.full_like(den, t))
    return weight.clamp(0.0, 1.0)


class Interpolator(Component):
    """``interp(frame_a [B,3,H,W], frame_b [B,3,H,W], times) -> list[WarpingParams]`` (one per time).

    Frames are float32 RGB in [0,1] on any device; the parameters come back on the frames' device.
    Everything that does not depend on ``t`` (e.g. the flows between a and b) is computed once per call
    and shared by all times, so callers should pass all the times they need for a pair together.
    Subclasses implement :meth:`warping_params`; ``__call__`` checks inputs and outputs.
    """

    name = "interp"
    #: pairs per :meth:`warping_params` call that callers should batch together
    batch_size: int = 4
    #: what the frames take where a warp samples outside the frame: ``None`` = the nearest border
    #: pixel (border padding); an RGB colour in [0,1] = that colour (zero padding of ``frame − colour``)
    outside_colour: tuple[float, float, float] | None = None

    @abstractmethod
    def warping_params(self, frame_a: Tensor, frame_b: Tensor, times: Sequence[float]) -> list[WarpingParams]:
        """Warping parameters for every time in ``times`` (see the class docstring)."""

    def __call__(self, frame_a: Tensor, frame_b: Tensor, times: Sequence[float]) -> list[WarpingParams]:
        check_frames(frame_a, "frame_a")
        check_frames(frame_b, "frame_b")
        if frame_a.shape != frame_b.shape:
            raise ValueError(f"interp: frame_a {tuple(frame_a.shape)} and frame_b {tuple(frame_b.shape)} differ")
        times = [float(t) for t in times]
        if any(not 0.0 <= t <= 1.0 for t in times):
            raise ValueError(f"interp: times must lie in [0,1], got {times}")
        params = self.warping_params(frame_a, frame_b, times)
        if len(params) != len(times):
            raise ValueError(f"interp {self.name!r}: returned {len(params)} parameter sets for {len(times)} times")
        b, _, h, w = frame_a.shape
        for p in params:
            for tensor in (p.flow_to_a, p.flow_to_b, p.weight_b):
                check_finite(tensor, f"interp {self.name!r}")
            check_flow(p.flow_to_a, "flow_to_a")
            check_flow(p.flow_to_b, "flow_to_b")
            if p.flow_to_a.shape != (b, 2, h, w) or p.flow_to_b.shape != (b, 2, h, w) or p.weight_b.shape != (b, 1, h, w):
                raise ValueError(
                    f"interp {self.name!r}: parameters {tuple(p.flow_to_a.shape)}, {tuple(p.flow_to_b.shape)}, "
                    f"{tuple(p.weight_b.shape)} do not match frames {tuple(frame_a.shape)}"
                )
        return params
