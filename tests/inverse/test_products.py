"""Samples of a simulations product, the baselines on planted cases, and the inference
folder: fit, load with weights_only, apply to another product in one call."""

import json

import numpy as np
import pytest
import torch
import xarray as xr

from mi_lib.core import names
from mi_lib.inverse import evaluation as ev
from mi_lib.inverse import load_samples, products, split_subjects
from mi_lib.inverse.settings import deviations, model_config, training_settings
from mi_lib.twin.ecg import LEADS

SCEN = ["baseline", "septal_transmural", "apical_subendocardial", "lateral_transmural_slow"]


def fake_simulations(path, n_subjects=3, n_dense=128, seed=0):
    """A minimal simulations.zarr: what notebook 07 reads, with planted QRS and labels."""
    rng = np.random.default_rng(seed)
    n_nodes, t = 200, 160
    subjects = [f"h{i % 2}_{i:03d}" for i in range(n_subjects)]
    coords = np.stack([rng.random((n_subjects, n_nodes)), rng.random((n_subjects, n_nodes)),
                       rng.random((n_subjects, n_nodes)),
                       (rng.random((n_subjects, n_nodes)) > 0.7).astype(float)], -1)
    xyz = rng.normal(0, 30, (n_subjects, n_nodes, 3))
    index = np.stack([rng.permutation(n_nodes)[:n_dense] for _ in range(n_subjects)])
    tissue = np.zeros((n_subjects, len(SCEN), n_nodes), np.int8)
    tissue[:, 1, :20], tissue[:, 1, 20:30] = 2, 1
    tissue[:, 2, 100:115], tissue[:, 2, 115:120] = 2, 1
    tissue[:, 3] = tissue[:, 1]
    time = np.arange(t) * 0.5
    qrs = np.zeros((n_subjects, len(SCEN), 8, t))
    for c in range(len(SCEN)):  # a distinct wave per scenario, the same for every subject
        qrs[:, c] = np.sin(2 * np.pi * (c + 1) * time / 80.0)[None] * (time < 40) \
            * np.arange(1, 9)[:, None]
    pc = np.concatenate([np.take_along_axis(xyz, index[..., None], 1),
                         np.take_along_axis(coords, index[..., None], 1)], -1)
    aha = rng.integers(1, 18, (n_subjects, n_nodes)) * (coords[..., 3] == 0)
    ds = xr.Dataset(
        {"qrs": (("subject", "scenario", "lead", "time"), qrs),
         "tissue": (("subject", "scenario", "node"), tissue),
         "aha": (("subject", "node"), aha.astype(np.int8)),
         "pc_dense": (("subject", "dense", "feature"), pc.astype(np.float32)),
         "dense_index": (("subject", "dense"), index),
         "pc_dense_tissue": (("subject", "scenario", "dense"),
                             np.take_along_axis(tissue, index[:, None], 2)),
         "source": (("subject",), [f"/data/h{i % 2}" for i in range(n_subjects)])},
        coords={"subject": subjects, "scenario": SCEN, "lead": list(LEADS), "time": time})
    ds.to_zarr(path, mode="w", consolidated=True, zarr_format=2)
    return path


def test_samples_follow_the_papers_selection_and_the_products_clouds(tmp_path):
    path = fake_simulations(tmp_path / "sim.zarr")
    s = load_samples(path, n_points=64, qrs_length=32)
    assert s.scenarios == ["septal_transmural", "apical_subendocardial"]  # no slow, no healthy
    assert s.features.shape == (3, 64, 7) and s.qrs.shape == (3, 2, 8, 32)
    raw = xr.open_zarr(path)
    assert np.array_equal(s.labels[:, 0], raw.pc_dense_tissue.values[:, 1, :64])
    idx = raw.dense_index.values[:, :64]
    assert np.array_equal(s.aha, np.take_along_axis(raw.aha.values, idx, 1))
    assert np.allclose(s.features[..., :3] * 100, raw.pc_dense.values[:, :64, :3], atol=1e-4)
    assert s.sources == ["h0", "h1", "h0"]
    assert load_samples(path, n_points=64, qrs_length=32,
                        include_healthy=True).scenarios[0] == "baseline"
    with pytest.raises(ValueError, match="n_points"):
        load_samples(path, n_points=1000, qrs_length=32)
    with pytest.raises(ValueError, match="nope"):
        load_samples(path, n_points=64, qrs_length=32, scenarios=["nope"])


def test_nearest_neighbour_finds_the_planted_scenario_and_carries_its_labels(tmp_path):
    s = load_samples(fake_simulations(tmp_path / "sim.zarr"), n_points=128, qrs_length=32)
    maps, matches = ev.nearest_neighbour_maps(s, [0, 1], [2])
    assert list(matches.match_scenario) == list(matches.scenario)
    # the test anatomy's own labels come back where the training anatomy is the same cloud
    s.features[2], s.labels[2] = s.features[0], s.labels[0]
    maps, _ = ev.nearest_neighbour_maps(s, [0], [2])
    assert np.array_equal(maps[0], s.labels[2])
    m = ev.score(s, [2], maps, "nearest_neighbour")
    assert np.allclose(m.scar_dice, 1.0) and np.allclose(m.aha_loc, 1.0)


def test_best_constant_is_the_training_map_of_highest_mean_test_dice(tmp_path):
    s = load_samples(fake_simulations(tmp_path / "sim.zarr"), n_points=128, qrs_length=32)
    s.features[:] = s.features[0]
    s.labels[:, 1] = 0
    s.labels[:, 1, :40] = 2                       # a larger scar in scenario 1
    s.labels[2] = 0
    s.labels[2, :, :40] = 2                       # the test subject: that scar in both
    maps, choice = ev.constant_maps(s, [0, 1], [2])
    assert choice["scenario"] == s.scenarios[1] and choice["mean_dice"] == pytest.approx(1.0)
    assert np.array_equal(maps[0, 0], maps[0, 1])


def test_fit_load_and_apply_to_another_product(tmp_path):
    path = fake_simulations(tmp_path / "sim.zarr")
    cfg = model_config(n_points=64, qrs_length=32, width=0.125)
    tr = training_settings(epochs=1, lr=1e-3, decay_every=1)
    s = load_samples(path, n_points=64, qrs_length=32)
    split = split_subjects(s.subjects, s.sources, seed=0)
    folder = tmp_path / names.INFERENCE
    res = products.fit(s, split, cfg, tr, folder, profile="smoke",
                       notes=deviations(cfg, tr), progress=False)
    settings = json.loads((folder / names.SETTINGS).read_text())
    assert settings["split"]["test"] == split["test"] and settings["best_epoch"] == 1
    assert any("input points: 64" in d for d in settings["deviations_from_paper"])
    state = torch.load(folder / names.WEIGHTS, weights_only=True)
    assert set(state) == set(res["model"].state_dict())
    other = fake_simulations(tmp_path / "other.zarr", n_subjects=2, seed=1)
    pred = products.apply_model(folder, other)
    assert pred.probability.shape == (2, 2, 64, 3)
    assert np.allclose(pred.probability.sum("tissue_class"), 1.0, atol=1e-5)
    model, _ = products.load_model(folder)
    s2 = load_samples(other, n_points=64, qrs_length=32)
    assert np.allclose(pred.probability.values, ev.predict(model, s2, [0, 1]))
    products.write_predictions(folder, s2, [0, 1], pred.probability.values)
    back = xr.open_zarr(folder / names.PREDICTIONS)
    assert np.array_equal(back.truth.values, s2.labels)
    with pytest.raises(FileNotFoundError, match="notebook 07"):
        products.load_model(tmp_path / "nothing")


def test_study_jobs_share_the_budget_and_differ_only_where_they_should(tmp_path):
    from mi_lib.inverse.settings import ABLATIONS

    s = load_samples(fake_simulations(tmp_path / "sim.zarr"), n_points=64, qrs_length=32)
    split = split_subjects(s.subjects, s.sources, seed=0)
    cfg = model_config(n_points=64, qrs_length=32, width=0.125)
    tr = training_settings(epochs=6, lr=1e-3, decay_every=2)
    jobs = products.study_jobs(s, split, cfg, tr, tmp_path / "inf", ablation_epochs=2,
                               hold_out_split=split)
    assert list(jobs) == ["vae", "vae_short", *ABLATIONS, "qrs_only", "leave_one_heart_out"]
    assert jobs["vae"]["training"] == tr and jobs["vae"]["folder"] == tmp_path / "inf"
    short = jobs["vae_short"]["training"]
    assert short.epochs == 2 and short.weights == tr.weights and short.decay_every == 2
    for name, zero in ABLATIONS.items():
        w = jobs[name]["training"].weights.to_dict()
        assert jobs[name]["training"].epochs == 2
        assert {k for k, v in w.items() if v != tr.weights.to_dict()[k]} == set(zero)
        assert all(w[k] == 0 for k in zero)
    assert jobs["qrs_only"]["config"].branches == "qrs_only"
    assert len({str(j["folder"]) for j in jobs.values()}) == len(jobs)


def test_the_paper_profile_is_the_papers_model_and_optimiser():
    from mi_lib.inverse.model import ModelConfig
    from mi_lib.inverse.settings import profile_settings

    config, training = profile_settings("paper")
    assert config == ModelConfig()
    assert (training.epochs, training.lr, training.weight_decay, training.batch_size,
            training.decay) == (300, 1e-4, 1e-3, 4, 0.5)
    assert training.weights.to_dict() | {"dice": 1.0} == {
        "alpha": 5.0, "kl": 0.01, "compact": 1.0, "size": 1.0, "spa": 1.0, "vae": 1.0,
        "dice": 1.0, "pc": 1.0, "qrs": 1.0, "dtw_gamma": 0.1}
    notes = deviations(config, training)
    assert len(notes) == 3  # no size or optimiser change: the three documented additions only
    std = deviations(*profile_settings("standard"))
    assert any(n.startswith("epochs: 60") for n in std) and any("learning rate" in n for n in std)


def test_lv_shares_count_the_lv_region_only():
    aha = np.array([0, 0, 1, 2, 3, 17])
    maps = np.array([[2, 2, 2, 1, 0, 0], [0, 0, 0, 0, 0, 0]])
    scar, bz = ev.lv_shares(maps, aha)
    assert np.allclose(scar, [0.25, 0.0]) and np.allclose(bz, [0.25, 0.0])
