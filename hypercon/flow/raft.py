"""RAFT (Teed & Deng 2020) as torchvision builds it, from torchvision's or the original authors' weights.

Weights (tier ``paper``; ``flow.release``):

* ``torchvision`` (default): registry entries ``"raft_large"`` (``raft_large_C_T_SKHT_V2-ff5fadd5.pth``) and
  ``"raft_small"`` (``raft_small_C_T_V2-01064c6d.pth``), plain state dicts of
  ``torchvision.models.optical_flow.raft_large`` / ``raft_small``;
* ``things``, ``sintel``, ``kitti``, ``chairs`` (large) and ``things`` (small): princeton-vl/RAFT's own
  ``raft-things.pth``, ``raft-sintel.pth``, ``raft-kitti.pth``, ``raft-chairs.pth``, ``raft-small.pth``
  (``models.zip`` of ``download_models.sh``; no hash published: recorded on first verified use). They are
  ``DataParallel`` state dicts of ``core/raft.py``'s ``RAFT`` (``module.fnet.conv1.weight``,
  ``module.update_block.gru.convz1.weight``, …); :func:`princeton_to_torchvision` renames every key in
  code, strictly (an unknown key, a missing one or a shape that differs is an error naming it).

The two implementations are the same network (checked on random weights in ``tests/test_raft_princeton.py``:
princeton-vl's ``RAFT`` at 2888e15 and torchvision's with the converted keys give equal flows, to float
rounding): same encoders (princeton ``BasicEncoder``/``SmallEncoder`` = torchvision ``FeatureEncoder`` with
``ResidualBlock``/``BottleneckBlock``), 4-level correlation pyramid (radius 4 large, 3 small), the same
motion encoders, ``SepConvGRU`` (large) / ``ConvGRU`` (small), flow head, and the upsampling: convex
upsampling with the 0.25-scaled mask head for large, ``upflow8`` (bilinear ×8, ``align_corners=True``) for
small (torchvision's ``raft_small`` has no mask predictor either). Differences outside the weights: the
original scales its input itself (``2·(x/255) − 1`` of [0,255] images) where torchvision expects [-1,1]
(:func:`raft_flow` does that), and its ``ResidualBlock`` registers the downsample norm twice
(``layerN.0.norm3`` = ``layerN.0.downsample.1``, same tensor), so a checkpoint holds both; the alias must
equal the original and is dropped.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.flow.base import FlowEstimator
from hypercon.resize import unpad

log = logging.getLogger(__name__)

SIZES = ("large", "small")
#: (size, release) → weights registry entry
RELEASES = {("large", "torchvision"): "raft_large", ("small", "torchvision"): "raft_small",
            ("large", "things"): "raft_things", ("large", "sintel"): "raft_sintel",
            ("large", "kitti"): "raft_kitti", ("large", "chairs"): "raft_chairs",
            ("small", "things"): "raft_small_things"}
SIZE_MULTIPLE = 8
# torchvision's correlation pyramid (4 levels) needs feature maps of at least 16 px = 128 input px
MIN_SIDE = 128


def build_raft(size: str) -> nn.Module:
    """An uninitialised-weights torchvision RAFT of ``size`` ``"large"`` or ``"small"``."""
    from torchvision.models.optical_flow import raft_large, raft_small

    if size not in SIZES:
        raise ValueError(f"flow.size: RAFT size must be one of {SIZES}, got {size!r}")
    return (raft_large if size == "large" else raft_small)(weights=None, progress=False)


# princeton-vl/RAFT key → torchvision key (after the ``module.`` prefix is stripped); applied in order
_PRINCETON_RULES = [(re.compile(a), b) for a, b in (
    (r"^fnet\.", "feature_encoder."), (r"^cnet\.", "context_encoder."),
    (r"^(\w+_encoder)\.conv1\.", r"\1.convnormrelu.0."), (r"^(\w+_encoder)\.norm1\.", r"\1.convnormrelu.1."),
    (r"^(\w+_encoder)\.conv2\.", r"\1.conv."),
    (r"^(\w+_encoder\.layer\d\.\d)\.conv(\d)\.", r"\1.convnormrelu\2.0."),
    (r"^(\w+_encoder\.layer\d\.\d)\.norm(\d)\.", r"\1.convnormrelu\2.1."),
    (r"^update_block\.encoder\.convc(\d)\.", r"update_block.motion_encoder.convcorr\1.0."),
    (r"^update_block\.encoder\.convf(\d)\.", r"update_block.motion_encoder.convflow\1.0."),
    (r"^update_block\.encoder\.conv\.", "update_block.motion_encoder.conv.0."),
    (r"^update_block\.gru\.conv([zrq])([12])\.", r"update_block.recurrent_block.convgru\2.conv\1."),
    (r"^update_block\.gru\.conv([zrq])\.", r"update_block.recurrent_block.convgru1.conv\1."),
    (r"^update_block\.mask\.0\.", "mask_predictor.convrelu.0."),
    (r"^update_block\.mask\.2\.", "mask_predictor.conv."),
)]
# the downsample norm registered twice by princeton's blocks: ResidualBlock norm3, BottleneckBlock norm4
_DOWNSAMPLE_ALIAS = re.compile(r"^([fc]net\.layer\d\.\d)\.norm([34])\.(\w+)$")


def checkpoint_format(state: dict[str, Tensor]) -> str:
    """``"princeton"`` (princeton-vl/RAFT keys, ``fnet.`` / ``cnet.``) or ``"torchvision"``."""
    return "princeton" if any(k.removeprefix("module.").startswith(("fnet.", "cnet.")) for k in state) else "torchvision"


def princeton_size(state: dict[str, Tensor]) -> str:
    """``"small"`` or ``"large"`` for a princeton-vl state dict (only the large one has the mask head)."""
    return "large" if any(k.removeprefix("module.").startswith("update_block.mask.") for k in state) else "small"


def princeton_to_torchvision(state: dict[str, Tensor], source: str = "RAFT checkpoint") -> dict[str, Tensor]:
    """Rename a princeton-vl/RAFT state dict (``module.`` prefixes optional) to torchvision's keys.

    Strict: every key must map; the result must have exactly torchvision's keys for the checkpoint's size
    with equal shapes; each downsample-norm alias (``layerN.0.norm3`` large, ``norm4`` small) must equal
    its ``downsample.1`` twin and is dropped. Raises ``ValueError`` naming ``source`` and the keys.
    """
    stripped = {k.removeprefix("module."): v for k, v in state.items()}
    small = princeton_size(state) == "small"
    converted: dict[str, Tensor] = {}
    for key, value in stripped.items():
        alias = _DOWNSAMPLE_ALIAS.match(key)
        if alias and alias.group(2) == ("4" if small else "3"):
            twin = f"{alias.group(1)}.downsample.1.{alias.group(3)}"
            if twin not in stripped or not torch.equal(stripped[twin], value):
                raise ValueError(f"{source}: {key} is not the same tensor as {twin} (a princeton-vl RAFT "
                                 "checkpoint stores the downsample norm under both names)")
            continue
        new = key
        for pattern, replacement in _PRINCETON_RULES:
            new = pattern.sub(replacement, new)
        if new == key and not key.startswith("update_block.flow_head."):
            raise ValueError(f"{source}: key {key!r} is not a princeton-vl/RAFT parameter name")
        converted[new] = value
    expected = build_raft("small" if small else "large").state_dict()
    missing = sorted(set(expected) - set(converted))
    unexpected = sorted(set(converted) - set(expected))
    wrong = [f"{k} {tuple(converted[k].shape)} (needs {tuple(v.shape)})" for k, v in expected.items()
             if k in converted and converted[k].shape != v.shape]
    if missing or unexpected or wrong:
        raise ValueError(f"{source}: princeton-vl RAFT keys do not convert to torchvision's: missing {missing}, "
                         f"unexpected {unexpected}, wrong shapes {wrong}")
    return converted


def load_raft_state_dict(state: dict[str, Tensor], size: str, source: str = "RAFT checkpoint") -> nn.Module:
    """torchvision RAFT of ``size`` with ``state`` loaded strictly; ``state`` is a torchvision state dict
    or a princeton-vl one (converted by :func:`princeton_to_torchvision`); ``module.`` prefixes, as written
    by DataParallel, are stripped. Returns the network in eval mode."""
    if not isinstance(state, dict):
        raise TypeError(f"{source}: expected a state dict, got {type(state).__name__}")
    if checkpoint_format(state) == "princeton":
        if princeton_size(state) != size:
            raise ValueError(f"{source} is a princeton-vl RAFT-{princeton_size(state)} checkpoint but flow.size is "
                             f"{size!r}; set flow.size={princeton_size(state)}")
        state = princeton_to_torchvision(state, source)
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

    ``release`` picks the registry entry (:data:`RELEASES`: torchvision's, or princeton-vl's files); an
    explicit ``weights`` file may be in either format (detected from its keys, recorded in the options).
    Runs on ``device``; the output is float32 on the input's device.
    """

    name = "raft"
    tier = "paper"

    def __init__(
        self,
        size: str = "large",
        num_flow_updates: int = 12,
        release: str = "torchvision",
        weights: str | None = None,
        weights_dir: str | None = None,
        device: str = "cpu",
    ) -> None:
        from hypercon.weights import load_checkpoint, resolve_weights

        if size not in SIZES:
            raise ValueError(f"flow.size: RAFT size must be one of {SIZES}, got {size!r}")
        if (size, release) not in RELEASES:
            releases = sorted(r for s, r in RELEASES if s == size)
            raise ValueError(f"flow.release: RAFT-{size} weights are released as {releases}, got {release!r}")
        if num_flow_updates < 1:
            raise ValueError(f"flow.num_flow_updates must be >= 1, got {num_flow_updates}")
        self.size = size
        self.release = release
        self.num_flow_updates = int(num_flow_updates)
        self.name = f"raft_{size}"
        resolved = resolve_weights(RELEASES[size, release], path=weights, weights_dir=weights_dir)
        self._weights_record = resolved.record()
        self.device = torch.device(device)
        state = load_checkpoint(resolved)
        self.checkpoint_format = checkpoint_format(state) if isinstance(state, dict) else "?"
        self.net = load_raft_state_dict(state, size, source=str(resolved.path)).to(self.device)
        log.info("RAFT-%s weights %s (sha256 %s, verified=%s)", size, resolved.path, resolved.sha256, resolved.verified)

    def options(self) -> dict[str, Any]:
        return {"size": self.size, "num_flow_updates": self.num_flow_updates, "release": self.release,
                "checkpoint_format": self.checkpoint_format}

    @torch.inference_mode()
    def estimate(self, src: Tensor, dst: Tensor) -> Tensor:
        flow = raft_flow(
            self.net, src.to(self.device, torch.float32), dst.to(self.device, torch.float32), self.num_flow_updates
        )
        return flow.float().to(src.device)
