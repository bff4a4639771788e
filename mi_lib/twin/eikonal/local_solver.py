"""The compiled solvers: the queued, factored local solver of the Fast Iterative Method
(with the sheet's 2-D update) and Dijkstra's shortest paths along the edges.

Method and accuracy: ``docs/twin/eikonal.md``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from .metric import _prefetch
from .tensors import _FACE_EDGES, _TRI_EDGES


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
    """Activation times by the queued local solver (``docs/twin/eikonal.md``).

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
