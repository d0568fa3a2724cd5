"""Engstrom's fast style transfer (Johnson et al. 2016, trained in TensorFlow by L. Engstrom), loaded from
its deeplearn.js export: ``<weights_dir>/fst-engstrom/<style>/manifest.json`` maps ``Variable``,
``Variable_1``, … ``Variable_47`` to a raw little-endian float32 file and a shape.

Network (TensorFlow conventions, reproduced exactly):

* input RGB in [0,255] (no mean subtraction); 16 conv layers, variable ``3k`` is layer k's kernel,
  ``3k+1`` the instance-norm shift, ``3k+2`` its scale (``scale·(x−μ)/sqrt(σ²+1e-3)+shift``, per channel
  over H,W, biased variance); no conv bias;
* conv 9×9/1 (3→32), conv 3×3/2 (32→64), conv 3×3/2 (64→128), five residual blocks (conv-norm-ReLU,
  conv-norm, + input), transposed conv 3×3/2 (128→64), transposed conv 3×3/2 (64→32), conv 9×9/1 (32→3);
  ReLU after every norm except the second conv of a block and the last layer;
* TF "SAME" padding: ``pad_total = max((ceil(n/s)−1)·s + k − n, 0)``, ``pad_before = pad_total // 2``
  (zeros; for stride 2 the extra pixel goes bottom/right); transposed convs output exactly ``s·n``;
* kernels: conv ``[kh,kw,in,out]``, transposed conv ``[kh,kw,out,in]`` (both → torch by permute(3,2,0,1));
* output ``clip(150·tanh(y) + 127.5, 0, 255) / 255``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hypercon.models.base import ImageModel
from hypercon.resize import pad_to_multiple, unpad

if TYPE_CHECKING:
    from hypercon.weights import ResolvedWeights

log = logging.getLogger(__name__)

EPS = 1e-3
# (kind, in_channels, out_channels, kernel, stride, relu) for the 16 layers, in variable order.
_RES = [("conv", 128, 128, 3, 1, True), ("conv", 128, 128, 3, 1, False)]
LAYOUT: list[tuple[str, int, int, int, int, bool]] = [
    ("conv", 3, 32, 9, 1, True),
    ("conv", 32, 64, 3, 2, True),
    ("conv", 64, 128, 3, 2, True),
    *(_RES * 5),
    ("deconv", 128, 64, 3, 2, True),
    ("deconv", 64, 32, 3, 2, True),
    ("conv", 32, 3, 9, 1, False),
]
RESIDUAL_LAYERS = (3, 5, 7, 9, 11)  # first layer of each residual block


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding of one axis of length ``size``: ``(before, after)``, after ≥ before."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d_tf_same(x: Tensor, weight: Tensor, stride: int) -> Tensor:
    """``tf.nn.conv2d(padding="SAME")``: ``x [B,Cin,H,W]``, ``weight`` torch layout ``[Cout,Cin,k,k]``.

    Output ``[B,Cout,ceil(H/s),ceil(W/s)]``; zero padding split as :func:`tf_same_pads`.
    """
    k = weight.shape[-1]
    top, bottom = tf_same_pads(x.shape[-2], k, stride)
    left, right = tf_same_pads(x.shape[-1], k, stride)
    return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, stride=stride)


def conv_transpose2d_tf_same(x: Tensor, weight: Tensor, stride: int) -> Tensor:
    """``tf.nn.conv2d_transpose(padding="SAME", output_shape=s·(H,W))``: the adjoint of
    :func:`conv2d_tf_same` on an input of size ``s·(H,W)``.

    ``x [B,Cin,H,W]``, ``weight`` torch layout ``[Cin,Cout,k,k]`` → ``[B,Cout,s·H,s·W]``.
    """
    k = weight.shape[-1]
    out_h, out_w = stride * x.shape[-2], stride * x.shape[-1]
    top, _ = tf_same_pads(out_h, k, stride)
    left, _ = tf_same_pads(out_w, k, stride)
    full = F.conv_transpose2d(x, weight, stride=stride)  # covers the padded grid of the forward conv
    return full[..., top : top + out_h, left : left + out_w]


class ConvNormTF(nn.Module):
    """(Transposed) conv with TF SAME padding, no bias, then instance norm (eps 1e-3), optional ReLU."""

    def __init__(self, kind: str, cin: int, cout: int, kernel: int, stride: int, relu: bool) -> None:
        super().__init__()
        self.kind, self.stride, self.relu = kind, stride, relu
        shape = (cout, cin, kernel, kernel) if kind == "conv" else (cin, cout, kernel, kernel)
        self.weight = nn.Parameter(torch.empty(shape))
        self.shift = nn.Parameter(torch.zeros(cout))
        self.scale = nn.Parameter(torch.ones(cout))
        nn.init.normal_(self.weight, std=0.1)

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "conv":
            y = conv2d_tf_same(x, self.weight, self.stride)
        else:
            y = conv_transpose2d_tf_same(x, self.weight, self.stride)
        y = F.instance_norm(y, weight=self.scale, bias=self.shift, eps=EPS)
        return F.relu(y) if self.relu else y


class EngstromTransformNet(nn.Module):
    """``forward(x [B,3,H,W] RGB in [0,255]) -> [B,3,H',W']`` in [0,1], ``H' = 4·ceil(ceil(H/2)/2)``
    (= H when H is a multiple of 4; the output is aligned with the input at the top-left)."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ConvNormTF(*spec) for spec in LAYOUT)

    def forward(self, x: Tensor) -> Tensor:
        for i in range(3):
            x = self.layers[i](x)
        for i in RESIDUAL_LAYERS:
            x = x + self.layers[i + 1](self.layers[i](x))
        for i in range(13, 16):
            x = self.layers[i](x)
        return (150.0 * torch.tanh(x) + 127.5).clamp(0.0, 255.0) / 255.0


def engstrom_stylize(net: EngstromTransformNet, frames: Tensor) -> Tensor:
    """Stylize ``frames [B,3,H,W]`` RGB in [0,1] → ``[B,3,H,W]`` in [0,1], any H, W.

    Frames are reflect-padded on the bottom/right to a multiple of 4 (replicate when smaller than the
    pad), so the network's output has the input's size plus the pad, which is cropped away.
    """
    h, w = frames.shape[-2:]
    mode = "reflect" if min(h, w) > 3 else "replicate"
    padded, pads = pad_to_multiple(frames * 255.0, 4, mode=mode)
    return unpad(net(padded), pads)


def _expected_shapes() -> dict[str, tuple[int, ...]]:
    """Upstream variable name → shape (TF layout), derived from :data:`LAYOUT`."""
    shapes: dict[str, tuple[int, ...]] = {}
    for k, (kind, cin, cout, ks, _, _) in enumerate(LAYOUT):
        kernel = (ks, ks, cin, cout) if kind == "conv" else (ks, ks, cout, cin)
        for j, shape in enumerate((kernel, (cout,), (cout,))):
            idx = 3 * k + j
            shapes["Variable" if idx == 0 else f"Variable_{idx}"] = shape
    return shapes


EXPECTED_SHAPES = _expected_shapes()


def _weights_error(missing: bool, message: str) -> Exception:
    from hypercon.weights import MissingWeightsError, WeightsError

    return (MissingWeightsError if missing else WeightsError)(message)


def read_engstrom_variables(style_dir: str | Path) -> tuple[dict[str, np.ndarray], str]:
    """Read and check a deeplearn.js export. Returns ``(name → float32 array in TF layout, sha256)``.

    The digest is sha256 over the manifest's bytes followed by every variable file's bytes in
    variable order (``Variable``, ``Variable_1``, …). Raises ``WeightsError`` naming the file when the
    manifest is missing/unreadable, a variable is missing or unexpected, a shape differs from the
    architecture, or a file's size is not ``prod(shape)·4`` bytes.
    """
    style_dir = Path(style_dir)
    manifest_path = style_dir / "manifest.json"
    if not manifest_path.is_file():
        raise _weights_error(True, f"{manifest_path}: manifest.json not found (fst-engstrom style folder)")
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _weights_error(False, f"{manifest_path}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict):
        raise _weights_error(False, f"{manifest_path}: expected a JSON object of variables")
    missing = sorted(set(EXPECTED_SHAPES) - set(manifest))
    extra = sorted(set(manifest) - set(EXPECTED_SHAPES))
    if missing or extra:
        raise _weights_error(False, f"{manifest_path}: variables do not match the Engstrom transform net "
                                    f"(missing {missing}, unexpected {extra})")
    digest = hashlib.sha256(raw)
    variables: dict[str, np.ndarray] = {}
    for name, shape in EXPECTED_SHAPES.items():
        entry = manifest[name]
        if not isinstance(entry, dict) or "filename" not in entry or "shape" not in entry:
            raise _weights_error(False, f"{manifest_path}: entry {name!r} needs 'filename' and 'shape'")
        if tuple(entry["shape"]) != shape:
            raise _weights_error(False, f"{manifest_path}: {name} has shape {list(entry['shape'])}, "
                                        f"the architecture needs {list(shape)}")
        path = style_dir / str(entry["filename"])
        if not path.is_file():
            raise _weights_error(False, f"{path}: variable file for {name} not found")
        data = path.read_bytes()
        if len(data) != math.prod(shape) * 4:
            raise _weights_error(False, f"{path}: {len(data)} bytes, expected {math.prod(shape) * 4} "
                                        f"(float32 {list(shape)}): truncated or corrupt")
        digest.update(data)
        variables[name] = np.frombuffer(data, dtype="<f4").reshape(shape)
    return variables, digest.hexdigest()


def engstrom_from_variables(variables: dict[str, np.ndarray]) -> EngstromTransformNet:
    """Build the network from TF-layout arrays (``strict=True``); kernels permuted (3,2,0,1) to torch."""
    net = EngstromTransformNet()
    state: dict[str, Tensor] = {}
    for k in range(len(LAYOUT)):
        names = ["Variable" if 3 * k == 0 else f"Variable_{3 * k}", f"Variable_{3 * k + 1}", f"Variable_{3 * k + 2}"]
        kernel, shift, scale = (torch.from_numpy(np.array(variables[n], dtype=np.float32)) for n in names)
        state[f"layers.{k}.weight"] = kernel.permute(3, 2, 0, 1).contiguous()
        state[f"layers.{k}.shift"] = shift
        state[f"layers.{k}.scale"] = scale
    net.load_state_dict(state, strict=True)
    return net.eval()


def load_engstrom(style_dir: str | Path) -> EngstromTransformNet:
    """The one loader: a checked deeplearn.js export folder → :class:`EngstromTransformNet` (eval)."""
    variables, _ = read_engstrom_variables(style_dir)
    return engstrom_from_variables(variables)


def verify_engstrom_style(style: str, style_dir: Path) -> ResolvedWeights:
    """Check every file of a style folder against the weights registry (entry ``fst_engstrom_<style>``:
    ``manifest.json``'s sha256 and each variable file's, see ``hypercon/weights.json``); returns the resolved
    ``manifest.json``.

    Raises:
        WeightsHashError: a file differs from the original (one line naming the file).
        MissingWeightsError: a variable file is missing. WeightsError: the style has no registry entry
        (its files cannot be verified; register it with ``$HYPERCON_WEIGHTS_MANIFEST``).
    """
    from hypercon.weights import WeightsError, load_manifest, resolve_weights

    name = f"fst_engstrom_{style}"
    if name not in load_manifest():
        raise WeightsError(f"model=fst_engstrom: style {style!r} has no entry {name!r} in the weights manifest, so "
                           f"{style_dir} cannot be verified; add one (file, sha256, files) to a JSON file named by "
                           f"$HYPERCON_WEIGHTS_MANIFEST (its results then carry tier test: not a paper number)")
    return resolve_weights(name, path=style_dir / "manifest.json")


def available_styles(root: Path) -> list[str]:
    """Style names under ``root`` (= ``<weights_dir>/fst-engstrom``) that have a manifest.json."""
    return sorted(p.parent.name for p in root.glob("*/manifest.json")) if root.is_dir() else []


class EngstromStyle(ImageModel):
    """Frame-wise fast style transfer with Engstrom's pretrained TF nets (real weights, tier offline:
    not the paper's PyTorch network). Reads ``<weights_dir>/fst-engstrom/<style>/manifest.json``;
    ``weights_dir`` defaults to ``$HYPERCON_WEIGHTS``. Every file is verified against the weights
    registry first (:func:`verify_engstrom_style`)."""

    name = "fst_engstrom"
    label = "FST"
    tier = "offline"

    def __init__(self, style: str = "rain_princess", weights_dir: str | None = None, device: str = "cpu",
                 batch_size: int = 4) -> None:
        self.style, self.device, self.batch_size = style, device, batch_size
        root_dir = weights_dir or os.environ.get("HYPERCON_WEIGHTS")
        if not root_dir:
            raise _weights_error(True, "model=fst_engstrom: no weights folder; set paths.weights_dir=<dir> or "
                                       "$HYPERCON_WEIGHTS so that <dir>/fst-engstrom/<style>/manifest.json exists "
                                       "(for development, ../shared/weights holds them)")
        root = Path(root_dir).expanduser() / "fst-engstrom"
        style_dir = root / style
        if not (style_dir / "manifest.json").is_file():
            styles = available_styles(root)
            if styles:
                raise _weights_error(True, f"model=fst_engstrom: unknown style {style!r}: {style_dir}/manifest.json "
                                           f"not found; available styles in {root}: {', '.join(styles)}")
            raise _weights_error(True, f"model=fst_engstrom: {style_dir}/manifest.json not found; put the "
                                       f"deeplearn.js export (manifest.json + Variable files) of style {style!r} "
                                       f"in {style_dir} (for development, ../shared/weights holds them)")
        resolved = verify_engstrom_style(style, style_dir)
        variables, sha = read_engstrom_variables(style_dir)
        self.net = engstrom_from_variables(variables).to(device)
        self._weights_record = {**resolved.record(), "sha256": sha}  # the digest of the variables read
        log.info("fst_engstrom: style %s from %s (sha256 %s…)", style, style_dir, sha[:12])

    def options(self) -> dict[str, object]:
        return {"style": self.style}

    def translate_batch(self, frames: Tensor, known: Tensor | None) -> Tensor:
        return engstrom_stylize(self.net, frames.to(self.device, torch.float32))
