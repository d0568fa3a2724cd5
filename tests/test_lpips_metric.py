"""LPIPS metric: trunk really loaded from the registry file, value equals an independent formula."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision

import hypercon.weights.registry as reg
from hypercon.weights import MissingWeightsError, WeightsHashError, load_manifest
from metrics.base import EvalVideo, MetricUnavailable
from metrics.lpips import LPIPSMetric, map_trunk_keys

ALEX_RELU_ENDS = (1, 4, 7, 9, 11)  # torchvision alexnet.features indices of relu1..relu5


@pytest.fixture
def alex_trunk(tmp_path, monkeypatch):
    """A seeded random torchvision AlexNet 'features' state dict registered as lpips_alex_trunk."""
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    monkeypatch.setenv("HYPERCON_WEIGHTS", str(tmp_path))
    torch.manual_seed(3)
    alex = torchvision.models.alexnet(weights=None)
    state = {k: v for k, v in alex.state_dict().items() if k.startswith("features.")}
    path = tmp_path / "alexnet-standin.pth"
    torch.save(state, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _register(tmp_path, monkeypatch, path)
    return alex.eval(), path, digest


def _register(tmp_path: Path, monkeypatch, path: Path) -> None:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = tmp_path / "manifest.json"
    entry = {"file": path.name, "sha256": digest, "url": "https://example.invalid/alex.pth"}
    manifest.write_text(json.dumps({"entries": {"lpips_alex_trunk": entry}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))


def _reference_lpips(alex: torch.nn.Module, lin_state: dict, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """LPIPS v0.1 written out from the paper's definition: scale, trunk relus, unit-normalise, squared
    difference, 1×1 linear head, spatial mean, sum over layers."""
    shift = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)
    xa, xb = ((2 * a - 1) - shift) / scale, ((2 * b - 1) - shift) / scale
    total = torch.zeros(a.shape[0])
    layer = 0
    for i, module in enumerate(alex.features[:12]):
        xa, xb = module(xa), module(xb)
        if i in ALEX_RELU_ENDS:
            na = xa / (xa.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            nb = xb / (xb.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
            w = lin_state[f"lin{layer}.model.1.weight"]
            total += F.conv2d((na - nb) ** 2, w).mean(dim=(1, 2, 3))
            layer += 1
    return total


def test_trunk_loaded_and_value_matches_independent_formula(alex_trunk):
    alex, path, digest = alex_trunk
    metric = LPIPSMetric(net="alex")
    torch.testing.assert_close(metric.model.net.slice2._modules["3"].weight, alex.features[3].weight)
    prov = metric.provenance()
    assert prov["weights"]["trunk"] == {"file": str(path), "sha256": digest, "tier": "test"}
    assert metric.tier == "paper" and prov["tier"] == "test"  # a stand-in from the test manifest
    assert Path(prov["weights"]["lin"]["file"]).name == "alex.pth"
    lin_state = torch.load(prov["weights"]["lin"]["file"], map_location="cpu", weights_only=True)

    gt = torch.rand(3, 3, 40, 48)
    out = (gt + 0.2 * torch.randn_like(gt)).clamp(0, 1)
    video = EvalVideo(name="v", output=out, source=gt, gt=gt)
    value = metric.compute(video)["lpips"]
    with torch.no_grad():
        expected = _reference_lpips(alex, lin_state, gt, out).mean().item()
    assert value == pytest.approx(expected, rel=1e-4)
    assert value > 0
    assert metric.compute(EvalVideo(name="same", output=gt, source=gt, gt=gt))["lpips"] == pytest.approx(0, abs=1e-6)


def test_lin_weights_from_weights_dir_verified_and_bundled_fallback(alex_trunk, tmp_path, monkeypatch):
    import lpips

    _, trunk, _ = alex_trunk
    bundled = Path(lpips.__file__).parent / "weights" / "v0.1" / "alex.pth"
    assert LPIPSMetric(net="alex").provenance()["weights"]["lin"]["file"] == str(bundled)
    wdir = tmp_path / "wdir"
    (wdir / "lpips-v0.1").mkdir(parents=True)
    lin = wdir / "lpips-v0.1" / "alex.pth"
    lin.write_bytes(bundled.read_bytes())
    metric = LPIPSMetric(net="alex", weights=str(trunk), weights_dir=str(wdir))
    published = load_manifest()["lpips_lin_alex"].sha256
    assert metric.provenance()["weights"]["lin"] == {"file": str(lin), "sha256": published}
    partial = tmp_path / "partial.pth"
    torch.save({"lin0.model.1.weight": torch.zeros(1, 64, 1, 1)}, partial)
    with pytest.raises(WeightsHashError):  # not the published v0.1 file
        LPIPSMetric(net="alex", weights=str(trunk), lin_weights=str(partial))
    manifest = json.loads(Path(os.environ["HYPERCON_WEIGHTS_MANIFEST"]).read_text())
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    manifest["entries"]["lpips_lin_alex"] = {"file": "partial.pth", "sha256": digest}
    Path(os.environ["HYPERCON_WEIGHTS_MANIFEST"]).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="expected"):
        LPIPSMetric(net="alex", weights=str(trunk), lin_weights=str(partial))


def test_compare_with_and_missing_inputs(alex_trunk):
    frames = torch.rand(2, 3, 16, 16)
    style = EvalVideo(name="s", output=frames, source=frames, reference=frames.flip(0))
    inpaint = EvalVideo(name="i", output=frames, source=frames, gt=frames, reference=frames)
    auto, gt = LPIPSMetric(net="alex"), LPIPSMetric(net="alex", compare_with="gt")
    assert auto.target_frames(style) is style.reference and auto.target_frames(inpaint) is inpaint.gt
    assert auto.needs_reference(has_gt=False) and not auto.needs_reference(has_gt=True)
    assert auto.key_specs()["lpips"].compare_with == "auto" and gt.key_specs()["lpips"].compare_with == "gt"
    assert auto.provenance()["options"]["compare_with"] == "auto"
    with pytest.raises(MetricUnavailable, match="no gt frames"):
        gt.target_frames(style)
    with pytest.raises(MetricUnavailable, match="differ in shape"):
        gt.target_frames(EvalVideo(name="x", output=frames, source=frames, gt=frames[:1]))
    with pytest.raises(ValueError, match="compare_with"):
        LPIPSMetric(compare_with="both")


def test_missing_trunk_file_fails_in_constructor(tmp_path, monkeypatch):
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    with pytest.raises(MissingWeightsError) as exc:
        LPIPSMetric(net="alex", weights_dir=str(tmp_path))
    assert "alexnet-owt-7be5be79.pth" in str(exc.value)
    assert "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth" in str(exc.value)


def test_wrong_trunk_file_is_rejected(alex_trunk, tmp_path, monkeypatch):
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(WeightsHashError):  # not the registered file
        LPIPSMetric(net="alex", weights=str(tmp_path / "bad.pth"))
    _register(tmp_path, monkeypatch, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a torchvision alex state dict"):
        LPIPSMetric(net="alex", weights=str(tmp_path / "bad.pth"))


def test_trunk_key_mapping_for_every_net():
    lpips = pytest.importorskip("lpips")
    builders = {"alex": torchvision.models.alexnet, "vgg": torchvision.models.vgg16,
                "squeeze": torchvision.models.squeezenet1_1}
    for net, build in builders.items():
        with torch.device("meta"):  # shapes and names only: no memory, no init cost
            model = lpips.LPIPS(pretrained=False, net=net, pnet_rand=True, verbose=False)
            tv_keys = {k: v for k, v in build(weights=None).state_dict().items() if k.startswith("features.")}
        trunk_keys = [k for k, _ in model.net.named_parameters()]
        mapped = map_trunk_keys(trunk_keys, tv_keys)
        assert set(mapped) == set(trunk_keys)
    with pytest.raises(ValueError, match="lacks"):
        map_trunk_keys(["slice1.0.weight"], {})


@pytest.mark.parametrize("net", ["alex", "vgg", "squeeze"])
def test_min_side_is_the_smallest_frame_each_trunk_runs_on(net):
    import lpips

    from metrics.lpips import MIN_SIDE

    model = lpips.LPIPS(pretrained=False, net=net, version="0.1", pnet_rand=True, verbose=False).eval()
    side = MIN_SIDE[net]
    with torch.no_grad():
        model(torch.rand(1, 3, side, side + 5), torch.rand(1, 3, side, side + 5), normalize=True)
        with pytest.raises(RuntimeError, match="too small"):
            model(torch.rand(1, 3, side - 1, side + 5), torch.rand(1, 3, side - 1, side + 5), normalize=True)


def test_frames_smaller_than_the_trunk_are_unavailable_not_a_traceback(alex_trunk):
    frames = torch.rand(2, 3, 1, 1)
    video = EvalVideo(name="v", output=frames, source=frames, gt=frames.flip(0))
    with pytest.raises(MetricUnavailable, match="lpips: v frames 1x1 are smaller than the 31x31 input of LPIPS's alex"):
        LPIPSMetric(net="alex").compute(video)
