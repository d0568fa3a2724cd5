"""Vector-based interpolation: formulas, round trips, masks (eq. 7–8), flow reuse, occlusion handling."""

from __future__ import annotations

import math

import pytest
import torch

from hypercon.flow.base import FlowEstimator
from shift_flow import integer_shift_flow
from hypercon.interp.base import WarpingParams, intermediate_flows, visibility_weight
from hypercon.interp.flow_linear import FlowLinearInterpolator, occlusion_from_flows
from hypercon.checks import HOLE_PLACEHOLDER
from hypercon.interpolate import (
    blend,
    blend_known,
    interp_length,
    interpolate_pair,
    interpolate_video,
    source_of,
)


class ShiftFlow(FlowEstimator):
    """Exact flow for videos that translate globally by whole pixels: exhaustive integer search."""

    def __init__(self, radius: int = 4) -> None:
        self.radius = radius
        self.pairs = 0

    def estimate(self, src, dst):
        self.pairs += src.shape[0]
        return integer_shift_flow(src, dst, self.radius)


def translating_video(n: int, h: int, w: int, vx: int, vy: int, seed: int = 0) -> torch.Tensor:
    """Frame k is a random texture shifted by k·(vx, vy): pixel x of frame k is at x + v in frame k+1."""
    g = torch.Generator().manual_seed(seed)
    pad = n * max(abs(vx), abs(vy)) + 2
    tex = torch.rand(3, h + 2 * pad, w + 2 * pad, generator=g)
    return torch.stack([tex[:, pad - k * vy: pad - k * vy + h, pad - k * vx: pad - k * vx + w] for k in range(n)])


def test_intermediate_flows_endpoints_and_constant_translation():
    f_ab, f_ba = torch.randn(2, 2, 4, 5), torch.randn(2, 2, 4, 5)
    t0_a, t0_b = intermediate_flows(f_ab, f_ba, 0.0)
    t1_a, t1_b = intermediate_flows(f_ab, f_ba, 1.0)
    assert torch.equal(t0_a, torch.zeros_like(f_ab)) and torch.equal(t0_b, f_ab)
    assert torch.equal(t1_a, f_ba) and torch.equal(t1_b, torch.zeros_like(f_ab))
    u = torch.tensor([3.0, -1.5]).view(1, 2, 1, 1).expand(1, 2, 4, 5)
    for t in (0.25, 0.5, 0.8):
        a, b = intermediate_flows(u, -u, t)
        torch.testing.assert_close(a, -t * u)
        torch.testing.assert_close(b, (1 - t) * u)


def test_visibility_weight_golden():
    one, zero = torch.ones(1, 1, 1, 1), torch.zeros(1, 1, 1, 1)
    assert visibility_weight(0.3, one, one).item() == pytest.approx(0.3)
    assert visibility_weight(0.3, one, zero).item() == 0.0
    assert visibility_weight(0.3, zero, one).item() == 1.0
    assert visibility_weight(0.3, zero, zero).item() == pytest.approx(0.3)
    # w = t·Vb / ((1−t)Va + t·Vb)
    assert visibility_weight(0.25, 0.5 * one, 0.8 * one).item() == pytest.approx(0.25 * 0.8 / (0.75 * 0.5 + 0.25 * 0.8))


def test_index_layout():
    assert interp_length(5, 2) == 13 and interp_length(1, 3) == 1 and interp_length(0, 2) == 0
    assert source_of(7, 2) == (2, pytest.approx(1 / 3)) and source_of(6, 2) == (2, 0.0)


@pytest.mark.parametrize("occlusion", [False, True])
def test_t0_and_t1_round_trip_to_the_endpoints(occlusion):
    video = translating_video(2, 12, 14, 2, 1)
    interp = FlowLinearInterpolator(ShiftFlow(), occlusion=occlusion)
    p0, p1 = interp(video[:1], video[1:], [0.0, 1.0])
    torch.testing.assert_close(blend(video[:1], video[1:], p0), video[:1], atol=1e-5, rtol=0)
    torch.testing.assert_close(blend(video[:1], video[1:], p1), video[1:], atol=1e-5, rtol=0)
    assert (p0.weight_b == 0).all() and (p1.weight_b == 1).all()


def test_interpolated_video_matches_the_true_intermediate_frames_in_the_interior():
    # motion (3, 0) px per frame, i = 2: intermediate frames are shifted by exactly 1 and 2 px
    n, i = 4, 2
    fine = translating_video(interp_length(n, i), 10, 16, 1, 0, seed=3)  # ground truth at every time
    coarse = fine[:: i + 1]
    flow = ShiftFlow()
    out, known = interpolate_video(coarse, None, FlowLinearInterpolator(flow, occlusion=False), i)
    assert known is None and out.shape == fine.shape
    assert torch.equal(out[:: i + 1], coarse)
    torch.testing.assert_close(out[..., 3:-3], fine[..., 3:-3], atol=1e-5, rtol=0)
    assert flow.pairs == 2 * (n - 1)  # F_ab and F_ba once per pair, shared by the i times


def _expected_known(known_a, known_b, params: WarpingParams):
    """Independent eq. 7–8: x is known iff every bilinear source pixel with non-zero weight is known,
    in each frame whose blend weight is non-zero (border-clamped sample positions)."""
    _, _, h, w = known_a.shape
    expect = torch.ones(1, 1, h, w)
    for src, flow, weight in ((known_a, params.flow_to_a, 1 - params.weight_b), (known_b, params.flow_to_b,
                                                                                 params.weight_b)):
        for y in range(h):
            for x in range(w):
                if weight[0, 0, y, x] <= 0:
                    continue
                px = min(max(x + flow[0, 0, y, x].double().item(), 0.0), w - 1.0)
                py = min(max(y + flow[0, 1, y, x].double().item(), 0.0), h - 1.0)
                xs = {math.floor(px + 1e-6), math.ceil(px - 1e-6)}
                ys = {math.floor(py + 1e-6), math.ceil(py - 1e-6)}
                if any(src[0, 0, yy, xx] < 1 for yy in ys for xx in xs):
                    expect[0, 0, y, x] = 0
    return expect


@pytest.mark.parametrize("occlusion", [False, True])
def test_masked_interpolation_never_marks_a_pixel_fed_by_a_hole_as_known(occlusion):
    video = translating_video(2, 12, 16, 2, 1, seed=5)
    known = torch.ones(2, 1, 12, 16)
    known[0, :, 3:6, 4:8] = 0  # a hole in a
    known[1, :, 7:10, 9:12] = 0  # another in b
    known[1, :, 0, 0] = 0  # a single-pixel hole
    interp = FlowLinearInterpolator(ShiftFlow(), occlusion=occlusion)
    times = [1 / 3, 0.5, 2 / 3]  # fractional (1/3 px) and integer shifts
    for p in interp(video[:1], video[1:], times):
        got = blend_known(known[:1], known[1:], p)
        assert set(got.unique().tolist()) <= {0.0, 1.0}
        assert torch.equal(got, _expected_known(known[:1], known[1:], p))
        assert (got == 0).any() and (got == 1).any()


def test_hole_contents_never_reach_known_pixels_and_holes_get_the_placeholder():
    video = translating_video(2, 12, 16, 2, 0, seed=6)
    known = torch.ones(2, 1, 12, 16)
    known[0, :, 2:7, 3:9] = 0
    known[1, :, 5:11, 6:12] = 0
    dark = known * video  # holes hold 0
    bright = known * video + (1 - known)  # holes hold 1
    interp = FlowLinearInterpolator(ShiftFlow(), occlusion=True)
    times = [0.25, 0.5, 0.75]
    out_dark, k_dark = interpolate_pair(dark[:1], dark[1:], interp, times, known[:1], known[1:])
    out_bright, k_bright = interpolate_pair(bright[:1], bright[1:], interp, times, known[:1], known[1:])
    for fd, fb, kd, kb in zip(out_dark, out_bright, k_dark, k_bright):
        assert torch.equal(kd, kb)
        torch.testing.assert_close(fd * kd, fb * kb, atol=1e-5, rtol=0)  # known pixels do not depend on holes
        assert ((fd - HOLE_PLACEHOLDER) * (1 - kd)).abs().max() == 0
        assert (kd == 0).sum() >= 30  # the moving holes are present in every intermediate mask


def test_interpolate_video_masks_keep_originals_and_shapes():
    video = translating_video(3, 8, 10, 1, 0)
    known = torch.ones(3, 1, 8, 10)
    known[1, :, 2:4, 2:4] = 0
    out, out_known = interpolate_video(video, known, FlowLinearInterpolator(ShiftFlow()), 3)
    assert out.shape == (9, 3, 8, 10) and out_known.shape == (9, 1, 8, 10)
    assert torch.equal(out_known[::4], known) and torch.equal(out[::4], video)
    assert (out_known[1:4] == 0).any() and (out_known[5:8] == 0).any()
    with pytest.raises(ValueError, match="num_inserted"):
        interpolate_video(video, known, FlowLinearInterpolator(ShiftFlow()), -1)


def test_occlusion_check_marks_pixels_that_leave_the_frame():
    flow_ab = torch.zeros(1, 2, 4, 9)
    flow_ab[:, 0] = 2.0
    occluded = occlusion_from_flows(flow_ab, -flow_ab)
    assert occluded[..., -2:].eq(1).all() and occluded[..., :-2].eq(0).all()
    occluded_b = occlusion_from_flows(-flow_ab, flow_ab)
    assert occluded_b[..., :2].eq(1).all() and occluded_b[..., 2:].eq(0).all()


class _SceneFlow(FlowEstimator):
    """Ground-truth flow of :func:`_two_layer_scene` (frames identified by their content)."""

    def __init__(self, frames, fg_masks, v_bg, v_fg):
        self.lookup = {f.numpy().tobytes(): k for k, f in enumerate(frames)}
        self.fg, self.v_bg, self.v_fg = fg_masks, v_bg, v_fg

    def estimate(self, src, dst):
        out = []
        for a, b in zip(src, dst):
            ka, kb = self.lookup[a.numpy().tobytes()], self.lookup[b.numpy().tobytes()]
            dt = kb - ka
            fg = self.fg[ka]
            flow = torch.empty(2, *a.shape[-2:])
            for c in range(2):
                flow[c] = dt * (fg * self.v_fg[c] + (1 - fg) * self.v_bg[c])
            out.append(flow)
        return torch.stack(out)


def _two_layer_scene(n, h, w, v_bg, v_fg, seed=0):
    """A textured square (foreground) moving over a textured background: occlusions at its edges."""
    g = torch.Generator().manual_seed(seed)
    pad = 4 * n * max(map(abs, v_bg + v_fg)) + 4
    bg = torch.rand(3, h + 2 * pad, w + 2 * pad, generator=g)
    fg_tex = torch.rand(3, h // 2, w // 3, generator=g) * 0.5 + 0.5
    frames, masks = [], []
    for k in range(n):
        frame = bg[:, pad - k * v_bg[1]: pad - k * v_bg[1] + h, pad - k * v_bg[0]: pad - k * v_bg[0] + w].clone()
        y0, x0 = h // 4 + k * v_fg[1], w // 4 + k * v_fg[0]
        frame[:, y0: y0 + h // 2, x0: x0 + w // 3] = fg_tex
        mask = torch.zeros(h, w)
        mask[y0: y0 + h // 2, x0: x0 + w // 3] = 1
        frames.append(frame)
        masks.append(mask)
    return torch.stack(frames), masks


def _psnr(x, y):
    return (10 * torch.log10(1 / (x - y).square().mean())).item()


def test_default_linear_blend_beats_occlusion_aware_blend_at_motion_boundaries():
    # the measurement behind flow_linear's default (occlusion=False); see its module docstring
    # frames 0, 1, 2 rendered; interpolate 0 → 2 at t = 0.5 and compare with the held-out frame 1
    v_bg, v_fg = (-2, 0), (4, 0)
    frames, masks = _two_layer_scene(3, 24, 36, v_bg, v_fg)
    flow = _SceneFlow(frames[::2], masks[::2], [2 * v for v in v_bg], [2 * v for v in v_fg])
    psnr = {}
    for occlusion in (False, True):
        interp = FlowLinearInterpolator(flow, occlusion=occlusion)
        (mid,), _ = interpolate_pair(frames[:1], frames[2:], interp, [0.5])
        psnr[occlusion] = _psnr(mid[..., 4:-4], frames[1:2, ..., 4:-4])
    assert psnr[False] > psnr[True] + 0.5, psnr
    assert FlowLinearInterpolator(flow).occlusion is False
