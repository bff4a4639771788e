"""Biventricular anatomy import: the voxel mesher against closed forms and pyvista, the
shipped heart, the Cobiveco-format pair, and every bad input named with its fix."""

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

from mi_lib.twin import anatomy as an
from mi_lib.twin.anatomy.voxels import _kuhn_template

ROOT = Path(__file__).resolve().parents[2]
HEART = ROOT / "data" / "raw" / "anatomy" / "kit_geo1" / "heart.vtp"
H = 3.0  # coarse meshes keep the tests quick


@pytest.fixture(scope="module")
def heart():
    return an.load_anatomy(HEART, edge_length=H)


@pytest.fixture(scope="module")
def surface():
    return pv.read(HEART)


def test_kuhn_split_is_conforming_and_fills_the_cube():
    t = _kuhn_template()
    corners = np.array([[i, j, k] for k in (0, 1) for j in (0, 1) for i in (0, 1)], float)
    vol = an.signed_volumes(corners, t)
    np.testing.assert_allclose(vol, 1 / 6)
    block = np.ones((2, 3, 2), bool)
    points, tets = an.voxel_tets(block, (0, 0, 0), 1.0)
    assert an.signed_volumes(points, tets).sum() == pytest.approx(12.0)
    # conforming: only the faces on the block's outside are unpaired, 2 per unit square
    assert len(an.boundary_faces(tets)) == 2 * 2 * (2 * 3 + 3 * 2 + 2 * 2)


def test_box_mesh_is_conforming_and_fills_the_box():
    points, tets = an.box_mesh((4, 3, 5), spacing=(1.0, 2.0, 0.5), origin=(1.0, 0.0, -1.0))
    assert points.shape == (60, 3) and tets.shape == (6 * 3 * 2 * 4, 4)
    assert np.allclose(points.min(0), [1, 0, -1]) and np.allclose(points.max(0), [4, 4, 1])
    e = points[tets[:, 1:]] - points[tets[:, :1]]
    vol = np.abs(np.linalg.det(e)) / 6
    assert vol.min() > 0 and np.isclose(vol.sum(), 3 * 4 * 2)
    faces = np.sort(np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 2, 3]],
                                    tets[:, [0, 1, 3]], tets[:, [0, 1, 2]]]), axis=1)
    _, counts = np.unique(faces, axis=0, return_counts=True)
    assert counts.max() == 2  # each face is shared by at most two tetrahedra (conforming)


def test_voxelize_matches_the_enclosed_volume_and_pyvista():
    sphere = pv.Sphere(radius=10.0, theta_resolution=60, phi_resolution=60)
    h = 0.8
    origin = np.array([-12.0, -12.0, -12.0]) + 0.0123
    shape = (31, 31, 31)
    inside = an.voxelize(sphere.points, sphere.faces.reshape(-1, 4)[:, 1:], origin, h, shape)
    # volume within 3 % of the polyhedron's exact volume
    assert inside.sum() * h ** 3 == pytest.approx(sphere.volume, rel=0.03)
    idx = np.argwhere(np.ones(shape, bool))
    centres = pv.PolyData(origin + h * (idx + 0.5))
    peer = centres.select_interior_points(sphere)["selected_points"].astype(bool)
    assert np.mean(peer == inside.ravel()) > 0.999


def test_shipped_heart_meshes_into_a_valid_labelled_volume(heart, surface):
    d = heart.describe()
    # 3 mm voxels on walls 3-10 mm thick: within 5 % (0.3 % at the default 2 mm)
    assert d["volume_ml"] * 1e3 == pytest.approx(surface.volume, rel=0.05)
    assert all(d[f"nodes_{name}"] > 0 for name in an.CLASSES.values())
    assert d["min_quality"] >= 0.15
    assert (heart.volumes() > 0).all()
    assert len(np.unique(an.node_components(heart.n_nodes, heart.tets))) == 1
    assert heart.info["boundary_distance_mean_mm"] < 0.5 * H
    assert heart.info["dropped_volume_fraction"] <= 0.02
    # interior nodes carry no surface class; every boundary node one
    bnodes = np.unique(an.boundary_faces(heart.tets))
    assert (heart.surface_class[bnodes] > 0).all()
    assert (np.delete(heart.surface_class, bnodes) == 0).all()
    an.check_tets(heart.points, heart.tets, "heart")


def test_units_in_cm_are_detected(tmp_path, surface):
    cm = surface.copy()
    cm.points = cm.points / 10.0
    cm.save(tmp_path / "heart_cm.vtp")
    a = an.load_anatomy(tmp_path / "heart_cm.vtp", edge_length=H)
    assert a.info["unit_scale"] == 10.0
    assert np.ptp(a.points, axis=0).max() > 80  # mm
    with pytest.raises(an.AnatomyError, match="unknown units"):
        an.load_anatomy(tmp_path / "heart_cm.vtp", units="inch")


def test_cobiveco_pair_takes_labels_by_position(tmp_path, heart, surface):
    folder = tmp_path / "pair"
    folder.mkdir()
    heart.to_pyvista().save(folder / "heart.vtu")
    surface.save(folder / "heart.vtp")
    pair = an.load_anatomy(folder)
    assert pair.info["format"] == "cobiveco"
    np.testing.assert_allclose(pair.points, heart.points)
    np.testing.assert_array_equal(pair.surface_class, heart.surface_class)
    only_surface = tmp_path / "surface_only"
    only_surface.mkdir()
    surface.save(only_surface / "heart.vtp")
    assert an.load_anatomy(only_surface, edge_length=H).info["format"] == "surface"


def _save(mesh, path):
    mesh.save(path)
    return path


def test_bad_surfaces_are_named_with_their_fix(tmp_path, surface):
    with pytest.raises(an.AnatomyError, match="no such file"):
        an.load_anatomy(tmp_path / "none.vtp")
    with pytest.raises(an.AnatomyError, match="unsupported file type"):
        an.load_anatomy(_save_text(tmp_path / "heart.obj"))
    no_class = surface.copy()
    no_class.point_data.clear()
    with pytest.raises(an.AnatomyError, match="no point or cell array `class`"):
        an.load_anatomy(_save(no_class, tmp_path / "no_class.vtp"))
    missing = surface.copy()
    cls = np.asarray(missing.point_data["class"]).copy()
    cls[cls == 4] = 2
    missing.point_data["class"] = cls
    with pytest.raises(an.AnatomyError, match=r"4 \(rv_endocardium\) missing"):
        an.load_anatomy(_save(missing, tmp_path / "missing.vtp"))
    opened = surface.extract_cells(np.arange(100, surface.n_cells))
    opened = opened.extract_surface(algorithm="dataset_surface")
    with pytest.raises(an.AnatomyError, match=r"open \(\d+ boundary edges around 1 hole\(s\)\)"
                       ", so it encloses no volume"):
        an.load_anatomy(_save(opened, tmp_path / "open.vtp"))
    extra = pv.Sphere(radius=5, center=(200, 0, 0))
    extra.point_data["class"] = np.full(extra.n_points, 2, np.uint8)
    with pytest.raises(an.AnatomyError, match="2 disconnected parts"):
        an.load_anatomy(_save(surface.merge(extra), tmp_path / "two.vtp"))
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    with pytest.raises(an.AnatomyError, match="needs heart.vtp"):
        an.load_anatomy(empty)


def _save_text(path):
    path.write_text("not a mesh")
    return path


def test_bad_tetrahedral_meshes_are_named(tmp_path, heart, surface):
    points, tets = heart.points, heart.tets
    with pytest.raises(an.AnatomyError, match="3 inverted tetrahedra"):
        bad = tets.copy()
        bad[:3] = bad[:3, [0, 1, 3, 2]]
        an.check_tets(points, bad, "mesh.vtu")
    with pytest.raises(an.AnatomyError, match="degenerate"):
        flat = tets.copy()
        flat[0, 3] = flat[0, 2]
        an.check_tets(points, flat, "mesh.vtu")
    shifted = np.vstack([points, points + [300.0, 0, 0]])
    with pytest.raises(an.AnatomyError, match="2 disconnected parts"):
        an.check_tets(shifted, np.vstack([tets, tets + len(points)]), "mesh.vtu")
    folder = tmp_path / "moved"
    folder.mkdir()
    grid = heart.to_pyvista()
    grid.points = grid.points + [20.0, 0, 0]
    grid.save(folder / "heart.vtu")
    surface.save(folder / "heart.vtp")
    with pytest.raises(an.AnatomyError, match="do not describe the same geometry"):
        an.load_anatomy(folder)


def test_refine_uniform_is_conforming_and_keeps_the_coarse_nodes(heart):
    rng = np.random.default_rng(5)
    points, tets = an.box_mesh((4, 3, 5), spacing=(1.0, 2.0, 0.5))
    inside = np.all((points > points.min(0)) & (points < points.max(0)), axis=1)
    points[inside] += rng.uniform(-0.1, 0.1, points.shape)[inside]
    for p, t in ((points, tets), (heart.points, heart.tets)):
        fine, fine_tets, parent = an.refine_uniform(p, t)
        n, m = len(p), len(t)
        assert fine_tets.shape == (8 * m, 4) and np.array_equal(parent, np.repeat(np.arange(m), 8))
        np.testing.assert_array_equal(fine[:n], p)  # coarse nodes first, same numbers
        # then the midpoints of the unique edges
        edges = an.unique_edges(t)
        np.testing.assert_array_equal(fine[n:], 0.5 * (p[edges[:, 0]] + p[edges[:, 1]]))
        # positively oriented children filling their parent exactly
        vol = an.signed_volumes(fine, fine_tets)
        assert vol.min() > 0
        np.testing.assert_allclose(np.bincount(parent, vol), an.signed_volumes(p, t),
                                   rtol=1e-12)
        # conforming: every face shared by at most two children; the boundary faces are the
        # coarse boundary faces, each cut in four
        faces = np.sort(np.concatenate([fine_tets[:, [1, 2, 3]], fine_tets[:, [0, 2, 3]],
                                        fine_tets[:, [0, 1, 3]], fine_tets[:, [0, 1, 2]]]),
                        axis=1)
        _, counts = np.unique(faces, axis=0, return_counts=True)
        assert counts.max() == 2
        assert (counts == 1).sum() == 4 * len(an.boundary_faces(t))
        # the shortest-diagonal split keeps the shape quality
        assert an.tet_quality(fine, fine_tets).min() > 0.5 * an.tet_quality(p, t).min()


# --- four separate surfaces with open seams (the Cobiveco input convention) ---------------

GEO2 = ROOT / "data" / "raw" / "anatomy" / "kit_geo2"
R_OUT, R_IN, Z_BASE = 20.0, 11.0, 14.0  # the synthetic shell, mm
SHELL_ML = 4 / 3 * np.pi * (R_OUT ** 3 - R_IN ** 3) / 1e3


def _shell_surfaces(band=0.0):
    """Four open surfaces of a thick spherical shell (outer radius 20, inner 11 mm): the
    outer sphere cut into base (z > 14) and epicardium, the inner one (normals inwards, out
    of the shell) into LV (x < 0) and RV endocardium. Triangles that straddle a cut, or
    come within ``band`` mm of it, are left out, so the four meet only up to seam gaps."""
    outer = pv.Sphere(radius=R_OUT, theta_resolution=40, phi_resolution=40)
    inner = pv.Sphere(radius=R_IN, theta_resolution=28, phi_resolution=28).flip_faces()

    def part(sphere, coord, lo, hi):
        tri = sphere.faces.reshape(-1, 4)[:, 1:]
        x = np.asarray(sphere.points)[tri][:, :, coord]
        keep = np.flatnonzero((x.min(1) > lo) & (x.max(1) < hi))
        return sphere.extract_cells(keep).extract_surface(algorithm="dataset_surface")

    inf = np.inf
    return {"epi": part(outer, 2, -inf, Z_BASE - band),
            "base": part(outer, 2, Z_BASE + band, inf),
            "endo_lv": part(inner, 0, -inf, -band), "endo_rv": part(inner, 0, band, inf)}


def _save_set(folder, surfaces, prefix="heart_", suffix=".ply"):
    folder.mkdir(parents=True, exist_ok=True)
    for name, s in surfaces.items():
        s.save(folder / f"{prefix}{name}{suffix}")
    return folder


def _grid(points, h):
    origin = points.min(0) - 2 * h + h * np.array([0.1234567, 0.2345678, 0.3456789])
    return origin, np.ceil((points.max(0) + 2 * h - origin) / h).astype(int)


def test_winding_number_known_answers():
    sphere = pv.Sphere(radius=10.0, theta_resolution=30, phi_resolution=30)
    v, t = np.asarray(sphere.points, float), sphere.faces.reshape(-1, 4)[:, 1:]
    rng = np.random.default_rng(0)
    q = rng.uniform(-15, 15, (400, 3))
    r = np.linalg.norm(q, axis=1)
    q = q[np.abs(r - 10) > 0.5]  # off the polyhedral surface
    fast = an.WindingNumber(v, t)(q)
    exact = np.array([an.solid_angles(p, v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]).sum()
                      for p in q]) / (4 * np.pi)
    np.testing.assert_allclose(exact, np.linalg.norm(q, axis=1) < 10, atol=1e-9)
    assert np.abs(fast - exact).max() < 0.03
    # the open hemisphere covers half of the sphere of directions seen from its centre
    sphere = pv.Sphere(radius=10.0, theta_resolution=30, phi_resolution=31)  # an equator
    v, t = np.asarray(sphere.points, float), sphere.faces.reshape(-1, 4)[:, 1:]
    upper = sphere.extract_cells(np.flatnonzero(v[t].mean(1)[:, 2] > 0))
    upper = upper.extract_surface(algorithm="dataset_surface")
    uv, ut = np.asarray(upper.points, float), upper.faces.reshape(-1, 4)[:, 1:]
    exact = an.solid_angles(np.zeros(3), uv[ut[:, 0]], uv[ut[:, 1]], uv[ut[:, 2]]).sum()
    assert exact / (4 * np.pi) == pytest.approx(0.5, abs=1e-12)
    assert an.WindingNumber(uv, ut)(np.zeros((1, 3)))[0] == pytest.approx(0.5, abs=0.03)


def test_open_seams_voxelize_like_the_closed_surface():
    h = 2.0
    surfaces = _shell_surfaces()
    parts = [(np.asarray(s.points, float), s.faces.reshape(-1, 4)[:, 1:])
             for s in surfaces.values()]
    closed = pv.Sphere(radius=R_OUT, theta_resolution=40, phi_resolution=40).merge(
        pv.Sphere(radius=R_IN, theta_resolution=28, phi_resolution=28))
    origin, shape = _grid(np.concatenate([v for v, _ in parts]), h)
    truth = an.voxelize(closed.points, closed.faces.reshape(-1, 4)[:, 1:], origin, h, shape)
    verts = np.concatenate([v for v, _ in parts])
    off = np.cumsum([0] + [len(v) for v, _ in parts])
    tris = np.concatenate([t + o for (_, t), o in zip(parts, off[:-1], strict=True)])
    votes = an.voxel_votes(verts, tris, origin, h, shape)
    assert ((votes > 0) & (votes < 3)).sum() > 100  # rays slip through the seams
    inside, info = an.voxelize_open(parts, origin, h, shape)
    assert np.mean(inside != truth) < 1e-3 and info["winding_misfit"] < 0.1
    assert info["orientation"] == [1, 1, 1, 1]
    # any orientation of the files: the same voxels
    flipped = [parts[0], (parts[1][0], parts[1][1][:, ::-1]), parts[2], parts[3]]
    inside2, info2 = an.voxelize_open(flipped, origin, h, shape)
    np.testing.assert_array_equal(inside2, inside)
    assert info2["orientation"] == [1, -1, 1, 1]


def test_four_surfaces_mesh_into_a_labelled_volume(tmp_path):
    h = 2.0
    folder = _save_set(tmp_path / "shell", _shell_surfaces())
    a = an.load_anatomy(folder, edge_length=h)
    d = a.describe()
    assert a.info["format"] == "surfaces" and a.name == "shell"
    assert d["volume_ml"] == pytest.approx(SHELL_ML, rel=0.05)
    assert all(d[f"nodes_{name}"] > 0 for name in an.CLASSES.values())
    assert d["min_quality"] >= 0.15 and (a.volumes() > 0).all()
    assert len(np.unique(an.node_components(a.n_nodes, a.tets))) == 1
    bnodes = np.unique(an.boundary_faces(a.tets))
    assert (a.surface_class[bnodes] > 0).all()
    assert a.info["boundary_distance_mean_mm"] < 0.5 * h
    gaps = a.info["seam_gap_max_mm"]
    assert set(gaps) == {f"heart_{p}.ply" for p in an.SURFACE_PARTS}
    assert 1.0 < max(gaps.values()) < an.SEAM_GAP_EDGES * h
    # classes from the files: the epicardium below the base cut, the LV endocardium at x < 0
    epi = a.points[a.surface_class == 2]
    assert epi[:, 2].max() < Z_BASE + h and np.linalg.norm(epi, axis=1).min() > R_OUT - h
    assert a.points[a.surface_class == 3][:, 0].max() < h
    # a prefix, with or without its underscore, and another surface format
    other = _save_set(tmp_path / "vtp", _shell_surfaces(), prefix="case7_", suffix=".vtp")
    for path in (folder / "heart", folder / "heart_", other / "case7", other):
        b = an.load_anatomy(path, edge_length=h)
        np.testing.assert_array_equal(b.tets, a.tets)
        np.testing.assert_allclose(b.points, a.points, atol=1e-4)  # .vtp keeps float32
    # units: the same set in cm is detected
    cm = _save_set(tmp_path / "cm", {k: s.scale(0.1, inplace=False)
                                     for k, s in _shell_surfaces().items()})
    c = an.load_anatomy(cm, edge_length=h)
    assert c.info["unit_scale"] == 10.0
    assert c.describe()["volume_ml"] == pytest.approx(d["volume_ml"], rel=0.01)


def test_shipped_four_surface_heart_meshes(tmp_path):
    a = an.load_anatomy(GEO2, edge_length=H)  # 255.5 ml at 2 mm
    d = a.describe()
    assert a.info["format"] == "surfaces" and a.info["unit_scale"] == 1.0
    assert d["volume_ml"] == pytest.approx(255, rel=0.03)
    assert all(d[f"nodes_{name}"] > 0 for name in an.CLASSES.values())
    assert d["min_quality"] >= 0.15 and (a.volumes() > 0).all()
    assert len(np.unique(an.node_components(a.n_nodes, a.tets))) == 1
    assert a.info["boundary_distance_mean_mm"] < 0.2 * H and a.info["dropped_fragments"] == 0
    bnodes = np.unique(an.boundary_faces(a.tets))
    assert (a.surface_class[bnodes] > 0).all()
    # the seams of the real heart: 1,147 open edges, gaps of 1.4 mm (median) to 2.14 mm
    assert a.info["seam_open_edges"] == 1147
    assert max(a.info["seam_gap_max_mm"].values()) == pytest.approx(2.14, abs=0.02)
    # one of them on its own has no class array: the message points to the set
    with pytest.raises(an.AnatomyError, match="four unlabelled surfaces"):
        an.load_anatomy(GEO2 / "heart_epi.ply")


def test_bad_four_surface_sets_are_named_with_their_fix(tmp_path):
    h = 2.0
    # a seam too wide to bridge: the base stops 6 mm short of the epicardium
    wide = _shell_surfaces()
    wide["base"] = _shell_surfaces(band=3.0)["base"]
    folder = _save_set(tmp_path / "wide", wide)
    with pytest.raises(an.AnatomyError, match=r"heart_(base|epi)\.ply: its open boundary lies up "
                       r"to \d+\.\d+ mm .*bridges seam gaps up to 3 x edge_length = 6\.00 mm"
                       r".*Close the seam.*edge_length >="):
        an.load_anatomy(folder, edge_length=h)
    # a hole in a surface: its rim is far from every other surface's rim
    holed = _shell_surfaces()
    epi = holed["epi"]
    keep = np.flatnonzero(epi.cell_centers().points[:, 0] < 15.0)
    holed["epi"] = epi.extract_cells(keep).extract_surface(algorithm="dataset_surface")
    with pytest.raises(an.AnatomyError, match=r"heart_epi\.ply: its open boundary lies"):
        an.load_anatomy(_save_set(tmp_path / "holed", holed), edge_length=h)
    # too small to hold a voxel (a millimetre-sized set read as mm)
    tiny = {k: s.scale(0.02, inplace=False) for k, s in _shell_surfaces().items()}
    with pytest.raises(an.AnatomyError, match=r"no voxel of edge 2\.0 mm inside the surface "
                       r"\(found a surface spanning 0\.\d+ x 0\.\d+ x 0\.\d+ mm"):
        an.load_anatomy(_save_set(tmp_path / "tiny", tiny), edge_length=h, units="mm")
    # a missing file
    part = _save_set(tmp_path / "part", _shell_surfaces())
    (part / "heart_endo_rv.ply").unlink()
    with pytest.raises(an.AnatomyError, match=r"incomplete four-surface anatomy: found .*"
                       r"missing heart_endo_rv"):
        an.load_anatomy(part / "heart")
    # a surface in two pieces
    two = _shell_surfaces()
    two["epi"] = two["epi"].merge(pv.Sphere(radius=5, center=(80, 0, 0)))
    with pytest.raises(an.AnatomyError, match=r"heart_epi\.ply: the surface has 2 "
                       r"disconnected parts \(\d+ triangles \(\d+\.\d % of the area\)"):
        an.load_anatomy(_save_set(tmp_path / "two", two), edge_length=h)


def test_class_values_outside_1_to_4_are_named(tmp_path, surface):
    bad = surface.copy()
    cls = np.asarray(bad.point_data["class"]).astype(np.int32)
    cls[7] = 5
    cls[8:11] = 0
    bad.point_data["class"] = cls
    with pytest.raises(an.AnatomyError, match=r"values other than 1-4: class 0 on 3 points, "
                       r"class 5 on 1 point \(of 24991 points\); relabel"):
        an.load_anatomy(_save(bad, tmp_path / "class5.vtp"))
    cells = surface.copy()
    cells.point_data.clear()
    cell_cls = np.full(cells.n_cells, 2.0)
    cell_cls[:2] = 2.5
    cells.cell_data["class"] = cell_cls
    with pytest.raises(an.AnatomyError, match=r"class 2\.5 on 2 cells"):
        an.load_anatomy(_save(cells, tmp_path / "cells.vtp"))


def test_surface_specks_are_dropped_with_a_warning(tmp_path, surface):
    speck = pv.Sphere(radius=1.0, center=(300, 0, 0), theta_resolution=8, phi_resolution=8)
    speck.point_data["class"] = np.full(speck.n_points, 2, np.uint8)
    with pytest.warns(UserWarning, match=r"dropped 1 disconnected speck\(s\) of the surface"):
        s, cls, _ = an.read_surface(_save(surface.merge(speck), tmp_path / "speck.vtp"))
    assert s.n_points == surface.n_points and s.n_cells == surface.n_cells
    np.testing.assert_array_equal(cls, surface.point_data["class"])
    # a larger second piece is refused, with both pieces' sizes
    extra = pv.Sphere(radius=5, center=(200, 0, 0))
    extra.point_data["class"] = np.full(extra.n_points, 2, np.uint8)
    with pytest.raises(an.AnatomyError, match=r"2 disconnected parts \(49978 triangles "
                       r"\(99\.\d % of the area\), \d+ triangles \(0\.\d % of the area\)\)"):
        an.read_surface(_save(surface.merge(extra), tmp_path / "two.vtp"))


def _pair(folder, grid, surface):
    folder.mkdir()
    grid.save(folder / "heart.vtu")
    surface.save(folder / "heart.vtp")
    return folder


def test_bad_cobiveco_meshes_are_named_or_repaired(tmp_path, heart, surface):
    grid = heart.to_pyvista()
    # several pieces
    two = grid.merge(grid.translate((300.0, 0, 0), inplace=False), merge_points=False)
    with pytest.raises(an.AnatomyError, match=r"the mesh has 2 disconnected parts \(\d+ "
                       r"tetrahedra \(50\.0 % of the volume\)"):
        an.load_anatomy(_pair(tmp_path / "two", two, surface))
    # a speck: dropped with a warning
    box_points, box_tets = an.box_mesh((2, 2, 2), origin=(300.0, 0, 0))
    cells = np.hstack([np.full((len(box_tets), 1), 4), box_tets]).ravel()
    box = pv.UnstructuredGrid(cells, np.full(len(box_tets), 10, np.uint8), box_points)
    box.point_data["surface_class"] = np.zeros(box.n_points, np.int8)
    with pytest.warns(UserWarning, match=r"dropped 1 disconnected speck\(s\) of the mesh "
                      r"\(6 tetrahedra"):
        a = an.load_anatomy(_pair(tmp_path / "speck", grid.merge(box, merge_points=False),
                                  surface))
    np.testing.assert_allclose(a.points, heart.points)
    # a mix of orientations: refused, with the count
    mixed = heart.tets.copy()
    mixed[:5] = mixed[:5, [0, 1, 3, 2]]
    with pytest.raises(an.AnatomyError, match=rf"5 inverted tetrahedra \(negative volume\) "
                       rf"among {heart.n_tets}, the other {heart.n_tets - 5} positive: a mix"):
        an.load_anatomy(_pair(tmp_path / "mixed",
                              an.Anatomy(heart.points, mixed, heart.surface_class).to_pyvista(),
                              surface))
    # all inverted: reoriented with a warning
    flipped = an.Anatomy(heart.points, heart.tets[:, [0, 1, 3, 2]], heart.surface_class)
    with pytest.warns(UserWarning, match=rf"all {heart.n_tets} tetrahedra are inverted"):
        a = an.load_anatomy(_pair(tmp_path / "flipped", flipped.to_pyvista(), surface))
    assert (a.volumes() > 0).all()
    np.testing.assert_array_equal(a.surface_class, heart.surface_class)
