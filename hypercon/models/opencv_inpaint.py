"""OpenCV inpainting (Telea 2004 fast marching / Navier–Stokes, ``cv2.inpaint``) as an image model g
(tier offline, weight-free). Known pixels are composited back by :class:`ImageModel`."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor

from hypercon.checks import frames_to_uint8
from hypercon.models.base import ImageModel

METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def hole_mask_uint8(known: Tensor) -> np.ndarray:
    """``known [B,1,H,W]`` (1 = known, 0 = hole) → OpenCV masks ``[B,H,W]`` uint8, 255 = hole
    (pixels with known < 0.5)."""
    return ((known[:, 0] < 0.5).to(torch.uint8) * 255).cpu().numpy()


def opencv_inpaint(frames: Tensor, known: Tensor, method: str = "telea", radius: float = 5.0) -> Tensor:
    """Fill the holes of ``frames [B,3,H,W]`` RGB [0,1] where ``known [B,1,H,W]`` < 0.5 with
    ``cv2.inpaint`` on the 8-bit image. Returns ``[B,3,H,W]`` in [0,1] on ``frames``' device (known
    pixels come back rounded to 8 bit; composite to restore them)."""
    if method not in METHODS:
        raise ValueError(f"model=opencv_inpaint: method must be one of {sorted(METHODS)}, got {method!r}")
    images, holes = frames_to_uint8(frames), hole_mask_uint8(known)
    outs = [cv2.inpaint(np.ascontiguousarray(img), hole, float(radius), METHODS[method])
            for img, hole in zip(images, holes)]
    return (torch.from_numpy(np.stack(outs)).permute(0, 3, 1, 2).float() / 255.0).to(frames.device)


class OpenCVInpaint(ImageModel):
    """``model=opencv_inpaint``: ``method`` telea | ns, ``radius`` in pixels (the neighbourhood used)."""

    name = "opencv_inpaint"
    tier = "offline"
    needs_mask = True

    def __init__(self, method: str = "telea", radius: float = 5.0, device: str = "cpu", batch_size: int = 8) -> None:
        if method not in METHODS:
            raise ValueError(f"model=opencv_inpaint: method must be one of {sorted(METHODS)}, got {method!r}")
        if radius <= 0:
            raise ValueError(f"model=opencv_inpaint: radius must be > 0 pixels, got {radius}")
        self.method, self.radius, self.device, self.batch_size = method, float(radius), device, batch_size

    def options(self) -> dict[str, object]:
        return {"method": self.method, "radius": self.radius}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return opencv_inpaint(frames, known, self.method, self.radius)
