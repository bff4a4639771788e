"""Compiled metric geometry: squared metric edge lengths, heights and traces from the
tensors, their rescaling by per-element velocity factors, the sheet's edges.

Method and accuracy: ``docs/twin/eikonal.md``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .tensors import _EDGE_I, _EDGE_J, _FACE_EDGES

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
