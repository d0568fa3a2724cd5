"""Bring your own model: the convention wrapper against a native model, wrong declarations refused naming the
key, TorchScript / ONNX files through run.py, stochastic callables repeating exactly."""

from __future__ import annotations

import hashlib
import random
import sys

import numpy as np
import pytest
import torch

from experiments.runner import run
from experiments.store import read_json
from hypercon.api import apply_hypercon, resolve_model
from hypercon.checks import NonFiniteError, frames_from_uint8
from hypercon.errors import SettingError
from hypercon.models.user import CallableModel, frame_seed
from test_run_e2e import cfg_for

GAIN = torch.tensor([0.9, 0.5, 0.2]).view(1, 3, 1, 1)  # channel-specific: a BGR mix-up shows


def native(x):
    """The reference model in the harness's convention: [B,3,H,W] float [0,1] RGB."""
    return x * GAIN + 0.05


def bgr_minus_one_one(y):
    x = (y.flip(1) + 1) / 2
    return (native(x) * 2 - 1).flip(1)


def numpy_uint8(a):
    assert isinstance(a, np.ndarray) and a.dtype == np.uint8 and a.shape[-1] == 3
    out = native(torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255)
    return (out.permute(0, 2, 3, 1) * 255).round().clamp(0, 255).to(torch.uint8).numpy()


def wrap(fn, **conventions):
    return resolve_model(fn, conventions)


@pytest.fixture
def frames():
    return frames_from_uint8(np.random.default_rng(0).integers(0, 256, (3, 30, 45, 3), dtype=np.uint8))


def test_bgr_minus_one_one_and_numpy_uint8_models_equal_the_native_model(frames):
    expected = wrap(native)(frames)
    torch.testing.assert_close(wrap(bgr_minus_one_one, range=[-1, 1], channels="BGR")(frames), expected)
    got = wrap(numpy_uint8, range=[0, 255], layout="BHWC", dtype="uint8")(frames)
    assert (got - expected).abs().max() <= 0.51 / 255  # the model's own 8-bit rounding


def test_multiple_of_pads_and_crops_back_and_max_side_resizes_for_the_model(frames):
    def needs_multiple_of_8(x):
        assert x.shape[-2] % 8 == 0 and x.shape[-1] % 8 == 0, x.shape
        return native(x)

    torch.testing.assert_close(wrap(needs_multiple_of_8, multiple_of=8)(frames), wrap(native)(frames))
    ramp = torch.linspace(0, 1, 64).view(1, 1, 1, 64).expand(2, 3, 48, 64).contiguous()  # smooth: resize ≈ exact

    def small_only(x):
        assert max(x.shape[-2:]) <= 32, x.shape
        return native(x)

    out = wrap(small_only, max_side=32)(ramp)
    assert out.shape == ramp.shape and (out - native(ramp)).abs().max() < 0.02


def test_inpainting_callable_gets_the_mask_in_its_layout(frames):
    known = torch.ones(3, 1, 30, 45)
    known[:, :, 10:20, 10:30] = 0

    def fill(a, k):
        assert a.shape == (3, 30, 45, 3) and k.shape == (3, 30, 45, 1) and set(np.unique(k)) == {0.0, 1.0}
        return np.where(k > 0, a, 0.25).astype(np.float32)

    out = wrap(fill, layout="BHWC", needs_mask=True)(frames, known)
    torch.testing.assert_close(out[:, :, 10:20, 10:30], torch.full((3, 3, 10, 20), 0.25))
    torch.testing.assert_close(out * known, frames * known)


@pytest.mark.parametrize("fn, conventions, message", [
    (lambda y: (y + 1) * 127.5, {"range": [-1, 1]}, r"model\.range=\[-1,1\] declared but the output is in \[0"),
    (lambda x: x / 255, {"range": [0, 255]}, r"model\.range=\[0,255\] declared but the output is in"),
    (lambda x: x.numpy(), {}, r"model\.layout=BCHW declared but the model returned ndarray"),
    (lambda x: x[..., :-1], {}, r"expected output shape \(3, 3, 30, 45\).*changed the frame size"),
    (lambda x: x[:, 0], {}, r"expected output shape .*check model\.layout=BCHW"),
])
def test_a_wrong_declaration_is_refused_naming_the_key(frames, fn, conventions, message):
    with pytest.raises(SettingError, match=message):
        wrap(fn, **conventions)(frames)


def test_bad_settings_and_nan_are_refused_in_one_line(frames):
    with pytest.raises(NonFiniteError, match="model 'callable' produced NaN"):
        wrap(lambda x: x * float("nan"))(frames)
    for conventions, message in (({"channels": "BRG"}, "model.channels must be one of RGB, BGR"),
                                 ({"range": [0, 2]}, r"model.range must be one of \[0,1\]"),
                                 ({"dtype": "uint8"}, "model.dtype=uint8 needs model.range=")):
        with pytest.raises(SettingError, match=message):
            wrap(native, **conventions)
    with pytest.raises(SettingError, match="model.target=no_such_pkg:f: cannot import"):
        resolve_model("no_such_pkg:f")
    with pytest.raises(SettingError, match="not a config name"):
        resolve_model("no_such_model")


class Tint(torch.nn.Module):
    """:func:`bgr_minus_one_one` as a module, for a TorchScript / ONNX file (BGR [-1,1] declared)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("gain", GAIN.clone())

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        x = (y.flip(1) + 1) / 2
        return ((x * self.gain + 0.05) * 2 - 1).flip(1)


def _run_file_model(tmp_path, kind, path):
    out = tmp_path / "run"
    results = run(cfg_for(tmp_path, f"model={kind}", f"model.path={path}", "model.range=[-1,1]", "model.channels=BGR",
                          "metrics=none", "dataset.num_videos=1"), out)
    assert results["complete"]
    model = read_json(out / "provenance.json")["method"]["components"]["model"]
    assert model["tier"] == "user" and model["class"].endswith({"torchscript": "TorchScriptModel",
                                                                 "export": "ExportedProgramModel",
                                                                 "onnx": "ONNXModel"}[kind])
    assert model["weights"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert model["options"]["conventions"]["range"] == "[-1,1]"
    assert read_json(out / "provenance.json")["method"]["tier"] == "user"
    return out


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_torchscript_file_runs_through_run_py_with_its_sha256(tmp_path):
    path = tmp_path / "tint.pt"
    torch.jit.save(torch.jit.trace(Tint(), torch.rand(1, 3, 8, 8)), str(path))
    _run_file_model(tmp_path, "torchscript", path)
    frames = torch.rand(2, 3, 16, 24)
    torch.testing.assert_close(resolve_model(str(path), {"range": [-1, 1], "channels": "BGR"})(frames),
                               native(frames).clamp(0, 1))


def save_exported_tint(path) -> None:
    """``Tint`` as a ``torch.export`` program with dynamic batch, height and width, saved to ``path``."""
    dims = {0: torch.export.Dim("b", min=1, max=64), 2: torch.export.Dim("h", min=2, max=4096),
            3: torch.export.Dim("w", min=2, max=4096)}
    program = torch.export.export(Tint().eval(), (torch.rand(2, 3, 8, 8) * 2 - 1,), dynamic_shapes={"y": dims})
    torch.export.save(program, str(path))


def test_export_program_runs_through_run_py_and_the_cli_like_the_eager_module(tmp_path):
    from hypercon.cli import main
    from hypercon.io.frames import read_frames, write_frames

    path = tmp_path / "tint.pt2"
    save_exported_tint(path)
    y = torch.rand(3, 3, 20, 28) * 2 - 1  # another batch and size than exported with
    torch.testing.assert_close(torch.export.load(str(path)).module()(y), Tint()(y), rtol=0, atol=0)
    _run_file_model(tmp_path, "export", path)  # python run.py model=export: tier user, the file's sha256
    frames = torch.rand(2, 3, 16, 24)
    torch.testing.assert_close(resolve_model(str(path), {"range": [-1, 1], "channels": "BGR"})(frames),
                               native(frames).clamp(0, 1))
    write_frames(frames, tmp_path / "in")  # python -m hypercon apply in --model tint.pt2 ...
    main(["apply", str(tmp_path / "in"), "--model", str(path), "--conv", "range=[-1,1]", "--conv", "channels=BGR",
          "--method", "framewise", "--out", str(tmp_path / "out")])
    inputs, outputs = read_frames(tmp_path / "in"), read_frames(tmp_path / "out")
    assert (outputs - native(inputs).clamp(0, 1)).abs().max() <= 1 / 255 + 1e-6  # 8-bit PNG rounding only
    (tmp_path / "bad.pt2").write_bytes(b"not a zip archive")
    with pytest.raises(SettingError, match="bad.pt2: not a torch.export program"):
        resolve_model(str(tmp_path / "bad.pt2"))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_onnx_file_runs_through_run_py_with_its_sha256(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed (pip install -e '.[onnx]')")
    pytest.importorskip("onnx", reason="onnx not installed: torch.onnx.export needs it")
    path = tmp_path / "tint.onnx"
    axes = {0: "b", 2: "h", 3: "w"}
    torch.onnx.export(Tint(), (torch.rand(1, 3, 8, 8) * 2 - 1,), str(path), input_names=["y"], output_names=["out"],
                      dynamic_axes={"y": axes, "out": axes}, dynamo=False)
    _run_file_model(tmp_path, "onnx", path)
    frames = torch.rand(2, 3, 16, 24)
    torch.testing.assert_close(resolve_model(str(path), {"range": [-1, 1], "channels": "BGR"})(frames),
                               native(frames).clamp(0, 1), atol=1e-5, rtol=0)


def test_onnx_without_onnxruntime_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(SettingError, match=r'model=onnx needs onnxruntime: pip install -e "\.\[onnx\]"'):
        resolve_model(str(path))


def noisy(x):
    """A stochastic model drawing from all three global generators."""
    b = x.shape[0]
    noise = torch.rand(b, 3, 1, 1) + torch.from_numpy(np.random.rand(b, 3, 1, 1)).float() + random.random()
    return (x + 0.1 * noise).clamp(0, 1)


def test_a_stochastic_callable_repeats_exactly_under_the_same_seed():
    video = np.random.default_rng(1).integers(0, 256, (4, 24, 32, 3), dtype=np.uint8)
    state = torch.get_rng_state()
    runs = [apply_hypercon(video, noisy, num_inserted=1, window=3, conventions={"stochastic": True}, seed=s)
            for s in (3, 3, 4)]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    assert torch.equal(torch.get_rng_state(), state)  # the global generators are left as they were
    # HyperCon's original frames draw what the frame-wise run draws (frame k at time k, inserted ones between)
    model = wrap(noisy, stochastic=True, seed=3)
    single = apply_hypercon(video, model, num_inserted=1, window=1)
    assert np.array_equal(single, (model(frames_from_uint8(video)) * 255).round().byte().permute(0, 2, 3, 1).numpy())
    assert frame_seed(3, 1) != frame_seed(3, 0.5) == frame_seed(3, torch.tensor(1).item() / 2)
