"""Posterior summaries, ECE, Brier score and temperature scaling against hand-computed
cases and a synthetic miscalibrated classifier."""

import numpy as np
import pytest

from mi_lib.inverse.uncertainty import (
    brier_score,
    calibration_table,
    entropy,
    expected_calibration_error,
    fit_temperature,
    posterior_summary,
    reliability,
    scale_temperature,
)


def test_entropy_and_the_split_into_aleatoric_and_epistemic():
    assert entropy([0.5, 0.5]) == pytest.approx(np.log(2))
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    # two confident draws that disagree: no aleatoric part, all of it epistemic
    draws = np.array([[[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]])
    s = posterior_summary(draws)
    assert np.allclose(s["probability"], [[0.5, 0.0, 0.5]])
    assert s["entropy"][0] == pytest.approx(np.log(2))
    assert s["aleatoric"][0] == pytest.approx(0.0)
    assert s["mutual_information"][0] == pytest.approx(np.log(2))
    # two identical unsure draws: all aleatoric, no mutual information
    same = np.array([[[0.2, 0.3, 0.5]], [[0.2, 0.3, 0.5]]])
    s = posterior_summary(same)
    assert s["mutual_information"][0] == pytest.approx(0.0, abs=1e-12)
    assert s["aleatoric"][0] == pytest.approx(s["entropy"][0])
    # random draws: I >= 0 and H = aleatoric + I
    rng = np.random.default_rng(0)
    d = rng.dirichlet([1, 1, 1], size=(8, 50))
    s = posterior_summary(d)
    assert np.all(s["mutual_information"] >= 0)
    assert np.allclose(s["entropy"], s["aleatoric"] + s["mutual_information"])
    with pytest.raises(ValueError):
        posterior_summary(np.ones(3))


def test_ece_and_brier_on_a_hand_computed_case():
    # scar probabilities of 6 points and their truth (2 = scar)
    p_scar = np.array([0.05, 0.15, 0.8, 0.9, 0.95, 0.6])
    truth = np.array([0, 2, 2, 0, 2, 2])
    prob = np.stack([1 - p_scar, np.zeros(6), p_scar], axis=1)
    # bins of 0.5: [0, 0.5) holds 0.05, 0.15 (confidence 0.10, frequency 1/2);
    # [0.5, 1] holds 0.8, 0.9, 0.95, 0.6 (confidence 0.8125, frequency 3/4)
    ece = 2 / 6 * abs(0.5 - 0.10) + 4 / 6 * abs(0.75 - 0.8125)
    assert expected_calibration_error(prob, truth, 2, n_bins=2) == pytest.approx(ece)
    brier = np.mean((p_scar - np.array([0, 1, 1, 0, 1, 1])) ** 2)
    assert brier_score(prob, truth, 2) == pytest.approx(brier)
    r = reliability(prob, truth, 2, n_bins=2)
    assert list(r["count"]) == [2, 4] and np.allclose(r["confidence"], [0.10, 0.8125])
    # p = 1 falls in the last bin; empty bins are NaN and weigh nothing
    r = reliability(np.array([[0.0, 0.0, 1.0]]), np.array([2]), 2, n_bins=4)
    assert list(r["count"]) == [0, 0, 0, 1] and np.isnan(r["confidence"][0])
    assert expected_calibration_error(np.array([[0.0, 0.0, 1.0]]), np.array([2]), 2) == 0.0
    with pytest.raises(ValueError, match="do not match"):
        brier_score(prob, truth[:3], 2)


def test_a_perfectly_calibrated_classifier_has_a_small_ece():
    rng = np.random.default_rng(1)
    p = rng.random(200_000)
    y = (rng.random(p.size) < p).astype(int)
    prob = np.stack([1 - p, p], axis=1)
    assert expected_calibration_error(prob, y, 1) < 0.01
    assert brier_score(prob, y, 1) == pytest.approx(1 / 6, abs=0.005)  # E[p(1-p)]


def test_temperature_scaling_recovers_the_temperature_of_a_miscalibrated_classifier():
    """Labels drawn from softmax(z); the classifier reports softmax(z * 2.5), i.e. it is
    over-confident by T = 2.5: the fitted temperature is 2.5 and calibration recovers."""
    rng = np.random.default_rng(2)
    z = rng.normal(0, 1.5, size=(60_000, 3))
    true_p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = (rng.random((len(z), 1)) > true_p.cumsum(1)).sum(1)
    over = np.exp(2.5 * z) / np.exp(2.5 * z).sum(1, keepdims=True)
    t = fit_temperature(over, y)
    assert t == pytest.approx(2.5, rel=0.03)
    assert np.allclose(scale_temperature(over, 2.5), true_p, atol=1e-9)
    table = calibration_table(over, y, {2: "scar", 1: "border zone"}, temperature=t)
    before = table[table.scaling == "none"].set_index("class")
    after = table[table.scaling == "temperature"].set_index("class")
    assert list(table.columns) == ["class", "scaling", "temperature", "ece", "brier",
                                   "n_points"]
    assert (after.ece < 0.01).all() and (before.ece > 0.03).all()
    assert (after.brier < before.brier).all()
    with pytest.raises(ValueError):
        scale_temperature(over, 0.0)


def test_posterior_draws_of_a_network_are_seeded_and_sum_up(tmp_path):
    """K latent draws of a (small, untrained) network: seeded, the mean a distribution,
    H = aleatoric + I per point, the draws disagree (I > 0), torch's generator untouched."""
    import torch
    from test_products import fake_simulations  # tests/inverse, on the path (rootdir mode)

    from mi_lib.inverse import load_samples
    from mi_lib.inverse.model import DualBranchVAE
    from mi_lib.inverse.settings import model_config
    from mi_lib.inverse.uncertainty import posterior

    path = fake_simulations(tmp_path / "sim.zarr")
    s = load_samples(path, n_points=64, qrs_length=32)
    torch.manual_seed(0)
    model = DualBranchVAE(model_config(n_points=64, qrs_length=32, width=0.125))
    state = torch.random.get_rng_state()
    post = posterior(model, s, [0, 2], k=6, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert post["probability"].shape == (2, 2, 64, 3) and post["entropy"].shape == (2, 2, 64)
    assert np.allclose(post["probability"].sum(-1), 1.0, atol=1e-5)
    assert np.allclose(post["entropy"], post["aleatoric"] + post["mutual_information"],
                       atol=1e-5)
    assert post["mutual_information"].max() > 0
    again = posterior(model, s, [0, 2], k=6, seed=3)
    assert all(np.array_equal(post[k], again[k]) for k in post)
    other = posterior(model, s, [0, 2], k=6, seed=4)
    assert not np.array_equal(post["probability"], other["probability"])
    with pytest.raises(ValueError):
        posterior(model, s, [0], k=1)


def test_uncertainty_that_tracks_error_correlates_with_it(tmp_path):
    """A posterior whose entropy grows with its error: the per-point correlation is
    positive and the entropy tells wrong points from right ones; the case table scores
    the arg-max map; the showcase picks the median and the worst case."""
    from test_products import fake_simulations  # tests/inverse, on the path (rootdir mode)

    from mi_lib.inverse import load_samples
    from mi_lib.inverse.uncertainty import case_table, error_correlations, showcase

    s = load_samples(fake_simulations(tmp_path / "sim.zarr"), n_points=64, qrs_length=32)
    rows = [0, 1, 2]
    rng = np.random.default_rng(0)
    truth = s.labels[rows]
    q = rng.uniform(0.6, 1.0, size=truth.shape)       # confidence in the true class
    wrong = rng.random(truth.shape) < 0.2             # these: nearly uniform, another wins
    prob = np.empty(truth.shape + (3,))
    other = (truth + 1) % 3
    for c in range(3):
        right = np.where(truth == c, q, (1 - q) / 2)
        bad = np.where(truth == c, 0.30, np.where(other == c, 0.36, 0.34))
        prob[..., c] = np.where(wrong, bad, right)
    post = {"probability": prob, "entropy": entropy(prob),
            "aleatoric": entropy(prob), "mutual_information": np.zeros(truth.shape)}
    cases = case_table(s, rows, post)
    assert len(cases) == 3 * len(s.scenarios) and cases.split.eq("test").all()
    assert np.all(cases.entropy > 0)
    corr = error_correlations(s, rows, post, cases)
    assert corr["point_entropy_rho"] > 0.5 and corr["point_auc"] > 0.8
    assert corr["n_points"] == int((s.aha[rows] > 0).sum()) * len(s.scenarios)
    picks = showcase(cases)
    assert picks[0][0] == "typical" and picks[-1][0] == "failed"
    worst = cases.scar_dice.idxmin()
    assert (cases.subject.iloc[worst], cases.scenario.iloc[worst]) == (
        s.subjects[rows[picks[-1][1]]], s.scenarios[picks[-1][2]])
