"""Conduction-velocity tensors, the local numbering of tetrahedra and sheet triangles, and
the edge graph of travel times.

Method and accuracy: ``docs/twin/eikonal.md``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# Local vertex pairs of the 6 edges of a tetrahedron.
_EDGE_I = np.array([0, 0, 0, 1, 1, 2])
_EDGE_J = np.array([1, 2, 3, 2, 3, 3])
# Face (a, b, c) opposite local vertex l, and the local edges (ab, ac, bc, la, lb, lc).
_FACE = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
_LOCAL_EDGE = {(int(i), int(j)): k
               for k, (i, j) in enumerate(zip(_EDGE_I, _EDGE_J, strict=True))}


def _local_edge(i: int, j: int) -> int:
    return _LOCAL_EDGE[(min(i, j), max(i, j))]


_FACE_EDGES = np.array([[_local_edge(a, b), _local_edge(a, c), _local_edge(b, c),
                         _local_edge(v, a), _local_edge(v, b), _local_edge(v, c)]
                        for v, (a, b, c) in enumerate(_FACE)], np.int64)

# Sheet triangles: local vertex pairs of the 3 edges, the edge opposite each local vertex,
# and (for vertex l) the local edges (ab, la, lb) of its opposite edge (a, b).
_TRI_I = np.array([0, 0, 1])
_TRI_J = np.array([1, 2, 2])
_TRI_OPP = np.array([[1, 2], [0, 2], [0, 1]])
_TRI_EDGES = np.array([[2, 0, 1], [1, 0, 2], [0, 1, 2]], np.int64)

METHODS = ("fim", "graph")


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


def _tensors(d, m: int) -> np.ndarray:
    """``D`` as a C-contiguous ``(1, 3, 3)`` (one for all) or ``(m, 3, 3)`` float64 array."""
    d = np.asarray(d, float)
    if d.shape == (3, 3):
        return np.ascontiguousarray(d[None])
    if d.shape != (m, 3, 3):
        raise ValueError(f"D must be (3, 3) or (n_tets={m}, 3, 3), got {d.shape}")
    return np.ascontiguousarray(d)


# ----------------------------------------------------------------------------- graph


def edge_graph(points, tets, d_inv) -> sp.csr_matrix:
    """Sparse graph of the travel times along the mesh edges.

    The 6 edges of each tetrahedron get the travel time ``sqrt(e^T D^-1 e)`` (ms) in the
    metric of that tetrahedron; an edge shared by several tetrahedra takes the **minimum**
    of these times (the wave may run along the edge through any of them; this is also the
    vertex update of the local solver, so the ``"fim"`` times never exceed the graph's).
    The solvers use the same weights without building this matrix.

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
