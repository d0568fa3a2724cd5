"""Warping error E_warp: how much frame t+1 of the output, warped onto frame t with the SOURCE video's
flow, differs from frame t of the output, away from occlusions.

Default numerics reproduce Szeto's evaluation code (VIE, ``warp_error_computer.py``):

* ``warped_t = warp(output[t+1], flow_fw[t])`` — bilinear, sample positions clamped to the border
  (FlowNet2 ``Resample2d``; :func:`hypercon.warp.backward_warp` with ``padding="border"``, in the
  ``grid_rounding="reciprocal"`` the recorded values were computed with: :data:`GRID_ROUNDING`);
* per pair: squared error averaged over the non-occluded pixel·channel entries (``averaging="vie"``;
  NaN when every pixel is occluded); per video: ``nanmean`` over pairs (such pairs dropped).

``normalise="all"`` is the normalisation of Singh (2020, Table 4.1; the CycleGAN + temporal loss thesis):
``E(V) = 1/(T−1) Σ_t (1/D) Σ_i O_t^i ‖V_t^i − W(V_{t−1})^i‖²`` divides each pair's masked sum by ALL
``D = H·W·3`` entries, not by the unoccluded count, so it is smaller than the default by the share of
occluded entries; key suffix ``_all`` (and no NaN: a fully occluded pair counts 0).

``averaging="lai"`` is Lai et al.'s original ``evaluate_WarpError.py``: per pair ``Σ/N`` with N the
non-occluded entry count (N = H·W·3 when none, so the pair counts as 0), per video the mean over the
T−1 pairs. ``form="l2"`` is the paper's eq. (10): squared L2 norm over the three channels per pixel,
i.e. 3× the ``"mean"`` form; its result key gets the suffix ``_l2`` (and ``averaging="lai"`` the
suffix ``_lai``) so values on different scales never share a column. Values are on [0,1] images.

The masked variant (VIE ``warp_error_mask``) keeps only entries where a flow vector starts or ends in
a hole: ``(1 − known_t) + Resample2d(1 − known_{t+1}, flow_fw[t]) > 0`` (:func:`touches_hole`, exact).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from hypercon.checks import check_flow, check_frames, check_known
from hypercon.warp import backward_warp
from metrics.base import EvalVideo, MetricKey, MetricUnavailable, VideoMetric
from metrics.occlusion import DEFAULT_OCCLUSION_RULE

AVERAGING = ("vie", "lai")
FORMS = ("mean", "l2")
NORMALISE = ("visible", "all")
CHUNK = 8  # pairs per batch (bounds memory at 832×480)
GRID_ROUNDING = "reciprocal"  # backward_warp's float rounding of sample positions for E_warp


def touches_hole(hole: Tensor, flow: Tensor) -> Tensor:
    """``Resample2d(hole, flow) > 0`` computed exactly: True where a bilinear corner with non-zero weight
    lies in the hole. ``hole`` ``[B,1,H,W]`` bool; ``flow`` ``[B,2,H,W]`` pixels. Returns ``[B,1,H,W]`` bool.

    With ``x + f(x) = x0 + αx`` (``x0`` integer, ``0 ≤ αx < 1``), the weights are ``(1−αx)(1−αy) > 0``,
    ``αx(1−αy)``, ``(1−αx)αy``, ``αx·αy``; corner indices are clamped to the frame as in ``Resample2d``.
    (``grid_sample`` leaks weights of ~1e-5 onto the neighbours of integer positions, so thresholding
    its output at 0 would not reproduce the test.) Only pixels whose sample lands within one pixel of a
    hole (found with one ``grid_sample`` of the 3×3-dilated hole) are tested exactly.
    """
    b, _, h, w = hole.shape
    near = hole.clone()  # 3×3 dilation
    near[..., 1:, :] |= hole[..., :-1, :]
    near[..., :-1, :] |= hole[..., 1:, :]
    rows = near.clone()
    near[..., 1:] |= rows[..., :-1]
    near[..., :-1] |= rows[..., 1:]
    near_warped, _ = backward_warp(near.to(flow.dtype), flow, padding="border", grid_rounding=GRID_ROUNDING)
    bi, _, yi, xi = torch.nonzero(near_warped > 0.5, as_tuple=True)
    out = torch.zeros_like(hole)
    if bi.numel() == 0:
        return out
    px = xi.to(flow.dtype) + flow[bi, 0, yi, xi]
    py = yi.to(flow.dtype) + flow[bi, 1, yi, xi]
    x0, y0 = torch.floor(px), torch.floor(py)
    frac_x, frac_y = px > x0, py > y0
    x0i, y0i = x0.long(), y0.long()
    xl, xr = x0i.clamp(0, w - 1), (x0i + 1).clamp_(0, w - 1)
    yt, yb = y0i.clamp(0, h - 1), (y0i + 1).clamp_(0, h - 1)
    plane = hole[:, 0]
    out[bi, 0, yi, xi] = (plane[bi, yt, xl] | (frac_x & plane[bi, yt, xr]) | (frac_y & plane[bi, yb, xl])
                          | (frac_x & frac_y & plane[bi, yb, xr]))
    return out


def hole_flow_region(known: Tensor, flow_fw: Tensor) -> Tensor:
    """Flow vectors that start or end in a hole: ``(1−known_t) + Resample2d(1−known_{t+1}) > 0``.

    ``known`` ``[T,1,H,W]`` (1 = known); ``flow_fw`` ``[T-1,2,H,W]``. Returns ``[T-1,1,H,W]`` bool.
    """
    hole = known < 0.5
    region = torch.empty(flow_fw.shape[0], 1, *flow_fw.shape[-2:], dtype=torch.bool, device=flow_fw.device)
    for i in range(0, flow_fw.shape[0], CHUNK):
        j = min(i + CHUNK, flow_fw.shape[0])
        ends = touches_hole(hole[i + 1 : j + 1].to(flow_fw.device), flow_fw[i:j].float())
        region[i:j] = hole[i:j].to(flow_fw.device) | ends
    return region


def _check_pairs(output: Tensor, flow_fw: Tensor, occluded: Tensor) -> None:
    check_frames(output, "output")
    check_flow(flow_fw, "flow_fw")
    t, _, h, w = output.shape
    if flow_fw.shape != (t - 1, 2, h, w) or occluded.shape != (t - 1, 1, h, w):
        raise ValueError(f"warping_error: output {tuple(output.shape)} needs flow_fw [T-1,2,H,W] and occluded "
                         f"[T-1,1,H,W], got {tuple(flow_fw.shape)} and {tuple(occluded.shape)}")


def squared_error_maps(output: Tensor, flow_fw: Tensor, occluded: Tensor, region: Tensor | None = None):
    """The per-entry terms E_warp averages, chunk by chunk: yields ``(i, j, sq_err, keep)`` for pairs
    ``i..j-1`` with ``sq_err`` ``[j-i,3,H,W]`` float32 = ``(output_t − W(output_{t+1}))² · keep_t`` and
    ``keep`` ``[j-i,1,H,W]`` bool (not occluded, and inside ``region`` when given). ``W`` warps frame t+1
    onto t with ``flow_fw[t]`` (bilinear, border clamp, :data:`GRID_ROUNDING`).

    :func:`warping_error` is the masked mean of exactly these terms; ``save_error_maps=true`` saves them
    (mean over channels) so a map's mean over kept pixels IS that pair's E_warp.
    """
    _check_pairs(output, flow_fw, occluded)
    device = flow_fw.device
    for i in range(0, output.shape[0] - 1, CHUNK):
        j = min(i + CHUNK, output.shape[0] - 1)
        flow = flow_fw[i:j].to(device=device, dtype=torch.float32)
        warped, _ = backward_warp(output[i + 1 : j + 1].to(device, flow.dtype), flow, padding="border",
                                  grid_rounding=GRID_ROUNDING)
        diff = warped.sub_(output[i:j].to(device))
        keep = ~occluded[i:j].to(device)
        if region is not None:
            keep &= region[i:j].to(device)
        yield i, j, diff.square_().mul_(keep), keep


def warping_error(output: Tensor, flow_fw: Tensor, occluded: Tensor, averaging: str = "vie",
                  form: str = "mean", region: Tensor | None = None, normalise: str = "visible",
                  maps: list | None = None) -> Tensor:
    """Per-pair warping error ``[T-1]`` (float64).

    Args:
        output: ``[T,3,H,W]`` frames in [0,1] (the method's output, composited for inpainting).
        flow_fw: ``[T-1,2,H,W]`` flow t → t+1 of the SOURCE video, on t's grid (pixels).
        occluded: ``[T-1,1,H,W]`` bool, True = excluded (see :func:`metrics.occlusion.occlusion_mask`).
        averaging: ``"vie"`` (mean over kept entries, NaN if none) or ``"lai"`` (Σ/N, 0 if none).
        form: ``"mean"`` (per entry) or ``"l2"`` (per pixel, squared L2 over channels = 3× mean).
        region: optional ``[T-1,1,H,W]`` bool; entries outside it are excluded too (masked variant).
        normalise: ``"visible"`` (divide by the kept entries, as ``averaging`` says) or ``"all"`` (divide every
            pair's sum by H·W·3, the thesis' E(V); ``averaging`` then does not matter).
        maps: a list to append ``(error [B,H,W] float32, keep [B,H,W] bool)`` to, chunk by chunk: the squared
            error of :func:`squared_error_maps` averaged over channels (× 3 for ``form="l2"``), zero where
            not kept; the pair's value is its mean over kept pixels (``"vie"``). None: nothing kept.
    """
    if averaging not in AVERAGING or form not in FORMS or normalise not in NORMALISE:
        raise ValueError(f"warping_error: averaging must be in {AVERAGING}, form in {FORMS} and normalise in "
                         f"{NORMALISE}, got {averaging!r}, {form!r}, {normalise!r}")
    _check_pairs(output, flow_fw, occluded)
    t, c, h, w = output.shape
    sums = torch.zeros(t - 1, dtype=torch.float64)
    counts = torch.zeros(t - 1, dtype=torch.float64)
    scale = float(c) if form == "l2" else 1.0
    for i, j, sq_err, keep in squared_error_maps(output, flow_fw, occluded, region):
        sums[i:j] = sq_err.sum(dim=(1, 2, 3)).double().cpu()  # float32 sums (pairwise), like numpy's nanmean
        counts[i:j] = keep.sum(dim=(1, 2, 3)).double().cpu() * c  # on float32 in VIE
        if maps is not None:
            maps.append(((sq_err.mean(dim=1) * scale).cpu(), keep[:, 0].cpu()))
    if normalise == "all":
        return sums / (h * w * c) * scale
    if averaging == "vie":
        return sums / counts * scale  # 0/0 → NaN: no valid entry
    return sums / torch.where(counts > 0, counts, torch.full_like(counts, h * w * c)) * scale


def reduce_pairs(per_pair: Tensor, averaging: str = "vie") -> float:
    """Per-video value: ``nanmean`` over pairs (``"vie"``, NaN if every pair is NaN) or mean (``"lai"``)."""
    values = per_pair.double()
    if averaging == "vie":
        return float(torch.nanmean(values)) if values.numel() else math.nan
    return float(values.mean()) if values.numel() else math.nan


class WarpingError(VideoMetric):
    """E_warp of ``video.output`` under the source video's flow and occlusion (``video.source_motion()``).

    Keys: ``ewarp`` (+ ``_all`` / ``_lai`` / ``_l2`` for the non-default normalise / averaging / form). Lower
    is better. ``normalise="all"`` is the thesis' E(V) (module doc); ``metrics.names=[ewarp_all]`` computes it
    beside the default ``ewarp``.
    ``occlusion_rule`` must match the rule the source motion was computed with (None accepts it).
    """

    name = "ewarp"
    base_key = "ewarp"
    keys = {f"ewarp{n}{a}{f}": MetricKey(f"E_warp{n}{a}{f}", ".6f", False, "source")
            for n in ("", "_all") for a in ("", "_lai") for f in ("", "_l2")}
    default_normalise = "visible"

    def __init__(self, occlusion_rule: str | None = DEFAULT_OCCLUSION_RULE, averaging: str = "vie", form: str = "mean",
                 normalise: str | None = None, device: str = "cpu") -> None:
        normalise = normalise or self.default_normalise
        if averaging not in AVERAGING:
            raise ValueError(f"{self.name}: averaging must be one of {AVERAGING}, got {averaging!r}")
        if form not in FORMS:
            raise ValueError(f"{self.name}: form must be one of {FORMS}, got {form!r}")
        if normalise not in NORMALISE:
            raise ValueError(f"{self.name}: normalise must be one of {NORMALISE}, got {normalise!r}")
        self.occlusion_rule, self.averaging, self.form, self.device = occlusion_rule, averaging, form, device
        self.normalise = normalise
        self.key = (self.base_key + ("_all" if normalise == "all" else "") + ("_lai" if averaging == "lai" else "")
                    + ("_l2" if form == "l2" else ""))

    def result_keys(self) -> list[str]:
        return [self.key]

    def options(self) -> dict[str, Any]:
        return {"occlusion_rule": self.occlusion_rule, "averaging": self.averaging, "form": self.form,
                "normalise": self.normalise}

    def _motion(self, video: EvalVideo):
        if video.source_motion is None:
            raise MetricUnavailable(f"{self.name}: no source motion (flow of the source video) for {video.name}")
        motion = video.source_motion()
        if self.occlusion_rule is not None and motion.rule != self.occlusion_rule:
            raise ValueError(f"{self.name}: occlusion_rule={self.occlusion_rule!r} but the source motion of "
                             f"{video.name} was computed with rule {motion.rule!r} (set metrics.occlusion_rule "
                             f"and the metric's occlusion_rule alike, or occlusion_rule=null)")
        return motion

    def _region(self, video: EvalVideo, flow_fw: Tensor) -> Tensor | None:
        return None

    def compute(self, video: EvalVideo) -> dict[str, float]:
        motion = self._motion(video)
        output = video.evaluated_output()
        if output.shape[0] < 2:
            raise MetricUnavailable(f"{self.name}: {video.name} has fewer than 2 frames")
        flow_fw = motion.flow_fw.to(self.device)
        region = self._region(video, flow_fw)
        maps: list | None = [] if video.keep_maps else None
        per_pair = warping_error(output, flow_fw, motion.occluded, self.averaging, self.form, region, self.normalise,
                                 maps=maps)
        value = reduce_pairs(per_pair, self.averaging)
        video.per_frame[self.key] = per_pair.tolist()  # pair t = frames (t, t+1); the value reduces these
        if maps is not None:
            video.maps[self.key] = {"error": torch.cat([m for m, _ in maps]), "keep": torch.cat([k for _, k in maps]),
                                    "per_pair": per_pair}
        if math.isnan(value):  # every entry excluded: a number would be 0/0
            what = "hole pixels outside occlusions" if region is not None else "unoccluded pixels"
            raise MetricUnavailable(f"no {what} ({self.name}: every flow vector of {video.name} is excluded, "
                                    f"so there is nothing to average)")
        return {self.key: value}


class ThesisWarpingError(WarpingError):
    """The thesis' E(V) (``normalise="all"``, module doc) as its own metric name, ``ewarp_all``, so that it can
    run beside ``ewarp``. Key ``ewarp_all`` (+ suffixes)."""

    name = "ewarp_all"
    keys = {k: spec for k, spec in WarpingError.keys.items() if k.startswith("ewarp_all")}
    default_normalise = "all"


class MaskedWarpingError(WarpingError):
    """E_warp restricted to flow vectors that start or end in a hole (VIE ``warp_error_mask``).

    Key ``ewarp_masked`` (+ suffixes as :class:`WarpingError`). Needs ``video.known``.
    """

    name = "ewarp_masked"
    base_key = "ewarp_masked"
    keys = {f"ewarp_masked{a}{f}": MetricKey(f"E_warp holes{a}{f}", ".6f", False, "source")
            for a in ("", "_lai") for f in ("", "_l2")}

    def _region(self, video: EvalVideo, flow_fw: Tensor) -> Tensor:
        if video.known is None:
            raise MetricUnavailable(f"{self.name}: {video.name} has no mask (known), nothing to restrict to")
        check_known(video.known, video.output)
        region = hole_flow_region(video.known, flow_fw)
        if not bool(region.any()):
            raise MetricUnavailable(f"no hole pixels ({self.name}: the mask of {video.name} marks every pixel "
                                    f"known, so there is nothing to average)")
        return region
