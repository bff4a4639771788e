"""The Eikonal solver of one mesh (:class:`EikonalSolver`) and its one-call form.

Method and accuracy: ``docs/twin/eikonal.md``.
"""

from __future__ import annotations

import numpy as np

from .local_solver import _dijkstra, _fim
from .metric import (
    _euclidean,
    _fold_sheet,
    _geometry,
    _isolated,
    _rescale,
    _sheet_geometry,
    _traces,
)
from .tensors import _EDGE_I, _EDGE_J, _FACE, _TRI_I, _TRI_J, _TRI_OPP, METHODS, _tensors


def _incidence(cells, opposite, n: int, index) -> tuple[np.ndarray, np.ndarray]:
    """Node -> incident cells (CSR over the ``n`` nodes): per incidence, the cell's other
    vertices (``opposite[local]``, the opposite face or edge) and ``k * e + local`` (``k``
    vertices per cell), in node order."""
    k = cells.shape[1]
    flat = cells.ravel()
    order = np.argsort(flat, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(flat, minlength=n), out=ptr[1:])
    inc = np.empty((len(order), k), index)
    inc[:, :k - 1] = cells[(order // k)[:, None], opposite[order % k]]
    inc[:, k - 1] = order
    return ptr, inc


class EikonalSolver:
    """Anisotropic Eikonal solver for one tetrahedral mesh, for many tensors and roots.

    The constructor precomputes everything that depends on the mesh only (~0.1 s for 10^5
    tetrahedra); :meth:`solve` then takes about 54 ms (``"fim"``) or 8-10 ms (``"graph"``)
    on the shipped heart (2 mm, 29 k nodes, 109 k tetrahedra, 7 roots, the forward model's
    healthy conduction), single-threaded. For
    many scenarios ``k^2 D`` of one ``D``, :meth:`prepare` it once and call
    :meth:`solve_scaled` (no metric pass from tensors: ~3 ms of geometry instead of ~8 ms,
    about 44 ms in all on the heart). The method: ``docs/twin/eikonal.md``.

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
        # node -> incident tetrahedra / sheet triangles (CSR), with the opposite face / edge
        self._inc_ptr, self._inc = _incidence(self.tets, _FACE, n, index)
        self._inc_slot = np.ascontiguousarray(self._inc[:, 3])
        self._sinc_ptr, self._sinc = _incidence(self.sheet, _TRI_OPP, n, index)
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
                             tol, max_sweeps, factored, trace_h)
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
             max_sweeps, factored, trace) -> np.ndarray:
        """The solver on a metric geometry (``root_m``: :meth:`_root_metrics`)."""
        if method == "graph":
            return _dijkstra(self._adj_ptr, self._adj, adj_w, roots, root_times)
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
                     factored: bool = True) -> np.ndarray:
    """Activation times (ms) of an anisotropic Eikonal problem on a tetrahedral mesh.

    One-call form of ``EikonalSolver(points, tets).solve(...)``; build an
    :class:`EikonalSolver` once to solve many problems on one mesh.

    Parameters
    ----------
    points : (n, 3) float
        Node positions (mm).
    tets : (m, 4) int
        Tetrahedra (node numbers).
    D, roots, root_times, method, tol, max_sweeps, factored
        As in :meth:`EikonalSolver.solve`.

    Returns
    -------
    (n,) float64
        Activation times (ms); ``inf`` at nodes not connected to any root.
    """
    return EikonalSolver(points, tets).solve(D, roots, root_times, method=method, tol=tol,
                                             max_sweeps=max_sweeps, factored=factored)
