"""Engstrom fast style transfer: TF SAME conv rules against direct numpy references, the deeplearn.js
loader on synthetic manifests, its errors, and (with ../shared) the real pretrained styles."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hypercon.models.fst_engstrom import (
    EXPECTED_SHAPES,
    ConvNormTF,
    EngstromStyle,
    EngstromTransformNet,
    conv2d_tf_same,
    conv_transpose2d_tf_same,
    engstrom_stylize,
    load_engstrom,
    read_engstrom_variables,
    tf_same_pads,
)
from hypercon.weights import MissingWeightsError, WeightsError

# ---------------------------------------------------------------------------------------------- references


def ref_conv_same(x: np.ndarray, w_tf: np.ndarray, stride: int) -> np.ndarray:
    """TF SAME conv, written from the rule: out = ceil(n/s); output i reads inputs i·s − before + t,
    before = floor(max((out−1)·s + k − n, 0) / 2), out-of-range inputs are 0. x [Cin,H,W],
    w_tf [k,k,Cin,Cout] → [Cout,oh,ow]."""
    cin, h, w = x.shape
    k, cout = w_tf.shape[0], w_tf.shape[3]
    oh, ow = -(-h // stride), -(-w // stride)
    bh = max((oh - 1) * stride + k - h, 0) // 2
    bw = max((ow - 1) * stride + k - w, 0) // 2
    out = np.zeros((cout, oh, ow))
    for i in range(oh):
        for j in range(ow):
            for ti in range(k):
                for tj in range(k):
                    r, c = i * stride - bh + ti, j * stride - bw + tj
                    if 0 <= r < h and 0 <= c < w:
                        out[:, i, j] += x[:, r, c] @ w_tf[ti, tj]
    return out


def ref_conv_transpose_same(x: np.ndarray, w_tf: np.ndarray, stride: int) -> np.ndarray:
    """TF SAME conv2d_transpose to s·(H,W) as the scatter of each input pixel through the kernel:
    input (i,j) adds x·w[ti,tj] at output (i·s − before + ti, j·s − before + tj). w_tf [k,k,Cout,Cin]."""
    cin, h, w = x.shape
    k, cout = w_tf.shape[0], w_tf.shape[2]
    oh, ow = stride * h, stride * w
    bh = max((h - 1) * stride + k - oh, 0) // 2
    bw = max((w - 1) * stride + k - ow, 0) // 2
    out = np.zeros((cout, oh, ow))
    for i in range(h):
        for j in range(w):
            for ti in range(k):
                for tj in range(k):
                    r, c = i * stride - bh + ti, j * stride - bw + tj
                    if 0 <= r < oh and 0 <= c < ow:
                        out[:, r, c] += w_tf[ti, tj] @ x[:, i, j]
    return out


def to_torch_kernel(w_tf: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(w_tf).permute(3, 2, 0, 1).contiguous()


def write_export(folder: Path, variables: dict[str, np.ndarray]) -> Path:
    """A deeplearn.js export: manifest.json + one raw little-endian float32 file per variable."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, arr in variables.items():
        (folder / name).write_bytes(np.ascontiguousarray(arr, dtype="<f4").tobytes())
        manifest[name] = {"filename": name, "shape": list(arr.shape)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def tf_variables_of(net: EngstromTransformNet) -> dict[str, np.ndarray]:
    """The upstream variables (TF layout) of a network: kernel torch [a,b,kh,kw] → TF [kh,kw,b,a]."""
    out = {}
    for k, layer in enumerate(net.layers):
        names = ["Variable" if k == 0 else f"Variable_{3 * k}", f"Variable_{3 * k + 1}", f"Variable_{3 * k + 2}"]
        out[names[0]] = layer.weight.detach().permute(2, 3, 1, 0).numpy().copy()
        out[names[1]] = layer.shift.detach().numpy().copy()
        out[names[2]] = layer.scale.detach().numpy().copy()
    return out


def register_export(folder: Path, name: str, manifest_path: Path, monkeypatch) -> None:
    """Register a synthetic export's digests under ``name`` in a test manifest ($HYPERCON_WEIGHTS_MANIFEST)."""
    def digest(p: Path) -> str:
        return hashlib.sha256(p.read_bytes()).hexdigest()

    files = {p.name: digest(p) for p in sorted(folder.iterdir()) if p.name != "manifest.json"}
    entries = json.loads(manifest_path.read_text())["entries"] if manifest_path.is_file() else {}
    entries[name] = {"file": f"fst-engstrom/{folder.name}/manifest.json", "sha256": digest(folder / "manifest.json"),
                     "files": files, "tier": "offline", "source": "test"}
    manifest_path.write_text(json.dumps({"entries": entries}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest_path))


@pytest.fixture
def synthetic_export(tmp_path, monkeypatch) -> tuple[Path, EngstromTransformNet]:
    """A random-weight export named rain_princess, registered with its own digests (a test manifest)."""
    torch.manual_seed(1)
    net = EngstromTransformNet()
    for layer in net.layers:  # non-trivial norms so a swapped shift/scale would show
        layer.shift.data.uniform_(-0.5, 0.5)
        layer.scale.data.uniform_(0.5, 1.5)
    folder = write_export(tmp_path / "fst-engstrom" / "rain_princess", tf_variables_of(net))
    register_export(folder, "fst_engstrom_rain_princess", tmp_path / "test-manifest.json", monkeypatch)
    return folder, net


# ---------------------------------------------------------------------------------------------- TF rules


def test_tf_same_pads_hand_values():
    assert tf_same_pads(37, 3, 2) == (1, 1)   # out 19: 18·2+3−37 = 2
    assert tf_same_pads(50, 3, 2) == (0, 1)   # out 25: 24·2+3−50 = 1 → extra pixel bottom/right
    assert tf_same_pads(7, 9, 1) == (4, 4)
    assert tf_same_pads(8, 3, 2) == (0, 1)
    assert tf_same_pads(3, 1, 2) == (0, 0)


@pytest.mark.parametrize("h,w,k,stride", [(5, 6, 3, 2), (7, 4, 3, 2), (5, 5, 3, 1), (6, 7, 5, 1)])
def test_conv_same_matches_reference(h, w, k, stride):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, h, w)).astype(np.float32)
    w_tf = rng.standard_normal((k, k, 2, 3)).astype(np.float32)
    out = conv2d_tf_same(torch.from_numpy(x)[None], to_torch_kernel(w_tf), stride)[0].double().numpy()
    np.testing.assert_allclose(out, ref_conv_same(x, w_tf, stride), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("h,w", [(3, 4), (1, 2), (5, 5)])
def test_conv_transpose_same_matches_reference_and_is_the_adjoint(h, w):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, h, w)).astype(np.float32)
    w_tf = rng.standard_normal((3, 3, 2, 3)).astype(np.float32)  # [kh,kw,out=2,in=3]
    w_t = to_torch_kernel(w_tf)  # [in=3, out=2, kh, kw]
    out = conv_transpose2d_tf_same(torch.from_numpy(x)[None], w_t, 2)[0]
    assert out.shape == (2, 2 * h, 2 * w)
    np.testing.assert_allclose(out.double().numpy(), ref_conv_transpose_same(x, w_tf, 2), rtol=1e-5, atol=1e-5)
    # TF defines conv2d_transpose as the gradient of conv2d: <conv(y), x> = <y, conv_T(x)>
    y = torch.from_numpy(rng.standard_normal((1, 2, 2 * h, 2 * w)).astype(np.float64))
    lhs = (conv2d_tf_same(y, w_t.double(), 2) * torch.from_numpy(x).double()[None]).sum()
    rhs = (y * conv_transpose2d_tf_same(torch.from_numpy(x).double()[None], w_t.double(), 2)).sum()
    torch.testing.assert_close(lhs, rhs)


def test_conv_norm_layer_formula():
    torch.manual_seed(0)
    layer = ConvNormTF("conv", 2, 3, 3, 1, relu=True)
    layer.shift.data = torch.tensor([0.1, -0.2, 0.3])
    layer.scale.data = torch.tensor([2.0, 0.5, 1.0])
    x = torch.rand(1, 2, 4, 5) * 10
    y = conv2d_tf_same(x, layer.weight.detach(), 1)
    mean, var = y.mean(dim=(2, 3), keepdim=True), y.var(dim=(2, 3), unbiased=False, keepdim=True)
    scale, shift = layer.scale.view(1, 3, 1, 1), layer.shift.view(1, 3, 1, 1)
    expected = torch.relu(scale * (y - mean) / torch.sqrt(var + 1e-3) + shift)
    torch.testing.assert_close(layer(x).detach(), expected.detach(), rtol=1e-4, atol=1e-5)


def test_architecture_has_the_export_parameter_count():
    assert len(EXPECTED_SHAPES) == 48
    assert sum(int(np.prod(s)) for s in EXPECTED_SHAPES.values()) == 1_677_638
    assert EXPECTED_SHAPES["Variable"] == (9, 9, 3, 32) and EXPECTED_SHAPES["Variable_39"] == (3, 3, 64, 128)
    assert sum(p.numel() for p in EngstromTransformNet().parameters()) == 1_677_638


# ---------------------------------------------------------------------------------------------- loader


def test_loader_round_trips_a_synthetic_export_and_handles_odd_sizes(synthetic_export):
    folder, source = synthetic_export
    net = load_engstrom(folder)
    for (name, a), (_, b) in zip(net.state_dict().items(), source.state_dict().items()):
        assert torch.equal(a, b), name
    x = torch.rand(1, 3, 37, 50)
    with torch.no_grad():
        raw = net(x * 255)
        out = engstrom_stylize(net, x)
    assert raw.shape == (1, 3, 40, 52)  # TF: 37 → 19 → 10 → 20 → 40
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert out.std() > 0.01


def test_variables_and_digest(synthetic_export):
    folder, _ = synthetic_export
    variables, sha = read_engstrom_variables(folder)
    digest = hashlib.sha256((folder / "manifest.json").read_bytes())
    for name in EXPECTED_SHAPES:  # Variable, Variable_1, ..., Variable_47
        digest.update((folder / name).read_bytes())
    assert sha == digest.hexdigest()
    assert variables["Variable_45"].shape == (9, 9, 32, 3) and variables["Variable_45"].dtype == np.float32


def test_shape_mismatch_names_the_manifest_and_variable(synthetic_export):
    folder, _ = synthetic_export
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["Variable_12"]["shape"] = [3, 3, 128, 64]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match=r"manifest\.json.*Variable_12.*\[3, 3, 128, 64\].*\[3, 3, 128, 128\]"):
        load_engstrom(folder)


def test_truncated_file_and_missing_variable_name_the_file(synthetic_export):
    folder, _ = synthetic_export
    data = (folder / "Variable_7").read_bytes()
    (folder / "Variable_7").write_bytes(data[:-4])
    with pytest.raises(WeightsError, match=r"Variable_7: .*bytes, expected"):
        load_engstrom(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["Variable_30"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match=r"manifest\.json.*missing \['Variable_30'\]"):
        load_engstrom(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(WeightsError, match="not valid JSON"):
        load_engstrom(folder)


def test_wrapper_finds_styles_and_explains_errors(synthetic_export, tmp_path, monkeypatch):
    folder, _ = synthetic_export
    model = EngstromStyle("rain_princess", weights_dir=str(tmp_path))
    assert model.tier == "offline" and model.options() == {"style": "rain_princess"}
    assert model.weights() == {"file": str(folder / "manifest.json"), "sha256": read_engstrom_variables(folder)[1],
                               "tier": "test"}  # registered in a test manifest: a stand-in
    assert model.provenance()["tier"] == "test"
    frames = torch.rand(3, 3, 9, 10)
    out = model(frames)
    assert out.shape == frames.shape
    torch.testing.assert_close(model(frames[1:2]), out[1:2])  # batch-independent
    with pytest.raises(MissingWeightsError, match=r"unknown style 'udnie'.*available styles.*rain_princess"):
        EngstromStyle("udnie", weights_dir=str(tmp_path))
    where = r"nowhere/fst-engstrom/wave/manifest\.json not found.*shared/weights"
    with pytest.raises(MissingWeightsError, match=where):
        EngstromStyle("wave", weights_dir=str(tmp_path / "nowhere"))
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    with pytest.raises(MissingWeightsError, match="HYPERCON_WEIGHTS"):
        EngstromStyle("wave")
    monkeypatch.setenv("HYPERCON_WEIGHTS", str(tmp_path))
    assert EngstromStyle().weights()["file"] == str(folder / "manifest.json")


# ---------------------------------------------------------------------------------------------- real weights


@pytest.fixture(scope="module")
def amber(shared_dir) -> torch.Tensor:
    import cv2

    from hypercon.checks import frames_from_uint8

    img = cv2.imread(str(shared_dir / "data" / "style-images" / "amber.jpg"), cv2.IMREAD_COLOR)[:, :, ::-1]
    img = cv2.resize(img, (192, 192), interpolation=cv2.INTER_AREA)
    return frames_from_uint8(img[None])


@pytest.mark.shared
@pytest.mark.parametrize("style,colourful", [("rain_princess", True), ("scream", True), ("udnie", False)])
def test_real_styles_are_plausible_stylisations(shared_dir, amber, style, colourful):
    model = EngstromStyle(style, weights_dir=str(shared_dir / "weights"))
    out = model(amber)
    assert out.shape == amber.shape
    assert torch.equal(out, model(amber))  # deterministic
    assert (out - amber).abs().mean() > 0.1  # strongly different from the input
    assert out.std() > 0.15  # not flat
    if colourful:  # the input is a beige/black photo (mean max−min over RGB ≈ 0.10)
        assert (out.amax(dim=1) - out.amin(dim=1)).mean() > 0.2
    assert out.amax() > 0.95 and out.amin() < 0.05  # uses the full range, as the tanh head does
    # geometry is kept: the stylisation still correlates with the content's luminance
    corr = torch.corrcoef(torch.stack([out.mean(1).flatten(), amber.mean(1).flatten()]))[0, 1]
    assert corr > 0.3, corr


@pytest.mark.gpu
def test_wrapper_on_cuda_matches_cpu(synthetic_export, tmp_path):
    frames = torch.rand(2, 3, 21, 30)
    ref = EngstromStyle(weights_dir=str(tmp_path))(frames)
    out = EngstromStyle(weights_dir=str(tmp_path), device="cuda")(frames.cuda())
    assert out.is_cuda and out.shape == frames.shape
    assert (out.cpu() - ref).abs().mean() < 1e-2  # cuDNN may use TF32
