"""Seeded random state dicts in the UPSTREAM checkpoint formats, and the small inputs, of the parity
fixtures (``tests/fixtures/parity/``, ``tests/test_parity.py``).

Each ``*_spec()`` lists ``(key, shape)`` in the upstream key names, written from the upstream module tree
(no upstream code needed). :func:`seeded_state` fills a spec deterministically (CPU float32, one
``torch.Generator`` per call, keys in spec order), so the test and the fixture generator
(``tests/fixtures/parity/make_fixtures.py``, run once against an upstream checkout) build bit-identical
weights: the sidecar records :func:`state_digest` of the spec and of the values, and the test checks both.
"""

from __future__ import annotations

import hashlib
import math

import torch
from torch import Tensor

Spec = list[tuple[str, tuple[int, ...]]]


def conv(prefix: str, cin: int, cout: int, k: int | tuple[int, ...], bias: bool = True, dims: int = 2) -> Spec:
    kernel = (k,) * dims if isinstance(k, int) else tuple(k)
    spec = [(f"{prefix}.weight", (cout, cin, *kernel))]
    return spec + [(f"{prefix}.bias", (cout,))] if bias else spec


def deconv(prefix: str, cin: int, cout: int, k: int) -> Spec:
    return [(f"{prefix}.weight", (cin, cout, k, k)), (f"{prefix}.bias", (cout,))]


def norm(prefix: str, channels: int, stats: bool = False, counter: bool = False) -> Spec:
    spec = [(f"{prefix}.weight", (channels,)), (f"{prefix}.bias", (channels,))]
    if stats:
        spec += [(f"{prefix}.running_mean", (channels,)), (f"{prefix}.running_var", (channels,))]
    return spec + [(f"{prefix}.num_batches_tracked", ())] if counter else spec


def _fill(key: str, shape: tuple[int, ...], gen: torch.Generator, gain: float, transposed: bool) -> Tensor:
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "num_batches_tracked":
        return torch.tensor(0, dtype=torch.long)
    randn = torch.randn(shape, generator=gen, dtype=torch.float32)
    if leaf == "running_var":
        return 0.5 + randn.abs()
    if leaf == "running_mean":
        return 0.1 * randn
    if len(shape) >= 2:  # conv / linear weight: He-like scale keeps activations O(1) through deep nets
        fan_in = (shape[0] if transposed else shape[1]) * math.prod(shape[2:])
        return randn * (gain / math.sqrt(fan_in))
    if leaf == "weight":  # a norm layer's scale
        return 1.0 + 0.1 * randn
    return 0.1 * randn  # biases


def seeded_state(spec: Spec, seed: int, gain: float = 1.0, transposed: tuple[str, ...] = ()) -> dict[str, Tensor]:
    """``{key: tensor}`` for ``spec``: weights ``N(0, gain²/fan_in)`` (keys starting with one of
    ``transposed`` are ``ConvTranspose`` weights ``[cin, cout, k, k]``), biases ``N(0, 0.01)``, norm
    scales ``1 + N(0, 0.01)``, running means ``N(0, 0.01)``, running vars ``0.5 + |N(0,1)|``; keys in
    spec order."""
    gen = torch.Generator().manual_seed(seed)
    return {key: _fill(key, tuple(shape), gen, gain, key.startswith(transposed) if transposed else False)
            for key, shape in spec}


def state_digest(state: dict) -> dict[str, str]:
    """sha256 of the key/shape list (``spec``) and of the values (``values``, raw little-endian bytes) of
    every tensor in ``state`` (nested dicts flattened to ``outer.inner`` keys; other entries ignored)."""
    spec, values = hashlib.sha256(), hashlib.sha256()
    for key, value in _tensors(state):
        spec.update(f"{key}:{tuple(value.shape)}\n".encode())
        values.update(value.contiguous().numpy().tobytes())
    return {"spec": spec.hexdigest(), "values": values.hexdigest()}


def _tensors(state: dict, prefix: str = "") -> list[tuple[str, Tensor]]:
    found = []
    for key, value in state.items():
        if isinstance(value, dict):
            found += _tensors(value, f"{prefix}{key}.")
        elif isinstance(value, Tensor):
            found.append((prefix + key, value))
    return found


def seeded_input(shape: tuple[int, ...], seed: int) -> Tensor:
    """Uniform [0,1) float32 of ``shape`` from its own generator."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def summary_indices(numel: int, count: int = 256) -> Tensor:
    """``count`` evenly spaced flat indices into a tensor of ``numel`` elements (all if fewer)."""
    return torch.linspace(0, numel - 1, min(count, numel)).round().long()


# ------------------------------------------------------------------------ avinashpaliwal/Super-SloMo


def slomo_unet_spec(cin: int, cout: int) -> Spec:
    """model.py ``UNet(inChannels, outChannels)``: conv1/conv2 (7×7), down1..5, up1..5, conv3."""
    spec = conv("conv1", cin, 32, 7) + conv("conv2", 32, 32, 7)
    for i, (a, b, k) in enumerate(((32, 64, 5), (64, 128, 3), (128, 256, 3), (256, 512, 3), (512, 512, 3)), 1):
        spec += conv(f"down{i}.conv1", a, b, k) + conv(f"down{i}.conv2", b, b, k)
    for i, (a, b) in enumerate(((512, 512), (512, 256), (256, 128), (128, 64), (64, 32)), 1):
        spec += conv(f"up{i}.conv1", a, b, 3) + conv(f"up{i}.conv2", 2 * b, b, 3)
    return spec + conv("conv3", 32, cout, 3)


SLOMO_SEED = 1801


def slomo_checkpoint() -> dict:
    """``SuperSloMo.ckpt`` layout: ``state_dictFC`` (UNet(6,4)), ``state_dictAT`` (UNet(20,5)) + metadata.

    Gain 1.5 and the flow head's bias make the flows several pixels, so warping and the decoders'
    upsampling matter."""
    flow_comp = seeded_state(slomo_unet_spec(6, 4), SLOMO_SEED, gain=1.5)
    arb_time = seeded_state(slomo_unet_spec(20, 5), SLOMO_SEED + 1, gain=1.5)
    flow_comp["conv3.bias"] = torch.tensor([3.0, -2.0, -2.5, 1.5])
    return {"Detail": "parity fixture", "epoch": 0, "state_dictFC": flow_comp, "state_dictAT": arb_time}


def slomo_inputs() -> tuple[Tensor, Tensor]:
    """Two 1×3×64×64 frames in [0,1]: a smooth pattern and its shifted copy, plus noise."""
    y, x = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    base = torch.stack((torch.sin(x / 5) * torch.cos(y / 7), torch.cos((x + y) / 9), torch.sin(y / 4)))
    one = 0.5 + 0.35 * base + 0.1 * (seeded_input((3, 64, 64), SLOMO_SEED) - 0.5)
    two = 0.5 + 0.35 * base.roll((2, 3), (1, 2)) + 0.1 * (seeded_input((3, 64, 64), SLOMO_SEED + 1) - 0.5)
    return one.unsqueeze(0).clamp(0, 1), two.unsqueeze(0).clamp(0, 1)


def slomo_port_outputs() -> dict[str, Tensor]:
    """The port on the seeded checkpoint: flowComp's output and the blended frames at t = 1/4, 1/2, 3/4
    (``hypercon.interpolate.interpolate_pair``, i.e. with the interpolator's outside colour)."""
    from hypercon.interp.superslomo import SuperSloMo, superslomo_from_checkpoint
    from hypercon.interpolate import interpolate_pair

    slomo = SuperSloMo.from_modules(*superslomo_from_checkpoint(slomo_checkpoint()))
    seen = {}
    slomo.flow_comp.register_forward_hook(lambda mod, args, out: seen.setdefault("flows", out))
    frames, _ = interpolate_pair(*slomo_inputs(), slomo, [0.25, 0.5, 0.75])
    return {"flows": seen["flows"], **{f"frame_t{k}": f for k, f in enumerate(frames, 1)}}
