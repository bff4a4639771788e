"""LV coordinates against analytic rings, and their invariance to image handedness."""

import numpy as np
import pytest

from mi_lib.population.lge import Subject
from mi_lib.population.reference import circumferential, subject_coordinates


def ring_subject(r_in=12.0, r_out=20.0, n=64, n_slices=3, spacing=1.5, mirror=False, rot=0):
    """A cylinder of annuli (radii in pixels) with an infarct in the screen sector 0-60 deg."""
    idx = np.arange(n) - (n - 1) / 2
    x, y = np.meshgrid(idx, idx, indexing="ij")
    rho = np.hypot(x, y)
    ang = np.degrees(np.arctan2(y, x)) % 360
    lab = np.zeros((n, n), np.uint8)
    lab[rho < r_in] = 1
    lab[(rho >= r_in) & (rho < r_out)] = 2
    lab[(rho >= r_in) & (rho < r_out) & (ang < 60)] = 3
    c0 = (n - 1) / 2
    ant = np.array([c0 + r_out * np.cos(np.radians(150)), c0 + r_out * np.sin(np.radians(150))])
    inf = np.array([c0 + r_out * np.cos(np.radians(270)), c0 + r_out * np.sin(np.radians(270))])
    if mirror:
        lab = lab[::-1]
        ant[0], inf[0] = n - 1 - ant[0], n - 1 - inf[0]
    for _ in range(rot):  # rotate by 90 degrees: (x, y) -> (n-1-y, x)
        lab = np.rot90(lab, k=1)
        ant = np.array([n - 1 - ant[1], ant[0]])
        inf = np.array([n - 1 - inf[1], inf[0]])
    labels = np.repeat(lab[:, :, None], n_slices, axis=2)
    return Subject("ring", "LAD", labels, (spacing, spacing, 8.0),
                   np.repeat(ant[None], n_slices, 0), np.repeat(inf[None], n_slices, 0))


def test_radial_coordinate_matches_the_annulus():
    r_in, r_out = 12.0, 20.0
    subject = ring_subject(r_in, r_out)
    coords = subject_coordinates(subject, upsample=4)
    s = coords.slices[1]
    c0 = (subject.labels.shape[0] - 1) / 2
    rho = np.hypot(s.x - c0, s.y - c0)
    expected = (rho - r_in) / (r_out - r_in)
    assert np.abs(s.r - expected).mean() < 0.03
    assert np.abs(s.r - expected).max() < 0.12
    assert s.r.min() >= 0 and s.r.max() <= 1


def test_longitudinal_coordinate_spans_base_to_apex():
    coords = subject_coordinates(ring_subject(n_slices=5))
    np.testing.assert_allclose(coords.l, [0, 0.25, 0.5, 0.75, 1.0])


def test_circumferential_anchors_and_direction():
    subject = ring_subject()
    s = subject_coordinates(subject).slices[0]
    c0 = (subject.labels.shape[0] - 1) / 2
    ang = np.degrees(np.arctan2(s.y - c0, s.x - c0)) % 360
    # the short arc from 150 to 270 degrees (the septum) maps linearly onto [0, 1/3]
    on_septum = (ang > 155) & (ang < 265)
    np.testing.assert_allclose(s.c[on_septum], (ang[on_septum] - 150) / 120 / 3, atol=0.01)
    free = (ang < 145) | (ang > 275)
    expected = 1 / 3 + ((ang[free] - 270) % 360) / 240 * (2 / 3)
    np.testing.assert_allclose(s.c[free], expected, atol=0.01)


@pytest.mark.parametrize("mirror,rot", [(True, 0), (False, 1), (True, 3)])
def test_coordinates_do_not_depend_on_image_orientation(mirror, rot):
    base = subject_coordinates(ring_subject()).slices[1]
    other = subject_coordinates(ring_subject(mirror=mirror, rot=rot)).slices[1]
    # the same anatomy: the infarct occupies the same range of c and r
    for s in (base, other):
        assert s.value.sum() > 0
    def centre(s):
        return np.angle(np.sum(s.value * np.exp(2j * np.pi * s.c))) / (2 * np.pi) % 1
    assert abs(centre(base) - centre(other)) < 0.01
    np.testing.assert_allclose(np.sort(base.c[base.value > 0.5])[[0, -1]],
                               np.sort(other.c[other.value > 0.5])[[0, -1]], atol=0.02)
    assert abs(base.value.mean() - other.value.mean()) < 0.01


def test_plain_angle_without_septal_anchor():
    theta = np.linspace(-np.pi, np.pi, 9)
    c, sign = circumferential(theta, 0.0, np.deg2rad(-100), septal_fraction=None)
    assert sign == -1
    np.testing.assert_allclose(c, np.mod(-theta, 2 * np.pi) / (2 * np.pi))


def test_missing_landmarks_are_filled_from_neighbours():
    subject = ring_subject(n_slices=5)
    full = subject_coordinates(subject)
    subject.anterior[[0, 2, 4]] = np.nan
    subject.inferior[[0, 2, 4]] = np.nan
    filled = subject_coordinates(subject)
    for a, b in zip(full.slices, filled.slices, strict=True):
        np.testing.assert_allclose(a.c, b.c, atol=1e-5)
