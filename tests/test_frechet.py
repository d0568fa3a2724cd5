"""Fréchet distance: closed forms and agreement with pytorch-fid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from metrics.frechet import frechet_distance, frechet_distance_of_features, gaussian_stats, trace_sqrt_product


def _random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, 3 * d))
    return a @ a.T / (3 * d) + 0.1 * np.eye(d)


def test_equal_covariances_give_squared_mean_difference():
    rng = np.random.default_rng(0)
    sigma = _random_spd(rng, 6)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(np.sum((mu1 - mu2) ** 2), rel=1e-9, abs=1e-9)


def test_diagonal_covariances_closed_form():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0.1, 3, size=5), rng.uniform(0.1, 3, size=5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_commuting_covariances_closed_form():
    rng = np.random.default_rng(2)
    q = ortho_group.rvs(7, random_state=3)
    a, b = rng.uniform(0.05, 2, size=7), rng.uniform(0.05, 2, size=7)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    assert trace_sqrt_product(s1, s2) == pytest.approx(np.sum(np.sqrt(a * b)), rel=1e-10)
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(np.zeros(7), s1, np.zeros(7), s2) == pytest.approx(expected, rel=1e-8, abs=1e-12)


def test_rank_deficient_covariances_stay_real_and_nonnegative():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(5, 16)), rng.normal(size=(5, 16)) + 0.5  # N < D: singular covariances
    value = frechet_distance_of_features(x, y)
    assert np.isfinite(value) and value > 0
    assert frechet_distance_of_features(x, x) == pytest.approx(0.0, abs=1e-8)


def test_sample_route_equals_covariance_route():
    rng = np.random.default_rng(6)
    for n1, n2, d in ((5, 7, 16), (12, 12, 12), (3, 40, 40)):
        x, y = rng.normal(size=(n1, d)), rng.normal(size=(n2, d)) * 0.7 + 0.3
        via_cov = frechet_distance(*gaussian_stats(x), *gaussian_stats(y))
        assert frechet_distance_of_features(x, y) == pytest.approx(via_cov, rel=1e-8, abs=1e-9)
    with pytest.raises(ValueError, match="N >= 2"):
        frechet_distance_of_features(np.zeros((1, 3)), np.zeros((4, 3)))


def test_agrees_with_pytorch_fid():
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    rng = np.random.default_rng(5)
    for d in (3, 20):
        x, y = rng.normal(size=(200, d)), rng.normal(size=(300, d)) * 1.3 + 0.2
        mu1, s1 = gaussian_stats(x)
        mu2, s2 = gaussian_stats(y)
        np.testing.assert_allclose(mu1, x.mean(0))
        np.testing.assert_allclose(s1, np.cov(x, rowvar=False))
        ours = frechet_distance(mu1, s1, mu2, s2)
        theirs = fid_score.calculate_frechet_distance(mu1, s1, mu2, s2)
        assert ours == pytest.approx(theirs, rel=1e-6)


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="shapes disagree"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="not positive semi-definite"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), -np.eye(2))
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_stats(np.zeros((1, 4)))
