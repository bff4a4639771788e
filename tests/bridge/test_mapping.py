"""The reference LV <-> twin LV coordinate map and the undoing of the territory alignment."""

import numpy as np
import pytest
import xarray as xr

from mi_lib.bridge import reference_to_twin, territory_shifts, twin_to_reference, unrotate
from mi_lib.population.reference import ReferenceAnatomy, centre_c, centre_vector, rotate
from mi_lib.twin.coordinates import Coordinates, aha_segments


def _twin_coords(tm, ab, rt):
    n = len(tm)
    return Coordinates(np.asarray(tm), np.asarray(ab), np.asarray(rt), np.zeros(n, np.int8),
                       np.zeros(n), 0, {})


@pytest.mark.parametrize("c, l, segment", [
    (0.95, 0.5, 7),    # mid anterior: free wall next to the anterior insertion
    (0.75, 0.5, 12),   # mid anterolateral
    (0.60, 0.5, 11),   # mid inferolateral
    (0.40, 0.5, 10),   # mid inferior: free wall next to the inferior insertion
    (0.25, 0.1, 3),    # basal inferoseptal: septum next to the inferior insertion
    (0.05, 0.1, 2),    # basal anteroseptal: septum next to the anterior insertion
    (0.20, 0.75, 14),  # apical septal
    (0.95, 0.75, 13),  # apical anterior
    (0.50, 0.95, 17),  # apex
])
def test_a_reference_point_lands_in_its_aha_segment_on_the_twin(c, l, segment):
    tm, ab, rt = reference_to_twin(np.array([0.5]), np.array([c]), np.array([l]))
    assert aha_segments(_twin_coords(tm, ab, rt))[0] == segment


def test_the_map_is_a_bijection_and_keeps_depth_and_periodicity():
    rng = np.random.default_rng(0)
    r, c, l = rng.random(500), rng.random(500), rng.random(500)
    tm, ab, rt = reference_to_twin(r, c, l)
    assert np.array_equal(tm, r) and np.allclose(ab, 1 - l)
    back = twin_to_reference(tm, ab, rt)
    assert np.allclose(back[0], r) and np.allclose(back[2], l)
    assert np.allclose(np.exp(2j * np.pi * back[1]), np.exp(2j * np.pi * c))
    # the anterior insertion is the twin's anterior junction, the inferior one its inferior
    assert reference_to_twin([0.0], [0.0], [0.0])[2][0] == 0.0
    assert reference_to_twin([0.0], [1 / 3], [0.0])[2][0] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="r must lie"):
        reference_to_twin([1.5], [0.0], [0.0])


def test_unrotate_undoes_the_alignment_of_notebook_01():
    ref = ReferenceAnatomy()
    c = ref.circumferential
    pattern = np.where(ref.myocardium & (np.abs(np.angle(np.exp(2j * np.pi * (c - 0.55))))
                                         < 0.4), 1.0, 0.0)
    native = centre_c(centre_vector(pattern, ref))
    for shift in (0.2, -0.3):
        aligned = centre_c(centre_vector(rotate(pattern, ref, shift), ref))
        assert np.exp(2j * np.pi * aligned) == pytest.approx(np.exp(2j * np.pi * (native + shift)),
                                                             abs=0.02)
        assert np.exp(2j * np.pi * unrotate(aligned, shift)) == pytest.approx(
            np.exp(2j * np.pi * native), abs=0.02)


def test_territory_shifts_read_one_shift_per_territory():
    ds = xr.Dataset({"territory": (("subject",), ["LAD", "RCA", "RCA", "LCX"]),
                     "rotation": (("subject",), [0.0, 0.31, 0.31, -0.12])})
    assert territory_shifts(ds) == {"LAD": 0.0, "LCX": -0.12, "RCA": 0.31}
    bad = ds.copy()
    bad["rotation"] = (("subject",), [0.0, 0.31, 0.30, -0.12])
    with pytest.raises(ValueError, match="RCA"):
        territory_shifts(bad)


def test_carry_puts_a_reference_infarct_at_the_same_coordinates_on_the_twin():
    from mi_lib.bridge.mapping import carry

    ref = ReferenceAnatomy()
    m = ref.myocardium
    rr, cc, ll = ref.radial[m], ref.circumferential[m], ref.longitudinal[m]
    # an analytic infarct on the reference: anterior free wall, mid, inner half of the wall
    def inside(r, c, l):
        return (r < 0.5) & (c > 0.85) & (l > 0.3) & (l < 0.6)
    field = inside(rr, cc, ll).astype(float)
    rng = np.random.default_rng(1)
    tm, ab, rt = rng.random(4000), rng.random(4000), rng.random(4000)
    got = carry(field, rr, cc, ll, tm, ab, rt) > 0.5
    want = inside(*twin_to_reference(tm, ab, rt))
    # the same points, but for a rim of the reference grid's resolution at the border
    r, c, l = twin_to_reference(tm, ab, rt)
    rim = (np.abs(r - 0.5) < 0.1) | (np.abs(c - 0.85) < 0.02) | (np.abs(c - 1) < 0.02) \
        | (c < 0.02) | (np.abs(l - 0.3) < 0.04) | (np.abs(l - 0.6) < 0.04)
    assert np.array_equal(got[~rim], want[~rim])
    assert want.sum() > 50  # about 4000 x 0.5 x 0.15 x 0.3 = 90
    # and the twin's AHA segments of the carried infarct are the mid anterior one
    seg = aha_segments(_twin_coords(tm, ab, rt))
    assert set(np.unique(seg[got & ~rim])) == {7}


def test_border_zone_is_a_shell_of_the_given_width():
    from mi_lib.bridge.mapping import border_zone, coordinate_points

    rng = np.random.default_rng(2)
    tm, ab, rt = rng.random(6000), rng.random(6000), rng.random(6000)
    r, c, l = twin_to_reference(tm, ab, rt)
    pts = coordinate_points(r, c, l)
    centre = coordinate_points([0.5], [0.95], [0.5])[0]
    dist = np.linalg.norm(pts - centre, axis=1)
    scar = dist < 0.1
    bz = border_zone(scar, tm, ab, rt, width=0.05)
    assert not (bz & scar).any()
    # a ball's shell: every border-zone point lies between 0.1 and 0.15 of the centre,
    # and (up to the sampling) every non-scar point there is border zone
    assert dist[bz].min() >= 0.1 - 1e-12 and dist[bz].max() <= 0.15 + 0.01
    # exactly the non-scar points within 0.05 of a scar point (brute force)
    gap = np.linalg.norm(pts[~scar, None] - pts[None, scar], axis=2).min(axis=1)
    assert np.array_equal(bz[~scar], gap <= 0.05)
    assert bz.sum() > scar.sum() / 4
    assert not border_zone(scar, tm, ab, rt, width=0.0).any()


def test_the_matched_long_axis_keeps_each_band_s_share_of_the_myocardium():
    """On the reference's own voxels and a twin whose nodes thin out towards the apex, the
    share of the twin's LV basal to ab(l) is the reference's share basal to l at every
    slice boundary; the map is monotone, inverts, and is the identity on a twin with the
    reference's distribution."""
    from mi_lib.bridge.mapping import LongAxis

    ref = ReferenceAnatomy()
    ref_l = ref.longitudinal[ref.myocardium]
    levels = np.unique(ref_l)
    rng = np.random.default_rng(3)
    ab = rng.random(40000) ** 0.6               # few nodes near the apex (ab = 0)
    axis = LongAxis.matched(ref_l, ab, n_knots=201)
    for cut in 0.5 * (levels[1:] + levels[:-1]):
        assert np.mean(ab > axis.to_ab(cut)) == pytest.approx(np.mean(ref_l < cut), abs=0.01)
    grid = np.linspace(0, 1, 101)
    assert np.all(np.diff(axis.to_ab(grid)) <= 0)
    assert np.allclose(axis.to_l(axis.to_ab(grid)), grid, atol=1e-9)
    assert axis.to_ab(0.0) == 1.0 and axis.to_ab(1.0) == 0.0
    # nodes spread as the reference's voxels, within their slices: ab = 1 - l, nearly
    spread = np.concatenate([1 - rng.uniform(lo, hi, k) for lo, hi, k in zip(
        np.r_[0, 0.5 * (levels[1:] + levels[:-1])], np.r_[0.5 * (levels[1:] + levels[:-1]), 1],
        np.unique(ref_l, return_counts=True)[1] * 4, strict=True)])
    same = LongAxis.matched(ref_l, spread)
    assert np.abs(same.to_ab(grid) - (1 - grid)).max() < 0.02
    lin = LongAxis.linear()
    assert np.allclose(lin.to_ab(grid), 1 - grid) and np.allclose(lin.to_l(1 - grid), grid)
    with pytest.raises(ValueError, match="increase"):
        LongAxis([0.0, 0.6, 0.5, 1.0], [1.0, 0.5, 0.4, 0.0])


def test_an_apical_infarct_keeps_its_share_of_the_lv_only_with_the_matched_axis():
    """The reference's apical cap (l > 0.7) carried to a twin that holds less of its LV near
    the apex: the matched map keeps the infarct's share of the LV, ab = 1 - l shrinks it."""
    from mi_lib.bridge.mapping import LongAxis, carry

    ref = ReferenceAnatomy()
    m = ref.myocardium
    rr, cc, ll = ref.radial[m], ref.circumferential[m], ref.longitudinal[m]
    cap = (ll > 0.72).astype(float)
    rng = np.random.default_rng(4)
    n = 30000
    tm, ab, rt = rng.random(n), rng.random(n) ** 0.6, rng.random(n)
    matched = carry(cap, rr, cc, ll, tm, ab, rt, LongAxis.matched(ll, ab)) > 0.5
    linear = carry(cap, rr, cc, ll, tm, ab, rt) > 0.5
    assert matched.mean() == pytest.approx(cap.mean(), abs=0.01)
    assert cap.mean() - linear.mean() > 0.05
