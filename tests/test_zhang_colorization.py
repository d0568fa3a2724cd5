"""Zhang et al.'s colourisation networks (ECCV16, SIGGRAPH17): synthetic state dicts with richzhang/colorization's
key names and shapes load strictly through the one loader; the frame-wise model keeps the size and the
lightness; bad checkpoints and missing files fail in one line naming the file. Also the weight-free bicubic."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from hypercon.models.bicubic import Bicubic
from hypercon.models.zhang_colorization import ZhangColorization, load_colorizer
from hypercon.tasks import luma_input, rgb_to_lab, sr2x_input

FILES = {"eccv16": "colorization_release_v2-9b330a0b.pth", "siggraph17": "siggraph17-df00044c.pth"}


def upstream_shapes(variant: str) -> dict[str, tuple[int, ...]]:
    """Key → shape of upstream's ECCVGenerator / SIGGRAPHGenerator state dict, written from their layer lists
    (``modelK = [conv, ReLU, conv, ReLU, …, norm]``: convs at even indices, the norm last)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(key: str, cin: int, cout: int, k: int = 3, bias: bool = True) -> None:
        shapes[f"{key}.weight"] = (cout, cin, k, k)
        if bias:
            shapes[f"{key}.bias"] = (cout,)

    def deconv(key: str, cin: int, cout: int) -> None:  # ConvTranspose2d 4×4: weight [in, out, k, k]
        shapes[f"{key}.weight"], shapes[f"{key}.bias"] = (cin, cout, 4, 4), (cout,)

    def norm(key: str, c: int) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{key}.{name}"] = (c,)
        shapes[f"{key}.num_batches_tracked"] = ()

    first = 1 if variant == "eccv16" else 4  # L, or L + ab hints + mask
    conv("model1.0", first, 64), conv("model1.2", 64, 64), norm("model1.4", 64)
    conv("model2.0", 64, 128), conv("model2.2", 128, 128), norm("model2.4", 128)
    conv("model3.0", 128, 256), conv("model3.2", 256, 256), conv("model3.4", 256, 256), norm("model3.6", 256)
    conv("model4.0", 256, 512), conv("model4.2", 512, 512), conv("model4.4", 512, 512), norm("model4.6", 512)
    for k in (5, 6, 7):
        conv(f"model{k}.0", 512, 512), conv(f"model{k}.2", 512, 512), conv(f"model{k}.4", 512, 512)
        norm(f"model{k}.6", 512)
    if variant == "eccv16":
        deconv("model8.0", 512, 256), conv("model8.2", 256, 256), conv("model8.4", 256, 256)
        conv("model8.6", 256, 313, k=1)
        conv("model_out", 313, 2, k=1, bias=False)
        return shapes
    deconv("model8up.0", 512, 256), conv("model3short8.0", 256, 256)
    conv("model8.1", 256, 256), conv("model8.3", 256, 256), norm("model8.5", 256)  # model8 starts with a ReLU
    deconv("model9up.0", 256, 128), conv("model2short9.0", 128, 128)
    conv("model9.1", 128, 128), norm("model9.3", 128)
    deconv("model10up.0", 128, 128), conv("model1short10.0", 64, 128)
    conv("model10.1", 128, 128)
    conv("model_class.0", 256, 529, k=1), conv("model_out.0", 128, 2, k=1)
    return shapes


def synthetic_state(variant: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Small random weights (so the predicted ab stay small), unit running variances."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in upstream_shapes(variant).items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(0)
        elif key.endswith("running_var"):
            state[key] = torch.ones(shape)
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.01
    return state


@pytest.fixture
def weights_dir(tmp_path, monkeypatch) -> Path:
    """An isolated weights folder; no real weights, hub cache or lock file leaks in."""
    import hypercon.weights.registry as reg

    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.setenv("HYPERCON_WEIGHTS_LOCK", str(tmp_path / "lock.json"))
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    (tmp_path / "weights").mkdir()
    return tmp_path / "weights"


def stand_in(monkeypatch, folder: Path, variant: str, state: dict) -> Path:
    """Save ``state`` under the upstream file name and register it (its sha256) in a test manifest."""
    path = folder / FILES[variant]
    torch.save(state, path)
    entry = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    manifest = folder.parent / "manifest.json"
    manifest.write_text(json.dumps({"entries": {f"zhang_{variant}": entry}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
    return path


@pytest.mark.parametrize("variant", ["eccv16", "siggraph17"])
def test_networks_have_the_upstream_keys_and_shapes(variant):
    net = load_colorizer(synthetic_state(variant), variant, source=FILES[variant])
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == upstream_shapes(variant)
    assert not net.training


@pytest.mark.parametrize("variant", ["eccv16", "siggraph17"])
def test_model_loads_the_file_and_colourises_any_size(variant, weights_dir, monkeypatch):
    path = stand_in(monkeypatch, weights_dir, variant, synthetic_state(variant, seed=1))
    model = ZhangColorization(variant=variant, weights_dir=str(weights_dir))
    assert model.weights()["file"] == str(path) and model.provenance()["tier"] == "test"  # a stand-in
    assert model.tier == "paper" and model.options() == {"variant": variant}
    assert model.display_label() == {"eccv16": "Zhang ECCV16", "siggraph17": "Zhang SIGGRAPH17"}[variant]
    frames = luma_input(torch.rand(1, 3, 20, 28) * 0.6 + 0.2)  # the colorize task's input, not 256×256
    out = model(frames)
    assert out.shape == frames.shape and out.min() >= 0 and out.max() <= 1
    # the full-size L of the input is kept (small random weights: small ab, no clipping)
    torch.testing.assert_close(rgb_to_lab(out)[:, 0], rgb_to_lab(frames)[:, 0], atol=0.5, rtol=0)


def test_checkpoint_without_batchnorm_counters_loads():
    state = {k: v for k, v in synthetic_state("eccv16").items() if not k.endswith("num_batches_tracked")}
    load_colorizer(state, "eccv16")  # saved before torch 0.4.1: torch fills the counters in


def test_missing_key_or_wrong_shape_is_refused_in_one_line_naming_the_file(weights_dir, monkeypatch):
    from hypercon.weights import WeightsError

    state = synthetic_state("eccv16")
    del state["model_out.weight"]
    with pytest.raises(ValueError, match=r"^ckpt.pth is not a Zhang et al. eccv16 .*: missing model_out.weight$"):
        load_colorizer(state, "eccv16", source="ckpt.pth")
    state = synthetic_state("eccv16")
    state["model8.6.weight"] = torch.zeros(312, 256, 1, 1)
    with pytest.raises(ValueError, match=r"wrong shape model8.6.weight \(312, 256, 1, 1\) \(expected \(313, 256"):
        load_colorizer(state, "eccv16", source="ckpt.pth")
    with pytest.raises(ValueError, match="unexpected model_class.0.weight"):  # a SIGGRAPH17 head in ECCV16
        load_colorizer({**synthetic_state("eccv16"), "model_class.0.weight": torch.zeros(1)}, "eccv16")
    path = stand_in(monkeypatch, weights_dir, "siggraph17", {"model1.0.weight": torch.zeros(64, 4, 3, 3)})
    with pytest.raises(WeightsError) as info:
        ZhangColorization(variant="siggraph17", weights_dir=str(weights_dir))
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "missing model1.0.bias" in message
    assert "more)" in message


def test_missing_file_stops_construction_naming_file_place_and_source(weights_dir, monkeypatch):
    from hypercon.weights import MissingWeightsError

    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    with pytest.raises(MissingWeightsError) as info:
        ZhangColorization(variant="eccv16", weights_dir=str(weights_dir))
    message = str(info.value)
    assert FILES["eccv16"] in message and f"Put it at {weights_dir / FILES['eccv16']}" in message
    assert "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth" in message
    with pytest.raises(ValueError, match="variant must be one of eccv16, siggraph17"):
        ZhangColorization(variant="eccv17")


def test_bicubic_returns_the_sr2x_input():
    frames = torch.rand(2, 3, 12, 17)
    upsampled = sr2x_input(frames)
    model = Bicubic()
    assert model.tier == "offline" and model.weights() is None
    torch.testing.assert_close(model(upsampled), upsampled, rtol=0, atol=0)
