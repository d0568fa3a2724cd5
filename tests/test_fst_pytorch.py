"""pytorch/examples fast_neural_style TransformerNet: upstream key names and shapes, the legacy
InstanceNorm keys, layers against direct references, size handling and the registry-backed wrapper."""

from __future__ import annotations

import hashlib

import pytest
import torch
import torch.nn.functional as F

from hypercon.models.fst import (
    ConvLayer,
    FastNeuralStyle,
    TransformerNet,
    clean_state_dict,
    fst_stylize,
    load_transformer_net,
)


def upstream_shapes() -> dict[str, tuple[int, ...]]:
    """Key → shape of pytorch/examples' TransformerNet state dict, written from its layer list."""
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(prefix: str, cin: int, cout: int, k: int) -> None:
        shapes[f"{prefix}.conv2d.weight"] = (cout, cin, k, k)
        shapes[f"{prefix}.conv2d.bias"] = (cout,)

    def norm(prefix: str, c: int) -> None:
        shapes[f"{prefix}.weight"] = (c,)
        shapes[f"{prefix}.bias"] = (c,)

    conv("conv1", 3, 32, 9), norm("in1", 32)
    conv("conv2", 32, 64, 3), norm("in2", 64)
    conv("conv3", 64, 128, 3), norm("in3", 128)
    for r in range(1, 6):
        conv(f"res{r}.conv1", 128, 128, 3), norm(f"res{r}.in1", 128)
        conv(f"res{r}.conv2", 128, 128, 3), norm(f"res{r}.in2", 128)
    conv("deconv1", 128, 64, 3), norm("in4", 64)
    conv("deconv2", 64, 32, 3), norm("in5", 32)
    conv("deconv3", 32, 3, 9)
    return shapes


def legacy_checkpoint(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict as saved by torch < 0.4: upstream keys plus ``in<k>.running_mean/var`` per norm."""
    gen = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(s, generator=gen) * 0.05 for k, s in upstream_shapes().items()}
    for key in [k for k in state if ".in" in f".{k}" and k.endswith(".weight") and "conv2d" not in k]:
        base = key[: -len(".weight")]
        state[f"{base}.running_mean"] = torch.zeros_like(state[key])
        state[f"{base}.running_var"] = torch.ones_like(state[key])
    return state


@pytest.fixture
def isolated_weights(tmp_path, monkeypatch):
    """No real weights folder, hub cache or lock file leaks into a test."""
    import hypercon.weights.registry as reg

    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.setenv("HYPERCON_WEIGHTS_LOCK", str(tmp_path / "lock.json"))
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    return tmp_path


def test_state_dict_has_the_upstream_names_and_shapes():
    ours = {k: tuple(v.shape) for k, v in TransformerNet().state_dict().items()}
    assert ours == upstream_shapes()


def test_legacy_checkpoint_loads_strictly_after_cleaning(tmp_path):
    state = legacy_checkpoint()
    assert sum(k.endswith(("running_mean", "running_var")) for k in state) == 2 * 15  # 5 + 2·5 norms
    path = tmp_path / "mosaic.pth"
    torch.save(state, path)
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    with pytest.raises(RuntimeError, match="running_mean"):  # what torch >= 0.4 does without cleaning
        TransformerNet().load_state_dict(loaded, strict=True)
    net = load_transformer_net(loaded)
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, state[key])
    assert not net.training


def test_clean_matches_the_regex_anywhere_in_the_key():
    state = {"res3.in2.running_var": torch.ones(1), "in4.running_mean": torch.ones(1),
             "module.in1.weight": torch.ones(1), "res1.in1.running_mean_extra": torch.ones(1)}
    cleaned, dropped = clean_state_dict(state)
    assert sorted(dropped) == ["in4.running_mean", "res3.in2.running_var"]
    assert sorted(cleaned) == ["in1.weight", "res1.in1.running_mean_extra"]


def test_other_key_mismatches_still_fail():
    state = legacy_checkpoint()
    state["conv1.extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="conv1.extra"):
        load_transformer_net(state)
    state = legacy_checkpoint()
    del state["res5.in2.bias"]
    with pytest.raises(RuntimeError, match="res5.in2.bias"):
        load_transformer_net(state)


def test_upsample_conv_layer_is_nearest_then_reflect_padded_conv():
    torch.manual_seed(0)
    layer = ConvLayer(2, 3, 3, upsample=2)
    x = torch.randn(1, 2, 3, 4)
    up = x.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)  # nearest ×2 by hand
    ref = F.conv2d(torch.nn.ReflectionPad2d(1)(up), layer.conv2d.weight, layer.conv2d.bias)
    torch.testing.assert_close(layer(x), ref)
    strided = ConvLayer(2, 3, 3, stride=2)
    ref = F.conv2d(torch.nn.ReflectionPad2d(1)(x), strided.conv2d.weight, strided.conv2d.bias, stride=2)
    torch.testing.assert_close(strided(x), ref)


def test_stylize_scales_to_255_clamps_and_keeps_odd_sizes():
    net = load_transformer_net(legacy_checkpoint(1))
    frames = torch.rand(2, 3, 16, 20)
    out = fst_stylize(net, frames)
    with torch.no_grad():
        expected = net(frames * 255.0).clamp(0, 255) / 255.0
    torch.testing.assert_close(out, expected)  # multiple of 4: no padding, no cropping
    odd = torch.rand(1, 3, 13, 18)
    with torch.no_grad():
        out = fst_stylize(net, odd)
    assert out.shape == odd.shape and out.min() >= 0 and out.max() <= 1
    padded = F.pad(odd, (0, 2, 0, 3), mode="reflect")
    with torch.no_grad():
        ref = (net(padded * 255.0).clamp(0, 255) / 255.0)[..., :13, :18]
    torch.testing.assert_close(out, ref)


def test_wrapper_loads_an_explicit_file_and_records_it(isolated_weights):
    path = isolated_weights / "candy.pth"
    torch.save(legacy_checkpoint(2), path)
    model = FastNeuralStyle(style="candy", weights=str(path))
    assert model.tier == "paper"
    prov = model.provenance()
    assert prov["weights"] == {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert prov["options"] == {"style": "candy"}
    frames = torch.rand(3, 3, 10, 14)
    out = model(frames)
    assert out.shape == frames.shape
    torch.testing.assert_close(out, fst_stylize(model.net, frames))


def test_wrapper_finds_the_style_file_in_weights_dir(isolated_weights):
    folder = isolated_weights / "weights"
    folder.mkdir()
    torch.save(legacy_checkpoint(3), folder / "rain_princess.pth")
    model = FastNeuralStyle(style="rain_princess", weights_dir=str(folder))
    assert model.weights()["file"] == str(folder / "rain_princess.pth")


def test_missing_weights_name_the_file(isolated_weights):
    from hypercon.weights import MissingWeightsError

    with pytest.raises(MissingWeightsError, match="udnie.pth"):
        FastNeuralStyle(style="udnie", weights_dir=str(isolated_weights / "empty"))


def test_wrong_checkpoint_and_unknown_style_fail_clearly(isolated_weights):
    from hypercon.weights import WeightsError

    path = isolated_weights / "mosaic.pth"
    torch.save({"conv1.conv2d.weight": torch.zeros(32, 3, 9, 9)}, path)
    with pytest.raises(WeightsError, match="mosaic.pth.*TransformerNet"):
        FastNeuralStyle(style="mosaic", weights=str(path))
    with pytest.raises(ValueError, match="style must be one of"):
        FastNeuralStyle(style="starry_night", weights=str(path))


@pytest.mark.gpu
def test_cuda_matches_cpu():
    net = load_transformer_net(legacy_checkpoint(4))
    frames = torch.rand(2, 3, 18, 22)
    with torch.no_grad():
        cpu = fst_stylize(net, frames)
        gpu = fst_stylize(net.cuda(), frames.cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=2e-3)
