"""CycleGAN + the thesis' optical-flow temporal loss (baselines/cyclegan_temporal, hypercon/models/cyclegan.py):
network shapes and upstream key names, the upstream loader, the occlusion weights and L_temp against NumPy, the
LR schedule, exact kill + resume of the recipe, γ = 100 lowering L_temp, the shipped generators, and run.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.common.losslog import read_log
from baselines.common.sidecar import write_trained
from baselines.common.trainer import Trainer, TrainSettings
from baselines.cyclegan_temporal.data import PairVideo, draw_target, load_size
from baselines.cyclegan_temporal.discriminator import NLayerDiscriminator, init_weights
from baselines.cyclegan_temporal.losses import cyclegan_lr, temporal_term
from baselines.cyclegan_temporal.model import CycleGANTemporal
from baselines.cyclegan_temporal.occlusion import thesis_factors, thesis_weights
from baselines.cyclegan_temporal.train import CycleGANTemporalRecipe
from datasets.synthetic import make_synthetic_video
from hypercon.models.cyclegan import ResnetGenerator, generate, load_resnet_generator

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------- networks


def test_generator_and_discriminator_shapes_at_256_with_10_blocks(one_thread):
    torch.manual_seed(0)
    g = ResnetGenerator(ngf=8, n_blocks=10)
    x = torch.rand(1, 3, 256, 256) * 2 - 1
    y = g(x)
    assert y.shape == (1, 3, 256, 256) and y.abs().max() <= 1
    names = [k for k in g.state_dict()]
    assert names[0] == "model.1.weight" and names[-1] == "model.27.bias"  # 10 blocks: c7s1 at 1, last conv at 27
    assert "model.10.conv_block.1.weight" in names and "model.19.conv_block.5.weight" in names
    d = init_weights(NLayerDiscriminator(ndf=8), 0.02)
    assert d(x).shape == (1, 1, 30, 30)  # 70×70 patches of a 256×256 image
    strides = [m.stride[0] for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert strides == [2, 2, 2, 1, 1]


def test_upstream_resnet_9blocks_key_names_and_shapes():
    with torch.device("meta"):
        state = ResnetGenerator(ngf=64, n_blocks=9).state_dict()
    assert state["model.1.weight"].shape == (64, 3, 7, 7)
    assert state["model.4.weight"].shape == (128, 64, 3, 3) and state["model.7.weight"].shape == (256, 128, 3, 3)
    assert state["model.18.conv_block.5.weight"].shape == (256, 256, 3, 3)
    assert state["model.19.weight"].shape == (256, 128, 3, 3)  # ConvTranspose2d: [in, out, k, k]
    assert state["model.26.weight"].shape == (3, 64, 7, 7) and len(state) == 2 * (1 + 2 + 2 * 9 + 2 + 1)


def test_discriminator_init_std():
    torch.manual_seed(0)
    d = init_weights(NLayerDiscriminator(ndf=64), 0.2)
    w = d.model[5].weight.detach()
    assert abs(float(w.std()) - 0.2) < 0.01 and float(d.model[0].bias.detach().abs().max()) == 0
    assert abs(float(d.model[6].weight.detach().mean()) - 1) < 0.05  # BatchNorm weights ~ N(1, std)


def test_upstream_loader_drops_metadata_and_stale_norm_statistics(one_thread):
    torch.manual_seed(1)
    net = ResnetGenerator(ngf=4, n_blocks=9).eval()
    state = OrderedDict(net.state_dict())
    state._metadata = {"": {"version": 1}}  # what torch.save(state_dict) keeps
    state["_metadata"] = {"": {"version": 1}}  # and as a key (files re-saved as plain dicts)
    state["model.2.running_mean"] = torch.zeros(4)  # torch < 0.4: InstanceNorm running statistics
    state["model.10.conv_block.2.running_var"] = torch.ones(16)
    state["model.5.num_batches_tracked"] = torch.tensor(0)
    loaded = load_resnet_generator(state, source="latest_net_G.pth")
    assert loaded.ngf == 4 and loaded.n_blocks == 9
    x = torch.rand(2, 3, 16, 20)
    torch.testing.assert_close(generate(loaded, x), ((net(x * 2 - 1) + 1) / 2).clamp(0, 1))
    del state["model.26.bias"]
    with pytest.raises(ValueError, match=r"latest_net_G.pth is not a CycleGAN ResnetGenerator checkpoint"):
        load_resnet_generator(state, source="latest_net_G.pth")


def test_generate_pads_to_multiples_of_4():
    net = ResnetGenerator(ngf=2, n_blocks=1).eval()
    assert generate(net, torch.rand(1, 3, 18, 22)).shape == (1, 3, 18, 22)


# ------------------------------------------------------------------------------------------- losses


def np_bilinear_border(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image [C,H,W]`` sampled at ``x + flow(x)`` (flow ``[2,H,W]``), positions clamped to the frame."""
    c, h, w = image.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    px = np.clip(xs + flow[0], 0, w - 1)
    py = np.clip(ys + flow[1], 0, h - 1)
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    ax, ay = px - x0, py - y0
    return (image[:, y0, x0] * (1 - ax) * (1 - ay) + image[:, y0, x1] * ax * (1 - ay)
            + image[:, y1, x0] * (1 - ax) * ay + image[:, y1, x1] * ax * ay)


def np_thesis_factors(flow_bw: np.ndarray, flow_fw: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """The thesis' two occlusion factors written out directly (ẃ = flow_bw, w = flow_fw)."""
    w_hat = np_bilinear_border(flow_fw, flow_bw)
    sq = lambda f: (f ** 2).sum(0)  # noqa: E731
    disocc = ~(sq(w_hat + flow_bw) > k * (sq(w_hat) + sq(flow_bw)) + 0.5)
    grad = np.zeros_like(flow_bw[0])
    for comp in flow_bw:
        dx = np.zeros_like(comp)
        dy = np.zeros_like(comp)
        dx[:, :-1] = comp[:, :-1] - comp[:, 1:]
        dy[:-1, :] = comp[:-1, :] - comp[1:, :]
        grad += dx ** 2 + dy ** 2
    boundary = ~(grad > 0.01 * sq(w_hat) + 0.002)
    return disocc.astype(np.float64), boundary.astype(np.float64)


@pytest.fixture(scope="module")
def exact_pair():
    video = make_synthetic_video(seed=11, num_frames=2, height=40, width=56, num_sprites=2)
    return video  # flow_bw[0]: frame 1 → frame 0 (ẃ); flow_fw[0]: frame 0 → frame 1 (w)


@pytest.mark.parametrize("k", [0.01, 0.001])
def test_occlusion_factors_match_numpy_on_an_exact_flow(exact_pair, k):
    ẃ, w = exact_pair.flow_bw[:1], exact_pair.flow_fw[:1]
    disocc, boundary = np_thesis_factors(ẃ[0].double().numpy(), w[0].double().numpy(), k)
    got_d, got_b = (f[0, 0].numpy() for f in thesis_factors(ẃ, w, k))
    assert (got_d != disocc).mean() < 1e-3 and (got_b != boundary).mean() < 1e-3  # float32 vs float64 ties
    assert 0 < disocc.mean() < 1 and 0 < boundary.mean() < 1  # both factors bite on this video
    assert torch.equal(thesis_weights(ẃ, w, k), torch.from_numpy(got_d * got_b)[None, None])
    # the exact flow is consistent wherever the pixel stays visible
    assert (got_d[~exact_pair.occluded_bw[0, 0].numpy()] == 1).mean() > 0.98


def test_temporal_loss_matches_numpy(exact_pair):
    torch.manual_seed(3)
    fake_prev = torch.rand(1, 3, 40, 56) * 2 - 1
    fake_t = torch.rand(1, 3, 40, 56) * 2 - 1
    ẃ, w = exact_pair.flow_bw[:1], exact_pair.flow_fw[:1]
    c = thesis_weights(ẃ, w)
    warped = np_bilinear_border(fake_prev[0].double().numpy(), ẃ[0].double().numpy())
    expected = (c[0].double().numpy() * (fake_t[0].double().numpy() - warped) ** 2).sum() / fake_t.numel()
    assert float(temporal_term(fake_t, fake_prev, ẃ, c)) == pytest.approx(expected, rel=1e-5)
    # a generator that follows the motion exactly has no temporal loss on visible pixels
    moved = torch.from_numpy(np_bilinear_border(fake_prev[0].double().numpy(), ẃ[0].double().numpy())).float()
    assert float(temporal_term(moved[None], fake_prev, ẃ, c)) < 1e-10


@pytest.mark.parametrize("epoch,expected", [(1, 2e-4), (100, 2e-4), (135, 1e-4), (170, 0.0)])
def test_lr_at_epochs(epoch, expected):
    assert cyclegan_lr(epoch, 2e-4) == pytest.approx(expected, abs=1e-12)
    recipe = CycleGANTemporalRecipe.from_videos([], [], (8, 8), epoch_steps=5)
    assert recipe.lr_factor(5 * (epoch - 1)) * 2e-4 == pytest.approx(expected, abs=1e-12)  # first step of the epoch


def test_targets_are_cropped_from_the_load_size_and_drawn_from_the_generator():
    assert load_size((256, 256)) == (286, 286) and load_size((128, 72)) == (143, 80)
    styled = [torch.randint(0, 256, (3, 3, 80, 143), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))]
    a = draw_target(styled, (128, 72), torch.Generator().manual_seed(4), jitter_p=1.0)
    b = draw_target(styled, (128, 72), torch.Generator().manual_seed(4), jitter_p=1.0)
    assert a.shape == (3, 72, 128) and a.dtype == torch.uint8 and torch.equal(a, b)


# ------------------------------------------------------------------------------------------- training


def synthetic_recipe(gamma: float, size: int = 32, **options) -> CycleGANTemporalRecipe:
    """X: two synthetic videos with exact flows; Y: other synthetic frames with inverted colours."""
    xs = []
    for seed in (1, 2):
        v = make_synthetic_video(seed=seed, num_frames=6, height=size, width=size)
        xs.append(PairVideo(f"s{seed}", (v.frames * 255).round().to(torch.uint8), v.flow_bw, v.flow_fw))
    y = make_synthetic_video(seed=3, num_frames=4, height=size + 4, width=size + 4).frames
    ys = [(255 - (y * 255).round()).to(torch.uint8)]
    opts = dict(batch=1, ngf=4, n_blocks=1, ndf=4, gamma=gamma, epoch_steps=2, pool_size=3)
    return CycleGANTemporalRecipe.from_videos(xs, ys, (size, size), **{**opts, **options})


def train(recipe: CycleGANTemporalRecipe, out: Path, steps: int, **settings):
    s = TrainSettings(name="cg", out_dir=out, steps=steps, checkpoint_every=100, threads=1, progress=False,
                      **settings)
    return Trainer(recipe, s, {"gamma": recipe.weights["gamma"]}).fit()


def test_kill_and_resume_reproduce_the_loss_curve(tmp_path):
    full = train(synthetic_recipe(10.0), tmp_path / "full", 6)
    killed = train(synthetic_recipe(10.0), tmp_path / "cut", 6, stop_after_steps=3)
    assert full.status == "done" and killed.status == "interrupted" and killed.step == 3
    resumed = train(synthetic_recipe(10.0), tmp_path / "cut", 6)
    assert resumed.status == "done"
    a, b = read_log(tmp_path / "full" / "losses.csv"), read_log(tmp_path / "cut" / "losses.csv")
    a.pop("wall_s"), b.pop("wall_s")
    assert a == b and set(a) >= {"adv", "recon", "identity", "temp", "G", "D_Y", "D_X"}
    ga = torch.load(full.trained, weights_only=True)["modules"]
    gb = torch.load(resumed.trained, weights_only=True)["modules"]
    assert list(ga) == ["G1"] and all(torch.equal(ga["G1"][k], gb["G1"][k]) for k in ga["G1"])


@pytest.mark.slow
def test_gamma_100_lowers_the_temporal_loss(tmp_path):
    """A 64×64 CPU run of 50 iterations: L_temp with γ = 100 is below L_temp with γ = 0 (same data order)."""
    logs = {}
    for gamma in (0.0, 100.0):
        train(synthetic_recipe(gamma, size=64, ngf=8, n_blocks=2), tmp_path / f"g{gamma:g}", 50)
        logs[gamma] = read_log(tmp_path / f"g{gamma:g}" / "losses.csv")["temp"]
    late = {g: float(np.mean(v[-20:])) for g, v in logs.items()}
    assert late[100.0] < 0.5 * late[0.0], late


def test_single_discriminator_and_bad_options():
    recipe = synthetic_recipe(1.0, discriminators=1, gan_loss="bce")
    parts = recipe.build(torch.device("cpu"))
    assert set(parts.modules) == {"G1", "G2", "D_Y"}
    losses = recipe.step(recipe.sample(torch.Generator().manual_seed(0)))
    assert "D_X" not in losses and all(np.isfinite(list(losses.values())))
    with pytest.raises(ValueError, match="recipe.discriminators"):
        synthetic_recipe(1.0, discriminators=3)
    with pytest.raises(ValueError, match=r"recipe.size \[30, 32\] must be \[W, H\], multiples of 4"):
        CycleGANTemporalRecipe.from_videos([], [], (30, 32))
    with pytest.raises(ValueError, match=r"cyclegan_temporal: unknown option\(s\) recipe.gama; known: batch, ngf"):
        CycleGANTemporalRecipe.from_videos([], [], (8, 8), gama=1.0)
    recipe = CycleGANTemporalRecipe.from_videos([], [], (8, 8), lr="1e-3", batch=2.0)  # as a config may give them
    assert recipe.lr == 1e-3 and recipe.batch == 2 and isinstance(recipe.batch, int) and recipe.options.gamma == 10.0


# ------------------------------------------------------------------------------------------- the model


def test_trained_checkpoint_loads_as_an_image_model(tmp_path):
    net = ResnetGenerator(ngf=4, n_blocks=1)
    ckpt = tmp_path / "cg_tiny.pt"
    write_trained(ckpt, {"G1": net.state_dict()}, {"name": "cg_tiny", "trained_on": ["bmx-trees"], "steps": 2,
                                                   "config": {"recipe": {"gamma": 10.0}}})
    model = CycleGANTemporal(checkpoint=str(ckpt))
    assert model.tier == "trained-here" and model.gamma == 10.0
    assert model.display_label() == "CycleGAN+temporal (γ=10, trained here)"
    assert model.weights()["trained_on"] == ["bmx-trees"] and model.options()["n_blocks"] == 1
    out = model(torch.rand(2, 3, 18, 26))
    assert out.shape == (2, 3, 18, 26) and 0 <= float(out.min()) and float(out.max()) <= 1
    with pytest.raises(ValueError, match="model.variant"):
        CycleGANTemporal(variant="best")


def test_missing_pretrained_generator_names_the_file(tmp_path):
    from hypercon.models.cyclegan import CycleGANPretrained
    from hypercon.weights import MissingWeightsError

    with pytest.raises(MissingWeightsError, match="style_monet.pth"):
        CycleGANPretrained("monet", weights_dir=str(tmp_path))
    with pytest.raises(ValueError, match="style must be one of monet"):
        CycleGANPretrained("rain_princess", weights_dir=str(tmp_path))


def test_pretrained_generator_through_the_registry(tmp_path):
    from hypercon.models.cyclegan import CycleGANPretrained

    torch.manual_seed(2)
    net = ResnetGenerator(ngf=64, n_blocks=9)
    torch.save(net.state_dict(), tmp_path / "style_ukiyoe.pth")
    model = CycleGANPretrained("ukiyoe", weights_dir=str(tmp_path))
    assert model.tier == "paper" and model.display_label() == "CycleGAN"
    assert model.weights()["sha256"] and model.options() == {"style": "ukiyoe"}


@pytest.mark.parametrize("variant,gamma0", [("original", True), ("temporal", False)])
def test_shipped_generators_load_by_default(variant, gamma0):
    from baselines.common.split import load_split

    model = CycleGANTemporal(variant=variant)
    record = model.weights()
    assert record["file"].endswith(f"hypercon/weights/trained/cyclegan_{variant}_offline.pt")
    assert (model.gamma == 0) == gamma0 and set(record["trained_on"]) <= set(load_split().train)
    out = model(make_synthetic_video(seed=1, num_frames=2, height=24, width=40).frames)
    assert out.shape == (2, 3, 24, 40) and torch.isfinite(out).all()


@pytest.mark.slow
def test_run_py_hypercon_on_the_trained_generator(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "HYPERCON_OUTPUT": str(tmp_path)}
    cmd = [sys.executable, "run.py", "-m", "method=hypercon", "model=cyclegan_temporal", "dataset.num_videos=1",
           "dataset.num_frames=4", "dataset.height=32", "dataset.width=48", "save_video=false", "save_frames=false",
           f"paths.output_root={tmp_path}", "sweep_name=cg", "metrics.names=[ewarp,ewarp_all]"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(next((tmp_path / "sweeps" / "cg").glob("*/results.json")).read_text())
    assert record["complete"] and record["provenance"]["method"]["tier"] == "trained-here"
    assert record["provenance"]["method"]["components"]["model"]["options"]["variant"] == "temporal"
    assert 0 < record["aggregate"]["ewarp_all"]["mean"] <= record["aggregate"]["ewarp"]["mean"]


def test_experiment_compares_both_generators_and_hypercon_on_the_dev_test_sequences():
    from baselines.common.split import load_split
    from experiments.tables import TABLES
    from hypercon.config import compose_config

    cfg = compose_config(["+experiment=cyclegan_temporal"])
    assert cfg.model.name == "cyclegan_temporal" and cfg.dataset.name == "davis2016"
    assert list(cfg.dataset.sequences) == list(load_split().test)
    assert "ewarp_all" in cfg.metrics.names and "ewarp" in cfg.metrics.names
    spec = TABLES["cyclegan_temporal"]
    assert spec.metrics[:2] == ("ewarp", "ewarp_all") and not spec.auto


def test_sweep_rule_and_scores(tmp_path):
    from baselines.cyclegan_temporal.sweep import choose, score

    results = {"g0": {"gamma": 0.0, "ewarp": 0.02, "psnr": 20.0}, "g1": {"gamma": 1.0, "ewarp": 0.015, "psnr": 19.5},
               "g10": {"gamma": 10.0, "ewarp": 0.01, "psnr": 19.2}, "g100": {"gamma": 100.0, "ewarp": 0.001, "psnr": 15.0}}
    assert choose(results) == "g10"  # g100 is steadier but left the style (−5 dB)
    assert choose(results, tolerance_db=0.6) == "g1" and choose({"g1": results["g1"]}) is None
    ckpt = tmp_path / "g.pt"
    write_trained(ckpt, {"G1": ResnetGenerator(ngf=2, n_blocks=1).state_dict()},
                  {"name": "g", "trained_on": [], "steps": 1, "config": {"recipe": {"gamma": 0.0}}})
    video = make_synthetic_video(seed=(1000, 0), num_frames=3, height=16, width=24)
    got = score(CycleGANTemporal(checkpoint=str(ckpt)), [video], [video.frames])
    assert set(got) == {"ewarp", "ewarp_all", "psnr", "ssim"} and 0 <= got["ewarp_all"] <= got["ewarp"]


@pytest.mark.parametrize("name", ["cyclegan_temporal_offline", "cyclegan_temporal_paper"])
def test_train_configs_span_the_thesis_schedule(name):
    from baselines.common.cli import compose_train_config

    cfg = compose_train_config(name)
    r = cfg.recipe
    assert cfg.steps == (r.constant_epochs + r.decay_epochs) * r.epoch_steps  # 170 epochs, LR 0 at the end
    assert r.constant_epochs == 100 and r.decay_epochs == 70 and r.lr == 2e-4 and r.pool_size == 50
    assert (r.alpha, r.beta, r.theta, r.k, r.gan_loss) == (1.0, 10.0, 5.0, 0.01, "lsgan")
    assert all(s % 4 == 0 for s in r.size) and list(r.sequences) == list(cfg.split.train)
    if name.endswith("paper"):
        assert list(r.size) == [256, 256] and (r.ngf, r.n_blocks, r.batch) == (64, 10, 4)
