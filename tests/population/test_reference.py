"""Reference anatomy, transport and alignment."""

import numpy as np
import pytest

from mi_lib.population.lge import Subject, open_cohort
from mi_lib.population.reference import (
    ReferenceAnatomy,
    alignment_shifts,
    build_population,
    centre_c,
    centre_vector,
    process_subject,
    rotate,
    subject_coordinates,
    territory_centres,
    transport,
)


def test_reference_geometry():
    ref = ReferenceAnatomy()
    endo, epi = ref.radii()
    assert endo[0] / epi[0] == pytest.approx(3 / 5)
    assert epi[0] <= ref.grid_size / 2 - 1
    assert np.all(np.diff(epi) < 0) and endo[-1] == 0 and epi[-1] > 0
    r = ref.radial[ref.myocardium]
    assert r.min() >= 0 and r.max() <= 1
    c = ref.circumferential[ref.myocardium]
    assert c.min() >= 0 and c.max() < 1
    assert ReferenceAnatomy.from_attrs(ref.attrs()) == ref
    with pytest.raises(ValueError, match="does not fit"):
        ReferenceAnatomy(grid_size=80, r_endo=30, r_epi=50)  # the paper's radii


def test_reference_insertion_points_and_septum():
    ref = ReferenceAnatomy()
    (ax, ay), (ix, iy) = ref.insertion_points()
    # septum on the left of the image, anterior insertion above, inferior below
    assert ax < ref.centre and ix < ref.centre and ay < ref.centre < iy


def reference_as_subject(ref, sector=(0.05, 0.25), depth=0.6):
    """The reference anatomy itself written as a source subject (axes x, y, slice)."""
    labels = np.zeros(ref.myocardium.shape, np.uint8)
    labels[ref.cavity] = 1
    labels[ref.myocardium] = 2
    c, r = ref.circumferential, ref.radial
    infarct = ref.myocardium & (c > sector[0]) & (c < sector[1]) & (r < depth)
    labels[infarct] = 3
    labels = labels.transpose(2, 1, 0)  # (slice, y, x) -> (x, y, slice)
    (ax, ay), (ix, iy) = ref.insertion_points()
    n = ref.n_slices
    ant = np.tile([ax, ay], (n, 1))
    inf = np.tile([ix, iy], (n, 1))
    return Subject("ref", "LAD", labels, (1.0, 1.0, 1.0), ant, inf), infarct


def test_transport_of_the_reference_onto_itself_is_near_identity():
    ref = ReferenceAnatomy()
    subject, truth = reference_as_subject(ref)
    stack = transport(subject_coordinates(subject), ref)
    mask = ref.myocardium
    err = np.abs(stack[mask] - truth[mask])
    assert err.mean() < 0.02
    assert abs(stack[mask].mean() - truth[mask].mean()) < 0.005
    assert abs(centre_c(centre_vector(stack, ref)) - 0.15) < 0.01


def test_transport_keeps_infarct_fraction_for_both_handednesses(cohort_right, cohort_left):
    ref = ReferenceAnatomy()
    patterns = {}
    for root in (cohort_right, cohort_left):
        cohort = open_cohort(root)
        for sid in cohort.subject_ids:
            stack, info = process_subject(cohort, sid, ref)
            assert abs(info["reference_size"] - info["source_size"]) <= 0.03, (root, sid)
            patterns.setdefault(sid, []).append(stack)
    # the left cohort is the right one mirrored (in continuous space; the pixel lattice
    # differs): the same patterns land on the reference, up to discretisation
    for sid, (right, left) in patterns.items():
        m = ref.myocardium
        assert np.abs(right - left)[m].mean() < 0.03, sid
        assert abs(right[m].mean() - left[m].mean()) < 0.01, sid
        moved = (centre_c(centre_vector(right, ref)) - centre_c(centre_vector(left, ref)) + 0.5) % 1
        assert abs(moved - 0.5) < 0.01, sid
        assert np.corrcoef(right[m], left[m])[0, 1] > 0.9, sid


def test_rotation_moves_the_centre_and_keeps_the_mass():
    ref = ReferenceAnatomy()
    subject, _ = reference_as_subject(ref)
    stack = transport(subject_coordinates(subject), ref)
    for shift in (0.1, -0.27, 0.5):
        turned = rotate(stack, ref, shift)
        before, after = centre_c(centre_vector(stack, ref)), centre_c(centre_vector(turned, ref))
        moved = (after - before + 0.5) % 1 - 0.5
        assert moved == pytest.approx((shift + 0.5) % 1 - 0.5, abs=1 / 360)
        assert turned[ref.myocardium].sum() == pytest.approx(stack[ref.myocardium].sum(), rel=0.02)
    back = rotate(rotate(stack, ref, 0.2), ref, -0.2)
    assert np.abs(back - stack)[ref.myocardium].mean() < 0.02


def test_alignment_shifts_closed_form():
    vectors = [np.exp(2j * np.pi * 0.1), np.exp(2j * np.pi * 0.12), np.exp(2j * np.pi * 0.6),
               2 * np.exp(2j * np.pi * 0.95)]
    shifts = alignment_shifts(vectors, ["LAD", "LAD", "RCA", "LCX"])
    assert shifts["LAD"] == 0
    # the LAD centre is at 0.11 turn: RCA moves by 0.11 - 0.6, LCX by 0.11 - 0.95 + 1
    assert shifts["RCA"] == pytest.approx(-0.49, abs=1e-9)
    assert shifts["LCX"] == pytest.approx(0.16, abs=1e-9)
    with pytest.raises(ValueError, match="LAD"):
        alignment_shifts(vectors[2:], ["RCA", "LCX"])


def test_population_aligns_territory_centres(cohort_left):
    pop = build_population(open_cohort(cohort_left), n_jobs=1, progress=False)
    centres = territory_centres(pop, "infarct")
    native = territory_centres(pop, "infarct_native")
    spread = np.ptp(np.rad2deg(np.unwrap(np.deg2rad(list(centres.values())))))
    assert spread < 10
    native_spread = np.ptp(np.rad2deg(np.unwrap(np.deg2rad(list(native.values())))))
    assert native_spread > 45  # the territories start apart
    assert pop.infarct.min() >= 0 and pop.infarct.max() <= 1
    assert float(pop.infarct.where(~pop.myocardium, 0).max()) == 0
    np.testing.assert_allclose(pop.aligned_size, pop.reference_size, atol=0.01)
