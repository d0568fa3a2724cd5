"""Super SloMo (Jiang et al., CVPR 2018) as HyperCon's ``wrpgrd`` (paper tier), and its one loader.

Architecture and checkpoint as in avinashpaliwal/Super-SloMo (``SuperSloMo.ckpt``, Adobe240fps): two
UNets, ``flowComp = UNet(6, 4)`` on ``cat(I0, I1)`` → ``(F_01, F_10)`` and ``ArbTimeFlowIntrp =
UNet(20, 5)`` on ``cat(I0, I1, F_01, F_10, F_t1, F_t0, g(I1,F_t1), g(I0,F_t0))`` → flow residuals and
the visibility logit. Module names equal the upstream ones, so the checkpoint's ``state_dictFC`` /
``state_dictAT`` load with ``strict=True`` and no renaming.

Inference, per pair and time t (Super SloMo eq. 1, 4):

* inputs: RGB in [0,1] minus the mean (0.429, 0.431, 0.397) on every device (upstream skips it on CPU
  by accident, issue #7), resized to H, W floored to multiples of 32;
* ``F_t0 = −t(1−t)F_01 + t²F_10``, ``F_t1 = (1−t)²F_01 − t(1−t)F_10``; refined ``F_t0 + Δ0``,
  ``F_t1 + Δ1``; visibility ``V_t0 = σ(logit)``, ``V_t1 = 1 − V_t0``;
* warping parameters: the refined flows and ``w = t·V_t1 / ((1−t)V_t0 + t·V_t1)``, resized back to the
  input size (flows with magnitude rescaling, :func:`hypercon.resize.resize_flow`).

Outside the frame (``outside``): upstream warps the mean-subtracted frames with ``grid_sample``'s zero
padding, so a sample that leaves the frame takes the mean colour (0.429, 0.431, 0.397); ``"mean"``
(default) reproduces it when the frames are blended (:attr:`Interpolator.outside_colour`), ``"border"``
repeats the border pixel instead (as ``flow_linear``). The network's own inputs ``g(I0,F_t0)``,
``g(I1,F_t1)`` are always warped as upstream does.

Warp convention: upstream's ``backWarp`` normalises ``x`` by ``2(x/W − 0.5)`` with
``align_corners=True``, i.e. it samples at ``(x + f)·(W−1)/W`` (up to one pixel towards the origin at the
far border). The network was trained with it; ``upstream_warp=True`` (default) reproduces it exactly, as
an equivalent flow in our convention (``f·(W−1)/W − x/W``), for the network's inputs and for the returned
grids. ``upstream_warp=False`` uses the exact ``out(x) = src(x + f(x))``.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import pickle
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.interp.base import Interpolator, WarpingParams, intermediate_flows, visibility_weight
from hypercon.resize import resize_flow
from hypercon.warp import backward_warp, coords_grid

log = logging.getLogger(__name__)

MEAN_RGB = (0.429, 0.431, 0.397)
SIZE_MULTIPLE = 32
OUTSIDE = {"mean": MEAN_RGB, "border": None}  # interp.outside → the colour samples outside the frame take


def _lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, negative_slope=0.1)


class _Down(nn.Module):
    """Average-pool ×½, then two k×k convolutions with leaky ReLU (0.1)."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, k, padding=k // 2)
        self.conv2 = nn.Conv2d(cout, cout, k, padding=k // 2)

    def forward(self, x: Tensor) -> Tensor:
        x = F.avg_pool2d(x, 2)
        return _lrelu(self.conv2(_lrelu(self.conv1(x))))


class _Up(nn.Module):
    """Bilinear ×2, conv 3×3, concatenate the skip, conv 3×3; leaky ReLU after each.

    Upstream's ``up.forward`` calls ``F.interpolate(x, scale_factor=2, mode='bilinear')`` without
    ``align_corners``: ``False`` since torch 0.4.0, so also in the 0.4.1 the weights were trained with."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(2 * cout, cout, 3, padding=1)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = _lrelu(self.conv1(x))
        return _lrelu(self.conv2(torch.cat((x, skip), 1)))


class UNet(nn.Module):
    """Super SloMo's UNet: ``[B,cin,H,W] → [B,cout,H,W]``, H and W multiples of 32; the output also
    passes through leaky ReLU (as upstream, which the weights were trained with)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 32, 7, padding=3)
        self.conv2 = nn.Conv2d(32, 32, 7, padding=3)
        self.down1, self.down2, self.down3 = _Down(32, 64, 5), _Down(64, 128, 3), _Down(128, 256, 3)
        self.down4, self.down5 = _Down(256, 512, 3), _Down(512, 512, 3)
        self.up1, self.up2, self.up3 = _Up(512, 512), _Up(512, 256), _Up(256, 128)
        self.up4, self.up5 = _Up(128, 64), _Up(64, 32)
        self.conv3 = nn.Conv2d(32, cout, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        s1 = _lrelu(self.conv2(_lrelu(self.conv1(x))))
        s2 = self.down1(s1)
        s3 = self.down2(s2)
        s4 = self.down3(s3)
        s5 = self.down4(s4)
        x = self.down5(s5)
        for up, skip in ((self.up1, s5), (self.up2, s4), (self.up3, s3), (self.up4, s2), (self.up5, s1)):
            x = up(x, skip)
        return _lrelu(self.conv3(x))


def superslomo_from_checkpoint(checkpoint: Any, source: str = "checkpoint") -> tuple[UNet, UNet]:
    """``(flow_comp UNet(6,4), arb_time UNet(20,5))`` in eval mode from an upstream checkpoint dict
    (``state_dictFC``, ``state_dictAT``, + training metadata, ignored); ``strict=True``."""
    if not isinstance(checkpoint, dict) or not {"state_dictFC", "state_dictAT"} <= checkpoint.keys():
        keys = sorted(checkpoint.keys()) if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ValueError(f"{source}: not a Super SloMo checkpoint (need 'state_dictFC' and 'state_dictAT'), got {keys}")
    nets = []
    for key, net in (("state_dictFC", UNet(6, 4)), ("state_dictAT", UNet(20, 5))):
        try:
            net.load_state_dict(checkpoint[key], strict=True)
        except RuntimeError as exc:
            raise ValueError(f"{source}: '{key}' does not match the Super SloMo UNet: {exc}") from exc
        nets.append(net.eval().requires_grad_(False))
    return nets[0], nets[1]


def load_superslomo(path: str | Path) -> tuple[UNet, UNet]:
    """Load ``SuperSloMo.ckpt`` from ``path`` (no registry, no hash check) → ``(flow_comp, arb_time)``.

    The file is always read with ``torch.load(weights_only=True)``, admitting only ``datetime.datetime``
    (the checkpoint's ``timestamp``) besides tensors and plain containers: nothing in it can run code.
    Raises ``WeightsError`` (one line naming the file) for anything else, ``FileNotFoundError`` if missing.
    """
    from hypercon.weights import WeightsError
    from hypercon.weights.registry import refusal_reason

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Super SloMo checkpoint not found: {path}")
    try:
        with torch.serialization.safe_globals([datetime.datetime]):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise WeightsError(f"{path}: refused by the safe loader (weights_only=True admits tensors, containers "
                           f"and datetime only): {refusal_reason(exc)}; use the original SuperSloMo.ckpt") from exc
    return superslomo_from_checkpoint(checkpoint, source=str(path))


def check_outside(outside: str) -> None:
    if outside not in OUTSIDE:
        raise ValueError(f"interp.outside must be one of {sorted(OUTSIDE)} (what samples outside the frame "
                         f"take), got {outside!r}")


class SuperSloMo(Interpolator):
    """Super SloMo warping parameters (paper tier; see the module docstring).

    Args:
        weights: explicit path of ``SuperSloMo.ckpt`` (else looked up by the weights registry, name
            ``"superslomo"``, in ``weights_dir`` / ``$HYPERCON_WEIGHTS`` / the torch hub cache). Verified or
            not, it is read with ``weights_only=True`` admitting ``datetime`` only (the registry's
            ``pickle_format: superslomo``); an unverified file is used with a warning.
        weights_dir: folder holding the checkpoint. device: where the UNets run.
        batch_size: frame pairs per call that callers should group. upstream_warp, outside: see the
            module docstring (``outside`` ``"mean"`` = upstream, or ``"border"``).
    """

    name = "superslomo"
    tier = "paper"

    def __init__(self, weights: str | None = None, weights_dir: str | None = None, device: str = "cpu",
                 batch_size: int = 1, upstream_warp: bool = True, outside: str = "mean") -> None:
        from hypercon.weights import load_pretrained

        check_outside(outside)
        nets, self._weights_record = load_pretrained("superslomo", superslomo_from_checkpoint, weights=weights,
                                                     weights_dir=weights_dir, owner="interp=superslomo")
        self._setup(*nets, device, batch_size, upstream_warp, outside)

    @classmethod
    def from_file(cls, path: str | Path, device: str = "cpu", batch_size: int = 1,
                  upstream_warp: bool = True, outside: str = "mean") -> "SuperSloMo":
        """Build from a checkpoint file without the registry or hash check (tests, private checkpoints);
        read as :func:`load_superslomo` reads it."""
        obj = cls.from_modules(*load_superslomo(path), device, batch_size, upstream_warp, outside)
        obj._weights_record = {"file": str(path), "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()}
        return obj

    @classmethod
    def from_modules(cls, flow_comp: UNet, arb_time: UNet, device: str = "cpu", batch_size: int = 1,
                     upstream_warp: bool = True, outside: str = "mean") -> "SuperSloMo":
        """Wrap two given UNets (no weights record: e.g. constructed weights in tests, timing runs)."""
        obj = cls.__new__(cls)
        obj._setup(flow_comp.eval().requires_grad_(False), arb_time.eval().requires_grad_(False), device,
                   batch_size, upstream_warp, outside)
        return obj

    def _setup(self, flow_comp: UNet, arb_time: UNet, device: str, batch_size: int, upstream_warp: bool,
               outside: str) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"interp.batch_size must be ≥ 1, got {batch_size}")
        check_outside(outside)
        self.outside = outside
        self.outside_colour = OUTSIDE[outside]
        self.device = str(device)
        self.flow_comp = flow_comp.to(self.device)
        self.arb_time = arb_time.to(self.device)
        self.batch_size = int(batch_size)
        self.upstream_warp = bool(upstream_warp)

    def options(self) -> dict:
        return {"upstream_warp": self.upstream_warp, "outside": self.outside, "mean_rgb": list(MEAN_RGB),
                "size_multiple": SIZE_MULTIPLE}

    def _as_grid_flow(self, flow: Tensor) -> Tensor:
        """A network flow → the flow that samples where upstream's ``backWarp`` does (our convention)."""
        if not self.upstream_warp:
            return flow
        b, _, h, w = flow.shape
        coords = coords_grid(b, h, w, device=flow.device, dtype=flow.dtype)
        scale = torch.tensor([(w - 1) / w, (h - 1) / h], device=flow.device, dtype=flow.dtype).view(1, 2, 1, 1)
        size = torch.tensor([w, h], device=flow.device, dtype=flow.dtype).view(1, 2, 1, 1)
        return flow * scale - coords / size

    def _warp(self, image: Tensor, flow: Tensor) -> Tensor:
        return backward_warp(image, self._as_grid_flow(flow), padding="zeros")[0]

    @torch.no_grad()
    def warping_params(self, frame_a: Tensor, frame_b: Tensor, times: Sequence[float]) -> list[WarpingParams]:
        out_device = frame_a.device
        h, w = frame_a.shape[-2:]
        hs, ws = (h // SIZE_MULTIPLE) * SIZE_MULTIPLE, (w // SIZE_MULTIPLE) * SIZE_MULTIPLE
        if hs == 0 or ws == 0:
            raise ValueError(f"interp=superslomo: frames must be at least 32×32, got {w}×{h}")
        mean = torch.tensor(MEAN_RGB, device=self.device).view(1, 3, 1, 1)

        def prep(x: Tensor) -> Tensor:
            x = x.to(self.device, torch.float32)
            if (hs, ws) != (h, w):
                x = F.interpolate(x, size=(hs, ws), mode="bilinear", align_corners=False, antialias=True)
            return x - mean

        i0, i1 = prep(frame_a), prep(frame_b)
        flows = self.flow_comp(torch.cat((i0, i1), 1))
        f01, f10 = flows[:, :2], flows[:, 2:]
        params = []
        for t in times:
            ft0, ft1 = intermediate_flows(f01, f10, t)
            g0, g1 = self._warp(i0, ft0), self._warp(i1, ft1)
            out = self.arb_time(torch.cat((i0, i1, f01, f10, ft1, ft0, g1, g0), 1))
            ft0_f, ft1_f = out[:, 0:2] + ft0, out[:, 2:4] + ft1
            vis_0 = torch.sigmoid(out[:, 4:5])
            weight = visibility_weight(t, vis_0, 1.0 - vis_0)
            grid_a = resize_flow(self._as_grid_flow(ft0_f), (h, w))
            grid_b = resize_flow(self._as_grid_flow(ft1_f), (h, w))
            if (hs, ws) != (h, w):
                weight = F.interpolate(weight, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)
            params.append(WarpingParams(grid_a.to(out_device), grid_b.to(out_device), weight.to(out_device)))
        return params
