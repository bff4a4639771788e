"""Divergences between a synthetic population P and a real population Q (paper 000 §2.3).

Both work on sample matrices ``(n_samples, n_features)`` -- for infarct images, one row
per image over the myocardial voxels -- or on precomputed squared distances
(``*_from_sqdist``).

* :func:`kl_divergence` -- KL(P || Q) from Gaussian kernel density estimates with one
  bandwidth, by default the mean distance of P's samples to their 10 nearest in Q;
* :func:`mmd2` -- the unbiased squared MMD with a fixed Gaussian bandwidth;
* :func:`gaussian_kl`, :func:`gaussian_mmd2` -- closed forms for two Gaussians.

The estimators and the bandwidth rules: ``docs/population/personalization.md``.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import logsumexp


def _check(name: str, x) -> np.ndarray:
    x = np.asarray(x, float)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"{name} must be a (n_samples >= 2, n_features) matrix, got {x.shape}")
    return x


def _check_pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    p, q = _check("p", p), _check("q", q)
    if p.shape[1] != q.shape[1]:
        raise ValueError(f"p and q have {p.shape[1]} and {q.shape[1]} features")
    return p, q


def sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` and ``b``."""
    return cdist(np.asarray(a, float), np.asarray(b, float), "sqeuclidean")


def knn_bandwidth_from_sqdist(d: np.ndarray, n_neighbors: int = 10) -> float:
    """Mean distance of each sample to its ``n_neighbors`` nearest other samples.

    ``d`` is the ``(n, n)`` matrix of squared distances within one population.
    """
    d = np.asarray(d, float)
    n = len(d)
    k = min(n_neighbors, n - 1)
    if k < 1:
        raise ValueError("the bandwidth needs at least 2 samples")
    off = d + np.diag(np.full(n, np.inf))
    nearest = np.sort(off, axis=1)[:, :k]
    sigma = float(np.sqrt(np.maximum(nearest, 0)).mean())
    if not sigma > 0:
        raise ValueError("all samples are identical: the kernel bandwidth would be 0")
    return sigma


def knn_bandwidth(x: np.ndarray, n_neighbors: int = 10) -> float:
    """Paper 000 §3.1: the average distance between each sample and its 10 nearest
    neighbours, for samples ``x (n, d)``."""
    x = _check("x", x)
    return knn_bandwidth_from_sqdist(sqdist(x, x), n_neighbors)


def cross_knn_bandwidth_from_sqdist(d_pq: np.ndarray, n_neighbors: int = 10) -> np.ndarray:
    """Mean distance of each sample of P to its ``n_neighbors`` nearest samples of Q.

    ``d_pq (..., p, q)`` squared distances; returns ``(...)`` (a float for 2-D input).
    """
    d_pq = np.asarray(d_pq, float)
    k = min(n_neighbors, d_pq.shape[-1])
    nearest = np.partition(d_pq, k - 1, axis=-1)[..., :k]
    sigma = np.sqrt(np.maximum(nearest, 0)).mean(axis=(-2, -1))
    if np.any(sigma <= 0):
        raise ValueError("P reproduces Q's samples exactly: the kernel bandwidth would be 0")
    return sigma


def _offdiag_logmean(a: np.ndarray) -> np.ndarray:
    """log of the mean over j != i of exp(a[..., i, j]), per i."""
    n = a.shape[-1]
    a = a.copy()
    idx = np.arange(n)
    a[..., idx, idx] = -np.inf
    return logsumexp(a, axis=-1) - np.log(n - 1)


def kl_from_sqdist(d_pp: np.ndarray, d_pq: np.ndarray,
                   bandwidth: float | np.ndarray | None = None,
                   n_neighbors: int = 10) -> np.ndarray:
    """KL(P || Q) from squared distances within P ``(..., p, p)`` and from P to Q
    ``(..., p, q)``; leading dimensions are batches (e.g. CMA-ES candidates), each with
    its own bandwidth (:func:`cross_knn_bandwidth_from_sqdist` when ``None``)."""
    d_pq = np.asarray(d_pq, float)
    if bandwidth is None:
        bandwidth = cross_knn_bandwidth_from_sqdist(d_pq, n_neighbors)
    s2 = 2.0 * np.asarray(bandwidth, float)[..., None, None] ** 2
    log_p = _offdiag_logmean(-np.asarray(d_pp, float) / s2)
    log_q = logsumexp(-d_pq / s2, axis=-1) - np.log(d_pq.shape[-1])
    return np.mean(log_p - log_q, axis=-1)


def _offdiag_mean(k: np.ndarray) -> np.ndarray:
    n = k.shape[-1]
    diag = np.trace(k, axis1=-2, axis2=-1)
    return (k.sum(axis=(-2, -1)) - diag) / (n * (n - 1))


def mmd2_from_sqdist(d_pp: np.ndarray, d_pq: np.ndarray, d_qq: np.ndarray | float,
                     bandwidth: float) -> np.ndarray:
    """Unbiased squared MMD from squared distances; ``d_qq`` may be given as the
    precomputed within-Q term (a float), which does not depend on P."""
    s2 = 2.0 * float(bandwidth) ** 2
    kpp = _offdiag_mean(np.exp(-np.asarray(d_pp, float) / s2))
    kpq = np.exp(-np.asarray(d_pq, float) / s2).mean(axis=(-2, -1))
    kqq = d_qq if np.ndim(d_qq) == 0 else _offdiag_mean(np.exp(-np.asarray(d_qq, float) / s2))
    return kpp + kqq - 2.0 * kpq


def mmd2_within(d_qq: np.ndarray, bandwidth: float) -> float:
    """The within-Q term of :func:`mmd2_from_sqdist` (mean kernel over distinct pairs)."""
    s2 = 2.0 * float(bandwidth) ** 2
    return float(_offdiag_mean(np.exp(-np.asarray(d_qq, float) / s2)))


def kl_divergence(p: np.ndarray, q: np.ndarray, bandwidth: float | None = None,
                  n_neighbors: int = 10) -> float:
    """KL(P || Q) between samples ``p (n_p, d)`` and ``q (n_q, d)`` by Gaussian KDE.

    ``bandwidth`` defaults to the mean distance of each sample of ``p`` to its
    ``n_neighbors`` nearest samples of ``q``. Returns nats.
    """
    p, q = _check_pair(p, q)
    return float(kl_from_sqdist(sqdist(p, p), sqdist(p, q), bandwidth, n_neighbors))


def mmd2(p: np.ndarray, q: np.ndarray, bandwidth: float | None = None,
         n_neighbors: int = 10) -> float:
    """Unbiased squared maximum mean discrepancy with a Gaussian kernel.

    ``bandwidth`` defaults to :func:`knn_bandwidth` of ``q``.
    """
    p, q = _check_pair(p, q)
    d_qq = sqdist(q, q)
    sigma = knn_bandwidth_from_sqdist(d_qq, n_neighbors) if bandwidth is None else bandwidth
    return float(mmd2_from_sqdist(sqdist(p, p), sqdist(p, q), d_qq, sigma))


def gaussian_kl(mean_p, cov_p, mean_q, cov_q) -> float:
    """Closed-form KL(N(mean_p, cov_p) || N(mean_q, cov_q)) in nats."""
    mean_p, mean_q = np.atleast_1d(mean_p).astype(float), np.atleast_1d(mean_q).astype(float)
    cov_p, cov_q = np.atleast_2d(cov_p).astype(float), np.atleast_2d(cov_q).astype(float)
    d = len(mean_p)
    inv_q = np.linalg.inv(cov_q)
    diff = mean_q - mean_p
    _, logdet_p = np.linalg.slogdet(cov_p)
    _, logdet_q = np.linalg.slogdet(cov_q)
    return float(0.5 * (np.trace(inv_q @ cov_p) + diff @ inv_q @ diff - d
                        + logdet_q - logdet_p))


def gaussian_mmd2(mean_p, cov_p, mean_q, cov_q, bandwidth: float) -> float:
    """Closed-form squared MMD between two Gaussians for the kernel
    ``exp(-|x - y|^2 / (2 bandwidth^2))``.

    Uses E k(X, Y) = det(I + (S_X + S_Y) / s^2)^(-1/2)
    exp(-(m_X - m_Y)^T (s^2 I + S_X + S_Y)^(-1) (m_X - m_Y) / 2) for independent X, Y.
    """
    s2 = float(bandwidth) ** 2
    mean_p, mean_q = np.atleast_1d(mean_p).astype(float), np.atleast_1d(mean_q).astype(float)
    cov_p, cov_q = np.atleast_2d(cov_p).astype(float), np.atleast_2d(cov_q).astype(float)
    eye = np.eye(len(mean_p))

    def expected_kernel(m1, c1, m2, c2):
        s = s2 * eye + c1 + c2
        diff = m1 - m2
        return float(np.linalg.det(eye + (c1 + c2) / s2) ** -0.5
                     * np.exp(-0.5 * diff @ np.linalg.solve(s, diff)))

    return (expected_kernel(mean_p, cov_p, mean_p, cov_p)
            + expected_kernel(mean_q, cov_q, mean_q, cov_q)
            - 2 * expected_kernel(mean_p, cov_p, mean_q, cov_q))
