"""Video segmentation: region similarity J and boundary accuracy F as davis2017-evaluation computes them, and
Wei et al.'s temporal stability T, which is not implemented (reported "unavailable", never approximated).

Reimplemented from ``davis2017/metrics.py`` of davisvideochallenge/davis2017-evaluation (read at commit
``ac7c43fca936f9722837b7fbd337d284ba37004b``): ``db_eval_iou`` → :func:`jaccard`, ``_seg2bmap`` →
:func:`boundary_map`, ``f_measure`` / ``db_eval_boundary`` → :func:`boundary_f`. Masks are boolean NumPy
arrays ``[H,W]`` or ``[T,H,W]``; ``void`` pixels (optional) are left out of both.

* **J** = |P ∧ G| / |P ∨ G| over non-void pixels; 1 when the union is empty (both masks empty).
* **F**: 1-pixel boundary maps of P and G (:func:`boundary_map`), each dilated by a disk of radius
  ``d = ceil(bound_th · √(H² + W²))`` pixels (``bound_th`` ≥ 1 is taken as pixels, as upstream);
  precision = |∂P ∧ dil(∂G)| / |∂P|, recall = |∂G ∧ dil(∂P)| / |∂G|, F = 2PR / (P + R) (0 when P + R = 0).
  Edge cases as upstream: no predicted boundary and a true one → P = 1, R = 0 (F = 0); a predicted boundary
  and no true one → P = 0, R = 1 (F = 0); neither → P = R = 1 (F = 1).
* Per video, J and F are the **means over frames** (upstream's ``db_statistics`` "M", a NaN-ignoring mean);
  the harness then averages videos. The semi-supervised protocol of davis2017-evaluation drops the first
  and the last frame (the first is given to the method); the unsupervised one keeps all frames. Our
  ``vseg`` task gives the method no annotation, so every frame counts by default
  (``exclude_first_last=false``); ``metrics.options={jf: {exclude_first_last: true}}`` follows the
  semi-supervised protocol.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from skimage.morphology import disk

from metrics.base import EvalVideo, MetricKey, MetricUnavailable, VideoMetric

BOUND_TH = 0.008  # davis2017-evaluation's default: boundary tolerance as a fraction of the image diagonal
THRESHOLD = 0.5  # a pixel is foreground when its probability exceeds this


def _check_pair(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None, what: str) -> np.ndarray:
    if gt.shape != pred.shape or (void is not None and void.shape != gt.shape):
        raise ValueError(f"{what}: annotation {gt.shape}, segmentation {pred.shape} and void "
                         f"{None if void is None else void.shape} must have one shape")
    return np.zeros(gt.shape, bool) if void is None else void.astype(bool)


def jaccard(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None) -> np.ndarray:
    """Region similarity J of ``[...,H,W]`` masks (truthy = foreground): ``|P ∧ G| / |P ∨ G|`` over non-void
    pixels, 1 where the union is empty. Returns ``[...]`` float64 (a 0-d array for one frame).

    >>> float(jaccard(np.eye(2), np.ones((2, 2)))), float(jaccard(np.zeros((2, 2)), np.zeros((2, 2))))
    (0.5, 1.0)
    """
    keep = ~_check_pair(gt, pred, void, "jaccard")
    gt, pred = gt.astype(bool), pred.astype(bool)
    inter = (gt & pred & keep).sum(axis=(-2, -1)).astype(np.float64)
    union = (gt | pred) & keep
    union = union.sum(axis=(-2, -1)).astype(np.float64)
    return np.where(union > 0, inter / np.maximum(union, 1.0), 1.0)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """The 1-pixel boundary ``[H,W]`` bool of a mask ``[H,W]``, as upstream's ``_seg2bmap`` (Martin 2003):
    a pixel is on the boundary when it differs from its east, south or south-east neighbour; in the last row
    only the east neighbour counts, in the last column only the south one, and the bottom-right pixel never is.
    The frame's outer border is therefore no boundary: a mask touching it has no edge there."""
    seg = mask.astype(bool)
    east, south, south_east = (np.zeros_like(seg) for _ in range(3))
    east[:, :-1], south[:-1, :], south_east[:-1, :-1] = seg[:, 1:], seg[1:, :], seg[1:, 1:]
    edge = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    edge[-1, :] = seg[-1, :] ^ east[-1, :]
    edge[:, -1] = seg[:, -1] ^ south[:, -1]
    edge[-1, -1] = False
    return edge


def bound_pixels(bound_th: float, height: int, width: int) -> int:
    """The boundary tolerance in pixels: ``bound_th`` itself when ≥ 1, else ``ceil(bound_th · √(H² + W²))``.

    >>> bound_pixels(0.008, 480, 854), bound_pixels(3, 480, 854)
    (8, 3)
    """
    return int(bound_th) if bound_th >= 1 else int(math.ceil(bound_th * math.hypot(height, width)))


def boundary_precision_recall(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None,
                              bound_th: float = BOUND_TH) -> tuple[float, float]:
    """Boundary precision and recall of one frame ``[H,W]`` (module doc; upstream's edge cases)."""
    keep = ~_check_pair(gt, pred, void, "boundary_f")
    pred_edge = boundary_map(pred.astype(bool) & keep)
    gt_edge = boundary_map(gt.astype(bool) & keep)
    footprint = disk(bound_pixels(bound_th, *gt.shape[-2:])).astype(np.uint8)  # offsets with dx² + dy² ≤ d²
    pred_near = cv2.dilate(pred_edge.astype(np.uint8), footprint).astype(bool)
    gt_near = cv2.dilate(gt_edge.astype(np.uint8), footprint).astype(bool)
    n_pred, n_gt = int(pred_edge.sum()), int(gt_edge.sum())
    if n_pred == 0 or n_gt == 0:
        return (1.0 if n_pred == 0 else 0.0), (1.0 if n_gt == 0 else 0.0)
    return float((pred_edge & gt_near).sum()) / n_pred, float((gt_edge & pred_near).sum()) / n_gt


def boundary_f(gt: np.ndarray, pred: np.ndarray, void: np.ndarray | None = None,
               bound_th: float = BOUND_TH) -> np.ndarray:
    """Boundary F-measure of ``[H,W]`` or ``[T,H,W]`` masks: ``2PR / (P + R)``, 0 when ``P + R = 0``.
    Returns ``[]`` or ``[T]`` float64."""
    if gt.ndim not in (2, 3):
        raise ValueError(f"boundary_f: masks must be [H,W] or [T,H,W], got {gt.shape}")
    frames = [(gt, pred, void)] if gt.ndim == 2 else [
        (gt[t], pred[t], None if void is None else void[t]) for t in range(gt.shape[0])]
    out = []
    for g, p, v in frames:
        precision, recall = boundary_precision_recall(g, p, v, bound_th)
        out.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    return np.asarray(out[0] if gt.ndim == 2 else out, dtype=np.float64)


class SegmentationJF(VideoMetric):
    """``jf``: J (IoU) and F (boundary F-measure) of ``foreground_probability(output) > threshold`` against
    the binary foreground ``video.gt`` ``[T,1,H,W]`` (task ``vseg``), each the mean over frames (module doc).
    Keys ``j_mean``, ``f_mean``."""

    name = "jf"
    keys = {"j_mean": MetricKey("J (IoU)", ".4f", True, "gt"),
            "f_mean": MetricKey("F (boundary)", ".4f", True, "gt")}

    def __init__(self, threshold: float = THRESHOLD, bound_th: float = BOUND_TH,
                 exclude_first_last: bool = False) -> None:
        if not 0 <= threshold < 1 or bound_th <= 0:
            raise ValueError(f"jf: need 0 ≤ threshold < 1 and bound_th > 0, got {threshold}, {bound_th}")
        self.threshold, self.bound_th, self.exclude_first_last = float(threshold), float(bound_th), bool(exclude_first_last)

    def options(self) -> dict[str, object]:
        return {"threshold": self.threshold, "bound_th": self.bound_th, "exclude_first_last": self.exclude_first_last}

    def masks(self, video: EvalVideo) -> tuple[np.ndarray, np.ndarray]:
        """``(annotation, segmentation)`` ``[T,H,W]`` bool of the frames evaluated.

        Raises:
            MetricUnavailable: no ground truth, not a ``[T,1,H,W]`` foreground of the output's size, or no
            frame left once the first and last are excluded.
        """
        from hypercon.tasks import foreground_probability

        gt, output = video.gt, video.evaluated_output()
        if gt is None or gt.ndim != 4 or gt.shape[1] != 1:
            got = "none" if gt is None else f"a {tuple(gt.shape)} tensor"
            raise MetricUnavailable(f"jf: {video.name} needs a binary foreground [T,1,H,W] as ground truth "
                                    f"(task=vseg), got {got}")
        if gt.shape[0] != output.shape[0] or gt.shape[-2:] != output.shape[-2:]:
            raise MetricUnavailable(f"jf: {video.name}: foreground {tuple(gt.shape)} and output "
                                    f"{tuple(output.shape)} differ in length or size")
        annotation = (gt[:, 0] > 0.5).cpu().numpy()
        segmentation = (foreground_probability(output)[:, 0] > self.threshold).cpu().numpy()
        if self.exclude_first_last:
            if annotation.shape[0] < 3:
                raise MetricUnavailable(f"jf: {video.name} has {annotation.shape[0]} frame(s); "
                                        "exclude_first_last needs at least 3")
            annotation, segmentation = annotation[1:-1], segmentation[1:-1]
        return annotation, segmentation

    def compute(self, video: EvalVideo) -> dict[str, float]:
        annotation, segmentation = self.masks(video)
        return {"j_mean": float(np.nanmean(jaccard(annotation, segmentation))),
                "f_mean": float(np.nanmean(boundary_f(annotation, segmentation, bound_th=self.bound_th)))}


T_UNAVAILABLE = ("Wei et al.'s T (DAVIS 2016 temporal stability, shape-context matching) is not implemented "
                 "here; reported unavailable, never approximated")


class DavisTemporalStability(VideoMetric):
    """``davis_t``: declares Wei et al.'s T column (key ``davis_t``, lower is better) and reports it unavailable
    on every video (:data:`T_UNAVAILABLE`), so a ``vseg`` run completes and its tables say "T: unavailable"."""

    name = "davis_t"
    keys = {"davis_t": MetricKey("T", ".4f", False, "nothing")}

    def compute(self, video: EvalVideo) -> dict[str, float]:
        raise MetricUnavailable(T_UNAVAILABLE)
