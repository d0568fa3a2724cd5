"""Lai et al.'s vcons (baselines/vcons): upstream key names and strict loading, the options pickle behind a
restricted unpickler, the never-applied norm layers, O = P for a zeroed last layer, the feedback modes,
losses on exact flows, flows computed on augmented crops, training determinism, and ``python run.py
method=vcons`` (style and inpainting)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.common.sidecar import write_trained
from baselines.common.temporal_loss import warp_previous
from baselines.vcons.data import Augment, augment_clip, draw_jitter, hue_rotation, jitter_frames, JitterRange
from baselines.vcons.losses import clip_losses, pair_loss, upstream_lr
from baselines.vcons.method import BlindConsistency, feed_back, multiple_of, vcons_video
from baselines.vcons.network import (TransformNet, options_from_namespace, options_from_state_dict,
                                     transformnet_from_checkpoint)
from datasets.synthetic import make_synthetic_video
from hypercon.config import compose_config, instantiate_component
from hypercon.models.diagnostic import Flicker, Identity
from hypercon.weights import MissingWeightsError, WeightsError

REPO = Path(__file__).resolve().parents[1]
SHARED_DAVIS = REPO.parent / "shared" / "data" / "davis2016-val"


def tiny_net(seed: int = 0, **kwargs) -> TransformNet:
    torch.manual_seed(seed)
    return TransformNet(**{"nf": 4, "blocks": 1, **kwargs}).eval()


def upstream_state(net: TransformNet) -> dict:
    """What Lai's train.py saved: ``{'model': state_dict, 'optimizer': ...}``."""
    return {"model": net.state_dict(), "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4}]}}


# ------------------------------------------------------------------------------------------ network


def test_upstream_key_names_and_shapes():
    state = TransformNet().state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    assert shapes["conv1a.conv2d.weight"] == (32, 6, 7, 7)
    assert shapes["conv1b.conv2d.weight"] == (32, 6, 7, 7)
    assert shapes["conv2a.conv2d.weight"] == (64, 32, 3, 3)
    assert shapes["conv3.conv2d.weight"] == (128, 128, 3, 3)
    assert shapes["ResBlocks.4.conv2.conv2d.weight"] == (128, 128, 3, 3)
    assert shapes["ResBlocks.0.conv1.norm_layer.running_mean"] == (128,)
    assert shapes["convlstm.Gates.weight"] == (512, 256, 3, 3)
    assert shapes["deconv1.conv2d.weight"] == (64, 128, 3, 3)
    assert shapes["deconv2.conv2d.weight"] == (32, 128, 3, 3)
    assert shapes["deconv3.conv2d.weight"] == (3, 64, 7, 7) and "deconv3.conv2d.bias" in shapes
    assert "deconv3.norm_layer.running_mean" not in shapes  # upstream's last layer has no norm
    assert not any(k.endswith("norm_layer.weight") for k in shapes)  # IN without affine parameters
    assert options_from_state_dict(state) == {"nf": 32, "blocks": 5, "norm": "IN"}


def test_synthetic_upstream_checkpoint_loads_strictly_and_old_files_without_counters(caplog):
    net = tiny_net(1)
    loaded = transformnet_from_checkpoint(upstream_state(net), {"nf": 4, "blocks": 1})
    x = torch.rand(1, 12, 8, 12)
    torch.testing.assert_close(loaded(x)[0], net(x)[0], rtol=0, atol=0)
    old = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    with caplog.at_level(logging.INFO, logger="baselines.vcons.network"):
        transformnet_from_checkpoint({"model": old}, {"nf": 4, "blocks": 1}, "old.pth")
    assert "num_batches_tracked buffers absent" in caplog.text and "old.pth" in caplog.text
    broken = dict(net.state_dict())
    broken.pop("convlstm.Gates.weight")
    with pytest.raises(ValueError, match=r"old\.pth: keys do not match .*convlstm\.Gates\.weight"):
        transformnet_from_checkpoint({"model": broken}, {"nf": 4, "blocks": 1}, "old.pth")
    with pytest.raises(ValueError, match="x.pth: .*size mismatch"):
        transformnet_from_checkpoint({"model": net.state_dict()}, {"nf": 8, "blocks": 1}, "x.pth")


def test_norm_buffers_are_never_applied():
    net = tiny_net(2)
    x = torch.rand(1, 12, 16, 20)
    before = net(x)[0]
    for name, buf in net.named_buffers():
        if "running" in name:
            buf.uniform_(5, 10)
    torch.testing.assert_close(net(x)[0], before, rtol=0, atol=0)


def test_bad_input_shapes_are_refused():
    with pytest.raises(ValueError, match="multiples of 4"):
        tiny_net()(torch.rand(1, 12, 10, 12))
    with pytest.raises(ValueError, match="norm"):
        TransformNet(norm="GN")


# ------------------------------------------------------------------------------------------ options pickle


def _py2_style_options(path: Path, **values) -> None:
    path.write_bytes(pickle.dumps(argparse.Namespace(**values), protocol=0))


def test_options_pickle_is_read_with_a_restricted_unpickler(tmp_path):
    from hypercon.weights import restricted_pickle_load
    from hypercon.weights.registry import PICKLE_FORMATS

    _py2_style_options(tmp_path / "opts.pth", nf=16, blocks=3, norm="IN", lr_init=1e-4)
    namespace = restricted_pickle_load(tmp_path / "opts.pth", PICKLE_FORMATS["argparse_namespace"])
    assert options_from_namespace(namespace) == {"nf": 16, "blocks": 3, "norm": "IN"}
    assert options_from_namespace(argparse.Namespace(norm=b"IN")) == {"nf": 32, "blocks": 5, "norm": "IN"}

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (tmp_path / "evil.pth").write_bytes(pickle.dumps(argparse.Namespace(nf=Evil()), protocol=0))
    with pytest.raises(pickle.UnpicklingError, match="system"):
        restricted_pickle_load(tmp_path / "evil.pth", PICKLE_FORMATS["argparse_namespace"])


def test_paper_checkpoint_through_the_registry(tmp_path):
    net = tiny_net(3, nf=8, blocks=2)
    torch.save(upstream_state(net), tmp_path / "ECCV18_blind_consistency.pth")
    _py2_style_options(tmp_path / "ECCV18_blind_consistency_opts.pth", nf=8, blocks=2, norm="IN")
    method = BlindConsistency(Identity(), checkpoint="paper", weights_dir=str(tmp_path))
    assert method.tier == "paper" and method.options()["network"] == {"nf": 8, "blocks": 2, "norm": "IN"}
    assert method.weights()["options_file"].endswith("ECCV18_blind_consistency_opts.pth")
    assert method.label() == "identity-vcons"
    (tmp_path / "evil").mkdir()
    torch.save(upstream_state(net), tmp_path / "evil" / "ECCV18_blind_consistency.pth")

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    (tmp_path / "evil" / "ECCV18_blind_consistency_opts.pth").write_bytes(
        pickle.dumps(argparse.Namespace(nf=Evil()), protocol=0))
    with pytest.raises(WeightsError, match="refused by the safe loader"):
        BlindConsistency(Identity(), checkpoint="paper", weights_dir=str(tmp_path / "evil"))


def test_missing_paper_checkpoint_names_the_file_and_the_dead_link(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    with pytest.raises(MissingWeightsError) as err:
        BlindConsistency(Identity(), checkpoint="paper", weights_dir=str(tmp_path))
    text = str(err.value)
    assert "ECCV18_blind_consistency.pth" in text and "dead" in text and str(tmp_path) in text


# ------------------------------------------------------------------------------------------ inference


def test_zeroed_last_layer_gives_o_equals_p_and_o0_is_p0():
    net = tiny_net(4)
    torch.nn.init.zeros_(net.deconv3.conv2d.weight)
    torch.nn.init.zeros_(net.deconv3.conv2d.bias)
    video = make_synthetic_video(seed=0, num_frames=4, height=22, width=30)  # not multiples of 4: resized
    processed = Flicker(strength=0.2)(video.frames)
    out = vcons_video(net, video.frames, processed, feedback="float")
    torch.testing.assert_close(out, processed.clamp(0, 1), atol=1e-6, rtol=0)
    random_net = tiny_net(5)
    out = vcons_video(random_net, video.frames, processed)
    torch.testing.assert_close(out[0], processed[0])
    assert not torch.allclose(out[1:], processed[1:], atol=1e-3)
    assert multiple_of((22, 30)) == (24, 32)


def test_feedback_modes():
    frames = torch.rand(2, 3, 24, 32) * 1.2 - 0.1  # out of range on purpose
    torch.testing.assert_close(feed_back(frames, "float"), frames, rtol=0, atol=0)
    u8 = feed_back(frames, "uint8")
    assert u8.min() >= 0 and u8.max() <= 1
    torch.testing.assert_close(u8 * 255, torch.round(u8 * 255), rtol=0, atol=1e-4)
    torch.testing.assert_close(u8, torch.round(frames.clamp(0, 1) * 255) / 255)
    jpeg = feed_back(frames, "jpeg95")
    torch.testing.assert_close(jpeg * 255, torch.round(jpeg * 255), rtol=0, atol=1e-4)
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(1, 3, 24, 32).clone()
    ramp[:, 1] = ramp[:, 1].flip(-1)
    smooth = feed_back(ramp + 0.02 * torch.rand(1, 3, 24, 32), "jpeg95")
    assert 0 < (smooth - ramp).abs().mean() < 0.03  # JPEG at quality 95: lossy, but close on a smooth image
    with pytest.raises(ValueError, match="feedback"):
        feed_back(frames, "png")
    # the recurrence sees what feedback gives: the three modes give three different outputs
    video = make_synthetic_video(seed=2, num_frames=4, height=24, width=32)
    processed = Flicker(strength=0.2)(video.frames)
    outs = {m: vcons_video(tiny_net(6), video.frames, processed, feedback=m) for m in ("uint8", "jpeg95", "float")}
    assert not torch.equal(outs["uint8"], outs["float"]) and not torch.equal(outs["uint8"], outs["jpeg95"])


def test_method_run_records_options_and_composites_for_inpainting():
    video = make_synthetic_video(seed=3, num_frames=3, height=16, width=24)
    processed = Flicker(strength=0.3)(video.frames)
    method = BlindConsistency.from_network(Identity(), tiny_net(7), feedback="jpeg95")
    assert method.options()["feedback"] == "jpeg95" and method.needs_reference_input
    known = torch.ones(3, 1, 16, 24)
    known[:, :, 4:10, 6:14] = 0
    out = method.run(video.frames, known, reference=processed)
    torch.testing.assert_close(out * known, video.frames * known)
    with pytest.raises(ValueError, match="reference"):
        method.run(video.frames)


def test_inpainting_placeholder_modes_fill_only_the_hole():
    from baselines.vcons.method import check_placeholder, fill_holes

    frames = torch.rand(2, 3, 8, 10)
    known = torch.ones(2, 1, 8, 10)
    known[:, :, 2:5, 3:7] = 0
    hole = known.expand_as(frames) == 0
    for value in (0.5, 0):
        filled = fill_holes(frames, known, check_placeholder(value))
        assert torch.equal(filled[~hole], frames[~hole]) and bool((filled[hole] == value).all())
    noise = fill_holes(frames, known, "noise", seed=3)
    assert torch.equal(noise, fill_holes(frames, known, "noise", seed=3))  # seeded
    assert not torch.equal(noise, fill_holes(frames, known, "noise", seed=4))
    assert torch.equal(noise[~hole], frames[~hole]) and 0.3 < float(noise[hole].mean()) < 0.7
    for bad in (1.5, "grey", None):
        with pytest.raises(ValueError, match="method.placeholder"):
            check_placeholder(bad)
    # the placeholder reaches the network (I_t), and the label says which one was used
    video = make_synthetic_video(seed=3, num_frames=3, height=16, width=24)
    processed = Flicker(strength=0.3)(video.frames)
    known = torch.ones(3, 1, 16, 24)
    known[:, :, 4:10, 6:14] = 0
    grey = BlindConsistency.from_network(Identity(), tiny_net(7))
    black = BlindConsistency.from_network(Identity(), tiny_net(7))
    black.placeholder = 0.0
    out_grey, out_black = grey.run(video.frames, known, processed), black.run(video.frames, known, processed)
    assert not torch.equal(out_grey, out_black) and torch.equal(out_grey * known, out_black * known)
    assert grey.label() == "identity-vcons (given network)"
    assert black.label() == "identity-vcons (given network, placeholder 0)"
    assert black.options()["placeholder"] == 0.0


# ------------------------------------------------------------------------------------------ training


def test_pair_loss_matches_lai_formula_on_an_exact_shift():
    """L1(O_t·M, warp(O_s)·M), M = exp(−50 (Σ_c (I_t − warp I_s))²), channels summed before squaring."""
    gen = torch.Generator().manual_seed(0)
    i_s, o_s = torch.rand(1, 3, 12, 16, generator=gen), torch.rand(1, 3, 12, 16, generator=gen)
    i_t = torch.roll(i_s, shifts=2, dims=3) + 0.05 * torch.rand(1, 3, 12, 16, generator=gen)
    o_t = torch.rand(1, 3, 12, 16, generator=gen)
    flow = torch.zeros(1, 2, 12, 16)
    flow[:, 0] = -2.0  # x on frame t comes from x − 2 on frame s
    w_i, w_o = i_s.roll(2, dims=3), o_s.roll(2, dims=3)
    w_i[..., :2], w_o[..., :2] = i_s[..., :1], o_s[..., :1]  # border clamp
    mask = np.exp(-50 * ((i_t - w_i).sum(1, keepdim=True).numpy()) ** 2)
    expected = np.abs(o_t.numpy() * mask - w_o.numpy() * mask).mean()
    assert pair_loss(o_t, o_s, i_t, i_s, flow, 50.0).item() == pytest.approx(expected, rel=1e-5)
    torch.testing.assert_close(warp_previous(o_s, flow), w_o)


def test_clip_losses_sum_over_frames_and_vanish_for_a_static_consistent_clip():
    frame = torch.rand(1, 3, 8, 8)
    clip = [frame.clone() for _ in range(4)]
    zero = torch.zeros(1, 2, 8, 8)
    flows = [None] + [zero] * 3
    l1 = lambda a, b: (a - b).abs().mean()  # noqa: E731
    losses = clip_losses(clip, clip, clip, flows, [None, None, zero, zero], l1)
    assert all(v.item() < 1e-5 for v in losses.values())  # weights 100: float rounding of the warp
    outputs = [frame] + [frame + 0.1] * 3  # O_t = O_0 + 0.1 everywhere, static input: M = 1
    losses = clip_losses(clip, clip, outputs, flows, [None, None, zero, zero], l1, w_st=1, w_lt=1, w_vgg=1)
    assert losses["short"].item() == pytest.approx(0.1)  # only t = 1 differs from its predecessor
    assert losses["long"].item() == pytest.approx(0.2)   # t = 2, 3 against frame 0
    assert losses["perceptual"].item() == pytest.approx(0.3)
    assert upstream_lr(21) == 5e-5 and upstream_lr(100) == 1e-5
    assert upstream_lr(19) == 1e-4 and upstream_lr(20) == 5e-5 and upstream_lr(60) == 1.25e-5  # floor(epoch/20)


def test_augmented_flow_still_aligns_its_augmented_frames():
    """Flows are computed after the crop/scale/rot90/flip/reversal, so they align the augmented frames."""
    from hypercon.flow.dis import DISFlow

    video = make_synthetic_video(seed=4, num_frames=3, height=96, width=128)
    flow = DISFlow()
    for seed in range(3):
        aug, = augment_clip([video.frames], Augment(crop=64, scale_min=0.7, scale_max=1.5),
                            torch.Generator().manual_seed(seed))
        f = flow(aug[1:2], aug[0:1])
        aligned = warp_previous(aug[0:1], f)
        assert (aligned - aug[1:2]).abs().mean() < 0.5 * (aug[0:1] - aug[1:2]).abs().mean()


def test_jitter_and_augmentation_are_drawn_from_the_generator_only():
    frames = torch.rand(4, 3, 40, 50)
    a = augment_clip([frames, frames], Augment(crop=16), torch.Generator().manual_seed(3))
    b = augment_clip([frames, frames], Augment(crop=16), torch.Generator().manual_seed(3))
    torch.testing.assert_close(a[0], b[0], rtol=0, atol=0)
    torch.testing.assert_close(a[0], a[1], rtol=0, atol=0)  # the same transform for I and P
    params = draw_jitter(4, JitterRange(), torch.Generator().manual_seed(0))
    jittered = jitter_frames(a[0], *params)
    assert jittered.shape == a[0].shape and 0 <= jittered.min() and jittered.max() <= 1
    grey = torch.full((1, 3, 2, 2), 0.5)  # a hue rotation keeps grey grey (luma kept)
    torch.testing.assert_close(torch.einsum("tij,tjhw->tihw", hue_rotation(torch.tensor([1.0])), grey), grey)


@pytest.mark.shared
@pytest.mark.skipif(not SHARED_DAVIS.is_dir(), reason="needs ../shared/data/davis2016-val")
def test_training_is_deterministic_and_ships_a_loadable_checkpoint(tmp_path, one_thread):
    from baselines.common.cli import compose_train_config, train_from_config

    def train(out: Path) -> Path:
        cfg = compose_train_config("vcons_offline", [
            f"root={SHARED_DAVIS}", f"out_dir={out}", "steps=2", "checkpoint_every=1", "threads=1",
            "recipe.sequences=[blackswan]", "recipe.tasks=[jitter]", "recipe.frames=3", "recipe.crop=32",
            "recipe.batch=1", "recipe.nf=4", "recipe.blocks=1", "perceptual=pixel", f"cache_dir={tmp_path}/c",
            "split.train=[blackswan]", "split.test=[camel]"])
        return train_from_config(cfg).trained

    a, b = train(tmp_path / "a"), train(tmp_path / "b")
    sa = torch.load(a, weights_only=True)["modules"]["net"]
    sb = torch.load(b, weights_only=True)["modules"]["net"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    sidecar = json.loads(a.with_suffix(".json").read_text())
    assert sidecar["trained_on"] == ["blackswan"] and sidecar["data"]["tasks"] == ["jitter"]
    method = BlindConsistency(Identity(), checkpoint=str(a))
    assert method.tier == "trained-here" and method.weights()["trained_on"] == ["blackswan"]
    assert method.label() == "identity-vcons (a)" or method.label().startswith("identity-vcons (")


# ------------------------------------------------------------------------------------------- runs


def test_config_defaults_load_the_shipped_checkpoint():
    """A fresh clone runs vcons offline: the default checkpoint is shipped, registered and verified."""
    from baselines.common.split import load_split
    from hypercon.weights import weights_status

    cfg = compose_config(["method=vcons", "model=identity"]).method
    assert cfg.checkpoint == "trained" and cfg.feedback == "uint8"
    method = instantiate_component(cfg)
    record = method.weights()
    assert method.tier == "trained-here" and record["file"].endswith("hypercon/weights/trained/vcons_offline.pt")
    assert set(record["trained_on"]) <= set(load_split().train) and record["split"] == "davis2016_dev"
    assert method.options()["network"] == {"nf": 32, "blocks": 5, "norm": "IN"}
    row = next(r for r in weights_status() if r.name == "vcons_offline")
    assert row.tier == "trained-here" and row.verified.startswith("verified") and row.found_in == "package"
    video = make_synthetic_video(seed=5, num_frames=3, height=32, width=48)
    processed = Flicker(strength=0.2)(video.frames)
    out = method.run(video.frames, reference=processed)
    assert out.shape == video.frames.shape and torch.isfinite(out).all()


@pytest.mark.slow
def test_run_py_vcons_style_and_inpaint(tmp_path):
    net = tiny_net(8)
    ckpt = tmp_path / "tiny_vcons.pt"
    write_trained(ckpt, {"net": net.state_dict()}, {"name": "tiny_vcons", "trained_on": ["bmx-trees"], "steps": 1})
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HYPERCON_OUTPUT": str(tmp_path)}
    cmd = [sys.executable, "run.py", "-m", "method=vcons", "task=style,inpaint", f"method.checkpoint={ckpt}",
           "dataset.num_videos=1", "dataset.num_frames=4", "dataset.height=32", "dataset.width=48",
           "save_video=false", "save_frames=false", f"paths.output_root={tmp_path}", "sweep_name=vcons",
           "metrics.names=[ewarp]"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = sorted((tmp_path / "sweeps" / "vcons").glob("*/results.json"))
    assert len(results) == 2
    for path in results:
        record = json.loads(path.read_text())
        prov = record["provenance"]["method"]
        assert record["complete"] and prov["tier"] == "trained-here"
        assert prov["weights"]["trained_on"] == ["bmx-trees"] and prov["options"]["feedback"] == "uint8"
        assert prov["label"].endswith("-vcons (tiny_vcons)")
