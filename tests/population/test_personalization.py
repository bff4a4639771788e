"""CMA-ES personalization: the stagnation test's closed form, recovery of known
parameters from a population the model itself generated, reproducibility, product."""

import numpy as np
import pytest

from mi_lib.population.models import Domain, make_model
from mi_lib.population.personalization import CMASettings, Energy, personalize, stagnation
from mi_lib.population.reference import ReferenceAnatomy

REF = ReferenceAnatomy()
TRUE = np.array([9.0, 3.0, 15.0, 5.0])  # elliptical: radial 9 +- 3 px, circumferential 15 +- 5 px
SMALL = CMASettings(popsize=24, mu=6, max_generations=60, window=20, n_final=5, seed=3)


@pytest.fixture(scope="module")
def target():
    dom = Domain.from_reference(REF, 2, start_c=0.05)
    model = make_model("elliptical", dom)
    return model, model.sample(TRUE, 123, 2024)


def test_stagnation_measures_trends_in_search_units():
    w, m = 30, 2
    g = np.arange(w)
    cov = np.broadcast_to(np.diag([4.0, 9.0]), (w, m, m)).copy()
    means = np.stack([0.1 * g, np.full(w, 5.0)], 1)
    drift, cov_drift = stagnation(means, cov)
    # slope 0.1 per generation over 30 generations = 3 units, std 2 -> 1.5
    np.testing.assert_allclose(drift, [1.5, 0.0], atol=1e-12)
    assert cov_drift == pytest.approx(0.0, abs=1e-12)
    shrinking = cov * np.exp(-0.02 * g)[:, None, None]
    _, cov_drift = stagnation(means, shrinking)
    assert cov_drift == pytest.approx(-0.02 * w)


def test_energy_is_lower_at_the_true_parameters(target):
    model, real = target
    draws = model.draw(100, np.random.default_rng(0))
    for divergence in ("kl", "mmd"):
        e = Energy(model, real, divergence)(np.array([TRUE, TRUE * 0.4, TRUE * 2.0]), draws)
        assert e[0] < e[1] and e[0] < e[2]


@pytest.mark.parametrize("divergence", ["kl", "mmd"])
def test_personalization_recovers_known_parameters(target, divergence):
    model, real = target
    res = personalize(model, real, SMALL, divergence, progress=False)
    h = res.history
    assert res.final_energy.mean() <= 0.5 * h["energy_median"][0]
    # the distribution centres are recovered; extensions are weakly identified
    assert res.final_theta[0] == pytest.approx(TRUE[0], abs=2.5)
    assert res.final_theta[2] == pytest.approx(TRUE[2], abs=4.0)
    assert h["covariance"].shape == (res.n_generations, 4, 4)
    np.testing.assert_allclose(h["covariance"][0], np.eye(4), atol=1e-3)  # pycma jitters 1e-5
    np.testing.assert_allclose(h["mean"][0], 2.0)


def test_personalization_is_reproducible(target):
    model, real = target
    s = CMASettings(popsize=12, mu=4, max_generations=6, window=5, n_final=2, seed=9)
    a = personalize(model, real, s, "mmd", progress=False)
    b = personalize(model, real, s, "mmd", progress=False)
    for key in ("energy_median", "mean", "covariance", "sigma"):
        np.testing.assert_array_equal(a.history[key], b.history[key])
    np.testing.assert_array_equal(a.final_energy, b.final_energy)
    np.testing.assert_array_equal(a.samples(5), b.samples(5))


def test_energy_threshold_stops_the_search(target):
    model, real = target
    s = CMASettings(popsize=12, mu=4, max_generations=50, energy_threshold=10.0, n_final=2)
    res = personalize(model, real, s, "mmd", progress=False)
    assert res.stop_reason == "energy_threshold"
    assert res.n_generations == s.energy_window


def test_product_dataset_layout(target):
    model, real = target
    s = CMASettings(popsize=12, mu=4, max_generations=4, window=5, n_final=3)
    ds = personalize(model, real, s, "kl", progress=False).to_dataset(n_samples=7)
    assert ds.sizes["generation"] == 4 and ds.sizes["param"] == 4
    assert ds["samples"].shape == (7, 1, REF.grid_size, REF.grid_size)
    assert set(np.unique(ds["samples"])) <= {0, 1}
    assert not ds["samples"].values[:, 0][:, ~model.domain.mask[0]].any()
    np.testing.assert_allclose(ds["final_physical"], model.physical(ds["final_x"].values))
    assert ds.attrs["model"] == "elliptical" and ds.attrs["dims"] == 2


def test_bad_settings_and_inputs(target):
    model, real = target
    with pytest.raises(ValueError, match="mu"):
        CMASettings(popsize=10, mu=10)
    with pytest.raises(ValueError, match="divergence"):
        Energy(model, real, "wasserstein")
    with pytest.raises(ValueError, match="voxels"):
        Energy(model, real[:, :10], "kl")


def test_cross_evaluation_scores_each_fit_by_each_divergence(target):
    """The table's scores are evaluate()'s on the fit's final parameters (same seed), and
    the true parameters score lower than a far-off fit under both divergences."""
    import xarray as xr

    from mi_lib.population.personalization import cross_evaluation, evaluate

    model, real = target
    wrong = np.array([4.0, 1.0, 40.0, 2.0])
    runs = {("elliptical", "kl"): xr.Dataset({"final_physical": ("param", TRUE)}),
            ("elliptical", "mmd"): xr.Dataset({"final_physical": ("param", wrong)})}
    table = cross_evaluation(runs, model.domain, real, n_replicates=3, seed=5)
    assert list(table.index) == [("elliptical", "KL"), ("elliptical", "MMD")]
    expected = evaluate(model, real, TRUE, "mmd", n_replicates=3, seed=5)
    assert table.loc[("elliptical", "KL"), "MMD mean"] == pytest.approx(expected.mean())
    assert table.loc[("elliptical", "KL"), "MMD sd"] == pytest.approx(expected.std(ddof=1))
    for score in ("KL", "MMD"):
        assert table[f"{score} mean"].iloc[0] < table[f"{score} mean"].iloc[1]
