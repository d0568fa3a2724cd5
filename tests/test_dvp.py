"""Deep Video Prior (baselines/dvp): the VCN network, the IRT confidence map against NumPy, lower E_warp
than the flickering frame-wise output on a synthetic video with exact flow, determinism, and runs of
``python run.py method=dvp | dvp_irt`` (style and inpainting)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.dvp.method import (PERCEPTUAL_TAPS, DeepVideoPrior, irt_confidence, irt_loss, scaled_epochs)
from baselines.dvp.network import VCN
from datasets.synthetic import make_synthetic_video
from hypercon.config import compose_config, instantiate_component
from hypercon.models.diagnostic import Flicker, Identity
from metrics.warping_error import warping_error

REPO = Path(__file__).resolve().parents[1]
TINY = ["dataset.num_videos=1", "dataset.num_frames=4", "dataset.height=32", "dataset.width=48",
        "method.epochs=3", "save_video=false", "save_frames=false"]


# ------------------------------------------------------------------------------------------ network


@pytest.mark.parametrize("out_channels", [3, 6])
def test_vcn_levels_widths_and_output_channels(out_channels):
    net = VCN(out_channels=out_channels)
    state = net.state_dict()
    assert state["conv1_1.weight"].shape == (32, 3, 1, 1)  # level 1: a 1x1 conv, then a 3x3 conv
    assert state["conv1_2.weight"].shape == (32, 32, 3, 3)
    for level, width in zip(range(2, 6), (64, 128, 256, 512)):  # 32 * 2^k channels
        assert state[f"conv{level}_1.weight"].shape == (width, width // 2, 3, 3)
        assert state[f"conv{level}_2.weight"].shape == (width, width, 3, 3)
    for step, skip in zip(range(1, 5), (256, 128, 64, 32)):  # up-conv to the skip's width, then concat
        assert state[f"up{step}.weight"].shape == (skip, 2 * skip, 3, 3)
        assert state[f"conv{5 + step}_1.weight"].shape == (skip, 2 * skip, 3, 3)
    assert state["conv9_2.weight"].shape == (out_channels, 32, 3, 3)
    assert all(v.abs().max() == 0 for k, v in state.items() if k.endswith("bias"))  # zero biases
    out = net(torch.rand(2, 3, 32, 64))
    assert out.shape == (2, out_channels, 32, 64)
    assert out.min() < 0  # no output activation
    with pytest.raises(ValueError, match="multiples of 32"):
        net(torch.rand(1, 3, 32, 48))


def test_vcn_init_is_xavier_normal_from_the_generator():
    a, b = VCN(), VCN()
    a.reset_parameters(torch.Generator().manual_seed(3))
    b.reset_parameters(torch.Generator().manual_seed(3))
    torch.testing.assert_close(a.state_dict(), b.state_dict(), rtol=0, atol=0)
    w = a.conv3_2.weight  # fan_in = fan_out = 128*9: std = sqrt(2 / (fan_in + fan_out))
    assert abs(w.std().item() - (2 / (2 * 128 * 9)) ** 0.5) < 0.02 * w.std().item()


def test_scaled_epochs_keeps_upstreams_schedule_and_shrinks_it():
    assert [scaled_epochs(19, e) for e in (25, 50, 10, 3, 1)] == [19, 19, 8, 2, 1]
    m = DeepVideoPrior(Identity(), epochs=10, irt=True)
    assert m.options()["coarse_epochs"] == 8 and m.options()["irt_init_epochs"] == 2


# -------------------------------------------------------------------------------------------- IRT


def test_irt_confidence_matches_numpy():
    g = torch.Generator().manual_seed(1)
    main, minor, target, source = (torch.rand(2, 3, 5, 7, generator=g) for _ in range(4))
    conf = irt_confidence(main, minor, target, source)
    m, n, p, i = (x.numpy().astype(np.float64) for x in (main, minor, target, source))
    expected = (np.max(np.abs(m - p) / (i + 0.1), axis=1, keepdims=True)
                < np.max(np.abs(n - p) / (i + 0.1), axis=1, keepdims=True)).astype(np.float32)
    np.testing.assert_array_equal(conf.numpy(), expected)
    assert 0 < expected.mean() < 1  # both outputs win somewhere
    pred = torch.cat([main, minor], dim=1).requires_grad_(True)
    loss = irt_loss(pred, target, source, initialising=False)
    assert loss.item() == pytest.approx((np.abs(m - p) * expected).mean() + (np.abs(n - p) * (1 - expected)).mean(),
                                        rel=1e-6)
    loss.backward()  # C carries no gradient; the loss does
    assert pred.grad.abs().sum() > 0
    init = irt_loss(pred, target, source, initialising=True)
    assert init.item() == pytest.approx(np.abs(m - p).mean() + 0.9 * np.abs(n - p).mean(), rel=1e-6)


# ------------------------------------------------------------------------------------------ method


def test_dvp_lowers_warping_error_of_a_flickering_video(one_thread):
    video = make_synthetic_video(seed=0, num_frames=6, height=32, width=48)
    model = Flicker(strength=0.1)
    framewise = model(video.frames)
    out = DeepVideoPrior(model, epochs=20).run(video.frames, reference=framewise)
    ewarp_p = warping_error(framewise, video.flow_fw, video.occluded_fw).mean().item()
    ewarp_o = warping_error(out, video.flow_fw, video.occluded_fw).mean().item()
    assert ewarp_o < ewarp_p / 3, (ewarp_o, ewarp_p)
    # ... and it is a fit of P, not a flat video: closer to P than P's mean colour is
    assert (out - framewise).abs().mean() < (framewise.mean(dim=(0, 2, 3), keepdim=True) - framewise).abs().mean()


def test_same_seed_same_output_on_cpu(one_thread):
    frames = make_synthetic_video(seed=1, num_frames=4, height=32, width=48).frames
    reference = Flicker(strength=0.2)(frames)
    a = DeepVideoPrior(Identity(), epochs=2, seed=7).run(frames, reference=reference)
    b = DeepVideoPrior(Identity(), epochs=2, seed=7).run(frames, reference=reference)
    c = DeepVideoPrior(Identity(), epochs=2, seed=8).run(frames, reference=reference)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def test_size_option_and_inpainting_composite(one_thread):
    frames = make_synthetic_video(seed=2, num_frames=3, height=40, width=56).frames
    known = torch.ones(3, 1, 40, 56)
    known[:, :, 10:20, 20:40] = 0
    method = DeepVideoPrior(Identity(), epochs=1, size=[32, 24], irt=True)
    out = method.run(frames, known, reference=frames.flip(1))
    assert out.shape == frames.shape and 0 <= out.min() and out.max() <= 1
    torch.testing.assert_close(out * known, frames * known)  # known pixels composited back
    assert method.options()["size"] == [32, 24] and method.label() == "DVP-IRT (l1, 1 ep, 32x24)"
    with pytest.raises(ValueError, match="reference"):
        method.run(frames, known)


def test_options_label_components_and_errors():
    method = DeepVideoPrior(Identity())
    assert method.label() == "DVP (l1, 25 ep)" and method.needs_reference_input
    assert method.options() == {"epochs": 25, "coarse_epochs": 19, "size": None, "loss": "l1", "irt": False,
                                "seed": 2020, "lr": 1e-4}
    assert set(method.components()) == {"model"} and method.provenance()["tier"] == "offline"
    with pytest.raises(ValueError, match="method.irt=true"):
        DeepVideoPrior(Identity(), irt=True, loss="l2")
    with pytest.raises(ValueError, match="method.loss"):
        DeepVideoPrior(Identity(), loss="ssim")


def test_config_defaults_and_perceptual_trunks():
    method = instantiate_component(compose_config(["method=dvp"]).method)
    assert isinstance(method, DeepVideoPrior) and method.options()["epochs"] == 25 and method.perceptual is None
    irt = instantiate_component(compose_config(["method=dvp_irt"]).method)
    assert irt.irt and irt.label().startswith("DVP-IRT")
    # the documented way to choose the trunk: perceptual@method.perceptual=<name> (conf/perceptual/)
    pixel = instantiate_component(compose_config(["method=dvp", "method.loss=perceptual",
                                                  "perceptual@method.perceptual=pixel"]).method)
    assert pixel.options()["perceptual_terms"] == "pixel only"
    vgg = instantiate_component(compose_config(["method=dvp", "method.loss=perceptual",
                                                "perceptual@method.perceptual=vgg_random",
                                                "method.perceptual.calibration_size=32"]).method)
    assert vgg.perceptual.options()["taps"] == list(PERCEPTUAL_TAPS)
    assert set(vgg.components()) == {"model", "perceptual"}
    assert vgg.provenance()["components"]["perceptual"]["tier"] == "offline"
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg._loss(x, torch.rand(1, 3, 32, 32), x, False).backward()
    assert x.grad.abs().sum() > 0


# ------------------------------------------------------------------------------------------- runs


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dvp", "dvp_irt"])
def test_run_py_dvp_style_and_inpaint(tmp_path, method):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HYPERCON_OUTPUT": str(tmp_path)}
    cmd = [sys.executable, "run.py", "-m", f"method={method}", "task=style,inpaint", *TINY,
           f"paths.output_root={tmp_path}", f"sweep_name={method}", "metrics.names=[ewarp]"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = sorted((tmp_path / "sweeps" / method).glob("*/results.json"))
    assert len(results) == 2
    for path in results:
        record = json.loads(path.read_text())
        prov = record["provenance"]["method"]
        assert record["complete"] and prov["tier"] == "offline" and set(prov["components"]) == {"model"}
        assert prov["label"] == ("DVP-IRT" if method == "dvp_irt" else "DVP") + " (l1, 3 ep)"
        assert prov["options"]["epochs"] == 3 and prov["options"]["coarse_epochs"] == 2
        assert record["aggregate"]["ewarp"]["n"] == 1
