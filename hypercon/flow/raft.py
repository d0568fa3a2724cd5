"""RAFT (Teed & Deng 2020) from torchvision with torchvision's published weights, tier ``paper``.

Registry entries ``"raft_large"`` (``raft_large_C_T_SKHT_V2-ff5fadd5.pth``) and ``"raft_small"``
(``raft_small_C_T_V2-01064c6d.pth``): plain state dicts of ``torchvision.models.optical_flow.raft_large``
/ ``raft_small``, loaded strictly into a network built with ``weights=None`` (no download).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.flow.base import FlowEstimator
from hypercon.resize import unpad

log = logging.getLogger(__name__)

SIZES = ("large", "small")
SIZE_MULTIPLE = 8
# torchvision's correlation pyramid (4 levels) needs feature maps of at least 16 px = 128 input px
MIN_SIDE = 128


def build_raft(size: str) -> nn.Module:
    """An uninitialised-weights torchvision RAFT of ``size`` ``"large"`` or ``"small"``."""
    from torchvision.models.optical_flow import raft_large, raft_small

    if size not in SIZES:
        raise ValueError(f"flow.size: RAFT size must be one of {SIZES}, got {size!r}")
    return (raft_large if size == "large" else raft_small)(weights=None, progress=False)


def load_raft_state_dict(state: dict[str, Tensor], size: str) -> nn.Module:
    """torchvision RAFT of ``size`` with ``state`` loaded strictly (a ``module.`` prefix, as written by
    DataParallel, is stripped); returns the network in eval mode."""
    if not isinstance(state, dict):
        raise TypeError(f"RAFT checkpoint: expected a state dict, got {type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = build_raft(size)
    net.load_state_dict(state, strict=True)
    return net.eval()


def pad_for_raft(x: Tensor) -> tuple[Tensor, tuple[int, int, int, int]]:
    """Replicate-pad ``[B,C,H,W]`` on the right/bottom to multiples of 8 and at least 128 per side.

    Returns the padded tensor and ``(left, right, top, bottom)`` for :func:`hypercon.resize.unpad`.
    """
    height, width = x.shape[-2:]
    target_h = max(MIN_SIDE, -(-height // SIZE_MULTIPLE) * SIZE_MULTIPLE)
    target_w = max(MIN_SIDE, -(-width // SIZE_MULTIPLE) * SIZE_MULTIPLE)
    pads = (0, target_w - width, 0, target_h - height)
    if pads[1] == 0 and pads[3] == 0:
        return x, pads
    return F.pad(x, pads, mode="replicate"), pads


def raft_flow(net: nn.Module, src: Tensor, dst: Tensor, num_flow_updates: int = 12) -> Tensor:
    """RGB ``[B,3,H,W]`` in [0,1] → flow ``[B,2,H,W]`` src → dst (pixels, dx/dy).

    Normalises to [-1,1] (torchvision's ``OpticalFlow`` preset: mean 0.5, std 0.5), pads with
    :func:`pad_for_raft`, keeps the last of the ``num_flow_updates`` predictions and unpads.
    """
    one, pads = pad_for_raft(src * 2.0 - 1.0)
    two, _ = pad_for_raft(dst * 2.0 - 1.0)
    predictions = net(one.contiguous(), two.contiguous(), num_flow_updates=num_flow_updates)
    return unpad(predictions[-1], pads)


class RAFTFlow(FlowEstimator):
    """torchvision RAFT with the published weights; weights are resolved and loaded in ``__init__``.

    Runs on ``device``; the output is float32 on the input's device.
    """

    name = "raft"
    tier = "paper"

    def __init__(
        self,
        size: str = "large",
        num_flow_updates: int = 12,
        weights: str | None = None,
        weights_dir: str | None = None,
        device: str = "cpu",
    ) -> None:
        from hypercon.weights import load_checkpoint, resolve_weights

        if size not in SIZES:
            raise ValueError(f"flow.size: RAFT size must be one of {SIZES}, got {size!r}")
        if num_flow_updates < 1:
            raise ValueError(f"flow.num_flow_updates must be >= 1, got {num_flow_updates}")
        self.size = size
        self.num_flow_updates = int(num_flow_updates)
        self.name = f"raft_{size}"
        resolved = resolve_weights(f"raft_{size}", path=weights, weights_dir=weights_dir)
        self._weights_record = resolved.record()
        self.device = torch.device(device)
        self.net = load_raft_state_dict(load_checkpoint(resolved), size).to(self.device)
        log.info("RAFT-%s weights %s (sha256 %s, verified=%s)", size, resolved.path, resolved.sha256, resolved.verified)

    def options(self) -> dict[str, Any]:
        return {"size": self.size, "num_flow_updates": self.num_flow_updates}

    @torch.inference_mode()
    def estimate(self, src: Tensor, dst: Tensor) -> Tensor:
        flow = raft_flow(
            self.net, src.to(self.device, torch.float32), dst.to(self.device, torch.float32), self.num_flow_updates
        )
        return flow.float().to(src.device)
