"""Infarct models: packed layout, kernels against brute force, statistics that follow
the parameters, pluggability."""

import numpy as np
import pytest

from mi_lib.population.models import (
    MODELS,
    Domain,
    InfarctModel,
    Parameter,
    make_model,
    parameter_sweep,
)
from mi_lib.population.models import _kernels as kernels
from mi_lib.population.reference import ReferenceAnatomy

REF = ReferenceAnatomy()


@pytest.fixture(scope="module", params=[2, 3])
def domain(request):
    return Domain.from_reference(REF, request.param, start_c=0.03, start_l=0.4)


def positions(domain):
    pos = np.argwhere(domain.mask).astype(float)
    pos[:, 0] *= domain.dz
    if domain.planar:
        pos[:, 0] = 0.0
    return pos


def test_pack_unpack_and_images_round_trip(domain):
    rng = np.random.default_rng(0)
    v = rng.random((3, domain.n_voxels)) < 0.3
    bits = domain.pack(v)
    assert bits.shape == (3, domain.n_words) and bits.dtype == np.uint64
    np.testing.assert_array_equal(domain.unpack(bits), v)
    np.testing.assert_array_equal(domain.voxels(domain.images(v)), v)
    # bit j of the layout is voxel j
    one = np.zeros(domain.n_voxels, bool)
    one[70] = True
    assert domain.pack(one)[1] == np.uint64(1) << np.uint64(6)


def test_runs_cover_the_myocardium_exactly(domain):
    runs, n_runs = domain.runs
    seen = np.zeros(domain.n_voxels, int)
    for iz, iy in zip(*np.nonzero(n_runs), strict=True):
        for r in range(n_runs[iz, iy]):
            x0, x1, first = runs[iz, iy, r]
            assert domain.mask[iz, iy, x0:x1 + 1].all()
            np.testing.assert_array_equal(domain.index[iz, iy, x0:x1 + 1],
                                          first + np.arange(x1 - x0 + 1))
            seen[first:first + x1 - x0 + 1] += 1
    assert np.all(seen == 1)


def test_hamming_distances_match_brute_force(domain):
    rng = np.random.default_rng(1)
    a = rng.random((2, 5, domain.n_voxels)) < 0.2
    b = rng.random((7, domain.n_voxels)) < 0.4
    pa, pb = domain.pack(a), domain.pack(b)
    cross = kernels.sqdist_cross(pa.reshape(10, -1), pb)
    np.testing.assert_array_equal(cross, (a.reshape(10, 1, -1) != b[None]).sum(-1))
    within = kernels.sqdist_within(pa)
    np.testing.assert_array_equal(within, (a[:, :, None] != a[:, None]).sum(-1))


def test_start_points_lie_on_the_endocardium_with_orthonormal_frames(domain):
    start, frames = domain.start_points(np.random.default_rng(2).random((50, 2)))
    np.testing.assert_allclose(frames @ frames.transpose(0, 2, 1), np.broadcast_to(np.eye(3), (50, 3, 3)),
                               atol=1e-12)
    rho = np.hypot(start[:, 1] - REF.centre, start[:, 2] - REF.centre)
    if domain.planar:
        endo, _ = REF.radii()
        np.testing.assert_allclose(rho, endo[domain.slices[0]])
    else:
        np.testing.assert_allclose((rho / REF.r_endo) ** 2 + (start[:, 0] / REF.endo_long_axis) ** 2, 1)
    # the normal points away from the long axis (out of the cavity)
    radial = np.stack([np.zeros(50), start[:, 1] - REF.centre, start[:, 2] - REF.centre], -1)
    assert np.all(np.einsum("ij,ij->i", frames[:, 0], radial) > 0)
    # every start point is within the zone around start_c
    c = np.mod((np.arctan2(-(start[:, 1] - REF.centre), start[:, 2] - REF.centre)
                - np.deg2rad(REF.anterior_angle_deg)) / (2 * np.pi), 1)
    assert np.all(np.abs(c - domain.start_c) <= domain.zone_c + 1e-12)


def test_elliptical_kernel_matches_brute_force(domain):
    model = make_model("elliptical", domain)
    theta = np.array([[6, 3, 14, 6, 15, 5][: model.n_parameters]], float)
    draws = model.draw(30, np.random.default_rng(3))
    got = model.domain.unpack(model.generate(theta, draws)[0])
    axes = model.axes(theta, draws)[0]
    pos = positions(domain)
    for s in range(30):
        local = (pos - draws["start"][s]) @ draws["frames"][s].T
        np.testing.assert_array_equal(got[s], ((local / axes[s]) ** 2).sum(1) <= 1)


def test_iterative_kernel_matches_brute_force(domain):
    model = make_model("iterative", domain)
    theta = np.array([[4.3, 7.0]])
    draws = model.draw(20, np.random.default_rng(4))
    got = model.domain.unpack(model.generate(theta, draws)[0])
    pos = positions(domain)
    for s in range(20):
        centre = draws["start"][s].copy()
        n = int(np.clip(np.floor(4.3 + draws["u_count"][s]), 1, model.max_balls))
        want = np.zeros(len(pos), bool)
        for j in range(n):
            u = draws["u"][s, j]
            r = 7.0 * u[0]
            want |= ((pos - centre) ** 2).sum(1) <= r * r
            if domain.planar:
                ang, rad = 2 * np.pi * u[1], r * np.sqrt(u[2])
                centre += [0, rad * np.sin(ang), rad * np.cos(ang)]
            else:
                cos_t, phi, rad = 2 * u[1] - 1, 2 * np.pi * u[2], r * u[3] ** (1 / 3)
                sin_t = np.sqrt(1 - cos_t**2)
                centre += [rad * cos_t, rad * sin_t * np.sin(phi), rad * sin_t * np.cos(phi)]
        np.testing.assert_array_equal(got[s], want)


def mean_size(model, theta, n=300, seed=5):
    return model.sample(theta, n, seed).sum(1).mean()


def test_iterative_area_grows_with_radius_and_iterations(domain):
    model = make_model("iterative", domain)
    sweep = parameter_sweep(model, "max_radius", (2, 4, 8, 12), "n_iterations", (1, 3, 6, 12),
                            n=300, seed=5)
    size = sweep.pivot(index="line", columns="x", values="size").to_numpy()
    assert np.all(np.diff(size, axis=1) > 0)  # with the radius, at every count
    assert np.all(np.diff(size, axis=0) > 0)  # with the count, at every radius
    # same draws as sample(): size is the infarcted fraction of the domain
    assert size[1, 1] == pytest.approx(mean_size(model, [3, 4]) / domain.n_voxels)


def test_iterative_single_ball_area_follows_uniform_radius():
    """One ball of radius U(0, R) centred on the endocardium of a thick wall covers on
    average about half a disc of mean area pi R^2 / 3, i.e. pi R^2 / 6."""
    dom = Domain.from_reference(REF, 2, zone_deg=0.0)
    model = make_model("iterative", dom)
    size = mean_size(model, [1.0, 10.0], n=2000)
    assert size == pytest.approx(np.pi * 100 / 6, rel=0.12)


def test_elliptical_axes_follow_their_uniform_ranges(domain):
    model = make_model("elliptical", domain)
    theta = np.array([8.0, 3.0, 15.0, 6.0, 12.0, 4.0][: model.n_parameters])
    axes = model.axes(theta[None], model.draw(20_000, np.random.default_rng(6)))[0]
    for j in range(model.n_parameters // 2):
        c, e = theta[2 * j], theta[2 * j + 1]
        assert axes[:, j].min() >= c - e and axes[:, j].max() <= c + e
        assert axes[:, j].mean() == pytest.approx(c, rel=0.01)
        assert axes[:, j].var() == pytest.approx(e**2 / 3, rel=0.05)


def test_elliptical_image_extent_follows_the_axes():
    """The painted lesion reaches ``b`` along the endocardial tangent and ``min(a, wall)``
    along the normal (within a pixel)."""
    dom = Domain.from_reference(REF, 2)
    model = make_model("elliptical", dom)
    pos = positions(dom)
    for a, b in [(5.0, 10.0), (9.0, 20.0)]:
        draws = model.draw(10, np.random.default_rng(7))
        got = dom.unpack(model.generate(np.array([[a, 0, b, 0]]), draws)[0])
        for s in range(10):
            local = (pos[got[s]] - draws["start"][s]) @ draws["frames"][s].T
            assert np.abs(local[:, 1]).max() == pytest.approx(b, abs=1.0)
            assert local[:, 0].max() == pytest.approx(a, abs=1.0)


def test_parameter_mapping_and_reproducibility(domain):
    model = make_model("elliptical", domain)
    x = np.array([2.0, -2.0, 1.0, -0.5, 3.0, 0.0][: model.n_parameters])
    theta = model.physical(x)
    assert np.all(theta >= 0)
    np.testing.assert_allclose(theta[:4], [4.0, 4.0, 6.0, 3.0])
    np.testing.assert_allclose(model.unconstrained(theta), np.abs(x))
    assert model.describe(theta).startswith("radial 4 ± 4 px, circumferential 6 ± 3 px")
    a = model.sample(theta, 10, 11)
    np.testing.assert_array_equal(a, model.sample(theta, 10, 11))
    assert not np.array_equal(a, model.sample(theta, 10, 12))
    with pytest.raises(ValueError, match="parameters"):
        model.sample(theta[:2], 3, 0)


def test_a_third_model_plugs_in_with_one_class():
    class Disc(InfarctModel):
        name = "test-disc"

        def parameters(self):
            return (Parameter("radius", 2.0, "px", "disc radius"),)

        def draw(self, n, rng):
            start, frames = self._start(n, rng)
            return {"start": start, "frames": frames}

        def generate(self, theta, draws):
            theta = np.atleast_2d(theta)
            axes = np.repeat(theta[:, None, :], len(draws["start"]), 1)
            axes = np.concatenate([axes, axes, np.full_like(axes, np.inf)], -1)
            bits = kernels.ellipsoid_kernel(axes, draws["start"], draws["frames"],
                                            *self.domain.runs, self.domain.dz,
                                            self.domain.n_words)
            return bits.reshape(len(theta), len(draws["start"]), -1)

    try:
        dom = Domain.from_reference(REF, 2)
        model = make_model("test-disc", dom)
        assert MODELS["test-disc"] is Disc
        small, large = (model.sample(model.physical([x]), 5, 0).sum(1).mean() for x in (1, 3))
        assert 0 < small < large
    finally:
        MODELS.pop("test-disc", None)
    with pytest.raises(ValueError, match="unknown infarct model"):
        make_model("test-disc", dom)
