"""Masked mean / median pooling, window indices and alignment onto the reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hypercon.aggregate import masked_mean, masked_median, pool, pool_window
from hypercon.align import align_to_reference, check_window_options, warp_to_reference, window_indices, window_offsets
from hypercon.flow.base import FlowEstimator


def _random_stack(seed: int, s=5, b=2, c=3, h=4, w=5):
    g = torch.Generator().manual_seed(seed)
    samples = torch.rand(s, b, c, h, w, generator=g)
    valid = torch.rand(s, b, 1, h, w, generator=g) > 0.4
    valid[0] = True  # the reference is always valid in HyperCon
    return samples, valid


def _numpy_pool(samples, valid, fn):
    s, b, c, h, w = samples.shape
    out = np.empty((b, c, h, w))
    x, v = samples.numpy().astype(np.float64), valid.numpy()
    for bi in range(b):
        for ci in range(c):
            for yi in range(h):
                for xi in range(w):
                    out[bi, ci, yi, xi] = fn(x[v[:, bi, 0, yi, xi], bi, ci, yi, xi])
    return torch.from_numpy(out).float()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masked_mean_and_median_match_numpy_per_pixel(seed):
    samples, valid = _random_stack(seed)
    counts = valid.sum(0)
    assert (counts % 2 == 0).any() and (counts % 2 == 1).any()  # both parities exercised
    torch.testing.assert_close(masked_mean(samples, valid), _numpy_pool(samples, valid, np.mean))
    torch.testing.assert_close(masked_median(samples, valid), _numpy_pool(samples, valid, np.median))


def test_median_is_robust_to_one_outlier_frame_and_mean_is_not():
    base = torch.rand(1, 3, 6, 7)
    samples = torch.stack([base, base + 0.01, 1.0 - base, base - 0.01, base])  # third frame is an outlier
    valid = torch.ones(5, 1, 1, 6, 7, dtype=torch.bool)
    torch.testing.assert_close(masked_median(samples, valid), base)
    assert (masked_mean(samples, valid) - base).abs().max() > 0.05
    torch.testing.assert_close(pool(samples, valid, "median"), masked_median(samples, valid))
    torch.testing.assert_close(pool(samples, valid, "mean"), samples.mean(0))


@pytest.mark.parametrize("method", ["mean", "median"])
def test_pool_window_equals_pooling_the_stack_with_the_reference(method):
    samples, valid = _random_stack(3)
    got = pool_window(samples[0], samples[1:], valid[1:], method)
    torch.testing.assert_close(got, pool(samples, valid, method))
    assert torch.equal(pool_window(samples[0], samples[:0], valid[:0], method), samples[0])


def test_invalid_samples_are_ignored_and_single_samples_are_exact():
    samples = torch.rand(3, 1, 3, 4, 4)
    valid = torch.zeros(3, 1, 1, 4, 4, dtype=torch.bool)
    valid[0] = True
    samples[1:] = 1e6  # invalid garbage must not leak
    assert torch.equal(masked_mean(samples, valid), samples[0])
    assert torch.equal(masked_median(samples, valid), samples[0])


def test_even_count_median_averages_the_two_middle_values():
    samples = torch.tensor([1.0, 4.0, 2.0, 10.0]).view(4, 1, 1, 1, 1)
    valid = torch.ones(4, 1, 1, 1, 1, dtype=torch.bool)
    assert masked_median(samples, valid).item() == 3.0
    valid[3] = False
    assert masked_median(samples, valid).item() == 2.0


def test_no_valid_sample_gives_nan_and_bad_inputs_raise():
    samples = torch.rand(2, 1, 3, 2, 2)
    valid = torch.zeros(2, 1, 1, 2, 2, dtype=torch.bool)
    assert masked_mean(samples, valid).isnan().all() and masked_median(samples, valid).isnan().all()
    with pytest.raises(ValueError, match="method.pool"):
        pool(samples, valid, "max")
    with pytest.raises(ValueError, match="valid"):
        masked_mean(samples, valid[:, :, :, :1])


def test_window_indices_golden():
    # i=1 (stride 2), c=3, d=1: interpolated length 5
    assert window_indices(3, 1, 3, 1) == [[0, 1], [1, 2, 3], [3, 4]]
    # i=2 (stride 3), c=5, d=2: offsets -4,-2,0,2,4; length 10
    assert window_offsets(5, 2) == [-4, -2, 0, 2, 4]
    assert window_indices(4, 2, 5, 2) == [[0, 2, 4], [1, 3, 5, 7], [2, 4, 6, 8], [5, 7, 9]]
    # i=0, c=1: frame-wise
    assert window_indices(3, 0, 1, 1) == [[0], [1], [2]]


@pytest.mark.parametrize(
    "args, key",
    [((-1, 3, 1), "num_inserted"), ((1, 4, 1), "window"), ((1, 0, 1), "window"), ((1, 3, 0), "dilation"),
     ((1.5, 3, 1), "num_inserted"), ((1, True, 1), "window")],
)
def test_bad_window_options_name_the_key(args, key):
    with pytest.raises(ValueError, match=f"method.{key}"):
        check_window_options(*args)


def test_warp_to_reference_integer_shift_is_slicing_with_validity():
    context = torch.rand(1, 3, 5, 8)
    flow = torch.zeros(1, 2, 5, 8)
    flow[:, 0] = 3.0  # reference pixel x is context pixel x + 3
    aligned, valid = warp_to_reference(context, flow)
    torch.testing.assert_close(aligned[..., :-3], context[..., 3:])
    assert valid[..., :-3].all() and not valid[..., -3:].any()
    assert (aligned[..., -2:] == 0).all()  # zero padding outside


class _ShiftByTwo(FlowEstimator):
    def estimate(self, src, dst):
        flow = torch.zeros(src.shape[0], 2, *src.shape[-2:])
        flow[:, 1] = -2.0
        return flow


def test_align_to_reference_broadcasts_one_reference():
    ref = torch.rand(1, 3, 6, 4)
    context = torch.rand(3, 3, 6, 4)
    aligned, valid = align_to_reference(ref, context, _ShiftByTwo())
    torch.testing.assert_close(aligned[:, :, 2:], context[:, :, :-2])
    assert aligned.shape == (3, 3, 6, 4) and valid[:, :, 2:].all() and not valid[:, :, :2].any()
