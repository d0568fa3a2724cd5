"""CycleGAN's ``ResnetGenerator`` (Zhu et al. 2017, junyanz/pytorch-CycleGAN-and-pix2pix) and its one loader.

Network (``resnet_<n>blocks``; module and state-dict names as upstream, so ``latest_net_G.pth`` loads with
``strict=True``): ``model`` is one ``nn.Sequential``

* ``0`` ReflectionPad(3), ``1`` conv 7×7 (3 → ngf), ``2`` norm, ``3`` ReLU  (c7s1-ngf);
* ``4..6``, ``7..9``: conv 3×3 stride 2, padding 1 (ngf → 2ngf → 4ngf), norm, ReLU  (d2ngf, d4ngf);
* ``10 .. 9+n``: ``ResnetBlock(4ngf)``, ``x + conv_block(x)`` with ``conv_block`` = ReflectionPad(1), conv 3×3
  (``conv_block.1``), norm, ReLU, ReflectionPad(1), conv 3×3 (``conv_block.5``), norm (no dropout: ``--no_dropout``);
* two ``ConvTranspose2d`` 3×3 stride 2, padding 1, output_padding 1 (4ngf → 2ngf → ngf), norm, ReLU;
* ReflectionPad(3), conv 7×7 (ngf → 3), tanh.

``norm=instance`` is ``InstanceNorm2d(affine=False, track_running_stats=False)``, so convs have biases and
norms have no state. Input and output RGB in [−1, 1]; H and W multiples of 4 (two stride-2 stages).

Upstream checkpoints (``torch.save(net.module.state_dict())``) may carry ``_metadata`` and, when saved with
torch < 0.4, InstanceNorm ``running_mean`` / ``running_var`` and ``num_batches_tracked`` entries; upstream's
``__patch_instance_norm_state_dict`` deletes them, and so does :func:`load_resnet_generator`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from hypercon.models.base import ImageModel
from hypercon.resize import pad_to_multiple, unpad

log = logging.getLogger(__name__)

SIZE_MULTIPLE = 4
STYLES = ("monet", "vangogh", "cezanne", "ukiyoe")  # upstream's style_<name>_pretrained models
#: stale InstanceNorm statistics of old upstream checkpoints (their modules have no buffers)
STALE_NORM_KEY = re.compile(r"\.(running_mean|running_var|num_batches_tracked)$")


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResnetBlock(nn.Module):
    """``x + conv_block(x)``; ``conv_block`` = pad, conv, norm, ReLU, pad, conv, norm (upstream indices)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim), nn.ReLU(True),
                                        nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), _norm(dim))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """``forward(x [B,3,H,W] in [−1,1]) -> [B,3,H,W]`` in [−1,1], H and W multiples of 4 (module doc)."""

    def __init__(self, ngf: int = 64, n_blocks: int = 9) -> None:
        super().__init__()
        if ngf < 1 or n_blocks < 0:
            raise ValueError(f"ResnetGenerator: ngf must be >= 1 and n_blocks >= 0, got {ngf}, {n_blocks}")
        self.ngf, self.n_blocks = int(ngf), int(n_blocks)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), _norm(ngf), nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1), _norm(ngf * mult * 2),
                       nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


def generator_options(state: Mapping[str, Tensor]) -> dict[str, int]:
    """``{"ngf", "n_blocks"}`` read from a generator state dict's shapes and block keys."""
    if "model.1.weight" not in state:
        raise KeyError("not a CycleGAN ResnetGenerator state dict (no 'model.1.weight')")
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv_block\.", k))}
    return {"ngf": int(state["model.1.weight"].shape[0]), "n_blocks": len(blocks)}


def clean_generator_state(state: Mapping[str, object]) -> tuple[dict[str, Tensor], list[str]]:
    """Drop ``_metadata``, stale norm statistics (:data:`STALE_NORM_KEY`) and a ``module.`` prefix.
    Returns ``(cleaned, dropped keys)``."""
    cleaned, dropped = {}, []
    for key, value in state.items():
        if key == "_metadata" or STALE_NORM_KEY.search(key):
            dropped.append(key)
            continue
        cleaned[key.removeprefix("module.")] = value
    return cleaned, dropped


def load_resnet_generator(state: Mapping[str, object], ngf: int | None = None, n_blocks: int | None = None,
                          source: str = "checkpoint") -> ResnetGenerator:
    """The one loader: an upstream (or trained-here) generator state dict → :class:`ResnetGenerator` (eval).

    ``ngf`` / ``n_blocks`` default to what the state dict holds; the rest loads with ``strict=True``, so any
    other missing or unexpected key, or a shape mismatch, raises ``ValueError`` naming ``source``.
    """
    if not isinstance(state, Mapping):
        raise ValueError(f"{source}: expected a CycleGAN generator state dict, got {type(state).__name__}")
    cleaned, dropped = clean_generator_state(state)
    if dropped:
        log.debug("%s: dropped %d stale keys (%s …)", source, len(dropped), dropped[0])
    try:
        found = generator_options(cleaned)
        net = ResnetGenerator(ngf or found["ngf"], found["n_blocks"] if n_blocks is None else n_blocks)
        net.load_state_dict(cleaned, strict=True)
    except (KeyError, RuntimeError) as exc:
        raise ValueError(f"{source} is not a CycleGAN ResnetGenerator checkpoint: "
                         f"{str(exc).splitlines()[0]}") from exc
    return net.eval()


def generate(net: ResnetGenerator, frames: Tensor) -> Tensor:
    """``frames [B,3,H,W]`` in [0,1], any H, W → generator output in [0,1]: scaled to [−1,1], reflect-padded
    at the bottom / right to a multiple of 4 (replicate when too small to reflect), cropped back.
    (Upstream's ``--preprocess none`` resizes to the multiple instead; padding keeps the pixel grid.)"""
    h, w = frames.shape[-2:]
    mode = "reflect" if min(h, w) >= SIZE_MULTIPLE else "replicate"
    padded, pads = pad_to_multiple(frames * 2.0 - 1.0, SIZE_MULTIPLE, mode=mode)
    return unpad((net(padded) + 1.0) / 2.0, pads).clamp(0.0, 1.0)


class CycleGANPretrained(ImageModel):
    """``model=cyclegan_pretrained style=monet|vangogh|cezanne|ukiyoe``: upstream's photo → painting generator
    ``G_A`` (``style_<style>_pretrained/latest_net_G.pth``, resnet_9blocks, ngf 64), tier paper. Weights come
    from the registry entry ``cyclegan_<style>`` (explicit ``weights`` file, else ``weights_dir`` /
    ``$HYPERCON_WEIGHTS``); a missing file stops the run at construction, saying where to put it."""

    name = "cyclegan_pretrained"
    label = "CycleGAN"
    tier = "paper"

    def __init__(self, style: str = "monet", weights: str | None = None, weights_dir: str | None = None,
                 device: str = "cpu", batch_size: int = 4) -> None:
        if style not in STYLES:
            raise ValueError(f"model=cyclegan_pretrained: style must be one of {', '.join(STYLES)} (pass "
                             f"style=monet), got {style!r}")
        from hypercon.weights import load_pretrained

        self.style, self.device, self.batch_size = style, device, batch_size
        net, self._weights_record = load_pretrained(
            f"cyclegan_{style}", lambda state, source: load_resnet_generator(state, source=source), weights=weights,
            weights_dir=weights_dir, owner="model=cyclegan_pretrained")
        self.net = net.to(device)

    def options(self) -> dict[str, object]:
        return {"style": self.style}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return generate(self.net, frames.to(self.device, torch.float32))
