"""Contextual Attention (DeepFill v1, daa233 PyTorch port): the attention op against a loop-by-loop
reference, the generator's upstream key names, both checkpoint formats, key errors, and the inpainting
adapter's conventions (hole polarity, range, sizes, channel order, compositing)."""

from __future__ import annotations

import hashlib
import logging

import pytest
import torch
import torch.nn.functional as F

from hypercon.models.cxtattn import (
    ContextualAttentionInpaint,
    CxtAttnGenerator,
    cxtattn_inpaint,
    load_cxtattn,
)
from hypercon.models.cxtattn_layers import contextual_attention, same_pad

COARSE = ["conv1", "conv2_downsample", "conv3", "conv4_downsample", "conv5", "conv6", "conv7_atrous",
          "conv8_atrous", "conv9_atrous", "conv10_atrous", *(f"conv{i}" for i in range(11, 18))]
FINE = [*COARSE[:10], "pmconv1", "pmconv2_downsample", "pmconv3", "pmconv4_downsample", "pmconv5", "pmconv6",
        "pmconv9", "pmconv10", *(f"allconv{i}" for i in range(11, 18))]


def naive_attention(f: torch.Tensor, hole: torch.Tensor, k: int = 3, scale: float = 10.0) -> torch.Tensor:
    """The op for one sample, rate 2, written as loops: f [C,h,w], hole [1,4h,4w] → [C,h,w]."""
    c, h, w = f.shape
    small = f[:, ::2, ::2]                       # nearest ½: even pixels
    hs, ws = small.shape[1:]
    n = hs * ws
    pad = F.pad(small, (1, 1, 1, 1))
    hole_pad = F.pad(hole[0, ::8, ::8], (1, 1, 1, 1))
    scores = torch.zeros(n, n, dtype=torch.float64)   # [background l, foreground p], both row-major
    usable = torch.zeros(n, dtype=torch.float64)
    for l in range(n):
        bi, bj = divmod(l, ws)
        patch = pad[:, bi : bi + k, bj : bj + k].double()
        norm = (patch.square() + 1e-4).sum().sqrt()
        usable[l] = float(bool((hole_pad[bi : bi + k, bj : bj + k] == 0).all()))
        for p in range(n):
            fi, fj = divmod(p, ws)
            scores[l, p] = (pad[:, fi : fi + k, fj : fj + k].double() * patch).sum() / norm

    def diagonal_sum(s: torch.Tensor) -> torch.Tensor:
        out = torch.zeros_like(s)
        for l in range(n):
            for p in range(n):
                out[l, p] = sum(s[l + d, p + d] for d in (-1, 0, 1) if 0 <= l + d < n and 0 <= p + d < n)
        return out

    fused = diagonal_sum(scores)
    col = [i * ws + j for j in range(ws) for i in range(hs)]   # column-major order → row-major index
    back = torch.tensor(col)
    fused_cm = diagonal_sum(fused[back][:, back])
    fused = torch.empty_like(fused_cm)
    fused[back[:, None], back[None, :]] = fused_cm
    attn = torch.softmax(fused * usable[:, None] * scale, dim=0) * usable[:, None]
    raw = F.pad(f, (1, 1, 1, 1)).double()                    # 4×4 patches, stride 2, SAME (1 each side)
    out = torch.zeros(c, h + 2, w + 2, dtype=torch.float64)  # output grid shifted by the padding 1
    for l in range(n):
        bi, bj = divmod(l, ws)
        patch = raw[:, 2 * bi : 2 * bi + 4, 2 * bj : 2 * bj + 4]
        for p in range(n):
            fi, fj = divmod(p, ws)
            out[:, 2 * fi : 2 * fi + 4, 2 * fj : 2 * fj + 4] += attn[l, p] * patch
    return (out[:, 1 : h + 1, 1 : w + 1] / 4.0).float()


def test_attention_matches_loop_reference():
    torch.manual_seed(0)
    f = torch.randn(2, 3, 8, 8)
    hole = torch.zeros(2, 1, 32, 32)
    hole[0, :, 8:24, 12:28] = 1
    hole[1, :, 0:8, 0:16] = 1
    out = contextual_attention(f, f, hole)
    assert out.shape == f.shape
    for i in range(2):  # each sample uses its own hole
        torch.testing.assert_close(out[i], naive_attention(f[i], hole[i]), rtol=1e-4, atol=1e-5)


def test_same_pad_is_tensorflow_same():
    x = torch.ones(1, 1, 5, 6)
    padded = same_pad(x, 3, 2)  # rows: out 3, total 2 → (1, 1); cols: out 3, total 1 → (0, 1)
    assert padded.shape[-2:] == (7, 7)
    torch.testing.assert_close(padded[0, 0, 1:6, 0:6], x[0, 0])
    assert padded.sum() == x.sum()
    assert same_pad(x, 4, 2).shape[-2:] == (8, 8)


@pytest.fixture(scope="module")
def generator_state():
    torch.manual_seed(1)
    net = CxtAttnGenerator()
    with torch.no_grad():  # larger weights than the default init, so outputs vary visibly
        for p in net.parameters():
            p.mul_(1.5)
    return {k: v.clone() for k, v in net.state_dict().items()}


def trainer_checkpoint(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The TF-converted layout: generator under ``netG.``, plus discriminator tensors."""
    ckpt = {f"netG.{k}": v for k, v in state.items()}
    ckpt["localD.dis_conv_module.conv1.conv.weight"] = torch.zeros(64, 3, 5, 5)
    ckpt["globalD.linear.weight"] = torch.zeros(1, 256 * 16 * 16)
    return ckpt


def test_generator_has_the_port_key_names(generator_state):
    expected = {f"{stage}.{name}.conv.{p}" for stage, names in (("coarse_generator", COARSE), ("fine_generator", FINE))
                for name in names for p in ("weight", "bias")}
    assert set(generator_state) == expected
    assert generator_state["coarse_generator.conv1.conv.weight"].shape == (32, 5, 5, 5)  # cat(x, ones, hole)
    assert generator_state["fine_generator.conv2_downsample.conv.weight"].shape == (32, 32, 3, 3)
    assert generator_state["fine_generator.pmconv4_downsample.conv.weight"].shape == (128, 64, 3, 3)
    assert generator_state["fine_generator.allconv11.conv.weight"].shape == (128, 256, 3, 3)
    assert generator_state["coarse_generator.conv10_atrous.conv.weight"].shape == (128, 128, 3, 3)
    assert sum(v.numel() for v in generator_state.values()) == 3_601_542  # cnum=32 port Generator


@pytest.mark.parametrize("layout", ["generator", "trainer"])
def test_both_checkpoint_formats_load(tmp_path, generator_state, layout):
    ckpt = generator_state if layout == "generator" else trainer_checkpoint(generator_state)
    path = tmp_path / ("gen_00430000.pt" if layout == "generator" else "torch_model.p")
    torch.save(ckpt, path)
    net, report = load_cxtattn(torch.load(path, map_location="cpu", weights_only=True))
    assert report.format == layout and report.unexpected == []
    discriminators = ["localD.dis_conv_module.conv1.conv.weight", "globalD.linear.weight"]
    assert report.dropped == ([] if layout == "generator" else discriminators)
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, generator_state[key])


def test_missing_generator_key_raises_naming_it(generator_state):
    from hypercon.weights import WeightsError

    ckpt = trainer_checkpoint(generator_state)
    del ckpt["netG.fine_generator.pmconv9.conv.bias"]
    with pytest.raises(WeightsError, match=r"missing generator keys \['netG\.fine_generator\.pmconv9\.conv\.bias'\]"):
        load_cxtattn(ckpt)
    ckpt = dict(generator_state)
    ckpt["coarse_generator.conv17.conv.weight"] = torch.zeros(3, 16, 5, 5)
    with pytest.raises(WeightsError, match=r"conv17\.conv\.weight \(3, 16, 5, 5\)"):
        load_cxtattn(ckpt)


def test_unexpected_keys_are_reported(generator_state, caplog):
    ckpt = trainer_checkpoint(generator_state)
    ckpt["netG.fine_generator.extra.weight"] = torch.zeros(1)
    ckpt["optimizer_g.state"] = torch.zeros(1)
    with caplog.at_level(logging.WARNING, logger="hypercon.models.cxtattn"):
        _, report = load_cxtattn(ckpt)
    assert report.unexpected == ["netG.fine_generator.extra.weight", "optimizer_g.state"]
    assert "netG.fine_generator.extra.weight" in caplog.text


@pytest.fixture
def isolated_weights(tmp_path, monkeypatch):
    import hypercon.weights.registry as reg

    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    monkeypatch.setenv("HYPERCON_WEIGHTS_LOCK", str(tmp_path / "lock.json"))
    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path / "hub")
    return tmp_path


def rect_hole(shape: tuple[int, int, int, int], top: int, left: int, height: int, width: int) -> torch.Tensor:
    known = torch.ones(shape[0], 1, *shape[2:])
    known[..., top : top + height, left : left + width] = 0
    return known


def test_wrapper_inpaints_hole_and_keeps_known_pixels(isolated_weights, generator_state):
    path = isolated_weights / "torch_model.p"
    torch.save(trainer_checkpoint(generator_state), path)
    model = ContextualAttentionInpaint(weights=str(path))
    assert model.tier == "paper" and model.channel_order == "bgr"  # auto: BGR for TF-converted weights
    assert model.weights() == {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    torch.manual_seed(2)
    frames = torch.rand(1, 3, 64, 64)
    known = rect_hole(frames.shape, 16, 20, 24, 30)
    out = model(frames, known)
    assert out.shape == frames.shape
    torch.testing.assert_close(out * known, frames * known, rtol=0, atol=0)
    hole = known == 0
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert (out - frames).abs().expand_as(frames)[hole.expand_as(frames)].mean() > 1e-3  # hole was replaced


def test_non_multiple_of_8_sizes_keep_their_size(isolated_weights, generator_state):
    path = isolated_weights / "gen_00430000.pt"
    torch.save(generator_state, path)
    model = ContextualAttentionInpaint(weights=str(path), variant="pt")
    assert model.channel_order == "rgb" and model.options()["checkpoint_format"] == "generator"
    for h, w in [(45, 50), (33, 70)]:
        frames = torch.rand(1, 3, h, w)
        known = rect_hole(frames.shape, 10, 12, 15, 20)
        out = model(frames, known)
        assert out.shape == frames.shape and torch.isfinite(out).all()
        torch.testing.assert_close(out * known, frames * known, rtol=0, atol=0)


def test_adapter_conventions(generator_state):
    net = CxtAttnGenerator()
    net.load_state_dict(generator_state)
    torch.manual_seed(3)
    frames = torch.rand(2, 3, 24, 32)
    known = rect_hole(frames.shape, 4, 8, 10, 12)
    known[1, :, 16:22, 22:30] = 0          # the second frame has a second hole
    with torch.no_grad():
        out = cxtattn_inpaint(net, frames, known)
        hole = 1.0 - known
        _, direct = net((frames * 2 - 1) * known, hole)
        torch.testing.assert_close(out, ((direct + 1) / 2).clamp(0, 1))         # x·2−1, (y+1)/2
        changed = frames * known + torch.rand_like(frames) * hole               # new values in the holes
        torch.testing.assert_close(cxtattn_inpaint(net, changed, known), out)   # hole content is ignored
        torch.testing.assert_close(cxtattn_inpaint(net, frames, known, "bgr"),
                                   cxtattn_inpaint(net, frames.flip(1), known).flip(1))
        single = torch.cat([cxtattn_inpaint(net, frames[i : i + 1], known[i : i + 1]) for i in range(2)])
    torch.testing.assert_close(out, single, rtol=1e-4, atol=1e-5)  # per-sample holes inside the attention


def test_missing_weights_and_bad_options(isolated_weights):
    from hypercon.weights import MissingWeightsError

    with pytest.raises(MissingWeightsError, match="torch_model.p"):
        ContextualAttentionInpaint(weights_dir=str(isolated_weights / "empty"))
    with pytest.raises(MissingWeightsError, match="gen_00430000.pt"):
        ContextualAttentionInpaint(weights_dir=str(isolated_weights / "empty"), variant="pt")
    with pytest.raises(ValueError, match="variant"):
        ContextualAttentionInpaint(variant="places2")
    with pytest.raises(ValueError, match="channel_order"):
        ContextualAttentionInpaint(channel_order="rbg")


def test_wrapper_error_names_the_file(isolated_weights, generator_state):
    from hypercon.weights import WeightsError

    ckpt = trainer_checkpoint(generator_state)
    del ckpt["netG.coarse_generator.conv5.conv.weight"]
    path = isolated_weights / "torch_model.p"
    torch.save(ckpt, path)
    with pytest.raises(WeightsError, match=r"torch_model\.p.*netG\.coarse_generator\.conv5\.conv\.weight"):
        ContextualAttentionInpaint(weights=str(path))


@pytest.mark.gpu
def test_cuda_matches_cpu(generator_state):
    net = CxtAttnGenerator()
    net.load_state_dict(generator_state)
    frames = torch.rand(2, 3, 40, 48)
    known = rect_hole(frames.shape, 8, 8, 16, 20)
    with torch.no_grad():
        cpu = cxtattn_inpaint(net, frames, known)
        gpu = cxtattn_inpaint(net.cuda(), frames.cuda(), known.cuda()).cpu()
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=1e-3)


def test_tf_converted_weights_see_bgr_and_the_port_weights_rgb(isolated_weights, generator_state):
    """The channel-order decision (evidence in hypercon/models/cxtattn.py): TF-converted (netG.-keyed)
    weights get BGR because DeepFill v1 was trained on cv2.imread images; the port's own get RGB."""
    frames = torch.rand(1, 3, 32, 40)
    known = rect_hole(frames.shape, 8, 8, 10, 12)
    seen = []
    for name, checkpoint, order in (("torch_model.p", trainer_checkpoint(generator_state), [2, 1, 0]),
                                    ("gen_00430000.pt", generator_state, [0, 1, 2])):
        path = isolated_weights / name
        torch.save(checkpoint, path)
        model = ContextualAttentionInpaint(weights=str(path), variant="tf" if name.endswith(".p") else "pt")
        assert model.options()["channel_order_option"] == "auto"
        model.net.coarse_generator.conv1.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
        model(frames, known)
        torch.testing.assert_close(seen[-1][:, :3], (frames[:, order] * 2 - 1) * known)  # cat(x, ones, hole)
