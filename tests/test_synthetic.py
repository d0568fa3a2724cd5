"""The procedural default dataset: determinism, exact flow (checked by warping), occlusion, the dataset API."""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F

from datasets.synthetic import SyntheticDataset, make_synthetic_video, mixed_samples_fw
from hypercon.warp import backward_warp


@pytest.fixture(scope="module")
def video():
    return make_synthetic_video(seed=0, num_frames=6, height=64, width=96, num_sprites=2)


def test_shapes_dtypes_and_range(video):
    assert video.frames.shape == (6, 3, 64, 96) and video.frames.dtype == torch.float32
    assert video.flow_fw.shape == video.flow_bw.shape == (5, 2, 64, 96)
    assert video.occluded_fw.shape == video.occluded_bw.shape == (5, 1, 64, 96)
    assert video.occluded_fw.dtype == torch.bool and video.layers.shape == (6, 1, 64, 96)
    assert 0 <= video.frames.min() and video.frames.max() <= 1
    assert set(video.layers.unique().tolist()) == {0, 1, 2}
    assert video.frames.std() > 0.05  # textured, not flat


def test_deterministic_by_seed():
    a = make_synthetic_video(seed=(5, 1), num_frames=3, height=32, width=48)
    b = make_synthetic_video(seed=(5, 1), num_frames=3, height=32, width=48)
    c = make_synthetic_video(seed=(5, 2), num_frames=3, height=32, width=48)
    torch.testing.assert_close(a.frames, b.frames, rtol=0, atol=0)
    torch.testing.assert_close(a.flow_fw, b.flow_fw, rtol=0, atol=0)
    assert not torch.equal(a.frames, c.frames)


def test_motion_is_sub_pixel_and_non_trivial(video):
    frac = video.flow_fw - video.flow_fw.round()
    assert (frac.abs() > 0.05).float().mean() > 0.5
    assert video.flow_fw.abs().amax() > 0.3


def test_warping_next_frame_with_flow_fw_reproduces_frame(video):
    warped, inside = backward_warp(video.frames[1:], video.flow_fw)
    reliable = ~video.occluded_fw & ~mixed_samples_fw(video)
    assert (reliable & ~inside).sum() == 0  # out-of-frame targets are flagged occluded
    assert reliable.float().mean() > 0.8
    err = (warped - video.frames[:-1]).abs().amax(dim=1, keepdim=True)[reliable]
    assert err.mean() < 3e-3 and torch.quantile(err, 0.999) < 0.03  # bilinear re-sampling error only
    # control: the same check with the flow half a pixel off fails by a wide margin
    shifted, _ = backward_warp(video.frames[1:], video.flow_fw + torch.tensor([0.5, 0.0]).view(1, 2, 1, 1))
    err_shifted = (shifted - video.frames[:-1]).abs().amax(dim=1, keepdim=True)[reliable]
    assert err_shifted.mean() > 4 * err.mean()


def test_flow_bw_is_the_inverse_of_flow_fw(video):
    reliable = ~video.occluded_fw & ~mixed_samples_fw(video)
    bw_at_target, _ = backward_warp(video.flow_bw, video.flow_fw)
    round_trip = (bw_at_target + video.flow_fw).abs().amax(dim=1, keepdim=True)
    assert round_trip[reliable].max() < 1e-3  # each layer's flow is affine: bilinear sampling is exact


def _own_layer_near_target(layers_src, layers_dst, flow):
    """For each pixel x of the source frame: how many of the 3×3 pixels around nearest(x + flow) in the
    destination frame show x's own layer (an independent, pixel-level visibility test)."""
    count = torch.zeros_like(layers_src, dtype=torch.float64)
    for k in layers_src.unique().tolist():
        near = F.avg_pool2d((layers_dst == k).double(), 3, stride=1, padding=1, count_include_pad=True) * 9
        at, _ = backward_warp(near, flow.double(), mode="nearest")
        count = torch.where(layers_src == k, at.round(), count)
    return count


@pytest.mark.parametrize("direction", ["fw", "bw"])
def test_occlusion_matches_pixel_level_visibility(video, direction):
    if direction == "fw":
        src, dst, flow, occluded = video.layers[:-1], video.layers[1:], video.flow_fw, video.occluded_fw
    else:
        src, dst, flow, occluded = video.layers[1:], video.layers[:-1], video.flow_bw, video.occluded_bw
    own = _own_layer_near_target(src, dst, flow)
    _, inside = backward_warp(torch.zeros_like(flow[:, :1]), flow)
    hidden = (own == 0) & inside  # the target and all its neighbours show another layer: surely covered
    visible = (own == 9) & inside  # the target and all its neighbours show the same surface
    assert hidden.sum() > 20 and visible.float().mean() > 0.8
    assert occluded[hidden].all()
    assert not occluded[visible].any()
    assert occluded[~inside].all()  # leaving the frame counts as occluded
    # the sprites' covered (fw) / uncovered (bw) background lies in the occluded area
    assert (occluded & (src == 0) & (dst > 0)).sum() > 0
    assert 0.001 < occluded.float().mean() < 0.2


def test_dataset_names_limits_and_timing():
    t0 = time.perf_counter()
    ds = SyntheticDataset(num_videos=3, num_frames=5, height=40, width=64, seed=1, max_videos=2, max_frames=4)
    assert ds.video_names() == ["synth-000", "synth-001"]
    sample = ds.load("synth-001")
    assert sample.frames.shape == (4, 3, 40, 64) and sample.known is None and sample.gt is None
    full = make_synthetic_video((1, 1), 5, 40, 64)
    torch.testing.assert_close(sample.frames, full.frames[:4], rtol=0, atol=0)  # prefix of the full video
    assert ds.motion("synth-001").flow_fw.shape[0] == 3
    assert ds.provenance()["tier"] == "data" and ds.provenance()["num_videos"] == 3
    with pytest.raises(KeyError, match="synth-007"):
        ds.load("synth-007")
    assert time.perf_counter() - t0 < 10


def test_dataset_masks_rectangle_and_object(tmp_path):
    rect = SyntheticDataset(num_videos=1, num_frames=3, height=40, width=64, masks="rectangle", mask_dir=str(tmp_path))
    s = rect.load("synth-000")
    assert s.known.shape == (3, 1, 40, 64) and s.gt is s.frames and (tmp_path / "synth-000.png").is_file()
    obj = SyntheticDataset(num_videos=1, num_frames=3, height=40, width=64, masks="object")
    s = obj.load("synth-000")
    layers = obj.motion("synth-000").layers
    torch.testing.assert_close(s.known, (layers == 0).float())
    assert s.gt is None and s.meta["mask_kind"] == "object"
