"""VINet (baselines/vinet): upstream key names and shapes, strict loading of a synthetic upstream checkpoint
(``{'state_dict': {'module.' + key: …}}``) and its errors, forward shapes at crop_size 64 for both model sizes,
FlowNet2's correlation against a direct loop, the two warps against slicing and identity."""

from __future__ import annotations

import pytest
import torch

from baselines.vinet.flow import WARP_ALIGN_CORNERS, resample2d, upflow, warp_zeros
from baselines.vinet.layers import GatedConv
from baselines.vinet.network import VINet, vinet_from_checkpoint
from hypercon.flow.correlation import correlation
from hypercon.weights import resolve_weights

CROP = 64


@pytest.fixture(scope="module")
def tiny_net() -> VINet:
    torch.manual_seed(0)
    return VINet(CROP, double_size=True).eval()


def upstream_checkpoint(net: VINet) -> dict:
    """What upstream's DataParallel-wrapped model saved: ``{'state_dict': {'module.' + key: tensor}}``."""
    return {"state_dict": {"module." + k: v.clone() for k, v in net.state_dict().items()}}


def step_inputs(batch: int = 1, size: int = CROP, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    frames = torch.rand(batch, 3, 5, size, size, generator=gen) * 2 - 1
    mask = (torch.rand(batch, 1, 5, size, size, generator=gen) > 0.7).float()
    masked = frames * (1 - mask)
    prev_feed = torch.cat([masked[:, :, 2], torch.ones_like(mask[:, :, 2]), mask[:, :, 2]], dim=1)
    return masked, mask, prev_feed


# ------------------------------------------------------------------------------------------ network


def test_upstream_key_names_and_shapes(tiny_net):
    """Keys as upstream's module tree names them (models/vinet.py, flow_modules.py, gated_conv.py,
    ConvLSTM.py at 0dabb83); gated convs have no bias and 2·C_out outputs."""
    shapes = {k: tuple(v.shape) for k, v in tiny_net.state_dict().items()}
    assert shapes["encoder1.ec0.conv.weight"] == (64, 5, 3, 3)
    assert shapes["encoder2.ec5.conv.weight"] == (256, 128, 3, 3)
    assert shapes["bottleneck.bt3.conv.weight"] == (256, 128, 3, 3)
    assert shapes["convlstm.Gates.weight"] == (512, 256, 3, 3) and shapes["convlstm.Gates.bias"] == (512,)
    assert shapes["decoder.dc1_1.conv.1.weight"] == (192, 128, 1, 3, 3)
    assert shapes["decoder.dc6.weight"] == (3, 16, 1, 3, 3)
    assert shapes["st_agg.stAgg.conv.weight"] == (256, 128, 5, 3, 3)
    assert shapes["st_agg_128.stAgg.conv.weight"] == (128, 64, 5, 3, 3)
    assert shapes["flownet.flow_estimator.convs.0.0.weight"] == (128, 128 + 81, 3, 3)
    assert shapes["flownet_64.flow_estimator.convs.0.0.weight"] == (128, 96 + 2 + 81, 3, 3)
    assert shapes["flownet_256.flow_estimator.convs_fine.convs.6.0.bias"] == (2,)
    assert shapes["masknet_256.convs.2.weight"] == (1, 16, 3, 3)
    assert shapes["masknet.convs.0.0.weight"] == (64, 128, 3, 3)
    assert not any(k.endswith(".conv.bias") or k.endswith("conv.1.bias") for k in shapes)
    assert len(shapes) == 166
    # no parameter depends on crop_size or double_size
    big = {k: tuple(v.shape) for k, v in VINet(256).state_dict().items()}
    assert big == shapes


def test_gated_conv_is_sigmoid_gate_times_relu_phi():
    torch.manual_seed(0)
    layer = GatedConv(2, 3, 1, conv3d=False)
    x = torch.randn(1, 2, 4, 5)
    raw = torch.nn.functional.conv2d(x, layer.conv.weight)
    expected = torch.sigmoid(raw[:, 3:]) * torch.relu(raw[:, :3])  # (phi, gate) in that order
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize("double_size", [True, False])
def test_forward_shapes(tiny_net, double_size):
    net = tiny_net if double_size else VINet(CROP, double_size=False).eval()
    masked, mask, prev_feed = step_inputs()
    with torch.no_grad():
        first = net(masked, mask, None, prev_feed, 0)
        later = net(masked, mask, None, prev_feed, 1)
    half = CROP // 2 if double_size else CROP
    assert first.output.shape == (1, 3, CROP, CROP) and torch.isfinite(first.output).all()
    assert first.flows.shape == (1, 2, 5, half // 2, half // 2)
    assert first.state[0].shape == first.state[1].shape == (1, 128, half // 8, half // 8)
    assert first.occlusion.shape == (1, 1, 6, half, half)
    torch.testing.assert_close(first.occlusion[:, :, 1], 1 - first.occlusion[:, :, 0])
    assert first.flow_prev is None and later.flow_prev.shape == (1, 2, CROP, CROP)
    assert not torch.equal(first.output, later.output)  # the previous-output blend ran


def test_batch_of_two_equals_two_batches_of_one(tiny_net):
    masked, mask, prev_feed = step_inputs(batch=2)
    with torch.no_grad():
        both = tiny_net(masked, mask, None, prev_feed, 1).output
        one = tiny_net(masked[1:], mask[1:], None, prev_feed[1:], 1).output
    torch.testing.assert_close(both[1:], one, rtol=1e-4, atol=1e-5)


def upstream_style_step(net: VINet, masked_img, mask, prev_feed, idx):
    """``VINet_final.forward`` restated stream by stream as upstream writes it (f2..f5 neighbours, f6 the
    previous output; each flow, warp and refinement separately), with our submodules."""
    F = torch.nn.functional
    enc_input = torch.cat([masked_img, torch.ones_like(mask), mask], dim=1)
    f1, f1_64, f1_128, f1_256 = net.encoder1(enc_input[:, :, 2])
    feats = [net.encoder2(enc_input[:, :, i]) for i in (0, 1, 3, 4)] + [net.encoder2(prev_feed)]

    def fuse(ref, warped, agg, masknet):
        aggregated = agg(torch.stack(warped, 2))
        occ = masknet(torch.abs(ref - aggregated))
        return (1 - occ) * ref + occ * aggregated, occ

    flows = [net.flownet(f1, f[0]) for f in feats]
    f_syn, occ = fuse(f1, [warp_zeros(f[0], fl) for f, fl in zip(feats, flows)], net.st_agg, net.masknet)
    state = net.convlstm(net.bottleneck(torch.cat([f1, f_syn], 1)), None)
    fused = []
    for level, ref, flownet, agg, masknet in ((1, f1_64, net.flownet_64, net.st_agg_64, net.masknet_64),
                                              (2, f1_128, net.flownet_128, net.st_agg_128, net.masknet_128)):
        ups = [F.interpolate(fl, scale_factor=2, mode="bilinear", align_corners=False) * 2 for fl in flows]
        flows = [flownet(ref, warp_zeros(f[level], up), up) + up for f, up in zip(feats, ups)]
        fused.append(fuse(ref, [warp_zeros(f[level], fl) for f, fl in zip(feats, flows)], agg, masknet)[0])
    output = net.decoder(state[0].unsqueeze(2), fused[0].unsqueeze(2), fused[1].unsqueeze(2))[:, :, 0]
    if idx != 0:
        flow6_256 = F.interpolate(flows[4], scale_factor=2, mode="bilinear", align_corners=False) * 2
        flow6_512 = F.interpolate(flows[4], scale_factor=4, mode="bilinear", align_corners=False) * 4
        occ_256 = net.masknet_256(torch.abs(f1_256 - resample2d(feats[4][3], flow6_256)))
        occ_512 = F.interpolate(occ_256, scale_factor=2, mode="nearest")
        output = (1 - occ_512) * output + occ_512 * resample2d(prev_feed[:, :3], flow6_512)
    return output, torch.stack(flows, 2)


@pytest.mark.parametrize("idx", [0, 3])
def test_batched_streams_match_upstream_stream_by_stream(tiny_net, idx):
    masked, mask, prev_feed = step_inputs(seed=idx)
    with torch.no_grad():
        got = tiny_net(masked, mask, None, prev_feed, idx)
        output, flows = upstream_style_step(tiny_net, masked, mask, prev_feed, idx)
    torch.testing.assert_close(got.flows, flows, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(got.output, output, rtol=1e-4, atol=1e-5)


@pytest.mark.gpu
def test_cuda_matches_cpu(tiny_net):
    masked, mask, prev_feed = step_inputs()
    with torch.no_grad():
        cpu = tiny_net(masked, mask, None, prev_feed, 1).output
        net = VINet(CROP, double_size=True).eval()
        net.load_state_dict(tiny_net.state_dict())
        net = net.cuda()
        gpu = net(masked.cuda(), mask.cuda(), None, prev_feed.cuda(), 1).output.cpu()
        big = VINet(512).eval().cuda()
        m512, k512, p512 = (x.cuda() for x in step_inputs(size=512))
        assert big(m512, k512, None, p512, 1).output.shape == (1, 3, 512, 512)
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=1e-4)


def test_wrong_input_size_names_crop_size(tiny_net):
    masked, mask, prev_feed = step_inputs(size=32)
    with pytest.raises(ValueError, match=r"masked_img must be \[B,3,5,64,64\] \(crop_size 64\)"):
        tiny_net(masked, mask, None, prev_feed)
    masked, mask, _ = step_inputs()
    with pytest.raises(ValueError, match="prev_feed must be"):
        tiny_net(masked, mask)


# ------------------------------------------------------------------------------------------ loading


def test_synthetic_upstream_checkpoint_loads_strictly(tiny_net):
    loaded = vinet_from_checkpoint(upstream_checkpoint(tiny_net), crop_size=CROP, double_size=True)
    assert not loaded.training
    masked, mask, prev_feed = step_inputs()
    with torch.no_grad():
        torch.testing.assert_close(loaded(masked, mask, None, prev_feed, 1).output,
                                   tiny_net(masked, mask, None, prev_feed, 1).output, rtol=0, atol=0)


def test_missing_or_unexpected_key_is_named(tiny_net):
    checkpoint = upstream_checkpoint(tiny_net)
    checkpoint["state_dict"].pop("module.masknet_256.convs.2.bias")
    with pytest.raises(ValueError, match=r"vinet\.pth: keys do not match .*missing \['masknet_256\.convs\.2\.bias'\]"):
        vinet_from_checkpoint(checkpoint, CROP, "vinet.pth", double_size=True)
    checkpoint = upstream_checkpoint(tiny_net)
    checkpoint["state_dict"]["module.extra.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"vinet\.pth: .*unexpected \['extra\.weight'\]"):
        vinet_from_checkpoint(checkpoint, CROP, "vinet.pth", double_size=True)
    checkpoint = upstream_checkpoint(tiny_net)
    checkpoint["state_dict"]["module.decoder.dc6.weight"] = torch.zeros(3, 8, 1, 3, 3)
    with pytest.raises(ValueError, match=r"vinet\.pth: .*size mismatch .*decoder\.dc6\.weight"):
        vinet_from_checkpoint(checkpoint, CROP, "vinet.pth", double_size=True)
    with pytest.raises(ValueError, match=r"x\.pth: expected \{'state_dict'"):
        vinet_from_checkpoint({"state_dict": {"a": 1}}, CROP, "x.pth")


def test_resolved_weights_load_through_the_registry(tiny_net, tmp_path, monkeypatch):
    monkeypatch.setenv("HYPERCON_WEIGHTS_LOCK", str(tmp_path / "lock.json"))
    path = tmp_path / "save_agg_rec_512.pth"
    torch.save(upstream_checkpoint(tiny_net), path)
    loaded = vinet_from_checkpoint(resolve_weights("vinet", path=path), crop_size=CROP, double_size=True)
    torch.testing.assert_close(loaded.decoder.dc6.weight, tiny_net.decoder.dc6.weight, rtol=0, atol=0)


# ------------------------------------------------------------------------------------------ correlation, warps


def correlation_loop(feat1: torch.Tensor, feat2: torch.Tensor, d: int) -> torch.Tensor:
    """FlowNet2's kernel written out: channel (dy+d)(2d+1)+(dx+d), zero outside, sum / (1·1·C)."""
    b, c, h, w = feat1.shape
    out = torch.zeros(b, (2 * d + 1) ** 2, h, w, dtype=torch.float64)
    for n in range(b):
        for dy in range(-d, d + 1):
            for dx in range(-d, d + 1):
                for y in range(h):
                    for x in range(w):
                        if 0 <= y + dy < h and 0 <= x + dx < w:
                            acc = sum(float(feat1[n, k, y, x]) * float(feat2[n, k, y + dy, x + dx]) for k in range(c))
                            out[n, (dy + d) * (2 * d + 1) + dx + d, y, x] = acc / c
    return out


@pytest.mark.parametrize("d", [1, 4])
def test_correlation_matches_direct_loop(d):
    gen = torch.Generator().manual_seed(d)
    feat1, feat2 = torch.randn(2, 3, 5, 6, generator=gen), torch.randn(2, 3, 5, 6, generator=gen)
    got = correlation(feat1, feat2, d)
    assert got.shape == (2, (2 * d + 1) ** 2, 5, 6)
    torch.testing.assert_close(got.double(), correlation_loop(feat1, feat2, d), rtol=0, atol=1e-5)


def test_correlation_channel_order_dy_slow_dx_fast():
    feat1 = torch.zeros(1, 1, 9, 9)
    feat1[0, 0, 4, 4] = 1.0
    feat2 = torch.zeros(1, 1, 9, 9)
    feat2[0, 0, 4 + 1, 4 + 3] = 2.0  # matched at dx = +3, dy = +1
    out = correlation(feat1, feat2, 4)
    assert out[0, :, 4, 4].nonzero().flatten().tolist() == [(1 + 4) * 9 + (3 + 4)]


def test_warps_integer_shift_is_slicing_and_zero_flow_is_identity():
    assert WARP_ALIGN_CORNERS is True
    src = torch.rand(2, 3, 7, 9)
    flow = torch.zeros(2, 2, 7, 9)
    torch.testing.assert_close(warp_zeros(src, flow), src)
    torch.testing.assert_close(resample2d(src, flow), src)
    flow[:, 0], flow[:, 1] = 2.0, -1.0  # out(x, y) = src(x + 2, y - 1)
    for warp in (warp_zeros, resample2d):
        torch.testing.assert_close(warp(src, flow)[..., 1:, :-2], src[..., :-1, 2:])
    assert (warp_zeros(src, flow)[..., :, -2:] == 0).all()  # zeros padding outside
    torch.testing.assert_close(resample2d(src, flow)[..., 1:, -1], src[..., :-1, -1])  # border clamp


def test_upflow_scales_magnitude():
    flow = torch.full((1, 2, 4, 4), 1.5)
    up = upflow(flow, 2)
    assert up.shape == (1, 2, 8, 8)
    torch.testing.assert_close(up, torch.full_like(up, 3.0))
