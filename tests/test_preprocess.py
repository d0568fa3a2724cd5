"""Resize-to-cover + centre crop: boxes, exact slicing when only cropping, linear ramps, binary masks."""

from __future__ import annotations

import pytest
import torch

from datasets.preprocess import cover_crop_box, parse_size, resize_cover_crop, resize_cover_crop_mask


def test_davis_frame_is_only_cropped_and_equals_slicing():
    frames = torch.rand(2, 3, 480, 854)
    out, box = resize_cover_crop(frames, [832, 480])
    assert box.scale == 1.0 and box.resized == (854, 480) and box.crop == (11, 0, 832, 480)
    torch.testing.assert_close(out, frames[..., 11 : 11 + 832], rtol=0, atol=0)


@pytest.mark.parametrize(
    "original,size,resized,crop",
    [((1280, 720), (832, 480), (853, 480), (10, 0)),  # 16:9 -> height binds
     ((640, 480), (832, 480), (832, 624), (0, 72)),  # 4:3 -> width binds, upscale
     ((100, 50), (40, 40), (80, 40), (20, 0))],
)
def test_cover_crop_box(original, size, resized, crop):
    box = cover_crop_box(original, size)
    assert box.resized == resized and box.crop[:2] == crop and box.crop[2:] == size
    assert box.resized[0] >= size[0] and box.resized[1] >= size[1]
    assert cover_crop_box(original, None).crop == (0, 0, *original)


def test_linear_ramp_is_resampled_at_the_right_positions():
    # antialiased bilinear (a symmetric triangle filter) reproduces linear functions away from the border:
    # output column j shows the input at x = (j + left + 0.5) / scale - 0.5
    w, h = 120, 60
    ramp = torch.arange(w, dtype=torch.float32).div(w).view(1, 1, 1, w).expand(1, 3, h, w).contiguous()
    out, box = resize_cover_crop(ramp, [40, 30])
    assert out.shape == (1, 3, 30, 40) and box.scale == 0.5 and box.crop == (10, 0, 40, 30)
    j = torch.arange(40, dtype=torch.float32)
    expected = ((j + box.crop[0] + 0.5) / box.scale - 0.5) / w
    torch.testing.assert_close(out[0, 0, 15, 2:-2], expected[2:-2], rtol=0, atol=1e-5)
    assert 0 <= out.min() and out.max() <= 1


def test_masks_stay_binary_and_follow_the_frames():
    known = torch.ones(1, 1, 60, 120)
    known[..., 20:40, 50:70] = 0
    box = cover_crop_box((120, 60), (40, 30))
    small = resize_cover_crop_mask(known, box)
    assert small.shape == (1, 1, 30, 40) and set(small.unique().tolist()) == {0.0, 1.0}
    hole_cols = torch.nonzero((small[0, 0] == 0).any(0)).flatten()
    # the hole spans input columns 50..69 -> output columns 50*0.5-10 .. 70*0.5-10-1 = 15..24
    assert hole_cols.min() == 15 and hole_cols.max() == 24


def test_parse_size_errors_name_the_setting():
    assert parse_size(None) is None and parse_size([832, 480]) == (832, 480)
    with pytest.raises(ValueError, match="dataset.size"):
        parse_size([832])
    with pytest.raises(ValueError, match="dataset.size"):
        parse_size([0, 480])
