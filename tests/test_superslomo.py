"""Super SloMo: upstream key names and shapes, checkpoint loading, and the warping-parameter formulas."""

from __future__ import annotations

import argparse
import copy
import datetime

import pytest
import torch

from hypercon.interp.base import intermediate_flows
from hypercon.interp.superslomo import MEAN_RGB, SuperSloMo, UNet, load_superslomo, superslomo_from_checkpoint
from hypercon.interpolate import blend
from hypercon.weights import WeightsError

# avinashpaliwal/Super-SloMo model.py: UNet(inChannels, outChannels) layer shapes (weights; biases = dim 0)
UPSTREAM_SHAPES = {
    "conv1.weight": (32, None, 7, 7), "conv2.weight": (32, 32, 7, 7),
    "down1.conv1.weight": (64, 32, 5, 5), "down1.conv2.weight": (64, 64, 5, 5),
    "down2.conv1.weight": (128, 64, 3, 3), "down2.conv2.weight": (128, 128, 3, 3),
    "down3.conv1.weight": (256, 128, 3, 3), "down3.conv2.weight": (256, 256, 3, 3),
    "down4.conv1.weight": (512, 256, 3, 3), "down4.conv2.weight": (512, 512, 3, 3),
    "down5.conv1.weight": (512, 512, 3, 3), "down5.conv2.weight": (512, 512, 3, 3),
    "up1.conv1.weight": (512, 512, 3, 3), "up1.conv2.weight": (512, 1024, 3, 3),
    "up2.conv1.weight": (256, 512, 3, 3), "up2.conv2.weight": (256, 512, 3, 3),
    "up3.conv1.weight": (128, 256, 3, 3), "up3.conv2.weight": (128, 256, 3, 3),
    "up4.conv1.weight": (64, 128, 3, 3), "up4.conv2.weight": (64, 128, 3, 3),
    "up5.conv1.weight": (32, 64, 3, 3), "up5.conv2.weight": (32, 64, 3, 3),
    "conv3.weight": (None, 32, 3, 3),
}


def expected_shapes(cin: int, cout: int) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for key, shape in UPSTREAM_SHAPES.items():
        shape = tuple(cin if (key == "conv1.weight" and s is None) else cout if s is None else s for s in shape)
        shapes[key] = shape
        shapes[key.replace("weight", "bias")] = (shape[0],)
    return shapes


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    """A synthetic upstream-format checkpoint (random weights, upstream keys and metadata)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("slomo") / "SuperSloMo.ckpt"
    torch.save({
        "Detail": "End to end Super SloMo.", "epoch": 1, "timestamp": datetime.datetime.now(),
        "trainBatchSz": 6, "validationBatchSz": 10, "learningRate": 1e-4, "loss": [[0.5]], "valLoss": [[0.4]],
        "valPSNR": [[30.0]], "state_dictFC": UNet(6, 4).state_dict(), "state_dictAT": UNet(20, 5).state_dict(),
    }, path)
    return path


@pytest.fixture(scope="module")
def nets(checkpoint_file):
    return load_superslomo(checkpoint_file)


@pytest.mark.parametrize("cin, cout", [(6, 4), (20, 5)])
def test_state_dict_has_the_upstream_keys_and_shapes(cin, cout):
    state = UNet(cin, cout).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == expected_shapes(cin, cout)


def test_loader_reads_the_upstream_checkpoint_with_weights_only(checkpoint_file):
    reference = torch.load(checkpoint_file, weights_only=False)
    flow_comp, arb_time = load_superslomo(checkpoint_file)  # weights_only=True allows the datetime timestamp
    for net, key in ((flow_comp, "state_dictFC"), (arb_time, "state_dictAT")):
        for name, value in net.state_dict().items():
            assert torch.equal(value, reference[key][name])
        assert not net.training


def test_loader_refuses_arbitrary_pickles(tmp_path, checkpoint_file):
    ckpt = torch.load(checkpoint_file, weights_only=False)
    ckpt["opts"] = argparse.Namespace(lr=1)
    path = tmp_path / "with_namespace.ckpt"
    torch.save(ckpt, path)
    with pytest.raises(WeightsError, match=r"with_namespace\.ckpt: refused by the safe loader.*Namespace"):
        load_superslomo(path)
    with pytest.raises(FileNotFoundError):
        load_superslomo(tmp_path / "missing.ckpt")


def test_bad_checkpoints_name_the_problem(checkpoint_file):
    ckpt = torch.load(checkpoint_file, weights_only=False)
    with pytest.raises(ValueError, match="state_dictAT"):
        superslomo_from_checkpoint({"state_dictFC": ckpt["state_dictFC"]})
    bad = dict(ckpt, state_dictAT=dict(ckpt["state_dictAT"]))
    bad["state_dictAT"]["conv3.weight"] = torch.zeros(4, 32, 3, 3)
    with pytest.raises(ValueError, match="state_dictAT"):
        superslomo_from_checkpoint(bad)


def test_random_weights_give_well_formed_parameters_at_any_size(checkpoint_file):
    slomo = SuperSloMo.from_file(checkpoint_file)
    a, b = torch.rand(1, 3, 36, 45), torch.rand(1, 3, 36, 45)  # worked at 32×32, restored to 36×45
    (p,) = slomo(a, b, [0.5])
    assert p.flow_to_a.shape == p.flow_to_b.shape == (1, 2, 36, 45) and p.weight_b.shape == (1, 1, 36, 45)
    assert torch.isfinite(p.flow_to_a).all() and ((p.weight_b >= 0) & (p.weight_b <= 1)).all()
    assert blend(a, b, p).shape == a.shape
    assert slomo.provenance()["tier"] == "paper" and len(slomo.weights()["sha256"]) == 64
    with pytest.raises(ValueError, match="32"):
        slomo(torch.rand(1, 3, 20, 70), torch.rand(1, 3, 20, 70), [0.5])


def _constant_nets(nets, flow_bias, arb_bias):
    """UNets with zero weights: outputs are leaky_relu(conv3.bias) everywhere."""
    flow_comp, arb_time = copy.deepcopy(nets)
    for net, bias in ((flow_comp, flow_bias), (arb_time, arb_bias)):
        for p in net.parameters():
            p.data.zero_()
        net.conv3.bias.data = torch.tensor(bias)
    return flow_comp.eval(), arb_time.eval()


def _slomo(nets, upstream_warp):
    return SuperSloMo.from_modules(*nets, upstream_warp=upstream_warp)


def test_formulas_with_constant_network_outputs(nets):
    # flowComp → F01 = (2, −0.1) (leaky ReLU of −1), F10 = (−2, 3); ArbTime → Δ0 = (0.5, 0), Δ1 = 0, logit 1
    slomo = _slomo(_constant_nets(nets, [2.0, -1.0, -20.0, 3.0], [0.5, 0.0, 0.0, 0.0, 1.0]), upstream_warp=False)
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    f01 = torch.tensor([2.0, -0.1]).view(1, 2, 1, 1).expand(1, 2, 32, 32)
    f10 = torch.tensor([-2.0, 3.0]).view(1, 2, 1, 1).expand(1, 2, 32, 32)
    v0 = torch.sigmoid(torch.tensor(1.0))
    for t, p in zip((0.25, 0.6), slomo(a, b, [0.25, 0.6])):
        ft0, ft1 = intermediate_flows(f01, f10, t)
        torch.testing.assert_close(p.flow_to_a, ft0 + torch.tensor([0.5, 0.0]).view(1, 2, 1, 1))
        torch.testing.assert_close(p.flow_to_b, ft1)
        w = t * (1 - v0) / ((1 - t) * v0 + t * (1 - v0))
        torch.testing.assert_close(p.weight_b, torch.full((1, 1, 32, 32), w.item()))
    # a size that is not a multiple of 32: flows are rescaled by the size ratio per axis
    big = slomo(torch.rand(1, 3, 40, 60), torch.rand(1, 3, 40, 60), [0.6])[0]
    ft0, _ = intermediate_flows(f01, f10, 0.6)
    expect = (ft0[0, :, 0, 0] + torch.tensor([0.5, 0.0])) * torch.tensor([60 / 32, 40 / 32])
    torch.testing.assert_close(big.flow_to_a[0, :, 20, 30], expect)


def test_upstream_warp_convention_samples_at_scaled_positions(nets):
    slomo = _slomo(_constant_nets(nets, [2.0, 1.0, -20.0, -10.0], [0.0] * 5), upstream_warp=True)
    p = slomo(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), [0.5])[0]
    f01, f10 = torch.tensor([2.0, 1.0]), torch.tensor([-2.0, -1.0])
    f = -0.25 * f01 + 0.25 * f10  # F_t0 at t = 0.5
    for y, x in ((0, 0), (31, 31), (10, 20)):
        # upstream backWarp samples at (x + f)·(W−1)/W; ours at x + flow
        want = torch.tensor([(x + f[0]) * 31 / 32 - x, (y + f[1]) * 31 / 32 - y])
        torch.testing.assert_close(p.flow_to_a[0, :, y, x], want)


def test_inputs_are_mean_subtracted_on_cpu(nets):
    slomo = _slomo(copy.deepcopy(nets), upstream_warp=True)
    seen = {}
    slomo.flow_comp.register_forward_pre_hook(lambda mod, args: seen.setdefault("x", args[0]))
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    slomo(a, b, [0.5])
    mean = torch.tensor(MEAN_RGB).view(1, 3, 1, 1)
    torch.testing.assert_close(seen["x"], torch.cat((a - mean, b - mean), 1))


def test_registry_wrapper_fails_fast_without_the_file(tmp_path):
    from hypercon.weights import MissingWeightsError

    with pytest.raises(MissingWeightsError, match="SuperSloMo.ckpt"):
        SuperSloMo(weights_dir=str(tmp_path / "empty"))


def test_registry_wrapper_loads_an_unverified_file_without_unpickling(tmp_path, checkpoint_file, monkeypatch):
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    target = tmp_path / "SuperSloMo.ckpt"
    target.write_bytes(checkpoint_file.read_bytes())
    slomo = SuperSloMo(weights=str(target))
    assert slomo.weights()["file"] == str(target) and slomo.tier == "paper"


def test_outside_samples_take_the_mean_colour_as_upstream(nets):
    from hypercon.interpolate import interpolate_pair

    # F01 = (20, 0), F10 = (−20, 0) px, logit 0 (w = t): at t = ½, F_t0 = (−10, 0) and F_t1 = (10, 0), so
    # columns x < 9 sample a outside the frame and columns x > 22 sample b outside
    constant = _constant_nets(nets, [20.0, 0.0, -200.0, 0.0], [0.0] * 5)
    a, b = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    mean = torch.tensor(MEAN_RGB).view(1, 3, 1, 1)
    upstream = SuperSloMo.from_modules(*constant, upstream_warp=False)
    border = SuperSloMo.from_modules(*constant, upstream_warp=False, outside="border")
    assert upstream.options()["outside"] == "mean" and border.options()["outside"] == "border"
    (frame_mean,), _ = interpolate_pair(a, b, upstream, [0.5])
    (frame_border,), _ = interpolate_pair(a, b, border, [0.5])
    diff = frame_mean - frame_border  # upstream: the mean colour where border padding repeats the edge
    torch.testing.assert_close(diff[..., :9], (0.5 * (mean - a[..., :1])).expand(1, 3, 32, 9))
    torch.testing.assert_close(diff[..., 23:], (0.5 * (mean - b[..., -1:])).expand(1, 3, 32, 9))
    torch.testing.assert_close(diff[..., 10:22], torch.zeros(1, 3, 32, 12))
    with pytest.raises(ValueError, match="interp.outside"):
        SuperSloMo.from_modules(*constant, outside="zeros")
