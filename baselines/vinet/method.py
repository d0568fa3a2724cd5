"""``method=vinet``: VINet (Kim et al. CVPR 2019) as the paper ran it, ``demo_vi.py`` of
mcahny/Deep-Video-Inpainting with ``save_agg_rec_512.pth`` (tier paper; VINet has no offline tier: a network
trained here on 11 sequences would not be VINet, so without the file the run stops before any work, and a
sweep records the job as unavailable).

Per video (inputs prepared by :mod:`.sampling`): the warm-up of ``min(30, N)`` reversed frames, then every
frame; at step t the network sees the five reflected neighbours ``t−6 … t+6`` (BGR, 512², [−1, 1], holes
zeroed, masks dilated as upstream); the ConvLSTM state is reset every step; the previous RAW output (in
[−1, 1], not composited) is fed back as ``cat(O_{t−1}, ones, m)`` with ``m = 0.5 · the previous step's centre
mask`` for the 512 model (zeros for the 256 model), and at the first step the masked centre frame with its own
mask. The output of real frame j (step ``W + j``) is ``(x + 1) / 2``, clipped, resized back from the square
(bilinear) and composited with the known pixels at the working resolution: output length = input length.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from torch import Tensor

from baselines.vinet.network import VINet, vinet_from_checkpoint
from baselines.vinet.sampling import (T_STRIDE, WARMUP, network_inputs, network_output, neighbour_steps,
                                      step_order)
from hypercon.checks import check_frames, check_known, composite
from hypercon.errors import SettingError
from hypercon.method import PaperRow, VideoMethod

log = logging.getLogger(__name__)

WEIGHTS = {512: "vinet"}  # crop size → manifest entry (the 256 model has no registry entry: pass `weights`)


@torch.no_grad()
def vinet_video(net: VINet, frames: Tensor, known: Tensor, warmup: int = WARMUP, stride: int = T_STRIDE,
                dilate: bool = True) -> Tensor:
    """VINet's output ``[T,3,H,W]`` in [0,1] (not yet composited) for ``frames`` ``[T,3,H,W]`` and ``known``
    ``[T,1,H,W]`` (module doc). Runs on ``net``'s device; returns on ``frames``'.''"""
    device = next(net.parameters()).device
    size = net.crop_size
    masked, hole = (x.to(device) for x in network_inputs(frames, known, size, dilate))
    order = step_order(frames.shape[0], warmup)
    first = len(order) - frames.shape[0]
    ones = torch.ones(1, 1, size, size, device=device)
    outputs: list[Tensor] = []
    prev_output = prev_mask = None
    for t in range(len(order)):
        picks = [order[i] for i in neighbour_steps(t, len(order), stride)]
        clip = masked[picks].permute(1, 0, 2, 3).unsqueeze(0)  # [1,3,5,S,S]
        masks = hole[picks].permute(1, 0, 2, 3).unsqueeze(0)  # [1,1,5,S,S]
        if t == 0:
            prev_feed = torch.cat([clip[:, :, 2], ones, masks[:, :, 2]], dim=1)
        else:
            prev_feed = torch.cat([prev_output, ones, prev_mask], dim=1)
        prev_output = net(clip, masks, None, prev_feed, t).output
        prev_mask = masks[:, :, 2] * 0.5 if net.double_size else torch.zeros_like(masks[:, :, 2])
        if t >= first:
            outputs.append(network_output(prev_output, tuple(frames.shape[-2:])).to(frames.device))
    return torch.cat(outputs)


class VINetMethod(VideoMethod):
    """``run(frames, known) -> [T,3,H,W]`` (module doc); inpainting only (``task=inpaint``)."""

    name = "vinet"
    tier = "paper"
    uses_image_model = False  # VINet inpaints by itself: no frame-wise reference
    paper_rows = (PaperRow("table2", "VINet", "needs VINet's save_agg_rec_512.pth (method=vinet; manual "
                           "download, see python -m hypercon.weights status)", strict=True),)

    def __init__(self, weights: str | None = None, weights_dir: str | None = None, crop_size: int = 512,
                 warmup: int = WARMUP, t_stride: int = T_STRIDE, dilate: bool = True, device: str = "cpu") -> None:
        from hypercon.weights import resolve_weights

        if int(crop_size) not in (256, 512):
            raise SettingError(f"method.crop_size must be 512 (save_agg_rec_512.pth) or 256, got {crop_size!r}")
        if int(crop_size) not in WEIGHTS and not weights:
            raise SettingError("method.crop_size=256 needs method.weights=/path/to/the 256 model's checkpoint")
        self.crop_size, self.warmup, self.t_stride, self.dilate = int(crop_size), int(warmup), int(t_stride), bool(dilate)
        self.device = device
        resolved = resolve_weights(WEIGHTS.get(self.crop_size, "vinet"), path=weights, weights_dir=weights_dir)
        self.net = vinet_from_checkpoint(resolved, crop_size=self.crop_size, source=str(resolved.path)).to(device)
        self._weights_record = resolved.record()

    def label(self) -> str:
        return self.label_for(self.crop_size)

    @staticmethod
    def label_for(crop_size: int) -> str:
        return "VINet" if int(crop_size) == 512 else "VINet (256 model)"

    @classmethod
    def label_without_instance(cls, method_cfg: Any) -> str:
        return cls.label_for(method_cfg.get("crop_size", 512))

    def options(self) -> dict[str, Any]:
        return {"crop_size": self.crop_size, "warmup": self.warmup, "t_stride": self.t_stride, "dilate": self.dilate,
                "align_corners": {"warp": True, "upsample": False}}

    def run(self, frames: Tensor, known: Tensor | None = None, reference: Tensor | None = None) -> Tensor:
        check_frames(frames, "frames")
        if known is None:
            raise SettingError("method=vinet is a video inpainting method: run it with task=inpaint")
        check_known(known, frames)
        out = vinet_video(self.net, frames, known, self.warmup, self.t_stride, self.dilate)
        return composite(out, frames, known)
