"""Weight-free image models: k-means palette (content-seeded, flickering), OpenCV stylization and
inpainting, the Identity/Flicker test models, and their configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from hypercon.checks import frames_from_uint8, frames_to_uint8
from hypercon.models.classical import (
    KMeansPalette,
    Stylization,
    content_seed,
    kmeans_quantize,
    nearest_centroid,
)
from hypercon.models.opencv_inpaint import OpenCVInpaint, hole_mask_uint8
from hypercon.models.diagnostic import Flicker, Identity, flicker_params

CONF_MODEL = Path(__file__).resolve().parents[1] / "conf" / "model"
MY_CONFIGS = ["fst_engstrom", "opencv_inpaint", "kmeans_palette", "stylize", "identity", "flicker"]


def scene(h: int = 48, w: int = 64) -> np.ndarray:
    """A smooth synthetic colour image [H,W,3] float in [0,255]: gradients, a disc and a bar."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([255 * xx / w, 255 * yy / h, 128 + 100 * np.sin(xx / 7) * np.cos(yy / 5)], axis=2)
    img[(yy - h / 2) ** 2 + (xx - w / 3) ** 2 < (h / 5) ** 2] = (230, 40, 40)
    img[5:12, w // 2 :] = (20, 20, 200)
    return img


def static_noisy_video(t: int = 6, sigma: float = 1.0, seed: int = 0) -> torch.Tensor:
    """A static scene plus independent N(0, sigma) noise per frame, quantised to 8 bit: [T,3,H,W]."""
    rng = np.random.default_rng(seed)
    base = scene()
    frames = np.clip(np.round(base[None] + rng.normal(0, sigma, (t,) + base.shape)), 0, 255).astype(np.uint8)
    return frames_from_uint8(frames)


def temporal_change(x: torch.Tensor) -> float:
    return (x[1:] - x[:-1]).abs().mean().item()


# ---------------------------------------------------------------------------------------------- helpers


def test_content_seed_depends_on_content_and_salt_only():
    x = torch.from_numpy(scene()).permute(2, 0, 1) / 255
    assert content_seed(x) == content_seed(x.clone())
    y = x.clone()
    y[0, 3, 4] += 1 / 255  # one 8-bit level at one pixel
    assert content_seed(y) != content_seed(x)
    assert content_seed(x, salt=1) != content_seed(x)
    assert 0 <= content_seed(x) < 2**63


def test_nearest_centroid_is_the_euclidean_argmin():
    torch.manual_seed(0)
    pixels, centroids = torch.rand(2, 500, 3), torch.rand(2, 6, 3)
    brute = ((pixels[:, :, None] - centroids[:, None]) ** 2).sum(-1).argmin(-1)
    assert torch.equal(nearest_centroid(pixels, centroids), brute)


def test_kmeans_finds_separated_cluster_means_and_keeps_empty_clusters():
    rng = np.random.default_rng(0)
    a = np.array([0.1, 0.2, 0.3]) + 0.02 * rng.standard_normal((40, 3))
    b = np.array([0.8, 0.7, 0.9]) + 0.02 * rng.standard_normal((60, 3))
    pixels = torch.from_numpy(np.concatenate([a, b])).float()[None]
    init = torch.tensor([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [5.0, 5.0, 5.0]]])  # the third stays empty
    centroids, labels = kmeans_quantize(pixels, init, iterations=5)
    torch.testing.assert_close(centroids[0, 0], torch.from_numpy(a.mean(0)).float())
    torch.testing.assert_close(centroids[0, 1], torch.from_numpy(b.mean(0)).float())
    assert torch.equal(centroids[0, 2], init[0, 2])
    assert torch.equal(labels[0], torch.tensor([0] * 40 + [1] * 60))


# ---------------------------------------------------------------------------------------------- k-means model


def test_kmeans_palette_quantises_deterministically_and_batch_independently():
    video = static_noisy_video(t=4)
    model = KMeansPalette(num_colors=5, iterations=6, smooth="bilateral", batch_size=4)
    out = model(video)
    assert out.shape == video.shape and out.min() >= 0 and out.max() <= 1
    for frame in out:
        assert torch.unique(frame.reshape(3, -1), dim=1).shape[1] <= 5
    assert torch.equal(out, model(video))
    model.batch_size = 1
    assert torch.equal(out, model(video))
    assert torch.equal(model(video[2:3]), out[2:3])
    assert model.tier == "offline" and model.provenance()["options"]["num_colors"] == 5


@pytest.mark.parametrize("smooth", ["bilateral", "none", "edge_preserving"])
def test_kmeans_palette_flickers_on_a_static_noisy_video(smooth):
    video = static_noisy_video(t=6)
    model = KMeansPalette(smooth=smooth)
    out = model(video)
    assert temporal_change(out) > 3 * temporal_change(video), (temporal_change(out), temporal_change(video))
    same = model(video[:1].repeat(3, 1, 1, 1))
    assert temporal_change(same) == 0.0  # identical frames → identical outputs


def test_kmeans_palette_rejects_bad_options():
    with pytest.raises(ValueError, match="kmeans_palette: smooth"):
        KMeansPalette(smooth="gaussian")
    with pytest.raises(ValueError, match="num_colors"):
        KMeansPalette(num_colors=0)


# ---------------------------------------------------------------------------------------------- stylization


def test_stylization_keeps_channel_order_and_changes_the_image():
    video = static_noisy_video(t=2)
    model = Stylization()
    out = model(video)
    assert out.shape == video.shape and torch.equal(out, model(video))
    assert (out - video).abs().mean() > 0.02
    red = torch.zeros(1, 3, 24, 32)
    red[:, 0] = 0.9
    assert torch.equal(model(red), frames_from_uint8(frames_to_uint8(red)))  # flat: unchanged, not black
    red[:, 0, 8:16, 10:20] = 0.5  # a flat image with one block; sigma_s 60 > 2/3·24 would give black
    r = model(red)
    assert r[:, 0].mean() > 0.6 and r[:, 1:].max() < 0.1
    with pytest.raises(ValueError, match="model=stylize"):
        Stylization(sigma_r=2.0)


# ---------------------------------------------------------------------------------------------- inpainting


def test_hole_mask_polarity():
    known = torch.tensor([[[[1.0, 0.0], [0.7, 0.2]]]])
    np.testing.assert_array_equal(hole_mask_uint8(known), [[[0, 255], [0, 255]]])


@pytest.mark.parametrize("method", ["telea", "ns"])
def test_inpaint_fills_holes_smoothly_and_keeps_known_pixels(method):
    h, w = 32, 40
    xx = np.tile(np.linspace(0, 1, w, dtype=np.float32), (h, 1))
    frames = torch.from_numpy(np.stack([xx, 1 - xx, np.full_like(xx, 0.5)]))[None].repeat(2, 1, 1, 1)
    frames[1, 1] = 0.25  # second frame: a different constant green channel
    known = torch.ones(2, 1, h, w)
    known[:, :, 10:20, 15:25] = 0
    damaged = frames * known  # the hole's content must not leak into the result
    model = OpenCVInpaint(method=method, radius=5)
    out = model(damaged, known)
    hole = known[0, 0] == 0
    assert torch.equal(out[:, :, ~hole], damaged[:, :, ~hole])  # composited: known pixels untouched
    err = (out - frames)[:, :, hole].abs()
    assert err[:, 2].max() < 2 / 255 and err[1, 1].max() < 2 / 255  # constant channels stay constant
    assert err[:, 0].mean() < 0.05  # the ramp is continued into the hole
    assert model.tier == "offline" and model.needs_mask
    with pytest.raises(ValueError, match="needs a mask"):
        model(frames)


def test_inpaint_rejects_bad_options():
    with pytest.raises(ValueError, match="opencv_inpaint: method"):
        OpenCVInpaint(method="patchmatch")
    with pytest.raises(ValueError, match="radius"):
        OpenCVInpaint(radius=0)


# ---------------------------------------------------------------------------------------------- test models


def test_identity_returns_the_input():
    x = torch.rand(3, 3, 5, 7)
    assert torch.equal(Identity(batch_size=2)(x), x)


def test_flicker_is_a_content_seeded_colour_cast():
    video = static_noisy_video(t=3)
    model = Flicker(strength=0.2, seed=3, batch_size=2)
    out = model(video)
    gain, offset = flicker_params(video[1], 0.2, seed=3)
    assert ((gain - 1).abs() <= 0.2).all() and (offset.abs() <= 0.1).all()
    torch.testing.assert_close(out[1], (gain[:, None, None] * video[1] + offset[:, None, None]).clamp(0, 1))
    assert not torch.equal(flicker_params(video[0], 0.2, 3)[0], gain)
    assert torch.equal(model(video[1:2].repeat(2, 1, 1, 1))[1], out[1])
    assert temporal_change(out) > 3 * temporal_change(video)
    assert torch.equal(Flicker(strength=0.0)(video), video)
    with pytest.raises(ValueError, match="model=flicker"):
        Flicker(strength=-1)


# ---------------------------------------------------------------------------------------------- configs


@pytest.mark.parametrize("option", MY_CONFIGS)
def test_model_config_instantiates(option, tmp_path, monkeypatch):
    monkeypatch.delenv("HYPERCON_WEIGHTS", raising=False)
    node = OmegaConf.load(CONF_MODEL / f"{option}.yaml")
    root = OmegaConf.create({"device": "cpu", "style": "rain_princess", "paths": {"weights_dir": None}, "model": node})
    cfg = OmegaConf.to_container(root, resolve=True)["model"]
    assert cfg.pop("name") == option and cfg["device"] == "cpu"
    if option == "fst_engstrom":
        from hypercon.weights import MissingWeightsError

        with pytest.raises(InstantiationException) as info:  # hydra wraps the constructor's error
            instantiate(cfg)
        assert isinstance(info.value.__cause__, MissingWeightsError) and "weights_dir" in str(info.value)
        cfg["weights_dir"] = str(tmp_path)
        with pytest.raises(InstantiationException, match="fst-engstrom/rain_princess/manifest.json not found"):
            instantiate(cfg)
        return
    model = instantiate(cfg)
    assert model.name == option and model.tier == "offline"
    frames = static_noisy_video(t=2)
    known = torch.ones(2, 1, *frames.shape[-2:])
    assert model(frames, known).shape == frames.shape


@pytest.mark.gpu
def test_models_run_on_cuda_and_match_cpu():
    video = static_noisy_video(t=3)
    known = torch.ones(3, 1, *video.shape[-2:])
    known[:, :, 10:20, 10:30] = 0
    for cpu_model, gpu_model in [
        (KMeansPalette(), KMeansPalette(device="cuda")),
        (Stylization(), Stylization(device="cuda")),
        (OpenCVInpaint(), OpenCVInpaint(device="cuda")),
        (Flicker(0.2), Flicker(0.2, device="cuda")),
        (Identity(), Identity(device="cuda")),
    ]:
        k = known if cpu_model.needs_mask else None
        ref = cpu_model(video, k)
        out = gpu_model(video.cuda(), None if k is None else k.cuda())
        assert out.is_cuda and out.shape == video.shape
        same = ((out.cpu() - ref).abs().amax(dim=1) < 1e-4).float().mean()
        assert same > 0.95, (cpu_model.name, same)  # k-means ties may fall the other way on a GPU
