"""CycleGAN's 70×70 PatchGAN discriminator (``NLayerDiscriminator``, n_layers 3) and its weight init.

``model`` (upstream indices): ``0`` conv 4×4/2 (3 → ndf, bias), ``1`` LeakyReLU 0.2; ``2..4``, ``5..7``: conv
4×4/2 (no bias), BatchNorm, LeakyReLU 0.2 (→ 2ndf, 4ndf); ``8..10``: conv 4×4/1 (→ 8ndf, no bias), BatchNorm,
LeakyReLU; ``11`` conv 4×4/1 (→ 1, bias). Every conv pads 1. Output: one logit per 70×70 patch,
``[B,1,30,30]`` at 256×256. Stride 2 everywhere except the last two convs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class NLayerDiscriminator(nn.Module):
    """``forward(x [B,in_channels,H,W] in [−1,1]) -> [B,1,h,w]`` patch logits (module doc); pix2pix's
    conditional form takes the (input, output) pair: ``in_channels`` = their channels together."""

    def __init__(self, ndf: int = 64, n_layers: int = 3, in_channels: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            previous, mult = mult, min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * previous, ndf * mult, 4, stride, 1, bias=False), nn.BatchNorm2d(ndf * mult),
                       nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def init_weights(net: nn.Module, std: float = 0.02) -> nn.Module:
    """CycleGAN's ``init_type='normal'``: conv weights ~ N(0, std), biases 0; BatchNorm weights ~ N(1, std),
    biases 0. ``std`` is 0.02 upstream; the thesis prints 0.2 (``init_std`` in the recipe)."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
    return net
