"""Honest baselines of paper 004's model: answers that need no learning.

:func:`transfer_labels` carries label maps between anatomies through the biventricular
coordinates (nearest neighbour in :func:`coordinate_embedding`). The QRS nearest
neighbour (:func:`nearest_neighbour`, by multivariate DTW, :func:`qrs_distances`) answers
a test QRS with the map of the closest training QRS, carried to the test anatomy; the best
constant (:func:`best_constant`) answers every QRS with one map, ignoring the QRS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from dtaidistance import dtw_ndim
from scipy.spatial import cKDTree

#: radius of the rt circle: a small rt step is the same step in Euclidean distance
RT_RADIUS = 1.0 / (2.0 * np.pi)
#: weight of tv: LV and RV points lie this far apart, more than any two points of one
#: ventricle (at most sqrt(2 + (2 RT_RADIUS)^2) ~ 1.45), so nearest neighbours never mix them
TV_WEIGHT = 10.0


def coordinate_embedding(coords) -> np.ndarray:
    """Points in which Euclidean nearest neighbours respect the periodic rt.

    ``coords (n, 4)`` = (tm, ab, rt, tv) become (tm, ab, R cos 2 pi rt, R sin 2 pi rt,
    W tv) with R = :data:`RT_RADIUS` = 1 / (2 pi), so that rt and rt + d lie 2 R sin(pi d)
    ~ d apart (rt 0 and 1 coincide), and W = :data:`TV_WEIGHT`, larger than any distance
    within one ventricle: an LV point's nearest neighbour is an LV point whenever there
    is one.

    Parameters
    ----------
    coords : (n, 4) float array
        tm, ab, rt in [0, 1]; tv 0 (LV) or 1 (RV).

    Returns
    -------
    (n, 5) float array
    """
    coords = np.asarray(coords, np.float64)
    if coords.ndim != 2 or coords.shape[1] != 4:
        raise ValueError(f"coords must be (n, 4) = (tm, ab, rt, tv), got shape {coords.shape}")
    tm, ab, rt, tv = coords.T
    if not np.isin(tv, (0.0, 1.0)).all():
        raise ValueError("tv must be 0 (LV) or 1 (RV) at every point")
    angle = 2.0 * np.pi * rt
    return np.c_[tm, ab, RT_RADIUS * np.cos(angle), RT_RADIUS * np.sin(angle), TV_WEIGHT * tv]


def transfer_index(src_coords, dst_coords) -> np.ndarray:
    """For every destination point, the index of the source point nearest to it in
    :func:`coordinate_embedding` (:class:`scipy.spatial.cKDTree`): the correspondence
    :func:`transfer_labels` carries maps by, to compute once per pair of anatomies.

    Parameters
    ----------
    src_coords : (n_src, 4) float array
        Source (tm, ab, rt, tv).
    dst_coords : (n_dst, 4) float array
        Destination (tm, ab, rt, tv).

    Returns
    -------
    (n_dst,) int array
    """
    src = coordinate_embedding(src_coords)
    if len(src) == 0:
        raise ValueError("the source anatomy has no point to take labels from")
    return cKDTree(src).query(coordinate_embedding(dst_coords), k=1)[1]


def transfer_labels(src_coords, src_labels, dst_coords) -> np.ndarray:
    """Label maps of one anatomy carried to another through the coordinates.

    Every destination point takes the label of the source point nearest to it in
    :func:`coordinate_embedding` (:class:`scipy.spatial.cKDTree`); LV points take LV
    labels, RV points RV labels.

    Parameters
    ----------
    src_coords : (n_src, 4) float array
        Source (tm, ab, rt, tv).
    src_labels : (n_src,) or (k, n_src) array
        One map, or ``k`` maps carried at once.
    dst_coords : (n_dst, 4) float array
        Destination (tm, ab, rt, tv).

    Returns
    -------
    (n_dst,) or (k, n_dst) array
        The maps on the destination points, of ``src_labels``'s dtype.
    """
    n_src = len(np.asarray(src_coords))
    src_labels = np.asarray(src_labels)
    if src_labels.ndim not in (1, 2) or src_labels.shape[-1] != n_src:
        raise ValueError(f"src_labels must be (n_src,) or (k, n_src) with n_src = {n_src}, "
                         f"got shape {src_labels.shape}")
    return src_labels[..., transfer_index(src_coords, dst_coords)]


def _series(qrs, name: str) -> list[np.ndarray]:
    qrs = np.asarray(qrs, np.float64)
    if qrs.ndim == 2:
        qrs = qrs[None]
    if qrs.ndim != 3 or qrs.shape[2] < 1:
        raise ValueError(f"{name} must be (n, leads, T) (or one (leads, T)), got shape "
                         f"{qrs.shape}")
    return [np.ascontiguousarray(q.T) for q in qrs]  # (T, leads) each


def qrs_distances(test_qrs, train_qrs, window: int | None = None) -> np.ndarray:
    """Multivariate DTW distance of every test QRS to every training QRS.

    The warping aligns time; each time step is the vector of the leads, the step cost the
    squared Euclidean distance between two such vectors, and the distance the square
    root of the least accumulated cost (dependent DTW,
    :func:`dtaidistance.dtw_ndim.distance_matrix_fast`, only the test x train block).

    Parameters
    ----------
    test_qrs : (n_test, leads, T) float array
        Test QRS (one ``(leads, T)`` is taken as ``n_test = 1``).
    train_qrs : (n_train, leads, T') float array
        Training QRS, the same leads.
    window : int, optional
        Sakoe-Chiba band in samples, dtaidistance's: steps ``(i, j)`` with
        ``|i - j| < window`` (widened by the length difference), so 1 allows no warping;
        None (default): no band.

    Returns
    -------
    (n_test, n_train) float array
    """
    test, train = _series(test_qrs, "test_qrs"), _series(train_qrs, "train_qrs")
    leads = {s.shape[1] for s in test + train}
    if len(leads) > 1:
        raise ValueError(f"test and training QRS must have the same leads, got {sorted(leads)}")
    if window is not None and int(window) < 1:
        raise ValueError(f"window must be a number of samples >= 1 or None, got {window}")
    n_test, n_train = len(test), len(train)
    if n_test == 0 or n_train == 0:
        return np.zeros((n_test, n_train))
    block = ((0, n_test), (n_test, n_test + n_train))  # test rows x train columns: all r < c
    flat = dtw_ndim.distance_matrix_fast(test + train, window=None if window is None
                                         else int(window), block=block, compact=True)
    return np.asarray(flat, np.float64).reshape(n_test, n_train)


def nearest_neighbour(test_qrs, train_qrs, window: int | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The training QRS closest to every test QRS by :func:`qrs_distances`.

    Parameters
    ----------
    test_qrs : (n_test, leads, T) float array
        Test QRS.
    train_qrs : (n_train, leads, T') float array
        Training QRS (at least one).
    window : int, optional
        Sakoe-Chiba band of :func:`qrs_distances`; None (default): no band.

    Returns
    -------
    index : (n_test,) int array
        The nearest training QRS (the first on a tie).
    distance : (n_test,) float array
        Its DTW distance.
    """
    d = qrs_distances(test_qrs, train_qrs, window=window)
    if d.shape[1] == 0:
        raise ValueError("no training QRS to take a nearest neighbour from")
    index = np.argmin(d, axis=1)
    return index, d[np.arange(len(d)), index]


def _is_one_map(candidate) -> bool:
    """A candidate shared by every truth (one flat map) rather than one map per truth."""
    if isinstance(candidate, np.ndarray):
        return candidate.ndim == 1
    return len(candidate) > 0 and all(np.ndim(v) == 0 for v in candidate)


def constant_scores(candidate_maps, truths: Sequence, score: Callable) -> np.ndarray:
    """Mean of ``score(candidate, truth)`` over the truths, for every candidate map.

    Parameters
    ----------
    candidate_maps : (k, n) array or sequence
        Candidate ``c`` is either one map (compared with every truth, all on one anatomy)
        or a sequence of ``len(truths)`` maps, ``candidate_maps[c][t]`` being candidate
        ``c`` carried to truth ``t``'s anatomy (:func:`transfer_labels`).
    truths : sequence of (n_t,) arrays
        The true maps.
    score : callable
        ``score(candidate, truth) -> float``, larger is better (e.g. a Dice of
        :func:`~mi_lib.inverse.metrics.segmentation_scores`).

    Returns
    -------
    (k,) float array
    """
    truths = list(truths)
    if not truths:
        raise ValueError("no truths to score the candidates on")
    out = np.empty(len(candidate_maps))
    for c, candidate in enumerate(candidate_maps):
        if _is_one_map(candidate):
            per_truth = [candidate] * len(truths)
        else:
            per_truth = list(candidate)
            if len(per_truth) != len(truths):
                raise ValueError(f"candidate {c} has {len(per_truth)} maps for {len(truths)} "
                                 f"truths: give one map, or one per truth")
        out[c] = np.mean([float(score(np.asarray(m), np.asarray(t)))
                          for m, t in zip(per_truth, truths, strict=True)])
    return out


def best_constant(candidate_maps, truths: Sequence, score: Callable) -> int:
    """Index of the candidate map with the best mean ``score`` over the truths.

    The best-constant baseline answers every QRS with this one map. Chosen on the test
    truths it favours the baseline: it is then the best any one of the candidates scores
    as a QRS-blind answer, an upper bound on a constant chosen honestly (on training
    truths). Candidates as :func:`constant_scores`'s; the first on a tie.

    Parameters
    ----------
    candidate_maps : (k, n) array or sequence
        One map per candidate, or per candidate one map per truth.
    truths : sequence of (n_t,) arrays
        The true maps.
    score : callable
        ``score(candidate, truth) -> float``, larger is better.

    Returns
    -------
    int
    """
    means = constant_scores(candidate_maps, truths, score)
    if len(means) == 0:
        raise ValueError("no candidate maps to choose from")
    if not np.isfinite(means).all():
        raise ValueError(f"score is not finite for candidate(s) "
                         f"{np.flatnonzero(~np.isfinite(means)).tolist()}")
    return int(np.argmax(means))
