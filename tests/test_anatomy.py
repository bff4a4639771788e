"""Biventricular anatomy import: the voxel mesher against closed forms and pyvista, the
shipped heart, the Cobiveco-format pair, and every bad input named with its fix."""

from pathlib import Path

import numpy as np
import pytest
import pyvista as pv

from mi_lib.twin import anatomy as an

ROOT = Path(__file__).resolve().parents[1]
HEART = ROOT / "data" / "raw" / "anatomy" / "kit_geo1" / "heart.vtp"
H = 3.0  # coarse meshes keep the tests quick


@pytest.fixture(scope="module")
def heart():
    return an.load_anatomy(HEART, edge_length=H)


@pytest.fixture(scope="module")
def surface():
    return pv.read(HEART)


def test_kuhn_split_is_conforming_and_fills_the_cube():
    t = an._kuhn_template()
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
    with pytest.raises(an.AnatomyError, match="open"):
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
