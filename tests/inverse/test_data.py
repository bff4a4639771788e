"""The inverse model's sample rules: the paper's 16 scenarios, disjoint seeded splits
(by subject and holding one heart out), and the point-cloud and QRS preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from mi_lib.inverse.data import (
    PAPER_SPLIT,
    QRS_WINDOW_MS,
    XYZ_SCALE_MM,
    infarct_scenarios,
    point_features,
    prepare_qrs,
    split_subjects,
)
from mi_lib.twin.scenarios import SCENARIO_NAMES


def test_the_papers_sixteen_scenarios():
    names = infarct_scenarios()
    assert len(names) == 16 and "baseline" not in names
    assert not any(n.endswith("_slow") for n in names)
    assert set(names) | {"baseline", "lateral_transmural_slow"} == set(SCENARIO_NAMES)
    assert infarct_scenarios(include_healthy=True) == ["baseline", *names]


def test_split_by_subject_is_the_papers_and_seeded():
    subjects = [f"h{i % 2}_{i:03d}" for i in range(49)]
    sources = [f"h{i % 2}" for i in range(49)]
    split = split_subjects(subjects, sources, seed=3)
    assert [len(split[k]) for k in ("train", "validation", "test")] == list(PAPER_SPLIT)
    parts = [set(split[k]) for k in ("train", "validation", "test")]
    assert set.union(*parts) == set(subjects) and sum(map(len, parts)) == 49
    assert split == split_subjects(subjects, sources, seed=3)
    assert split["test"] != split_subjects(subjects, sources, seed=4)["test"]
    assert split["hearts"]["train"] == ["h0", "h1"]


def test_leave_one_heart_out():
    subjects = [f"s{i}" for i in range(12)]
    sources = ["a"] * 7 + ["b"] * 5
    split = split_subjects(subjects, sources, hold_out="b", seed=0)
    assert split["test"] == ["s7", "s8", "s9", "s10", "s11"]
    assert split["hearts"] == {"train": ["a"], "validation": ["a"], "test": ["b"]}
    assert len(split["train"]) + len(split["validation"]) == 7 and split["validation"]
    with pytest.raises(ValueError, match="hold_out 'c'"):
        split_subjects(subjects, sources, hold_out="c")
    with pytest.raises(ValueError, match="cannot fill"):
        split_subjects(["x", "y"], ["a", "a"])


def test_point_features_scale_xyz_only():
    pc = np.random.default_rng(0).uniform(-60, 60, (2, 10, 7))
    pc[..., 3:] = np.random.default_rng(1).uniform(0, 1, (2, 10, 4))
    out = point_features(pc)
    assert out.dtype == np.float32
    assert np.allclose(out[..., :3], pc[..., :3] / XYZ_SCALE_MM)
    assert np.allclose(out[..., 3:], pc[..., 3:])
    with pytest.raises(ValueError, match="7 features"):
        point_features(pc[..., :6])


def _qrs(onset_ms, dt=0.5, n=512, amplitude=3.0):
    t = np.arange(n) * dt
    wave = amplitude * np.exp(-0.5 * ((t - onset_ms - 40.0) / 10.0) ** 2)
    return np.stack([wave * (k + 1) / 8 * (-1) ** k for k in range(8)])


def test_prepare_qrs_keeps_the_shape_from_the_onset_and_one_scale():
    a = prepare_qrs(_qrs(20.0), 0.5, 128)
    b = prepare_qrs(_qrs(60.0, amplitude=0.2), 0.5, 128)  # later and smaller: the same input
    assert a.shape == (8, 128) and a.dtype == np.float32
    assert np.isclose(np.abs(a).max(), 1.0)
    assert np.allclose(a, b, atol=2e-3)
    # one scale for all leads: lead 7 stays 8 times lead 0 in amplitude
    assert np.isclose(np.abs(a[7]).max() / np.abs(a[0]).max(), 8.0, rtol=1e-3)
    # the same wave at 1 kHz (a real recording's rate) gives the same input
    t1 = np.arange(300) * 1.0
    real = np.stack([3.0 * np.exp(-0.5 * ((t1 - 60.0) / 10.0) ** 2) * (k + 1) / 8 * (-1) ** k
                     for k in range(8)])
    assert np.allclose(prepare_qrs(real, 1.0, 128), a, atol=2e-2)
    # past the end of a short recording: zeros
    short = prepare_qrs(_qrs(20.0)[:, :200], 0.5, 128)
    t = np.linspace(0, QRS_WINDOW_MS, 128)
    assert np.all(short[:, t > 100.0 + 1.0] == 0)


def test_prepare_qrs_ignores_a_baseline_offset_and_what_follows_the_qrs():
    a = prepare_qrs(_qrs(20.0), 0.5, 128)
    t = np.arange(_qrs(20.0).shape[1]) * 0.5
    t_wave = 0.4 * np.exp(-0.5 * ((t - 260.0) / 25.0) ** 2)  # a T wave well after the QRS
    recording = _qrs(20.0) + 0.3 + t_wave[None]
    assert np.allclose(prepare_qrs(recording, 0.5, 128), a, atol=1e-3)
