"""HyperCon end to end on tiny synthetic videos: exactness, consistency, chunking, masks, options."""

from __future__ import annotations

import hashlib

import pytest
import torch

from hypercon.align import window_indices
from hypercon.flow.base import FlowEstimator
from shift_flow import integer_shift_flow
from hypercon.interp.flow_linear import FlowLinearInterpolator
from hypercon.interpolate import interp_length
from hypercon.models.base import ImageModel
from hypercon.pipeline import HyperCon
from hypercon.warp import backward_warp


class ShiftFlow(FlowEstimator):
    """Exact flow for videos that translate globally by whole pixels: exhaustive integer search."""

    def __init__(self, radius: int = 4) -> None:
        self.radius = radius
        self.seen: list[tuple[str, str]] = []

    def estimate(self, src, dst):
        self.seen += [(_digest(a), _digest(b)) for a, b in zip(src, dst)]
        return integer_shift_flow(src, dst, self.radius)


class ZeroFlow(FlowEstimator):
    def estimate(self, src, dst):
        return torch.zeros(src.shape[0], 2, *src.shape[-2:])


def _digest(x: torch.Tensor) -> str:
    return hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes()).hexdigest()


class Square(ImageModel):
    """A deterministic point-wise model (commutes with integer-shift warping)."""

    def translate_batch(self, frames, known):
        return frames.square()


class Counting(ImageModel):
    """Identity that records a digest of every frame it translates."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def translate_batch(self, frames, known):
        self.seen.extend(_digest(f) for f in frames)
        return frames.clone()


class Flicker(ImageModel):
    """Identity plus a per-frame colour gain and offset drawn from a generator seeded by the frame."""

    def translate_batch(self, frames, known):
        out = []
        for f in frames:
            g = torch.Generator().manual_seed(int(_digest(f)[:8], 16))
            gain = 1 + 0.3 * (torch.rand(3, 1, 1, generator=g) - 0.5)
            offset = 0.1 * (torch.rand(3, 1, 1, generator=g) - 0.5)
            out.append(f * gain + offset)
        return torch.stack(out)


class Inpaint(ImageModel):
    """Fills holes with the frame's mean known colour (needs the mask; the base class composites)."""

    needs_mask = True

    def translate_batch(self, frames, known):
        mean = (frames * known).sum((2, 3), keepdim=True) / known.sum((2, 3), keepdim=True).clamp_min(1)
        return known * frames + (1 - known) * mean


def translating_video(n: int, h: int, w: int, vx: int, vy: int, seed: int = 0) -> torch.Tensor:
    """Frame k is a random texture shifted by k·(vx, vy): pixel x of frame k is at x + v in frame k+1."""
    g = torch.Generator().manual_seed(seed)
    pad = n * max(abs(vx), abs(vy)) + 2
    tex = torch.rand(3, h + 2 * pad, w + 2 * pad, generator=g) * 0.8 + 0.1
    return torch.stack([tex[:, pad - k * vy: pad - k * vy + h, pad - k * vx: pad - k * vx + w] for k in range(n)])


def make(model, i=2, c=5, d=1, pool="mean", chunk=4, flow=None, interp_flow=None, align_on="translated"):
    interp = FlowLinearInterpolator(interp_flow or ShiftFlow())
    return HyperCon(model, interp, flow or ShiftFlow(), num_inserted=i, window=c, dilation=d, pool=pool,
                    chunk_size=chunk, align_on=align_on)


@pytest.mark.parametrize("pool", ["mean", "median"])
def test_identity_model_returns_the_input_away_from_borders(pool):
    video = translating_video(5, 14, 20, 3, 0, seed=1)
    out = make(Counting(), i=2, c=5, pool=pool).run(video)
    torch.testing.assert_close(out[..., 5:-5], video[..., 5:-5], atol=1e-5, rtol=0)


def test_pure_translation_with_exact_flow_aggregates_without_blur():
    video = translating_video(6, 14, 22, 3, 3, seed=2)
    framewise = Square()(video)
    out = make(Square(), i=2, c=7, d=1, chunk=2).run(video)
    # every pooled sample is the same pixel of the same surface: no blur, frame-wise output exactly
    torch.testing.assert_close(out[..., 6:-6, 6:-6], framewise[..., 6:-6, 6:-6], atol=1e-5, rtol=0)
    sharp = (framewise[..., 6:-6, 7:-5] - framewise[..., 6:-6, 6:-6]).abs().mean()
    assert (out[..., 6:-6, 7:-5] - out[..., 6:-6, 6:-6]).abs().mean() == pytest.approx(sharp.item(), rel=1e-4)


@pytest.mark.parametrize("masked", [False, True])
def test_i0_c1_is_exactly_framewise(masked):
    video = translating_video(5, 10, 12, 1, 0, seed=3)
    known = None
    model = Flicker()
    if masked:
        known = torch.ones(5, 1, 10, 12)
        known[:, :, 2:6, 3:8] = 0
        video = known * video + (1 - known) * 0.5
        model = Inpaint()
    out = make(model, i=0, c=1, chunk=2).run(video, known)
    assert torch.equal(out, model(video, known))


def _ewarp(frames: torch.Tensor, v: tuple[int, int], margin: int) -> float:
    """Mean squared error between frame t and frame t+1 warped back with the exact flow v."""
    flow = torch.zeros(frames.shape[0] - 1, 2, *frames.shape[-2:])
    flow[:, 0], flow[:, 1] = float(v[0]), float(v[1])
    aligned, _ = backward_warp(frames[1:], flow)
    diff = (aligned - frames[:-1])[..., margin:-margin, margin:-margin]
    return diff.square().mean().item()


def test_flickering_model_gets_lower_warping_error_than_framewise():
    video = translating_video(8, 16, 24, 2, 1, seed=4)
    framewise = Flicker()(video)
    out = make(Flicker(), i=2, c=5, d=1, chunk=3).run(video)
    e_frame, e_hyper = _ewarp(framewise, (2, 1), 5), _ewarp(out, (2, 1), 5)
    assert e_hyper < 0.6 * e_frame, (e_hyper, e_frame)
    med = make(Flicker(), i=2, c=5, pool="median", chunk=3).run(video)
    assert _ewarp(med, (2, 1), 5) < e_frame


@pytest.mark.parametrize("i, c, d", [(2, 5, 1), (1, 5, 2), (3, 3, 4), (2, 7, 3)])
def test_each_frame_translated_once_and_each_flow_once_whatever_the_chunking(i, c, d):
    n = 7
    video = translating_video(n, 8, 12, 2, 0, seed=5)
    windows = window_indices(n, i, c, d)
    needed = set().union(*windows)
    results = []
    for chunk in (1, 2, 3, n):
        model, flow, interp_flow = Counting(), ShiftFlow(), ShiftFlow()
        method = make(model, i=i, c=c, d=d, chunk=chunk, flow=flow, interp_flow=interp_flow)
        results.append(method.run(video))
        assert len(model.seen) == len(needed) == len(set(model.seen))  # each needed frame exactly once
        assert len(flow.seen) == sum(len(w) - 1 for w in windows) == len(set(flow.seen))
        pairs = {m // (i + 1) for m in needed if m % (i + 1)}
        assert len(interp_flow.seen) == 2 * len(pairs) == len(set(interp_flow.seen))
    for other in results[1:]:
        torch.testing.assert_close(other, results[0], atol=1e-6, rtol=0)


def test_peak_interpolated_frames_held_does_not_grow_with_video_length():
    i, c, d, chunk = 2, 5, 2, 3
    peaks = []
    for n in (12, 48):
        method = make(Counting(), i=i, c=c, d=d, chunk=chunk, flow=ZeroFlow(), interp_flow=ZeroFlow())
        method.run(torch.rand(n, 3, 4, 5))
        assert method.last_stats["translated"] == interp_length(n, i)
        peaks.append(method.last_stats["peak_held"])
    gamma = (c - 1) // 2
    assert peaks[0] == peaks[1] <= chunk * (i + 1) + 2 * gamma * d + i + 1


def test_inpainting_keeps_known_pixels_and_fills_holes():
    video = 0.5 * translating_video(5, 12, 16, 2, 0, seed=6)  # values in [0.05, 0.45]
    known = torch.ones(5, 1, 12, 16)
    for k in range(5):
        known[k, :, 3:8, 2 + 2 * k: 7 + 2 * k] = 0  # a hole moving with the content
    frames_in = known * video + (1 - known) * 0.5
    out = make(Inpaint(), i=1, c=3).run(frames_in, known)
    assert torch.equal(out * known, frames_in * known)
    # holes hold the model's fill (and aligned known texture), never the grey placeholder 0.5
    assert (out * (1 - known)).amax() < 0.46 and (out[(1 - known).expand_as(out) > 0] > 0.04).all()


def test_bad_hyper_parameters_are_rejected_naming_the_key():
    model, interp, flow = Counting(), FlowLinearInterpolator(ZeroFlow()), ZeroFlow()
    valid = {"num_inserted": 2, "window": 5, "dilation": 1, "pool": "mean", "chunk_size": 4, "align_on": "translated"}
    for kwargs, key in [({"window": 4}, "method.window"), ({"window": 0}, "method.window"),
                        ({"dilation": 0}, "method.dilation"), ({"num_inserted": -1}, "method.num_inserted"),
                        ({"pool": "max"}, "method.pool"), ({"chunk_size": 0}, "method.chunk_size"),
                        ({"align_on": "output"}, "method.align_on")]:
        with pytest.raises(ValueError, match=key):
            HyperCon(model, interp, flow, **{**valid, **kwargs})
    with pytest.raises(TypeError, match="method.flow"):
        HyperCon(model, interp, interp, **valid)
    with pytest.raises(TypeError, match="window"):  # the defaults live in conf/method/hypercon.yaml only
        HyperCon(model, interp, flow, num_inserted=2, dilation=1, pool="mean", chunk_size=4, align_on="translated")


def test_options_components_and_provenance():
    method = make(Counting(), i=3, c=7, d=2, pool="median")
    assert method.options() == {"num_inserted": 3, "window": 7, "gamma": 3, "dilation": 2, "pool": "median",
                                "align_on": "translated"}
    assert set(method.components()) == {"model", "interp", "flow"}
    record = method.provenance()
    assert record["name"] == "hypercon" and record["tier"] == "offline"
    assert record["components"]["interp"]["options"]["occlusion"] is False


@pytest.mark.gpu
def test_cuda_matches_cpu():
    video = translating_video(4, 16, 20, 2, 0, seed=7)
    cpu = make(Square(), i=1, c=3).run(video)
    method = make(Square(), i=1, c=3)
    method.device = "cuda"
    torch.testing.assert_close(method.run(video).cpu(), cpu, atol=1e-5, rtol=0)


class Inverted(ImageModel):
    """1 − x: translated frames differ from the inputs, so the frames the flow sees tell what was aligned on."""

    def translate_batch(self, frames, known):
        return 1.0 - frames


class Recording(FlowEstimator):
    """Zero flow that records a digest of every reference frame it is asked about."""

    def __init__(self) -> None:
        self.refs: list[str] = []

    def estimate(self, src, dst):
        self.refs.extend(_digest(f) for f in src)
        return torch.zeros(src.shape[0], 2, *src.shape[-2:])


@pytest.mark.parametrize("align_on", ["translated", "input"])
def test_align_on_chooses_the_frames_the_alignment_flow_sees(align_on):
    frames = torch.rand(4, 3, 8, 10, generator=torch.Generator().manual_seed(3))
    flow = Recording()
    make(Inverted(), i=1, c=3, flow=flow, interp_flow=ZeroFlow(), align_on=align_on).run(frames)
    seen = set(flow.refs)
    inputs, translated = {_digest(f) for f in frames}, {_digest(1.0 - f) for f in frames}
    assert seen <= (translated if align_on == "translated" else inputs) and seen


class Probability(ImageModel):
    """A one-channel output (e.g. a foreground probability): HyperCon pools any channel count."""

    def translate_batch(self, frames, known):
        return frames.mean(dim=1, keepdim=True)


@pytest.mark.parametrize("align_on", ["translated", "input"])
def test_any_channel_count_pools(align_on):
    frames = translating_video(5, 12, 14, 1, 0)
    out = make(Probability(), align_on=align_on).run(frames)
    assert out.shape == (5, 1, 12, 14)
    # a static video: every aligned sample equals the reference, the pooled frame is the frame-wise one
    static = frames[:1].expand(4, -1, -1, -1).contiguous()
    torch.testing.assert_close(make(Probability(), align_on=align_on).run(static), static.mean(1, keepdim=True))
