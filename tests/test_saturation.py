"""The saturation ratio (metrics/saturation.py) against an independent colorsys computation."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch

from metrics.base import EvalVideo, MetricUnavailable
from metrics.evaluate import build_metrics, evaluate_video
from metrics.saturation import SaturationRatio, hsv_saturation


def _frames(t=2, h=5, w=7, seed=0):
    return torch.rand(t, 3, h, w, generator=torch.Generator().manual_seed(seed))


def _colorsys_mean_saturation(frames: torch.Tensor) -> float:
    """Mean S of colorsys.rgb_to_hsv over every pixel of every frame (plain Python, float64)."""
    pixels = frames.permute(0, 2, 3, 1).reshape(-1, 3).double().numpy()
    return float(np.mean([colorsys.rgb_to_hsv(*p)[1] for p in pixels]))


def test_ratio_matches_colorsys_on_a_random_video():
    output, reference = _frames(seed=1), _frames(seed=2)
    output[0, :, 0, 0] = 0.0  # a black pixel: S = 0 by definition
    got = SaturationRatio().compute(EvalVideo(name="v", output=output, source=output, reference=reference))
    want = _colorsys_mean_saturation(output) / _colorsys_mean_saturation(reference)
    assert got["saturation_ratio"] == pytest.approx(want, rel=1e-6)
    assert hsv_saturation(output)[0, 0, 0] == 0.0


def test_output_blended_halfway_to_grey_is_desaturated():
    reference = _frames(seed=3)
    grey = reference.mean(dim=1, keepdim=True).expand_as(reference)
    output = 0.5 * reference + 0.5 * grey
    ratio = SaturationRatio().compute(EvalVideo(name="v", output=output, source=reference, reference=reference))
    assert ratio["saturation_ratio"] < 0.75  # max−min halves, max shrinks by less
    same = SaturationRatio().compute(EvalVideo(name="v", output=reference, source=reference, reference=reference))
    assert same["saturation_ratio"] == pytest.approx(1.0)


def test_inpainting_composites_both_videos_with_the_known_pixels():
    source, output, reference = _frames(seed=4), _frames(seed=5), _frames(seed=6)
    known = torch.zeros(2, 1, 5, 7)
    known[:, :, :, :3] = 1.0
    video = EvalVideo(name="v", output=output, source=source, reference=reference, known=known)
    got = SaturationRatio().compute(video)["saturation_ratio"]
    mix = lambda x: known * source + (1 - known) * x  # noqa: E731
    assert got == pytest.approx(_colorsys_mean_saturation(mix(output)) / _colorsys_mean_saturation(mix(reference)),
                                rel=1e-6)


def test_frame_wise_run_is_its_own_reference_and_grey_reference_is_unavailable():
    frames = _frames(seed=7)
    metrics, _ = build_metrics(["saturation"])
    out = evaluate_video(EvalVideo(name="v", output=frames, source=frames, reference=frames, is_reference=True),
                         metrics)
    assert out["self_reference"] == ["saturation"] and "saturation_ratio" not in out["metrics"]
    grey = frames.mean(dim=1, keepdim=True).expand_as(frames).contiguous()
    with pytest.raises(MetricUnavailable, match="grey"):
        SaturationRatio().compute(EvalVideo(name="v", output=frames, source=frames, reference=grey))
    with pytest.raises(MetricUnavailable, match="reference"):
        SaturationRatio().compute(EvalVideo(name="v", output=frames, source=frames))


def test_tables_bold_the_ratio_closest_to_one():
    spec = SaturationRatio.keys["saturation_ratio"]
    assert spec.direction() == "→1" and spec.badness(0.9) < spec.badness(1.2) and spec.badness(1.0) == 0
