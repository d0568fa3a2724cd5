"""PWC-Net: pure-PyTorch cost volume, PWC backwarp, upstream key spellings, size handling, real weights."""

from __future__ import annotations

import hashlib
import json

import cv2
import numpy as np
import pytest
import torch
from torch import nn

from hypercon.checks import frames_from_uint8
from hypercon.flow.correlation import correlation
from hypercon.flow.pwcnet import PWCNet, PWCNetFlow, load_pwcnet_state_dict, pwc_backwarp, pwcnet_flow
from hypercon.io.flo import flo_valid, read_flo

NUMBERS = ("One", "Two", "Thr", "Fou", "Fiv", "Six")


def correlation_loop(one: np.ndarray, two: np.ndarray, d: int) -> np.ndarray:
    """Direct formula: out[b, (dy+d)(2d+1)+(dx+d), y, x] = mean_c one[b,c,y,x] two[b,c,y+dy,x+dx] (0 outside)."""
    b, c, h, w = one.shape
    k = 2 * d + 1
    out = np.zeros((b, k * k, h, w))
    for n in range(b):
        for y in range(h):
            for x in range(w):
                for dy in range(-d, d + 1):
                    for dx in range(-d, d + 1):
                        if 0 <= y + dy < h and 0 <= x + dx < w:
                            products = one[n, :, y, x] * two[n, :, y + dy, x + dx]
                            out[n, (dy + d) * k + dx + d, y, x] = products.sum() / c
    return out


@pytest.mark.parametrize("d", [1, 4])
def test_correlation_matches_loop_formula(d):
    one, two = torch.randn(2, 5, 6, 7), torch.randn(2, 5, 6, 7)
    expected = torch.from_numpy(correlation_loop(one.double().numpy(), two.double().numpy(), d)).float()
    out = correlation(one, two, d)
    assert out.shape == (2, (2 * d + 1) ** 2, 6, 7)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_correlation_channel_order_dx_fastest():
    one = torch.zeros(1, 1, 9, 9)
    two = torch.zeros(1, 1, 9, 9)
    one[0, 0, 4, 4] = 1.0
    two[0, 0, 4 + 1, 4 + 3] = 2.0  # the match is at dy = +1, dx = +3
    out = correlation(one, two, 4)
    assert out[0, :, 4, 4].argmax().item() == (1 + 4) * 9 + (3 + 4)
    assert out[0, (1 + 4) * 9 + (3 + 4), 4, 4].item() == 2.0


def test_pwc_backwarp_integer_shift_and_zeroed_border():
    image = torch.rand(1, 3, 6, 8)
    flow = torch.zeros(1, 2, 6, 8)
    flow[:, 0] = 2.0
    out = pwc_backwarp(image, flow)
    torch.testing.assert_close(out[..., :-2], image[..., 2:])
    assert (out[..., -2:] == 0).all()  # samples beyond the last column are zeroed, not clamped
    flow[:, 0] = 0.5
    out = pwc_backwarp(image, flow)
    assert (out[..., -1] == 0).all() and (out[..., :-1] != 0).all()


def upstream_name(key: str) -> str:
    """Our key → sniklaus/pytorch-pwc's ``net*`` key, written from upstream run.py's module tree."""
    parts = key.split(".")
    if parts[0] == "features":  # features.levels.{i}.{j}.{p} -> netExtractor.net{I}.{j}.{p}
        return f"netExtractor.net{NUMBERS[int(parts[2])]}.{parts[3]}.{parts[4]}"
    if parts[0] == "refiner":
        return f"netRefiner.netMain.{parts[1]}.{parts[2]}"
    level = NUMBERS[int(parts[1]) - 1]
    if parts[2] == "upflow":
        return f"net{level}.netUpflow.{parts[3]}"
    if parts[2] == "upfeat":
        return f"net{level}.netUpfeat.{parts[3]}"
    if parts[2] == "dense":  # decoders.{l}.dense.{i}.0.{p}
        return f"net{level}.net{NUMBERS[int(parts[3])]}.0.{parts[5]}"
    assert parts[2] == "predict"
    return f"net{level}.netSix.0.{parts[3]}"


@pytest.fixture(scope="module")
def upstream_state():
    torch.manual_seed(1)
    net = PWCNet()
    return {upstream_name(k): v for k, v in net.state_dict().items()}


def test_upstream_keys_have_upstream_shapes(upstream_state):
    # shapes read off upstream run.py (Conv2d: [out,in,k,k], ConvTranspose2d: [in,out,k,k])
    assert len(upstream_state) == 126
    expected = {
        "netExtractor.netOne.0.weight": (16, 3, 3, 3),
        "netExtractor.netSix.4.weight": (196, 196, 3, 3),
        "netSix.netOne.0.weight": (128, 81, 3, 3),
        "netSix.netSix.0.weight": (2, 81 + 448, 3, 3),
        "netFiv.netOne.0.weight": (128, 81 + 128 + 4, 3, 3),
        "netFiv.netUpfeat.weight": (81 + 448, 2, 4, 4),
        "netTwo.netUpflow.weight": (2, 2, 4, 4),
        "netTwo.netUpfeat.weight": (81 + 64 + 4 + 448, 2, 4, 4),
        "netTwo.netFiv.0.weight": (32, 81 + 32 + 4 + 128 + 128 + 96 + 64, 3, 3),
        "netRefiner.netMain.0.weight": (128, 565, 3, 3),
        "netRefiner.netMain.8.weight": (64, 96, 3, 3),
        "netRefiner.netMain.12.weight": (2, 32, 3, 3),
    }
    for key, shape in expected.items():
        assert tuple(upstream_state[key].shape) == shape, key
    assert "netSix.netUpflow.weight" not in upstream_state


@pytest.mark.parametrize("spelling", ["net", "module"])
def test_loader_accepts_both_spellings(upstream_state, spelling):
    state = {k.replace("net", spelling): v for k, v in upstream_state.items()}
    if spelling == "module":
        assert "moduleExtractor.moduleOne.0.weight" in state
    net = load_pwcnet_state_dict(state)
    assert not net.training
    for key, value in net.state_dict().items():
        assert torch.equal(value, upstream_state[upstream_name(key)]), key


def test_loader_is_strict(upstream_state):
    state = dict(upstream_state)
    state.pop("netRefiner.netMain.12.bias")
    with pytest.raises(RuntimeError, match="Missing key"):
        load_pwcnet_state_dict(state)
    with pytest.raises(KeyError, match="netBogus"):
        load_pwcnet_state_dict({**upstream_state, "netBogus.weight": torch.zeros(1)})
    bad = dict(upstream_state)
    bad["netSix.netOne.0.weight"] = torch.zeros(128, 80, 3, 3)
    with pytest.raises(RuntimeError, match="size mismatch"):
        load_pwcnet_state_dict(bad)


def test_forward_shapes(upstream_state):
    net = load_pwcnet_state_dict(upstream_state)
    with torch.inference_mode():
        assert net(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)).shape == (1, 2, 16, 16)
        flow = pwcnet_flow(net, torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96))
    assert flow.shape == (1, 2, 64, 96) and torch.isfinite(flow).all()


class ConstantFlowNet(nn.Module):
    """Stand-in network: records its inputs, returns a constant flow (a, b) at 1/4 resolution."""

    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.a, self.b, self.seen = a, b, []

    def forward(self, one, two):
        self.seen.append(one)
        flow = torch.ones(one.shape[0], 2, one.shape[2] // 4, one.shape[3] // 4)
        return flow * torch.tensor([self.a, self.b]).view(1, 2, 1, 1)


def test_resize_to_64_and_flow_rescaling():
    net = ConstantFlowNet(6.4, -3.2)
    src = torch.rand(2, 3, 50, 70)
    src[:, 0], src[:, 2] = 0.9, 0.1  # R high, B low
    flow = pwcnet_flow(net, src, torch.rand(2, 3, 50, 70))
    (seen,) = net.seen
    assert seen.shape == (2, 3, 64, 128)  # ceil to multiples of 64
    assert torch.allclose(seen[:, 0], torch.tensor(0.1)) and torch.allclose(seen[:, 2], torch.tensor(0.9))  # BGR
    assert flow.shape == (2, 2, 50, 70)
    torch.testing.assert_close(flow[:, 0], torch.full((2, 50, 70), 6.4 * 70 / 128))
    torch.testing.assert_close(flow[:, 1], torch.full((2, 50, 70), -3.2 * 50 / 64))


def test_wrapper_loads_stand_in_by_path(upstream_state, tmp_path, monkeypatch):
    path = tmp_path / "network-random.pytorch"
    torch.save({k.replace("net", "module"): v for k, v in upstream_state.items()}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"entries": {"pwcnet": {"file": path.name, "sha256": digest}}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(manifest))
    est = PWCNetFlow(weights=str(path))
    assert est.tier == "paper" and est.weights() == {"file": str(path), "sha256": digest, "tier": "test"}
    flow = est(torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96))
    assert flow.shape == (1, 2, 64, 96) and flow.dtype == torch.float32


def _real_pwcnet():
    try:
        from hypercon.weights import WeightsError

        return PWCNetFlow()
    except WeightsError as exc:
        pytest.skip(f"real PWC-Net weights not available: {str(exc).splitlines()[0]}")


def test_matches_official_caffe_flow_on_sintel(shared_dir):
    est = _real_pwcnet()
    folder = shared_dir / "data/sintel-pair"
    frames = [cv2.cvtColor(cv2.imread(str(folder / f"{n}.png")), cv2.COLOR_BGR2RGB) for n in ("one", "two")]
    frames = frames_from_uint8(np.stack(frames))
    flow = est(frames[:1], frames[1:])[0].permute(1, 2, 0).numpy()
    caffe = read_flo(folder / "pwcnet_caffe_one_to_two.flo")
    valid = flo_valid(caffe)
    epe = float(np.linalg.norm(flow - caffe, axis=-1)[valid].mean())
    assert epe <= 0.1, epe


@pytest.mark.gpu
def test_cuda_matches_cpu(upstream_state):
    one, two = torch.randn(2, 32, 20, 24), torch.randn(2, 32, 20, 24)
    torch.testing.assert_close(correlation(one.cuda(), two.cuda()).cpu(), correlation(one, two), atol=1e-5, rtol=1e-4)
    net = load_pwcnet_state_dict(upstream_state)
    src, dst = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96)
    with torch.inference_mode():
        cpu = pwcnet_flow(net, src, dst)
        gpu = pwcnet_flow(net.cuda(), src.cuda(), dst.cuda())
    assert gpu.is_cuda
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-2, rtol=1e-2)  # cuDNN may use TF32
