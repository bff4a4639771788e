"""Degraded and augmented samples, and the re-recording with moved electrodes."""

import numpy as np
import pytest

from mi_lib.core.config import project_root
from mi_lib.inverse.data import Samples, prepare_qrs
from mi_lib.inverse.perturbations import add_noise
from mi_lib.inverse.robustness import augmented, degraded, rerecorded, with_qrs
from mi_lib.twin.anatomy import load_anatomy
from mi_lib.twin.forward import TwinModel
from mi_lib.twin.scenarios import get_scenario

HEART = project_root() / "data" / "raw" / "anatomy" / "kit_geo1"
NAMES = ("lateral_transmural", "septal_transmural")


@pytest.fixture(scope="module")
def model():
    return TwinModel.build(load_anatomy(HEART))


@pytest.fixture(scope="module")
def sims(model):
    return [model.simulate(get_scenario(n)) for n in NAMES]


def _samples(sims, n_subjects=3, n_points=50, qrs_length=32):
    raw = np.stack([np.stack([s["qrs"] for s in sims])] * n_subjects).astype(np.float32)
    dt = 0.5
    qrs = np.stack([[prepare_qrs(r, dt, qrs_length) for r in subj] for subj in raw])
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=(n_subjects, len(sims), n_points))
    return Samples([f"s{i}" for i in range(n_subjects)], ["h"] * n_subjects, list(NAMES),
                   rng.random((n_subjects, n_points, 7), np.float32),
                   rng.random((n_subjects, n_points, 3), np.float32),
                   rng.integers(0, 18, size=(n_subjects, n_points)).astype(np.int8),
                   qrs.astype(np.float32), labels, "test", raw, dt)


def test_degraded_samples_change_the_chosen_rows_only(sims):
    s = _samples(sims)
    d = degraded(s, [1], "noise", 10.0, seed=3)
    assert np.array_equal(d.qrs[[0, 2]], s.qrs[[0, 2]])
    assert not np.allclose(d.qrs[1], s.qrs[1])
    assert np.array_equal(d.labels, s.labels) and d.scenarios == s.scenarios
    want = np.stack([prepare_qrs(r, s.dt, 32) for r in
                     add_noise(s.raw_qrs[1], 10.0, np.random.default_rng([3, 1]))])
    assert np.allclose(d.qrs[1], want)
    assert np.array_equal(degraded(s, [1], "noise", 10.0, seed=3).qrs, d.qrs)   # seeded
    with pytest.raises(ValueError, match="raw QRS"):
        from dataclasses import replace
        degraded(replace(s, raw_qrs=None), [0], "noise", 10.0)


def test_augmented_samples_append_perturbed_copies_with_the_same_labels(sims):
    s = _samples(sims)
    a = augmented(s, seed=1, copies=2)
    assert a.scenarios == list(NAMES) + [f"{n}~1" for n in NAMES] + [f"{n}~2" for n in NAMES]
    assert a.qrs.shape == (3, 6, 8, 32) and np.array_equal(a.qrs[:, :2], s.qrs)
    for k in (1, 2):
        assert np.array_equal(a.labels[:, 2 * k:2 * k + 2], s.labels)
    assert not np.allclose(a.qrs[:, 2:], np.concatenate([s.qrs, s.qrs], axis=1))
    assert np.abs(a.qrs).max() <= 1.0 + 1e-6                 # prepared: one scale
    assert np.array_equal(augmented(s, seed=1, copies=2).qrs, a.qrs)
    # with electrodes, a copy may be the re-recording given for its (row, scenario)
    moved = {d: s.raw_qrs * 0.5 for d in (10.0, 20.0, 30.0)}
    b = augmented(s, seed=1, electrodes=moved, copies=4)
    assert b.qrs.shape[1] == 2 * 5


def test_electrodes_not_moved_record_the_stored_qrs(model, sims):
    at = np.stack([x["at"] for x in sims])
    tissue = np.stack([x["labels"] for x in sims])
    same = rerecorded(model, at, tissue, 0.0, seed=0)
    assert np.allclose(same, np.stack([x["qrs"] for x in sims]), rtol=1e-10, atol=1e-12)
    moved = rerecorded(model, at, tissue, 20.0, seed=0)
    assert np.allclose(moved[:, :2], same[:, :2]) and not np.allclose(moved[:, 2:], same[:, 2:])
    s = _samples(sims)
    w = with_qrs(s, [0], moved[None])
    assert np.allclose(w.qrs[0], [prepare_qrs(r, s.dt, 32) for r in moved])
    assert np.array_equal(w.qrs[1:], s.qrs[1:])


def test_the_two_fine_tunings_start_from_the_model_and_see_as_many_samples(tmp_path):
    import json

    from test_products import fake_simulations  # tests/inverse, on the path (rootdir mode)

    from mi_lib.core import names
    from mi_lib.inverse import load_samples, products, split_subjects
    from mi_lib.inverse.robustness import robust_trainings
    from mi_lib.inverse.settings import model_config, training_settings

    s = load_samples(fake_simulations(tmp_path / "sim.zarr"), n_points=64, qrs_length=32)
    split = split_subjects(s.subjects, s.sources, seed=0)
    main = tmp_path / names.INFERENCE
    products.fit(s, split, model_config(n_points=64, qrs_length=32, width=0.125),
                 training_settings(epochs=3, lr=1e-3, decay_every=1), main, progress=False)
    nets, table = robust_trainings(s, split, main, 2, tmp_path / "robust", seed=1)
    assert list(table.epochs) == [2, 1]
    assert table.samples_per_epoch["augmented"] == 2 * table.samples_per_epoch["plain"]
    for k in ("plain", "augmented"):
        settings = json.loads((tmp_path / "robust" / k / names.SETTINGS).read_text())
        assert settings["initialised_from"] == str(main)
        assert settings["training"]["lr"] == pytest.approx(1e-3 * 0.5 ** 2)  # final rate
    assert set(nets) == {"plain", "augmented"}
