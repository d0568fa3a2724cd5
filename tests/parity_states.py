"""Seeded random state dicts in the UPSTREAM checkpoint formats, and the small inputs, of the parity
fixtures (``tests/fixtures/parity/``, ``tests/test_parity.py``).

Each ``*_spec()`` lists ``(key, shape)`` in the upstream key names, written from the upstream module tree
(no upstream code needed). :func:`seeded_state` fills a spec deterministically (CPU float32, one
``torch.Generator`` per call, keys in spec order), so the test and the fixture generator
(``tests/fixtures/parity/make_fixtures.py``, run once against an upstream checkout) build bit-identical
weights: the sidecar records :func:`state_digest` of the spec and of the values, and the test checks both.
"""

from __future__ import annotations

import functools
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


def eight_bit_input(shape: tuple[int, ...], seed: int) -> Tensor:
    """:func:`seeded_input` quantised to k/255 (what ``ToTensor`` gives for an 8-bit image)."""
    return (seeded_input(shape, seed) * 255).round() / 255


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


@functools.lru_cache(maxsize=1)
def slomo_checkpoint() -> dict:
    """``SuperSloMo.ckpt`` layout: ``state_dictFC`` (UNet(6,4)), ``state_dictAT`` (UNet(20,5)) + metadata.

    Gain 1.5 and the flow head's bias make the flows several pixels, so warping and the decoders'
    upsampling matter. Cached (the two UNets hold 40 M values): treat it as read-only."""
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


# ------------------------------------------------------------- pytorch/examples fast_neural_style


def fns_spec() -> Spec:
    """transformer_net.py ``TransformerNet`` as the published ``*.pth`` files hold it: with the stale
    ``in*.running_mean/var`` of torch < 0.4 that upstream's ``stylize`` deletes before loading."""
    spec: Spec = []

    def conv_in(conv_name: str, norm_name: str | None, cin: int, cout: int, k: int) -> None:
        nonlocal spec
        spec += conv(f"{conv_name}.conv2d", cin, cout, k)
        if norm_name:
            spec += norm(norm_name, cout, stats=True)

    conv_in("conv1", "in1", 3, 32, 9)
    conv_in("conv2", "in2", 32, 64, 3)
    conv_in("conv3", "in3", 64, 128, 3)
    for r in range(1, 6):
        conv_in(f"res{r}.conv1", f"res{r}.in1", 128, 128, 3)
        conv_in(f"res{r}.conv2", f"res{r}.in2", 128, 128, 3)
    conv_in("deconv1", "in4", 128, 64, 3)
    conv_in("deconv2", "in5", 64, 32, 3)
    conv_in("deconv3", None, 32, 3, 9)
    return spec


FNS_SEED = 1802


def fns_state() -> dict[str, Tensor]:
    """Output layer scaled so the [0,255] output spreads around mid-grey (some of it clamped)."""
    state = seeded_state(fns_spec(), FNS_SEED)
    state["deconv3.conv2d.weight"] *= 60.0
    state["deconv3.conv2d.bias"] += 127.5
    return state


def fns_input() -> Tensor:
    """1×3×64×64 RGB, 8-bit (k/255)."""
    return eight_bit_input((1, 3, 64, 64), FNS_SEED)


def fns_port_outputs() -> dict[str, Tensor]:
    """The port's adapter: :func:`hypercon.models.fst.fst_stylize` (output clamped to [0,1])."""
    from hypercon.models.fst import fst_stylize, load_transformer_net

    with torch.no_grad():
        return {"stylized": fst_stylize(load_transformer_net(fns_state()), fns_input())}


# --------------------------------------------------------------------------- sniklaus/pytorch-pwc

_PWC_NUMBERS = ("One", "Two", "Thr", "Fou", "Fiv", "Six")


def pwc_spec() -> Spec:
    """run.py ``Network`` in the published file's spelling (``module*``; upstream maps it to ``net*``)."""
    pyramid = (3, 16, 32, 64, 96, 128, 196)
    spec: Spec = []
    for level, name in enumerate(_PWC_NUMBERS, 1):
        cin, cout = pyramid[level - 1], pyramid[level]
        spec += conv(f"moduleExtractor.module{name}.0", cin, cout, 3)
        spec += conv(f"moduleExtractor.module{name}.2", cout, cout, 3) + conv(f"moduleExtractor.module{name}.4", cout, cout, 3)
    dense = (128, 128, 96, 64, 32)

    def current(level: int) -> int:
        return 81 if level == 6 else 81 + pyramid[level] + 2 + 2

    for level in (2, 3, 4, 5, 6):
        name = f"module{_PWC_NUMBERS[level - 1]}"
        if level < 6:
            spec += deconv(f"{name}.moduleUpflow", 2, 2, 4) + deconv(f"{name}.moduleUpfeat", current(level + 1) + 448, 2, 4)
        width = current(level)
        for k, out in enumerate(dense):
            spec += conv(f"{name}.module{_PWC_NUMBERS[k]}.0", width, out, 3)
            width += out
        spec += conv(f"{name}.moduleSix.0", width, 2, 3)
    width = current(2) + 448
    for k, out in enumerate((128, 128, 128, 96, 64, 32, 2)):
        spec += conv(f"moduleRefiner.moduleMain.{2 * k}", width, out, 3)
        width = out
    return spec


PWC_SEED = 1803


def pwc_state() -> dict[str, Tensor]:
    return seeded_state(pwc_spec(), PWC_SEED, transposed=tuple(f"module{n}.moduleUp" for n in _PWC_NUMBERS))


def pwc_inputs() -> tuple[Tensor, Tensor]:
    """Two 1×3×100×120 RGB frames in [0,1] (resized to 128×128 inside, as upstream ``estimate``)."""
    one = seeded_input((1, 3, 100, 120), PWC_SEED)
    return one, 0.8 * one.roll((3, -2), (2, 3)) + 0.2 * seeded_input((1, 3, 100, 120), PWC_SEED + 1)


def pwc_port_outputs() -> dict[str, Tensor]:
    """:func:`hypercon.flow.pwcnet.pwcnet_flow` (RGB in; it flips to BGR as upstream's CLI does)."""
    from hypercon.flow.pwcnet import load_pwcnet_state_dict, pwcnet_flow

    with torch.no_grad():
        return {"flow": pwcnet_flow(load_pwcnet_state_dict(pwc_state()), *pwc_inputs())}


# --------------------------------------------------------------- daa233/generative-inpainting-pytorch

_CA_COARSE = [("conv1", 5, 32, 5), ("conv2_downsample", 32, 64, 3), ("conv3", 64, 64, 3),
              ("conv4_downsample", 64, 128, 3), ("conv5", 128, 128, 3), ("conv6", 128, 128, 3),
              ("conv7_atrous", 128, 128, 3), ("conv8_atrous", 128, 128, 3), ("conv9_atrous", 128, 128, 3),
              ("conv10_atrous", 128, 128, 3), ("conv11", 128, 128, 3), ("conv12", 128, 128, 3),
              ("conv13", 128, 64, 3), ("conv14", 64, 64, 3), ("conv15", 64, 32, 3), ("conv16", 32, 16, 3),
              ("conv17", 16, 3, 3)]
_CA_FINE = [("conv1", 5, 32, 5), ("conv2_downsample", 32, 32, 3), ("conv3", 32, 64, 3),
            ("conv4_downsample", 64, 64, 3), ("conv5", 64, 128, 3), ("conv6", 128, 128, 3),
            ("conv7_atrous", 128, 128, 3), ("conv8_atrous", 128, 128, 3), ("conv9_atrous", 128, 128, 3),
            ("conv10_atrous", 128, 128, 3), ("pmconv1", 5, 32, 5), ("pmconv2_downsample", 32, 32, 3),
            ("pmconv3", 32, 64, 3), ("pmconv4_downsample", 64, 128, 3), ("pmconv5", 128, 128, 3),
            ("pmconv6", 128, 128, 3), ("pmconv9", 128, 128, 3), ("pmconv10", 128, 128, 3),
            ("allconv11", 256, 128, 3), ("allconv12", 128, 128, 3), ("allconv13", 128, 64, 3),
            ("allconv14", 64, 64, 3), ("allconv15", 64, 32, 3), ("allconv16", 32, 16, 3), ("allconv17", 16, 3, 3)]


def ca_spec(prefix: str = "netG.") -> Spec:
    """model/networks.py ``Generator`` (input_dim 3, ngf 32; ``gen_conv`` → ``<name>.conv``), keyed as
    the converted TF weights ``torch_model.p`` are (the ``Trainer``'s ``netG.`` prefix)."""
    spec: Spec = []
    for stage, layers in (("coarse_generator", _CA_COARSE), ("fine_generator", _CA_FINE)):
        for name, cin, cout, k in layers:
            spec += conv(f"{prefix}{stage}.{name}.conv", cin, cout, k)
    return spec


CA_SEED = 1804


def ca_state() -> dict[str, Tensor]:
    """Both stages' output convs scaled ×4 so the [-1,1] outputs spread (and some clamp)."""
    state = seeded_state(ca_spec(), CA_SEED)
    for key in ("netG.coarse_generator.conv17.conv.weight", "netG.fine_generator.allconv17.conv.weight"):
        state[key] *= 4.0
    return state


def ca_inputs() -> tuple[Tensor, Tensor]:
    """A 1×3×64×64 RGB frame in [0,1] and its hole (1×1×64×64, 1 = missing: a 24×20 box)."""
    image = seeded_input((1, 3, 64, 64), CA_SEED)
    hole = torch.zeros(1, 1, 64, 64)
    hole[..., 20:44, 18:38] = 1.0
    return image, hole


def ca_port_outputs() -> dict[str, Tensor]:
    """:func:`hypercon.models.cxtattn.cxtattn_inpaint` (stage 2, not composited; RGB fed as given)."""
    from hypercon.models.cxtattn import cxtattn_inpaint, load_cxtattn

    image, hole = ca_inputs()
    net, _ = load_cxtattn(ca_state())
    with torch.no_grad():
        return {"stage2": cxtattn_inpaint(net, image, 1.0 - hole, channel_order="rgb")}


# ------------------------------------------------------------------------------ piergiaj/pytorch-i3d

_I3D_BLOCKS = (("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)), ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
               ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)), ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
               ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)), ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
               ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)), ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
               ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)))
I3D_ENDPOINTS = ("Conv3d_2c_3x3", "Mixed_3c", "Mixed_4f", "Mixed_5c")  # VLPIPS's layers; Mixed_5c → VFID


def i3d_spec() -> Spec:
    """pytorch_i3d.py ``InceptionI3d(400, in_channels=3)``: ``Unit3D`` = ``conv3d`` (no bias) + ``bn``
    (BatchNorm3d, with ``num_batches_tracked`` as today's torch saves it); ``logits.conv3d`` has a bias."""
    spec: Spec = []

    def unit(name: str, cin: int, cout: int, k: int) -> None:
        nonlocal spec
        spec += conv(f"{name}.conv3d", cin, cout, k, bias=False, dims=3) + norm(f"{name}.bn", cout, True, True)

    unit("Conv3d_1a_7x7", 3, 64, 7)
    unit("Conv3d_2b_1x1", 64, 64, 1)
    unit("Conv3d_2c_3x3", 64, 192, 3)
    for name, cin, (b0, b1a, b1b, b2a, b2b, b3b) in _I3D_BLOCKS:
        unit(f"{name}.b0", cin, b0, 1)
        unit(f"{name}.b1a", cin, b1a, 1)
        unit(f"{name}.b1b", b1a, b1b, 3)
        unit(f"{name}.b2a", cin, b2a, 1)
        unit(f"{name}.b2b", b2a, b2b, 3)
        unit(f"{name}.b3b", cin, b3b, 1)
    return spec + conv("logits.conv3d", 1024, 400, 1, dims=3)


I3D_SEED = 1805


def i3d_state() -> dict[str, Tensor]:
    return seeded_state(i3d_spec(), I3D_SEED, gain=math.sqrt(2.0))


def i3d_input() -> Tensor:
    """A 1×3×10×64×64 clip in [0,1] (VIE's 10-frame window, fed in [0,1] as VIE does)."""
    return seeded_input((1, 3, 10, 64, 64), I3D_SEED)


def i3d_port_outputs() -> dict[str, Tensor]:
    """:func:`metrics.i3d.i3d_from_checkpoint` + ``InceptionI3d.extract`` at :data:`I3D_ENDPOINTS`."""
    from metrics.i3d import i3d_from_checkpoint

    with torch.no_grad():
        return i3d_from_checkpoint(i3d_state()).extract(i3d_input(), I3D_ENDPOINTS)


# ------------------------------------------------------- torchvision RAFT, princeton-vl/RAFT (small)

RAFT_SEED = 1806
RAFT_UPDATES = 6


def raft_torchvision_state() -> dict[str, Tensor]:
    """``torchvision.models.optical_flow.raft_small`` keys and shapes (upstream here IS torchvision)."""
    from torchvision.models.optical_flow import raft_small

    spec = [(k, tuple(v.shape)) for k, v in raft_small(weights=None).state_dict().items()]
    return seeded_state(spec, RAFT_SEED)


def raft_small_princeton_spec() -> Spec:
    """princeton-vl/RAFT ``raft-small.pth``: ``RAFT(args.small=True)`` under ``nn.DataParallel``
    (``module.``): ``SmallEncoder`` fnet (128) / cnet (96 + 64), ``BottleneckBlock`` layers (instance
    norm / none: no norm parameters), ``SmallUpdateBlock`` (motion encoder, ``ConvGRU``, flow head)."""
    spec: Spec = []
    for net, out in (("fnet", 128), ("cnet", 160)):
        spec += conv(f"module.{net}.conv1", 3, 32, 7)
        cin = 32
        for layer, planes in enumerate((32, 64, 96), 1):
            for block in (0, 1):
                name = f"module.{net}.layer{layer}.{block}"
                spec += conv(f"{name}.conv1", cin, planes // 4, 1) + conv(f"{name}.conv2", planes // 4, planes // 4, 3)
                spec += conv(f"{name}.conv3", planes // 4, planes, 1)
                if block == 0 and layer > 1:
                    spec += conv(f"{name}.downsample.0", cin, planes, 1)
                cin = planes
        spec += conv(f"module.{net}.conv2", 96, out, 1)
    corr_planes = 4 * (2 * 3 + 1) ** 2  # 4 levels, radius 3
    spec += conv("module.update_block.encoder.convc1", corr_planes, 96, 1)
    spec += conv("module.update_block.encoder.convf1", 2, 64, 7) + conv("module.update_block.encoder.convf2", 64, 32, 3)
    spec += conv("module.update_block.encoder.conv", 128, 80, 3)
    for gate in "zrq":
        spec += conv(f"module.update_block.gru.conv{gate}", 96 + 82 + 64, 96, 3)
    return spec + conv("module.update_block.flow_head.conv1", 96, 128, 3) + conv("module.update_block.flow_head.conv2", 128, 2, 3)


def raft_large_princeton_spec() -> Spec:
    """princeton-vl/RAFT ``raft-things.pth`` (large): ``BasicEncoder`` fnet (instance norm: no norm
    parameters) and cnet (batch norm, with the downsample norm listed twice, as ``norm3`` and
    ``downsample.1``), ``BasicUpdateBlock`` (``SepConvGRU`` convz1..convq2, mask head ``mask.0``/``mask.2``)."""
    spec: Spec = []
    for net, out in (("fnet", 256), ("cnet", 256)):
        batch = net == "cnet"
        spec += (norm(f"module.{net}.norm1", 64, True, True) if batch else []) + conv(f"module.{net}.conv1", 3, 64, 7)
        cin = 64
        for layer, planes in enumerate((64, 96, 128), 1):
            for block in (0, 1):
                name = f"module.{net}.layer{layer}.{block}"
                down = block == 0 and layer > 1
                spec += conv(f"{name}.conv1", cin, planes, 3) + conv(f"{name}.conv2", planes, planes, 3)
                for k in (1, 2, 3) if batch and down else (1, 2) if batch else ():
                    spec += norm(f"{name}.norm{k}", planes, True, True)
                if down:
                    spec += conv(f"{name}.downsample.0", cin, planes, 1)
                    spec += norm(f"{name}.downsample.1", planes, True, True) if batch else []
                cin = planes
        spec += conv(f"module.{net}.conv2", 128, out, 1)
    enc = "module.update_block.encoder"
    spec += conv(f"{enc}.convc1", 4 * 9 * 9, 256, 1) + conv(f"{enc}.convc2", 256, 192, 3)
    spec += conv(f"{enc}.convf1", 2, 128, 7) + conv(f"{enc}.convf2", 128, 64, 3) + conv(f"{enc}.conv", 256, 126, 3)
    for half, kernel in (("1", (1, 5)), ("2", (5, 1))):
        for gate in "zrq":
            spec += conv(f"module.update_block.gru.conv{gate}{half}", 128 + 256, 128, kernel)
    spec += conv("module.update_block.flow_head.conv1", 128, 256, 3) + conv("module.update_block.flow_head.conv2", 256, 2, 3)
    return spec + conv("module.update_block.mask.0", 128, 256, 3) + conv("module.update_block.mask.2", 256, 576, 1)


def raft_large_princeton_state() -> dict[str, Tensor]:
    """Seeded large state; each ``norm3`` alias holds the same tensors as its ``downsample.1`` (as the
    module registered twice saves them)."""
    state = seeded_state(raft_large_princeton_spec(), RAFT_SEED + 2)
    for key in [k for k in state if ".downsample.1." in k]:
        state[key.replace(".downsample.1.", ".norm3.")] = state[key]
    return state


def raft_princeton_state() -> dict[str, Tensor]:
    return seeded_state(raft_small_princeton_spec(), RAFT_SEED + 1)


def raft_inputs() -> tuple[Tensor, Tensor]:
    """Two 1×3×128×128 RGB frames k/255 (8-bit, so princeton's ``2·(x/255) − 1`` of ``255·x`` is exact;
    128 = the smallest side torchvision's pyramid takes)."""
    one = eight_bit_input((1, 3, 128, 128), RAFT_SEED)
    return one, one.roll((3, -5), (2, 3))


def raft_port_outputs(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """:func:`hypercon.flow.raft.load_raft_state_dict` (either format) + :func:`raft_flow` (RAFT-small)."""
    from hypercon.flow.raft import load_raft_state_dict, raft_flow

    with torch.no_grad():
        return {"flow": raft_flow(load_raft_state_dict(state, "small"), *raft_inputs(), RAFT_UPDATES)}
