"""Contextual Attention inpainting (Yu et al., CVPR 2018, "DeepFill v1"): the two-stage generator of the
PyTorch port daa233/generative-inpainting-pytorch and the one loader for its two checkpoint formats.

Generator (``cnum = 32``, module names as the port's ``Generator``, so keys read
``coarse_generator.conv1.conv.weight``): each stage takes ``cat(x, ones, hole)`` (5 channels, x in [-1,1]
with the hole zeroed, hole 1 = missing), downsamples twice (3×3 stride-2 convs, padding 1), runs dilated
3×3 convs (rates 2, 4, 8, 16), upsamples twice (nearest ×2 + conv) and ends with a 3-channel conv without
activation, clamped to [-1,1]. The fine stage sees the coarse result pasted into the hole and adds a
branch (``pmconv*``) through :func:`contextual_attention`; ``allconv*`` merge both branches. All other
convs are followed by ELU (``pmconv6``: ReLU). The port's attention-offset visualisation is not computed.

Checkpoints (:func:`generator_state`): (a) ``gen_*.pt`` of the port, a plain ``netG.state_dict()``;
(b) ``torch_model.p``, the TF (JiahuiYu) ImageNet weights converted by the port's author, keyed for its
``Trainer`` (``netG.…``, discriminators ``localD.…`` / ``globalD.…`` dropped). The port loads (b) with
``strict=False``; here every generator key must be present with the right shape, and extra keys are
reported.

Adapter (:func:`cxtattn_inpaint`): ``known`` 1 = known → CA hole 1 = missing; x·2−1, zeroed in the hole;
reflect-padded at the bottom/right to a multiple of 8 and cropped back; output ``(x+1)/2`` clamped to
[0,1] (the port's ``save_image(normalize=True)`` min-max rescales instead).

Channel order (``channel_order="auto"``, :data:`AUTO_CHANNEL_ORDER`): **BGR for the TF-converted
weights** (format b), **RGB for the port's own** (format a). Evidence, from the code (no weights are
needed to read it):

* JiahuiYu/generative_inpainting ``v1.0.0`` (06cd62c, the DeepFill v1 code of the released Places2 /
  CelebA / CelebA-HQ / ImageNet models) ``train.py`` feeds ``ng.data.DataFromFNames``; neuralgym's
  ``DataFromFNames.read_img`` is ``cv2.imread(filename)`` with no colour conversion (unchanged from the
  data module's first commit 40f3229, 2017-11, to 88292ad), so the models were **trained on BGR**;
* the training summaries (``inpaint_model.py`` → neuralgym ``images_summary(..., color_format='BGR')``,
  the default) reverse the channels for display: the authors treat the batch as BGR;
* ``test.py`` reads image and mask with ``cv2.imread`` (BGR) and feeds them unchanged to
  ``build_server_graph``; the output is ``tf.reverse``-d to RGB and reversed again by
  ``cv2.imwrite(result[0][:, :, ::-1])``: BGR in, BGR out;
* daa233's ``torch_model.p`` (PR #2, zphang, 2019-05) ships without its conversion script; a TF → PyTorch
  conversion transposes kernels (HWIO → OIHW) and nothing in the repository permutes ``conv1``'s input
  or ``conv17``/``allconv17``'s output channels, so the converted weights keep expecting BGR.
  ``test_tf_model.py`` reads with ``imageio`` (RGB), the code path of the port's own RGB-trained models
  (``test_single.py`` reads PIL RGB): it does not show that the converted weights want RGB, and the
  author's note on the converted model's poorer results (issue #5) is consistent with a swap.

Not verified on the real file (no weights here): with ``torch_model.p`` one can check by comparing
``channel_order="bgr"`` and ``"rgb"`` on a natural image; ``rgb`` / ``bgr`` override ``auto``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.models.base import ImageModel
from hypercon.models.cxtattn_layers import GenConv, contextual_attention
from hypercon.resize import pad_to_multiple, unpad

log = logging.getLogger(__name__)

SIZE_MULTIPLE = 8
VARIANTS = {"tf": "cxtattn", "pt": "cxtattn_pt"}  # variant → weights registry name
DISCRIMINATOR_PREFIXES = ("localD.", "globalD.")
#: checkpoint format → the channel order ``channel_order="auto"`` feeds (evidence: module docstring)
AUTO_CHANNEL_ORDER = {"trainer": "bgr", "generator": "rgb"}


def _encoder(prefix: str, cin: int, widths: tuple[int, ...], last: str = "elu") -> dict[str, GenConv]:
    """``<prefix>1`` 5×5 (cin → w0), ``2_downsample`` 3×3/2, ``3``, ``4_downsample`` 3×3/2, ``5``, ``6``
    (3×3, widths ``w1`` … ``w5``); all ELU except ``<prefix>6`` (``last``)."""
    w = (cin, *widths)
    return {
        f"{prefix}1": GenConv(w[0], w[1], 5, 1, 2),
        f"{prefix}2_downsample": GenConv(w[1], w[2], 3, 2, 1),
        f"{prefix}3": GenConv(w[2], w[3], 3, 1, 1),
        f"{prefix}4_downsample": GenConv(w[3], w[4], 3, 2, 1),
        f"{prefix}5": GenConv(w[4], w[5], 3, 1, 1),
        f"{prefix}6": GenConv(w[5], w[6], 3, 1, 1, activation=last),
    }


def _atrous(channels: int) -> dict[str, GenConv]:
    """``conv7_atrous`` … ``conv10_atrous``: 3×3 convs dilated 2, 4, 8, 16 (padding = dilation)."""
    return {f"conv{7 + i}_atrous": GenConv(channels, channels, 3, 1, r, dilation=r)
            for i, r in enumerate((2, 4, 8, 16))}


def _decoder(prefix: str, cin: int, cnum: int, cout: int) -> dict[str, GenConv]:
    """``<prefix>11`` … ``17``: two convs, ×2, two convs, ×2, three convs (the last without activation)."""
    widths = (cin, 4 * cnum, 4 * cnum, 2 * cnum, 2 * cnum, cnum, cnum // 2)
    layers = {f"{prefix}{11 + i}": GenConv(widths[i], widths[i + 1], 3, 1, 1) for i in range(6)}
    layers[f"{prefix}17"] = GenConv(cnum // 2, cout, 3, 1, 1, activation="none")
    return layers


def _run(layers: nn.Module, names: list[str], x: Tensor) -> Tensor:
    for name in names:
        x = getattr(layers, name)(x)
    return x


def _decode(layers: nn.Module, prefix: str, x: Tensor) -> Tensor:
    """Run ``<prefix>11`` … ``17`` with the two nearest ×2 upsamplings; clamp to [-1,1]."""
    up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
    x = _run(layers, [f"{prefix}11", f"{prefix}12"], x)
    x = _run(layers, [f"{prefix}13", f"{prefix}14"], up(x))
    x = _run(layers, [f"{prefix}15", f"{prefix}16", f"{prefix}17"], up(x))
    return x.clamp(-1.0, 1.0)


ENCODER = ["conv1", "conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6",
           "conv7_atrous", "conv8_atrous", "conv9_atrous", "conv10_atrous"]
ATTENTION_IN = ["pmconv1", "pmconv2_downsample", "pmconv3", "pmconv4_downsample", "pmconv5", "pmconv6"]


class CoarseGenerator(nn.Module):
    """Stage 1: ``(x [B,3,H,W] in [-1,1], hole [B,1,H,W]) -> [B,3,H,W]`` in [-1,1]; H, W multiples of 4."""

    def __init__(self, cnum: int = 32, channels: int = 3) -> None:
        super().__init__()
        c = cnum
        layers = {**_encoder("conv", channels + 2, (c, 2 * c, 2 * c, 4 * c, 4 * c, 4 * c)),
                  **_atrous(4 * c), **_decoder("conv", 4 * c, c, channels)}
        for name, layer in layers.items():
            self.add_module(name, layer)

    def forward(self, x: Tensor, hole: Tensor) -> Tensor:
        ones = torch.ones_like(hole)  # marks the image extent for the zero-padded convs
        return _decode(self, "conv", _run(self, ENCODER, torch.cat([x, ones, hole], dim=1)))


class FineGenerator(nn.Module):
    """Stage 2: ``(x, coarse, hole) -> [B,3,H,W]`` in [-1,1]; H, W multiples of 8 (attention at 1/8)."""

    def __init__(self, cnum: int = 32, channels: int = 3) -> None:
        super().__init__()
        c = cnum
        layers = {**_encoder("conv", channels + 2, (c, c, 2 * c, 2 * c, 4 * c, 4 * c)), **_atrous(4 * c),
                  **_encoder("pmconv", channels + 2, (c, c, 2 * c, 4 * c, 4 * c, 4 * c), last="relu"),
                  "pmconv9": GenConv(4 * c, 4 * c, 3, 1, 1), "pmconv10": GenConv(4 * c, 4 * c, 3, 1, 1),
                  **_decoder("allconv", 8 * c, c, channels)}
        for name, layer in layers.items():
            self.add_module(name, layer)

    def forward(self, x: Tensor, coarse: Tensor, hole: Tensor) -> Tensor:
        pasted = coarse * hole + x * (1.0 - hole)
        inp = torch.cat([pasted, torch.ones_like(hole), hole], dim=1)
        hallucinated = _run(self, ENCODER, inp)
        feat = _run(self, ATTENTION_IN, inp)
        feat = _run(self, ["pmconv9", "pmconv10"], contextual_attention(feat, feat, hole))
        return _decode(self, "allconv", torch.cat([hallucinated, feat], dim=1))


class CxtAttnGenerator(nn.Module):
    """``forward(x [B,3,H,W] in [-1,1] with holes zeroed, hole [B,1,H,W] 1 = missing) -> (stage1, stage2)``,
    both ``[B,3,H,W]`` in [-1,1], uncomposited; H, W multiples of 8."""

    def __init__(self, cnum: int = 32) -> None:
        super().__init__()
        self.coarse_generator = CoarseGenerator(cnum)
        self.fine_generator = FineGenerator(cnum)

    def forward(self, x: Tensor, hole: Tensor) -> tuple[Tensor, Tensor]:
        stage1 = self.coarse_generator(x, hole)
        return stage1, self.fine_generator(x, stage1, hole)


@dataclass
class CheckpointReport:
    """What :func:`generator_state` did: ``format`` ``"trainer"`` (TF-converted, ``netG.`` keys) or
    ``"generator"`` (plain ``netG.state_dict()``); discriminator keys dropped; other keys not used."""

    format: str
    dropped: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def generator_state(checkpoint: Mapping[str, Tensor],
                    expected: Mapping[str, Tensor]) -> tuple[dict[str, Tensor], CheckpointReport]:
    """Map a checkpoint of either format onto the generator's keys ``expected`` (its ``state_dict()``).

    Raises ``WeightsError`` naming every missing generator key and every shape mismatch.
    """
    from hypercon.weights import WeightsError

    if not isinstance(checkpoint, Mapping):
        raise WeightsError(f"cxtattn checkpoint: expected a dict of tensors, got {type(checkpoint).__name__}")
    trainer = any(k.startswith("netG.") for k in checkpoint)
    report = CheckpointReport("trainer" if trainer else "generator")
    state: dict[str, Tensor] = {}
    for key, value in checkpoint.items():
        name: str | None = key.removeprefix("module.")
        if trainer and name.startswith(DISCRIMINATOR_PREFIXES):
            report.dropped.append(key)
            continue
        if trainer:
            name = name.removeprefix("netG.") if name.startswith("netG.") else None
        if name is not None and name in expected:
            state[name] = value
        else:
            report.unexpected.append(key)
    missing = [k for k in expected if k not in state]
    wrong = [f"{k} {tuple(state[k].shape)} (needs {tuple(v.shape)})" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    prefix = "netG." if trainer else ""
    if missing or wrong:
        raise WeightsError(f"cxtattn checkpoint ({report.format} format): "
                           + (f"missing generator keys {[prefix + k for k in missing]}" if missing else "")
                           + ("; " if missing and wrong else "") + (f"wrong shapes {wrong}" if wrong else ""))
    return state, report


def load_cxtattn(checkpoint: Mapping[str, Tensor]) -> tuple[CxtAttnGenerator, CheckpointReport]:
    """The one loader: a checkpoint dict (either format) → (:class:`CxtAttnGenerator` in eval mode, report).

    Loads ``strict=True`` after :func:`generator_state`; unexpected non-discriminator keys are logged.
    """
    net = CxtAttnGenerator()
    state, report = generator_state(checkpoint, net.state_dict())
    if report.unexpected:
        log.warning("cxtattn checkpoint: %d key(s) not used by the generator: %s", len(report.unexpected),
                    ", ".join(report.unexpected[:20]) + (" …" if len(report.unexpected) > 20 else ""))
    net.load_state_dict(state, strict=True)
    return net.eval(), report


def cxtattn_inpaint(net: CxtAttnGenerator, frames: Tensor, known: Tensor, channel_order: str = "rgb") -> Tensor:
    """Inpaint ``frames [B,3,H,W]`` RGB [0,1] where ``known [B,1,H,W] < 0.5`` → ``[B,3,H,W]`` RGB [0,1],
    any H, W (stage-2 output, not composited: known pixels are the network's reconstruction).

    ``channel_order="bgr"`` flips channels into and out of the network.
    """
    if channel_order not in ("rgb", "bgr"):
        raise ValueError(f"cxtattn: channel_order must be rgb | bgr, got {channel_order!r}")
    hole = (known < 0.5).to(frames.dtype)
    h, w = frames.shape[-2:]
    mode = "reflect" if min(h, w) > SIZE_MULTIPLE else "replicate"
    image, pads = pad_to_multiple(frames, SIZE_MULTIPLE, mode=mode)
    hole, _ = pad_to_multiple(hole, SIZE_MULTIPLE, mode=mode)
    if channel_order == "bgr":
        image = image.flip(1)
    x = (image * 2.0 - 1.0) * (1.0 - hole)
    _, out = net(x, hole)
    if channel_order == "bgr":
        out = out.flip(1)
    return unpad((out + 1.0) / 2.0, pads).clamp(0.0, 1.0)


class ContextualAttentionInpaint(ImageModel):
    """``model=cxtattn``: frame-wise Contextual Attention inpainting (tier paper; the paper's Cxtattn
    baseline and g used its own retrained weights, which are not public). ``variant`` ``tf`` (registry
    ``cxtattn``, converted TF ImageNet weights) or ``pt`` (``cxtattn_pt``, the port's own training);
    ``channel_order`` ``auto`` | ``rgb`` | ``bgr`` (module docstring). Known pixels are composited back."""

    name = "cxtattn"
    label = "Cxtattn"
    tier = "paper"
    needs_mask = True

    def __init__(self, weights: str | None = None, weights_dir: str | None = None, variant: str = "tf",
                 channel_order: str = "auto", device: str = "cpu", batch_size: int = 4) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"model=cxtattn: variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        if channel_order not in ("auto", "rgb", "bgr"):
            raise ValueError(f"model=cxtattn: channel_order must be auto | rgb | bgr, got {channel_order!r}")
        from hypercon.weights import WeightsError, load_checkpoint, resolve_weights

        self.variant, self.device, self.batch_size = variant, device, batch_size
        resolved = resolve_weights(VARIANTS[variant], path=weights, weights_dir=weights_dir)
        checkpoint = load_checkpoint(resolved)
        try:
            net, self.load_report = load_cxtattn(checkpoint)
        except WeightsError as exc:
            raise WeightsError(f"model=cxtattn: {resolved.path}: {exc}") from exc
        self.net = net.to(device)
        self.channel_order_option = channel_order
        if channel_order == "auto":
            channel_order = AUTO_CHANNEL_ORDER[self.load_report.format]
        self.channel_order = channel_order
        self._weights_record = resolved.record()
        log.info("cxtattn: %s (%s format, %d discriminator keys dropped), channel order %s", resolved.path,
                 self.load_report.format, len(self.load_report.dropped), channel_order)

    def options(self) -> dict[str, object]:
        return {"variant": self.variant, "channel_order": self.channel_order,
                "channel_order_option": self.channel_order_option, "checkpoint_format": self.load_report.format}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        if known is None:
            raise ValueError("model=cxtattn is an inpainting model and needs a mask (task=inpaint)")
        return cxtattn_inpaint(self.net, frames.to(self.device, torch.float32),
                               known.to(self.device, torch.float32), self.channel_order)
