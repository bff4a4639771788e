"""The twin's figures draw what they are given: the bull's-eye geometry matches the AHA
segmentation, the polar projection puts tissue where the coordinates say, the duration
and DTW figures show the table's numbers."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mi_lib.twin import views  # noqa: E402
from mi_lib.twin.coordinates import AHA_LEVELS, aha_segments  # noqa: E402
from mi_lib.twin.scenarios import BORDER_ZONE, HEALTHY, SCAR  # noqa: E402


def test_bullseye_radius_puts_the_aha_levels_on_the_rings():
    assert np.allclose(views.bullseye_radius([0.0, *AHA_LEVELS, 1.0]), [0, 1, 2, 3, 4])


def test_bullseye_angle_centres_each_basal_segment_where_the_bullseye_draws_it():
    """rt at the middle of each basal sixth lands at the centre of that segment's wedge."""
    rt = (np.arange(6) + 0.5) / 6
    coords = SimpleNamespace(ab=np.full(6, 0.95), rt=rt, lv=np.ones(6, bool))
    for seg, angle in zip(aha_segments(coords), views.bullseye_angle(rt), strict=True):
        ring, a0, a1 = views.BULLSEYE[int(seg)]
        assert ring == 3
        assert np.isclose(np.mod(angle - 0.5 * (a0 + a1) + 180, 360) - 180, 0)


def _polar_values(ax):
    mesh = next(c for c in ax.collections if hasattr(c, "get_array"))
    return np.asarray(mesh.get_array()).reshape(24, 90)


def test_polar_tissue_shows_the_worst_tissue_through_the_wall_where_the_coordinates_say():
    rng = np.random.default_rng(0)
    n = 60000
    ab, rt = rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    labels = np.full(n, HEALTHY)
    anterior_base = (ab > AHA_LEVELS[2]) & (rt < 1 / 6)
    inner = rng.uniform(0, 1, n) < 0.3  # a subendocardial scar: a third of the wall
    labels[anterior_base & inner] = SCAR
    labels[anterior_base & ~inner] = BORDER_ZONE
    coords = SimpleNamespace(ab=ab, rt=rt, lv=np.ones(n, bool))
    fig, ax = plt.subplots()
    views.polar_tissue(coords, labels, ax)
    grid = _polar_values(ax)
    # basal ring (radius 3-4): angle bins of the anterior segment, 60-120 deg
    r_bins, a_bins = slice(19, 24), slice(16, 29)
    assert (grid[r_bins, a_bins] == SCAR).all()
    assert (grid[:17] == HEALTHY).all() and (grid[r_bins, 35:] == HEALTHY).all()
    plt.close(fig)


def test_duration_boxes_mark_the_paper_values_and_dtw_heatmap_writes_the_table():
    idx = pd.MultiIndex.from_product([["s0", "s1", "s2"], ["baseline", "lateral_transmural"]],
                                     names=["subject", "scenario"])
    table = pd.DataFrame({"qrs_duration_ms": [90.0, 100.0, 92.0, 104.0, 94.0, 99.0]}, index=idx)
    fig = views.duration_boxes({"silent": table}, ["baseline", "lateral_transmural"],
                               paper={"baseline": 90.4, "lateral_transmural": 99.5})
    stars = [line for line in fig.axes[0].lines if line.get_marker() == "*"]
    assert len(stars) == 1 and np.allclose(stars[0].get_ydata(), [90.4, 99.5])
    plt.close(fig)
    dtw = pd.DataFrame([[0.1, 0.25], [0.5, 0.75]], index=["a_b", "c"], columns=["I", "II"])
    fig = views.dtw_heatmap(dtw)
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["0.10", "0.25", "0.50", "0.75"]
    plt.close(fig)


@pytest.mark.parametrize("shape", [(5, 7), (1, 1)])
def test_image_grid_holds_every_image_once(shape):
    imgs = [np.zeros((*shape, 3), np.uint8) for _ in range(5)]
    fig = views.image_grid(imgs, [f"t{i}" for i in range(5)], ncols=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 5 and [ax.get_title() for ax in shown] == [f"t{i}" for i in range(5)]
    plt.close(fig)


def test_crop_keeps_the_drawing_and_a_margin():
    img = np.full((50, 40, 3), 255, np.uint8)
    img[10:20, 5:9] = 0
    out = views.scene._crop(img, margin=2)
    assert out.shape == (14, 8, 3) and (out[2:12, 2:6] == 0).all()


def test_interactive_scene_is_self_contained():
    """The exported scene carries vtk.js and the mesh inline: nothing is fetched."""
    import html
    import re

    import pyvista as pv

    grid = pv.ImageData(dimensions=(4, 4, 4)).cast_to_unstructured_grid()
    grid.point_data["t"] = np.arange(grid.n_points, dtype=float)
    out = views.interactive_scene(grid, "t", clim=(0, grid.n_points)).data
    assert out.startswith("<iframe srcdoc=")
    page = html.unescape(out)
    assert "vtk" in page and len(page) > 100_000
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", page)
