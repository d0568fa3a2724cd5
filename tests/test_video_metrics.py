"""VLPIPS and VFID on a random-weight I3D stand-in registered in a test manifest."""

from __future__ import annotations

import hashlib
import json
import logging

import numpy as np
import pytest
import torch

import hypercon.weights.registry as reg
from hypercon.weights import MissingWeightsError
from metrics import i3d as i3d_mod
from metrics.base import EvalVideo, MetricUnavailable
from metrics.frechet import frechet_distance_of_features
from metrics.i3d import InceptionI3d, window_clips
from metrics.vfid import VFID, pooled_i3d_features
from metrics.vlpips import VLPIPS, VLPIPS_LAYERS, feature_distance, normalize_channels


@pytest.fixture(scope="module")
def i3d_env(tmp_path_factory):
    """Seeded random I3D saved under a test manifest; env set for the whole module."""
    folder = tmp_path_factory.mktemp("i3d")
    torch.manual_seed(11)
    path = folder / "rgb_imagenet.pt"
    torch.save(InceptionI3d().state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({"entries": {"i3d_rgb_imagenet": {"file": path.name, "sha256": digest}}}))
    i3d_mod._CACHE.clear()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reg, "hub_checkpoints_dir", lambda: folder / "hub")
        mp.setenv("HYPERCON_WEIGHTS", str(folder))
        mp.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
        yield path, digest
    i3d_mod._CACHE.clear()


def test_feature_distance_matches_direct_formula():
    torch.manual_seed(0)
    fa = {k: torch.randn(2, 4, 2, 3, 3) for k in VLPIPS_LAYERS}
    fb = {k: torch.randn(2, 4, 2, 3, 3) for k in VLPIPS_LAYERS}
    expected = torch.zeros(2)
    for k in VLPIPS_LAYERS:
        for b in range(2):
            acc = 0.0
            for t in range(2):
                for y in range(3):
                    for x in range(3):
                        va, vb = fa[k][b, :, t, y, x], fb[k][b, :, t, y, x]
                        acc += ((va / (va.norm() + 1e-10) - vb / (vb.norm() + 1e-10)) ** 2).sum()
            expected[b] += acc / 18
    torch.testing.assert_close(feature_distance(fa, fb), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(feature_distance(fa, fa), torch.zeros(2))
    assert normalize_channels(torch.zeros(1, 3, 1, 1, 1)).abs().sum() == 0  # eps keeps zeros finite


def test_vlpips_value_windows_and_provenance(i3d_env):
    path, digest = i3d_env
    metric = VLPIPS(batch_size=2)
    prov = metric.provenance()
    assert prov["weights"] == {"file": str(path), "sha256": digest, "tier": "test"} and prov["tier"] == "test"
    assert prov["options"]["input_range"] == "01" and prov["options"]["window"] == 10
    torch.manual_seed(1)
    gt = torch.rand(11, 3, 16, 16)
    out = (gt + 0.3 * torch.randn_like(gt)).clamp(0, 1)
    value = metric.compute(EvalVideo(name="v", output=out, source=gt, gt=gt))["vlpips"]
    with torch.no_grad():  # the two stride-1 windows, by hand
        fa = metric.extractor.extract(torch.stack([gt[0:10], gt[1:11]]).permute(0, 2, 1, 3, 4), VLPIPS_LAYERS)
        fb = metric.extractor.extract(torch.stack([out[0:10], out[1:11]]).permute(0, 2, 1, 3, 4), VLPIPS_LAYERS)
    assert value == pytest.approx(feature_distance(fa, fb).mean().item(), rel=1e-5)
    assert value > 0
    with pytest.raises(MetricUnavailable):
        metric.compute(EvalVideo(name="nogt", output=gt, source=gt))


def test_vlpips_short_video_pads_with_its_own_last_frame(i3d_env):
    metric = VLPIPS(compare_with="reference")
    torch.manual_seed(2)
    ref, out = torch.rand(4, 3, 16, 16), torch.rand(4, 3, 16, 16)
    value = metric.compute(EvalVideo(name="short", output=out, source=ref, reference=ref))["vlpips"]
    pad_ref = torch.cat([ref, ref[-1:].expand(6, -1, -1, -1)])
    pad_out = torch.cat([out, out[-1:].expand(6, -1, -1, -1)])  # NOT the reference's last frame (VIE bug)
    with torch.no_grad():
        fa = metric.extractor.extract(pad_ref.permute(1, 0, 2, 3)[None], VLPIPS_LAYERS)
        fb = metric.extractor.extract(pad_out.permute(1, 0, 2, 3)[None], VLPIPS_LAYERS)
    assert value == pytest.approx(feature_distance(fa, fb).item(), rel=1e-5)


def test_vfid_clips_and_video_modes(i3d_env, caplog):
    path, digest = i3d_env
    metric = VFID(batch_size=2)
    assert metric.provenance()["weights"] == {"file": str(path), "sha256": digest, "tier": "test"}
    torch.manual_seed(3)
    videos = []
    for i, t in enumerate((11, 12)):
        gt = torch.rand(t, 3, 16, 16)
        videos.append(EvalVideo(name=f"v{i}", output=(gt * 0.5 + 0.25), source=gt, gt=gt))
    feats = [metric.features(v) for v in videos]
    assert feats[0]["pred"].shape == (2, 1024) and feats[1]["ref"].shape == (3, 1024)
    with torch.no_grad():
        clip = window_clips(videos[1].gt, [2])
        direct = metric.extractor.extract(clip, ["Mixed_5c"])["Mixed_5c"].mean(dim=(2, 3, 4))
    np.testing.assert_allclose(feats[1]["ref"][2], direct[0].double().numpy(), rtol=1e-5, atol=1e-7)
    with caplog.at_level(logging.WARNING, logger="metrics.vfid"):
        value = metric.compute(feats)["vfid"]
    assert "rank-deficient" in caplog.text
    pred = np.concatenate([f["pred"] for f in feats])
    ref = np.concatenate([f["ref"] for f in feats])
    assert value == pytest.approx(frechet_distance_of_features(pred, ref), rel=1e-9) and value > 0

    whole = pooled_i3d_features(metric.extractor, videos[0].gt, mode="video")
    assert whole.shape == (1, 1024)
    video_mode = VFID(mode="video", input_range="pm1")
    assert video_mode.options()["input_range"] == "pm1" and video_mode.options()["mode"] == "video"
    vf = [video_mode.features(v) for v in videos]
    assert vf[0]["pred"].shape == (1, 1024)
    assert np.isfinite(video_mode.compute(vf)["vfid"])
    with pytest.raises(ValueError, match="at least 2 samples"):
        video_mode.compute(vf[:1])
    with pytest.raises(ValueError, match="mode"):
        VFID(mode="frames")


def test_missing_i3d_weights_fail_in_constructors(tmp_path, monkeypatch):
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    for cls in (VLPIPS, VFID):
        with pytest.raises(MissingWeightsError, match="rgb_imagenet.pt"):
            cls(weights_dir=str(tmp_path))


@pytest.mark.gpu
def test_vlpips_and_vfid_on_cuda_match_cpu(i3d_env):
    torch.manual_seed(5)
    gt = torch.rand(11, 3, 64, 64)
    video = EvalVideo(name="g", output=(gt * 0.8 + 0.1), source=gt, gt=gt)
    cpu = VLPIPS().compute(video)["vlpips"]
    gpu = VLPIPS(device="cuda").compute(video)["vlpips"]
    assert gpu == pytest.approx(cpu, rel=1e-3)
    feats = VFID(device="cuda").features(video)
    assert feats["pred"].shape == (2, 1024) and np.isfinite(feats["pred"]).all()
