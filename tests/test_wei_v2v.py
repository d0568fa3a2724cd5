"""Wei et al. (ACM MM 2018, baselines/wei_v2v): generator and discriminator shapes (width multiplier, sizes that
are not multiples of 128), the recurrent state, the reliable residual of exact motion, 20 training steps of
each variant, the configs, the shipped checkpoints through method=wei_v2v / model=wei_image2image, and run.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from baselines.cyclegan_temporal.discriminator import NLayerDiscriminator
from baselines.wei_v2v.data import clip_starts, draw_clip, make_clip_video
from baselines.wei_v2v.discriminator import RecurrentDiscriminator, TwoChannelDiscriminator
from baselines.wei_v2v.generator import MULTIPLE, WeiGenerator
from baselines.wei_v2v.losses import VARIANTS
from baselines.wei_v2v.residual import clip_masks, reliable_residuals, residuals
from baselines.wei_v2v.train import WeiRecipe, rename_task_override
from datasets.synthetic import make_synthetic_video
from hypercon.resize import pad_to_multiple, reflect_if_it_fits, unpad

REPO = Path(__file__).resolve().parents[1]
SHIPPED_TASKS = ("colorize", "sr2x", "vseg")


# ------------------------------------------------------------------------------------------- networks


@pytest.mark.parametrize("size", [(128, 128), (100, 150)])
def test_generator_shapes_with_a_width_multiplier_and_the_pad_round_trip(size, one_thread):
    torch.manual_seed(0)
    x = torch.rand(2, 3, *size) * 2 - 1
    g = WeiGenerator(width=0.125)
    y, hidden = g(x)
    assert y.shape == (2, 3, *size) and y.abs().max() <= 1
    bottleneck = tuple(-(-s // 128) for s in size)  # seven stride-2 layers on the padded frame
    assert hidden.shape == (2, 64, *bottleneck)  # C512 × 1/8
    assert g.encoder[0][0].out_channels == 8 and g.decoder[0][1].out_channels == 64
    padded, pads = pad_to_multiple(x, MULTIPLE, mode=reflect_if_it_fits(x.shape[-2:], MULTIPLE))
    assert all(s % 128 == 0 for s in padded.shape[-2:]) and torch.equal(unpad(padded, pads), x)
    seg, none = WeiGenerator(out_channels=1, width=0.125, recurrent=False, head="sigmoid")(x)
    assert seg.shape == (2, 1, *size) and 0 <= seg.min() and seg.max() <= 1 and none is None


@pytest.mark.parametrize("size", [(128, 128), (100, 150)])
def test_discriminator_shapes(size, one_thread):
    torch.manual_seed(0)
    inputs, frames = torch.rand(5, 2, 3, *size), torch.rand(5, 2, 3, *size)
    d = TwoChannelDiscriminator(3, 3, width=0.125)
    assert d.spatial(inputs, frames).shape == (2,) and d.temporal(frames[1:]).shape == (2,)
    assert d.spatial_channel.features[0].in_channels == 6 and d.spatial_channel.features[0].out_channels == 8
    assert RecurrentDiscriminator(1, 0.125)(torch.rand(4, 1, 1, *size)).shape == (1,)
    with pytest.raises(ValueError, match="no temporal channel"):
        TwoChannelDiscriminator(3, 3, 0.125, temporal=False).temporal(frames[1:])
    patch = NLayerDiscriminator(8, in_channels=4)(torch.rand(2, 4, 128, 128))
    assert patch.shape == (2, 1, 14, 14)  # pix2pix's 70×70 PatchGAN on (RGB input, probability) pairs


def test_recurrent_state_changes_across_steps_and_resets_per_clip(one_thread):
    from baselines.wei_v2v.inference import translate_video

    torch.manual_seed(0)
    g = WeiGenerator(width=0.125).eval()
    clip = torch.rand(3, 1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        _, h1 = g(clip[0])
        _, h2 = g(clip[1], h1)
        assert not torch.allclose(h1, h2) and h1.abs().max() <= 1  # tanh state, updated every step
        assert not torch.allclose(g(clip[1], h1)[0], g(clip[1])[0])  # the state changes the output
        first, second = g.run_clip(clip), g.run_clip(clip)
        assert torch.equal(first, second)  # the state starts from zeros at each clip
        assert torch.equal(first[0], g(clip[0])[0])
        video = (clip[:, 0] + 1) / 2
        assert torch.equal(translate_video(g, video), translate_video(g, video))  # and at each video
        assert torch.allclose(translate_video(g, video), (first[:, 0] + 1) / 2, atol=1e-6)


def test_reliable_residual_of_exact_motion_is_about_zero():
    video = make_synthetic_video(3, 5, 64, 96)
    clip, to_prev, to_next = video.frames[:, None], video.flow_bw[:, None], video.flow_fw[:, None]
    masks = clip_masks(to_prev, to_next)
    assert masks.shape == (4, 1, 1, 64, 96) and masks.mean() > 0.9
    reliable = reliable_residuals(clip, to_prev, masks).abs().mean()
    unaligned = residuals(clip, torch.zeros_like(to_prev)).abs().mean()
    assert reliable < 0.005 and reliable < 0.15 * unaligned
    assert residuals(clip, to_prev).abs().mean() > 2 * reliable  # what the masks drop: disocclusions, edges


# ------------------------------------------------------------------------------------------- training


def _videos(task: str = "colorize"):
    video = make_synthetic_video(5, 10, 128, 128)
    known = (video.layers == 0).float() if task == "vseg" else None
    return [make_clip_video("synth", video.frames, known, video.flow_bw, video.flow_fw, task)]


def test_clips_are_non_overlapping_and_flipped_flows_change_sign():
    videos = _videos()
    assert clip_starts(videos) == [(0, 0), (0, 5)]
    draws = [draw_clip(videos, clip_starts(videos), 64, "tanh", torch.Generator().manual_seed(s)) for s in range(8)]
    assert all(d["inputs"].shape == (5, 3, 64, 64) and d["to_prev"].shape == (4, 2, 64, 64) for d in draws)
    assert all(torch.equal(d["inputs"][:, 0], d["inputs"][:, 1]) for d in draws)  # colorize: luma in
    assert min(float(d["inputs"].min()) for d in draws) >= -1 and max(float(d["targets"].max()) for d in draws) <= 1


@pytest.mark.parametrize("variant", VARIANTS)
def test_twenty_cpu_steps_at_128_lower_the_spatial_loss(variant, one_thread):
    recipe = WeiRecipe.from_videos(_videos(), "colorize", variant, crop=128, width=0.125)
    torch.manual_seed(0)
    recipe.build(torch.device("cpu"))
    sampler = torch.Generator().manual_seed(0)
    losses = [recipe.step(recipe.sample(sampler)) for _ in range(20)]
    assert all(torch.isfinite(torch.tensor(list(step.values()))).all() for step in losses)
    spatial = [step["spatial"] for step in losses]
    assert sum(spatial[-5:]) / 5 < 0.9 * sum(spatial[:5]) / 5
    assert ("temporal" in losses[0]) and losses[0]["D"] > 0


def test_train_configs_and_the_task_override():
    from baselines.common.cli import compose_train_config

    assert rename_task_override(["task=sr2x", "variant=local", "x=task=1"]) == ["task_name=sr2x", "variant=local",
                                                                               "x=task=1"]
    paper = compose_train_config("wei_v2v_paper")
    assert (paper.recipe.crop, paper.recipe.width, list(paper.recipe.size)) == (256, 1.0, [854, 480])
    assert (paper.recipe.lam, paper.recipe.eta, paper.recipe.lr, paper.recipe.beta1) == (100.0, 1.0, 2e-4, 0.5)
    steps = set()
    for task in SHIPPED_TASKS:
        for variant in VARIANTS:
            cfg = compose_train_config("wei_v2v_offline", [f"task_name={task}", f"variant={variant}"])
            assert cfg.name == f"wei_{variant}_{task}_offline" and cfg.recipe.task == task
            assert (cfg.recipe.crop, cfg.recipe.width, cfg.threads) == (128, 0.25, 1)
            assert list(cfg.recipe.sequences) == list(cfg.split.train)
            steps.add(cfg.steps)
    assert len(steps) == 1  # one budget for every task and variant


# ------------------------------------------------------------------------------------------- shipped


@pytest.mark.parametrize("task", SHIPPED_TASKS)
def test_shipped_checkpoints_through_the_method_and_the_model(task, one_thread):
    from baselines.common.split import SplitViolation, check_unseen, load_split
    from baselines.wei_v2v.method import WeiVideoToVideo
    from baselines.wei_v2v.model import WeiImage2Image

    frames = make_synthetic_video(1, 3, 40, 56).frames
    method, model = WeiVideoToVideo("local_global", task), WeiImage2Image(task)
    assert method.label() == "Wei et al. (local+global)" and not method.uses_image_model
    for component in (method, model):
        record = component.provenance()
        assert record["tier"] == "trained-here" and record["weights"]["task"] == task
        assert set(record["weights"]["trained_on"]) <= set(load_split().train)
        with pytest.raises(SplitViolation):
            check_unseen(record, [load_split().train[0]])
    out, framewise = method.run(frames), model(frames)
    assert out.shape == framewise.shape == frames.shape and 0 <= out.min() and out.max() <= 1
    if task == "vseg":  # probability images: every channel the same
        assert torch.equal(out[:, 0], out[:, 2]) and torch.equal(framewise[:, 1], framewise[:, 2])
    assert torch.equal(model(frames), torch.cat([model(f[None]) for f in frames]))  # batching-independent


def test_unshipped_variant_stops_with_the_file_and_the_train_command():
    from baselines.wei_v2v.method import WeiVideoToVideo
    from hypercon.weights.manifest import MissingWeightsError

    with pytest.raises(MissingWeightsError, match=r"wei_local_sr2x_offline\.pt.*baselines\.wei_v2v\.train task=sr2x "
                                                  r"variant=local"):
        WeiVideoToVideo("local", "sr2x")
    with pytest.raises(ValueError, match="task must be one of"):
        WeiVideoToVideo("local_global", "style")


def test_run_py_wei_v2v_and_hypercon_over_image2image(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HYPERCON_OUTPUT": str(tmp_path)}
    small = ["dataset.num_videos=1", "dataset.num_frames=4", "dataset.height=32", "dataset.width=48",
             "save_video=false", "save_frames=false", f"paths.output_root={tmp_path}"]
    runs = {"wei": ["method=wei_v2v", "task=sr2x", "task.metrics=[gt]"],
            "hc": ["method=hypercon", "task=colorize", "model=wei_image2image", "task.metrics=[gt]"],
            "seg": ["method=wei_v2v", "task=vseg"]}  # the task's metrics: J, F and Wei's T (unavailable)
    for sweep, args in runs.items():
        cmd = [sys.executable, "run.py", "-m", *args, *small, f"sweep_name={sweep}"]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        record = json.loads(next((tmp_path / "sweeps" / sweep).glob("*/results.json")).read_text())
        assert record["complete"] and record["provenance"]["method"]["tier"] == "trained-here"
        key = "j_mean" if sweep == "seg" else "psnr"
        assert 0 <= record["aggregate"][key]["mean"] and (sweep == "seg" or record["aggregate"][key]["mean"] > 5)
