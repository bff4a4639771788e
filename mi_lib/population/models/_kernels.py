"""Compiled kernels of the infarct models and of the image distances (numba).

Infarct samples are packed bits over the myocardial voxels of a
:class:`~mi_lib.population.models.domain.Domain`: voxel ``j`` is bit ``j % 64`` of word
``j // 64`` (``numpy.packbits(..., bitorder="little")`` viewed as little-endian
``uint64``); the squared distance of two binary images is ``popcount(a XOR b)``.
Positions are ``(z, y, x)`` in pixels of the reference grid, ``z = slice *
slice_spacing``.

The layout and the painting of balls and ellipsoids: ``docs/population/models.md``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba.core import types
from numba.extending import intrinsic


@intrinsic
def _ctpop(typingctx, x):
    """The LLVM population-count intrinsic (one POPCNT instruction on x86-64)."""
    if not isinstance(x, types.Integer):
        return None
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)


@nb.njit(cache=True, inline="always")
def _set_range(words, row, i0, i1):
    """Set bits ``i0..i1`` (inclusive) of ``words[row]``."""
    w0, w1 = i0 >> 6, i1 >> 6
    lo = _ALL << np.uint64(i0 & 63)
    hi = _ALL >> np.uint64(63 - (i1 & 63))
    if w0 == w1:
        words[row, w0] |= lo & hi
    else:
        words[row, w0] |= lo
        for w in range(w0 + 1, w1):
            words[row, w] = _ALL
        words[row, w1] |= hi


@nb.njit(cache=True, inline="always")
def _paint_span(words, row, runs, n_runs, iz, iy, xa, xb):
    """Set the myocardial voxels of grid row ``(iz, iy)`` with ``xa <= x <= xb``.

    ``runs[iz, iy, r] = (x_first, x_last, first_voxel)`` are the row's runs of
    consecutive myocardial voxels, numbered consecutively along x.
    """
    lo = int(math.ceil(xa))
    hi = int(math.floor(xb))
    if hi < lo:
        return
    for r in range(n_runs[iz, iy]):
        x0 = runs[iz, iy, r, 0]
        x1 = runs[iz, iy, r, 1]
        a = lo if lo > x0 else x0
        b = hi if hi < x1 else x1
        if a <= b:
            base = runs[iz, iy, r, 2] - x0
            _set_range(words, row, base + a, base + b)


@nb.njit(parallel=True, cache=True)
def sqdist_cross(a, b):
    """Squared distances (differing voxels) between rows of ``a (n, W)`` and ``b (m, W)``."""
    n, w = a.shape
    m = b.shape[0]
    out = np.empty((n, m), np.int32)
    for i in nb.prange(n):
        for j in range(m):
            s = 0
            for k in range(w):
                s += _ctpop(a[i, k] ^ b[j, k])
            out[i, j] = s
    return out


@nb.njit(parallel=True, cache=True)
def sqdist_within(a):
    """Squared distances between the samples of each batch: ``a (K, S, W) -> (K, S, S)``."""
    n_batch, n, w = a.shape
    out = np.zeros((n_batch, n, n), np.int32)
    for t in nb.prange(n_batch * n):
        b = t // n
        i = t - b * n
        for j in range(i + 1, n):
            s = 0
            for k in range(w):
                s += _ctpop(a[b, i, k] ^ a[b, j, k])
            out[b, i, j] = s
            out[b, j, i] = s
    return out


@nb.njit(cache=True, inline="always")
def _box(c, r, spacing, n):
    lo = int(math.floor((c - r) / spacing))
    hi = int(math.ceil((c + r) / spacing))
    return max(lo, 0), min(hi, n - 1)


@nb.njit(cache=True)
def _paint_ball(words, row, cz, cy, cx, r, runs, n_runs, dz):
    nz, ny = n_runs.shape
    if r <= 0.0:
        return
    r2 = r * r
    if nz == 1:
        z0, z1 = 0, 0
    else:
        z0, z1 = _box(cz, r, dz, nz)
    y0, y1 = _box(cy, r, 1.0, ny)
    for iz in range(z0, z1 + 1):
        ddz = iz * dz - cz if nz > 1 else 0.0
        for iy in range(y0, y1 + 1):
            ddy = iy - cy
            rest = r2 - ddz * ddz - ddy * ddy
            if rest < 0.0:
                continue
            half = math.sqrt(rest)
            _paint_span(words, row, runs, n_runs, iz, iy, cx - half, cx + half)


@nb.njit(parallel=True, cache=True)
def iterative_kernel(n_iter, r_max, start, u_count, u, planar, runs, n_runs, dz, n_words):
    """Union-of-balls infarcts for every (candidate, sample) pair.

    ``n_iter (K,)`` mean number of balls and ``r_max (K,)`` maximal radius (pixels) per
    candidate; ``start (S, 3)`` first centres; ``u_count (S,)`` and ``u (S, C, 4)``
    uniform draws in [0, 1) shared by all candidates (common random numbers). Sample
    ``s`` has ``floor(n_iter + u_count[s])`` balls (at least 1, at most C); ball ``j``
    has radius ``r_max * u[s, j, 0]`` and the next centre is uniform in ball ``j``
    (a disc in the slice plane when ``planar``). Returns packed bits ``(K * S, W)``.
    """
    n_cand = n_iter.shape[0]
    n_samp, cap, _ = u.shape
    words = np.zeros((n_cand * n_samp, n_words), np.uint64)
    for t in nb.prange(n_cand * n_samp):
        k = t // n_samp
        s = t - k * n_samp
        n = int(math.floor(n_iter[k] + u_count[s]))
        n = min(max(n, 1), cap)
        cz, cy, cx = start[s, 0], start[s, 1], start[s, 2]
        for j in range(n):
            r = r_max[k] * u[s, j, 0]
            _paint_ball(words, t, cz, cy, cx, r, runs, n_runs, dz)
            if planar:
                ang = 2.0 * math.pi * u[s, j, 1]
                rad = r * math.sqrt(u[s, j, 2])
                cy += rad * math.sin(ang)
                cx += rad * math.cos(ang)
            else:
                cos_t = 2.0 * u[s, j, 1] - 1.0
                sin_t = math.sqrt(max(0.0, 1.0 - cos_t * cos_t))
                phi = 2.0 * math.pi * u[s, j, 2]
                rad = r * u[s, j, 3] ** (1.0 / 3.0)
                cz += rad * cos_t
                cy += rad * sin_t * math.sin(phi)
                cx += rad * sin_t * math.cos(phi)
    return words


@nb.njit(parallel=True, cache=True)
def ellipsoid_kernel(axes, start, frames, runs, n_runs, dz, n_words):
    """Ellipsoid infarcts for every (candidate, sample) pair.

    ``axes (K, S, 3)`` semi-axes in pixels along the rows of ``frames (S, 3, 3)`` (unit
    radial, circumferential and longitudinal directions in ``(z, y, x)``); an infinite
    semi-axis drops its term (2D). ``start (S, 3)`` centres. Each grid row meets the
    ellipsoid in one interval of x, found from a quadratic. Returns ``(K * S, W)`` bits.
    """
    n_cand, n_samp, _ = axes.shape
    nz, ny = n_runs.shape
    words = np.zeros((n_cand * n_samp, n_words), np.uint64)
    for t in nb.prange(n_cand * n_samp):
        k = t // n_samp
        s = t - k * n_samp
        a0, a1, a2 = axes[k, s, 0], axes[k, s, 1], axes[k, s, 2]
        if a0 <= 0.0 or a1 <= 0.0 or a2 <= 0.0:
            continue
        inv = (1.0 / (a0 * a0), 1.0 / (a1 * a1), 1.0 / (a2 * a2))
        cz, cy, cx = start[s, 0], start[s, 1], start[s, 2]
        f = frames[s]
        # half-extent of the rotated ellipsoid along z and y
        ez, ey = 0.0, 0.0
        for j in range(3 if nz > 1 else 2):
            aj = axes[k, s, j]
            ez += (aj * f[j, 0]) ** 2
            ey += (aj * f[j, 1]) ** 2
        if nz == 1:
            z0, z1 = 0, 0
        else:
            z0, z1 = _box(cz, math.sqrt(ez), dz, nz)
        y0, y1 = _box(cy, math.sqrt(ey), 1.0, ny)
        # x-coefficient of each local coordinate: p_j = f[j, 0] ddz + f[j, 1] ddy + f[j, 2] ddx
        qa = inv[0] * f[0, 2] ** 2 + inv[1] * f[1, 2] ** 2 + inv[2] * f[2, 2] ** 2
        for iz in range(z0, z1 + 1):
            ddz = iz * dz - cz if nz > 1 else 0.0
            for iy in range(y0, y1 + 1):
                ddy = iy - cy
                qb, qc = 0.0, -1.0
                for j in range(3):
                    c0 = f[j, 0] * ddz + f[j, 1] * ddy
                    qb += inv[j] * c0 * f[j, 2]
                    qc += inv[j] * c0 * c0
                # qa x^2 + 2 qb x + qc <= 0
                disc = qb * qb - qa * qc
                if disc < 0.0 or qa <= 0.0:
                    continue
                root = math.sqrt(disc)
                _paint_span(words, t, runs, n_runs, iz, iy,
                            cx + (-qb - root) / qa, cx + (-qb + root) / qa)
    return words


@nb.njit(parallel=True, cache=True)
def kl_energy(d_pp, d_pq, n_neighbors):
    """KL(P || Q) per batch from integer squared distances ``(K, S, S)`` and ``(K, S, Q)``,
    each batch with its cross 10-NN bandwidth; same as
    :func:`mi_lib.population.divergence.kl_from_sqdist` (tested against it)."""
    n_batch, n, _ = d_pp.shape
    m = d_pq.shape[2]
    kk = min(n_neighbors, m)
    out = np.empty(n_batch)
    for b in nb.prange(n_batch):
        tot = 0.0
        best = np.empty(kk, np.int64)
        for i in range(n):
            # the kk smallest distances, by insertion into a sorted buffer
            filled = 0
            for j in range(m):
                v = d_pq[b, i, j]
                if filled == kk and v >= best[kk - 1]:
                    continue
                pos = filled if filled < kk else kk - 1
                while pos > 0 and best[pos - 1] > v:
                    if pos < kk:
                        best[pos] = best[pos - 1]
                    pos -= 1
                best[pos] = v
                if filled < kk:
                    filled += 1
            for j in range(kk):
                tot += math.sqrt(max(best[j], 0))
        sigma = tot / (n * kk)
        s2 = 2.0 * sigma * sigma
        acc = 0.0
        for i in range(n):
            lo = np.int64(2**62)
            for j in range(n):
                if j != i and d_pp[b, i, j] < lo:
                    lo = d_pp[b, i, j]
            sp = 0.0
            for j in range(n):
                if j != i:
                    sp += math.exp(-(d_pp[b, i, j] - lo) / s2)
            lq = np.int64(2**62)
            for j in range(m):
                if d_pq[b, i, j] < lq:
                    lq = d_pq[b, i, j]
            sq = 0.0
            for j in range(m):
                sq += math.exp(-(d_pq[b, i, j] - lq) / s2)
            log_p = -lo / s2 + math.log(sp) - math.log(n - 1)
            log_q = -lq / s2 + math.log(sq) - math.log(m)
            acc += log_p - log_q
        out[b] = acc / n
    return out


@nb.njit(parallel=True, cache=True)
def mmd2_energy(d_pp, d_pq, k_qq, bandwidth):
    """Unbiased squared MMD per batch (Gaussian kernel, fixed bandwidth); same as
    :func:`mi_lib.population.divergence.mmd2_from_sqdist` with the within-Q term ``k_qq``."""
    n_batch, n, _ = d_pp.shape
    m = d_pq.shape[2]
    s2 = 2.0 * bandwidth * bandwidth
    out = np.empty(n_batch)
    for b in nb.prange(n_batch):
        kpp = 0.0
        for i in range(n):
            for j in range(n):
                if j != i:
                    kpp += math.exp(-d_pp[b, i, j] / s2)
        kpq = 0.0
        for i in range(n):
            for j in range(m):
                kpq += math.exp(-d_pq[b, i, j] / s2)
        out[b] = kpp / (n * (n - 1)) + k_qq - 2.0 * kpq / (n * m)
    return out
