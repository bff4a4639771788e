"""The generalized winding number of a triangulated surface (Jacobson et al. 2013) with its
fast tree evaluation (Barill et al. 2018), and the triangles' solid angles: the
inside/outside test of open surfaces.

Where it is used: ``docs/twin/anatomy.md`` (open seams).
"""

from __future__ import annotations

import numpy as np


def solid_angles(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Signed solid angles (sr) of triangles ``(a, b, c)`` seen from points ``p``
    (arrays ``(..., 3)`` that broadcast): positive when the triangle's normal
    ``(b - a) x (c - a)`` points away from ``p`` (Van Oosterom & Strackee 1983)."""
    a, b, c = a - p, b - p, c - p
    la, lb, lc = (np.sqrt(np.einsum("...k,...k->...", x, x)) for x in (a, b, c))
    num = np.einsum("...k,...k->...", a, np.cross(b, c))
    den = (la * lb * lc + np.einsum("...k,...k->...", a, b) * lc
           + np.einsum("...k,...k->...", a, c) * lb + np.einsum("...k,...k->...", b, c) * la)
    return 2.0 * np.arctan2(num, den)


class WindingNumber:
    """Generalized winding number of a triangulated surface (Jacobson et al. 2013):
    ``w(p) = sum of the triangles' solid angles / 4 pi``; 1 inside and 0 outside an
    outward-oriented closed surface, and a smooth field, near 0 or 1 away from the gaps,
    across the small holes and seam gaps of an open one.

    Fast evaluation after Barill et al. 2018: a binary tree of the triangles by recursive
    median bisection of their centroids (leaves of at most ``leaf_size``); a node farther
    than ``beta`` times its radius from the query point contributes the first two terms
    of its far-field expansion about its area-weighted centre ``c`` (with ``r = c - p``,
    ``N`` the node's vector area and ``M = sum_t A_t n_t (c_t - c)^T`` over its triangles):
    ``N . r / |r|^3 + tr(M) / |r|^3 - 3 r^T M r / |r|^5`` (relative error
    ~ ``1 / beta^2`` of that node's small solid angle); a nearer node passes the point to
    its children, and a near leaf adds its exact solid angles.
    """

    def __init__(self, vertices: np.ndarray, triangles: np.ndarray, leaf_size: int = 8,
                 beta: float = 2.5):
        v = np.asarray(vertices, float)
        t = np.asarray(triangles, np.int64).reshape(-1, 3)
        self.beta = float(beta)
        tri = v[t]  # (m, 3, 3)
        centroid = tri.mean(axis=1)
        area_vec = 0.5 * np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        area = np.linalg.norm(area_vec, axis=1)
        # the tree, breadth first: node k holds triangles order[start[k]:stop[k]]
        order = np.arange(len(t))
        start, stop, children, depth = [0], [len(t)], [], [0]
        k = 0
        while k < len(start):
            s, e = start[k], stop[k]
            if e - s > leaf_size:
                idx = order[s:e]
                x = centroid[idx]
                axis = int(np.argmax(x.max(0) - x.min(0)))
                order[s:e] = idx[np.argsort(x[:, axis], kind="stable")]
                mid = (s + e) // 2
                children.append((len(start), len(start) + 1))
                start += [s, mid]
                stop += [mid, e]
                depth += [depth[k] + 1] * 2
            else:
                children.append((-1, -1))
            k += 1
        self.children = np.array(children, np.int64).reshape(-1, 2)
        start, stop, depth = np.array(start), np.array(stop), np.array(depth)
        n_nodes = len(start)
        leaves = np.flatnonzero(self.children[:, 0] < 0)
        self.leaf_row = np.full(n_nodes, -1, np.int64)
        self.leaf_row[leaves] = np.arange(len(leaves))
        slot = np.arange(leaf_size)
        ids = start[leaves, None] + slot[None]
        real = ids < stop[leaves, None]
        ids = order[np.where(real, ids, start[leaves, None])]  # (n_leaves, L)
        a = np.where(real, area[ids], 0.0)
        asum = a.sum(1)
        mean_c = (np.where(real[..., None], centroid[ids], 0).sum(1)
                  / real.sum(1)[:, None])
        centre = np.where(asum[:, None] > 0, np.einsum("kl,klj->kj", a, centroid[ids])
                          / np.where(asum > 0, asum, 1)[:, None], mean_c)
        av = np.where(real[..., None], area_vec[ids], 0.0)
        self.centre = np.empty((n_nodes, 3))
        self.dipole = np.empty((n_nodes, 3))
        self.moment = np.empty((n_nodes, 3, 3))
        self.radius = np.empty(n_nodes)
        self.area = np.empty(n_nodes)
        self.centre[leaves] = centre
        self.dipole[leaves] = av.sum(1)
        self.moment[leaves] = np.einsum("kli,klj->kij", av, centroid[ids] - centre[:, None])
        self.area[leaves] = asum
        leaf_tri = tri[ids]
        leaf_tri[~real] = centre[np.nonzero(~real)[0]][:, None, :]  # zero-area padding
        self.leaf_tri = leaf_tri
        self.radius[leaves] = np.sqrt(((leaf_tri - centre[:, None, None]) ** 2).sum(3)).max(
            axis=(1, 2))
        for d in range(depth.max(), -1, -1):  # internal nodes from their children, upwards
            nodes = np.flatnonzero((depth == d) & (self.children[:, 0] >= 0))
            if not len(nodes):
                continue
            ch = self.children[nodes]  # (k, 2)
            a = self.area[ch]
            asum = a.sum(1)
            c = np.where(asum[:, None] > 0, np.einsum("kc,kcj->kj", a, self.centre[ch])
                         / np.where(asum > 0, asum, 1)[:, None], self.centre[ch].mean(1))
            shift = self.centre[ch] - c[:, None]  # (k, 2, 3)
            self.centre[nodes], self.area[nodes] = c, asum
            self.dipole[nodes] = self.dipole[ch].sum(1)
            self.moment[nodes] = (self.moment[ch] + np.einsum("kci,kcj->kcij",
                                  self.dipole[ch], shift)).sum(1)
            self.radius[nodes] = (np.linalg.norm(shift, axis=2) + self.radius[ch]).max(1)
        self.trace = np.trace(self.moment, axis1=1, axis2=2)

    def __call__(self, points: np.ndarray, chunk: int = 4096, pair_chunk: int = 8192
                 ) -> np.ndarray:
        """Winding numbers ``(q,)`` at ``points (q, 3)``."""
        q = np.asarray(points, float).reshape(-1, 3)
        out = np.zeros(len(q))
        for s in range(0, len(q), chunk):
            p = q[s:s + chunk]
            total = np.zeros(len(p))
            qi = np.arange(len(p))
            ni = np.zeros(len(p), np.int64)  # the root
            while len(qi):
                d = self.centre[ni] - p[qi]
                r2 = np.einsum("ij,ij->i", d, d)
                far = r2 >= (self.beta * self.radius[ni]) ** 2
                if far.any():
                    df, nf, rf2 = d[far], ni[far], r2[far]
                    md = np.einsum("ijk,ik->ij", self.moment[nf], df)
                    rf3 = rf2 * np.sqrt(rf2)
                    term = (np.einsum("ij,ij->i", df, self.dipole[nf] - 3 * md / rf2[:, None])
                            + self.trace[nf]) / rf3
                    total += np.bincount(qi[far], term, minlength=len(p))
                qi, ni = qi[~far], ni[~far]
                leaf = self.leaf_row[ni] >= 0
                lq, lrow = qi[leaf], self.leaf_row[ni[leaf]]
                for u in range(0, len(lq), pair_chunk):
                    qq = lq[u:u + pair_chunk]
                    t = self.leaf_tri[lrow[u:u + pair_chunk]]  # (P, L, 3, 3)
                    om = solid_angles(p[qq][:, None, :], t[:, :, 0], t[:, :, 1], t[:, :, 2])
                    total += np.bincount(qq, om.sum(1), minlength=len(p))
                qi = np.repeat(qi[~leaf], 2)
                ni = self.children[ni[~leaf]].ravel()
            out[s:s + chunk] = total / (4 * np.pi)
        return out
