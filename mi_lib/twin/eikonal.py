"""Anisotropic Eikonal activation times on a tetrahedral mesh (cardiac electrophysiology).

The activation time ``T(x)`` (ms) of the myocardium solves the anisotropic Eikonal equation::

    sqrt(grad T^T  D(x)  grad T) = 1,      T(root_k) = t_k,

with ``D`` the conduction-velocity tensor (mm^2/ms^2)::

    D = v_f^2 f f^T + v_s^2 s s^T + v_n^2 n n^T

for the orthonormal fibre, sheet and sheet-normal directions ``f, s, n`` and the conduction
velocities ``v_f, v_s, v_n`` (mm/ms = m/s). The travel time along a short straight segment
``e`` (mm) of one element is ``sqrt(e^T D^-1 e)`` (ms); ``D^-1`` is the metric. The
solution is the earliest arrival ``T(x) = min_k (t_k + d_M(root_k, x))`` over the metric
distance ``d_M``.

Units: mm, ms, mm/ms. A mesh is ``points (n, 3) float64`` (mm) and ``tets (m, 4) int64``;
``D`` is constant in each tetrahedron (``(m, 3, 3)``, or one ``(3, 3)`` tensor for all).

Two solvers (:func:`activation_times`):

* ``"graph"`` -- shortest paths (``scipy.sparse.csgraph.dijkstra``) over the mesh edges
  (:func:`edge_graph`) from a super-source joined to each root by an edge of weight
  ``t_k``. Paths zig-zag along the edges, so the times overestimate the Eikonal solution
  (by ~3-6 % in a diagonal direction of a structured tetrahedral mesh).
* ``"fim"`` (default) -- a Fast-Iterative-Method local solver started from the graph
  solution, an upper bound. A node ``x`` is updated from each tetrahedron around it by the
  Hopf-Lax formula on the opposite face ``F = (x1, x2, x3)`` (Bornemann & Rasch 2006; Fu,
  Kirby & Whitaker 2013)::

      T(x) <- min( T(x),  min_{p in F}  T_lin(p) + sqrt((x - p)^T D^-1 (x - p)) ),

  with ``T_lin`` the linear interpolant of the face's times. The face minimum is computed
  in closed form (interior stationary point of a convex function; otherwise the minimum
  over the three edges of the face, each in closed form, which include the vertex, i.e.
  graph, updates). Updates only ever lower a time; nodes are swept in order of their
  current time (Gauss-Seidel), and a node is revisited only when a neighbour dropped by more
  than ``tol``; the iteration stops when no time changed by more than ``tol`` (ms). Planar
  fronts are reproduced exactly, but the linear interpolation of a curved front on the
  faces makes this first-order: ~5-6 % too slow for a point source 10 elements away.
  Hence a second candidate per tetrahedron, the straight segment from a root
  ``t_k + sqrt((x - r_k)^T D^-1 (x - r_k))``, exact for a point source in a homogeneous
  medium. It is used only (i) in tetrahedra whose ``D`` equals the root's (relative
  ``source_rtol``), (ii) if the segment back to the root enters the tetrahedron through the
  face opposite ``x``, and (iii) if the vertices of that face around the crossing point have
  their own times from the same root along straight segments. By induction the segment then
  runs through tissue of the root's ``D`` (to element resolution), so it never cuts through
  a slow region or across a cavity; elsewhere the local solver alone applies.

:func:`mi_lib.twin.anatomy.box_mesh` builds the conforming tetrahedral mesh of a box used
by the tests.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

# Local vertex pairs of the 6 edges of a tetrahedron.
_EDGE_I = np.array([0, 0, 0, 1, 1, 2])
_EDGE_J = np.array([1, 2, 3, 2, 3, 3])

METHODS = ("fim", "graph")


# ----------------------------------------------------------------------------- meshes


# ----------------------------------------------------------------------------- tensors


def conduction_tensors(fibres, sheets, normals, v_f, v_s, v_n) -> np.ndarray:
    """Conduction-velocity tensors ``D = sum_k v_k^2 a_k a_k^T`` (mm^2/ms^2).

    Parameters
    ----------
    fibres, sheets, normals : (m, 3) or (3,) float
        Unit fibre, sheet and sheet-normal directions per element (or per node); they should
        be orthonormal for ``v_k`` to be the conduction velocities along them.
    v_f, v_s, v_n : float or (m,) float
        Conduction velocities (mm/ms = m/s) along the fibres, sheets and normals.

    Returns
    -------
    D : (m, 3, 3) float64
        Symmetric positive-definite velocity tensors. The travel time (ms) of a short edge
        ``e`` (mm) is ``sqrt(e^T D^-1 e)``; a plane front with unit normal ``n`` moves at
        ``sqrt(n^T D n)`` (mm/ms).
    """
    axes = [np.atleast_2d(np.asarray(a, float)) for a in (fibres, sheets, normals)]
    m = max(len(a) for a in axes)
    d = np.zeros((m, 3, 3))
    for a, v in zip(axes, (v_f, v_s, v_n), strict=True):
        v = np.broadcast_to(np.asarray(v, float), (m,))
        a = np.broadcast_to(a, (m, 3))
        d += (v**2)[:, None, None] * a[:, :, None] * a[:, None, :]
    return d


def element_tensors(d_nodes, tets) -> np.ndarray:
    """Per-element tensors from per-node tensors: the mean over the 4 vertices.

    Parameters
    ----------
    d_nodes : (n, 3, 3) float
        Velocity tensors (mm^2/ms^2) at the nodes.
    tets : (m, 4) int

    Returns
    -------
    (m, 3, 3) float64
    """
    return np.asarray(d_nodes, float)[np.asarray(tets)].mean(axis=1)


def _metric(d, m: int) -> np.ndarray:
    """``D^-1`` per element, ``(m, 3, 3)`` C-contiguous, from ``(3, 3)`` or ``(m, 3, 3)``."""
    d = np.asarray(d, float)
    if d.shape == (3, 3):
        return np.ascontiguousarray(np.broadcast_to(np.linalg.inv(d), (m, 3, 3)))
    if d.shape != (m, 3, 3):
        raise ValueError(f"D must be (3, 3) or (n_tets={m}, 3, 3), got {d.shape}")
    return np.ascontiguousarray(np.linalg.inv(d))


# ----------------------------------------------------------------------------- graph


def edge_graph(points, tets, d_inv) -> sp.csr_matrix:
    """Sparse graph of the travel times along the mesh edges.

    The 6 edges of each tetrahedron get the travel time ``sqrt(e^T D^-1 e)`` (ms) in the
    metric of that tetrahedron; an edge shared by several tetrahedra takes the **minimum**
    of these times (the wave may run along the edge through any of them; this is also the
    vertex update of the local solver, so the ``"fim"`` times never exceed the graph's).

    Parameters
    ----------
    points : (n, 3) float
        Node positions (mm).
    tets : (m, 4) int
        Tetrahedra.
    d_inv : (m, 3, 3) or (3, 3) float
        Metric ``D^-1`` (ms^2/mm^2) per element.

    Returns
    -------
    scipy.sparse.csr_matrix, (n, n) float64
        Symmetric; entry ``(i, j)`` is the travel time (ms) of edge ``i-j``.
    """
    points = np.asarray(points, float)
    tets = np.asarray(tets, np.int64)
    n = len(points)
    d_inv = np.broadcast_to(np.asarray(d_inv, float), (len(tets), 3, 3))
    i = tets[:, _EDGE_I]  # (m, 6)
    j = tets[:, _EDGE_J]
    e = points[j] - points[i]  # (m, 6, 3)
    w = np.sqrt(np.maximum(np.einsum("mkj,mkj->mk", np.einsum("mij,mkj->mki", d_inv, e), e),
                           0.0))
    lo = np.minimum(i, j).ravel()
    hi = np.maximum(i, j).ravel()
    key = lo * n + hi
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    w = np.minimum.reduceat(w.ravel()[order], starts)
    lo, hi = lo[order][starts], hi[order][starts]
    return sp.csr_matrix((np.r_[w, w], (np.r_[lo, hi], np.r_[hi, lo])), shape=(n, n))


def _graph_times(graph: sp.csr_matrix, roots: np.ndarray, root_times: np.ndarray) -> np.ndarray:
    """Dijkstra from a super-source joined to root ``k`` by an edge of weight ``t_k``."""
    n = graph.shape[0]
    offset = 1.0 - root_times.min()  # all super-source weights >= 1 ms > 0
    g = graph.tocoo()
    src = sp.csr_matrix(
        (np.r_[g.data, root_times + offset],
         (np.r_[g.row, np.full(len(roots), n)], np.r_[g.col, roots])),
        shape=(n + 1, n + 1))
    t = dijkstra(src, directed=True, indices=n)
    return t[:n] - offset


# ----------------------------------------------------------------------------- local solver


@nb.njit(cache=True, inline="always")
def _quad(m, ax, ay, az, bx, by, bz):
    """``a^T M b`` for a symmetric 3x3 ``m``."""
    return (ax * (m[0, 0] * bx + m[0, 1] * by + m[0, 2] * bz)
            + ay * (m[1, 0] * bx + m[1, 1] * by + m[1, 2] * bz)
            + az * (m[2, 0] * bx + m[2, 1] * by + m[2, 2] * bz))


@nb.njit(cache=True, inline="always")
def _segment_update(m, ta, tb, ex, ey, ez, sx, sy, sz):
    """``min_{0<=l<=1} ta + l (tb - ta) + |e - l s|_M`` (``e = x - xa``, ``s = xb - xa``)."""
    a = _quad(m, sx, sy, sz, sx, sy, sz)
    b = _quad(m, sx, sy, sz, ex, ey, ez)
    c = _quad(m, ex, ey, ez, ex, ey, ez)
    best = min(ta + math.sqrt(max(c, 0.0)), tb + math.sqrt(max(a - 2.0 * b + c, 0.0)))
    dt = tb - ta
    if a > dt * dt:
        r = max(a * c - b * b, 0.0)
        u = -dt * math.sqrt(r / (a - dt * dt))
        lam = (b + u) / a
        if 0.0 < lam < 1.0:
            val = ta + lam * dt + math.sqrt(max(lam * (a * lam - 2.0 * b) + c, 0.0))
            best = min(best, val)
    return best


@nb.njit(cache=True)
def _tet_update(points, m, i, a, b, c, ta, tb, tc):
    """Hopf-Lax update of node ``i`` from the face ``(a, b, c)`` of one tetrahedron.

    ``min_{p in face} T_lin(p) + sqrt((x - p)^T M (x - p))``: the stationary point of this
    convex function in the face's plane if it lies inside the triangle, else the minimum
    over the three edges of the face.
    """
    x0, y0, z0 = points[a, 0], points[a, 1], points[a, 2]
    ex, ey, ez = points[i, 0] - x0, points[i, 1] - y0, points[i, 2] - z0
    s1x, s1y, s1z = points[b, 0] - x0, points[b, 1] - y0, points[b, 2] - z0
    s2x, s2y, s2z = points[c, 0] - x0, points[c, 1] - y0, points[c, 2] - z0
    a11 = _quad(m, s1x, s1y, s1z, s1x, s1y, s1z)
    a12 = _quad(m, s1x, s1y, s1z, s2x, s2y, s2z)
    a22 = _quad(m, s2x, s2y, s2z, s2x, s2y, s2z)
    det = a11 * a22 - a12 * a12
    if det > 1e-12 * a11 * a22:
        b1 = _quad(m, s1x, s1y, s1z, ex, ey, ez)
        b2 = _quad(m, s2x, s2y, s2z, ex, ey, ez)
        cc = _quad(m, ex, ey, ez, ex, ey, ez)
        i11, i12, i22 = a22 / det, -a12 / det, a11 / det
        d1, d2 = tb - ta, tc - ta
        k = d1 * (i11 * d1 + i12 * d2) + d2 * (i12 * d1 + i22 * d2)
        if k < 1.0:
            r = max(cc - (b1 * (i11 * b1 + i12 * b2) + b2 * (i12 * b1 + i22 * b2)), 0.0)
            q = math.sqrt(r / (1.0 - k))
            g1, g2 = b1 - d1 * q, b2 - d2 * q
            l1 = i11 * g1 + i12 * g2
            l2 = i12 * g1 + i22 * g2
            if l1 >= 0.0 and l2 >= 0.0 and l1 + l2 <= 1.0:
                return ta + l1 * d1 + l2 * d2 + q
    # boundary of the face: its three edges (vertex updates included)
    best = _segment_update(m, ta, tb, ex, ey, ez, s1x, s1y, s1z)
    best = min(best, _segment_update(m, ta, tc, ex, ey, ez, s2x, s2y, s2z))
    fx, fy, fz = points[i, 0] - points[b, 0], points[i, 1] - points[b, 1], points[i, 2] - points[b, 2]
    return min(best, _segment_update(m, tb, tc, fx, fy, fz, s2x - s1x, s2y - s1y, s2z - s1z))


@nb.njit(cache=True)
def _source_update(points, m, i, a, b, c, src, k, root_pos, root_time, eps):
    """Time of node ``i`` along the straight segment from root ``k`` (``inf`` if not valid).

    Valid when the segment from ``x_i`` back to the root enters this tetrahedron through its
    face ``(a, b, c)``, and the vertices of that face around the crossing point (weight >
    ``eps``) take their own times from the same root along straight segments (``src``).
    """
    xi, yi, zi = points[i, 0], points[i, 1], points[i, 2]
    dx, dy, dz = root_pos[k, 0] - xi, root_pos[k, 1] - yi, root_pos[k, 2] - zi
    x0, y0, z0 = points[a, 0], points[a, 1], points[a, 2]
    s1x, s1y, s1z = points[b, 0] - x0, points[b, 1] - y0, points[b, 2] - z0
    s2x, s2y, s2z = points[c, 0] - x0, points[c, 1] - y0, points[c, 2] - z0
    rx, ry, rz = xi - x0, yi - y0, zi - z0
    # solve  l1 s1 + l2 s2 - s d = x - a  by Cramer's rule
    n1x, n1y, n1z = s1y * s2z - s1z * s2y, s1z * s2x - s1x * s2z, s1x * s2y - s1y * s2x
    det = -(dx * n1x + dy * n1y + dz * n1z)
    if det == 0.0:
        return np.inf
    s = (rx * n1x + ry * n1y + rz * n1z) / det
    # l1 = det[r, s2, -d] / det, l2 = det[s1, r, -d] / det
    l1 = -(dx * (ry * s2z - rz * s2y) + dy * (rz * s2x - rx * s2z)
           + dz * (rx * s2y - ry * s2x)) / det
    l2 = -(dx * (s1y * rz - s1z * ry) + dy * (s1z * rx - s1x * rz)
           + dz * (s1x * ry - s1y * rx)) / det
    l0 = 1.0 - l1 - l2
    if s <= 0.0 or s > 1.0 + eps or l0 < -eps or l1 < -eps or l2 < -eps:
        return np.inf
    if (l0 > eps and src[a] != k) or (l1 > eps and src[b] != k) or (l2 > eps and src[c] != k):
        return np.inf
    return root_time[k] + math.sqrt(max(_quad(m, dx, dy, dz, dx, dy, dz), 0.0))


@nb.njit(cache=True)
def _fim(points, tets, d_inv, ptr, node_tets, t, src, root_pos, root_time, root_metric,
         source_rtol, tol, max_sweeps):
    """Iterate the local updates in place on ``t`` until no time drops by more than ``tol``.

    ``src[i] = k`` when ``t[i]`` is the straight-segment time from root ``k`` (else -1);
    the straight-segment candidate is used only in tetrahedra whose metric matches the
    root's (``root_metric``) within ``source_rtol`` (max-norm, relative). Returns the number
    of sweeps done.
    """
    n = t.shape[0]
    dirty = np.ones(n, np.bool_)
    eps = 1e-9
    sweeps = 0
    while sweeps < max_sweeps:
        todo = np.flatnonzero(dirty)
        if todo.size == 0:
            break
        todo = todo[np.argsort(t[todo])]
        sweeps += 1
        for i in todo:
            dirty[i] = False
            old = t[i]
            best = old
            best_src = np.inf
            k_src = -1
            for p in range(ptr[i], ptr[i + 1]):
                e = node_tets[p]
                a, b, c = -1, -1, -1
                for q in range(4):
                    v = tets[e, q]
                    if v != i:
                        if a < 0:
                            a = v
                        elif b < 0:
                            b = v
                        else:
                            c = v
                ta, tb, tc = t[a], t[b], t[c]
                if not math.isfinite(ta + tb + tc):
                    continue
                m = d_inv[e]
                # straight segment from a root shared by the face's vertices
                for k in (src[a], src[b], src[c]):
                    if k < 0:
                        continue
                    same = True
                    scale = np.abs(root_metric[k]).max()
                    for r in range(3):
                        for s in range(3):
                            if abs(m[r, s] - root_metric[k][r, s]) > source_rtol * scale:
                                same = False
                    if same:
                        val = _source_update(points, m, i, a, b, c, src, k, root_pos,
                                             root_time, eps)
                        if val < best_src:
                            best_src = val
                            k_src = k
                # T_lin >= min(ta, tb, tc): this face cannot lower t[i]
                if min(ta, tb, tc) >= best:
                    continue
                val = _tet_update(points, m, i, a, b, c, ta, tb, tc)
                if val < best:
                    best = val
            new = min(best, best_src)
            slack = 1e-12 * (1.0 + abs(new))
            changed = False
            if new < old:
                t[i] = new
                new_src = k_src if best_src <= new + slack else -1
                changed = old - new > tol or new_src != src[i]
                src[i] = new_src
            elif src[i] < 0 and k_src >= 0 and best_src <= old + slack:
                src[i] = k_src
                changed = True
            if changed:
                for p in range(ptr[i], ptr[i + 1]):
                    e = node_tets[p]
                    for q in range(4):
                        dirty[tets[e, q]] = True
                dirty[i] = False
    return sweeps


def _node_to_tets(tets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR adjacency node -> incident tetrahedra: ``(ptr (n + 1,), tet ids)``."""
    flat = tets.ravel()
    order = np.argsort(flat, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(flat, minlength=n), out=ptr[1:])
    return ptr, (order // 4).astype(np.int64)


# ----------------------------------------------------------------------------- public solver


def activation_times(points, tets, D, roots, root_times=0.0, method: str = "fim",
                     tol: float = 1e-6, max_sweeps: int = 500,
                     source_rtol: float = 1e-9) -> np.ndarray:
    """Activation times (ms) of an anisotropic Eikonal problem on a tetrahedral mesh.

    Parameters
    ----------
    points : (n, 3) float
        Node positions (mm).
    tets : (m, 4) int
        Tetrahedra (node numbers).
    D : (m, 3, 3) or (3, 3) float
        Conduction-velocity tensor (mm^2/ms^2) per element (:func:`conduction_tensors`;
        :func:`element_tensors` for per-node tensors), or one for the whole mesh.
        Isotropic velocity ``v``: ``v**2 * np.eye(3)``.
    roots : (k,) int
        Node numbers of the activation sites.
    root_times : float or (k,) float
        Their activation times (ms). A root reached earlier from another root activates
        earlier: ``T = min_k (t_k + d_M(root_k, x))`` everywhere, roots included.
    method : {"fim", "graph"}
        ``"graph"``: shortest paths along the mesh edges (overestimates by a few %).
        ``"fim"``: the graph solution refined by the iterated tetrahedral local solver.
    tol : float
        ``"fim"`` only: stop when no time drops by more than ``tol`` (ms) in a sweep.
    max_sweeps : int
        ``"fim"`` only: cap on the number of Gauss-Seidel sweeps.
    source_rtol : float
        ``"fim"`` only: the straight-segment term from a root applies in tetrahedra whose
        ``D^-1`` equals the root's within this relative tolerance (max-norm); a negative
        value switches it off (the tetrahedral local solver alone).

    Returns
    -------
    (n,) float64
        Activation times (ms); ``inf`` at nodes not connected to any root.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    points = np.ascontiguousarray(points, dtype=float)
    tets = np.ascontiguousarray(tets, dtype=np.int64)
    n = len(points)
    roots = np.atleast_1d(np.asarray(roots, np.int64))
    root_times = np.broadcast_to(np.asarray(root_times, float), roots.shape).copy()
    if roots.size == 0 or roots.min() < 0 or roots.max() >= n:
        raise ValueError("roots must be a non-empty set of node numbers")
    d_inv = _metric(D, len(tets))
    t = _graph_times(edge_graph(points, tets, d_inv), roots, root_times)
    if method == "graph":
        return t
    ptr, node_tets = _node_to_tets(tets, n)
    # a root is the straight-segment source of its own node if no other root beats it
    src = np.full(n, -1, np.int64)
    order = np.argsort(root_times)[::-1]  # the earliest root of a node wins
    own = root_times[order] <= t[roots[order]]
    src[roots[order][own]] = order[own]
    root_metric = d_inv[node_tets[ptr[roots]]]  # metric of one tetrahedron at each root
    _fim(points, tets, d_inv, ptr, node_tets, t, src, points[roots], root_times, root_metric,
         float(source_rtol), float(tol), int(max_sweeps))
    return t
