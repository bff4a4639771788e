"""The tetrahedral mesher of a labelled surface (:func:`mesh_surface`): the voxel mesh of
:mod:`~mi_lib.twin.anatomy.voxels`, its boundary nodes snapped onto the surface
(:func:`snap_to_surface`) and labelled by the nearest surface point.

Method: ``docs/twin/anatomy.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import sparse

from .mesh import EDGE_LENGTH, Anatomy, AnatomyError, boundary_faces, node_components, tet_quality
from .voxels import voxel_tets, voxelize, voxelize_open


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
