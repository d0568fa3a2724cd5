"""Hole colour shift (metrics/hole_colour.py): golden values on hand-made fills, unavailable without holes."""

from __future__ import annotations

import math

import pytest
import torch

from metrics.base import EvalVideo, MetricUnavailable
from metrics.hole_colour import HoleColourShift, hole_colour_shift
from metrics.registry import metric_class


def _video(output, reference, known, source=None):
    source = reference if source is None else source
    return EvalVideo(name="v", output=output, source=source, reference=reference, known=known)


def test_golden_values_inside_the_hole_only():
    known = torch.ones(2, 1, 4, 5)
    known[:, :, 1:3, 1:4] = 0  # 6 hole pixels per frame
    reference = torch.full((2, 3, 4, 5), 0.5)
    output = reference.clone()
    output[:, 0] = torch.where(known[:, 0] == 0, 0.4, 0.9)  # hole: red −0.1; outside: changed (composited away)
    got = hole_colour_shift(output * (1 - known) + reference * known, reference, known)
    assert got["hole_luma_shift"] == pytest.approx(-0.1 * 0.299 * 255)
    assert got["hole_colour_shift"] == pytest.approx(0.1 * 255)
    darker = HoleColourShift().compute(_video(output, reference, known))  # composited by the metric itself
    assert darker == pytest.approx(got)
    grey = reference - 0.02  # a uniform darkening by 0.02 in every channel
    uniform = hole_colour_shift(grey, reference, known)
    assert uniform["hole_luma_shift"] == pytest.approx(-0.02 * 255, rel=1e-6)
    assert uniform["hole_colour_shift"] == pytest.approx(0.02 * 255 * math.sqrt(3), rel=1e-6)


def test_unavailable_without_a_mask_or_a_hole_and_ideal_zero():
    frames = torch.rand(2, 3, 4, 4)
    with pytest.raises(MetricUnavailable, match="no mask"):
        HoleColourShift().compute(_video(frames, frames, None))
    with pytest.raises(MetricUnavailable, match="no hole pixels"):
        HoleColourShift().compute(_video(frames, frames, torch.ones(2, 1, 4, 4)))
    with pytest.raises(MetricUnavailable, match="reference"):
        HoleColourShift().compute(EvalVideo(name="v", output=frames, source=frames, known=torch.zeros(2, 1, 4, 4)))
    keys = metric_class("hole_colour").keys
    assert keys["hole_luma_shift"].ideal == 0.0 and keys["hole_luma_shift"].direction() == "→0"
    assert not keys["hole_colour_shift"].higher_is_better
