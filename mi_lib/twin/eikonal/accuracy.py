"""Accuracy of the solvers against a refined, Richardson-extrapolated reference, with the
sheet refined along with the mesh.

Method and accuracy: ``docs/twin/eikonal.md``.
"""

from __future__ import annotations

import numpy as np

from .solver import EikonalSolver
from .tensors import _EDGE_I, _EDGE_J, _TRI_I, _TRI_J, METHODS, _tensors

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
    from ..anatomy import refine_uniform

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
