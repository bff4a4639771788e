"""Reading a biventricular anatomy in any of the three input formats (:func:`load_anatomy`),
and the checks and repairs of a ready tetrahedral mesh (:func:`check_tets`,
:func:`drop_tet_specks`).

Formats and checks: ``docs/twin/anatomy.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .mesh import (
    EDGE_LENGTH,
    SPECK_FRACTION,
    SURFACE_SUFFIXES,
    Anatomy,
    AnatomyError,
    node_components,
    signed_volumes,
)
from .mesher import _boundary_classes, mesh_surface
from .surfaces import _surface_set_at, check_seams, read_surface, read_surface_set


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
    """Read a biventricular anatomy in any of the three input formats (see
    ``docs/twin/anatomy.md``) and mesh it at ``edge_length`` (mm) where it is a surface.

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
