"""OpenCV DIS optical flow (Kroeger et al. 2016), weight-free: the offline-tier flow estimator.

DIS works on single-channel uint8 images; frames are converted with :func:`frames_to_gray_uint8`
(OpenCV's ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B`` after rounding RGB to uint8).
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor

from hypercon.checks import frames_to_uint8
from hypercon.flow.base import FlowEstimator

log = logging.getLogger(__name__)

# OpenCV's presets; "fine" is ours (OpenCV has no finer preset): MEDIUM with these settings replaced.
_OPENCV_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}
FINE_OVERRIDES = {
    "finest_scale": 0,  # MEDIUM: 1 (stop at half resolution)
    "patch_stride": 2,  # MEDIUM: 3
    "gd_iterations": 32,  # MEDIUM: 25
    "vr_iterations": 10,  # MEDIUM: 5
}
PRESETS = (*_OPENCV_PRESETS, "fine")

# knob name -> OpenCV setter
_SETTERS = {
    "finest_scale": "setFinestScale",
    "patch_size": "setPatchSize",
    "patch_stride": "setPatchStride",
    "gd_iterations": "setGradientDescentIterations",
    "vr_iterations": "setVariationalRefinementIterations",
    "vr_alpha": "setVariationalRefinementAlpha",
    "vr_delta": "setVariationalRefinementDelta",
    "vr_gamma": "setVariationalRefinementGamma",
    "use_mean_normalization": "setUseMeanNormalization",
    "use_spatial_propagation": "setUseSpatialPropagation",
}


def frames_to_gray_uint8(frames: Tensor) -> list[np.ndarray]:
    """``[B,3,H,W]`` RGB in [0,1] → B arrays ``[H,W]`` uint8 luma (OpenCV ``COLOR_RGB2GRAY``)."""
    return [cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) for rgb in frames_to_uint8(frames)]


def make_dis(preset: str = "medium", **knobs: Any) -> cv2.DISOpticalFlow:
    """An OpenCV DIS object for ``preset`` with the non-None ``knobs`` (keys of ``_SETTERS``) applied."""
    preset = preset.lower()
    if preset not in PRESETS:
        raise ValueError(f"flow.preset: unknown DIS preset {preset!r}; choose one of {PRESETS}")
    unknown = set(knobs) - set(_SETTERS)
    if unknown:
        raise ValueError(f"flow: unknown DIS option(s) {sorted(unknown)}; known: {sorted(_SETTERS)}")
    dis = cv2.DISOpticalFlow.create(_OPENCV_PRESETS.get(preset, cv2.DISOPTICAL_FLOW_PRESET_MEDIUM))
    settings = dict(FINE_OVERRIDES) if preset == "fine" else {}
    settings.update({k: v for k, v in knobs.items() if v is not None})
    for key, value in settings.items():
        getattr(dis, _SETTERS[key])(value)
    return dis


def dis_min_side(dis: cv2.DISOpticalFlow) -> int:
    """Smallest image side handed to OpenCV: ``max(32, 4 * patch_size)``.

    OpenCV 5.0's DIS raises for, and on some sizes between the patch size and 15 px even crashes
    (segmentation fault) on, images smaller than a few patches; at this size every preset and patch
    size 4-16 ran on all shapes we tried.
    """
    return max(32, 4 * dis.getPatchSize())


def dis_flow(src_gray: np.ndarray, dst_gray: np.ndarray, dis: cv2.DISOpticalFlow) -> np.ndarray:
    """Flow ``[H,W,2]`` float32 (dx, dy) from ``src_gray`` to ``dst_gray`` (``[H,W]`` uint8).

    Images with a side below :func:`dis_min_side` are replicate-padded on the right/bottom up to it and
    the flow is cropped back (only tiny test images are affected).
    """
    if src_gray.dtype != np.uint8 or src_gray.ndim != 2 or src_gray.shape != dst_gray.shape:
        raise ValueError(
            f"dis_flow: need two [H,W] uint8 images of one shape, got {src_gray.shape} {src_gray.dtype} "
            f"and {dst_gray.shape} {dst_gray.dtype}"
        )
    height, width = src_gray.shape
    side = dis_min_side(dis)
    pad_h, pad_w = max(0, side - height), max(0, side - width)
    if pad_h or pad_w:
        src_gray, dst_gray = (
            cv2.copyMakeBorder(img, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE) for img in (src_gray, dst_gray)
        )
    try:
        flow = dis.calc(src_gray, dst_gray, None)
    except cv2.error as exc:
        raise ValueError(
            f"flow: OpenCV DIS failed on a {width}x{height} image (patch_size {dis.getPatchSize()}, "
            f"finest_scale {dis.getFinestScale()}); the settings may be too coarse for this size: {exc}"
        ) from exc
    return flow[:height, :width].astype(np.float32, copy=False)


def flows_to_tensor(flows: list[np.ndarray], device: torch.device | str) -> Tensor:
    """B arrays ``[H,W,2]`` → ``[B,2,H,W]`` float32 tensor on ``device``."""
    stacked = torch.from_numpy(np.ascontiguousarray(np.stack(flows)))
    return stacked.permute(0, 3, 1, 2).contiguous().to(device=device, dtype=torch.float32)


class DISFlow(FlowEstimator):
    """Dense Inverse Search flow (OpenCV), tier ``offline``.

    Presets: OpenCV's ``ultrafast``, ``fast``, ``medium`` and our ``fine`` = MEDIUM with
    ``finest_scale=0, patch_stride=2, gd_iterations=32, vr_iterations=10`` (full-resolution patches,
    denser patch grid, more gradient-descent and variational-refinement iterations).
    Mean end-point error over the 8 Middlebury training pairs with ground truth: ultrafast 0.88,
    fast 0.75, medium 0.61, fine 0.49 px, at about 8, 11, 27 and 180 ms per ~640x480 pair (OpenCV 5.0,
    2 CPU cores). ``medium`` is the default (``conf/flow/dis.yaml``): the knee of the EPE/time curve
    (fast → medium: -0.14 px for +16 ms; medium → fine: -0.11 px for +150 ms);
    ``conf/flow/dis_fine.yaml`` selects ``fine``.

    Any knob left None keeps the preset's value. Computation runs on the CPU (OpenCV) whatever
    ``device`` says (it is accepted for config symmetry); the result is on the input's device.
    """

    name = "dis"
    tier = "offline"

    def __init__(
        self,
        preset: str = "medium",
        device: str = "cpu",
        finest_scale: int | None = None,
        patch_size: int | None = None,
        patch_stride: int | None = None,
        gd_iterations: int | None = None,
        vr_iterations: int | None = None,
        vr_alpha: float | None = None,
        vr_delta: float | None = None,
        vr_gamma: float | None = None,
        use_mean_normalization: bool | None = None,
        use_spatial_propagation: bool | None = None,
    ) -> None:
        self.preset = preset.lower()
        self.device = device
        self.knobs = {
            "finest_scale": finest_scale,
            "patch_size": patch_size,
            "patch_stride": patch_stride,
            "gd_iterations": gd_iterations,
            "vr_iterations": vr_iterations,
            "vr_alpha": vr_alpha,
            "vr_delta": vr_delta,
            "vr_gamma": vr_gamma,
            "use_mean_normalization": use_mean_normalization,
            "use_spatial_propagation": use_spatial_propagation,
        }
        self._dis = make_dis(self.preset, **self.knobs)  # validates the options now

    def options(self) -> dict[str, Any]:
        return {"preset": self.preset, **{k: v for k, v in self.knobs.items() if v is not None}}

    def estimate(self, src: Tensor, dst: Tensor) -> Tensor:
        flows = [
            dis_flow(a, b, self._dis) for a, b in zip(frames_to_gray_uint8(src), frames_to_gray_uint8(dst))
        ]
        return flows_to_tensor(flows, src.device)
