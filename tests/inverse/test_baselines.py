"""The baselines: the coordinate embedding's periodic rt and separated ventricles, exact
label transfer between reordered clouds, multivariate DTW against a brute-force
recursion, the nearest neighbour of a time-shifted copy, and the planted best constant."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.spatial import cKDTree

from mi_lib.inverse.baselines import (
    RT_RADIUS,
    TV_WEIGHT,
    best_constant,
    constant_scores,
    coordinate_embedding,
    nearest_neighbour,
    qrs_distances,
    transfer_labels,
)
from mi_lib.inverse.metrics import SCAR, segmentation_scores


def _coords(rng, n, tv=None):
    tv = rng.integers(0, 2, size=n) if tv is None else np.full(n, tv)
    return np.c_[rng.uniform(size=(n, 3)), tv].astype(float)


# --- the coordinate embedding ---------------------------------------------------------


def test_embedding_is_continuous_across_rt_0_and_1():
    def dist(a, b):
        e = coordinate_embedding(np.array([a, b], float))
        return np.linalg.norm(e[0] - e[1])

    assert dist([0.3, 0.5, 0.999, 0], [0.3, 0.5, 0.001, 0]) == pytest.approx(0.002, rel=1e-5)
    assert dist([0.3, 0.5, 0.0, 1], [0.3, 0.5, 1.0, 1]) == pytest.approx(0.0, abs=1e-15)
    # a small rt step is the same step in distance, as one in tm or ab
    assert dist([0.3, 0.5, 0.40, 0], [0.3, 0.5, 0.41, 0]) == pytest.approx(0.01, rel=1e-3)
    assert dist([0.3, 0.5, 0.40, 0], [0.31, 0.5, 0.40, 0]) == pytest.approx(0.01)
    # half a turn: the circle's diameter; LV to RV: at least W
    assert dist([0, 0, 0.0, 0], [0, 0, 0.5, 0]) == pytest.approx(2 * RT_RADIUS)
    assert dist([0, 0, 0.2, 0], [0, 0, 0.2, 1]) == TV_WEIGHT
    assert TV_WEIGHT > math.sqrt(2 + (2 * RT_RADIUS) ** 2)


def test_embedding_rejects_bad_coordinates():
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        coordinate_embedding(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="tv"):
        coordinate_embedding(np.array([[0.1, 0.2, 0.3, 0.5]]))


# --- label transfer -------------------------------------------------------------------


def test_transfer_between_reordered_copies_is_exact(rng):
    src = _coords(rng, 300)
    labels = rng.integers(0, 3, size=300)
    order = rng.permutation(300)
    np.testing.assert_array_equal(transfer_labels(src, labels, src[order]), labels[order])
    maps = rng.integers(0, 3, size=(4, 300))
    out = transfer_labels(src, maps, src[order])
    assert out.shape == (4, 300)
    np.testing.assert_array_equal(out, maps[:, order])


def test_nearest_in_the_embedding_by_brute_force(rng):
    src, dst = _coords(rng, 200), _coords(rng, 150)
    labels = np.arange(200)
    es, ed = coordinate_embedding(src), coordinate_embedding(dst)
    brute = np.argmin(((ed[:, None] - es[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_array_equal(transfer_labels(src, labels, dst), brute)
    # across rt = 0 / 1: a point at rt 0.999 takes the label of its rt 0.001 neighbour
    src = np.array([[0.5, 0.5, 0.001, 0], [0.5, 0.5, 0.99, 0]])
    assert transfer_labels(src, [7, 8], np.array([[0.5, 0.5, 0.999, 0]])).tolist() == [7]


def test_the_lv_never_takes_rv_labels(rng):
    # LV source points only near the apex; RV source points everywhere, 1 = RV label
    lv_src = _coords(rng, 100, tv=0)
    lv_src[:, 1] *= 0.05
    src = np.r_[lv_src, _coords(rng, 400, tv=1)]
    labels = np.r_[np.zeros(100, int), np.ones(400, int)]
    dst = _coords(rng, 500)
    dst[:, 1] = np.where(dst[:, 3] == 0, 0.5 + 0.5 * dst[:, 1], dst[:, 1])  # LV far from apex
    out = transfer_labels(src, labels, dst)
    np.testing.assert_array_equal(out, dst[:, 3].astype(int))
    # without the tv weight, the RV points would be the nearest of most LV points
    flat = cKDTree(src[:, :3]).query(dst[:, :3])[1]
    assert np.mean(labels[flat][dst[:, 3] == 0]) > 0.9


def test_transfer_rejects_mismatched_labels(rng):
    with pytest.raises(ValueError, match="n_src = 5"):
        transfer_labels(_coords(rng, 5), np.zeros(4), _coords(rng, 3))


# --- DTW ------------------------------------------------------------------------------


def _brute_dtw(a, b, window=None):
    """DTW of a (leads, T) and b (leads, T'): squared Euclidean step costs between lead
    vectors, sqrt of the least accumulated cost; dtaidistance's band."""
    a, b = a.T, b.T
    r, c = len(a), len(b)
    w = max(r, c) if window is None else window
    acc = np.full((r + 1, c + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(r):
        for j in range(c):
            if j - i >= max(0, c - r) + w or i - j >= max(0, r - c) + w:
                continue
            cost = float(np.sum((a[i] - b[j]) ** 2))
            acc[i + 1, j + 1] = cost + min(acc[i, j], acc[i, j + 1], acc[i + 1, j])
    return math.sqrt(acc[r, c])


@pytest.mark.parametrize("leads, t_test, t_train, window", [
    (2, 6, 6, None), (3, 8, 8, None), (3, 8, 8, 2), (2, 7, 10, None), (3, 10, 7, 3),
])
def test_dtw_matches_brute_force(rng, leads, t_test, t_train, window):
    test = rng.normal(size=(2, leads, t_test))
    train = rng.normal(size=(3, leads, t_train))
    got = qrs_distances(test, train, window=window)
    assert got.shape == (2, 3)
    brute = [[_brute_dtw(a, b, window) for b in train] for a in test]
    np.testing.assert_allclose(got, brute, rtol=1e-12)


def test_dtw_properties(rng):
    train = rng.normal(size=(4, 3, 9))
    d = qrs_distances(train, train)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-12)
    np.testing.assert_allclose(d, d.T, rtol=1e-12)
    # window 1: no warping, the Euclidean distance of the whole series
    eu = np.linalg.norm(train[:, None] - train[None], axis=(2, 3))
    np.testing.assert_allclose(qrs_distances(train, train, window=1), eu, rtol=1e-12)
    assert qrs_distances(train[0], train).shape == (1, 4)
    assert qrs_distances(train[:0], train).shape == (0, 4)
    with pytest.raises(ValueError, match="same leads"):
        qrs_distances(train, train[:, :2])


def test_the_nearest_neighbour_of_a_shifted_copy():
    t = np.arange(60, dtype=float)
    bump = np.exp(-0.5 * ((t - 20) / 2.0) ** 2)
    train = np.stack([
        np.stack([np.zeros(60), np.zeros(60)]),  # flat
        np.stack([bump, -0.5 * bump]),  # the bump the query is a shifted copy of
        np.stack([-bump, bump]),
    ])
    query = np.roll(train[1], 8, axis=1)[None]  # the bump 8 samples later
    index, distance = nearest_neighbour(query, train)
    assert index.tolist() == [1]
    assert distance[0] < 0.05 * qrs_distances(query, train)[0, [0, 2]].min()
    # by the Euclidean distance the flat series would win: the warping matters
    eu = np.linalg.norm(train - query, axis=(1, 2))
    assert np.argmin(eu) == 0
    # a band narrower than the shift cannot align it
    assert nearest_neighbour(query, train, window=2)[0].tolist() == [0]


# --- the best constant ----------------------------------------------------------------


def _dice(c, t):
    return segmentation_scores(c, t, SCAR)["dice"]


def test_best_constant_picks_the_planted_best(rng):
    candidates = rng.choice([0, 2], size=(5, 200), p=[0.7, 0.3])
    truths = []
    for _ in range(8):  # noisy copies of candidate 3
        t = candidates[3].copy()
        flip = rng.uniform(size=200) < 0.1
        t[flip] = 2 - t[flip]
        truths.append(t)
    scores = constant_scores(candidates, truths, _dice)
    assert scores.shape == (5,)
    assert scores[1] == pytest.approx(np.mean([_dice(candidates[1], t) for t in truths]))
    assert best_constant(candidates, truths, _dice) == 3 == int(np.argmax(scores))
    assert best_constant(list(map(list, candidates)), truths, _dice) == 3  # plain lists


def test_best_constant_on_anatomies_of_different_sizes(rng):
    sizes = [50, 80, 65]
    truths = [rng.choice([0, 2], size=n) for n in sizes]
    good = [t.copy() for t in truths]
    good[0][:5] = 2 - good[0][:5]
    candidates = [[rng.choice([0, 2], size=n) for n in sizes] for _ in range(3)]
    candidates.insert(2, good)  # candidate c, carried to each truth's anatomy
    assert best_constant(candidates, truths, _dice) == 2
    with pytest.raises(ValueError, match="2 maps for 3 truths"):
        best_constant([good[:2]], truths, _dice)
    with pytest.raises(ValueError, match="not finite"):
        best_constant(candidates, truths, lambda c, t: float("nan"))
