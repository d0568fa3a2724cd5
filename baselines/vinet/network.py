"""``VINet``: upstream ``VINet_final`` of Kim et al., "Deep Video Inpainting" (CVPR 2019;
mcahny/Deep-Video-Inpainting ``models/vinet.py`` at 0dabb83), device-agnostic and without compiled ops,
with the options of ``demo_vi.py``: ``search_range=4``, ``prev_warp=True``, ``batch_norm=False``,
``loss_on_raw=False``, ``double_size = (crop_size == 512)``.

Module tree (= checkpoint keys): ``encoder1`` (reference frame), ``encoder2`` (the 4 neighbours and the fed-back
previous output), ``bottleneck``, ``convlstm`` (``Gates``, 128 hidden), ``decoder``, ``flownet`` (coarsest
scale), ``flownet_64``, ``flownet_128``, ``flownet_256``, ``masknet_256``, ``masknet``, ``masknet_64``,
``masknet_128``, ``st_agg``, ``st_agg_64``, ``st_agg_128``. The scale suffixes are pixels of a 256² input;
with ``double_size`` (512² input, ``ec0`` of stride 2) ``flownet`` works at 1/16 and ``_64``/``_128``/``_256``
at 1/8, 1/4, 1/2.

Step, per scale s (coarsest first): encode the 5 streams (neighbours t−2, t−1, t+1, t+2 of the 5-frame window
and ``prev_feed``); flow from the reference to each (at the coarsest scale from the features; below, from the
×2-upsampled ×2-scaled flow, refined by ``flownet_s`` on the warped features and added); warp them (zeros
padding); ``st_agg_s`` (gated 3-D conv, T = 5) fuses them; ``masknet_s(|ref − agg|)`` gives the occlusion
mask ``m``; fused = ``(1 − m)·ref + m·agg``. The coarsest fusion goes with ``ref`` through ``bottleneck`` and
``convlstm``; the decoder takes the LSTM hidden state plus the fused features at the two finer scales. From the
second step on (``prev_state`` given or ``idx != 0``) the output is blended with ``prev_feed``'s frame warped
by the ×4 upsampled previous-stream flow (``Resample2d``, border) under ``masknet_256``'s mask.

Deviations, none changing a batch-of-1 result: the 5 streams run as one batch through ``encoder2`` and the flow
nets; the final blend broadcasts per sample (upstream's only works for batch 1); in the 512 model upstream
refines ``flow6_256`` with ``flownet_256`` and then discards it: it is skipped here (its weights still load).
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from baselines.common.strict_load import load_state_strict
from baselines.vcons.network import ConvLSTM  # the same cell as upstream's models/ConvLSTM.py (key ``Gates``)
from baselines.vinet.flow import LongFlowNetCorr, MaskEstimator, resample2d, upflow, warp_zeros
from baselines.vinet.layers import UPSAMPLE_ALIGN_CORNERS, Aggregator, BottleNeck, Decoder, Encoder

FRAMES = 5  # window t−2..t+2 (demo_vi.py: stride t_stride=3 in the video)
REF = (FRAMES - 1) // 2
State = Optional[tuple[Tensor, Tensor]]


class VINetOutput(NamedTuple):
    """Upstream's return tuple, in its order (``output`` squeezed to 4-D; the rest as upstream).

    * ``output`` ``[B,3,H,W]``: the inpainted frame, nominally [−1, 1] (not clamped, not composited);
    * ``flows`` ``[B,2,5,H/4,W/4]`` (``double_size``; ``H/2`` otherwise): the 1/4-scale flows ``flow*_128``
      from the reference to streams t−2, t−1, t+1, t+2, previous output, in pixels of that scale;
    * ``state``: ConvLSTM ``(hidden, cell)``, each ``[B,128,H/16,W/16]`` (``H/8`` without ``double_size``);
    * ``occlusion`` ``[B,1,6,H/2,W/2]`` (``H`` without ``double_size``): ``m, 1−m`` at the three scales
      (coarse first), bilinearly upsampled (1 = take the aggregated neighbours, 0 = the reference);
    * ``flow_prev``: ``None`` on the first step; else the flow to the previous output that was used, ``[B,2,H,W]``
      (512 model: ``flow6_512``; 256 model: the refined ``flow6_256``).
    """

    output: Tensor
    flows: Tensor
    state: tuple[Tensor, Tensor]
    occlusion: Tensor
    flow_prev: Optional[Tensor]


def _to_batch(x: Tensor) -> Tensor:
    """``[S,B,…]`` streams → ``[S·B,…]``."""
    return x.reshape(-1, *x.shape[2:])


def _fuse(ref: Tensor, warped: Tensor, agg: Aggregator, masknet: MaskEstimator) -> tuple[Tensor, Tensor]:
    """``warped [S·B,C,h,w]`` (S = 5 streams) → ``(fused [B,C,h,w], occlusion mask [B,1,h,w])``."""
    stacked = warped.reshape(FRAMES, ref.shape[0], *ref.shape[1:]).permute(1, 2, 0, 3, 4)
    aggregated = agg(stacked)
    mask = masknet((ref - aggregated).abs())
    return (1 - mask) * ref + mask * aggregated, mask


class VINet(nn.Module):
    """See the module docstring.

    Args:
        crop_size: the (square) input size the decoder's fixed resizes are built for: 512 for
            ``save_agg_rec_512.pth``, 256 for the 256 model; no parameter depends on it.
        double_size: ``ec0`` of stride 2 and a final ×2 resize; default ``crop_size == 512`` (as upstream).
    """

    def __init__(self, crop_size: int = 512, double_size: bool | None = None) -> None:
        super().__init__()
        self.crop_size = int(crop_size)
        self.double_size = self.crop_size == 512 if double_size is None else bool(double_size)
        multiple = 16 if self.double_size else 8
        if self.crop_size <= 0 or self.crop_size % multiple:
            raise ValueError(f"VINet: crop_size must be a positive multiple of {multiple}, got {crop_size}")
        self.encoder1 = Encoder(self.double_size)
        self.encoder2 = Encoder(self.double_size)
        self.bottleneck = BottleNeck(in_ch=256)
        self.convlstm = ConvLSTM(128, 128, 3)
        self.decoder = Decoder(self.crop_size, self.double_size)
        self.flownet = LongFlowNetCorr(128)
        self.flownet_64 = LongFlowNetCorr(96 + 2)
        self.flownet_128 = LongFlowNetCorr(64 + 2)
        self.flownet_256 = LongFlowNetCorr(32 + 2)
        self.masknet_256 = MaskEstimator(32)
        self.masknet = MaskEstimator(128)
        self.masknet_64 = MaskEstimator(96)
        self.masknet_128 = MaskEstimator(64)
        self.st_agg = Aggregator(128, FRAMES)
        self.st_agg_64 = Aggregator(96, FRAMES)
        self.st_agg_128 = Aggregator(64, FRAMES)

    def _check(self, masked_img: Tensor, mask: Tensor, prev_feed: Tensor | None) -> None:
        size = (self.crop_size, self.crop_size)
        if masked_img.ndim != 5 or masked_img.shape[1] != 3 or masked_img.shape[2] != FRAMES \
                or tuple(masked_img.shape[-2:]) != size:
            raise ValueError(f"VINet: masked_img must be [B,3,{FRAMES},{size[0]},{size[1]}] (crop_size "
                             f"{self.crop_size}), got {tuple(masked_img.shape)}")
        b = masked_img.shape[0]
        if tuple(mask.shape) != (b, 1, FRAMES, *size):
            raise ValueError(f"VINet: mask must be [{b},1,{FRAMES},{size[0]},{size[1]}], got {tuple(mask.shape)}")
        if prev_feed is None or tuple(prev_feed.shape) != (b, 5, *size):
            got = None if prev_feed is None else tuple(prev_feed.shape)
            raise ValueError(f"VINet: prev_feed must be [{b},5,{size[0]},{size[1]}] (frame, ones, mask), got {got}")

    def forward(self, masked_img: Tensor, mask: Tensor, prev_state: State = None, prev_feed: Tensor | None = None,
                idx: int = 0) -> VINetOutput:
        """One step (upstream's argument names and order).

        Args:
            masked_img: ``[B,3,5,H,W]`` frames t−2..t+2 (demo: t−6, t−3, t, t+3, t+6), BGR in [−1, 1], holes
                zeroed (``x·(1 − mask)``); ``H = W = crop_size``.
            mask: ``[B,1,5,H,W]``, 1 = hole (upstream polarity). Each stream's encoder input is
                ``cat(masked frame, ones, mask)``.
            prev_state: ConvLSTM ``(hidden, cell)`` or ``None`` (zeros; the demo resets it every step).
            prev_feed: ``[B,5,H,W]`` = ``cat(previous output or, on the first step, the masked centre frame,
                ones, mask fed back)``; required (upstream's ``None`` default crashes).
            idx: the step; the previous-output blend runs when ``prev_state is not None or idx != 0``.

        Returns:
            :class:`VINetOutput` ``(output, flows, state, occlusion, flow_prev)``, upstream's 5-tuple.
        """
        self._check(masked_img, mask, prev_feed)
        enc_input = torch.cat([masked_img, torch.ones_like(mask), mask], dim=1)
        f1, f1_64, f1_128, f1_256 = self.encoder1(enc_input[:, :, REF])
        streams = [REF - 2, REF - 1, REF + 1, REF + 2]
        others = torch.stack([enc_input[:, :, i] for i in streams] + [prev_feed], dim=0)  # [5,B,5,H,W]
        f_oth, f_oth_64, f_oth_128, f_oth_256 = self.encoder2(_to_batch(others))

        def repeat(ref: Tensor) -> Tensor:
            return ref.repeat(FRAMES, 1, 1, 1)

        flow = self.flownet(repeat(f1), f_oth)
        f_syn, occ = _fuse(f1, warp_zeros(f_oth, flow), self.st_agg, self.masknet)
        state = self.convlstm(self.bottleneck(torch.cat([f1, f_syn], 1)), prev_state)

        fused, occlusions = [], [occ]
        finer = ((f1_64, f_oth_64, self.flownet_64, self.st_agg_64, self.masknet_64),
                 (f1_128, f_oth_128, self.flownet_128, self.st_agg_128, self.masknet_128))
        for ref, feats, flownet, agg, masknet in finer:
            up = upflow(flow, 2)
            flow = flownet(repeat(ref), warp_zeros(feats, up), up) + up
            syn, occ = _fuse(ref, warp_zeros(feats, flow), agg, masknet)
            fused.append(syn)
            occlusions.append(occ)
        output = self.decoder(state[0].unsqueeze(2), fused[0].unsqueeze(2), fused[1].unsqueeze(2)).squeeze(2)

        b = masked_img.shape[0]
        flow_prev = None
        if prev_state is not None or idx != 0:
            output, flow_prev = self._blend_previous(output, prev_feed, f1_256, f_oth_256[-b:], flow[-b:])
        occ_up = [F.interpolate(m, scale_factor=s, mode="bilinear", align_corners=UPSAMPLE_ALIGN_CORNERS)
                  for m, s in zip(occlusions, (8, 4, 2))]
        occlusion = torch.stack([x for m in occ_up for x in (m, 1 - m)], dim=2)
        flows = flow.reshape(FRAMES, b, *flow.shape[1:]).permute(1, 2, 0, 3, 4)
        return VINetOutput(output, flows, state, occlusion, flow_prev)

    def _blend_previous(self, output: Tensor, prev_feed: Tensor, f1_256: Tensor, f6_256: Tensor,
                        flow6_128: Tensor) -> tuple[Tensor, Tensor]:
        """``(1 − m)·output + m·Resample2d(prev_feed[:, :3], flow)``, m from ``masknet_256``."""
        flow6_256 = upflow(flow6_128, 2)
        f6_256_warp = resample2d(f6_256, flow6_256)
        occ_256 = self.masknet_256((f1_256 - f6_256_warp).abs())
        if self.double_size:
            flow_used = upflow(flow6_128, 4)
            occ = F.interpolate(occ_256, scale_factor=2, mode="nearest")
        else:
            flow_used = self.flownet_256(f1_256, f6_256_warp, flow6_256) + flow6_256
            occ = occ_256
        return (1 - occ) * output + occ * resample2d(prev_feed[:, :3], flow_used), flow_used


# ------------------------------------------------------------------------------------------- loading

PREFIX = "module."  # upstream wraps the model in nn.DataParallel before saving / matching keys


def vinet_from_checkpoint(checkpoint: Any, crop_size: int = 512, source: str = "checkpoint",
                          double_size: bool | None = None) -> VINet:
    """A :class:`VINet` in eval mode from upstream's ``save_agg_rec_512.pth`` (or the 256 model).

    Args:
        checkpoint: a :class:`hypercon.weights.ResolvedWeights` (read with the registry's ``load_checkpoint``,
            ``weights_only=True``; ``source`` becomes its path), or the loaded ``{'state_dict': …}`` (keys with
            the ``module.`` prefix, stripped), or a bare state dict.
        crop_size, double_size: as :class:`VINet` (512 for ``save_agg_rec_512.pth``).

    Upstream copies the keys it finds and prints "Loaded: x/y params"; this loads with ``strict=True``.

    Raises:
        ValueError: one line naming ``source`` and the first missing / unexpected keys, or a shape mismatch.
    """
    from hypercon.weights import ResolvedWeights, load_checkpoint

    if isinstance(checkpoint, ResolvedWeights):
        source = str(checkpoint.path)
        checkpoint = load_checkpoint(checkpoint)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{source}: expected {{'state_dict': state_dict}} of tensors (VINet's "
                         f"save_agg_rec_512.pth), got {type(state).__name__}")
    state = {k.removeprefix(PREFIX): v for k, v in state.items()}
    net = VINet(crop_size, double_size)
    load_state_strict(net, state, source, f"VINet_final ({len(state)} tensors in the file, "
                                          f"{len(net.state_dict())} expected)")
    logging.getLogger(__name__).info("%s: loaded all %d VINet_final tensors", source, len(state))
    return net.eval()
