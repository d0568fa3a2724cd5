"""Fréchet distance between two Gaussians (the core of FID and VFID), computed in a symmetric form.

    d² = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁ Σ₂)^{1/2}

``Tr (Σ₁Σ₂)^{1/2}`` equals ``Tr (Σ₁^{1/2} Σ₂ Σ₁^{1/2})^{1/2}``: Σ₁Σ₂ and Σ₁^{1/2}Σ₂Σ₁^{1/2} have the same
eigenvalues, and the latter is symmetric positive semi-definite, so its square root follows from a real
symmetric eigen-decomposition (``eigh``); eigenvalues below the numerical-rank tolerance D·ε·max|λ|
(rounding noise, possibly negative) are set to zero, so rank-deficient covariances (N ≤ D) stay exact. This
avoids the general (complex) ``scipy.linalg.sqrtm`` that pytorch-fid uses, and its spurious imaginary parts.

pytorch-fid semantics kept: statistics are ``mu = mean(x, 0)`` and ``sigma = np.cov(x, rowvar=False)``
(unbiased, N−1); if the result is not finite, retry once with ``eps = 1e-6`` added to both diagonals.
Instead of pytorch-fid's imaginary-part check, a clearly negative eigenvalue (the inputs are not
covariance matrices) raises ``ValueError``.
"""

from __future__ import annotations

import logging

import numpy as np

LOG = logging.getLogger(__name__)


def gaussian_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[D]`` and unbiased covariance ``[D,D]`` (float64) of ``features`` ``[N,D]``, N ≥ 2."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"gaussian_stats: expected features [N,D] with N >= 2, got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _rank_tol(eig: np.ndarray) -> float:
    """Eigenvalues below this are rounding noise (the usual numerical-rank tolerance D·ε·max|λ|)."""
    return eig.size * np.finfo(np.float64).eps * float(np.abs(eig).max(initial=0.0))


def _sym_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric PSD matrix via ``eigh`` (eigenvalues below the rank tolerance → 0)."""
    w, v = np.linalg.eigh((matrix + matrix.T) / 2)
    w = np.where(w > _rank_tol(w), w, 0.0)
    return (v * np.sqrt(w)) @ v.T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray, rel_tol: float = 1e-6) -> float:
    """``Tr (Σ₁Σ₂)^{1/2}`` for symmetric PSD ``[D,D]`` matrices, as ``Σ √λᵢ(Σ₁^{1/2} Σ₂ Σ₁^{1/2})``.

    Raises ``ValueError`` when an eigenvalue is negative beyond ``rel_tol`` × the largest one (not PSD).
    """
    root1 = _sym_sqrt(sigma1)
    inner = root1 @ sigma2 @ root1
    eig = np.linalg.eigvalsh((inner + inner.T) / 2)
    scale = max(float(np.abs(eig).max(initial=0.0)), np.finfo(np.float64).tiny)
    if eig.min(initial=0.0) < -rel_tol * scale:
        raise ValueError(f"Fréchet distance: Σ₁^(1/2) Σ₂ Σ₁^(1/2) has eigenvalue {eig.min():.3g} (largest "
                         f"{scale:.3g}): the inputs are not positive semi-definite covariance matrices")
    return float(np.sqrt(np.where(eig > _rank_tol(eig), eig, 0.0)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (see the module docstring).

    Args:
        mu1, mu2: means ``[D]``. sigma1, sigma2: covariances ``[D,D]`` (symmetric PSD).
        eps: diagonal offset used for the one retry when the first result is not finite.
    Returns:
        the squared Fréchet distance (what FID reports), a float ≥ 0 up to rounding.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"frechet_distance: shapes disagree: mu1 {mu1.shape}, mu2 {mu2.shape}, "
                         f"sigma1 {sigma1.shape}, sigma2 {sigma2.shape}")
    diff = mu1 - mu2
    try:
        tr_covmean = trace_sqrt_product(sigma1, sigma2)
    except np.linalg.LinAlgError:
        tr_covmean = float("nan")
    if not np.isfinite(tr_covmean):
        LOG.warning("Fréchet distance: product of covariances is not finite; adding %g to the diagonals", eps)
        offset = np.eye(d) * eps
        tr_covmean = trace_sqrt_product(sigma1 + offset, sigma2 + offset)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def frechet_distance_of_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted (mean, unbiased covariance) to ``[N₁,D]`` and ``[N₂,D]``.

    With few samples (max(N₁, N₂) ≤ D, e.g. whole-video VFID or a small test set) it is computed exactly
    from the centred features A ``[N₁,D]``, B ``[N₂,D]`` without forming D×D matrices:
    ``Tr Σ₁ = ‖A‖²_F/(N₁−1)`` and ``Tr (Σ₁Σ₂)^{1/2} = ‖A Bᵀ‖_* / √((N₁−1)(N₂−1))`` (nuclear norm: the
    non-zero eigenvalues of Σ₁Σ₂ are the squared singular values of A Bᵀ scaled). Otherwise
    :func:`gaussian_stats` + :func:`frechet_distance`.
    """
    x, y = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(x.shape[0], y.shape[0]) < 2:
        raise ValueError(f"frechet_distance_of_features: expected [N1,D] and [N2,D] with N >= 2, got "
                         f"{x.shape} and {y.shape}")
    n1, n2, d = x.shape[0], y.shape[0], x.shape[1]
    if max(n1, n2) > d:
        return frechet_distance(*gaussian_stats(x), *gaussian_stats(y))
    a, b = x - x.mean(axis=0), y - y.mean(axis=0)
    diff = x.mean(axis=0) - y.mean(axis=0)
    tr1, tr2 = np.sum(a * a) / (n1 - 1), np.sum(b * b) / (n2 - 1)
    tr_covmean = np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt((n1 - 1) * (n2 - 1))
    return float(diff @ diff + tr1 + tr2 - 2.0 * tr_covmean)
