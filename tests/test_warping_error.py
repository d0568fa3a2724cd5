import math
import os

import numpy as np
import pytest
import torch

from hypercon.io.array_cache import stack_folder
from hypercon.flow.base import FlowEstimator
from hypercon.warp import backward_warp
from metrics.base import EvalVideo, MetricUnavailable
from metrics.occlusion import occlusion_mask
from metrics.source_motion import SourceMotion, SourceMotionCache, compute_source_motion
from metrics.warping_error import (
    GRID_ROUNDING,
    MaskedWarpingError,
    ThesisWarpingError,
    WarpingError,
    hole_flow_region,
    reduce_pairs,
    touches_hole,
    warping_error,
)


def _pan(t=5, h=24, w=30, step=(2, 1), lo=0.2, hi=0.8, seed=0):
    """Camera pan over a random texture: frame t = crop at offset t·step. Returns frames and the exact
    forward flow (content moves by −step)."""
    g = torch.Generator().manual_seed(seed)
    sx, sy = step
    big = lo + (hi - lo) * torch.rand(3, h + sy * t, w + sx * t, generator=g)
    frames = torch.stack([big[:, i * sy : i * sy + h, i * sx : i * sx + w] for i in range(t)])
    flow = torch.zeros(t - 1, 2, h, w)
    flow[:, 0], flow[:, 1] = -sx, -sy
    return frames, flow


class ShiftEstimator(FlowEstimator):
    """Test estimator: best global integer translation (±3 px) by brute force; counts its calls."""

    name = "shift"

    def __init__(self):
        self.calls = 0

    def estimate(self, src, dst):
        self.calls += 1
        out = torch.zeros(src.shape[0], 2, *src.shape[-2:])
        for b in range(src.shape[0]):
            best = None
            for dy in range(-3, 4):
                for dx in range(-3, 4):
                    f = torch.zeros(1, 2, *src.shape[-2:])
                    f[:, 0], f[:, 1] = dx, dy
                    warped, valid = backward_warp(dst[b : b + 1], f)
                    err = ((warped - src[b : b + 1]).square() * valid).sum() / valid.sum()
                    if best is None or err < best[0]:
                        best = (err, dx, dy)
            out[b, 0], out[b, 1] = best[1], best[2]
        return out


def _resample_np(src: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Independent FlowNet2 Resample2d (float64): src [H,W], flow [H,W,2]; corner indices clamped."""
    h, w = src.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    px, py = xs + flow[..., 0], ys + flow[..., 1]
    x0, y0 = np.floor(px), np.floor(py)
    ax, ay = px - x0, py - y0
    xl, xr = np.clip(x0, 0, w - 1).astype(int), np.clip(x0 + 1, 0, w - 1).astype(int)
    yt, yb = np.clip(y0, 0, h - 1).astype(int), np.clip(y0 + 1, 0, h - 1).astype(int)
    top = (1 - ax) * src[yt, xl] + ax * src[yt, xr]
    return (1 - ay) * top + ay * ((1 - ax) * src[yb, xl] + ax * src[yb, xr])


def test_ewarp_grid_rounding_is_backward_warp_with_border_padding():
    src = torch.rand(2, 3, 9, 11)
    flow = 3 * torch.randn(2, 2, 9, 11)
    ref, _ = backward_warp(src, flow, padding="border")
    ewarp_warped, _ = backward_warp(src, flow, padding="border", grid_rounding=GRID_ROUNDING)
    torch.testing.assert_close(ewarp_warped, ref, atol=1e-6, rtol=0)


def test_touches_hole_is_exact_resample2d_above_zero():
    rng = np.random.default_rng(0)
    hole = rng.random((2, 1, 12, 15)) < 0.1
    flow = rng.normal(0, 2, size=(2, 2, 12, 15)).astype(np.float32)
    flow[0] = np.round(flow[0])  # integer flows: grid_sample would leak ~1e-5 onto the neighbours
    flow[1, :, :6] = np.round(flow[1, :, :6]) + np.float32(0.5)
    ours = touches_hole(torch.from_numpy(hole), torch.from_numpy(flow)).numpy()
    for b in range(2):
        ref = _resample_np(hole[b, 0].astype(np.float64), flow[b].transpose(1, 2, 0).astype(np.float64)) > 0
        assert np.array_equal(ours[b, 0], ref)
    big = torch.zeros(1, 1, 480, 832, dtype=torch.bool)
    big[..., 100:200, 300:400] = True
    still = torch.zeros(1, 2, 480, 832)
    leaky = backward_warp(big.float(), still)[0] > 0
    assert torch.equal(touches_hole(big, still), big) and leaky.sum() > big.sum()  # why touches_hole exists


def test_consistent_pan_has_zero_error_and_error_grows_with_flicker():
    frames, flow = _pan()
    occluded = occlusion_mask(flow, -flow, rule="ruder")  # ruder also drops samples leaving the frame
    assert occluded.float().mean() < 0.2
    clean = warping_error(frames, flow, occluded)
    assert clean.abs().max() < 1e-9
    values = []
    for delta in (0.0, 0.01, 0.02, 0.05, 0.1):
        sign = torch.tensor([(-1.0) ** i for i in range(frames.shape[0])]).view(-1, 1, 1, 1)
        flicker = frames + delta * sign  # stays inside [0,1]: texture in [0.2,0.8]
        e = reduce_pairs(warping_error(flicker, flow, occluded))
        assert e == pytest.approx(4 * delta**2, rel=1e-5, abs=1e-12)  # (δ·(+1) − δ·(−1))² per entry
        values.append(e)
    assert all(a < b for a, b in zip(values, values[1:]))


def test_warp_with_ground_truth_flow_reproduces_frames_away_from_occlusions():
    h, w, top, left, size, step = 20, 24, 7, 6, 6, 2
    g = torch.Generator().manual_seed(1)
    bg = torch.rand(3, h, w, generator=g)
    square = torch.rand(3, size, size, generator=g)
    f0, f1 = bg.clone(), bg.clone()
    f0[:, top : top + size, left : left + size] = square
    f1[:, top : top + size, left + step : left + step + size] = square
    fw = torch.zeros(1, 2, h, w)
    fw[:, 0, top : top + size, left : left + size] = step
    bw = torch.zeros(1, 2, h, w)
    bw[:, 0, top : top + size, left + step : left + step + size] = -step
    occluded = occlusion_mask(fw, bw, "lai")
    warped, _ = backward_warp(f1[None], fw, padding="border", grid_rounding=GRID_ROUNDING)
    keep = ~occluded.expand(1, 3, h, w)
    torch.testing.assert_close(warped[keep], f0[None][keep], atol=1e-4, rtol=0)
    assert not torch.equal(warped[~keep], f0[None][~keep])  # the covered background really differs
    assert warping_error(torch.stack([f0, f1]), fw, occluded).item() < 1e-9  # grid_sample: ~1e-5 px leaks


def test_vie_and_lai_averaging_and_l2_form_golden():
    out = torch.zeros(3, 3, 2, 2)
    out[1] = 0.5  # pair 0: every entry differs by 0.5; pair 1 likewise
    flow = torch.zeros(2, 2, 2, 2)
    occluded = torch.zeros(2, 1, 2, 2, dtype=torch.bool)
    occluded[0, :, 0, 0] = True  # pair 0: 3 of 4 pixels kept
    occluded[1] = True  # pair 1: nothing kept
    vie = warping_error(out, flow, occluded, "vie")
    assert vie[0].item() == pytest.approx(0.25) and math.isnan(vie[1].item())
    assert reduce_pairs(vie, "vie") == pytest.approx(0.25)
    lai = warping_error(out, flow, occluded, "lai")
    assert lai.tolist() == pytest.approx([0.25, 0.0])
    assert reduce_pairs(lai, "lai") == pytest.approx(0.125)
    l2 = warping_error(out, flow, occluded, "vie", form="l2")
    assert l2[0].item() == pytest.approx(0.75)  # per pixel: 3 channels × 0.25


def test_thesis_normalisation_divides_by_all_entries():
    """Singh (2020) E(V): each pair's masked sum over ALL H·W·3 entries, then the mean over the T−1 pairs."""
    out = torch.zeros(3, 3, 2, 2)
    out[1] = 0.5
    flow = torch.zeros(2, 2, 2, 2)
    occluded = torch.zeros(2, 1, 2, 2, dtype=torch.bool)
    occluded[0, :, 0, 0] = True  # pair 0: 9 of 12 entries kept, each 0.25
    occluded[1] = True  # pair 1: nothing kept → 0, not NaN
    for averaging in ("vie", "lai"):
        per_pair = warping_error(out, flow, occluded, averaging, normalise="all")
        assert per_pair.tolist() == pytest.approx([9 * 0.25 / 12, 0.0])
    assert warping_error(out, flow, occluded, normalise="all", form="l2")[0].item() == pytest.approx(3 * 0.1875)
    with pytest.raises(ValueError, match="normalise"):
        warping_error(out, flow, occluded, normalise="visible_only")
    frames, pan_flow = _pan(t=4)
    frames = frames + 0.05 * torch.rand(frames.shape, generator=torch.Generator().manual_seed(1))
    occ = torch.zeros(3, 1, 24, 30, dtype=torch.bool)
    occ[:, :, :5] = True  # the top rows excluded
    video = _video(frames, pan_flow, occ)
    visible = WarpingError(occlusion_rule=None).compute(video)["ewarp"]
    thesis = WarpingError(occlusion_rule=None, normalise="all").compute(video)
    assert list(thesis) == ["ewarp_all"] and 0 < thesis["ewarp_all"] < visible  # occluded entries count as 0
    per_pair = warping_error(frames, pan_flow, occ, normalise="all")
    assert thesis["ewarp_all"] == pytest.approx(float(per_pair.mean()))
    assert ThesisWarpingError(occlusion_rule=None).compute(video) == thesis


def test_hole_flow_region_golden():
    known = torch.ones(2, 1, 4, 6)
    known[0, :, 1, 1] = 0  # hole in frame t at (1,1)
    known[1, :, 2, 4] = 0  # hole in frame t+1 at (2,4)
    flow = torch.zeros(1, 2, 4, 6)
    flow[:, 0] = 1.0  # x → x+1
    region = hole_flow_region(known, flow)[0, 0]
    expected = torch.zeros(4, 6, dtype=torch.bool)
    expected[1, 1] = True  # starts in the hole
    expected[2, 3] = True  # ends in the hole: 3 + 1 = 4
    assert torch.equal(region, expected)


def _video(frames, flow, occluded, rule="lai", known=None):
    motion = SourceMotion(flow, occluded, rule, "gt")
    return EvalVideo(name="v", output=frames, source=frames, known=known, source_motion=lambda: motion)


def test_wrappers_keys_options_and_errors():
    frames, flow = _pan(t=4)
    occluded = occlusion_mask(flow, -flow, "ruder")
    video = _video(frames, flow, occluded, rule="ruder")
    assert WarpingError(occlusion_rule="ruder").compute(video)["ewarp"] < 1e-9
    keys = WarpingError(occlusion_rule=None, averaging="lai", form="l2").compute(video)
    assert list(keys) == ["ewarp_lai_l2"]
    with pytest.raises(ValueError, match="rule"):
        WarpingError(occlusion_rule="lai").compute(video)
    with pytest.raises(MetricUnavailable):
        WarpingError().compute(EvalVideo(name="v", output=frames, source=frames))
    with pytest.raises(MetricUnavailable, match="mask"):
        MaskedWarpingError(occlusion_rule=None).compute(video)
    with pytest.raises(ValueError, match="averaging"):
        WarpingError(averaging="mean")


def test_masked_warping_error_only_counts_hole_flows():
    frames, flow = _pan(t=3, h=12, w=14)
    occluded = torch.zeros(2, 1, 12, 14, dtype=torch.bool)
    known = torch.ones(3, 1, 12, 14)
    known[:, :, 4:8, 5:9] = 0
    noisy = frames.clone()
    noisy[1, :, 0:2, 0:2] += 0.1  # outside the hole region: ignored by the masked variant
    video = _video(noisy, flow, occluded, known=known)
    masked = MaskedWarpingError().compute(video)["ewarp_masked"]
    region = hole_flow_region(known, flow)
    per_pair = warping_error(video.evaluated_output(), flow, occluded, region=region)
    assert masked == pytest.approx(float(per_pair.mean()))
    full = WarpingError().compute(video)["ewarp"]
    assert masked < full


def test_source_motion_cache_computes_once_and_round_trips(tmp_path):
    frames, flow = _pan(t=4, h=16, w=18)
    est = ShiftEstimator()
    direct = compute_source_motion(frames, est, rule="lai", batch_size=2)
    assert est.calls == 4  # 2 batches × (fw + bw)
    torch.testing.assert_close(direct.flow_fw, flow)
    cache = SourceMotionCache(tmp_path)
    est.calls = 0
    first = cache.get("set/video", frames, est, rule="lai")
    assert est.calls > 0
    assert cache.get("set/video", frames, est, rule="lai") is first  # kept in memory for the next metric
    est.calls = 0
    second = SourceMotionCache(tmp_path).get("set/video", frames, est, rule="lai")  # read from disk
    assert est.calls == 0
    assert torch.equal(first.flow_fw, second.flow_fw) and torch.equal(first.occluded, second.occluded)
    assert torch.equal(first.occluded, direct.occluded) and second.rule == "lai"
    files = list((tmp_path / stack_folder() / "set" / "video").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"  # no temporary files left
    cache.get("set/video", frames, est, rule="ruder")  # another rule: another entry
    cache.get("set/video", frames.flip(0).contiguous(), est, rule="lai")  # other frames: another entry
    assert len(list((tmp_path / stack_folder() / "set" / "video").iterdir())) == 3
    files[0].write_bytes(b"corrupt")
    est.calls = 0
    again = cache.get("set/video", frames, est, rule="lai")
    assert est.calls > 0 and torch.equal(again.flow_fw, first.flow_fw)


def test_source_motion_cache_float16_rounding_is_applied_on_a_miss_too(tmp_path):
    frames, _ = _pan(t=3, h=10, w=12)

    class Fractional(FlowEstimator):
        name = "frac"

        def estimate(self, src, dst):
            return torch.full((src.shape[0], 2, *src.shape[-2:]), 1.0 / 3.0)

    miss = SourceMotionCache(tmp_path).get("v", frames, Fractional())
    hit = SourceMotionCache(tmp_path).get("v", frames, Fractional())
    assert torch.equal(miss.flow_fw, hit.flow_fw)
    assert miss.flow_fw[0, 0, 0, 0].item() == float(np.float16(1.0 / 3.0))
    assert not any(name.endswith(".tmp") for _, _, names in os.walk(tmp_path) for name in names)
