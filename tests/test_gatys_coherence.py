"""Gatys optimisation with coherence losses (method=gatys_coherence): each loss against its formula in NumPy,
the seed's Farnebäck call, the best-iterate rule, the avg-pool/pre-ReLU VGG19 taps, a tiny CPU run, the
configs, and the synthetic video with a hard cut."""

from __future__ import annotations

import hashlib
import math
import re

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hydra.errors import InstantiationException
from torch import nn

import experiments.hydra_setup  # noqa: F401  (schemas)
from baselines.common.perceptual import VGGTrunk, build_vgg_random, vgg_features, vgg_layer_names
from baselines.gatys_coherence.flow import remap_warp, splat_warp
from baselines.gatys_coherence.losses import (content_loss, enhanced_coherence, gram, mse_coherence, scene_factor,
                                              style_loss)
from baselines.gatys_coherence.method import optimise_image
from datasets.synthetic import SyntheticDataset, make_synthetic_video
from hypercon.config import compose_component, instantiate_component
from hypercon.errors import InputNotFound, SettingError, find_expected_error
from hypercon.flow.base import FlowEstimator

TINY = {"method.steps": 1, "method.max_iter": 3, "method.perceptual.calibration_size": 32}


def build(**values):
    return instantiate_component(compose_component("method", "gatys_coherence", values={**TINY, **values}))


def mse_np(a, b):
    return float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))


@pytest.fixture(scope="module")
def images():
    g = torch.Generator().manual_seed(3)
    return [torch.rand(1, 3, 8, 10, generator=g) for _ in range(4)]  # out, prev_out, frame, prev_frame


# ---------------------------------------------------------------- losses against NumPy
def test_gram_content_and_style_losses_match_numpy():
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64) for _ in range(2)]
    other = [torch.randn(2, 4, 3, 5, generator=g, dtype=torch.float64) for _ in range(2)]
    flat = feats[0].numpy().reshape(2, 4, 15)
    expected_gram = np.einsum("bik,bjk->bij", flat, flat) / (4 * 3 * 5)
    np.testing.assert_allclose(gram(feats[0]).numpy(), expected_gram, rtol=1e-12)
    expected_content = (mse_np(feats[0], other[0]) + mse_np(feats[1], other[1])) / 2
    assert math.isclose(float(content_loss(feats, other)), expected_content, rel_tol=1e-12)
    targets = [gram(o[:1]) for o in other]  # the style image: one image, broadcast over the batch
    expected_style = np.mean([mse_np(gram(f).numpy(), np.broadcast_to(t.numpy(), (2, 4, 4)))
                              for f, t in zip(feats, targets)])
    assert math.isclose(float(style_loss(feats, targets)), expected_style, rel_tol=1e-12)


def test_mse_and_enhanced_coherence_match_their_formulas(images):
    out, prev_out, frame, prev_frame = (x.numpy().astype(np.float64) for x in images)
    assert math.isclose(float(mse_coherence(images[0], images[1])), mse_np(out, prev_out), rel_tol=1e-6)
    f = math.tanh(math.exp(-mse_np(frame, prev_frame)))
    expected = f * mse_np(out, prev_out) + mse_np(out - prev_out, frame - prev_frame)
    assert math.isclose(float(enhanced_coherence(*images)), expected, rel_tol=1e-6)


def test_scene_factor_spans_only_0352_to_0762():
    black, white = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    assert math.isclose(float(scene_factor(black, black)), math.tanh(1.0), rel_tol=1e-6)  # 0.7616
    assert math.isclose(float(scene_factor(white, black)), math.tanh(math.exp(-1.0)), rel_tol=1e-6)  # 0.3521


def test_remap_warp_samples_at_x_minus_flow_with_zero_border():
    image = torch.rand(1, 3, 6, 8)
    flow = torch.zeros(1, 2, 6, 8)
    flow[:, 0], flow[:, 1] = 2.0, 1.0  # prev -> curr moves content by (+2, +1)
    out = remap_warp(image, flow)
    torch.testing.assert_close(out[..., 1:, 2:], image[..., :-1, :-2])  # P(x) = prev(x - f(x))
    assert out[..., :1, :].abs().max() == 0 and out[..., :, :2].abs().max() == 0  # cv2's constant border


def test_splat_warp_moves_a_linear_ramp_exactly_by_a_fractional_flow():
    ys, xs = torch.meshgrid(torch.arange(9.0), torch.arange(12.0), indexing="ij")
    ramp = torch.stack((0.03 * xs, 0.05 * ys, 0.02 * xs + 0.04 * ys + 0.1))[None]
    flow = torch.zeros(1, 2, 9, 12)
    flow[:, 0], flow[:, 1] = 0.4, -0.7  # each pixel x of the previous output lands at x + f
    out = splat_warp(ramp, flow)
    expected = torch.stack((0.03 * (xs - 0.4), 0.05 * (ys + 0.7), 0.02 * (xs - 0.4) + 0.04 * (ys + 0.7) + 0.1))[None]
    inside = (slice(None), slice(None), slice(0, 8), slice(1, 12))  # covered by the moved samples' hull
    torch.testing.assert_close(out[inside], expected[inside], atol=1e-5, rtol=0)
    edge = out[..., 8, 0]  # outside the hull: the nearest moved sample, the input pixel (0, 8)
    torch.testing.assert_close(edge, ramp[..., 8, 0])


class ShiftFlow(FlowEstimator):
    """Constant flow ``dx`` from the first call's src to dst, its negation back (known pairs)."""

    name = "shift"

    def __init__(self, dx: float):
        self.dx, self.calls = dx, []

    def estimate(self, src, dst):
        self.calls.append((src, dst))
        flow = torch.zeros(src.shape[0], 2, *src.shape[-2:])
        flow[:, 0] = self.dx if len(self.calls) % 2 else -self.dx
        return flow


def test_flow_masked_is_ruders_occlusion_weighted_mse(images):
    method = build(**{"method.coherence": "flow_masked", "method.occlusion_rule": "ruder"})
    method.flow = ShiftFlow(1.0)  # frame i -> i-1: +1 px, back: -1 px
    out, prev_out, frame, prev_frame = images
    term = method._coherence_term(frame, prev_frame, prev_out, lambda: method.flow(frame, prev_frame))
    value = float(term(out))
    predicted = torch.cat((prev_out[..., 1:], prev_out[..., -1:]), dim=-1).numpy()  # P(x) = prev(x+1), clamped
    weight = np.ones((1, 1, 8, 10))
    weight[..., 8:] = 0  # Ruder: the 2x2 bilinear support of x+1 leaves the frame in the last two columns
    weight[..., 7, :] = 0  # ... and, with dy = 0, in the last row (floor(y)+1 > H-1)
    expected = float(np.sum(weight * (out.numpy() - predicted) ** 2) / out.numel())
    assert math.isclose(value, expected, rel_tol=1e-6)
    assert method.flow.calls[0][0] is frame and method.flow.calls[1][0] is prev_frame


def test_flow_coherence_calls_farneback_with_the_seed_parameters(images, monkeypatch):
    seen = []

    def fake(prev, nxt, flow, pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags):
        seen.append((prev, nxt, flow, pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags))
        out = np.zeros((*prev.shape, 2), np.float32)
        out[..., 0] = 1.0
        return out

    monkeypatch.setattr(cv2, "calcOpticalFlowFarneback", fake)
    method = build(**{"method.coherence": "flow", "method.flow_warp": "remap"})
    out, prev_out, frame, prev_frame = images
    term = method._coherence_term(frame, prev_frame, prev_out, lambda: pytest.fail("harness flow not used"))
    assert len(seen) == 1 and seen[0][2:] == (None, 0.5, 3, 15, 3, 5, 1.2, 0)

    def gray(x):
        return cv2.cvtColor((x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), cv2.COLOR_RGB2GRAY)

    np.testing.assert_array_equal(seen[0][0], gray(prev_frame))  # V[i-1] -> V[i]
    np.testing.assert_array_equal(seen[0][1], gray(frame))
    predicted = torch.cat((torch.zeros_like(prev_out[..., :1]), prev_out[..., :-1]), dim=-1)  # prev(x - 1)
    assert math.isclose(float(term(out)), mse_np(out, predicted), rel_tol=1e-5)


# ---------------------------------------------------------------- optimisation
def test_the_iterate_with_the_lowest_total_is_kept_not_the_last():
    target, evaluated = torch.full((1, 3, 4, 4), 0.3), []

    def objective(x):  # reports the distance to 0.3 but its gradient points away: every step makes it worse
        distance = (x - target).square().sum()
        total = distance.detach() - (distance - distance.detach())
        evaluated.append((x.detach().clone(), float(total.detach())))
        return {"total": total, "content": distance}

    init = torch.full((1, 3, 4, 4), 0.4)
    best, terms = optimise_image(objective, init, steps=2, max_iter=3)
    losses = [loss for _, loss in evaluated]
    assert len(evaluated) > 2 and losses[-1] > 2 * min(losses)
    assert terms["total"] == min(losses) == losses[0] and terms["content"] == losses[0]
    torch.testing.assert_close(best, init)  # the first evaluated iterate, the init, was the best
    assert not torch.allclose(best, evaluated[-1][0])


def test_the_closure_clamps_the_image_to_0_1():
    seen = []

    def objective(x):
        seen.append((float(x.detach().min()), float(x.detach().max())))
        return {"total": -(x.sum() * 100)}  # pushes x above 1

    best, _ = optimise_image(objective, torch.full((1, 3, 2, 2), 0.5), steps=1, max_iter=4)
    assert all(0 <= lo and hi <= 1 for lo, hi in seen) and best.max() <= 1


# ---------------------------------------------------------------- the VGG19 trunk
def test_avg_pool_vgg19_keeps_names_and_keys_and_taps_pre_relu():
    avg, default = vgg_features("vgg19", "avg"), vgg_features("vgg19")
    assert vgg_layer_names(avg) == vgg_layer_names(default)
    assert list(avg.state_dict()) == list(default.state_dict())
    assert sum(isinstance(m, nn.AvgPool2d) for m in avg) == 5 and not any(isinstance(m, nn.AvgPool2d) for m in default)
    for module in avg:
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, std=0.1)
            nn.init.normal_(module.bias, std=0.1)
    trunk = VGGTrunk(avg, ["conv1_1", "relu1_2", "pool1", "conv2_1"])
    x = torch.rand(1, 3, 16, 16)
    feats = trunk(x)
    torch.testing.assert_close(feats["pool1"], F.avg_pool2d(feats["relu1_2"], 2))
    torch.testing.assert_close(feats["conv2_1"], avg[5](feats["pool1"]))  # pre-ReLU: the conv's output itself
    assert feats["conv1_1"].min() < 0 and feats["conv2_1"].min() < 0


def test_method_trunk_is_vgg19_avg_pool_with_conv_taps():
    method = build()
    options = method.perceptual.options()
    assert options["arch"] == "vgg19" and options["pool"] == "avg"
    assert options["taps"] == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1", "conv4_2"]
    assert method.label() == "Gatys-enhanced (VGG19-random, seed 0)" and method.provenance()["tier"] == "offline"
    assert build_vgg_random("vgg19", ["conv1_1"], calibration_size=32).options()["pool"] == "max"  # default kept


def test_vgg19_imagenet_trunk_gives_the_paper_tier(tmp_path, monkeypatch):
    import json

    import hypercon.weights.registry as reg
    from baselines.common.perceptual import CLASSIFIER_KEYS

    monkeypatch.setattr(reg, "hub_checkpoints_dir", lambda: tmp_path)
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    state = {f"features.{k}": torch.zeros(v.shape) for k, v in vgg_features("vgg19").state_dict().items()}
    state["features.0.weight"] = torch.randn(state["features.0.weight"].shape)
    state.update({k: torch.zeros(1) for k in CLASSIFIER_KEYS})
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(state, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps({"entries": {"vgg19": {"file": path.name, "sha256": digest}}}))
    monkeypatch.setenv("HYPERCON_WEIGHTS_MANIFEST", str(tmp_path / "manifest.json"))
    from hypercon.config import compose_config

    cfg = compose_config(["method=gatys_coherence", "perceptual@method.perceptual=vgg19_imagenet"],
                         values={"paths.weights_dir": str(tmp_path), "method.steps": 1})
    method = instantiate_component(cfg.method)
    assert method.label() == "Gatys-enhanced (VGG19)" and method.tier == "paper"
    assert method.provenance()["tier"] == "test"  # the file comes from a test manifest: a stand-in
    assert method.perceptual.weights()["sha256"] == digest
    assert torch.equal(method.perceptual.trunk.features[0].weight, state["features.0.weight"])
    assert isinstance(method.perceptual.trunk.features[4], nn.AvgPool2d)


# ---------------------------------------------------------------- end to end, configs, errors
@pytest.mark.parametrize("coherence", ["none", "mse", "enhanced", "flow", "flow_masked"])
def test_tiny_vgg_random_run(coherence, one_thread):
    frames = make_synthetic_video(seed=0, num_frames=3, height=32, width=32).frames
    if coherence == "enhanced":  # channels-last memory, as the runner's uint8 round trip gives
        frames = frames.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    method = build(**{"method.coherence": coherence, "method.init": "prev_warped" if coherence == "mse" else "content"})
    out = method.run(frames)
    assert out.shape == frames.shape and 0 <= out.min() and out.max() <= 1 and torch.isfinite(out).all()
    stats = method.last_stats
    assert len(stats["total"]) == 3 and stats["coherence"][0] == 0 and math.isnan(stats["scene_factor"][0])
    assert (stats["coherence"][1] > 0) == (coherence != "none")
    alpha, beta, eta = 0.85, 6e5, 40.0
    for i in range(3):
        total = alpha * stats["content"][i] + beta * stats["style"][i] + eta * stats["coherence"][i]
        assert math.isclose(stats["total"][i], total, rel_tol=1e-4)
    assert not torch.equal(out, frames)  # the style moved the frames


def test_strong_mse_coherence_pulls_frames_together(one_thread):
    frames = make_synthetic_video(seed=1, num_frames=2, height=32, width=32).frames
    change = {}
    for coherence in ("none", "mse"):
        method = build(**{"method.coherence": coherence, "method.coherence_weight": 1e4, "method.max_iter": 10})
        out = method.run(frames)
        change[coherence] = float((out[1] - out[0]).square().mean())
    assert change["mse"] < 0.5 * change["none"]


def test_noise_init_is_seeded(one_thread):
    frames = torch.rand(1, 3, 32, 32)
    a = build(**{"method.init": "noise", "method.coherence": "none"}).run(frames)
    b = build(**{"method.init": "noise", "method.coherence": "none"}).run(frames)
    c = build(**{"method.init": "noise", "method.coherence": "none", "seed": 1}).run(frames)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("key, value, error, match", [
    ("method.coherence", "optical", SettingError, "method.coherence must be one of"),
    ("method.occlusion_rule", "ruder2", SettingError, "method.occlusion_rule must be one of"),
    ("method.flow_warp", "forward", SettingError, "method.flow_warp must be one of"),
    ("method.init", "zeros", SettingError, "method.init must be one of"),
    ("method.steps", 0, SettingError, "method.steps must be an integer"),
    ("method.style_image", "/nonexistent/mosaic.jpg", InputNotFound, "method.style_image: /nonexistent/mosaic.jpg"),
    ("method.style_image", "skimage:moon", SettingError, "method.style_image: unknown bundled image 'moon'"),
])
def test_bad_options_fail_with_one_line_naming_the_key(key, value, error, match):
    with pytest.raises(InstantiationException) as info:  # hydra wraps the constructor's error
        build(**{key: value})
    cause = find_expected_error(info.value)
    assert isinstance(cause, error) and re.search(match, str(cause)) and "\n" not in str(cause)


def test_pixel_trunk_is_refused_and_masks_are_refused():
    from hypercon.config import compose_config

    cfg = compose_config(["method=gatys_coherence", "perceptual@method.perceptual=pixel"])
    with pytest.raises(InstantiationException) as info:
        instantiate_component(cfg.method)
    assert "method.perceptual: gatys_coherence needs a VGG trunk" in str(find_expected_error(info.value))
    with pytest.raises(SettingError, match="task=style"):
        build().run(torch.rand(2, 3, 32, 32), known=torch.ones(2, 1, 32, 32))


def test_style_image_from_a_file(tmp_path):
    path = tmp_path / "style.png"
    cv2.imwrite(str(path), np.full((20, 30, 3), (0, 128, 255), np.uint8))  # BGR on disk
    method = build(**{"method.style_image": str(path)})
    assert method.style.shape == (3, 20, 30)
    assert torch.allclose(method.style[:, 0, 0], torch.tensor([1.0, 128 / 255, 0]))  # read as RGB
    assert method.options()["style_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_davis_config_composes_with_the_method(shared_dir):
    from hypercon.config import compose_config

    root = shared_dir / "data" / "davis2016-val"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    cfg = compose_config(["method=gatys_coherence", "dataset=davis2016"], values={
        "dataset.root": str(root), "dataset.sequences": ["camel"], "dataset.size": [48, 32], "dataset.max_frames": 2,
        **TINY})
    frames = instantiate_component(cfg.dataset).load("camel").frames
    out = instantiate_component(cfg.method).run(frames)
    assert out.shape == (2, 3, 32, 48)


def test_no_image_model_means_reference_metrics_are_unavailable_not_compared_with_model(tmp_path):
    """Without an image model there is no frame-wise reference: fidelity must not compare with `model=`'s output."""
    from experiments.runner import build_job
    from hypercon.config import compose_config

    cfg = compose_config(["method=gatys_coherence"], values={
        "task.metrics": ["ewarp", "fidelity"], "paths.output_root": str(tmp_path), **TINY})
    job = build_job(cfg, tmp_path / "run")
    assert not job.needs_reference(has_gt=False) and job.reference_model is None
    plain = build_job(compose_config(["method=hypercon"], values={"task.metrics": ["fidelity"],
                                                                  "paths.output_root": str(tmp_path)}), tmp_path / "r2")
    assert plain.needs_reference(has_gt=False)


# ---------------------------------------------------------------- the synthetic video with a hard cut
def test_synthetic_cut_splices_two_scenes_with_no_motion_across_the_cut():
    ds = SyntheticDataset(num_videos=1, num_frames=5, height=24, width=32, cut_at=3, seed=4)
    video = ds.motion("synth-000")
    before = make_synthetic_video((4, 0), 5, 24, 32)
    after = make_synthetic_video((4, 0, 1), 5, 24, 32)
    torch.testing.assert_close(video.frames, torch.cat((before.frames[:3], after.frames[3:])), rtol=0, atol=0)
    torch.testing.assert_close(video.flow_fw[:2], before.flow_fw[:2], rtol=0, atol=0)
    torch.testing.assert_close(video.flow_bw[3:], after.flow_bw[3:], rtol=0, atol=0)
    assert video.flow_fw[2].abs().max() == 0 and video.occluded_fw[2].all() and video.occluded_bw[2].all()
    assert not video.occluded_fw[1].all() and ds.provenance()["cut_at"] == 3
    torch.testing.assert_close(ds.load("synth-000").frames, video.frames)
    with pytest.raises(SettingError, match="dataset.cut_at"):
        SyntheticDataset(num_videos=1, num_frames=5, cut_at=5)
    default = compose_component("dataset", "synthetic")
    assert default.cut_at is None
    assert instantiate_component(compose_component("dataset", "synthetic", values={"dataset.cut_at": 4})).cut_at == 4


def test_coherence_table_command_is_the_baselines_module(capsys):
    from baselines.gatys_coherence.table import main

    with pytest.raises(SystemExit) as exit_info:  # python -m baselines.gatys_coherence.table --help
        main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0 and "--davis-root" in out and "--max-iter" in out
