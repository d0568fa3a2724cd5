"""VINet's test-time input preparation (baselines/vinet/sampling.py) against upstream's formulas
(demo_vi.py / davis.py of mcahny/Deep-Video-Inpainting, written out here independently)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import signal

from baselines.vinet.sampling import (dilate_holes, network_inputs, network_output, neighbour_steps, reflect,
                                      step_order)


def upstream_indices(t: int, num: int, ts: int = 3) -> list[int]:
    """demo_vi.py's three branches, verbatim in meaning; Python's negative indices resolved."""
    if t < 2 * ts:
        idx = [abs(t - 2 * ts), abs(t - ts), t, t + ts, t + 2 * ts]
    elif t > num - 2 * ts - 1:
        idx = [t - 2 * ts, t - ts, t, -1 - abs(num - 1 - t - ts), -1 - abs(num - 1 - t - 2 * ts)]
    else:
        idx = [t - 2 * ts, t - ts, t, t + ts, t + 2 * ts]
    for i in idx:
        if not -num <= i < num:
            raise IndexError(i)
    return [i % num for i in idx]


@pytest.mark.parametrize("num_frames", [4, 8, 40])
def test_neighbours_equal_upstream_wherever_upstream_is_defined(num_frames):
    steps = len(step_order(num_frames))
    checked = 0
    for t in range(steps):
        got = neighbour_steps(t, steps)
        assert all(0 <= i < steps for i in got) and got[2] == t
        try:
            expected = upstream_indices(t, steps)
        except IndexError:  # too short for one reflection: we reflect again
            continue
        assert got == expected, t
        checked += 1
    assert checked == steps if steps >= 12 else checked > 0  # 12 steps suffice for upstream's formula
    for t in (0, 1, steps - 2, steps - 1):  # the ends, as the issue lists them
        assert neighbour_steps(t, steps) == upstream_indices(t, steps)


def test_reflect_mirrors_without_repeating_the_edge():
    assert [reflect(i, 5) for i in range(-6, 11)] == [2, 3, 4, 3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 2]
    assert reflect(7, 1) == 0 and reflect(-3, 2) == 1


@pytest.mark.parametrize("num_frames,warmup", [(4, 4), (8, 8), (40, 30)])
def test_warm_up_then_every_frame_so_output_length_equals_input_length(num_frames, warmup):
    order = step_order(num_frames)
    assert order[:warmup] == list(range(warmup - 1, -1, -1))  # upstream: frames[pre-1], ..., frames[0]
    assert order[warmup:] == list(range(num_frames))  # real frame j at step warmup + j, frame 0 included
    with pytest.raises(ValueError):
        step_order(0)


def test_dilation_equals_scipy_convolve2d_same_with_a_10x6_kernel():
    rng = np.random.default_rng(0)
    hole = rng.random((3, 23, 17)) > 0.97
    expected = np.stack([signal.convolve2d(h.astype(float), np.ones((10, 6)), "same") != 0 for h in hole])
    got = dilate_holes(torch.from_numpy(hole)[:, None])[:, 0].numpy()
    assert np.array_equal(got, expected)
    single = torch.zeros(1, 1, 20, 20, dtype=torch.bool)
    single[0, 0, 10, 10] = True
    rows, cols = torch.nonzero(dilate_holes(single)[0, 0], as_tuple=True)
    assert (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())) == (6, 15, 8, 13)


def test_network_inputs_are_bgr_in_minus_one_one_with_zeroed_dilated_holes():
    frames = torch.zeros(2, 3, 24, 40)
    frames[:, 0] = 1.0  # pure red
    known = torch.ones(2, 1, 24, 40)
    known[:, :, 10:14, 18:22] = 0
    masked, hole = network_inputs(frames, known, size=64)
    assert masked.shape == (2, 3, 64, 64) and hole.shape == (2, 1, 64, 64)
    keep = hole[:, 0] == 0
    assert bool((masked[:, 2][keep] == 1).all()) and bool((masked[:, 0][keep] == -1).all())  # BGR: red last
    assert bool((masked * hole == 0).all()) and 0.02 < float(hole.mean()) < 0.2
    undilated = network_inputs(frames, known, size=64, dilate=False)[1]
    assert float(undilated.sum()) < float(hole.sum()) and bool((hole >= undilated).all())
    back = network_output(masked[:1], (24, 40))
    assert back.shape == (1, 3, 24, 40) and float(back[0, 0, 0, 0]) == pytest.approx(1.0)
