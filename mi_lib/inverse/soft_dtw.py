"""Differentiable soft-DTW between multi-lead signals, in torch.

Soft-DTW (Cuturi & Blondel 2017, "Soft-DTW: a differentiable loss function for
time-series", ICML) replaces the ``min`` of the dynamic-time-warping recursion by the
soft-min ``-gamma log(exp(-a/gamma) + exp(-b/gamma) + exp(-c/gamma))``. Here it aligns
TIME: for each sample ``b`` of a ``(batch, leads, T)`` tensor the series ``x[b]`` is a
sequence of ``T`` lead vectors, and the cost of matching step ``i`` of ``x`` with step
``j`` of ``y`` is the squared Euclidean distance between the two lead vectors.

The recursion is evaluated along anti-diagonals (a wavefront, ``T1 + T2 - 1`` vectorised
steps over the batch and the diagonal), in a skewed layout so every step reads contiguous
slices. The gradient is the paper's backward recursion (its Algorithm 2, the expected
alignment matrix ``E``), run along the same wavefront in a custom
:class:`torch.autograd.Function`; torch autograd carries ``E`` from the cost matrix to the
signals. The divergence form (Blondel, Mensch & Vert 2021, "Differentiable divergences
between time series", AISTATS) is the one to use as a loss.
"""

from __future__ import annotations

import math

import torch

__all__ = ["soft_dtw", "soft_dtw_divergence"]


def _check(x, y, gamma) -> None:
    """Raise on a non-positive ``gamma`` or inputs that are not matching 3-D tensors."""
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) \
            or not math.isfinite(gamma) or not gamma > 0:
        raise ValueError(f"gamma must be a finite number > 0, got {gamma!r}")
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.ndim != 3:
            raise ValueError(f"{name} must have shape (batch, leads, T), got {tuple(t.shape)}")
        if not t.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor, got {t.dtype}")
        if t.shape[2] < 1:
            raise ValueError(f"{name} has no time steps (shape {tuple(t.shape)})")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same batch size, got {x.shape[0]} and {y.shape[0]}")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must have the same number of leads, got {x.shape[1]} "
                         f"and {y.shape[1]}")
    if x.dtype != y.dtype:
        raise ValueError(f"x and y must have the same dtype, got {x.dtype} and {y.dtype}")
    if x.device != y.device:
        raise ValueError(f"x and y must be on the same device, got {x.device} and {y.device}")


def _squared_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(batch, T1, T2)`` squared Euclidean distances between the time steps of ``x``
    ``(batch, leads, T1)`` and ``y`` ``(batch, leads, T2)``."""
    xx = (x * x).sum(1)[:, :, None]
    yy = (y * y).sum(1)[:, None, :]
    return (xx + yy - 2.0 * torch.bmm(x.transpose(1, 2), y)).clamp_min(0.0)


def _skew_index(n1: int, n2: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(d, i)`` of cell ``(i, j)`` (1-based) in the skewed layout, ``d = i + j``;
    each of shape ``(n1, n2)``."""
    i = torch.arange(1, n1 + 1, device=device)[:, None].expand(n1, n2)
    j = torch.arange(1, n2 + 1, device=device)[None, :].expand(n1, n2)
    return i + j, i


class _SoftDTW(torch.autograd.Function):
    """Soft-DTW of a batch of cost matrices; backward by the expected alignment ``E``."""

    @staticmethod
    def forward(ctx, D: torch.Tensor, gamma: float) -> torch.Tensor:
        B, n1, n2 = D.shape
        d_idx, i_idx = _skew_index(n1, n2, D.device)
        # Skewed layout: cell (i, j) of the padded (n1+2, n2+2) matrix lives at [d=i+j, i].
        Dd = D.new_zeros(B, n1 + n2 + 3, n1 + 2)
        Dd[:, d_idx, i_idx] = D
        Rd = D.new_full((B, n1 + n2 + 3, n1 + 2), math.inf)
        Rd[:, 0, 0] = 0.0
        for d in range(2, n1 + n2 + 1):
            lo, hi = max(1, d - n2), min(n1, d - 1)
            prev = torch.stack((Rd[:, d - 2, lo - 1:hi],     # R[i-1, j-1]
                                Rd[:, d - 1, lo - 1:hi],     # R[i-1, j]
                                Rd[:, d - 1, lo:hi + 1]))    # R[i, j-1]
            Rd[:, d, lo:hi + 1] = Dd[:, d, lo:hi + 1] - gamma * torch.logsumexp(-prev / gamma, 0)
        ctx.save_for_backward(Dd, Rd)
        ctx.gamma, ctx.shape = gamma, (n1, n2)
        return Rd[:, n1 + n2, n1].clone()

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        Dd, Rd = ctx.saved_tensors
        gamma, (n1, n2) = ctx.gamma, ctx.shape
        B = Dd.shape[0]
        d_idx, i_idx = _skew_index(n1, n2, Dd.device)
        # Outside the n1 x n2 interior R is -inf (so its weights vanish), but R[n1+1, n2+1]
        # = R[n1, n2] with a zero cost, where E starts at 1 (Cuturi & Blondel, Algorithm 2).
        Rb = torch.full_like(Rd, -math.inf)
        Rb[:, d_idx, i_idx] = Rd[:, d_idx, i_idx]
        Rb[:, n1 + n2 + 2, n1 + 1] = Rd[:, n1 + n2, n1]
        Ed = torch.zeros_like(Rd)
        Ed[:, n1 + n2 + 2, n1 + 1] = 1.0
        for d in range(n1 + n2, 1, -1):
            lo, hi = max(1, d - n2), min(n1, d - 1)
            r = Rb[:, d, lo:hi + 1]
            a = torch.exp((Rb[:, d + 1, lo + 1:hi + 2] - r - Dd[:, d + 1, lo + 1:hi + 2]) / gamma)
            b = torch.exp((Rb[:, d + 1, lo:hi + 1] - r - Dd[:, d + 1, lo:hi + 1]) / gamma)
            c = torch.exp((Rb[:, d + 2, lo + 1:hi + 2] - r - Dd[:, d + 2, lo + 1:hi + 2]) / gamma)
            Ed[:, d, lo:hi + 1] = (Ed[:, d + 1, lo + 1:hi + 2] * a + Ed[:, d + 1, lo:hi + 1] * b
                                   + Ed[:, d + 2, lo + 1:hi + 2] * c)
        E = Ed[:, d_idx, i_idx]
        return E * grad_out.reshape(B, 1, 1), None


def soft_dtw(x: torch.Tensor, y: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Soft-DTW between two batches of multi-lead signals, aligning time.

    For each sample ``b`` the series ``x[b]`` (``T1`` time steps, each a vector of
    ``leads`` values) is aligned with ``y[b]`` (``T2`` time steps) with the cost
    ``C[i, j] = ||x[b, :, i] - y[b, :, j]||^2`` and the recursion
    ``R[i, j] = C[i, j] + softmin_gamma(R[i-1, j-1], R[i-1, j], R[i, j-1])``, where
    ``softmin_gamma(a, b, c) = -gamma log(exp(-a/gamma) + exp(-b/gamma) + exp(-c/gamma))``
    is evaluated with a log-sum-exp; the value is ``R[T1, T2]`` (Cuturi & Blondel 2017).
    Leads are never permuted or aligned, only time steps. The gradient is the paper's
    backward recursion (expected alignment matrix).

    Parameters
    ----------
    x : torch.Tensor
        ``(batch, leads, T1)`` signals, in the signals' unit (e.g. mV), floating point.
    y : torch.Tensor
        ``(batch, leads, T2)`` signals, same batch size, number of leads, dtype and device
        as ``x``; ``T2`` may differ from ``T1``.
    gamma : float, default 1.0
        Smoothing, ``> 0``, in the unit of the cost (signal unit squared). As ``gamma``
        tends to 0 the value tends to the exact DTW with squared Euclidean cost.

    Returns
    -------
    torch.Tensor
        ``(batch,)`` soft-DTW values, in signal unit squared, differentiable in ``x`` and
        ``y``. They can be negative (the soft-min is below the min), by at most
        ``gamma log 3`` per step of the alignment.

    Raises
    ------
    ValueError
        If ``gamma`` is not a finite number > 0, or the shapes, dtypes or devices do not
        match.
    TypeError
        If ``x`` or ``y`` is not a tensor.
    """
    _check(x, y, gamma)
    return _SoftDTW.apply(_squared_distances(x, y), float(gamma))


def soft_dtw_divergence(x: torch.Tensor, y: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """Soft-DTW divergence, ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2``, aligning time.

    The debiased soft-DTW of Blondel, Mensch & Vert (2021): with the squared Euclidean
    cost it is non-negative, zero when ``x == y`` and symmetric, unlike :func:`soft_dtw`
    itself (whose ``sdtw(x, x)`` is not zero). This is the form to use as a loss.

    Parameters
    ----------
    x : torch.Tensor
        ``(batch, leads, T1)`` signals, in the signals' unit (e.g. mV), floating point.
    y : torch.Tensor
        ``(batch, leads, T2)`` signals, same batch size, number of leads, dtype and device
        as ``x``.
    gamma : float, default 1.0
        Smoothing, ``> 0``, in signal unit squared.

    Returns
    -------
    torch.Tensor
        ``(batch,)`` divergences, in signal unit squared, differentiable in ``x`` and ``y``.

    Raises
    ------
    ValueError, TypeError
        As :func:`soft_dtw`, on a bad ``gamma`` or inputs that do not match.
    """
    _check(x, y, gamma)
    return soft_dtw(x, y, gamma) - 0.5 * (soft_dtw(x, x, gamma) + soft_dtw(y, y, gamma))
