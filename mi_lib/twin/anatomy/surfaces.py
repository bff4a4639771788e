"""Readers of the surface inputs: a labelled closed surface (:func:`read_surface`) and the
four-surface set (:func:`find_surface_set`, :func:`read_surface_set`) with its seam gaps
(:func:`seam_gaps`, :func:`check_seams`); specks dropped, units detected.

Formats and seams: ``docs/twin/anatomy.md``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import sparse

from .mesh import (
    CLASSES,
    SEAM_GAP_EDGES,
    SPECK_FRACTION,
    SURFACE_PARTS,
    SURFACE_SUFFIXES,
    AnatomyError,
)


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
