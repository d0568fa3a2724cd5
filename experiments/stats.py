"""Summary statistics used by every table: mean ± standard error of the mean across videos."""

from __future__ import annotations

import math
from typing import Iterable


def mean_sem(values: Iterable[float | None]) -> dict[str, float | int | None]:
    """Mean, standard error (sample std / √n, as ``scipy.stats.sem``) and n over finite values.

    ``None``/NaN entries are dropped; ``±inf`` entries are kept in ``n_inf`` and dropped from the
    statistics (PSNR of identical patches). Returns ``{"mean", "sem", "n", "n_inf"}``; mean/sem are
    None when no finite value exists, sem is None when n < 2.
    """
    vals = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    finite = [v for v in vals if math.isfinite(v)]
    n = len(finite)
    if n == 0:
        return {"mean": None, "sem": None, "n": 0, "n_inf": len(vals)}
    mean = sum(finite) / n
    sem = None
    if n > 1:
        var = sum((v - mean) ** 2 for v in finite) / (n - 1)
        sem = math.sqrt(var / n)
    return {"mean": mean, "sem": sem, "n": n, "n_inf": len(vals) - n}
