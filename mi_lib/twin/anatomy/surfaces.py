"""Biventricular anatomies for the digital twin (paper 004 §III-A): import, meshing, checks.

Three input formats, all read by :func:`load_anatomy`:

(a) one **labelled closed surface** (``.vtp``, ``.vtk``, ``.ply``, ``.stl``) with a point or
    cell array ``class``: 1 base, 2 epicardium, 3 LV endocardium, 4 RV endocardium. The
    surface encloses the myocardium (the cavities lie outside it). It is meshed into
    tetrahedra at a target edge length by :func:`mesh_surface`;
(b) a **Cobiveco-format pair** in one folder: ``heart.vtu`` (tetrahedra) and ``heart.vtp``
    (the labelled surface); labels go to the mesh's boundary nodes by position;
(c) **four separate surfaces**, the Cobiveco input convention: ``heart_epi``,
    ``heart_endo_lv``, ``heart_endo_rv`` and ``heart_base`` (each any of the surface
    suffixes), given by their folder or a prefix (``.../heart`` or ``.../heart_``). Each
    point takes the class of its file. Such surfaces come out of segmentation pipelines
    and do not close exactly where they meet: their seams leave gaps (about 1.4-2.1 mm
    along ~1,150 open edges for the shipped ``kit_geo2``).

The mesher is our own, so that the project depends on no copyleft mesher (TetGen, gmsh
and CGAL are AGPL/GPL): the myocardium is voxelised by ray parity on a regular grid,
every voxel inside becomes six tetrahedra of the Kuhn split (conforming across voxels),
and boundary nodes are moved onto the surface (:func:`snap_to_surface`) wherever that
keeps every tetrahedron well shaped. The result is a structured-looking mesh of good,
uniform quality whose boundary follows the surface to a fraction of the edge length.

Open seams (format c). The parity of a single ray along +z (:func:`voxelize`) is exact
for a closed surface, but a ray that slips through a seam gap misses one crossing and
flips every voxel behind it, a whole line of wrong voxels. So the four surfaces are
voxelised by :func:`voxelize_open`: the ray parity is taken along x, y and z
(:func:`voxel_votes`, ``voxelize`` on permuted coordinates); where the three agree the
voxel keeps that answer (a wrong answer needs all three of its rays to slip), and where
they disagree (about a fifth of the inside voxels for ``kit_geo2``, mostly lines behind
seams) the voxel is decided by the generalized winding number of the surfaces
(:class:`WindingNumber`, Jacobson et al. 2013: the sum of the triangles' solid angles
over 4 pi, 1 inside and 0 outside, and a smooth field that stays near 0 or 1 across
gaps; inside above 1/2). The winding number needs consistently oriented surfaces: each
file's sign is the one that best reproduces the undisputed voxels, so the files may come
in any orientation. Small enclosed pockets of outside voxels (all three rays slipped)
are decided by the winding number as well. A majority vote alone would leave holes in the
wall where two of a voxel's three rays slip (~1.5 % of the voxels of ``kit_geo2``); the
winding number of every voxel of the grid would cost ~40 times more.

The seams are measured first (:func:`seam_gaps`): for each open-boundary vertex of each
surface, the distance to the nearest other surface where it touches one, else to the
nearest open boundary of another surface (the seam width; large for a hole inside a
surface). The voxel mesh bridges a gap with its own staircase, snapped onto the nearest
surfaces, which is faithful while the gap spans no more than a few elements: gaps up to
:data:`SEAM_GAP_EDGES` (3) edge lengths are bridged (kit_geo2's 2.1 mm gaps need an
edge length of at least 0.71 mm), wider ones are refused with the file, the gap and the fix.

Repairs done with a warning: disconnected specks (below :data:`SPECK_FRACTION` of a
surface's area or a tetrahedral mesh's volume) are dropped; a consistently inverted
Cobiveco mesh is reoriented. Everything else wrong is an :class:`AnatomyError` naming the
file, the problem, what was found and the fix.

Units are mm. A surface (or set of surfaces) whose bounding-box diagonal is below 40 units
is taken to be in cm (a human heart spans ~100-150 mm) unless ``units`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations
from pathlib import Path

import numpy as np
from scipy import sparse

#: Surface classes of the input format.
CLASSES = {1: "base", 2: "epicardium", 3: "lv_endocardium", 4: "rv_endocardium"}
SURFACE_SUFFIXES = (".vtp", ".vtk", ".ply", ".stl")
#: Default grid spacing (mm) of the tetrahedral mesh: axis edges have this length, face
#: and cube diagonals sqrt(2) and sqrt(3) times it (mean edge ~1.24 times it).
EDGE_LENGTH = 2.0
#: The four-surface input: file-name part -> class (``heart_epi.ply`` etc.).
SURFACE_PARTS = {"epi": 2, "endo_lv": 3, "endo_rv": 4, "base": 1}
#: Widest seam gap between the four surfaces that the mesher bridges, in edge lengths.
SEAM_GAP_EDGES = 3.0
#: Disconnected pieces below this fraction (of a surface's area, of a tetrahedral mesh's
#: volume) are specks, dropped with a warning; larger extra pieces are refused.
SPECK_FRACTION = 1e-3


class AnatomyError(ValueError):
    """A biventricular anatomy that cannot be used, with the file, the problem and the fix."""


@dataclass
class Anatomy:
    """A tetrahedral biventricular mesh with its surface labels.

    Attributes
    ----------
    points : (n, 3) float, mm
    tets : (m, 4) int, positively oriented
    surface_class : (n,) int8
        0 interior, else the :data:`CLASSES` label of the nearest input surface point
        (boundary nodes only).
    name : str
    source : str
    info : dict
        How it was made (edge length, units, dropped fragments, snapping).
    """

    points: np.ndarray
    tets: np.ndarray
    surface_class: np.ndarray
    name: str = "heart"
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.points)

    @property
    def n_tets(self) -> int:
        return len(self.tets)

    def volumes(self) -> np.ndarray:
        """Signed volumes ``(m,)`` of the tetrahedra, mm^3."""
        return signed_volumes(self.points, self.tets)

    def edge_lengths(self) -> np.ndarray:
        """Lengths of the unique mesh edges, mm."""
        e = unique_edges(self.tets)
        return np.linalg.norm(self.points[e[:, 0]] - self.points[e[:, 1]], axis=1)

    def to_pyvista(self):
        """The mesh as a ``pyvista.UnstructuredGrid`` with ``surface_class`` point data."""
        import pyvista as pv

        cells = np.hstack([np.full((self.n_tets, 1), 4), self.tets]).ravel()
        grid = pv.UnstructuredGrid(cells, np.full(self.n_tets, 10, np.uint8),  # VTK_TETRA
                                   self.points)
        grid.point_data["surface_class"] = self.surface_class
        return grid

    def describe(self) -> dict:
        """Size and quality figures of the mesh."""
        e = self.edge_lengths()
        v = self.volumes()
        return {"nodes": self.n_nodes, "tets": self.n_tets, "volume_ml": float(v.sum() / 1e3),
                "edge_mean_mm": float(e.mean()), "edge_min_mm": float(e.min()),
                "edge_max_mm": float(e.max()), "min_quality": float(tet_quality(
                    self.points, self.tets).min()),
                **{f"nodes_{CLASSES[c]}": int((self.surface_class == c).sum()) for c in CLASSES}}


# --- geometry helpers ----------------------------------------------------------------

def signed_volumes(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Signed volumes of tetrahedra ``(m,)``: positive when ``(b-a, c-a, d-a)`` is
    right-handed."""
    a, b, c, d = (points[tets[:, i]] for i in range(4))
    return np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) / 6.0


def tet_quality(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Normalised shape quality in [0, 1] (1 for the regular tetrahedron, 0 when flat):
    ``6 sqrt(2) V / l_rms^3`` with ``l_rms`` the RMS edge length."""
    p = points[tets]
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    l2 = np.mean([np.sum((p[:, i] - p[:, j]) ** 2, axis=1) for i, j in pairs], axis=0)
    return 6 * np.sqrt(2) * signed_volumes(points, tets) / l2 ** 1.5


def unique_edges(tets: np.ndarray) -> np.ndarray:
    """The unique edges ``(k, 2)`` (sorted node pairs) of tetrahedra."""
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    e = np.sort(np.concatenate([tets[:, [i, j]] for i, j in pairs]), axis=1)
    return np.unique(e, axis=0)


def boundary_faces(tets: np.ndarray, return_owner: bool = False):
    """Triangles ``(k, 3)`` that belong to exactly one tetrahedron (outward winding for
    positively oriented tetrahedra), and with ``return_owner`` that tetrahedron ``(k,)``."""
    faces = np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 3, 2]], tets[:, [0, 1, 3]],
                            tets[:, [0, 2, 1]]])
    key = np.sort(faces, axis=1)
    _, idx, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    idx = idx[counts == 1]
    return (faces[idx], idx % len(tets)) if return_owner else faces[idx]


def node_components(n: int, tets: np.ndarray) -> np.ndarray:
    """Connected-component label of each node (nodes linked by tetrahedron edges)."""
    from scipy.sparse.csgraph import connected_components

    e = unique_edges(tets)
    graph = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


# --- voxelisation and meshing --------------------------------------------------------

def voxelize(vertices: np.ndarray, triangles: np.ndarray, origin, spacing: float,
             shape) -> np.ndarray:
    """Voxels of a regular grid whose centres lie inside a closed triangulated surface.

    Parity of the crossings of a ray along +z from each voxel centre. Voxel ``(i, j, k)``
    has its centre at ``origin + spacing * (i + 1/2, j + 1/2, k + 1/2)``. Returns a bool
    array ``shape``.
    """
    v = np.asarray(vertices, float)
    tri = np.asarray(triangles, int)
    origin = np.asarray(origin, float)
    nx, ny, nz = (int(s) for s in shape)
    # centres' x, y in grid units; rays at cell centres
    a, b, c = (v[tri[:, i]] for i in range(3))
    gx = lambda x: (x - origin[0]) / spacing - 0.5  # noqa: E731 - grid index of a coordinate
    gy = lambda y: (y - origin[1]) / spacing - 0.5  # noqa: E731
    xmin = np.ceil(gx(np.minimum(np.minimum(a[:, 0], b[:, 0]), c[:, 0]))).astype(int)
    xmax = np.floor(gx(np.maximum(np.maximum(a[:, 0], b[:, 0]), c[:, 0]))).astype(int)
    ymin = np.ceil(gy(np.minimum(np.minimum(a[:, 1], b[:, 1]), c[:, 1]))).astype(int)
    ymax = np.floor(gy(np.maximum(np.maximum(a[:, 1], b[:, 1]), c[:, 1]))).astype(int)
    cols, zs = [], []
    span = int(max((xmax - xmin).max(initial=0), (ymax - ymin).max(initial=0))) + 1
    for di in range(span):
        for dj in range(span):
            i, j = xmin + di, ymin + dj
            ok = (i <= xmax) & (j <= ymax) & (i >= 0) & (i < nx) & (j >= 0) & (j < ny)
            if not ok.any():
                continue
            t = np.flatnonzero(ok)
            px = origin[0] + spacing * (i[t] + 0.5)
            py = origin[1] + spacing * (j[t] + 0.5)
            # barycentric coordinates of (px, py) in the projected triangle
            x0, y0 = a[t, 0], a[t, 1]
            x1, y1 = b[t, 0] - x0, b[t, 1] - y0
            x2, y2 = c[t, 0] - x0, c[t, 1] - y0
            det = x1 * y2 - x2 * y1
            good = np.abs(det) > 1e-14  # triangles seen edge-on are crossed by no ray
            det = np.where(good, det, 1.0)
            u = ((px - x0) * y2 - x2 * (py - y0)) / det
            w = (x1 * (py - y0) - (px - x0) * y1) / det
            hit = good & (u >= 0) & (w >= 0) & (u + w <= 1)
            if not hit.any():
                continue
            th = t[hit]
            z = a[th, 2] + u[hit] * (b[th, 2] - a[th, 2]) + w[hit] * (c[th, 2] - a[th, 2])
            cols.append(i[th] * ny + j[th])
            zs.append(z)
    inside = np.zeros((nx, ny, nz), bool)
    if not cols:
        return inside
    cols, zs = np.concatenate(cols), np.concatenate(zs)
    order = np.lexsort((zs, cols))
    cols, zs = cols[order], zs[order]
    kz = (zs - origin[2]) / spacing - 0.5  # crossing height in voxel-centre units
    starts = np.flatnonzero(np.r_[True, cols[1:] != cols[:-1]])
    ends = np.r_[starts[1:], len(cols)]
    flat = inside.reshape(nx * ny, nz)
    for s, e in zip(starts, ends, strict=True):
        z = kz[s:e]
        for k in range(0, len(z) - 1, 2):  # inside between crossings 2q and 2q+1
            lo, hi = int(np.ceil(z[k])), int(np.floor(z[k + 1]))
            if hi >= lo:
                flat[cols[s], max(lo, 0):min(hi + 1, nz)] = True
    return inside


# --- open seams: three-axis parity votes and the generalized winding number ---------

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


def voxel_votes(vertices: np.ndarray, triangles: np.ndarray, origin, spacing: float,
                shape) -> np.ndarray:
    """For each voxel of the grid of :func:`voxelize`, the number (0-3) of the three axis
    directions whose ray parity puts its centre inside the surface (``voxelize`` called
    with the coordinates permuted so that its +z ray runs along x, y and z in turn)."""
    v = np.asarray(vertices, float)
    origin = np.asarray(origin, float)
    shape = np.asarray(shape, int)
    votes = np.zeros(tuple(shape), np.int8)
    for axis in range(3):
        perm = [(axis + 1) % 3, (axis + 2) % 3, axis]  # the ray axis last
        inside = voxelize(v[:, perm], triangles, origin[perm], spacing, shape[perm])
        votes += np.transpose(inside, np.argsort(perm))
    return votes


def voxelize_open(parts, origin, spacing: float, shape, seed: int = 0
                  ) -> tuple[np.ndarray, dict]:
    """Voxels inside the volume bounded by several open surfaces that close it only up to
    small seam gaps (the four-surface format); see the module docstring.

    ``parts`` is a list of ``(vertices (n_i, 3), triangles (m_i, 3))``. A voxel on which the
    ray parities along x, y and z agree keeps that answer (one ray slipping through a seam
    gap makes them disagree). A disputed voxel is decided by the generalized winding
    number of the surfaces (inside when above 1/2), each surface oriented by the sign that
    best reproduces the undisputed voxels (so the files may come in any orientation).
    Returns the bool array ``shape`` and figures of the vote.
    """
    from scipy import ndimage

    verts = np.concatenate([np.asarray(v, float) for v, _ in parts])
    offsets = np.cumsum([0] + [len(v) for v, _ in parts])
    tris = [np.asarray(t, np.int64).reshape(-1, 3) for _, t in parts]
    origin = np.asarray(origin, float)
    votes = voxel_votes(verts, np.concatenate([t + o for t, o in zip(tris, offsets[:-1], strict=True)]),
                        origin, spacing, shape)
    inside = votes == 3
    disputed = (votes > 0) & (votes < 3)
    info = {"voxels_unanimous_inside": int(inside.sum()),
            "voxels_disputed": int(disputed.sum())}
    if not inside.any():
        return inside, info
    # orient each surface: the sign vector whose winding number best matches the
    # undisputed voxels, inside ones and outside ones next to them (cavities, exterior)
    rng = np.random.default_rng(seed)
    shell = ndimage.binary_dilation(inside, iterations=2) & (votes == 0)
    samples, target = [], []
    for mask, value in ((inside, 1.0), (shell, 0.0)):
        idx = np.argwhere(mask)
        idx = idx[rng.choice(len(idx), min(300, len(idx)), replace=False)]
        samples.append(origin + spacing * (idx + 0.5))
        target.append(np.full(len(idx), value))
    samples, target = np.concatenate(samples), np.concatenate(target)
    w_part = np.stack([WindingNumber(v, t)(samples) for (v, _), t in zip(parts, tris, strict=True)])
    signs = np.array([[1 - 2 * ((k >> i) & 1) for i in range(len(parts))]
                      for k in range(2 ** len(parts))], float)
    misfit = np.abs(signs @ w_part - target[None]).mean(axis=1)
    best = int(np.argmin(misfit))
    sign = signs[best]
    info.update({"orientation": [int(s) for s in sign],
                 "winding_misfit": float(misfit[best])})
    oriented = [t if s > 0 else t[:, [0, 2, 1]] for t, s in zip(tris, sign, strict=True)]
    field = WindingNumber(verts, np.concatenate([t + o for t, o in
                                                 zip(oriented, offsets[:-1], strict=True)]))
    if disputed.any():
        idx = np.argwhere(disputed)
        w = field(origin + spacing * (idx + 0.5))
        inside[tuple(idx.T)] = w > 0.5
        info["voxels_disputed_inside"] = int((w > 0.5).sum())
        info["disputed_winding_ambiguous"] = int(((w > 0.25) & (w < 0.75)).sum())
    # a voxel whose three rays all slip through gaps is wrong unanimously: it shows as a
    # small pocket of outside voxels enclosed by the myocardium; decide those by the
    # winding number too (the cavities, open to the outside at the base or large, stay)
    pockets, n_pockets = ndimage.label(~inside)
    border = np.unique(np.concatenate([pockets[[0, -1]].ravel(), pockets[:, [0, -1]].ravel(),
                                       pockets[:, :, [0, -1]].ravel()]))
    size = np.bincount(pockets.ravel(), minlength=n_pockets + 1)
    small = size <= 0.01 * inside.sum()
    small[border] = False
    small[0] = False
    if small.any():
        idx = np.argwhere(small[pockets])
        w = field(origin + spacing * (idx + 0.5))
        inside[tuple(idx.T)] = w > 0.5
        info["voxels_in_pockets"] = int(len(idx))
        info["voxels_in_pockets_inside"] = int((w > 0.5).sum())
    return inside, info


def _kuhn_template() -> np.ndarray:
    """Six positively oriented tetrahedra of the unit cube, as corner indices
    ``i + 2 j + 4 k``, all sharing the diagonal 0-7 (conforming between cubes)."""
    corners = np.array([[i, j, k] for k in (0, 1) for j in (0, 1) for i in (0, 1)], float)
    tets = []
    for perm in permutations(range(3)):
        path = [np.zeros(3)]
        for axis in perm:
            step = path[-1].copy()
            step[axis] = 1
            path.append(step)
        ids = [int(p[0] + 2 * p[1] + 4 * p[2]) for p in path]
        if signed_volumes(corners, np.array([ids]))[0] < 0:
            ids[2], ids[3] = ids[3], ids[2]
        tets.append(ids)
    return np.array(tets)


def voxel_tets(inside: np.ndarray, origin, spacing):
    """Tetrahedra (Kuhn split, six per voxel, positively oriented) of the voxels ``inside``;
    returns ``(points (n, 3), tets (m, 4))`` with unused grid nodes removed. ``spacing`` is
    one voxel size (mm) or one per axis."""
    nx, ny, nz = inside.shape
    vox = np.argwhere(inside)
    offsets = np.array([[i, j, k] for k in (0, 1) for j in (0, 1) for i in (0, 1)])
    corner_ids = ((vox[:, None, 0] + offsets[:, 0]) * (ny + 1)
                  + (vox[:, None, 1] + offsets[:, 1])) * (nz + 1) + vox[:, None, 2] + offsets[:, 2]
    tets = corner_ids[:, _kuhn_template()].reshape(-1, 4)
    used, tets = np.unique(tets, return_inverse=True)
    tets = tets.reshape(-1, 4)
    k = used % (nz + 1)
    j = (used // (nz + 1)) % (ny + 1)
    i = used // ((nz + 1) * (ny + 1))
    points = np.asarray(origin, float) + np.asarray(spacing, float) * np.stack(
        [i, j, k], 1).astype(float)
    return points, tets


def box_mesh(shape, spacing=1.0, origin=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """Conforming tetrahedral mesh of a box of ``shape = (n_x, n_y, n_z)`` grid nodes
    (each >= 2), ``spacing`` mm apart (scalar or per axis), node ``(0, 0, 0)`` at
    ``origin``: six Kuhn tetrahedra per cube. Node ``(i, j, k)`` is number
    ``(i * n_y + j) * n_z + k``."""
    cells = np.asarray(shape, int) - 1
    if cells.min() < 1:
        raise ValueError(f"a box mesh needs >= 2 nodes per axis, got {tuple(shape)}")
    return voxel_tets(np.ones(cells, bool), origin, spacing)


def snap_to_surface(points: np.ndarray, tets: np.ndarray, surface, min_quality: float = 0.15,
                    max_rounds: int = 8) -> tuple[np.ndarray, dict]:
    """Move the boundary nodes of a tetrahedral mesh onto the closest point of ``surface``
    (a ``pyvista.PolyData``), keeping every tetrahedron's quality above ``min_quality``:
    nodes of tetrahedra that would fall below it move half-way, then not at all."""
    bnodes = np.unique(boundary_faces(tets))
    _, closest = surface.find_closest_cell(points[bnodes], return_closest_point=True)
    target = points.copy()
    target[bnodes] = closest
    fraction = np.zeros(len(points))
    fraction[bnodes] = 1.0
    node_tets = sparse.csr_matrix((np.ones(tets.size), (tets.ravel(),
                                   np.repeat(np.arange(len(tets)), 4))),
                                  shape=(len(points), len(tets)))
    moved = points + fraction[:, None] * (target - points)
    for _ in range(max_rounds):
        bad = tet_quality(moved, tets) < min_quality
        if not bad.any():
            break
        nodes = np.unique(tets[bad])
        nodes = nodes[fraction[nodes] > 0]
        fraction[nodes] = np.where(fraction[nodes] > 0.5, 0.5, 0.0)
        moved = points + fraction[:, None] * (target - points)
    bad = tet_quality(moved, tets) < min_quality
    if bad.any():  # give up on the remaining moves
        touched = node_tets[:, np.flatnonzero(bad)].sum(1).A1 > 0
        fraction[touched] = 0
        moved = points + fraction[:, None] * (target - points)
    dist = np.linalg.norm(moved[bnodes] - closest, axis=1)
    return moved, {"boundary_nodes": int(len(bnodes)),
                   "snapped_fraction": float(np.mean(fraction[bnodes] == 1.0)),
                   "boundary_distance_mean_mm": float(dist.mean()),
                   "boundary_distance_max_mm": float(dist.max())}


# --- input ---------------------------------------------------------------------------

def _point_classes(surface, path: Path) -> np.ndarray:
    """The ``class`` labels of a surface per point (cell labels go to their points)."""
    if "class" in surface.point_data:
        raw = np.asarray(surface.point_data["class"]).ravel()
        where = "point"
    elif "class" in surface.cell_data:
        raw = np.asarray(surface.cell_data["class"]).ravel()
        where = "cell"
    else:
        raise AnatomyError(f"{path}: no point or cell array `class` (1 base, 2 epicardium, "
                           "3 LV endocardium, 4 RV endocardium); label the surface and "
                           "save it with that array (or pass four unlabelled surfaces "
                           "heart_epi, heart_endo_lv, heart_endo_rv, heart_base as a folder "
                           "or prefix)")
    values = raw.astype(float)
    bad = ~np.isin(values, list(CLASSES))
    if bad.any():
        found, counts = np.unique(values[bad], return_counts=True)
        listed = ", ".join(f"class {v:g} on {n} {where}{'s' if n > 1 else ''}"
                           for v, n in zip(found[:6], counts[:6], strict=True))
        more = f" and {len(found) - 6} more values" if len(found) > 6 else ""
        raise AnatomyError(f"{path}: the `class` array holds values other than 1-4: "
                           f"{listed}{more} (of {len(values)} {where}s); relabel them as "
                           "1 base, 2 epicardium, 3 LV endocardium or 4 RV endocardium")
    if where == "point":
        cls = values.astype(int)
    else:
        faces = surface.faces.reshape(-1, 4)[:, 1:]
        cls = np.zeros(surface.n_points, int)
        cls[faces.ravel()] = np.repeat(values.astype(int), 3)
    missing = [f"{c} ({CLASSES[c]})" for c in CLASSES if not (cls == c).any()]
    if missing:
        raise AnatomyError(f"{path}: class(es) {', '.join(missing)} missing from the surface "
                           "labels; every anatomy needs base, epicardium and both endocardia")
    return cls


def unit_scale(size: float, units: str, path: Path) -> float:
    """Factor to mm for a geometry of bounding-box diagonal ``size`` in its own units."""
    if units == "mm":
        return 1.0
    if units == "cm":
        return 10.0
    if units != "auto":
        raise AnatomyError(f"{path}: unknown units {units!r}; use 'auto', 'mm' or 'cm'")
    return 10.0 if size < 40.0 else 1.0


def _read_polydata(path: Path):
    """A triangulated ``pyvista.PolyData`` read from a surface (or any mesh) file."""
    import pyvista as pv

    if not path.is_file():
        raise AnatomyError(f"{path}: no such file; pass a labelled surface "
                           f"({', '.join(SURFACE_SUFFIXES)}), a Cobiveco folder, or the four "
                           "surfaces heart_epi, heart_endo_lv, heart_endo_rv, heart_base "
                           "(a folder or a prefix)")
    try:
        surface = pv.read(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise AnatomyError(f"{path}: cannot be read as a surface ({exc})") from exc
    if not isinstance(surface, pv.PolyData):
        try:
            surface = surface.extract_surface(algorithm="dataset_surface")
        except TypeError:  # pyvista before the `algorithm` keyword
            surface = surface.extract_surface()
    surface = surface.triangulate()
    if surface.n_cells == 0:
        raise AnatomyError(f"{path}: the surface has no triangles")
    return surface


def _edges(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique edges ``(k, 2)`` of triangles and the number of triangles on each."""
    e = np.sort(np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]],
                                triangles[:, [2, 0]]]), axis=1)
    return np.unique(e, axis=0, return_counts=True)


def _main_piece(surface, path: Path):
    """The surface without its disconnected specks (pieces below :data:`SPECK_FRACTION`
    of the area, dropped with a warning); refused when several larger pieces remain."""
    import pyvista as pv
    from scipy.sparse.csgraph import connected_components

    tri = surface.faces.reshape(-1, 4)[:, 1:]
    n = surface.n_points
    graph = sparse.coo_matrix((np.ones(tri.size), (tri.ravel(), np.roll(tri, 1, 1).ravel())),
                              shape=(n, n))
    label = connected_components(graph, directed=False)[1][tri[:, 0]]
    pieces, label = np.unique(label, return_inverse=True)
    if len(pieces) == 1:
        return surface
    p = np.asarray(surface.points, float)
    area = 0.5 * np.linalg.norm(np.cross(p[tri[:, 1]] - p[tri[:, 0]], p[tri[:, 2]] - p[tri[:, 0]]),
                                axis=1)
    share = np.bincount(label, area) / area.sum()
    n_tri = np.bincount(label)
    speck = share < SPECK_FRACTION
    big = np.flatnonzero(~speck)
    if len(big) > 1:
        order = big[np.argsort(-share[big])]
        listed = ", ".join(f"{n_tri[k]} triangles ({100 * share[k]:.1f} % of the area)"
                           for k in order[:5])
        raise AnatomyError(f"{path}: the surface has {len(big)} disconnected parts ({listed}"
                           f"{', ...' if len(big) > 5 else ''}); keep the biventricular "
                           "surface only (pieces below "
                           f"{100 * SPECK_FRACTION:g} % of the area are dropped by themselves)")
    keep = label == big[0]
    import warnings

    warnings.warn(f"{path}: dropped {int(speck.sum())} disconnected speck(s) of the surface "
                  f"({int(n_tri[speck].sum())} triangles, {100 * share[speck].sum():.3f} % of "
                  f"the area; pieces below {100 * SPECK_FRACTION:g} % are dropped)",
                  stacklevel=3)
    used, inv = np.unique(tri[keep], return_inverse=True)
    out = pv.PolyData.from_regular_faces(p[used], inv.reshape(-1, 3))
    for key in surface.point_data.keys():
        out.point_data[key] = np.asarray(surface.point_data[key])[used]
    for key in surface.cell_data.keys():
        out.cell_data[key] = np.asarray(surface.cell_data[key])[keep]
    return out


def read_surface(path: str | Path, units: str = "auto"):
    """Read and check a labelled closed surface; returns ``(pyvista.PolyData in mm,
    point classes (n,), scale to mm)``."""
    path = Path(path)
    surface = _main_piece(_read_polydata(path), path)
    cls = _point_classes(surface, path)
    if surface.n_open_edges > 0:
        rim = surface.extract_feature_edges(boundary_edges=True, feature_edges=False,
                                            manifold_edges=False, non_manifold_edges=False)
        holes = len(np.unique(rim.connectivity()["RegionId"]))
        raise AnatomyError(f"{path}: the surface is open ({surface.n_open_edges} boundary "
                           f"edges around {holes} hole(s)), so it encloses no volume; close "
                           "it (cap the base), or pass it as the four surfaces heart_epi, "
                           "heart_endo_lv, heart_endo_rv, heart_base if it is one of those")
    if not surface.is_manifold:
        raise AnatomyError(f"{path}: the surface is not manifold (an edge shared by more than "
                           "two triangles); repair it (e.g. pymeshfix) before meshing")
    scale = unit_scale(float(np.linalg.norm(np.ptp(surface.points, axis=0))), units, path)
    surface = surface.copy()
    surface.points = np.asarray(surface.points, float) * scale
    return surface, cls, scale


def find_surface_set(folder: str | Path, prefix: str = "") -> dict[str, Path] | None:
    """The four-surface files ``{part: path}`` (in :data:`SURFACE_PARTS` order) named
    ``<folder>/<prefix><part><suffix>``, ``None`` when there is none of them; refused when
    some are missing or one part comes in several formats."""
    folder = Path(folder)
    found = {}
    for part in SURFACE_PARTS:
        hits = [folder / f"{prefix}{part}{s}" for s in SURFACE_SUFFIXES
                if (folder / f"{prefix}{part}{s}").is_file()]
        if len(hits) > 1:
            raise AnatomyError(f"{folder / prefix}: {[h.name for h in hits]} are the same "
                               f"surface in several formats; keep one of them")
        if hits:
            found[part] = hits[0]
    if not found:
        return None
    missing = [f"{prefix}{part}" for part in SURFACE_PARTS if part not in found]
    if missing:
        raise AnatomyError(f"{folder / prefix}: incomplete four-surface anatomy: found "
                           f"{sorted(p.name for p in found.values())}, missing "
                           f"{', '.join(missing)} ({'/'.join(SURFACE_SUFFIXES)}); a volume "
                           "needs epicardium, both endocardia and the base")
    return found


def _surface_set_at(path: Path) -> dict[str, Path] | None:
    """The four-surface set a folder or a prefix ``.../heart`` (or ``.../heart_``) names."""
    if path.is_dir():
        prefixes = sorted({p.name[: -len("epi" + p.suffix)] for p in path.iterdir()
                           if p.suffix in SURFACE_SUFFIXES and p.stem.endswith("epi")})
        sets = {pre: s for pre in prefixes if (s := find_surface_set(path, pre))}
        if len(sets) > 1:
            raise AnatomyError(f"{path}: several four-surface sets (prefixes "
                               f"{sorted(sets)}); pass one as a prefix, e.g. "
                               f"{path / sorted(sets)[0]}")
        return next(iter(sets.values())) if sets else None
    if path.is_file() or not path.parent.is_dir():
        return None
    for prefix in ((path.name,) if path.name.endswith(("_", "-")) else
                   (path.name + "_", path.name)):
        found = find_surface_set(path.parent, prefix)
        if found:
            return found
    return None


def seam_gaps(parts) -> list[np.ndarray]:
    """Seam gap (mm) at each open-boundary ("rim") vertex of each surface of a set.

    ``parts`` is a list of ``(vertices (n, 3) mm, triangles (m, 3))``. A rim vertex that
    touches another surface (closer to it than a tenth of the rim's median edge) has the
    gap of that distance; any other has to be bridged to the rim of another surface and
    has the gap of its distance to the nearest such rim (to a point of its edges), which
    is the seam's width where two surfaces stop short of each other, and large at a hole
    inside a surface; ``inf`` when no other surface has a rim. Returns one array per
    surface, empty for a closed one.
    """
    import pyvista as pv
    from scipy.spatial import cKDTree

    rims = []
    for _, t in parts:
        e, count = _edges(np.asarray(t).reshape(-1, 3))
        rims.append(e[count == 1])
    s = np.linspace(0.0, 1.0, 9)[:, None, None]
    samples = [(v[r[:, 0]][None] * (1 - s) + v[r[:, 1]][None] * s).reshape(-1, 3)
               for (v, _), r in zip(parts, rims, strict=True)]
    gaps = []
    for i, ((v, _), rim) in enumerate(zip(parts, rims, strict=True)):
        if not len(rim):
            gaps.append(np.zeros(0))
            continue
        ids = np.unique(rim)
        others = [j for j in range(len(parts)) if j != i]
        ov = np.concatenate([parts[j][0] for j in others])
        off = np.cumsum([0] + [len(parts[j][0]) for j in others])
        ot = np.concatenate([np.asarray(parts[j][1]).reshape(-1, 3) + o
                             for j, o in zip(others, off[:-1], strict=True)])
        _, closest = pv.PolyData.from_regular_faces(ov, ot).find_closest_cell(
            v[ids], return_closest_point=True)
        d_surface = np.linalg.norm(closest - v[ids], axis=1)
        rim_points = np.concatenate([samples[j] for j in others])
        d_rim = (cKDTree(rim_points).query(v[ids])[0] if len(rim_points)
                 else np.full(len(ids), np.inf))
        touch = 0.1 * np.median(np.linalg.norm(v[rim[:, 0]] - v[rim[:, 1]], axis=1))
        gaps.append(np.where(d_surface <= touch, d_surface, d_rim))
    return gaps


def read_surface_set(files: dict[str, Path], units: str = "auto", source: str = ""):
    """Read the four surfaces of :data:`SURFACE_PARTS` (each point gets the class of its
    file) and measure their seams; returns ``(merged pyvista.PolyData in mm, point classes,
    scale to mm, parts [(vertices mm, triangles)], seams {file name: figures, gaps})``."""
    import pyvista as pv

    source = source or str(Path(files["epi"]).parent)
    surfaces = []
    for path in files.values():
        surface = _main_piece(_read_polydata(Path(path)), Path(path))
        tri = surface.faces.reshape(-1, 4)[:, 1:]
        _, count = _edges(tri)
        if (count > 2).any():
            raise AnatomyError(f"{path}: the surface is not manifold ({int((count > 2).sum())} "
                               "edges shared by more than two triangles); repair it (e.g. "
                               "pymeshfix) before meshing")
        surfaces.append((np.asarray(surface.points, float), tri))
    every = np.concatenate([v for v, _ in surfaces])
    scale = unit_scale(float(np.linalg.norm(np.ptp(every, axis=0))), units, Path(source))
    parts = [(v * scale, t) for v, t in surfaces]
    gaps = seam_gaps(parts)
    seams = {Path(p).name: {"rim_vertices": int(len(g)),
                            "open_edges": int((_edges(t)[1] == 1).sum()),
                            "gap_median_mm": float(np.median(g)) if len(g) else 0.0,
                            "gap_max_mm": float(g.max()) if len(g) else 0.0, "gaps": g}
             for p, g, (_, t) in zip(files.values(), gaps, parts, strict=True)}
    off = np.cumsum([0] + [len(v) for v, _ in parts])
    merged = pv.PolyData.from_regular_faces(
        np.concatenate([v for v, _ in parts]),
        np.concatenate([t + o for (_, t), o in zip(parts, off[:-1], strict=True)]))
    classes = np.concatenate([np.full(len(v), SURFACE_PARTS[part], int)
                              for part, (v, _) in zip(files, parts, strict=True)])
    return merged, classes, scale, parts, seams


def check_seams(seams: dict, edge_length: float, source: str = "") -> None:
    """Refuse seam gaps wider than :data:`SEAM_GAP_EDGES` edge lengths (see
    :func:`seam_gaps`), naming the surface file, the gap and the fix."""
    limit = SEAM_GAP_EDGES * edge_length
    wide = {name: s for name, s in seams.items() if s["gap_max_mm"] > limit}
    if not wide:
        return
    name, s = max(wide.items(), key=lambda kv: kv[1]["gap_max_mm"])
    g = s["gaps"]
    n_wide = int((g > limit).sum())
    gap = (f"{s['gap_max_mm']:.2f} mm" if np.isfinite(s["gap_max_mm"])
           else "unbounded (no other surface has an open boundary)")
    also = [n for n in wide if n != name]
    raise AnatomyError(
        f"{Path(source) / name}: its open boundary lies up to {gap} from the next surface "
        f"({n_wide} of its {len(g)} boundary vertices beyond {limit:.2f} mm"
        f"{'; also ' + ', '.join(also) if also else ''}); the mesher bridges seam gaps up "
        f"to {SEAM_GAP_EDGES:g} x edge_length = {limit:.2f} mm. Close the seam or the hole "
        "(the four surfaces should meet along their boundaries)"
        + (f", or mesh at edge_length >= {s['gap_max_mm'] / SEAM_GAP_EDGES:.2f} mm"
           if np.isfinite(s["gap_max_mm"]) else ""))


def _boundary_classes(points: np.ndarray, tets: np.ndarray, surface_points: np.ndarray,
                      classes: np.ndarray, tolerance: float, path: Path) -> np.ndarray:
    from scipy.spatial import cKDTree

    bnodes = np.unique(boundary_faces(tets))
    dist, idx = cKDTree(surface_points).query(points[bnodes])
    if np.median(dist) > tolerance:
        raise AnatomyError(f"{path}: the mesh boundary lies {np.median(dist):.2f} mm (median) "
                           "from the labelled surface; the two files do not describe the same "
                           "geometry (check units and alignment)")
    out = np.zeros(len(points), np.int8)
    out[bnodes] = classes[idx]
    return out


def _tet_pieces(points: np.ndarray, tets: np.ndarray):
    """Piece label of each tetrahedron, and each piece's tetrahedra and volume share."""
    label = node_components(len(points), tets)[tets[:, 0]]
    pieces, label = np.unique(label, return_inverse=True)
    vol = np.abs(signed_volumes(points, tets))
    return label, np.bincount(label), np.bincount(label, vol) / max(vol.sum(), 1e-300)


def drop_tet_specks(points: np.ndarray, tets: np.ndarray, path) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Drop disconnected pieces below :data:`SPECK_FRACTION` of a tetrahedral mesh's volume
    (with a warning) and the nodes left unused; other meshes are returned as they are."""
    label, n_tets, share = _tet_pieces(points, tets)
    speck = share < SPECK_FRACTION
    if len(share) == 1 or not speck.any() or speck.all():
        return points, tets
    import warnings

    warnings.warn(f"{path}: dropped {int(speck.sum())} disconnected speck(s) of the mesh "
                  f"({int(n_tets[speck].sum())} tetrahedra, {100 * share[speck].sum():.3f} % "
                  f"of the volume; pieces below {100 * SPECK_FRACTION:g} % are dropped)",
                  stacklevel=3)
    tets = tets[~speck[label]]
    used, tets = np.unique(tets, return_inverse=True)
    return points[used], tets.reshape(-1, 4)


def check_tets(points: np.ndarray, tets: np.ndarray, path, min_volume: float = 1e-9):
    """Raise :class:`AnatomyError` for inverted or degenerate tetrahedra and disconnected
    parts of a tetrahedral mesh."""
    vol = signed_volumes(points, tets)
    scale = np.median(np.abs(vol)) if len(vol) else 1.0
    flat = np.abs(vol) <= min_volume * max(scale, 1e-30)
    if flat.any():
        raise AnatomyError(f"{path}: {int(flat.sum())} degenerate (zero-volume) tetrahedra "
                           f"among {len(vol)}; remesh or remove them")
    if (vol < 0).any() and (vol > 0).any():
        raise AnatomyError(f"{path}: {int((vol < 0).sum())} inverted tetrahedra (negative "
                           f"volume) among {len(vol)}, the other {int((vol > 0).sum())} "
                           "positive: a mix of orientations (a consistently inverted mesh is "
                           "reoriented); fix the element orientation (reorder the nodes of "
                           "the inverted ones) or remesh")
    _, n_tets, share = _tet_pieces(points, tets)
    if len(share) > 1:
        order = np.argsort(-share)
        listed = ", ".join(f"{n_tets[k]} tetrahedra ({100 * share[k]:.1f} % of the volume)"
                           for k in order[:5])
        raise AnatomyError(f"{path}: the mesh has {len(share)} disconnected parts ({listed}"
                           f"{', ...' if len(share) > 5 else ''}); keep the biventricular "
                           "myocardium only")


def mesh_surface(surface, classes: np.ndarray, edge_length: float = EDGE_LENGTH, *,
                 snap: bool = True, name: str = "heart", source: str = "",
                 parts=None) -> Anatomy:
    """Tetrahedral mesh of the myocardium enclosed by a labelled surface (in mm).

    Voxel fragments left disconnected by the discretisation of thin walls are dropped
    (their count and volume are reported in ``info``); an anatomy losing more than 2 % of
    its volume that way is refused with the advice to lower ``edge_length``.

    ``parts``, a list of ``(vertices, triangles)`` whose union is ``surface``, marks a set
    of surfaces that close only up to seam gaps: they are voxelised by
    :func:`voxelize_open` instead of the single-axis ray parity of :func:`voxelize`.
    """
    h = float(edge_length)
    pts = np.asarray(surface.points, float)
    # a tiny irrational shift keeps rays off mesh vertices and edges
    origin = pts.min(0) - 2 * h + h * np.array([0.1234567, 0.2345678, 0.3456789])
    shape = np.ceil((pts.max(0) + 2 * h - origin) / h).astype(int)
    tri = surface.faces.reshape(-1, 4)[:, 1:]
    vote_info = {}
    if parts is None:
        inside = voxelize(pts, tri, origin, h, shape)
    else:
        inside, vote_info = voxelize_open(parts, origin, h, shape)
    if not inside.any():
        extent = " x ".join(f"{x:.3g}" for x in np.ptp(pts, axis=0))
        raise AnatomyError(f"{source}: no voxel of edge {h} mm inside the surface (found a "
                           f"surface spanning {extent} mm with no voxel centre inside it); "
                           "lower edge_length, check the units (units='mm' or 'cm'), or "
                           "check that the surface encloses the myocardium")
    if parts is not None and vote_info.get("winding_misfit", 0.0) > 0.25:
        raise AnatomyError(f"{source}: the surfaces do not bound one volume (their winding "
                           "number misses the ray-parity inside/outside by "
                           f"{vote_info['winding_misfit']:.2f} on average, 0.03 for a heart "
                           "with small seam gaps); check that the four files belong to one "
                           "heart, in the same coordinates and units")
    points, tets = voxel_tets(inside, origin, h)
    comps = node_components(len(points), tets)
    sizes = np.bincount(comps[tets[:, 0]], minlength=comps.max() + 1)
    main = np.argmax(sizes)
    keep = comps[tets[:, 0]] == main
    dropped = 1.0 - keep.mean()
    if dropped > 0.02:
        raise AnatomyError(f"{source}: meshing at {h} mm splits the myocardium "
                           f"({100 * dropped:.1f} % of it outside the main part, in "
                           f"{len(sizes) - 1} fragment(s)); lower edge_length")
    tets = tets[keep]
    used, tets = np.unique(tets, return_inverse=True)
    points, tets = points[used], tets.reshape(-1, 4)
    info = {"edge_length_mm": h, "voxels": int(inside.sum()),
            "dropped_fragments": int(len(sizes) - 1), "dropped_volume_fraction": float(dropped),
            **vote_info}
    if snap:
        points, snap_info = snap_to_surface(points, tets, surface)
        info.update(snap_info)
    labels = _boundary_classes(points, tets, pts, classes, 2 * h, Path(source or "surface"))
    return Anatomy(points, tets.astype(np.int64), labels, name, source, info)


def _load_surface_set(files: dict[str, Path], edge_length: float, units: str, name: str,
                      source: str) -> Anatomy:
    merged, classes, scale, parts, seams = read_surface_set(files, units, source)
    check_seams(seams, float(edge_length), source)
    anatomy = mesh_surface(merged, classes, edge_length, name=name, source=source,
                           parts=parts)
    anatomy.info.update({
        "format": "surfaces", "unit_scale": scale,
        "files": [Path(p).name for p in files.values()],
        "seam_open_edges": int(sum(s["open_edges"] for s in seams.values())),
        "seam_gap_max_mm": {n: s["gap_max_mm"] for n, s in seams.items()},
        "seam_gap_median_mm": {n: s["gap_median_mm"] for n, s in seams.items()}})
    return anatomy


def load_anatomy(path: str | Path, edge_length: float = EDGE_LENGTH, units: str = "auto",
                 name: str | None = None) -> Anatomy:
    """Read a biventricular anatomy in any of the three input formats (see the module
    docstring) and mesh it at ``edge_length`` (mm) where it is a surface.

    ``path`` is a labelled surface file; a folder holding ``heart.vtu`` + ``heart.vtp``
    (Cobiveco format) or only a labelled surface ``heart.vtp``; or the four surfaces
    ``heart_epi``, ``heart_endo_lv``, ``heart_endo_rv``, ``heart_base`` (any of
    :data:`SURFACE_SUFFIXES`) given by their folder or by a prefix (``.../heart`` or
    ``.../heart_``). A folder with ``heart.vtp`` is read as the first kind.
    """
    import warnings

    import pyvista as pv

    path = Path(path).expanduser()
    if path.is_dir():
        vtu, vtp = path / "heart.vtu", path / "heart.vtp"
        if not vtp.is_file():
            files = _surface_set_at(path)
            if files:
                return _load_surface_set(files, edge_length, units, name or path.name,
                                         str(path))
            found = sorted(p.name for p in path.iterdir())[:10]
            raise AnatomyError(f"{path}: a Cobiveco folder needs heart.vtp (the labelled "
                               f"surface), and heart.vtu for a ready tetrahedral mesh, or the "
                               f"four surfaces heart_epi, heart_endo_lv, heart_endo_rv, "
                               f"heart_base ({'/'.join(SURFACE_SUFFIXES)}); found {found}")
        if not vtu.is_file():
            return load_anatomy(vtp, edge_length, units, name or path.name)
        surface, classes, scale = read_surface(vtp, units)
        try:
            grid = pv.read(vtu)
        except Exception as exc:  # noqa: BLE001
            raise AnatomyError(f"{vtu}: cannot be read as a mesh ({exc})") from exc
        tets_mask = grid.celltypes == 10
        if not tets_mask.any():
            raise AnatomyError(f"{vtu}: no tetrahedra in the mesh; save a tetrahedral mesh")
        cells = grid.cells_dict[10] if hasattr(grid, "cells_dict") else None
        tets = np.asarray(cells, np.int64)
        points = np.asarray(grid.points, float) * scale
        used, tets = np.unique(tets, return_inverse=True)
        points, tets = points[used], tets.reshape(-1, 4)
        points, tets = drop_tet_specks(points, tets, vtu)
        check_tets(points, tets, vtu)
        if signed_volumes(points, tets[:1])[0] < 0:
            warnings.warn(f"{vtu}: all {len(tets)} tetrahedra are inverted (negative volume); "
                          "reoriented (two nodes of each swapped)", stacklevel=2)
            tets = tets[:, [0, 1, 3, 2]]
        labels = _boundary_classes(points, tets, np.asarray(surface.points), classes,
                                   tolerance=0.5 * float(np.median(
                                       np.linalg.norm(points[tets[:, 0]] - points[tets[:, 1]],
                                                      axis=1))) + 1e-6, path=vtu)
        return Anatomy(points, tets, labels, name or path.name, str(path),
                       {"format": "cobiveco", "unit_scale": scale})
    if not path.is_file():
        files = _surface_set_at(path)
        if files:
            return _load_surface_set(files, edge_length, units, name or path.parent.name,
                                     str(path))
    if path.suffix.lower() not in SURFACE_SUFFIXES:
        raise AnatomyError(f"{path}: unsupported file type {path.suffix!r}; use a labelled "
                           f"surface ({', '.join(SURFACE_SUFFIXES)}), a Cobiveco folder "
                           "(heart.vtu + heart.vtp), or the four surfaces heart_epi, "
                           "heart_endo_lv, heart_endo_rv, heart_base (a folder or a prefix)")
    surface, classes, scale = read_surface(path, units)
    anatomy = mesh_surface(surface, classes, edge_length,
                           name=name or path.parent.name or path.stem, source=str(path))
    anatomy.info.update({"format": "surface", "unit_scale": scale})
    return anatomy


# --- refinement ----------------------------------------------------------------------

#: Local vertex pairs of the 6 edges of a tetrahedron (refinement midpoints 4..9).
_REFINE_EDGES = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
#: Corner children in local numbering (0-3 vertices, 4 + k the midpoint of edge k).
_REFINE_CORNERS = np.array([[0, 4, 5, 6], [4, 1, 7, 8], [5, 7, 2, 9], [6, 8, 9, 3]])
#: The 4 children of the inner octahedron for each of its 3 diagonals (midpoints of opposite
#: edges 0-1 | 2-3, 0-2 | 1-3, 0-3 | 1-2), around the diagonal through its 4-cycle.
_REFINE_OCTA = np.array([
    [[4, 9, 5, 6], [4, 9, 6, 8], [4, 9, 8, 7], [4, 9, 7, 5]],
    [[5, 8, 4, 6], [5, 8, 6, 9], [5, 8, 9, 7], [5, 8, 7, 4]],
    [[6, 7, 4, 5], [6, 7, 5, 9], [6, 7, 9, 8], [6, 7, 8, 4]],
])


def refine_uniform(points: np.ndarray, tets: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Uniform (red) refinement: every tetrahedron into 8 by its edge midpoints.

    The 4 corner children are half-size copies of the parent; the inner octahedron is cut
    into 4 along its shortest diagonal (Bey 1995; the best-shaped choice). The mesh stays
    conforming, since a face is split the same way (4 triangles by its edge midpoints) from
    either side, and the boundary and the volume are unchanged.

    Parameters
    ----------
    points : (n, 3) float
        Node positions.
    tets : (m, 4) int
        Tetrahedra.

    Returns
    -------
    points : (n + n_edges, 3) float64
        The ``n`` coarse nodes first, with their numbers, then the midpoints of the unique
        edges in the order of :func:`unique_edges`.
    tets : (8 m, 4) int64
        Positively oriented children (children ``8 j .. 8 j + 7`` of parent ``j``).
    parent : (8 m,) int64
        Parent tetrahedron of each child.
    """
    points = np.asarray(points, float)
    tets = np.asarray(tets, np.int64)
    n, m = len(points), len(tets)
    i = tets[:, _REFINE_EDGES[:, 0]]  # (m, 6)
    j = tets[:, _REFINE_EDGES[:, 1]]
    key = np.minimum(i, j) * n + np.maximum(i, j)
    uniq, edge = np.unique(key.ravel(), return_inverse=True)
    lo, hi = uniq // n, uniq % n
    fine_points = np.concatenate([points, 0.5 * (points[lo] + points[hi])])
    local = np.concatenate([tets, n + edge.reshape(m, 6)], axis=1)  # (m, 10)
    x = fine_points[local]  # (m, 10, 3)
    diag = np.stack([np.sum((x[:, a] - x[:, b]) ** 2, axis=1)
                     for a, b in ((4, 9), (5, 8), (6, 7))], axis=1)
    octa = _REFINE_OCTA[np.argmin(diag, axis=1)]  # (m, 4, 4) local ids
    children = np.concatenate([np.broadcast_to(_REFINE_CORNERS, (m, 4, 4)), octa], axis=1)
    fine = np.take_along_axis(local[:, None, :], children.reshape(m, 32)[:, None, :],
                              axis=2).reshape(8 * m, 4)
    negative = signed_volumes(fine_points, fine) < 0
    fine[negative] = fine[negative][:, [0, 1, 3, 2]]
    return fine_points, fine, np.repeat(np.arange(m, dtype=np.int64), 8)
