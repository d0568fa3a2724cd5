import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from metrics.base import EvalVideo, MetricUnavailable
from metrics.patch_consistency import (
    PatchConsistencyPSNR,
    PatchConsistencySSIM,
    draw_positions,
    patch_consistency,
)
from metrics.reduce import clip_inf, reduce_frames


pytestmark = pytest.mark.usefixtures("one_thread")


def _direct(frames, positions, measure, ps=50, sw=20, symmetric=False, data_range=None):
    """VIE's loop, unvectorised, with skimage (HWC float32 patches)."""
    f = frames.permute(0, 2, 3, 1).numpy()  # float32 as VIE (or float64 for the exact reference)
    out = []
    for t, (y, x) in enumerate(positions):
        a_patch = f[t][y : y + ps, x : x + ps]
        best = -np.inf
        for by in range(y - sw, y + sw + (1 if symmetric else 0)):
            for bx in range(x - sw, x + sw + (1 if symmetric else 0)):
                b_patch = f[t + 1][by : by + ps, bx : bx + ps]
                if b_patch.shape != a_patch.shape:
                    continue
                if measure == "psnr":
                    with np.errstate(divide="ignore"):
                        v = peak_signal_noise_ratio(a_patch, b_patch, data_range=data_range or 1.0)
                else:
                    v = structural_similarity(a_patch, b_patch, channel_axis=-1, data_range=data_range or 2.0)
                best = max(best, v)
        out.append(best)
    return np.array(out)


def _video_frames(t=3, h=70, w=80, seed=0):
    """8-bit frames: a texture panning by (1, −2) px per frame, plus noise, a flat band and a smooth
    bright band (low local variance: SSIM's cross term is amplified by up to 2/C2 there)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(3, h + 2 * t, w + 4 * t, generator=g)
    base[:, :12] = 0.4  # flat region (cancellation-prone for SSIM)
    smooth = torch.nn.functional.avg_pool2d(base[None, :, 12:40], 9, stride=1, padding=4)[0]
    base[:, 12:40] = 0.6 + 0.3 * (smooth - 0.5)
    frames = torch.stack([base[:, i : i + h, 4 * t - 2 * i : 4 * t - 2 * i + w] for i in range(t)])
    frames = (frames + 0.02 * torch.randn(frames.shape, generator=g)).clamp(0, 1)
    return (frames * 255).round() / 255


def test_draw_positions_follow_vie_sequence():
    rng = np.random.default_rng(1234)
    expected = []
    for _ in range(4):
        y = rng.integers(70 - 50)
        x = rng.integers(80 - 50)
        expected.append((y, x))
    assert draw_positions(np.random.default_rng(1234), 4, 70, 80).tolist() == [list(p) for p in expected]
    with pytest.raises(ValueError, match="too small"):
        draw_positions(np.random.default_rng(0), 1, 50, 80)


@pytest.mark.parametrize("symmetric", [False, True])
def test_psnr_matches_unvectorised_skimage(symmetric):
    frames = _video_frames()
    positions = np.array([[3, 27], [19, 2]])
    ours = patch_consistency(frames, positions, "psnr", symmetric=symmetric).numpy()
    ref = _direct(frames, positions, "psnr", symmetric=symmetric)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


def test_ssim_matches_unvectorised_skimage_data_range_2_and_1():
    frames = _video_frames()
    positions = np.array([[0, 29], [12, 6]])  # first one on the flat band, near the right border
    ours = patch_consistency(frames, positions, "ssim").numpy()
    ref = _direct(frames, positions, "ssim")
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)
    ours64 = patch_consistency(frames.double(), positions, "ssim").numpy()  # same algorithm in float64
    ref64 = _direct(frames.double(), positions, "ssim")
    np.testing.assert_allclose(ours64, ref64, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, ref64, rtol=0, atol=3e-6)  # float32 rounding only, like skimage's
    ours1 = patch_consistency(frames[:2], positions[:1], "ssim", search=6, data_range=1.0).numpy()
    ref1 = _direct(frames[:2], positions[:1], "ssim", sw=6, data_range=1.0)
    np.testing.assert_allclose(ours1, ref1, rtol=0, atol=1e-5)
    assert not np.allclose(patch_consistency(frames[:2], positions[:1], "ssim", search=6).numpy(), ours1)


def test_identical_patch_gives_inf_psnr_and_ssim_one():
    frames = _video_frames(t=2)
    frames[1] = torch.roll(frames[0], shifts=(2, -3), dims=(1, 2))  # an exact copy inside the window
    positions = np.array([[10, 12]])
    assert patch_consistency(frames, positions, "psnr").item() == math.inf
    assert patch_consistency(frames, positions, "ssim").item() == pytest.approx(1.0, abs=1e-5)


def test_clip_inf_and_reducers():
    values = np.array([30.0, np.inf, 20.0, np.nan])
    clipped = clip_inf(values)
    assert clipped[:3].tolist() == [30.0, 30.0, 20.0] and math.isnan(clipped[3])
    assert clip_inf([np.inf, np.inf]).tolist() == [np.inf, np.inf]  # nothing finite to clip to
    assert reduce_frames(np.array([30.0, np.inf, 20.0]), "clip") == pytest.approx(80.0 / 3)
    assert reduce_frames(np.array([30.0, np.inf, 20.0]), "keep") == math.inf


def test_wrappers_share_one_generator_across_videos_like_vie():
    videos = [EvalVideo(name=f"v{i}", output=_video_frames(t=3, seed=i), source=_video_frames(t=3, seed=i))
              for i in range(2)]
    metric = PatchConsistencyPSNR(search=4)
    first = [metric.per_pair(v) for v in videos]
    rng = np.random.default_rng(1234)
    pos0 = draw_positions(rng, 2, 70, 80)
    pos1 = draw_positions(rng, 2, 70, 80)  # continues the same sequence
    torch.testing.assert_close(first[0], patch_consistency(videos[0].output, pos0, "psnr", search=4))
    torch.testing.assert_close(first[1], patch_consistency(videos[1].output, pos1, "psnr", search=4))
    metric.reset()
    torch.testing.assert_close(metric.per_pair(videos[0]), first[0])
    per_video = PatchConsistencyPSNR(search=4, seed_per_video=True)
    torch.testing.assert_close(per_video.per_pair(videos[1]),
                               patch_consistency(videos[1].output, pos0, "psnr", search=4))
    ssim = PatchConsistencySSIM(search=4)
    out = ssim.compute(videos[0])
    assert list(out) == ["cssim"] and 0 < out["cssim"] <= 1.0 + 1e-6
    assert ssim.options()["data_range"] == 2.0 and metric.options()["data_range"] == 1.0
    assert list(metric.compute(videos[0])) == ["cpsnr"]


def test_wrapper_rejects_small_frames():
    small = torch.rand(3, 3, 40, 80)
    with pytest.raises(MetricUnavailable, match="patch"):
        PatchConsistencyPSNR().compute(EvalVideo(name="s", output=small, source=small))
