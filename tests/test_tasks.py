"""Task transforms (hypercon/tasks.py): colourisation luma, ×2 SR input, the segmentation target, Lab round trip."""

import numpy as np
import pytest
import torch

from hypercon.tasks import (foreground_probability, keep_luminance, lab_to_rgb, luma_input, probability_image,
                            rgb_to_lab, rgb_to_luma, sr2x_input, task_video)


def _video(t=3, h=17, w=22, seed=0):
    return torch.rand(t, 3, h, w, generator=torch.Generator().manual_seed(seed))


def test_luma_is_rec601_replicated():
    frames = _video()
    expected = 0.299 * frames[:, 0] + 0.587 * frames[:, 1] + 0.114 * frames[:, 2]  # independent formula
    out = luma_input(frames)
    assert out.shape == frames.shape
    for c in range(3):
        torch.testing.assert_close(out[:, c], expected, rtol=0, atol=1e-6)
    assert rgb_to_luma(torch.ones(1, 3, 2, 2)).sub(1).abs().max() < 1e-6  # weights sum to 1


@pytest.mark.parametrize("size", [(16, 24), (17, 23), (2, 3)])
def test_sr2x_keeps_the_size_and_a_constant_image(size):
    h, w = size
    frames = _video(h=h, w=w)
    assert sr2x_input(frames).shape == frames.shape
    flat = torch.full((2, 3, h, w), 0.3)
    torch.testing.assert_close(sr2x_input(flat), flat, rtol=0, atol=1e-6)


def test_sr2x_loses_detail_but_stays_close():
    frames = torch.nn.functional.interpolate(_video(h=8, w=8), size=(64, 64), mode="bilinear", align_corners=False)
    out = sr2x_input(frames)
    err = (out - frames).abs().mean().item()
    assert 0 < err < 0.02  # smooth content survives ×½ then ×2 almost unchanged


def test_sr2x_refuses_a_one_pixel_side():
    with pytest.raises(ValueError, match="sr2x"):
        sr2x_input(torch.rand(1, 3, 1, 8))


def test_lab_matches_skimage_and_round_trips():
    skimage_color = pytest.importorskip("skimage.color")
    frames = _video(t=1, h=9, w=11)
    ours = rgb_to_lab(frames.double())[0].permute(1, 2, 0).numpy()
    theirs = skimage_color.rgb2lab(frames[0].permute(1, 2, 0).double().numpy())
    np.testing.assert_allclose(ours, theirs, atol=2e-3)
    torch.testing.assert_close(lab_to_rgb(rgb_to_lab(frames.double())), frames.double(), rtol=0, atol=1e-5)


def test_keep_luminance_restores_the_input_lightness():
    frames = _video()
    gray = luma_input(frames)
    colourful = (0.8 * gray + 0.2 * _video(seed=1)).clamp(0, 1)  # in gamut once its lightness is replaced
    out = keep_luminance(colourful, gray)
    dl = (rgb_to_lab(out)[:, 0] - rgb_to_lab(gray)[:, 0]).abs()  # L* in 0..100: kept up to gamut clamping
    assert dl.max() < 1.5 and dl.mean() < 0.1
    assert (rgb_to_lab(out)[:, 1:] - rgb_to_lab(colourful)[:, 1:]).abs().mean() < 3  # colour from the output
    # a gray output stays the input: L* from the input, a*b* = 0
    torch.testing.assert_close(keep_luminance(gray, gray), gray, rtol=0, atol=2e-3)


def test_task_video_segmentation_target_is_the_object():
    frames = _video()
    known = torch.ones(3, 1, 17, 22)
    known[:, :, 4:9, 5:12] = 0  # the annotation, as masks=object gives it (holes)
    made = task_video(frames, known, None, input="frames", target="annotation")
    assert made.known is None and made.frames_in is frames and made.motion_source is frames
    assert made.gt.shape == (3, 1, 17, 22) and made.gt.sum() == 3 * 5 * 7


def test_task_video_colorize_and_errors():
    frames = _video()
    made = task_video(frames, None, None, input="luma", target="frames")
    assert made.gt is frames and made.motion_source is frames and made.known is None
    torch.testing.assert_close(made.frames_in, luma_input(frames))
    with pytest.raises(ValueError, match="task.input"):
        task_video(frames, None, None, input="gray")
    with pytest.raises(ValueError, match="masks=object"):
        task_video(frames, None, None, target="annotation")
    with pytest.raises(ValueError, match="task.masks=none"):
        task_video(frames, torch.ones(3, 1, 17, 22), frames, input="luma")


def test_probability_image_round_trip():
    p = torch.rand(2, 1, 5, 6)
    img = probability_image(p)
    assert img.shape == (2, 3, 5, 6)
    torch.testing.assert_close(foreground_probability(img), p)
