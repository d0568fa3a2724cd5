"""``TransformNet``: the recurrent network of Lai et al., "Learning Blind Video Temporal Consistency" (ECCV
2018; phoenix104104/fast_blind_video_consistency ``networks/TransformNet.py``, ``ConvLSTM.py``).

``forward(x [B,12,H,W], state) -> (y [B,3,H,W] in (-1,1), state)`` with ``x = cat(P_t, O_{t−1}, I_t,
I_{t−1})`` (H, W multiples of :data:`MULTIPLE`); the method adds ``y`` to ``P_t`` (residual).

* Two encoders: ``conv1a`` on (P_t, O_{t−1}), ``conv1b`` on (I_t, I_{t−1}), 7×7 stride 1 (6 → nf);
  ``conv2a`` / ``conv2b`` 3×3 stride 2 (nf → 2nf); ``conv3`` on their concatenation, 3×3 stride 2 (4nf → 4nf).
* ``ResBlocks.k`` (``blocks``): conv, LeakyReLU, conv, plus the input (no activation after the sum).
* ``convlstm``: one 3×3 conv ``Gates`` on cat(input, hidden) gives the i, f, o, g gates (hidden 4nf).
* Decoder: ``deconv1`` (nearest ×2, 3×3 conv, 4nf → 2nf) on the hidden state; cat with E2a; ``deconv2``
  (4nf → nf); cat with E1a; ``deconv3`` 7×7 (2nf → 3) → tanh.
* Reflection padding, LeakyReLU 0.2 after every conv but ``deconv3`` and a residual block's second conv;
  conv biases on (upstream: ``use_bias = norm == 'IN'``; ``deconv3`` always has one).

Upstream quirk, kept: with ``norm='IN'`` each conv layer owns an ``InstanceNorm2d(track_running_stats=True)``
``norm_layer`` (so the checkpoint holds ``running_mean`` / ``running_var`` / ``num_batches_tracked``), but its
forward tests ``self.norm in ["BN" or "IN"]``, i.e. ``in ["BN"]``: the norm is never applied. ``norm='BN'``
applies a BatchNorm2d (as upstream); ``norm='none'`` has no norm layer and no conv bias.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor, nn

from baselines.common.strict_load import load_state_strict

MULTIPLE = 4  # two stride-2 convs: H and W must be multiples of 4
NORMS = ("IN", "BN", "none")
State = Optional[tuple[Tensor, Tensor]]


class ConvLayer(nn.Module):
    """Reflection pad, conv (``conv2d``), the norm (``norm_layer``; applied only for ``BN``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, norm: str = "none",
                 bias: bool = True) -> None:
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel // 2)
        self.conv2d = nn.Conv2d(c_in, c_out, kernel, stride, bias=bias)
        self.norm = norm
        if norm == "BN":
            self.norm_layer = nn.BatchNorm2d(c_out)
        elif norm == "IN":  # exists for the checkpoint's buffers; never applied (see the module docstring)
            self.norm_layer = nn.InstanceNorm2d(c_out, track_running_stats=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv2d(self.reflection_pad(x))
        return self.norm_layer(out) if self.norm == "BN" else out


class UpsampleConvLayer(ConvLayer):
    """Nearest ×2, then a :class:`ConvLayer`."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(nn.functional.interpolate(x, scale_factor=2, mode="nearest"))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, norm: str, bias: bool) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3, 1, norm, bias)
        self.conv2 = ConvLayer(channels, channels, 3, 1, norm, bias)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(_lrelu(self.conv1(x)))


class ConvLSTM(nn.Module):
    """``forward(x [B,C,H,W], state (h, c) | None) -> (h, c)``; a None state is zeros."""

    def __init__(self, input_size: int, hidden_size: int, kernel: int = 3) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.Gates = nn.Conv2d(input_size + hidden_size, 4 * hidden_size, kernel, padding=kernel // 2)

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, Tensor]:
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size, *x.shape[2:])
            state = (zeros, zeros)
        hidden, cell = state
        in_gate, forget_gate, out_gate, cell_gate = self.Gates(torch.cat((x, hidden), 1)).chunk(4, 1)
        cell = torch.sigmoid(forget_gate) * cell + torch.sigmoid(in_gate) * torch.tanh(cell_gate)
        return torch.sigmoid(out_gate) * torch.tanh(cell), cell


def _lrelu(x: Tensor) -> Tensor:
    return nn.functional.leaky_relu(x, 0.2)


class TransformNet(nn.Module):
    """See the module docstring. ``nc_in`` must be 12 (the two 6-channel encoder inputs)."""

    def __init__(self, nf: int = 32, blocks: int = 5, norm: str = "IN", nc_in: int = 12, nc_out: int = 3) -> None:
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"TransformNet: norm must be one of {NORMS}, got {norm!r}")
        if nc_in != 12:
            raise ValueError(f"TransformNet: nc_in must be 12 (P_t, O_t-1, I_t, I_t-1), got {nc_in}")
        self.nf, self.blocks, self.norm = int(nf), int(blocks), norm
        bias = norm == "IN"
        self.conv1a = ConvLayer(6, nf, 7, 1, norm, bias)
        self.conv1b = ConvLayer(6, nf, 7, 1, norm, bias)
        self.conv2a = ConvLayer(nf, 2 * nf, 3, 2, norm, bias)
        self.conv2b = ConvLayer(nf, 2 * nf, 3, 2, norm, bias)
        self.conv3 = ConvLayer(4 * nf, 4 * nf, 3, 2, norm, bias)
        self.ResBlocks = nn.ModuleList(ResidualBlock(4 * nf, norm, bias) for _ in range(self.blocks))
        self.convlstm = ConvLSTM(4 * nf, 4 * nf, 3)
        self.deconv1 = UpsampleConvLayer(4 * nf, 2 * nf, 3, 1, norm, bias)
        self.deconv2 = UpsampleConvLayer(4 * nf, nf, 3, 1, norm, bias)
        self.deconv3 = ConvLayer(2 * nf, nc_out, 7, 1)

    def forward(self, x: Tensor, state: State = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        if x.ndim != 4 or x.shape[1] != 12 or x.shape[-1] % MULTIPLE or x.shape[-2] % MULTIPLE:
            raise ValueError(f"TransformNet: input must be [B,12,H,W] with H, W multiples of {MULTIPLE}, "
                             f"got {tuple(x.shape)}")
        e1a = _lrelu(self.conv1a(x[:, :6]))
        e1b = _lrelu(self.conv1b(x[:, 6:]))
        e2a = _lrelu(self.conv2a(e1a))
        e2b = _lrelu(self.conv2b(e1b))
        res = _lrelu(self.conv3(torch.cat((e2a, e2b), 1)))
        for block in self.ResBlocks:
            res = block(res)
        state = self.convlstm(res, state)
        d2 = _lrelu(self.deconv1(state[0]))
        d1 = _lrelu(self.deconv2(torch.cat((d2, e2a), 1)))
        return torch.tanh(self.deconv3(torch.cat((d1, e1a), 1))), state


# ------------------------------------------------------------------------------------------- loading

#: train.py's defaults, used when the options pickle is absent
DEFAULT_OPTIONS = {"nf": 32, "blocks": 5, "norm": "IN"}
#: buffers that checkpoints saved by torch < 0.4.1 lack (BatchNorm / InstanceNorm counters)
COUNTER_SUFFIX = ".num_batches_tracked"


def options_from_namespace(namespace: object) -> dict:
    """``nf``, ``blocks``, ``norm`` of upstream's argparse Namespace (``ECCV18_blind_consistency_opts.pth``),
    defaults where an attribute is absent; Python-2 byte strings are decoded."""
    values = vars(namespace) if hasattr(namespace, "__dict__") else dict(namespace)  # type: ignore[arg-type]
    out = {}
    for key, default in DEFAULT_OPTIONS.items():
        value = values.get(key, default)
        if isinstance(value, bytes):
            value = value.decode("latin1")
        out[key] = type(default)(value)
    return out


def options_from_state_dict(state: dict) -> dict:
    """``nf``, ``blocks``, ``norm`` read off a TransformNet state dict (a checkpoint trained here)."""
    blocks = len({k.split(".")[1] for k in state if k.startswith("ResBlocks.")})
    norm = ("IN" if "conv1a.norm_layer.running_mean" in state and "conv1a.norm_layer.weight" not in state
            else "BN" if "conv1a.norm_layer.weight" in state else "none")
    return {"nf": int(state["conv1a.conv2d.weight"].shape[0]), "blocks": blocks, "norm": norm}


def transformnet_from_checkpoint(checkpoint: object, options: dict | None = None,
                                 source: str = "checkpoint") -> TransformNet:
    """A :class:`TransformNet` from upstream's ``{'model': state_dict, 'optimizer': …}`` (or a bare state
    dict), loaded with ``strict=True``. Only the ``num_batches_tracked`` counters may be absent (files
    written by torch < 0.4.1): they are named in the log and set to 0. Raises ``ValueError`` naming
    ``source`` and the offending keys otherwise."""
    import logging

    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{source}: expected {{'model': state_dict}} of tensors (Lai et al.'s "
                         f"ECCV18_blind_consistency.pth), got {type(state).__name__}")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    net = TransformNet(**{**DEFAULT_OPTIONS, **(options or {})})
    expected = net.state_dict()
    counters = sorted(k for k in expected if k.endswith(COUNTER_SUFFIX) and k not in state)
    if counters:
        logging.getLogger(__name__).info("%s: %d num_batches_tracked buffers absent (a torch < 0.4.1 file), set "
                                         "to 0: %s", source, len(counters), ", ".join(counters[:3]) + " …")
        state = {**state, **{k: expected[k] for k in counters}}
    label = f"TransformNet(nf={net.nf}, blocks={net.blocks}, norm={net.norm})"
    load_state_strict(net, state, source, label)
    return net
