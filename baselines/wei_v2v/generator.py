"""Wei et al.'s (ACM MM 2018, §3.2) recurrent U-Net generator, and its per-frame (``recurrent=False``) form.

Layers (k = channels × ``width``, e.g. ``width=0.25`` gives 16-32-64-128-128-128-128):

    encoder  C64-C128-C256-C512-C512-C512-C512     (seven 4×4 stride-2 convs: 1/2 … 1/128)
    RNN      cat(bottleneck, hidden) → two 1×1 convs → (output, next hidden = tanh(·))
    decoder  CD512-CD512-CD512-C512-C256-C128-C64  (seven 4×4 stride-2 transposed convs: 1/64 … 1)
    output   3×3 stride-1 conv → out channels, tanh (RGB, [−1,1]) or sigmoid (vseg probability, [0,1])

Ck = Conv-BatchNorm-activation, CDk adds 50% dropout. Unstated in the paper, taken from pix2pix (which it
follows) and recorded:

* the activation comes first in each block as in pix2pix's ``UnetSkipConnectionBlock`` (encoder LeakyReLU
  0.2 → conv → BN; decoder ReLU → transposed conv → BN [→ dropout]); no BN on the first encoder layer nor on
  the innermost one (the 1×1 bottleneck of a 128² crop);
* U-Net skips between mirrored layers: decoder layer k's output is concatenated with encoder layer 7 − k's
  (k = 1…6) before layer k + 1;
* BatchNorm always normalises with the statistics of the current batch (``track_running_stats=False``):
  pix2pix's default test behaviour (its ``test.py`` does not call ``eval()``), and no train/test mismatch
  at batch 1;
* dropout is off at test time unless ``dropout_at_test`` (pix2pix keeps it on);
* the seven listed decoder layers already restore the input size, so "the last conv to the output
  channels" is stride 1 (3×3, padding 1), the paper's output layer.

Input ``[B,C,H,W]`` in [−1,1]: H, W are reflect-padded to multiples of 128 (seven stride-2 layers) and the
output is cropped back (:func:`hypercon.resize.pad_to_multiple` / :func:`hypercon.resize.unpad`; replicate-padded
instead when a side is too short to reflect).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hypercon.resize import pad_to_multiple, reflect_if_it_fits, unpad

MULTIPLE = 128  # 2**7: seven stride-2 layers
ENCODER = (64, 128, 256, 512, 512, 512, 512)
DECODER = (512, 512, 512, 512, 256, 128, 64)
DROPOUT_LAYERS = 3  # CD512 ×3
HEADS = ("tanh", "sigmoid")


def scaled(channels: int, width: float) -> int:
    """A layer's channel count at ``width`` (at least 1)."""
    return max(1, int(round(channels * width)))


class RecurrentCell(nn.Module):
    """``(x [B,C,h,w], hidden [B,C,h,w] | None) -> (out, next hidden)``: ``cat(x, hidden)`` → 1×1 conv → out
    and 1×1 conv → tanh → next hidden; a None hidden is zeros (the start of a clip or video)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out = nn.Conv2d(2 * channels, channels, 1)
        self.hidden = nn.Conv2d(2 * channels, channels, 1)

    def forward(self, x: Tensor, hidden: Tensor | None) -> tuple[Tensor, Tensor]:
        if hidden is None:
            hidden = torch.zeros_like(x)
        both = torch.cat((x, hidden), dim=1)
        return self.out(both), torch.tanh(self.hidden(both))


def _down(cin: int, cout: int, first: bool, norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [] if first else [nn.LeakyReLU(0.2)]
    layers.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm))
    if norm:
        layers.append(nn.BatchNorm2d(cout, track_running_stats=False))
    return nn.Sequential(*layers)


def _up(cin: int, cout: int, dropout: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.ReLU(), nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False),
                               nn.BatchNorm2d(cout, track_running_stats=False)]
    if dropout:
        layers.append(nn.Dropout(0.5))
    return nn.Sequential(*layers)


class WeiGenerator(nn.Module):
    """See the module docstring. ``forward(x [B,in,H,W] in [−1,1], hidden) -> (y [B,out,H,W], next hidden)``;
    ``hidden`` is None at the start of a clip / video and for ``recurrent=False`` (then returned as None)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, width: float = 1.0, recurrent: bool = True,
                 head: str = "tanh", dropout_at_test: bool = False) -> None:
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"WeiGenerator: head must be one of {HEADS}, got {head!r}")
        enc = [scaled(c, width) for c in ENCODER]
        dec = [scaled(c, width) for c in DECODER]
        self.options = {"in_channels": int(in_channels), "out_channels": int(out_channels), "width": float(width),
                        "recurrent": bool(recurrent), "head": head}
        self.dropout_at_test = bool(dropout_at_test)
        self.encoder = nn.ModuleList(
            _down(in_channels if i == 0 else enc[i - 1], enc[i], first=i == 0, norm=0 < i < len(enc) - 1)
            for i in range(len(enc)))
        self.rnn = RecurrentCell(enc[-1]) if recurrent else None
        skips = list(reversed(enc[:-1]))  # e6 … e1, concatenated after decoder layers 1 … 6
        ins = [enc[-1]] + [dec[k] + skips[k] for k in range(len(dec) - 1)]
        self.decoder = nn.ModuleList(_up(ins[k], dec[k], dropout=k < DROPOUT_LAYERS) for k in range(len(dec)))
        self.output = nn.Conv2d(dec[-1], out_channels, 3, 1, 1)

    def train(self, mode: bool = True) -> "WeiGenerator":
        super().train(mode)
        if not mode and self.dropout_at_test:
            for m in self.modules():
                if isinstance(m, nn.Dropout):
                    m.train(True)
        return self

    def forward(self, x: Tensor, hidden: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        padded, pads = pad_to_multiple(x, MULTIPLE, mode=reflect_if_it_fits(x.shape[-2:], MULTIPLE))
        features = []
        h = padded
        for layer in self.encoder:
            h = layer(h)
            features.append(h)
        if self.rnn is not None:
            h, hidden = self.rnn(h, hidden)
        skips = list(reversed(features[:-1]))
        for k, layer in enumerate(self.decoder):
            h = layer(h)
            if k < len(skips):
                h = torch.cat((h, skips[k]), dim=1)
        y = self.output(h)
        y = torch.tanh(y) if self.options["head"] == "tanh" else torch.sigmoid(y)
        return unpad(y, pads), hidden

    def run_clip(self, clip: Tensor) -> Tensor:
        """``[T,B,in,H,W]`` → ``[T,B,out,H,W]``, hidden state from zeros at the clip's first frame."""
        outs, hidden = [], None
        for x in clip:
            y, hidden = self(x, hidden)
            outs.append(y)
        return torch.stack(outs)


def generator_from_state(state: dict[str, Tensor], options: dict, source: str) -> WeiGenerator:
    """A :class:`WeiGenerator` with ``options`` (its ``.options`` as recorded) loaded strictly from ``state``
    (float16 shipped tensors are cast to float32)."""
    from baselines.common.strict_load import load_state_strict

    net = WeiGenerator(**options)
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    return load_state_strict(net, state, source, "Wei et al.'s generator")  # type: ignore[return-value]
