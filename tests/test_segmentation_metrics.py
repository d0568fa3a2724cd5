"""J and F (davis2017-evaluation's db_eval_iou / db_eval_boundary) against hand-computed toy masks, and the
``jf`` / ``davis_t`` metrics on tiny videos."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hypercon.tasks import probability_image
from metrics.base import EvalVideo, MetricUnavailable
from metrics.evaluate import evaluate_video
from metrics.segmentation import (
    T_UNAVAILABLE,
    DavisTemporalStability,
    SegmentationJF,
    bound_pixels,
    boundary_f,
    boundary_map,
    jaccard,
)


def square(top: int, left: int, side: int, size: tuple[int, int] = (20, 20)) -> np.ndarray:
    mask = np.zeros(size, bool)
    mask[top : top + side, left : left + side] = True
    return mask


def outline(top: int, left: int, bottom: int, right: int, size: tuple[int, int] = (20, 20)) -> set[tuple[int, int]]:
    """Pixels on the outline of the box rows top..bottom, cols left..right (inclusive)."""
    return {(r, c) for r in range(top, bottom + 1) for c in range(left, right + 1)
            if r in (top, bottom) or c in (left, right)}


GT, PRED = square(4, 4, 8), square(6, 6, 8)  # rows/cols 4..11 and 6..13


def test_jaccard_of_two_overlapping_squares():
    # 8×8 each, overlap rows/cols 6..11 = 6×6: J = 36 / (64 + 64 − 36)
    assert float(jaccard(GT, PRED)) == pytest.approx(36 / 92)
    assert float(jaccard(PRED, GT)) == pytest.approx(36 / 92)


def test_boundary_is_the_outline_shifted_half_a_pixel_towards_the_origin():
    # _seg2bmap marks a pixel that differs from its E, S or SE neighbour: for the square rows/cols 4..11 that is
    # the outline of the box 3..11 (outside pixels above / left of it, inside pixels on its bottom / right side)
    got = {tuple(p) for p in np.argwhere(boundary_map(GT))}
    assert got == outline(3, 3, 11, 11) and len(got) == 4 * 9 - 4


def test_boundary_f_of_two_overlapping_squares_by_hand():
    # 20×20: tolerance ceil(0.008·√800) = 1 px, a disk of radius 1 = the pixel and its 4 neighbours.
    assert bound_pixels(0.008, 20, 20) == 1
    gt_edge, pred_edge = outline(3, 3, 11, 11), outline(5, 5, 13, 13)

    def near(p, edge):
        return any(abs(p[0] - q[0]) + abs(p[1] - q[1]) <= 1 for q in edge)

    precision = sum(near(p, gt_edge) for p in pred_edge) / len(pred_edge)
    recall = sum(near(p, pred_edge) for p in gt_edge) / len(gt_edge)
    # by hand: pred's top row meets GT's right column at (5,10..12), its left column meets GT's bottom row at
    # (10..12,5): 6 of 32 pixels; by symmetry recall is 6/32 too, and F = 6/32
    assert precision == recall == 6 / 32
    assert float(boundary_f(GT, PRED)) == pytest.approx(2 * precision * recall / (precision + recall))
    assert float(boundary_f(GT, PRED)) == pytest.approx(6 / 32)


def test_bound_th_is_a_fraction_of_the_diagonal_rounded_up_or_pixels_from_one():
    assert bound_pixels(0.008, 480, 854) == 8  # ceil(0.008 · 979.6) = ceil(7.84), DAVIS 480p
    assert bound_pixels(0.008, 1080, 1920) == 18  # ceil(17.6)
    assert bound_pixels(3, 480, 854) == bound_pixels(3.0, 10, 10) == 3  # ≥ 1: pixels
    # vertical edges 3 px apart (columns 9 and 12) on 20×40, diagonal 44.7: 0.05 → 3 px matches, 0.04 → 2 px not
    gt, pred = np.zeros((20, 40), bool), np.zeros((20, 40), bool)
    gt[:, :10], pred[:, :13] = True, True
    assert float(boundary_f(gt, pred, bound_th=0.05)) == 1.0
    assert float(boundary_f(gt, pred, bound_th=0.04)) == 0.0
    assert float(boundary_f(gt, pred, bound_th=3)) == 1.0 and float(boundary_f(gt, pred, bound_th=2)) == 0.0


def test_empty_masks():
    empty = np.zeros((20, 20), bool)
    assert float(jaccard(empty, empty)) == 1.0 and float(boundary_f(empty, empty)) == 1.0  # P = R = 1
    assert float(jaccard(GT, empty)) == 0.0 and float(jaccard(empty, GT)) == 0.0
    assert float(boundary_f(GT, empty)) == 0.0  # no predicted boundary: P = 1, R = 0
    assert float(boundary_f(empty, GT)) == 0.0  # no true boundary: P = 0, R = 1
    full = np.ones((20, 20), bool)  # the frame border is no boundary: a full mask has none
    assert not boundary_map(full).any() and float(boundary_f(full, full)) == 1.0


def test_perfect_prediction_and_void_pixels():
    assert float(jaccard(GT, GT)) == 1.0 and float(boundary_f(GT, GT)) == 1.0
    void = ~GT & ~PRED  # void everything outside both squares: nothing changes
    assert float(jaccard(GT, PRED, void)) == pytest.approx(36 / 92)
    void = PRED & ~GT  # the false positives are void: J = 36 / (64 + 0)
    assert float(jaccard(GT, PRED, void)) == pytest.approx(36 / 64)
    frames = np.stack([GT, PRED, np.zeros_like(GT)])
    np.testing.assert_allclose(boundary_f(frames, frames), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(jaccard(frames, np.stack([PRED, PRED, GT])), [36 / 92, 1.0, 0.0])
    with pytest.raises(ValueError, match="one shape"):
        jaccard(GT, PRED[:10])


def probabilities(masks: np.ndarray, inside: float = 0.8, outside: float = 0.3) -> torch.Tensor:
    prob = torch.where(torch.from_numpy(masks)[:, None], inside, outside).float()
    return probability_image(prob)


def test_jf_metric_on_a_tiny_video():
    gt_masks = np.stack([GT, GT, GT, GT])
    pred_masks = np.stack([GT, PRED, GT, PRED])
    video = EvalVideo("toy", output=probabilities(pred_masks), source=torch.rand(4, 3, 20, 20),
                      gt=torch.from_numpy(gt_masks)[:, None].float())
    metric = SegmentationJF()
    got = metric.compute(video)
    assert got["j_mean"] == pytest.approx((1 + 36 / 92) / 2) and got["f_mean"] == pytest.approx((1 + 6 / 32) / 2)
    inner = SegmentationJF(exclude_first_last=True).compute(video)  # frames 1 and 2 only
    assert inner["j_mean"] == pytest.approx((36 / 92 + 1) / 2)
    perfect = EvalVideo("toy", output=probabilities(gt_masks), source=video.source, gt=video.gt)
    assert metric.compute(perfect) == {"j_mean": 1.0, "f_mean": 1.0}
    specs = metric.key_specs()
    assert specs["j_mean"].label == "J (IoU)" and specs["f_mean"].label == "F (boundary)"
    assert specs["j_mean"].higher_is_better and specs["f_mean"].higher_is_better


def test_jf_is_unavailable_without_a_binary_foreground():
    frames = torch.rand(3, 3, 8, 8)
    with pytest.raises(MetricUnavailable, match=r"jf: v needs a binary foreground \[T,1,H,W\].*got none"):
        SegmentationJF().compute(EvalVideo("v", output=frames, source=frames))
    with pytest.raises(MetricUnavailable, match=r"got a \(3, 3, 8, 8\) tensor"):
        SegmentationJF().compute(EvalVideo("v", output=frames, source=frames, gt=frames))
    with pytest.raises(ValueError, match="threshold"):
        SegmentationJF(threshold=1.5)


def test_a_run_with_jf_and_davis_t_reports_t_unavailable():
    from experiments.tables import metric_cell

    gt = torch.from_numpy(np.stack([GT, GT]))[:, None].float()
    video = EvalVideo("toy", output=probabilities(np.stack([GT, PRED])), source=torch.rand(2, 3, 20, 20), gt=gt)
    out = evaluate_video(video, {"jf": SegmentationJF(), "davis_t": DavisTemporalStability()})
    assert set(out["metrics"]) == {"j_mean", "f_mean"}
    assert out["unavailable"] == {"davis_t": T_UNAVAILABLE}
    assert "never approximated" in T_UNAVAILABLE and "shape-context" in T_UNAVAILABLE
    spec = DavisTemporalStability().key_specs()["davis_t"]
    cell = metric_cell(pd.Series({"unavailable": out["unavailable"]}), "davis_t", spec)
    assert spec.label == "T" and cell.status == "unavailable" and cell.text == "unavailable"
