"""Training kit: perceptual trunks. Layer names, the seeded random VGG, the strict ImageNet loader, configs."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch
import torch.nn.functional as F
from hydra.errors import InstantiationException
from hydra.utils import instantiate

import hypercon.weights.registry as reg
from baselines.common.cli import compose_train_config
from baselines.common.perceptual import (
    CLASSIFIER_KEYS,
    build_pixel,
    build_vgg_imagenet,
    build_vgg_random,
    calibration_frames,
    vgg_features,
    vgg_layer_names,
)
from hypercon.weights import MissingWeightsError, WeightsError

TAPS = ("relu1_2", "relu2_2", "relu3_3")


def test_vgg_layer_names_follow_the_papers():
    names16, names19 = vgg_layer_names(vgg_features("vgg16")), vgg_layer_names(vgg_features("vgg19"))
    assert names16[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert names16.index("relu4_3") == 22 and names16[-1] == "pool5"
    assert {"relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"} <= set(names19)
    assert names19.index("relu4_2") == 22 and names19.index("relu5_1") == 29


@pytest.fixture(scope="module")
def random_vgg():
    return build_vgg_random("vgg16", TAPS, seed=0, calibration_size=32)


def test_vgg_random_is_deterministic_per_seed(random_vgg):
    same = build_vgg_random("vgg16", TAPS, seed=0, calibration_size=32)
    other = build_vgg_random("vgg16", TAPS, seed=1, calibration_size=32)
    state, state_same, state_other = random_vgg.state_dict(), same.state_dict(), other.state_dict()
    assert all(torch.equal(state[k], state_same[k]) for k in state)
    assert not torch.equal(state["trunk.features.0.weight"], state_other["trunk.features.0.weight"])
    assert random_vgg.tier == "offline" and random_vgg.options()["seed"] == 0


def test_vgg_random_taps_have_unit_channel_std_on_calibration_frames(random_vgg):
    with torch.no_grad():
        feats = random_vgg.features(calibration_frames(32))
    assert list(feats) == list(TAPS)
    for name, f in feats.items():
        std = f.std(dim=(0, 2, 3), unbiased=False)
        alive = std > 0
        assert alive.float().mean() > 0.5, name
        torch.testing.assert_close(std[alive], torch.ones_like(std[alive]), rtol=1e-4, atol=1e-4)


def test_gradients_reach_the_input_not_the_trunk(random_vgg):
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    random_vgg(x, torch.rand(1, 3, 16, 16)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in random_vgg.parameters())


def test_pixel_is_l1_on_pixels():
    a, b = torch.rand(2, 3, 5, 6), torch.rand(2, 3, 5, 6)
    loss = build_pixel()
    torch.testing.assert_close(loss(a, b), F.l1_loss(a, b))
    assert loss.tier == "offline" and loss.provenance()["options"]["distance"] == "l1"


@pytest.fixture
def vgg16_file(tmp_path, monkeypatch):
    """A synthetic state dict with torchvision's vgg16 key names, registered with its sha256."""
    hub = tmp_path / "hub"
    hub.mkdir()
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: hub)
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    state = {f"features.{k}": torch.randn(v.shape) for k, v in vgg_features("vgg16").state_dict().items()}
    state.update({k: torch.zeros(1) for k in CLASSIFIER_KEYS})  # not loaded: only the names are checked
    path = tmp_path / "vgg16-397923af.pth"
    torch.save(state, path)
    manifest = tmp_path / "manifest.json"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest.write_text(json.dumps({"entries": {"lpips_vgg_trunk": {"file": path.name, "sha256": digest}}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
    return path, state, digest


def test_imagenet_loader_takes_torchvision_keys_strictly(vgg16_file):
    path, state, digest = vgg16_file
    loss = build_vgg_imagenet("vgg16", ("relu1_2", "relu2_2"), weights_dir=str(path.parent))
    assert loss.tier == "paper" and loss.weights() == {"file": str(path), "sha256": digest, "tier": "test"}
    assert torch.equal(loss.trunk.features[2].weight, state["features.2.weight"])
    del state["classifier.6.bias"]
    torch.save(state, path)
    with pytest.raises(WeightsError, match="sha256"):  # the manifest digest no longer matches
        build_vgg_imagenet("vgg16", weights=str(path))


def test_imagenet_loader_refuses_foreign_keys(vgg16_file, monkeypatch, tmp_path):
    path, state, _ = vgg16_file
    state["features.99.weight"] = torch.zeros(1)
    torch.save(state, path)
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(tmp_path / "manifest_nohash.json"))
    (tmp_path / "manifest_nohash.json").write_text(json.dumps({"entries": {"lpips_vgg_trunk": {"file": path.name}}}))
    with pytest.raises(ValueError, match="features.99.weight"):
        build_vgg_imagenet("vgg16", weights=str(path))


def test_missing_imagenet_weights_fail_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path)
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    with pytest.raises(MissingWeightsError, match="vgg19-dcbb9e9d.pth"):
        build_vgg_imagenet("vgg19", weights_dir=str(tmp_path))


@pytest.mark.parametrize("option", ["pixel", "vgg_random", "vgg16_imagenet", "vgg19_imagenet"])
def test_perceptual_configs_compose_and_instantiate(option, tmp_path, monkeypatch):
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path)
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    cfg = compose_train_config("example", [f"perceptual={option}", f"weights_dir={tmp_path}",
                                           "perceptual.taps=[relu1_2]" if option != "pixel" else "seed=0"])
    if option.endswith("imagenet"):
        with pytest.raises(InstantiationException) as exc:
            instantiate(cfg.perceptual)
        assert isinstance(exc.value.__cause__, MissingWeightsError)
        return
    loss = instantiate(cfg.perceptual)
    assert loss.name == option and loss(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)).ndim == 0
