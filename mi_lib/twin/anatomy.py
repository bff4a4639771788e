"""Biventricular anatomies for the digital twin (paper 004 §III-A): import, meshing, checks.

Two input formats, both read by :func:`load_anatomy`:

(a) one **labelled closed surface** (``.vtp``, ``.vtk``, ``.ply``, ``.stl``) with a point or
    cell array ``class``: 1 base, 2 epicardium, 3 LV endocardium, 4 RV endocardium. The
    surface encloses the myocardium (the cavities lie outside it). It is meshed into
    tetrahedra at a target edge length by :func:`mesh_surface`;
(b) a **Cobiveco-format pair** in one folder: ``heart.vtu`` (tetrahedra) and ``heart.vtp``
    (the labelled surface); labels go to the mesh's boundary nodes by position.

The mesher is our own, so that the project depends on no copyleft mesher (TetGen, gmsh
and CGAL are AGPL/GPL): the myocardium is voxelised by ray parity on a regular grid,
every voxel inside becomes six tetrahedra of the Kuhn split (conforming across voxels),
and boundary nodes are moved onto the surface (:func:`snap_to_surface`) wherever that
keeps every tetrahedron well shaped. The result is a structured-looking mesh of good,
uniform quality whose boundary follows the surface to a fraction of the edge length.

Units are mm. A surface whose bounding-box diagonal is below 40 units is taken to be in
cm (a human heart spans ~100-150 mm) unless ``units`` says otherwise.
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


def boundary_faces(tets: np.ndarray) -> np.ndarray:
    """Triangles ``(k, 3)`` that belong to exactly one tetrahedron."""
    faces = np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 3, 2]], tets[:, [0, 1, 3]],
                            tets[:, [0, 2, 1]]])
    key = np.sort(faces, axis=1)
    _, idx, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    return faces[idx[counts == 1]]


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
        cls = np.asarray(surface.point_data["class"]).astype(int).ravel()
    elif "class" in surface.cell_data:
        faces = surface.faces.reshape(-1, 4)[:, 1:]
        cell = np.asarray(surface.cell_data["class"]).astype(int).ravel()
        cls = np.zeros(surface.n_points, int)
        cls[faces.ravel()] = np.repeat(cell, 3)
    else:
        raise AnatomyError(f"{path}: no point or cell array `class` (1 base, 2 epicardium, "
                           "3 LV endocardium, 4 RV endocardium); label the surface and "
                           "save it with that array")
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


def read_surface(path: str | Path, units: str = "auto"):
    """Read and check a labelled closed surface; returns ``(pyvista.PolyData in mm,
    point classes (n,), scale to mm)``."""
    import pyvista as pv

    path = Path(path)
    if not path.is_file():
        raise AnatomyError(f"{path}: no such file; pass a labelled surface "
                           f"({', '.join(SURFACE_SUFFIXES)}) or a Cobiveco folder")
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
    cls = _point_classes(surface, path)
    if surface.n_open_edges > 0:
        raise AnatomyError(f"{path}: the surface is open ({surface.n_open_edges} boundary "
                           "edges); close it (cap the base) so it encloses the myocardium")
    if not surface.is_manifold:
        raise AnatomyError(f"{path}: the surface is not manifold (an edge shared by more than "
                           "two triangles); repair it (e.g. pymeshfix) before meshing")
    regions = surface.connectivity()["RegionId"]
    if len(np.unique(regions)) > 1:
        raise AnatomyError(f"{path}: the surface has {len(np.unique(regions))} disconnected "
                           "parts; keep the biventricular surface only")
    scale = unit_scale(float(np.linalg.norm(np.ptp(surface.points, axis=0))), units, path)
    surface = surface.copy()
    surface.points = np.asarray(surface.points, float) * scale
    return surface, cls, scale


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


def check_tets(points: np.ndarray, tets: np.ndarray, path, min_volume: float = 1e-9):
    """Raise :class:`AnatomyError` for inverted or degenerate tetrahedra and disconnected
    parts of a tetrahedral mesh."""
    vol = signed_volumes(points, tets)
    scale = np.median(np.abs(vol)) if len(vol) else 1.0
    flat = np.abs(vol) <= min_volume * max(scale, 1e-30)
    if flat.any():
        raise AnatomyError(f"{path}: {int(flat.sum())} degenerate (zero-volume) tetrahedra; "
                           "remesh or remove them")
    if (vol < 0).any() and (vol > 0).any():
        raise AnatomyError(f"{path}: {int((vol < 0).sum())} inverted tetrahedra (negative "
                           f"volume) among {len(vol)}; fix the element orientation")
    comps = node_components(len(points), tets)
    used = np.unique(tets)
    n_parts = len(np.unique(comps[used]))
    if n_parts > 1:
        raise AnatomyError(f"{path}: the mesh has {n_parts} disconnected parts; keep the "
                           "biventricular myocardium only")


def mesh_surface(surface, classes: np.ndarray, edge_length: float = EDGE_LENGTH, *,
                 snap: bool = True, name: str = "heart", source: str = "") -> Anatomy:
    """Tetrahedral mesh of the myocardium enclosed by a labelled surface (in mm).

    Voxel fragments left disconnected by the discretisation of thin walls are dropped
    (their count and volume are reported in ``info``); an anatomy losing more than 2 % of
    its volume that way is refused with the advice to lower ``edge_length``.
    """
    h = float(edge_length)
    pts = np.asarray(surface.points, float)
    # a tiny irrational shift keeps rays off mesh vertices and edges
    origin = pts.min(0) - 2 * h + h * np.array([0.1234567, 0.2345678, 0.3456789])
    shape = np.ceil((pts.max(0) + 2 * h - origin) / h).astype(int)
    tri = surface.faces.reshape(-1, 4)[:, 1:]
    inside = voxelize(pts, tri, origin, h, shape)
    if not inside.any():
        raise AnatomyError(f"{source}: no voxel of edge {h} mm inside the surface; lower "
                           "edge_length or check the units")
    points, tets = voxel_tets(inside, origin, h)
    comps = node_components(len(points), tets)
    sizes = np.bincount(comps[tets[:, 0]], minlength=comps.max() + 1)
    main = np.argmax(sizes)
    keep = comps[tets[:, 0]] == main
    dropped = 1.0 - keep.mean()
    if dropped > 0.02:
        raise AnatomyError(f"{source}: meshing at {h} mm splits the myocardium "
                           f"({100 * dropped:.1f} % of it outside the main part); lower "
                           "edge_length")
    tets = tets[keep]
    used, tets = np.unique(tets, return_inverse=True)
    points, tets = points[used], tets.reshape(-1, 4)
    info = {"edge_length_mm": h, "voxels": int(inside.sum()),
            "dropped_fragments": int(len(sizes) - 1), "dropped_volume_fraction": float(dropped)}
    if snap:
        points, snap_info = snap_to_surface(points, tets, surface)
        info.update(snap_info)
    labels = _boundary_classes(points, tets, pts, classes, 2 * h, Path(source or "surface"))
    return Anatomy(points, tets.astype(np.int64), labels, name, source, info)


def load_anatomy(path: str | Path, edge_length: float = EDGE_LENGTH, units: str = "auto",
                 name: str | None = None) -> Anatomy:
    """Read a biventricular anatomy in either input format (see the module docstring).

    ``path`` is a labelled surface file, or a folder holding ``heart.vtu`` + ``heart.vtp``
    (Cobiveco format) or only a labelled surface ``heart.vtp``.
    """
    import pyvista as pv

    path = Path(path).expanduser()
    if path.is_dir():
        vtu, vtp = path / "heart.vtu", path / "heart.vtp"
        if not vtp.is_file():
            found = sorted(p.name for p in path.iterdir())[:10]
            raise AnatomyError(f"{path}: a Cobiveco folder needs heart.vtp (the labelled "
                               f"surface), and heart.vtu for a ready tetrahedral mesh; "
                               f"found {found}")
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
        check_tets(points, tets, vtu)
        if signed_volumes(points, tets[:1])[0] < 0:
            tets = tets[:, [0, 1, 3, 2]]
        labels = _boundary_classes(points, tets, np.asarray(surface.points), classes,
                                   tolerance=0.5 * float(np.median(
                                       np.linalg.norm(points[tets[:, 0]] - points[tets[:, 1]],
                                                      axis=1))) + 1e-6, path=vtu)
        return Anatomy(points, tets, labels, name or path.name, str(path),
                       {"format": "cobiveco", "unit_scale": scale})
    if path.suffix.lower() not in SURFACE_SUFFIXES:
        raise AnatomyError(f"{path}: unsupported file type {path.suffix!r}; use a labelled "
                           f"surface ({', '.join(SURFACE_SUFFIXES)}) or a Cobiveco folder "
                           "(heart.vtu + heart.vtp)")
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
