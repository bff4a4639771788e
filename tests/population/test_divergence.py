"""Divergences against closed forms on Gaussian data, and the compiled energies against
the reference implementation."""

import numpy as np
import pytest

from mi_lib.population.divergence import (
    cross_knn_bandwidth_from_sqdist,
    gaussian_kl,
    gaussian_mmd2,
    kl_divergence,
    kl_from_sqdist,
    knn_bandwidth,
    mmd2,
    mmd2_from_sqdist,
    mmd2_within,
    sqdist,
)
from mi_lib.population.models import _kernels

N = 2000


def gaussians(seed, shift, scale=1.0, n=N):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal((n, 2))
    q = rng.standard_normal((n, 2)) * np.sqrt(scale) + np.asarray(shift, float)
    return p, q


def test_gaussian_kl_closed_form_known_values():
    # 1-D: KL(N(0,1) || N(1,4)) = log 2 + (1 + 1) / 8 - 1/2
    assert gaussian_kl([0], [[1]], [1], [[4]]) == pytest.approx(np.log(2) + 2 / 8 - 0.5)
    assert gaussian_kl(np.zeros(2), np.eye(2), np.ones(2), np.eye(2)) == pytest.approx(1.0)


def test_kl_estimate_within_15_percent_of_closed_form_mean_shift():
    """Two 2-D Gaussians one unit apart on each axis (KL = 1), n = 2000 each; the mean
    over five independent draws is within 15%, and no single draw is off by 25%."""
    exact = gaussian_kl(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))
    estimates = [kl_divergence(*gaussians(seed, (1, 1))) for seed in range(5)]
    assert np.mean(estimates) == pytest.approx(exact, rel=0.15)
    assert np.all(np.abs(np.array(estimates) / exact - 1) < 0.25)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kl_estimate_within_15_percent_of_closed_form_shift_and_scale(seed):
    exact = gaussian_kl(np.zeros(2), np.eye(2), [1, 0], 2 * np.eye(2))
    assert kl_divergence(*gaussians(seed, (1, 0), scale=2.0)) == pytest.approx(exact, rel=0.15)


def test_kl_and_mmd_of_a_distribution_with_itself_are_near_zero():
    p, q = gaussians(3, (0, 0))
    assert abs(kl_divergence(p, q)) < 0.04
    assert abs(mmd2(p, q)) < 5e-4


def test_both_divergences_grow_with_the_shift():
    kls, mmds = [], []
    for shift in (0.0, 0.5, 1.0, 2.0):
        p, q = gaussians(4, (shift, 0))
        kls.append(kl_divergence(p, q))
        mmds.append(mmd2(p, q))
    assert np.all(np.diff(kls) > 0)
    assert np.all(np.diff(mmds) > 0)


@pytest.mark.parametrize("shift,scale", [((1, 1), 1.0), ((1, 0), 2.0), ((0.5, 0), 0.5)])
def test_mmd_matches_closed_form(shift, scale):
    p, q = gaussians(5, shift, scale)
    sigma = knn_bandwidth(q)
    exact = gaussian_mmd2(np.zeros(2), np.eye(2), shift, scale * np.eye(2), sigma)
    assert mmd2(p, q) == pytest.approx(exact, abs=max(0.15 * exact, 4e-4))


def test_gaussian_mmd2_matches_monte_carlo_kernel_means():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((400_000, 2))
    y = rng.standard_normal((400_000, 2)) + [1.0, 0.0]
    xp = rng.standard_normal((400_000, 2))
    yp = rng.standard_normal((400_000, 2)) + [1.0, 0.0]
    s = 0.7

    def k(a, b):
        return np.exp(-((a - b) ** 2).sum(1) / (2 * s * s))

    terms = [k(x, xp), k(y, yp), -2 * k(x, y)]
    mc = sum(t.mean() for t in terms)
    stderr = np.sqrt(sum(t.var() / len(t) for t in terms))
    exact = gaussian_mmd2(np.zeros(2), np.eye(2), [1, 0], np.eye(2), s)
    assert abs(exact - mc) < 4 * stderr


def test_knn_bandwidth_on_a_lattice():
    x = np.arange(6, dtype=float)[:, None]
    # nearest neighbour distance is 1 for every point
    assert knn_bandwidth(x, n_neighbors=1) == pytest.approx(1.0)
    # two nearest: ends (1, 2), inner points (1, 1)
    assert knn_bandwidth(x, n_neighbors=2) == pytest.approx((2 * 1.5 + 4 * 1.0) / 6)


def test_cross_bandwidth_is_distance_to_nearest_of_q():
    p = np.array([[0.0], [10.0]])
    q = np.array([[1.0], [2.0], [13.0]])
    # nearest q of 0 is at 1, of 10 is at 13 -> mean (1 + 3) / 2
    assert cross_knn_bandwidth_from_sqdist(sqdist(p, q), 1) == pytest.approx(2.0)


def test_batched_sqdist_forms_match_single():
    rng = np.random.default_rng(7)
    p = rng.standard_normal((3, 30, 4))
    q = rng.standard_normal((40, 4))
    d_pp = np.stack([sqdist(x, x) for x in p])
    d_pq = np.stack([sqdist(x, q) for x in p])
    d_qq = sqdist(q, q)
    batched = kl_from_sqdist(d_pp, d_pq)
    for b in range(3):
        assert batched[b] == pytest.approx(kl_divergence(p[b], q))
    m = mmd2_from_sqdist(d_pp, d_pq, d_qq, 0.8)
    assert m[1] == pytest.approx(mmd2(p[1], q, bandwidth=0.8))
    assert mmd2_from_sqdist(d_pp, d_pq, mmd2_within(d_qq, 0.8), 0.8) == pytest.approx(m)


def test_compiled_energies_match_reference_implementation():
    rng = np.random.default_rng(8)
    bits = rng.random((4, 25, 300)) < 0.3
    real = rng.random((31, 300)) < 0.25
    d_pp = np.stack([sqdist(b, b) for b in bits]).astype(np.int32)
    d_pq = np.stack([sqdist(b, real) for b in bits]).astype(np.int32)
    d_qq = sqdist(real, real)
    np.testing.assert_allclose(_kernels.kl_energy(d_pp, d_pq, 10), kl_from_sqdist(d_pp, d_pq),
                               rtol=1e-10)
    k_qq = mmd2_within(d_qq, 9.0)
    np.testing.assert_allclose(_kernels.mmd2_energy(d_pp, d_pq, k_qq, 9.0),
                               mmd2_from_sqdist(d_pp, d_pq, d_qq, 9.0), rtol=1e-10)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="p must be"):
        kl_divergence(np.zeros(5), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="features"):
        mmd2(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="identical"):
        knn_bandwidth(np.zeros((5, 2)))
