"""Reductions of metric values: per video over frames (or pairs), and per key over videos.

Identical frames (or patches) give PSNR = +inf. Per video, ``inf_policy="clip"`` (default) replaces +inf
values by the largest finite value of that video before averaging (as VIE's table does across videos);
``"keep"`` averages them as they are (the per-video value is then +inf, exactly VIE's per-video number).
Across videos, :func:`aggregate` gives mean ± standard error of the mean (``scipy.stats.sem``, ddof = 1),
optionally clipping +inf first (VIE's ``summarize_quant_results.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from torch import Tensor

INF_POLICIES = ("clip", "keep")


def check_inf_policy(inf_policy: str, owner: str = "") -> str:
    """``inf_policy`` if it is one of :data:`INF_POLICIES`; ValueError (prefixed by ``owner``) otherwise."""
    if inf_policy not in INF_POLICIES:
        prefix = f"{owner}: " if owner else ""
        raise ValueError(f"{prefix}inf_policy must be one of {INF_POLICIES}, got {inf_policy!r}")
    return inf_policy


def clip_inf(values: np.ndarray | Tensor | list[float]) -> np.ndarray:
    """Replace +inf by the largest finite value (VIE's ``np.clip(v, 0, max_non_inf(v))`` upper bound).

    Returns a float64 array; values stay +inf only when none is finite. NaN is left as is.
    """
    arr = np.asarray(values.cpu() if isinstance(values, Tensor) else values, dtype=np.float64).copy()
    finite = arr[np.isfinite(arr)]
    if finite.size:
        arr[np.isposinf(arr)] = finite.max()
    return arr


_clip_inf = clip_inf  # inside `aggregate`, its flag of the same name shadows the function


def reduce_frames(values: Tensor | np.ndarray, inf_policy: str = "clip") -> float:
    """Per-video mean of per-frame (or per-pair) values under ``inf_policy`` (see the module docstring)."""
    check_inf_policy(inf_policy)
    arr = np.asarray(values.cpu() if isinstance(values, Tensor) else values, dtype=np.float64)
    if arr.size == 0:
        return math.nan
    if inf_policy == "clip":
        arr = clip_inf(arr)
    return float(arr.mean())


def aggregate(values: Iterable[float | None], clip_inf: bool = False) -> dict[str, float | int | None]:
    """``{"mean", "sem", "n"}`` over the per-video ``values``.

    None / NaN entries are dropped (n counts the rest). ``clip_inf`` replaces +inf by the largest finite
    value first (VIE's table); otherwise an infinite value makes the mean infinite. ``sem`` is the sample
    standard deviation / √n (None when n < 2); ``mean`` is None when n = 0.
    """
    vals = np.asarray([float(v) for v in values if v is not None and not math.isnan(float(v))], dtype=np.float64)
    if clip_inf and vals.size:
        vals = _clip_inf(vals)
    n = int(vals.size)
    if n == 0:
        return {"mean": None, "sem": None, "n": 0}
    mean = float(vals.mean())
    if n < 2 or not np.all(np.isfinite(vals)):
        sem = None if n < 2 else math.nan
    else:
        sem = float(vals.std(ddof=1) / math.sqrt(n))
    return {"mean": mean, "sem": sem, "n": n}

