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

:class:`EikonalSolver` precomputes everything that depends on the mesh only (unique edges
and the tetrahedron slots of each, node -> neighbour and node -> tetrahedron adjacency with
the face opposite each node in each of its tetrahedra, volumes and edge lengths); each
:meth:`EikonalSolver.solve` computes, in one pass over the tetrahedra, the 6 squared metric
edge lengths of each (the solvers take all their metric geometry from them: the Gram matrix
of a face by polarisation, the heights of the nodes over the faces from the volume) and the
edge travel times. Many scenarios on one mesh whose tensors are ``k_e^2 D`` (a velocity
factor ``k_e`` per tetrahedron: scar, border zone) skip that pass:
:meth:`EikonalSolver.prepare` caches the metric geometry of ``D`` once and
:meth:`EikonalSolver.solve_scaled` derives that of ``k^2 D`` from it (the metric
``D^-1 / k_e^2``: squared lengths and heights over ``k_e^2``, the edge times the minimum
over the tetrahedra again; only where the factors changed since its last call), equal
to :meth:`EikonalSolver.solve` of those tensors to round-off. :func:`activation_times` is
the one-call form.

A **sheet** of zero thickness (``EikonalSolver(points, tets, sheet=triangles)``, tensors
``D_sheet`` per triangle) conducts along a surface of the mesh at its own speeds: the
subendocardial Purkinje network, thinner than any element. Its nodes are also updated
from the opposite edge of each of their sheet triangles (the 2-D Hopf-Lax update of the
edge, in the triangle's metric; factored like a face), and an edge of the sheet takes the
smaller of its travel times through the tetrahedra and along the sheet. Refining the mesh
refines the sheet (:func:`refine_sheet`), so the problem is the same at every resolution:
unlike a layer of elements, nothing about it depends on the edge length. Two solvers:

* ``"graph"`` -- shortest paths (Dijkstra, binary heap, the roots as sources started at
  their times ``t_k``) along the mesh edges, an edge shared by several tetrahedra taking the
  smallest of its travel times (:func:`edge_graph`). Paths zig-zag along the edges, so the
  times overestimate the Eikonal solution, by an error that does not vanish as the mesh is
  refined (7-14 % on the shipped heart at 2 mm, 13-17 % in the two-layer box below).
* ``"fim"`` (default) -- the local solver of the Fast Iterative Method. A node ``x`` is
  updated from each tetrahedron around it by the Hopf-Lax formula on the opposite face
  ``F = (x1, x2, x3)`` (Bornemann & Rasch 2006; Fu, Kirby & Whitaker 2013)::

      T(x) <- min( T(x),  min_{p in F}  T_F(p) + sqrt((x - p)^T D^-1 (x - p)) ),

  ``T_F`` an interpolant of the face's times; for the linear one the minimum is in closed
  form (the stationary point of a convex function if inside the triangle, else on an edge).
  Nodes are updated in the order of a priority queue (Dijkstra's: a node's key is its
  smallest known upper bound ``T(y) + |x - y|`` over updated neighbours ``y``, so the queue
  follows the front), 1.2-1.3 updates per node in all instead of whole sweeps; faces that
  cannot lower a time (by a bound: the earliest vertex time plus the metric height of
  ``x`` over the face) are skipped. The update is kept causal: vertices later than ``x``
  take no part (a face with one is reduced to the edge joining the two earlier vertices;
  the vertex updates are the queue's relaxation), and a node updated before is queued
  again when a neighbour drops by more than ``tol`` (ms) to below its time + ``tol``. This
  reaches the FIM fixed point where the update is causal, i.e. in tetrahedra without obtuse
  metric angles; where it is not (the Hopf-Lax minimiser may lean on a slightly later
  vertex) the result is an upper bound of it: an oblique plane front on a jittered box is
  0.15 % too slow instead of 0.01 %.

  **Factored interpolant** (``factored=True``, default). With the linear interpolant the
  local solver is first order, and its error is dominated by the strongly curved fronts
  near the roots: a point source is 6 % too slow 10 elements away. So on a face whose three
  vertices owe their times to the same root ``k``, ``T_F`` is the additive factorisation
  ``T = t_k + T0_k + tau`` with ``tau`` linear (Fomel, Luo & Zhao 2009; Luo, Qian & Burridge
  2014), ``T0_k(x) = |x - r_k|_{M_k}`` the exact point-source solution for the metric
  ``M_k`` of the fastest element at the root (on a fast sheet, the mean of the sheet's
  tensors around it): ``T_F = T_lin - (lin(T0_k) - T0_k)``, the linear interpolant less the cone's own
  interpolation error, which is >= 0, ~ h^2 / (8 v r) at a distance ``r`` from the root.
  The minimum over the face is approximated by the better of two points: the linear
  problem's minimiser, and the point where the straight segment from ``x`` to the root
  crosses the face, tried in the tetrahedra of the root's medium (the same speeds; a
  homogeneous region is then solved exactly). Elsewhere it is not: where the root's medium
  is a faster sheet (the endocardium), the segment through the wall models no front, and
  on the heart the candidate only cost time (8 ms of 46) for no gain in accuracy.
  Assumption: ``tau`` is smooth, i.e. each root's front is locally a point-source front --
  true near the root whatever ``D``, where the error is singular; far from it the
  correction fades away. A homogeneous medium around a root is thus solved exactly (the
  crossing point reproduces ``t_k + T0_k(x)`` by induction; a node whose segment crosses
  its upstream face next to a later node is updated again after that node), while a slow
  region is never short-cut: ``T_F`` interpolates the times actually reached on the face,
  not straight-line times. Roots with another root within two edges form an extended
  source (a plane, a patch) whose front is not a cone: they are not factored, nor are faces
  whose vertices stem from several roots (colliding fronts). Nor is a face whose times
  run ahead of the root's cone by more than a factor two (``T - t_k < T0_k / 2`` at a
  vertex, :data:`_CONE_FLOOR`): the front reached it round through much faster tissue (a
  root inside a scar), and the slow cone's correction would only bias the times low; and
  no factored candidate may be earlier than its face's earliest vertex (causality).

Accuracy (:func:`reference_error`: Richardson extrapolation from two uniform refinements,
nodes more than one edge from a root; mean relative errors):

* the two-layer box of the tests (a point source over a twice faster half-space:
  refraction and head waves; closed form): ``"fim"`` 0.57 %, local solver alone 7.9 %,
  ``"graph"`` 17 %; observed order 1.19, the reference within 0.07 % of the closed form;
* the sheet box of the tests (a point source on a surface sheet three times faster than
  the bulk: head waves; closed form): ``"fim"`` 0.29 % (0.15 % refined once), observed
  order 0.94, the reference within 0.06 % of the closed form; without the sheet 52 %;
* the shipped heart at 2 mm with the conduction of the forward model
  (:mod:`mi_lib.twin.forward`: fibres, the endocardial sheet -- 1.5 apicobasal, 1.0
  circumferential -- 7 roots at 0-32 ms), healthy: ``"fim"`` 0.82 % (0.33 ms mean; 0.37 % and
  0.19 % after one and two refinements, observed order 1.47), ``"graph"`` 7.0 %; with a
  transmural septal infarct (roots in the scar) 0.76 %, ``"graph"`` 6.1 % (benchmark
  ``eikonal.relative_error``). The earlier model, whose endocardial layer was the
  tetrahedra with a face on an endocardium (3:1 anisotropic across the wall, in elements
  not aligned with it: obtuse metric angles, where the causal update is an upper bound),
  was at 1.10 % with an observed order of only 0.30;
* a thick fast layer instead (every tetrahedron touching an endocardium, 56 % of them;
  stand-in fibres): ``"fim"`` 0.76 %, ``"graph"`` 12.6 %, but an observed order of only
  0.41 -- fronts bending around the faceted cavities inside the layer, which refinement
  keeps: pre-asymptotic -- so the p = 1 reference is optimistic: 1.25 % at the observed
  order (1.06 % and 1.50 % with the layer anisotropic along the fibres).

:func:`mi_lib.twin.anatomy.box_mesh` builds the conforming tetrahedral mesh of a box used
by the tests; :func:`mi_lib.twin.anatomy.refine_uniform` the refined meshes.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import scipy.sparse as sp
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

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


# ----------------------------------------------------------------------------- kernels


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint the CPU to fetch ``arr[idx]`` into the cache (``llvm.prefetch``; no effect on
    the result). The local solver is bound by the latency of its random accesses to the
    next node's adjacency, which this overlaps with the work on the current node."""
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], ary, [args[1]],
                                       wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch")  # unmangled: LLVM upgrades it to its pointer type
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@nb.njit(cache=True)
def _prefetch_probe(a):
    _prefetch(a, 0)


try:  # a numba / LLVM without the hint: fall back on a no-op (same results, ~15 % slower)
    _prefetch_probe(np.zeros(1))
except Exception:  # noqa: BLE001 - any compilation failure of the hint
    @nb.njit(inline="always")
    def _prefetch(arr, idx):  # noqa: F811
        return None


@nb.njit(cache=True, inline="always")
def _inverse(d, q, k2):
    """The metric ``(k2 D_q)^-1`` of the symmetrised ``D_q = d[q]`` (``k2 != 1``: each entry
    of ``D_q`` times ``k2`` first, as ``k2 * d`` would), 6 components, its determinant and
    whether ``D_q`` is positive definite."""
    if k2 == 1.0:
        d00, d01, d02, d10, d11 = d[q, 0, 0], d[q, 0, 1], d[q, 0, 2], d[q, 1, 0], d[q, 1, 1]
        d12, d20, d21, d22 = d[q, 1, 2], d[q, 2, 0], d[q, 2, 1], d[q, 2, 2]
    else:
        d00, d01, d02 = d[q, 0, 0] * k2, d[q, 0, 1] * k2, d[q, 0, 2] * k2
        d10, d11, d12 = d[q, 1, 0] * k2, d[q, 1, 1] * k2, d[q, 1, 2] * k2
        d20, d21, d22 = d[q, 2, 0] * k2, d[q, 2, 1] * k2, d[q, 2, 2] * k2
    a = d00
    b = 0.5 * (d01 + d10)
    c = 0.5 * (d02 + d20)
    f = d11
    g = 0.5 * (d12 + d21)
    h = d22
    c00 = f * h - g * g
    c01 = c * g - b * h
    c02 = b * g - c * f
    det = a * c00 + b * c01 + c * c02
    ok = True
    if not (a > 0.0 and a * f - b * b > 0.0 and det > 0.0 and math.isfinite(det)):
        ok = False
        det = 1.0
    detm = 1.0 / det
    return (c00 * detm, c01 * detm, c02 * detm, (a * h - c * c) * detm, (b * c - a * g) * detm,
            (a * f - b * b) * detm, detm, ok)


@nb.njit(cache=True)
def _traces(d, k, tets):
    """``trace((k_e^2 D_e)^-1)`` of the tetrahedra ``tets``, bitwise as :func:`_geometry`
    computes it for the tensors ``k^2 D`` (the root metrics choose by it, and the traces of
    tetrahedra with the same speeds tie up to round-off)."""
    out = np.empty(tets.shape[0])
    for p in range(tets.shape[0]):
        e = tets[p]
        ke = k[e]
        m00, m01, m02, m11, m12, m22, detm, ok = _inverse(d, 0 if d.shape[0] == 1 else e,
                                                          ke * ke)
        out[p] = m00 + m11 + m22
    return out


@nb.njit(cache=True)
def _geometry(points, tets, d, vol36, slot_edge, inc_slot, adj_edge, sq, h2, inc_h2, adj_w,
              trace):
    """Per-solve metric geometry of every tetrahedron and edge, from the tensors ``D``.

    Fills ``sq[e, k]``, the squared length of local edge ``k`` of tetrahedron ``e`` in the
    metric ``D_e^-1``; ``adj_w[q]``, the travel time of the edge of adjacency entry ``q``
    (edge ``adj_edge[q]``; the smallest over the tetrahedra sharing it); ``trace[e]``, the
    trace of ``D_e^-1``; and, for the local solver (``inc_slot``, the ``4 e + j`` of each
    incidence, not empty), ``h2[e, j]``, the squared metric height of vertex ``j`` over its
    opposite face, gathered into ``inc_h2`` in incidence order. ``d`` is ``(1, 3, 3)`` (one
    tensor for all) or ``(m, 3, 3)``, symmetrised; ``vol36 = 36 V^2`` (Euclidean volumes).
    Returns False if a ``D`` is not symmetric positive definite.
    """
    ok = True
    const = d.shape[0] == 1
    heights = inc_slot.shape[0] > 0
    m00 = m01 = m02 = m11 = m12 = m22 = detm = 0.0
    w = np.full(adj_edge.shape[0] // 2, np.inf)
    for e in range(tets.shape[0]):
        if e == 0 or not const:
            q = 0 if const else e
            m00, m01, m02, m11, m12, m22, detm, good = _inverse(d, q, 1.0)
            ok = ok and good
        trace[e] = m00 + m11 + m22
        v0, v1, v2, v3 = tets[e, 0], tets[e, 1], tets[e, 2], tets[e, 3]
        for k in range(6):
            i = v0 if k < 3 else (v1 if k < 5 else v2)
            j = v1 if k == 0 else (v2 if (k == 1 or k == 3) else v3)
            x = points[j, 0] - points[i, 0]
            y = points[j, 1] - points[i, 1]
            z = points[j, 2] - points[i, 2]
            val = (m00 * x * x + m11 * y * y + m22 * z * z
                   + 2.0 * (m01 * x * y + m02 * x * z + m12 * y * z))
            sq[e, k] = val
            u = slot_edge[6 * e + k]
            if val < w[u]:
                w[u] = val
        for j in range(4 if heights else 0):
            lab = sq[e, _FACE_EDGES[j, 0]]
            lac = sq[e, _FACE_EDGES[j, 1]]
            lbc = sq[e, _FACE_EDGES[j, 2]]
            a12 = 0.5 * (lab + lac - lbc)
            det_face = lab * lac - a12 * a12
            h2[e, j] = vol36[e] * detm / det_face if det_face > 0.0 else 0.0
    for u in range(w.shape[0]):
        w[u] = math.sqrt(max(w[u], 0.0))
    for q in range(adj_edge.shape[0]):
        adj_w[q] = w[adj_edge[q]]
    flat = h2.ravel()  # gathered in node order (the local solver's access order)
    for q in range(inc_slot.shape[0]):
        inc_h2[q] = flat[inc_slot[q]]
    return ok


@nb.njit(cache=True)
def _sheet_geometry(points, tris, d, sq_s, trace_s):
    """:func:`_geometry` for the sheet triangles: ``sq_s[t, k]``, the squared length of
    local edge ``k`` (:data:`_TRI_I`, :data:`_TRI_J`) of triangle ``t`` in the metric
    ``D_t^-1``, and ``trace_s[t]``. Returns False if a ``D`` is not positive definite."""
    ok = True
    for t in range(tris.shape[0]):
        m00, m01, m02, m11, m12, m22, detm, good = _inverse(d, t, 1.0)
        ok = ok and good
        trace_s[t] = m00 + m11 + m22
        for k in range(3):
            i = tris[t, 0] if k < 2 else tris[t, 1]
            j = tris[t, 1] if k == 0 else tris[t, 2]
            x = points[j, 0] - points[i, 0]
            y = points[j, 1] - points[i, 1]
            z = points[j, 2] - points[i, 2]
            sq_s[t, k] = (m00 * x * x + m11 * y * y + m22 * z * z
                          + 2.0 * (m01 * x * y + m02 * x * z + m12 * y * z))
    return ok


@nb.njit(cache=True)
def _fold_sheet(sq_s, sheet_edge, edge_adj, adj_w):
    """The sheet's edge travel times into ``adj_w``: an edge of the sheet takes the smaller
    of its time through the tetrahedra and along the sheet."""
    flat = sq_s.reshape(-1)
    for q in range(flat.shape[0]):
        w = math.sqrt(max(flat[q], 0.0))
        u = sheet_edge[q]
        if w < adj_w[edge_adj[u, 0]]:
            adj_w[edge_adj[u, 0]] = w
            adj_w[edge_adj[u, 1]] = w


@nb.njit(cache=True)
def _rescale(sq_h, inc_h2_h, trace_h, trace_s_h, k, last_k, k_s, last_k_s, slot_edge,
             edge_ptr, edge_slot, tet_inc, edge_adj, sq, inc_h2, adj_w, trace, trace_s):
    """The metric geometry of the tensors ``k_e^2 D_e`` from that of ``D`` (``*_h``,
    :func:`_geometry`, :func:`_sheet_geometry`), in place. The metric is ``D^-1 / k_e^2``:
    the squared metric edge lengths, the squared heights and the trace scale by
    ``1 / k_e^2``. ``sq_h``/``sq`` are the flat squared lengths, the tetrahedra's ``6 m``
    first, then the sheet triangles' ``3 s`` (factors ``k_s``). Only the elements whose
    factor changed since the last call (``last_k``, ``last_k_s``, updated) are redone:
    their squared lengths, heights and trace, and the travel times of their edges (the
    minimum over all the slots of each, ``edge_slot`` the slots of edge ``u`` in
    ``edge_ptr[u]:edge_ptr[u + 1]``; ``tet_inc[4 e + j]`` the incidence of slot ``4 e + j``,
    ``edge_adj[u]`` the two adjacency entries of ``u``). The same values as a full pass;
    the factors must be positive and finite."""
    m = k.shape[0]
    mark = np.zeros(edge_ptr.shape[0] - 1, np.bool_)
    todo = np.empty(sq.shape[0], np.int64)
    n_todo = 0
    for e in range(m + k_s.shape[0]):
        tet = e < m
        ke = k[e] if tet else k_s[e - m]
        if ke == (last_k[e] if tet else last_k_s[e - m]):
            continue
        se = 1.0 / (ke * ke)
        if tet:
            last_k[e] = ke
            trace[e] = trace_h[e] * se
            first, count = 6 * e, 6
            for j in range(4):
                q = tet_inc[4 * e + j]
                inc_h2[q] = inc_h2_h[q] * se
        else:
            last_k_s[e - m] = ke
            trace_s[e - m] = trace_s_h[e - m] * se
            first, count = 6 * m + 3 * (e - m), 3
        for j in range(first, first + count):
            sq[j] = sq_h[j] * se
            u = slot_edge[j]
            if not mark[u]:
                mark[u] = True
                todo[n_todo] = u
                n_todo += 1
    for r in range(n_todo):
        u = todo[r]
        w = np.inf
        for q in range(edge_ptr[u], edge_ptr[u + 1]):
            val = sq[edge_slot[q]]
            if val < w:
                w = val
        w = math.sqrt(max(w, 0.0))
        adj_w[edge_adj[u, 0]] = w
        adj_w[edge_adj[u, 1]] = w


@nb.njit(cache=True, inline="always")
def _sift_up(key, node, where, pos):
    """Restore the min-heap ``key``/``node`` (``where``: heap position of each node) after the
    key at ``pos`` decreased."""
    k, v = key[pos], node[pos]
    while pos > 0:
        up = (pos - 1) >> 1
        if key[up] <= k:
            break
        key[pos], node[pos] = key[up], node[up]
        where[node[pos]] = pos
        pos = up
    key[pos], node[pos] = k, v
    where[v] = pos


@nb.njit(cache=True, inline="always")
def _sift_down(key, node, where, pos, size):
    """Restore the min-heap after the key at ``pos`` increased."""
    k, v = key[pos], node[pos]
    while True:
        child = 2 * pos + 1
        if child >= size:
            break
        if child + 1 < size and key[child + 1] < key[child]:
            child += 1
        if key[child] >= k:
            break
        key[pos], node[pos] = key[child], node[child]
        where[node[pos]] = pos
        pos = child
    key[pos], node[pos] = k, v
    where[v] = pos


@nb.njit(cache=True, inline="always")
def _push(key, node, where, size, j, value):
    """Queue node ``j`` with key ``value``, or lower its key if queued; the new heap size."""
    if where[j] < 0:
        key[size], node[size] = value, j
        where[j] = size
        size += 1
    else:
        key[where[j]] = value
    _sift_up(key, node, where, where[j])
    return size


@nb.njit(cache=True, inline="always")
def _pop(key, node, where, size):
    """Remove the heap's first node; the new heap size (the caller read ``node[0]``)."""
    where[node[0]] = -1
    size -= 1
    if size > 0:
        key[0], node[0] = key[size], node[size]
        where[node[0]] = 0
        _sift_down(key, node, where, 0, size)
    return size


@nb.njit(cache=True)
def _dijkstra(adj_ptr, adj, adj_w, roots, root_times):
    """Multi-source Dijkstra (indexed binary heap) along the edges: the shortest times."""
    n = adj_ptr.shape[0] - 1
    t = np.full(n, np.inf)
    key = np.empty(n)
    node = np.empty(n, np.int32)
    where = np.full(n, -1, np.int32)  # heap position, -1 if not in the heap
    done = np.zeros(n, np.bool_)
    size = 0
    for k in range(roots.shape[0]):
        r = roots[k]
        if root_times[k] < t[r]:
            t[r] = root_times[k]
            size = _push(key, node, where, size, r, t[r])
    while size > 0:
        i = node[0]
        ti = key[0]
        done[i] = True
        size = _pop(key, node, where, size)
        for q in range(adj_ptr[i], adj_ptr[i + 1]):
            j = adj[q]
            cand = ti + adj_w[q]
            if cand < t[j] and not done[j]:
                t[j] = cand
                size = _push(key, node, where, size, j, cand)
    return t


@nb.njit(cache=True, inline="always")
def _segment(ta, tb, a, b, c):
    """``min_{0<l<1} ta + l (tb - ta) + |e - l s|`` with ``a = |s|^2, b = s.e, c = |e|^2``.

    The interior stationary point only (value ``inf`` if there is none): the end points are
    vertex updates, which the queue's relaxation ``T(x) <= T(y) + w(y, x)`` already applies.
    Returns the value and the minimiser ``l``.
    """
    dt = tb - ta
    s = a - dt * dt
    if not s > 0.0:
        return np.inf, 0.0
    inv_a = 1.0 / a
    l0 = b * inv_a
    r = max(c - b * l0, 0.0)  # squared distance from x to the line of the edge
    g = math.sqrt(r * a / s)  # the distance from x to the minimiser
    lam = l0 - dt * g * inv_a
    if not 0.0 < lam < 1.0:
        return np.inf, 0.0
    return ta + l0 * dt + g * s * inv_a, lam


@nb.njit(cache=True, inline="always")
def _face(ta, tb, tc, a11, a12, a22, b1, b2, cc):
    """Hopf-Lax update from a face with the linear interpolant of its times.

    Metric Gram quantities with origin at vertex ``a``: ``a11 = |s1|^2, a12 = s1.s2,
    a22 = |s2|^2, b1 = s1.e, b2 = s2.e, cc = |e|^2`` (``s1 = xb - xa, s2 = xc - xa,
    e = x - xa``). Returns the value and the barycentric coordinates ``(l1, l2)`` (of ``b``
    and ``c``) of the minimiser: the stationary point of the convex objective in the face's
    plane if it lies inside the triangle, else the best point of the edges whose side of the
    triangle it lies beyond (the constrained minimum of a strictly convex function is on one
    of those).
    """
    det = a11 * a22 - a12 * a12
    d1, d2 = tb - ta, tc - ta
    ab = ac = bc = True
    if det > 1e-12 * a11 * a22:
        inv = 1.0 / det
        i11, i12, i22 = a22 * inv, -a12 * inv, a11 * inv
        k = d1 * (i11 * d1 + i12 * d2) + d2 * (i12 * d1 + i22 * d2)
        if k < 1.0:
            r = max(cc - (b1 * (i11 * b1 + i12 * b2) + b2 * (i12 * b1 + i22 * b2)), 0.0)
            q = math.sqrt(r / (1.0 - k))
            g1, g2 = b1 - d1 * q, b2 - d2 * q
            l1 = i11 * g1 + i12 * g2
            l2 = i12 * g1 + i22 * g2
            if l1 >= 0.0 and l2 >= 0.0 and l1 + l2 <= 1.0:
                return ta + l1 * d1 + l2 * d2 + q, l1, l2
            ab, ac, bc = l2 < 0.0, l1 < 0.0, l1 + l2 > 1.0
    best, l1, l2 = np.inf, 0.0, 0.0
    if ab:
        best, lam = _segment(ta, tb, a11, b1, cc)
        l1, l2 = lam, 0.0
    if ac:
        val, lam = _segment(ta, tc, a22, b2, cc)
        if val < best:
            best, l1, l2 = val, 0.0, lam
    if bc:  # edge b -> c: s = s2 - s1, e' = e - s1
        val, lam = _segment(tb, tc, a11 + a22 - 2.0 * a12, b2 - b1 - a12 + a11,
                            cc - 2.0 * b1 + a11)
        if val < best:
            best, l1, l2 = val, 1.0 - lam, lam
    return best, l1, l2


@nb.njit(cache=True, inline="always")
def _cone(points, i, root_pos, root_m, k):
    """``|x_i - r_k|`` in the root's metric (6 unique components)."""
    x = points[i, 0] - root_pos[k, 0]
    y = points[i, 1] - root_pos[k, 1]
    z = points[i, 2] - root_pos[k, 2]
    m = root_m[k]
    return math.sqrt(max(m[0] * x * x + m[3] * y * y + m[5] * z * z
                         + 2.0 * (m[1] * x * y + m[2] * x * z + m[4] * y * z), 0.0))


@nb.njit(cache=True, inline="always")
def _cone_at(points, a, b, c, l1, l2, root_pos, root_m, k):
    """``T0_k`` at the point of barycentric coordinates ``(1 - l1 - l2, l1, l2)`` of a face."""
    m = root_m[k]
    l0 = 1.0 - l1 - l2
    px = l0 * points[a, 0] + l1 * points[b, 0] + l2 * points[c, 0] - root_pos[k, 0]
    py = l0 * points[a, 1] + l1 * points[b, 1] + l2 * points[c, 1] - root_pos[k, 1]
    pz = l0 * points[a, 2] + l1 * points[b, 2] + l2 * points[c, 2] - root_pos[k, 2]
    return math.sqrt(max(m[0] * px * px + m[3] * py * py + m[5] * pz * pz
                         + 2.0 * (m[1] * px * py + m[2] * px * pz + m[4] * py * pz), 0.0))


@nb.njit(cache=True, inline="always")
def _crossing(points, i, a, b, c, dx, dy, dz):
    """Barycentric coordinates ``(u1, u2)`` (of ``b``, ``c``) where the segment from ``x_i``
    to ``x_i + d`` crosses the face ``(a, b, c)``, or ``(-1, -1)`` if it misses the face.

    Solves ``u1 s1 + u2 s2 - s d = e`` (``s1 = xb - xa``, ``s2 = xc - xa``, ``e = x_i - xa``)
    for ``0 < s <= 1`` by Cramer's rule, testing the signs before any division (the segment
    misses most faces).
    """
    xa, ya, za = points[a, 0], points[a, 1], points[a, 2]
    s1x, s1y, s1z = points[b, 0] - xa, points[b, 1] - ya, points[b, 2] - za
    s2x, s2y, s2z = points[c, 0] - xa, points[c, 1] - ya, points[c, 2] - za
    ex, ey, ez = points[i, 0] - xa, points[i, 1] - ya, points[i, 2] - za
    nx, ny, nz = s1y * s2z - s1z * s2y, s1z * s2x - s1x * s2z, s1x * s2y - s1y * s2x
    det = -(dx * nx + dy * ny + dz * nz)
    num = ex * nx + ey * ny + ez * nz
    if det < 0.0:
        det, num, sign = -det, -num, -1.0
    else:
        sign = 1.0
    tiny = 1e-9 * det
    if not (num > 0.0 and num <= det + tiny):
        return -1.0, -1.0
    w1 = -sign * (dx * (ey * s2z - ez * s2y) + dy * (ez * s2x - ex * s2z)
                  + dz * (ex * s2y - ey * s2x))
    w2 = -sign * (dx * (s1y * ez - s1z * ey) + dy * (s1z * ex - s1x * ez)
                  + dz * (s1x * ey - s1y * ex))
    if w1 < -tiny or w2 < -tiny or w1 + w2 > det + tiny:
        return -1.0, -1.0
    u1, u2 = max(w1, 0.0), max(w2, 0.0)
    tot = max(u1 + u2, det)
    return u1 / tot, u2 / tot


@nb.njit(cache=True, inline="always")
def _at_crossing(points, i, a, b, c, ta, tb, tc, c0a, c0b, c0c, lab, a12, lac, b1, b2, lia,
                 fx, fy, fz, root_pos, root_m, k):
    """The factored objective where the segment from ``x_i`` to root ``k`` (direction
    ``f``) crosses the face, with the crossing's barycentric coordinates (``inf`` and
    ``-1`` if it misses the face)."""
    u1, u2 = _crossing(points, i, a, b, c, fx, fy, fz)
    if u1 < 0.0:
        return np.inf, -1.0, -1.0, -1.0
    u0 = max(1.0 - u1 - u2, 0.0)
    dist2 = lia - 2.0 * (u1 * b1 + u2 * b2) + u1 * u1 * lab + 2.0 * u1 * u2 * a12 + u2 * u2 * lac
    return (u0 * (ta - c0a) + u1 * (tb - c0b) + u2 * (tc - c0c)
            + _cone_at(points, a, b, c, u1, u2, root_pos, root_m, k)
            + math.sqrt(max(dist2, 0.0))), u0, u1, u2


#: A face is factored only where its times are at least this fraction of the root's cone
#: (``T - t_k >= _CONE_FLOOR T0_k`` at every reached vertex). Where the front that reaches
#: a face came round through tissue more than ``1 / _CONE_FLOOR`` times faster than the
#: root's own (a root in a scar), ``tau = T - t_k - T0_k`` is far from smooth and the cone's
#: correction only biases the times low, face after face; such faces take the plain local
#: solver. (A two-fold faster half-space, the refraction test, stays factored.)
_CONE_FLOOR = 0.5


@nb.njit(cache=True)
def _fim(points, sq, inc_h2, ell, node_ell, inc_ptr, inc, sinc_ptr, sinc, sq_s, adj_ptr,
         adj, adj_w, roots, root_times, point, trace, root_trace, root_pos, root_m,
         root_stretch, factored, tol, max_updates):
    """Activation times by the queued local solver (see the module docstring).

    Mesh: ``inc[p] = (a, b, c, 4 e + j)`` when node ``i`` is local vertex ``j`` of
    tetrahedron ``e`` and ``(a, b, c)`` the opposite face (``p`` in
    ``inc_ptr[i]:inc_ptr[i + 1]``), ``inc_h2[p]`` the squared metric height of ``i`` over
    it; ``sq`` the squared metric edge lengths and ``trace`` the metric's trace per
    tetrahedron; ``sinc[p] = (a, b, 3 t + j)`` when node ``i`` is local vertex ``j`` of
    sheet triangle ``t`` and ``(a, b)`` the opposite edge (``p`` in
    ``sinc_ptr[i]:sinc_ptr[i + 1]``), ``sq_s`` the triangles' squared metric edge lengths; ``ell[e]`` its longest (Euclidean) edge, ``node_ell[i]`` the longest around
    ``i``; ``adj``/``adj_w`` the neighbours (CSR) and edge travel times. Roots: their nodes
    and times, whether each is a point source (``point``), and the metric (6 components),
    its trace and the square root of its largest eigenvalue (``root_stretch``) of each.
    Returns ``(t, updates)``.

    Queue: a node's key is its smallest known upper bound, ``T(y) + w(y, x)`` over updated
    neighbours ``y`` (Dijkstra's), and ``t`` holds that bound until the node is updated.
    Per node: ``src``, the root its time is owed to; ``c0 = T0_src(x)``; ``last``, the time
    its neighbours were last told about; ``dep``, later nodes next to which the segment to
    the root crosses its upstream face (it is updated again when one of them drops).
    """
    n = adj_ptr.shape[0] - 1
    inc_flat = inc.reshape(-1)
    t = np.full(n, np.inf)
    last = np.full(n, np.inf)  # the time of a node its neighbours were last told about
    dep = np.full((n, 2), -1, np.int32)  # later nodes a node's time depends on
    src = np.full(n, -1, np.int32)
    c0 = np.zeros(n)
    key = np.empty(n)
    node = np.empty(n, np.int32)
    where = np.full(n, -1, np.int32)  # heap position, -1 if not queued
    size = 0
    for k in range(roots.shape[0]):
        r = roots[k]
        if root_times[k] < t[r]:
            t[r] = root_times[k]
            src[r] = k
            size = _push(key, node, where, size, r, t[r])
    updates = 0
    while size > 0 and updates < max_updates:
        i = node[0]
        size = _pop(key, node, where, size)
        updates += 1
        if size > 0:  # the next node's lists, fetched while this one is updated
            nxt = node[0]
            p0, q0 = inc_ptr[nxt], adj_ptr[nxt]
            for off in range(0, inc_ptr[nxt + 1] - p0, 4):
                _prefetch(inc_flat, 4 * (p0 + off))
            for off in range(0, inc_ptr[nxt + 1] - p0, 8):
                _prefetch(inc_h2, p0 + off)
            _prefetch(adj, q0)
            _prefetch(adj_w, q0)
            _prefetch(adj_w, q0 + 8)
        old = t[i]
        best = old
        best_src = -1
        cross_a = cross_b = cross_c = -1
        # A face's value is >= min(ta, tb, tc) + the metric height of x over it, less, for
        # the factored interpolant of root k, at most span^2 / (6 rho): span >= the face's
        # edges in the root's metric, rho <= T0_k on the face. For k = src[i] this bound
        # holds for all faces of i (they lie within node_ell[i] of x_i); it is used to skip
        # faces (a face of another root, only met where fronts collide, may be skipped
        # though its correction would be larger).
        slack_i = 0.0
        dx = dy = dz = 0.0
        if factored and src[i] >= 0 and point[src[i]]:
            span = root_stretch[src[i]] * node_ell[i]
            rho = c0[i] - span
            slack_i = span * span / (6.0 * rho) if rho > 0.0 else np.inf
            k = src[i]
            dx = root_pos[k, 0] - points[i, 0]
            dy = root_pos[k, 1] - points[i, 1]
            dz = root_pos[k, 2] - points[i, 2]
        for p in range(inc_ptr[i], inc_ptr[i + 1]):
            a, b, c = inc[p, 0], inc[p, 1], inc[p, 2]
            ta, tb, tc = t[a], t[b], t[c]
            gap = best - min(ta, min(tb, tc))
            hh = inc_h2[p]
            g = gap + slack_i
            if not (g > 0.0 and g * g > hh):
                continue
            idx = inc[p, 3]
            e, j = idx >> 2, idx & 3
            uniform = False
            k = -1
            slack = slack_i
            if factored:
                # all reached vertices owe their times to the same point source (src < 0:
                # not reached yet)
                sa, sb, sc = src[a], src[b], src[c]
                k = max(sa, max(sb, sc))
                uniform = ((sa == k or sa < 0) and (sb == k or sb < 0) and (sc == k or sc < 0)
                           and k >= 0 and point[k])
                if uniform:  # the front here is still (about) the root's cone
                    tk = root_times[k]
                    uniform = (ta - tk >= _CONE_FLOOR * c0[a] and tb - tk >= _CONE_FLOOR * c0[b]
                               and tc - tk >= _CONE_FLOOR * c0[c])
                if uniform and k != src[i]:
                    span = root_stretch[k] * ell[e]
                    rho = min(c0[a], min(c0[b], c0[c])) - span
                    slack = span * span / (6.0 * rho) if rho > 0.0 else np.inf
            if not uniform and not (gap > 0.0 and gap * gap > hh):
                continue
            # Vertices later than `best` take no part in a (causal) update: a face with all
            # three earlier is solved whole, one with two on the edge joining them, and the
            # vertex updates are the queue's relaxation. The factored candidate at the
            # crossing of the segment to the root is tried in any face passing the bound.
            nup = (ta < best) + (tb < best) + (tc < best)
            if nup < 2 and not uniform:
                continue
            lab = sq[e, _FACE_EDGES[j, 0]]
            lac = sq[e, _FACE_EDGES[j, 1]]
            lbc = sq[e, _FACE_EDGES[j, 2]]
            lia = sq[e, _FACE_EDGES[j, 3]]
            lib = sq[e, _FACE_EDGES[j, 4]]
            lic = sq[e, _FACE_EDGES[j, 5]]
            a12 = 0.5 * (lab + lac - lbc)
            b1 = 0.5 * (lab + lia - lib)
            b2 = 0.5 * (lac + lia - lic)
            val, l1, l2 = np.inf, 0.0, 0.0
            if nup == 3:
                val, l1, l2 = _face(ta, tb, tc, lab, a12, lac, b1, b2, lia)
            elif nup == 2:
                if not tc < best:
                    val, l1 = _segment(ta, tb, lab, b1, lia)
                elif not tb < best:
                    val, l2 = _segment(ta, tc, lac, b2, lia)
                else:  # edge b -> c: s = s2 - s1, e' = e - s1
                    val, l2 = _segment(tb, tc, lab + lac - 2.0 * a12, b2 - b1 - a12 + lab,
                                       lia - 2.0 * b1 + lab)
                    l1 = 1.0 - l2
            if uniform:
                # the factored objective at the linear minimiser: val - (lin(T0) - T0), which
                # is at most `slack` below val
                if val < np.inf and val - slack < best:
                    val -= ((1.0 - l1 - l2) * c0[a] + l1 * c0[b] + l2 * c0[c]
                            - _cone_at(points, a, b, c, l1, l2, root_pos, root_m, k))
                # ... and where the straight segment to the root crosses the face, in the
                # root's medium (the same speeds: metric trace)
                if abs(trace[e] - root_trace[k]) <= 1e-9 * root_trace[k]:
                    fx, fy, fz = dx, dy, dz
                    if k != src[i]:
                        fx = root_pos[k, 0] - points[i, 0]
                        fy = root_pos[k, 1] - points[i, 1]
                        fz = root_pos[k, 2] - points[i, 2]
                    v2, u0, u1, u2 = _at_crossing(points, i, a, b, c, ta, tb, tc, c0[a], c0[b],
                                                  c0[c], lab, a12, lac, b1, b2, lia, fx, fy, fz,
                                                  root_pos, root_m, k)
                    if u0 >= 0.0:
                        val = min(val, v2)
                        cross_a = a if u0 > 0.0 else -1
                        cross_b = b if u1 > 0.0 else -1
                        cross_c = c if u2 > 0.0 else -1
                # causality: a face's value is never earlier than its earliest vertex. The
                # factored candidates undercut it only where tau is not smooth (a root in
                # slow tissue whose front reached the face round through faster tissue: the
                # slow cone then models nothing, and its correction, repeated face after
                # face, drove the times below zero)
                if val < min(ta, min(tb, tc)):
                    val = np.inf
            elif factored:  # fronts of several roots meet: the root of the heaviest vertex
                l0 = 1.0 - l1 - l2
                k = src[a] if l0 >= l1 and l0 >= l2 else (src[b] if l1 >= l2 else src[c])
            if val < best:
                best = val
                best_src = k
        # the sheet: the 2-D update from the opposite edge of each sheet triangle of i,
        # causal (both vertices earlier; with one, the vertex update), factored like a face
        for p in range(sinc_ptr[i], sinc_ptr[i + 1]):
            a, b = sinc[p, 0], sinc[p, 1]
            ta, tb = t[a], t[b]
            if not (ta < best and tb < best):
                continue
            idx = sinc[p, 2]
            tri, j = idx // 3, idx % 3
            lab = sq_s[tri, _TRI_EDGES[j, 0]]
            lia = sq_s[tri, _TRI_EDGES[j, 1]]
            lib = sq_s[tri, _TRI_EDGES[j, 2]]
            val, l1 = _segment(ta, tb, lab, 0.5 * (lab + lia - lib), lia)
            if not val < best:
                continue
            k = -1
            if factored:
                sa, sb = src[a], src[b]
                if sa == sb and sa >= 0 and point[sa]:
                    k = sa
                    tk = root_times[k]
                    if ta - tk >= _CONE_FLOOR * c0[a] and tb - tk >= _CONE_FLOOR * c0[b]:
                        v2 = val - ((1.0 - l1) * c0[a] + l1 * c0[b]
                                    - _cone_at(points, a, b, b, l1, 0.0, root_pos, root_m, k))
                        if v2 >= min(ta, tb):  # causality, as for the faces
                            val = v2
                else:
                    k = sa if 1.0 - l1 >= l1 else sb
            if val < best:
                best = val
                best_src = k
        # the straight segment to the root may cross i's upstream face next to nodes later
        # than i (in an obtuse tetrahedron): i is updated again whenever one of them drops
        dep[i, 0] = dep[i, 1] = -1
        q = 0
        for v in (cross_a, cross_b, cross_c):
            if v >= 0 and t[v] >= best and q < 2:
                dep[i, q] = v
                q += 1
        if best < old:
            t[i] = best
            if best_src >= 0 and best_src != src[i]:
                src[i] = best_src
                c0[i] = _cone(points, i, root_pos, root_m, best_src)
        if last[i] - best > tol:
            last[i] = best
            for q in range(adj_ptr[i], adj_ptr[i + 1]):
                j = adj[q]
                cand = best + adj_w[q]
                pos = where[j]
                if pos < 0 and not (best < t[j] + tol or dep[j, 0] == i or dep[j, 1] == i):
                    continue  # updated before, still earlier than i, not waiting for it
                if cand < t[j]:  # the vertex update from i: an upper bound
                    t[j] = cand
                    if factored and src[j] != src[i]:
                        src[j] = src[i]
                        c0[j] = _cone(points, j, root_pos, root_m, src[i])
                if pos >= 0:  # queued: follow the front
                    if cand < key[pos]:
                        key[pos] = cand
                        _sift_up(key, node, where, pos)
                else:  # reached for the first time, or may now depend on t[i]
                    size = _push(key, node, where, size, j, t[j])
    return t, updates


@nb.njit(cache=True)
def _euclidean(points, tets, inc_ptr, inc):
    """Mesh-only geometry: ``36 V^2`` and the longest edge of each tetrahedron, and the
    longest edge around each node."""
    m, n = tets.shape[0], points.shape[0]
    vol36 = np.empty(m)
    ell = np.empty(m)
    for e in range(m):
        x0 = points[tets[e, 0]]
        u = points[tets[e, 1]] - x0
        v = points[tets[e, 2]] - x0
        w = points[tets[e, 3]] - x0
        det = (u[0] * (v[1] * w[2] - v[2] * w[1]) - u[1] * (v[0] * w[2] - v[2] * w[0])
               + u[2] * (v[0] * w[1] - v[1] * w[0]))
        vol36[e] = det * det
        longest = 0.0
        for k in range(6):
            d = points[tets[e, _EDGE_J[k]]] - points[tets[e, _EDGE_I[k]]]
            longest = max(longest, d[0] * d[0] + d[1] * d[1] + d[2] * d[2])
        ell[e] = math.sqrt(longest)
    node_ell = np.zeros(n)
    for i in range(n):
        for p in range(inc_ptr[i], inc_ptr[i + 1]):
            node_ell[i] = max(node_ell[i], ell[inc[p, 3] >> 2])
    return vol36, ell, node_ell


@nb.njit(cache=True)
def _isolated(adj_ptr, adj, roots):
    """Whether each root has no other root within two edges (a point source)."""
    n = adj_ptr.shape[0] - 1
    owner = np.full(n, -1, np.int64)
    for k in range(roots.shape[0]):
        owner[roots[k]] = roots[k]
    out = np.ones(roots.shape[0], np.bool_)
    for k in range(roots.shape[0]):
        r = roots[k]
        for q in range(adj_ptr[r], adj_ptr[r + 1]):
            j = adj[q]
            if owner[j] >= 0 and owner[j] != r:
                out[k] = False
            for q2 in range(adj_ptr[j], adj_ptr[j + 1]):
                j2 = adj[q2]
                if owner[j2] >= 0 and owner[j2] != r:
                    out[k] = False
    return out


class EikonalSolver:
    """Anisotropic Eikonal solver for one tetrahedral mesh, for many tensors and roots.

    The constructor precomputes everything that depends on the mesh only (~0.1 s for 10^5
    tetrahedra); :meth:`solve` then takes about 54 ms (``"fim"``) or 8-10 ms (``"graph"``)
    on the shipped heart (2 mm, 29 k nodes, 109 k tetrahedra, 7 roots, the forward model's
    healthy conduction), single-threaded. For
    many scenarios ``k^2 D`` of one ``D``, :meth:`prepare` it once and call
    :meth:`solve_scaled` (no metric pass from tensors: ~3 ms of geometry instead of ~8 ms,
    about 44 ms in all on the heart). See the module docstring for the method.

    Parameters
    ----------
    points : (n, 3) float
        Node positions (mm).
    tets : (m, 4) int
        Tetrahedra (node numbers).
    sheet : (s, 3) int, optional
        Triangles (faces of the tetrahedra) of a conducting sheet of zero thickness, with
        their own tensors (``D_sheet`` of :meth:`solve`): a node of the sheet is also
        updated from the opposite edge of each of its triangles, in the triangle's metric,
        and an edge of the sheet takes the smaller of its travel times through the
        tetrahedra and along the sheet. The subendocardial Purkinje network is such a sheet
        (:mod:`mi_lib.twin.forward`): thinner than any element, so no element layer stands
        for it and the mesh's cut changes nothing.

    Attributes
    ----------
    n_nodes, n_tets, n_edges, n_sheet : int
    last_updates : int
        Node updates of the local solver in the last ``"fim"`` solve (1.2-1.5 per node).
    """

    def __init__(self, points, tets, sheet=None):
        self.points = np.ascontiguousarray(points, dtype=float)
        self.tets = np.ascontiguousarray(tets, dtype=np.int64)
        self.sheet = np.ascontiguousarray(np.zeros((0, 3)) if sheet is None else sheet,
                                          dtype=np.int64)
        n, m, ns = len(self.points), len(self.tets), len(self.sheet)
        if self.points.shape != (n, 3) or self.tets.shape != (m, 4):
            raise ValueError("points must be (n, 3) and tets (m, 4)")
        if m and (self.tets.min() < 0 or self.tets.max() >= n):
            raise ValueError("tets refer to nodes that do not exist")
        if self.sheet.shape != (ns, 3):
            raise ValueError(f"sheet must be (s, 3) triangles, got {self.sheet.shape}")
        self.n_nodes, self.n_tets, self.n_sheet = n, m, ns
        index = np.int32 if max(6 * m, n) < 2**31 else np.int64  # node, edge, slot numbers
        i, j = self.tets[:, _EDGE_I], self.tets[:, _EDGE_J]
        uniq, slot_edge = np.unique((np.minimum(i, j) * n + np.maximum(i, j)).ravel(),
                                    return_inverse=True)
        del i, j
        # unique edge of each slot: the 6 m of the tetrahedra, then the 3 s of the sheet
        sheet_key = (np.minimum(self.sheet[:, _TRI_I], self.sheet[:, _TRI_J]) * n
                     + np.maximum(self.sheet[:, _TRI_I], self.sheet[:, _TRI_J])).ravel()
        sheet_edge = np.minimum(np.searchsorted(uniq, sheet_key), max(len(uniq) - 1, 0))
        if ns and not np.array_equal(uniq[sheet_edge], sheet_key):
            raise ValueError("sheet triangles must be faces of the tetrahedra "
                             f"({int(np.sum(uniq[sheet_edge] != sheet_key))} of their "
                             f"{3 * ns} edges are no tetrahedron edge)")
        self._slot_edge = np.r_[slot_edge.ravel(), sheet_edge].astype(index)
        self._sheet_edge = np.ascontiguousarray(self._slot_edge[6 * m:])
        self.n_edges = len(uniq)
        lo, hi = uniq // n, uniq % n
        # node -> neighbour adjacency (CSR), with the unique edge of each entry
        rows = np.r_[lo, hi]
        order = np.argsort(rows, kind="stable")
        self._adj = np.r_[hi, lo][order].astype(index)
        self._adj_edge = np.r_[np.arange(self.n_edges), np.arange(self.n_edges)][order].astype(
            index)
        self._adj_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=self._adj_ptr[1:])
        # node -> incident tetrahedra (CSR): 4 e + local index, and the opposite face
        flat = self.tets.ravel()
        order = np.argsort(flat, kind="stable")
        self._inc_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(flat, minlength=n), out=self._inc_ptr[1:])
        self._inc = np.empty((len(order), 4), index)
        self._inc[:, :3] = self.tets[(order // 4)[:, None], _FACE[order % 4]]
        self._inc[:, 3] = order
        self._inc_slot = np.ascontiguousarray(self._inc[:, 3])
        # node -> incident sheet triangles (CSR): 3 t + local index, and the opposite edge
        flat = self.sheet.ravel()
        order = np.argsort(flat, kind="stable")
        self._sinc_ptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(flat, minlength=n), out=self._sinc_ptr[1:])
        self._sinc = np.empty((len(order), 3), index)
        self._sinc[:, :2] = self.sheet[(order // 3)[:, None], _TRI_OPP[order % 3]]
        self._sinc[:, 2] = order
        self._edge_adj = np.argsort(self._adj_edge, kind="stable").reshape(-1, 2)
        # Euclidean geometry: 36 V^2 and the longest edge of each tetrahedron, the longest
        # edge around each node
        self._vol36, self._ell, self._node_ell = _euclidean(
            self.points, self.tets, self._inc_ptr, self._inc)
        self._sq_all = np.empty(6 * m + 3 * ns)  # the tetrahedra's, then the sheet's
        self._sq, self._sq_s = self._views(self._sq_all)
        self._trace_s = np.empty(ns)
        self._h2 = np.empty((m, 4))
        self._inc_h2 = np.empty(4 * m)
        self._adj_w = np.empty(2 * self.n_edges)
        self._trace = np.empty(m)
        self.last_updates = 0
        self._prepared = None
        self._rescale_maps = None
        self._scaled = None

    def _views(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The tetrahedra's ``(m, 6)`` and the sheet's ``(s, 3)`` squared lengths, views of
        one flat buffer (:func:`_rescale` redoes both in one pass)."""
        m = self.n_tets
        return flat[:6 * m].reshape(m, 6), flat[6 * m:].reshape(self.n_sheet, 3)

    def _root_metrics(self, d: np.ndarray, roots: np.ndarray, trace: np.ndarray,
                      k: np.ndarray | None = None, d_s: np.ndarray | None = None,
                      trace_s: np.ndarray | None = None,
                      k_s: np.ndarray | None = None) -> np.ndarray:
        """The metric of the fastest element around each root, 6 components (smallest
        ``trace``): tetrahedra (tensors ``d``), or, if a sheet triangle (``d_s``) is
        faster, the mean tensor of the sheet triangles around the root (whose front leads;
        the mean, since they tie, so that the choice does not follow round-off: a rotated
        mesh gives the same times to 1e-13). ``k``, ``k_s``: velocity factors,
        the tensors being ``k^2 d`` (:meth:`solve_scaled`); the traces around the roots are
        then recomputed as :meth:`solve` would for those tensors, as is the metric: elements
        with the same speeds (healthy myocardium: the trace of the metric is the sum of the
        inverse squared speeds, whatever the fibres) tie up to round-off."""
        out = np.empty((len(roots), 6))
        for j, r in enumerate(roots):
            around = self._inc[self._inc_ptr[r]:self._inc_ptr[r + 1], 3] // 4
            if k is None:
                e = 0 if len(d) == 1 else around[np.argmin(trace[around])]
                de, best = d[0 if len(d) == 1 else e], trace[e]
            else:
                tr = _traces(d, k, around)
                e = around[np.argmin(tr)]
                de, best = d[0 if len(d) == 1 else e] * k[e] ** 2, tr.min()
            tris = self._sinc[self._sinc_ptr[r]:self._sinc_ptr[r + 1], 2] // 3
            if len(tris):  # the sheet's mean tensor around the root if a triangle leads
                tr = trace_s[tris] if k_s is None else _traces(d_s, k_s, tris)
                if tr.min() < best:
                    ds = d_s[tris] if k_s is None else d_s[tris] * (k_s[tris] ** 2)[:, None,
                                                                                   None]
                    de = ds.mean(axis=0)
            inv = np.linalg.inv(0.5 * (de + de.T))
            out[j] = inv[[0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]]
        return out

    def _sheet_tensors(self, D_sheet) -> np.ndarray:
        if D_sheet is None:
            if self.n_sheet:
                raise ValueError(f"this solver has a sheet of {self.n_sheet} triangles: "
                                 "give its tensors D_sheet")
            return np.zeros((0, 3, 3))
        d_s = np.ascontiguousarray(D_sheet, dtype=float)
        if d_s.shape != (self.n_sheet, 3, 3):
            raise ValueError(f"D_sheet must be (n_sheet={self.n_sheet}, 3, 3), "
                             f"got {d_s.shape}")
        return d_s

    def _geometry(self, d, d_s, sq_all, inc_slot, h2, inc_h2, adj_w, trace,
                  trace_s) -> None:
        """:func:`_geometry` and :func:`_sheet_geometry` into the given buffers."""
        sq, sq_s = self._views(sq_all)
        ok = _geometry(self.points, self.tets, d, self._vol36, self._slot_edge, inc_slot,
                       self._adj_edge, sq, h2, inc_h2, adj_w, trace)
        if not ok:
            raise ValueError("D must be symmetric positive definite in every element")
        if self.n_sheet:
            if not _sheet_geometry(self.points, self.sheet, d_s, sq_s, trace_s):
                raise ValueError("D_sheet must be symmetric positive definite on every "
                                 "triangle")
            _fold_sheet(sq_s, self._sheet_edge, self._edge_adj, adj_w)

    def prepare(self, D, D_sheet=None) -> None:
        """Cache the metric geometry of the tensors ``D`` (the healthy ones) for
        :meth:`solve_scaled`.

        Parameters
        ----------
        D : (m, 3, 3) or (3, 3) float
            Conduction-velocity tensors (mm^2/ms^2), as in :meth:`solve`. Kept by
            reference (not copied): do not modify it in place afterwards.
        D_sheet : (s, 3, 3) float, optional
            The sheet's tensors, as in :meth:`solve` (required if the solver has a sheet).
        """
        m, ns = self.n_tets, self.n_sheet
        d, d_s = _tensors(D, m), self._sheet_tensors(D_sheet)
        sq_all, h2, inc_h2 = np.empty(6 * m + 3 * ns), np.empty((m, 4)), np.empty(4 * m)
        adj_w, trace, trace_s = np.empty(2 * self.n_edges), np.empty(m), np.empty(ns)
        self._geometry(d, d_s, sq_all, self._inc_slot, h2, inc_h2, adj_w, trace, trace_s)
        self._prepared = (d, d_s, sq_all, inc_h2, adj_w, trace, trace_s)
        if self._rescale_maps is None:  # mesh only: edge -> slots, slot -> incidence
            order = np.argsort(self._slot_edge, kind="stable")
            edge_ptr = np.zeros(self.n_edges + 1, np.int64)
            np.cumsum(np.bincount(self._slot_edge, minlength=self.n_edges), out=edge_ptr[1:])
            tet_inc = np.empty(4 * m, np.int64)
            tet_inc[self._inc_slot] = np.arange(4 * m)
            self._rescale_maps = (edge_ptr, order.astype(np.int64), tet_inc)
        # the scaled geometry of the last solve_scaled, updated where its factors change
        self._scaled = (np.ones(m), np.ones(ns), sq_all.copy(), inc_h2.copy(), adj_w.copy(),
                        trace.copy(), trace_s.copy())

    def solve_scaled(self, k_tet, roots, root_times=0.0, method: str = "fim",
                     tol: float = 1e-6, max_sweeps: int = 500, factored: bool = True,
                     k_sheet=None) -> np.ndarray:
        """Activation times (ms) for the prepared tensors with every velocity scaled.

        The same as ``solve(k_tet[:, None, None]**2 * D, ..., D_sheet=k_sheet[:, None,
        None]**2 * D_sheet)`` (to round-off) for the tensors of :meth:`prepare`, without
        recomputing the metric from tensors: the squared metric lengths of element ``e``
        are the prepared ones over ``k_e^2`` and the edge travel times their minimum over
        the elements of each edge again.

        Parameters
        ----------
        k_tet : (m,) float or None
            Velocity factor per tetrahedron (> 0; 1 = as prepared, 0.1 = ten times
            slower); None: the prepared tensors themselves (no per-call geometry at all).
        roots, root_times, method, tol, max_sweeps, factored
            As in :meth:`solve`.
        k_sheet : (s,) float, optional
            Velocity factor per sheet triangle (required with ``k_tet`` if the solver has
            a sheet).

        Returns
        -------
        (n,) float64
            Activation times (ms); ``inf`` at nodes not connected to any root.
        """
        if getattr(self, "_prepared", None) is None:
            raise ValueError("call prepare(D) before solve_scaled")
        d, d_s, sq_h, inc_h2_h, adj_w_h, trace_h, trace_s_h = self._prepared
        roots, root_times = self._check(method, roots, root_times)
        if k_tet is None:
            return self._run(method, d, roots, root_times, sq_h, inc_h2_h, adj_w_h,
                             self._root_metrics(d, roots, trace_h, None, d_s, trace_s_h),
                             tol, max_sweeps, factored)
        k = self._factors(k_tet, self.n_tets, "k_tet")
        if self.n_sheet and k_sheet is None:
            raise ValueError(f"this solver has a sheet of {self.n_sheet} triangles: give "
                             "k_sheet with k_tet")
        k_s = self._factors(np.ones(0) if k_sheet is None else k_sheet, self.n_sheet,
                            "k_sheet")
        last_k, last_k_s, sq, inc_h2, adj_w, trace, trace_s = self._scaled
        edge_ptr, edge_slot, tet_inc = self._rescale_maps
        _rescale(sq_h, inc_h2_h, trace_h, trace_s_h, k, last_k, k_s, last_k_s,
                 self._slot_edge, edge_ptr, edge_slot, tet_inc, self._edge_adj, sq, inc_h2,
                 adj_w, trace, trace_s)
        if method == "graph":
            return _dijkstra(self._adj_ptr, self._adj, adj_w, roots, root_times)
        root_m = self._root_metrics(d, roots, trace, k, d_s, trace_s, k_s)
        return self._run(method, d, roots, root_times, sq, inc_h2, adj_w, root_m, tol,
                         max_sweeps, factored, trace)

    @staticmethod
    def _factors(k, size: int, name: str) -> np.ndarray:
        k = np.ascontiguousarray(k, dtype=float)
        if k.shape != (size,):
            raise ValueError(f"{name} must be ({size},), got {k.shape}")
        if not np.all((k > 0.0) & (k < np.inf)):
            raise ValueError(f"{name} must be positive and finite")
        return k

    def _check(self, method, roots, root_times):
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        roots = np.atleast_1d(np.asarray(roots, np.int64))
        root_times = np.ascontiguousarray(
            np.broadcast_to(np.asarray(root_times, float), roots.shape))
        if (roots.ndim != 1 or roots.size == 0 or roots.min() < 0
                or roots.max() >= self.n_nodes):
            raise ValueError("roots must be a non-empty set of node numbers")
        return roots, root_times

    def _run(self, method, d, roots, root_times, sq_all, inc_h2, adj_w, root_m, tol,
             max_sweeps, factored, trace=None) -> np.ndarray:
        """The solver on a metric geometry (``root_m``: :meth:`_root_metrics`)."""
        if method == "graph":
            return _dijkstra(self._adj_ptr, self._adj, adj_w, roots, root_times)
        if trace is None:
            trace = self._prepared[5]
        sq, sq_s = self._views(sq_all)
        root_trace = root_m[:, 0] + root_m[:, 3] + root_m[:, 5]
        full = root_m[:, [0, 1, 2, 1, 3, 4, 2, 4, 5]].reshape(-1, 3, 3)
        stretch = np.sqrt(np.linalg.eigvalsh(full)[:, -1])
        t, self.last_updates = _fim(self.points, sq, inc_h2, self._ell, self._node_ell,
                                    self._inc_ptr, self._inc, self._sinc_ptr, self._sinc,
                                    sq_s, self._adj_ptr, self._adj, adj_w, roots, root_times,
                                    _isolated(self._adj_ptr, self._adj, roots), trace,
                                    root_trace, np.ascontiguousarray(self.points[roots]),
                                    root_m, stretch, bool(factored), float(tol),
                                    int(max_sweeps) * self.n_nodes)
        return t

    def solve(self, D, roots, root_times=0.0, method: str = "fim", tol: float = 1e-6,
              max_sweeps: int = 500, factored: bool = True, D_sheet=None) -> np.ndarray:
        """Activation times (ms) on this mesh.

        Parameters
        ----------
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
            ``"graph"``: shortest paths along the mesh edges (overestimates by ~10 %).
            ``"fim"``: the tetrahedral local solver (never above ``"graph"``).
        tol : float
            ``"fim"`` only: a node is updated again when a neighbour dropped by more than
            ``tol`` (ms) to below its time + ``tol``.
        max_sweeps : int
            ``"fim"`` only: cap on the local-solver work, ``max_sweeps * n`` node updates
            (a sweep's worth each; a solve needs ~1.3).
        factored : bool
            ``"fim"`` only: the factored face interpolant around isolated roots (default);
            ``False`` for the linear interpolant alone (the first-order local solver).
        D_sheet : (s, 3, 3) float, optional
            Tensors of the sheet triangles (required if the solver has a sheet); the
            travel time along a triangle's edge ``e`` is ``sqrt(e^T D_t^-1 e)``, so only
            their restriction to the triangle's plane matters.

        Returns
        -------
        (n,) float64
            Activation times (ms); ``inf`` at nodes not connected to any root.
        """
        roots, root_times = self._check(method, roots, root_times)
        d, d_s = _tensors(D, self.n_tets), self._sheet_tensors(D_sheet)
        self._geometry(d, d_s, self._sq_all,
                       self._inc_slot if method == "fim" else self._inc_slot[:0], self._h2,
                       self._inc_h2, self._adj_w, self._trace, self._trace_s)
        if method == "graph":
            return _dijkstra(self._adj_ptr, self._adj, self._adj_w, roots, root_times)
        return self._run(method, d, roots, root_times, self._sq_all, self._inc_h2,
                         self._adj_w,
                         self._root_metrics(d, roots, self._trace, None, d_s, self._trace_s),
                         tol, max_sweeps, factored, self._trace)


def activation_times(points, tets, D, roots, root_times=0.0, method: str = "fim",
                     tol: float = 1e-6, max_sweeps: int = 500,
                     source_rtol: float = 1e-9) -> np.ndarray:
    """Activation times (ms) of an anisotropic Eikonal problem on a tetrahedral mesh.

    One-call form of ``EikonalSolver(points, tets).solve(...)``; build an
    :class:`EikonalSolver` once to solve many problems on one mesh.

    Parameters
    ----------
    points : (n, 3) float
        Node positions (mm).
    tets : (m, 4) int
        Tetrahedra (node numbers).
    D, roots, root_times, method, tol, max_sweeps
        As in :meth:`EikonalSolver.solve`.
    source_rtol : float
        Kept for compatibility: a negative value switches the factored interpolant off
        (``factored=False``: the first-order local solver alone); its value is otherwise
        unused.

    Returns
    -------
    (n,) float64
        Activation times (ms); ``inf`` at nodes not connected to any root.
    """
    return EikonalSolver(points, tets).solve(D, roots, root_times, method=method, tol=tol,
                                             max_sweeps=max_sweeps,
                                             factored=source_rtol >= 0)


# ----------------------------------------------------------------------------- accuracy


def refine_sheet(tris, tets, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The sheet triangles ``tris`` of a mesh ``tets`` (``n`` nodes) after
    :func:`mi_lib.twin.anatomy.refine_uniform`: each into 4 by its edge midpoints (node
    ``n + `` the edge's index among the mesh's unique edges). Returns the children
    ``(4 s, 3)`` and the parent of each."""
    tris = np.asarray(tris, np.int64)
    tets = np.asarray(tets, np.int64)
    i, j = tets[:, _EDGE_I], tets[:, _EDGE_J]
    uniq = np.unique((np.minimum(i, j) * n + np.maximum(i, j)).ravel())
    a, b = tris[:, _TRI_I], tris[:, _TRI_J]
    mid = n + np.searchsorted(uniq, np.minimum(a, b) * n + np.maximum(a, b))  # 01, 02, 12
    v0, v1, v2 = tris.T
    m01, m02, m12 = mid.T
    children = np.stack([np.c_[v0, m01, m02], np.c_[m01, v1, m12], np.c_[m02, m12, v2],
                         np.c_[m01, m12, m02]], axis=1).reshape(-1, 3)
    return children, np.repeat(np.arange(len(tris)), 4)


def reference_error(points, tets, D, roots, root_times=0.0, levels: int = 2,
                    order: float = 1.0, exclude: int = 1, sheet=None, D_sheet=None,
                    **solve_kw) -> dict:
    """Error of the solvers on a mesh against a refined, Richardson-extrapolated reference.

    The same problem (each child tetrahedron inherits its parent's ``D``; the roots keep
    their node numbers) is solved with ``"fim"`` on the mesh refined uniformly ``levels``
    times (:func:`mi_lib.twin.anatomy.refine_uniform`, edge ``h / 2^levels``). At the coarse
    nodes, with ``T_l`` the solution on level ``l``, the reference is the Richardson
    extrapolation for an error ``~ C h^order``::

        T_ref = T_L + (T_L - T_{L-1}) / (2^order - 1).

    The local solver is first order (``order=1``); the observed order
    ``log2(mean|T_{L-1} - T_{L-2}| / mean|T_L - T_{L-1}|)`` (``levels >= 2``) checks it, and
    the errors against the reference extrapolated with the observed order are returned too
    (larger if it is below ``order``: pre-asymptotic convergence, e.g. fronts bending around
    a faceted boundary that refinement keeps). The relative error ``|T - T_ref| / T_ref`` is
    averaged over the nodes more than ``exclude`` edges from every root (it is undefined at
    a root, where ``T`` is its start time, and the first ring only measures how a point
    source is represented by one element).

    Parameters
    ----------
    points, tets, D, roots, root_times
        The problem, as in :meth:`EikonalSolver.solve`.
    levels : int
        Number of refinements (>= 1); each multiplies the tetrahedra by 8 (``levels=2``:
        64x: ~4 GB and ~20 s for the shipped heart at 2 mm).
    order : float
        Assumed order of convergence of the extrapolation.
    exclude : int
        Nodes within this many edges of a root are left out.
    sheet, D_sheet
        A conducting sheet and its tensors (:class:`EikonalSolver`); refined with the mesh
        (:func:`refine_sheet`, each child triangle with its parent's tensor).
    **solve_kw
        Passed to :meth:`EikonalSolver.solve` (e.g. ``factored``, ``tol``).

    Returns
    -------
    dict
        ``graph``, ``fim``: mean relative error of the coarse solutions; ``graph_max``,
        ``fim_max``: their largest relative error; ``graph_abs_ms``, ``fim_abs_ms``: mean
        absolute error (ms); ``fim_levels``: mean relative error of ``"fim"`` on each level;
        ``observed_order`` (``nan`` if ``levels < 2``); ``graph_observed``,
        ``fim_observed``: the mean relative errors against the reference extrapolated with
        the observed order (clipped to [0.2, 2]; ``nan`` if ``levels < 2``); ``order``,
        ``levels``; ``nodes``: the number of nodes averaged over; ``reference``: ``T_ref``
        at the coarse nodes.
    """
    from .anatomy import refine_uniform

    if levels < 1:
        raise ValueError("levels must be >= 1")
    points = np.asarray(points, float)
    tets = np.asarray(tets, np.int64)
    n = len(points)
    d = _tensors(D, len(tets))
    roots = np.atleast_1d(np.asarray(roots, np.int64))
    solver = EikonalSolver(points, tets, sheet=sheet)
    tris = solver.sheet
    d_s = solver._sheet_tensors(D_sheet)
    coarse = {m: solver.solve(d if len(d) > 1 else d[0], roots, root_times, method=m,
                              D_sheet=d_s, **solve_kw) for m in METHODS}
    # nodes more than `exclude` edges from every root
    near = np.zeros(n, bool)
    near[roots] = True
    rows = np.repeat(np.arange(n), np.diff(solver._adj_ptr))
    for _ in range(exclude):
        near[solver._adj[near[rows]]] = True
    sols = [coarse["fim"]]
    p, t = points, tets
    for _ in range(levels):
        tris, tri_parent = refine_sheet(tris, t, len(p))
        d_s = d_s[tri_parent]
        p, t, parent = refine_uniform(p, t)
        if len(d) > 1:
            d = d[parent]
        sols.append(EikonalSolver(p, t, sheet=tris).solve(
            d if len(d) > 1 else d[0], roots, root_times, D_sheet=d_s, **solve_kw)[:n].copy())
    del p, t, d, d_s

    def extrapolate(q):
        return sols[-1] + (sols[-1] - sols[-2]) / (2.0**q - 1.0)

    ref = extrapolate(order)
    mask = ~near & np.isfinite(ref) & (ref > 0)

    def rel(x, r=ref):
        return np.abs(x[mask] - r[mask]) / r[mask]

    out = {"order": float(order), "levels": int(levels), "nodes": int(mask.sum()),
           "fim_levels": [float(rel(s).mean()) for s in sols], "reference": ref,
           "observed_order": float("nan")}
    for m, x in coarse.items():
        out[m] = float(rel(x).mean())
        out[f"{m}_max"] = float(rel(x).max())
        out[f"{m}_abs_ms"] = float(np.abs(x[mask] - ref[mask]).mean())
        out[f"{m}_observed"] = float("nan")
    if levels >= 2:
        d1 = np.abs(sols[-2] - sols[-3])[mask].mean()
        d2 = np.abs(sols[-1] - sols[-2])[mask].mean()
        observed = float(np.log2(d1 / d2)) if d2 > 0 else float("inf")
        out["observed_order"] = observed
        ref_observed = extrapolate(min(max(observed, 0.2), 2.0))
        for m, x in coarse.items():
            out[f"{m}_observed"] = float(rel(x, ref_observed).mean())
    return out
