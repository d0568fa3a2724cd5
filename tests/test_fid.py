"""FID: pytorch-fid's network with registry weights (random stand-in), pooling, cache, missing/wrong files."""

from __future__ import annotations

import copy
import hashlib
import json
import logging

import numpy as np
import pytest
import torch

import hypercon.weights.registry as reg
from hypercon.io.array_cache import stack_folder
from hypercon.weights import MissingWeightsError, WeightsHashError
from metrics import fid as fid_mod
from metrics.base import EvalVideo, MetricUnavailable
from metrics.fid import FID, fid_inception_skeleton
from metrics.frechet import frechet_distance_of_features


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """A seeded random FID-Inception state dict saved once per module: (path, sha256, state)."""
    folder = tmp_path_factory.mktemp("fid_weights")
    torch.manual_seed(7)
    state = fid_inception_skeleton().state_dict()
    path = folder / "pt_inception-standin.pth"
    torch.save(state, path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), state


@pytest.fixture(scope="module")
def fid_metric(standin, tmp_path_factory):
    """FID built once per module from the stand-in registered in a test manifest."""
    path, digest, _ = standin
    folder = tmp_path_factory.mktemp("fid_manifest")
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({"entries": {"fid_inception": {"file": path.name, "sha256": digest}}}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reg, "hub_checkpoints_dir", lambda: folder / "hub")
        mp.setenv("HYPERCON_WEIGHTS", str(path.parent))
        mp.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
        yield FID()


class _CheapPool3(torch.nn.Module):
    """Stand-in for the Inception forward in pooling/caching tests: a fixed random projection of the
    8×8-downsampled frame to 2048-d, returned like pytorch-fid's InceptionV3 ([N,2048,1,1] in a list)."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3 * 64, 2048)

    def forward(self, x):
        small = torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1)
        return [self.proj(small)[:, :, None, None]]


def _cheap(metric: FID, **changes) -> FID:
    clone = copy.copy(metric)
    clone.model = _CheapPool3()
    clone.__dict__.update(changes)
    return clone


def test_features_equal_pytorch_fid_construction_path(fid_metric, standin, monkeypatch):
    import pytorch_fid.inception as pfi

    path, digest, state = standin
    assert fid_metric.provenance()["weights"] == {"file": str(path), "sha256": digest, "tier": "test"}
    assert fid_metric.tier == "paper" and fid_metric.provenance()["tier"] == "test"  # a stand-in, not a paper number
    frames = torch.rand(2, 3, 40, 56)
    ours = fid_mod.inception_features(fid_metric.model, frames)
    assert ours.shape == (2, 2048) and ours.dtype == np.float32
    # pytorch-fid's own constructor, its download replaced by the stand-in state dict
    monkeypatch.setattr(pfi, "load_state_dict_from_url", lambda url, progress=True: state)
    theirs_model = pfi.InceptionV3([3]).eval()
    with torch.no_grad():
        theirs = theirs_model(frames)[0].flatten(1).numpy()
    np.testing.assert_array_equal(ours, theirs)  # the same modules and ops: equal to the bit


def test_fid_pools_videos(fid_metric, tmp_path, caplog):
    torch.manual_seed(0)
    metric = _cheap(fid_metric, batch_size=2)
    gt = torch.rand(3, 3, 24, 32)
    known = torch.ones(3, 1, 24, 32)
    known[:, :, 8:16, 8:20] = 0
    out = torch.rand(3, 3, 24, 32)
    inpaint = EvalVideo(name="a", output=out, source=gt, known=known, gt=gt)
    style = EvalVideo(name="b", output=gt.flip(0), source=gt, reference=gt)
    feats = [metric.features(inpaint), metric.features(style)]
    assert feats[0]["pred"].shape == (3, 2048) and feats[0]["ref"].shape == (3, 2048)
    if hasattr(inpaint, "evaluated_output"):  # the output is composited with the known pixels first
        expected = fid_mod.inception_features(metric.model, inpaint.evaluated_output())
        np.testing.assert_allclose(feats[0]["pred"], expected, rtol=1e-5, atol=1e-6)
    with caplog.at_level(logging.WARNING, logger="metrics.fid"):
        value = metric.compute(feats)["fid"]
    assert "rank-deficient" in caplog.text
    pred = np.concatenate([f["pred"] for f in feats])
    ref = np.concatenate([f["ref"] for f in feats])
    assert value == pytest.approx(frechet_distance_of_features(pred, ref), rel=1e-9) and value > 0
    # style video b's output is a permutation of its reference: same feature set
    np.testing.assert_allclose(np.sort(feats[1]["pred"], 0), np.sort(feats[1]["ref"], 0), rtol=1e-5, atol=1e-6)
    assert metric.compute([feats[1]])["fid"] == pytest.approx(0.0, abs=1e-6)
    metric.compare_with = "reference"
    with pytest.raises(MetricUnavailable, match="no reference"):
        metric.features(EvalVideo(name="c", output=gt, source=gt, gt=gt))


def test_target_features_are_cached_by_frame_content(fid_metric, tmp_path, monkeypatch):
    metric = _cheap(fid_metric, cache_dir=tmp_path / "cache" / "fid")
    gt = torch.rand(2, 3, 16, 16)
    first = metric.features(EvalVideo(name="a", output=gt, source=gt, gt=gt))["ref"]
    assert len(list((tmp_path / "cache" / "fid" / stack_folder()).glob("target-*.npz"))) == 1
    calls = []
    real = fid_mod.inception_features
    monkeypatch.setattr(fid_mod, "inception_features", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = metric.features(EvalVideo(name="a2", output=gt, source=gt, gt=gt))["ref"]
    np.testing.assert_array_equal(first, again)
    assert len(calls) == 1  # only the output frames went through the network
    metric.features(EvalVideo(name="a3", output=gt, source=gt, gt=gt.flip(0)))
    assert len(list((tmp_path / "cache" / "fid" / stack_folder()).glob("target-*.npz"))) == 2


def test_missing_and_wrong_weights(standin, tmp_path, monkeypatch):
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    with pytest.raises(MissingWeightsError) as exc:
        FID(weights_dir=str(tmp_path))
    assert "pt_inception-2015-12-05-6726825d.pth" in str(exc.value)
    assert "github.com/mseitzer/pytorch-fid/releases" in str(exc.value)
    # the stand-in under the real file name: its sha256 does not start with the published prefix 6726825d
    target = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    target.symlink_to(standin[0])
    with pytest.raises(WeightsHashError, match="6726825d"):
        FID(weights_dir=str(tmp_path))
    with pytest.raises(ValueError, match="compare_with"):
        FID(compare_with="frames")
