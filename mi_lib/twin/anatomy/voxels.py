"""Voxelisation of the myocardium on a regular grid: ray parity inside a closed surface
(:func:`voxelize`), three-axis votes decided by the winding number across the seam gaps of
open surfaces (:func:`voxelize_open`), and the Kuhn split of voxels into tetrahedra
(:func:`voxel_tets`, :func:`box_mesh`).

Method: ``docs/twin/anatomy.md``.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from .mesh import signed_volumes
from .winding import WindingNumber


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
    small seam gaps (the four-surface format); see ``docs/twin/anatomy.md``.

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
