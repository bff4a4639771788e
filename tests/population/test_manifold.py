"""Manifold analysis: the multi-scale kernel regression against closed forms and
scikit-learn's kernel ridge, Isomap spectra against scikit-learn and a straight line,
the energy distance against scipy, the permutation test's calibration, the comparison
table on populations of known likeness."""

import numpy as np
import pytest
from scipy.stats import energy_distance as scipy_energy_distance
from sklearn.kernel_ridge import KernelRidge
from sklearn.utils.estimator_checks import check_estimator

from mi_lib.population import manifold
from mi_lib.population.manifold import MultiScaleKernelRegression
from mi_lib.population.models import Domain, make_model
from mi_lib.population.reference import ReferenceAnatomy


def smooth(x):
    return np.sin(2 * x[:, 0]) * np.cos(x[:, 1]) + x[:, 1] ** 2


@pytest.fixture(scope="module")
def plane():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 2))
    return x, smooth(x), rng.uniform(-0.9, 0.9, (500, 2))


def test_is_a_scikit_learn_estimator():
    check_estimator(MultiScaleKernelRegression())


def test_reproduces_a_smooth_function_of_the_latent_coordinates(plane):
    x, y, test = plane
    reg = MultiScaleKernelRegression().fit(x, y)  # alpha = 1: the paper's equal weights
    err = reg.predict(test) - smooth(test)
    # stated bound: RMS error under 0.03 and maximum under 0.15 for a function of range ~2
    assert np.sqrt(np.mean(err ** 2)) < 0.03
    assert np.abs(err).max() < 0.15
    # scales halve from the diameter of the inputs down to their nearest-neighbour spacing
    np.testing.assert_allclose(reg.sigmas_[1:] / reg.sigmas_[:-1], 0.5)
    assert reg.sigmas_[0] == pytest.approx(np.max(np.linalg.norm(x[:, None] - x[None], axis=-1)))


def test_tends_to_the_data_as_regularisation_vanishes(plane):
    x, y, _ = plane
    errors = [np.abs(MultiScaleKernelRegression(alpha=a).fit(x, y).predict(x) - y).max()
              for a in (1.0, 1e-1, 1e-2, 1e-4, 1e-6, 1e-8)]
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False)), errors
    assert errors[-1] < 1e-6


def test_smooth_between_training_points():
    x = np.linspace(0, 2 * np.pi, 15)[:, None]
    grid = np.linspace(0, 2 * np.pi, 2001)[:, None]
    h = grid[1, 0] - grid[0, 0]
    for alpha in (1.0, 1e-2, 1e-8):
        p = MultiScaleKernelRegression(alpha=alpha).fit(x, np.sin(x[:, 0])).predict(grid)
        # no overshoot between the points: curvature bounded by the sine's (1), and the
        # same two extrema as the sine, even when interpolating exactly
        assert np.abs(np.diff(p, 2) / h ** 2).max() < 1.5
        assert np.sum(np.diff(np.sign(np.diff(p))) != 0) == 2


def test_one_scale_is_kernel_ridge_regression(plane):
    x, y, test = plane
    sigma, alpha = 0.4, 0.3
    ours = MultiScaleKernelRegression(alpha=alpha, sigma=sigma, n_scales=1).fit(x, y)
    peer = KernelRidge(alpha=alpha, kernel="rbf", gamma=1 / (2 * sigma ** 2)).fit(x, y)
    np.testing.assert_allclose(ours.predict(test), peer.predict(test), rtol=1e-9, atol=1e-10)


def test_residuals_never_grow_and_stages_end_at_predict(plane):
    x, y, test = plane
    reg = MultiScaleKernelRegression(n_scales=8).fit(x, y)
    assert np.all(np.diff(reg.residuals_) <= 1e-12)
    stages = list(reg.staged_predict(test))
    assert len(stages) == 8
    np.testing.assert_array_equal(stages[-1], reg.predict(test))


def test_multi_output_is_column_by_column(plane):
    x, y, test = plane
    y2 = np.stack([y, np.cos(3 * x[:, 0]), x[:, 1]], 1)
    joint = MultiScaleKernelRegression().fit(x, y2).predict(test)
    assert joint.shape == (len(test), 3)
    for j in range(3):
        single = MultiScaleKernelRegression().fit(x, y2[:, j]).predict(test)
        np.testing.assert_allclose(joint[:, j], single, rtol=1e-10, atol=1e-12)


def test_bad_parameters_are_named(plane):
    x, y, _ = plane
    with pytest.raises(ValueError, match="alpha"):
        MultiScaleKernelRegression(alpha=0).fit(x, y)
    with pytest.raises(ValueError, match="ratio"):
        MultiScaleKernelRegression(ratio=1).fit(x, y)
    with pytest.raises(ValueError, match="identical"):
        MultiScaleKernelRegression().fit(np.zeros((5, 2)), np.arange(5.0))


def test_modes_of_a_linear_population_follow_its_axes():
    """Images linear in a 2D latent variable: the mode at k SD along a dimension is the
    image of the latent point k SD away from the mean."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(300, 2)) * [2.0, 1.0]
    a = rng.normal(size=(2, 40))
    images = z @ a + 0.5
    modes, _ = manifold.modes_of_variation(z, images, alpha=1e-3)
    pts = manifold.mode_points(z)
    expected = pts @ a + 0.5
    assert modes.shape == (2, 5, 40)
    err = np.abs(modes - expected).max(axis=-1)
    scale = np.abs(expected).max()
    assert err[:, 1:4].max() < 0.02 * scale  # within 1 SD: dense data
    assert err.max() < 0.1 * scale           # at 2 SD: sparser data
    np.testing.assert_allclose(pts[0, :, 0], z[:, 0].mean() + np.array(manifold.MODE_SDS)
                               * z[:, 0].std())


def test_isomap_spectrum_matches_scikit_learn_and_a_straight_line():
    rng = np.random.default_rng(2)
    t = np.sort(rng.uniform(0, 10, 60))
    direction = np.array([1.0, 2.0, 2.0]) / 3.0
    line = t[:, None] * direction
    fitted = manifold.isomap(line, n_neighbors=4, n_components=3)
    eig = manifold.isomap_eigenvalues(fitted)
    # on a line, geodesic = Euclidean distance: one eigenvalue, the scatter of t
    # (to the float32 precision Isomap works in)
    assert eig[0] == pytest.approx(np.sum((t - t.mean()) ** 2), rel=1e-6)
    assert np.abs(eig[1:]).max() < 1e-6 * eig[0]
    curved = np.c_[np.cos(t), np.sin(t), 0.3 * t] + rng.normal(0, 0.01, (60, 3))
    fitted = manifold.isomap(curved, n_neighbors=6, n_components=5)
    eig = manifold.isomap_eigenvalues(fitted)
    # scikit-learn's eigensolver runs in float32
    np.testing.assert_allclose(eig[:5], fitted.kernel_pca_.eigenvalues_, rtol=1e-4,
                               atol=1e-6 * eig[0])
    rel = manifold.relative_eigenvalues(eig, 10)
    assert rel[0] == 1 and np.all(np.diff(rel) <= 0)


def test_energy_distance_against_scipy_and_zero_for_equal_samples():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=80), rng.normal(0.7, 1.3, size=50)
    assert manifold.energy_distance(a[:, None], b[:, None]) == pytest.approx(
        scipy_energy_distance(a, b) ** 2, rel=1e-10)
    x = rng.normal(size=(30, 3))
    assert manifold.energy_distance(x, x.copy()) == pytest.approx(0.0, abs=1e-12)


def test_permutation_test_is_calibrated_and_has_power():
    rng = np.random.default_rng(4)
    same = [manifold.permutation_test(rng.normal(size=(40, 2)), rng.normal(size=(40, 2)),
                                      199, seed=i).pvalue for i in range(30)]
    # under the null, p-values are uniform: mean 0.5, about 5 % below 0.05
    assert 0.35 < np.mean(same) < 0.65
    assert np.mean(np.array(same) < 0.05) <= 0.15
    shifted = manifold.permutation_test(rng.normal(size=(40, 2)),
                                        rng.normal(size=(40, 2)) + [1.0, 0.0], 199, seed=0)
    assert shifted.pvalue == pytest.approx(1 / 200)
    assert shifted.null.shape == (199,)


@pytest.fixture(scope="module")
def populations():
    dom = Domain.from_reference(ReferenceAnatomy(), 2, start_c=0.05)
    model = make_model("elliptical", dom)
    truth = np.array([9.0, 3.0, 15.0, 5.0])
    pops = {"real": model.sample(truth, 80, 1), "same": model.sample(truth, 80, 2),
            "other": model.sample(truth * [0.5, 0.5, 1.6, 1.0], 80, 3)}
    return dom, pops


def test_analysis_and_table_tell_a_like_population_from_an_unlike_one(populations):
    dom, pops = populations
    man = manifold.analyse_populations(pops, n_neighbors=8, n_components=4)
    assert man.joint.shape == (240, 4) and list(np.unique(man.joint_labels)) == sorted(pops)
    rel = man.relative_eigenvalues(4)
    assert np.all(rel.iloc[0] == 1) and np.all(rel.diff().iloc[1:] <= 0)
    assert man.modes["real"].shape == (2, 5, dom.n_voxels)
    desc = {k: dom.descriptors(v) for k, v in pops.items()}
    table = manifold.comparison_table(pops, "real", desc, man, n_permutations=199)
    assert np.isnan(table.loc["real", ["KL", "MMD2", "latent_pvalue"]].astype(float)).all()
    assert table.loc["same", "KL"] < table.loc["other", "KL"]
    assert table.loc["same", "MMD2"] < table.loc["other", "MMD2"]
    assert table.loc["same", "latent_pvalue"] > 0.05
    assert table.loc["other", "latent_pvalue"] <= 0.01
    assert table.loc["other", "size_mean"] == pytest.approx(desc["other"]["size"].mean())
    ds = manifold.manifolds_dataset(man, table, dom)
    assert ds["mode_image"].shape == (3, 2, 5, 1, *dom.mask.shape[1:])
    assert np.isnan(ds["mode_image"].values[..., ~dom.mask]).all()
    assert ds["comparison"].sel(population="other", metric="n") == 80
