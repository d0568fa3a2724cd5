"""Wei et al.'s (§3.3) recurrent discriminator channel, and the two-channel discriminator of the video variants.

One channel: C64-C128-C256-C512-RNN-AvePool → sigmoid. Ck = 4×4 stride-2 conv, BatchNorm (not on the first
layer, as pix2pix), LeakyReLU 0.2; the RNN is the generator's :class:`~.generator.RecurrentCell` run over
the clip (hidden state from zeros at the clip's first step). "AvePool … to get a 1 dimensional output" is
read as a 1×1 conv mapping the RNN output (512 channels) to one logit per position, then the average over
space and time: one logit per clip (the sigmoid is in the BCE loss). Recorded.

* spatial channel: on (input, frame) pairs, ``cat(x_t, y_t)`` (conditional, the paper's eq. 5);
* temporal channel: on the residual errors ``E_t`` of the clip (:mod:`.residual`), real ``E^g`` vs generated
  ``E^o``.

How the two channels are "concatenated to give the result" is unspecified: here two heads, a BCE term
each, summed (recorded). The ``video2video`` and ``local`` variants use the spatial channel only. BatchNorm
uses batch statistics (as the generator).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from baselines.wei_v2v.generator import RecurrentCell, scaled

CHANNELS = (64, 128, 256, 512)


class RecurrentDiscriminator(nn.Module):
    """``forward(clip [T,B,C,H,W]) -> [B]`` logits: one per clip, averaged over space and time."""

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()
        chans = [scaled(c, width) for c in CHANNELS]
        layers: list[nn.Module] = []
        for i, cout in enumerate(chans):
            cin = in_channels if i == 0 else chans[i - 1]
            layers.append(nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0))
            if i:
                layers.append(nn.BatchNorm2d(cout, track_running_stats=False))
            layers.append(nn.LeakyReLU(0.2))
        self.features = nn.Sequential(*layers)
        self.rnn = RecurrentCell(chans[-1])
        self.logit = nn.Conv2d(chans[-1], 1, 1)

    def forward(self, clip: Tensor) -> Tensor:
        t, b = clip.shape[:2]
        features = self.features(clip.flatten(0, 1))
        features = features.view(t, b, *features.shape[1:])
        hidden, logits = None, []
        for step in features:
            out, hidden = self.rnn(step, hidden)
            logits.append(self.logit(out).mean(dim=(1, 2, 3)))
        return torch.stack(logits).mean(dim=0)


class TwoChannelDiscriminator(nn.Module):
    """The spatial channel and (``temporal=True``) the temporal channel of the module doc.

    ``spatial(inputs [T,B,Cin,H,W], frames [T,B,Cout,H,W]) -> [B]``; ``temporal(residuals [T−1,B,Cout,H,W]) -> [B]``.
    """

    def __init__(self, in_channels: int, out_channels: int, width: float = 1.0, temporal: bool = True) -> None:
        super().__init__()
        self.spatial_channel = RecurrentDiscriminator(in_channels + out_channels, width)
        self.temporal_channel = RecurrentDiscriminator(out_channels, width) if temporal else None

    def spatial(self, inputs: Tensor, frames: Tensor) -> Tensor:
        return self.spatial_channel(torch.cat((inputs, frames), dim=2))

    def temporal(self, residuals: Tensor) -> Tensor:
        if self.temporal_channel is None:
            raise ValueError("this discriminator has no temporal channel (variant without global consistency)")
        return self.temporal_channel(residuals)
