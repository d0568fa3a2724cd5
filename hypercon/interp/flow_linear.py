"""Offline interpolator: Super SloMo's intermediate-flow formulas on flows from any flow estimator.

For each pair ``(a, b)`` the estimator computes ``F_ab`` and ``F_ba`` once (batched over pairs); every
intermediate time reuses them: ``F_t→a = −t(1−t)F_ab + t²F_ba``, ``F_t→b = (1−t)²F_ab − t(1−t)F_ba``
(:func:`hypercon.interp.base.intermediate_flows`).

Blend weight (``occlusion``):

* ``False``: ``w = t`` (linear blend of the two warped frames);
* ``True``: occlusion-aware, Super SloMo's visibility rule ``w = t·V_b / ((1−t)V_a + tV_b)`` with
  visibility maps from the forward/backward consistency check (Sundaram et al. 2010): a pixel of a is
  occluded in b where ``|F_ab(x) + F_ba(x + F_ab(x))|² > α(|F_ab|² + |F_ba(x + F_ab)|²) + β`` or where
  ``x + F_ab(x)`` leaves the frame. An intermediate pixel whose source in a vanishes in b is not seen
  in b: ``V_b = 1 − warp(occluded_a, F_t→a)``, and symmetrically
  ``V_a = 1 − warp(occluded_b, F_t→b)``.

The default (``occlusion=False``) is chosen by measurement: interpolation PSNR against held-out frames
of the procedural videos of :mod:`datasets.synthetic` (sprites over a moving background, 416×240, DIS
medium; ``python benchmarks/bench_hypercon.py --interp-psnr [--step 4]``), mean over 6 videos:

=========================  ===========  ==================
frames in                  ``w = t``    occlusion-aware
=========================  ===========  ==================
every 2nd (i = 1), 4 pairs  41.03 dB     40.99 dB
every 4th (i = 3), 3 pairs  39.86 dB     39.67 dB
=========================  ===========  ==================

Within 7 px of layer edges the gap is 0.0–0.8 dB, also in favour of ``w = t``; on a two-layer toy scene
with exact flow (``tests/test_interpolate.py``) ``w = t`` wins by 1–1.6 dB. The reason: the linear
intermediate-flow formulas are wrong in a band of half the relative motion at each motion boundary
(``F_ab(x)`` and ``F_ba(x)`` describe different surfaces there), so the visibility-based hard choice
picks a wrongly warped frame where the plain average at least halves the error. Super SloMo fixes those
flows with its second UNet; ``occlusion=True`` stays available.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from hypercon.flow.base import FlowEstimator
from hypercon.interp.base import Interpolator, WarpingParams, intermediate_flows, visibility_weight
from hypercon.warp import backward_warp


def occlusion_from_flows(flow_ab: Tensor, flow_ba: Tensor, alpha: float = 0.01, beta: float = 0.5) -> Tensor:
    """Forward/backward check: ``[B,1,H,W]`` float, 1 where a pixel of a is not visible in b.

    ``flow_ab``: ``[B,2,H,W]`` px on a's grid; ``flow_ba``: ``[B,2,H,W]`` px on b's grid. A pixel is
    occluded where ``|F_ab + F_ba∘(x+F_ab)|² > alpha·(|F_ab|² + |F_ba∘(x+F_ab)|²) + beta`` (px²) or where
    ``x + F_ab(x)`` falls outside the frame.
    """
    back, inside = backward_warp(flow_ba, flow_ab, padding="border")
    diff = (flow_ab + back).square().sum(1, keepdim=True)
    bound = alpha * (flow_ab.square().sum(1, keepdim=True) + back.square().sum(1, keepdim=True)) + beta
    return ((diff > bound) | ~inside).to(flow_ab.dtype)


class FlowLinearInterpolator(Interpolator):
    """Vector-based interpolation from a flow estimator (offline tier; see the module docstring).

    Args:
        flow: the flow estimator for ``F_ab`` / ``F_ba`` (conf ``interp.flow``, default ``${flow}``).
        occlusion: occlusion-aware blend weights from the forward/backward check (True) or ``w = t``
            (False, the measured better default; see the module docstring).
        alpha, beta: thresholds of the consistency check (Sundaram et al.: 0.01, 0.5 px²).
        batch_size: frame pairs per call that callers should group.
        device: where the warping-parameter arithmetic runs (the estimator has its own device).
    """

    name = "flow_linear"
    tier = "offline"

    def __init__(
        self,
        flow: FlowEstimator,
        occlusion: bool = False,
        alpha: float = 0.01,
        beta: float = 0.5,
        batch_size: int = 4,
        device: str = "cpu",
    ) -> None:
        if not isinstance(flow, FlowEstimator):
            raise TypeError(f"interp.flow: expected a FlowEstimator, got {type(flow).__name__}")
        if int(batch_size) < 1:
            raise ValueError(f"interp.batch_size must be ≥ 1, got {batch_size}")
        self.flow = flow
        self.occlusion = bool(occlusion)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.batch_size = int(batch_size)
        self.device = str(device)

    def options(self) -> dict:
        return {
            "outside": "border",  # outside_colour None: samples outside the frame repeat the border pixel
            "occlusion": self.occlusion,
            "alpha": self.alpha,
            "beta": self.beta,
            "flow": self.flow.provenance(),
        }

    @torch.no_grad()
    def warping_params(self, frame_a: Tensor, frame_b: Tensor, times: Sequence[float]) -> list[WarpingParams]:
        out_device = frame_a.device
        if not times:
            return []
        flow_ab = self.flow(frame_a, frame_b).to(self.device, torch.float32)
        flow_ba = self.flow(frame_b, frame_a).to(self.device, torch.float32)
        if self.occlusion:
            occluded_a = occlusion_from_flows(flow_ab, flow_ba, self.alpha, self.beta)
            occluded_b = occlusion_from_flows(flow_ba, flow_ab, self.alpha, self.beta)
        params = []
        for t in times:
            flow_t_a, flow_t_b = intermediate_flows(flow_ab, flow_ba, t)
            if self.occlusion:
                # content sampled from a where a's pixel vanishes in b is not in b, and vice versa
                vis_b = 1.0 - backward_warp(occluded_a, flow_t_a, padding="border")[0]
                vis_a = 1.0 - backward_warp(occluded_b, flow_t_b, padding="border")[0]
                weight = visibility_weight(t, vis_a, vis_b)
            else:
                weight = torch.full_like(flow_ab[:, :1], float(t))
            params.append(WarpingParams(flow_t_a.to(out_device), flow_t_b.to(out_device), weight.to(out_device)))
        return params
