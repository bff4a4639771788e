"""Predictions of a trained model and of the two honest baselines, scored per sample.

:func:`predict` runs a :class:`~mi_lib.inverse.model.DualBranchVAE` at its latent means
(one anatomy pass per subject). :func:`nearest_neighbour_maps` answers each test QRS
with the labels of the training sample whose QRS is closest by multivariate DTW, carried
to the test anatomy through the biventricular coordinates; :func:`constant_maps` answers
every test sample with the one training label map that scores best on average, ignoring
the QRS. :func:`score` gives the per-sample metrics table of ``metrics.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .baselines import nearest_neighbour, transfer_index
from .data import Samples
from .losses import LossWeights
from .metrics import BORDER_ZONE, METRIC_COLUMNS, SCAR, lv_extent, sample_metrics
from .model import DualBranchVAE


@torch.no_grad()
def predict(model: DualBranchVAE, samples: Samples, rows, batch_size: int = 16) -> np.ndarray:
    """Class probabilities ``(len(rows), C, N, 3)`` float32 of every scenario of the
    subjects ``rows`` (indices into ``samples``), at the latent means."""
    from .training import SubjectCache

    model.eval()
    dev = next(model.parameters()).device
    cache = SubjectCache(model, samples, dev)
    n = samples.qrs.shape[1]
    out = np.zeros((len(rows), n, samples.features.shape[1], 3), np.float32)
    for i, row in enumerate(rows):
        geo = cache.geometry(int(row))
        anatomy = model.encode_anatomy(geo)
        for j in range(0, n, batch_size):
            qrs = torch.from_numpy(samples.qrs[row, j:j + batch_size]).to(dev)
            res = model(geo, qrs, sample=False, anatomy=anatomy)
            out[i, j:j + batch_size] = res["logits"].softmax(-1).cpu().numpy()
    return out


@torch.no_grad()
def predict_qrs(model: DualBranchVAE, samples: Samples, row: int, qrs) -> np.ndarray:
    """Class probabilities ``(k, N, 3)`` on the anatomy of subject ``row`` for ``k``
    prepared QRS ``(k, 8, T)`` from elsewhere (e.g. a real recording,
    :func:`~mi_lib.inverse.data.prepare_qrs`), at the latent means."""
    from .training import SubjectCache

    model.eval()
    dev = next(model.parameters()).device
    geo = SubjectCache(model, samples, dev).geometry(int(row))
    q = torch.as_tensor(np.asarray(qrs, np.float32)).to(dev)
    if q.ndim == 2:
        q = q[None]
    return model(geo, q, sample=False)["logits"].softmax(-1).cpu().numpy()


def _neighbours(samples: Samples, src_rows, dst_rows) -> dict:
    """``{(src, dst): index of the nearest src point of every dst point}``
    (:func:`~mi_lib.inverse.baselines.transfer_index`)."""
    coords = samples.features[..., 3:7]
    return {(s, d): transfer_index(coords[s], coords[d])
            for d in set(map(int, dst_rows)) for s in set(map(int, src_rows))}


def nearest_neighbour_maps(samples: Samples, train_rows, test_rows, window: int | None = None
                           ) -> tuple[np.ndarray, pd.DataFrame]:
    """Baseline (a): for every test sample, the training sample whose prepared QRS is
    nearest by multivariate DTW (:func:`~mi_lib.inverse.baselines.nearest_neighbour`),
    its label map carried to the test anatomy. Returns the maps ``(len(test_rows), C, N)``
    and a table of the matches (test subject, scenario, matched subject, scenario, DTW)."""
    c = samples.qrs.shape[1]
    train_q = samples.qrs[train_rows].reshape(-1, *samples.qrs.shape[2:])
    test_q = samples.qrs[test_rows].reshape(-1, *samples.qrs.shape[2:])
    index, dist = nearest_neighbour(test_q, train_q, window=window)
    nn = _neighbours(samples, train_rows, test_rows)
    maps = np.zeros((len(test_rows), c, samples.labels.shape[2]), samples.labels.dtype)
    rows = []
    for k, (i, d) in enumerate(zip(index, dist, strict=True)):
        t, s = divmod(k, c)
        src, scen = int(train_rows[i // c]), i % c
        dst = int(test_rows[t])
        maps[t, s] = samples.labels[src, scen][nn[(src, dst)]]
        rows.append({"subject": samples.subjects[dst], "scenario": samples.scenarios[s],
                     "match_subject": samples.subjects[src],
                     "match_scenario": samples.scenarios[scen], "dtw": float(d)})
    return maps, pd.DataFrame(rows)


def constant_maps(samples: Samples, train_rows, test_rows, label: int = SCAR
                  ) -> tuple[np.ndarray, dict]:
    """Baseline (b): the one training label map (any training subject and scenario),
    carried to each test anatomy, of highest mean Dice of ``label`` over the test samples.
    Chosen on the test samples themselves, it is an upper bound of any answer that ignores
    the QRS. Returns the maps ``(len(test_rows), C, N)`` and the choice
    (``subject``, ``scenario``, ``mean_dice``)."""
    nn = _neighbours(samples, train_rows, test_rows)
    c = samples.labels.shape[1]
    total = np.zeros((len(train_rows), c))
    for d in map(int, test_rows):
        truth = samples.labels[d] == label                         # (C_test, N)
        for i, s in enumerate(map(int, train_rows)):
            cand = samples.labels[s][:, nn[(s, d)]] == label        # (C, N)
            inter = cand.astype(np.int32) @ truth.T.astype(np.int32)  # (C, C_test)
            size = cand.sum(1)[:, None] + truth.sum(1)[None, :]
            dice = np.where(size > 0, 2 * inter / np.maximum(size, 1), 1.0)
            total[i] += dice.sum(1)
    mean = total / (len(test_rows) * c)
    i, s = np.unravel_index(int(np.argmax(mean)), mean.shape)
    src = int(train_rows[i])
    maps = np.stack([np.broadcast_to(samples.labels[src, s][nn[(src, int(d))]],
                                     (c, samples.labels.shape[2])) for d in test_rows])
    return maps, {"subject": samples.subjects[src], "scenario": samples.scenarios[s],
                  "mean_dice": float(mean[i, s])}


def score(samples: Samples, rows, maps: np.ndarray, model: str, split: str = "test",
          counts: bool = False) -> pd.DataFrame:
    """The per-sample metrics (``metrics.csv`` rows) of label maps ``(len(rows), C, N)``
    against the truth: ``model``, ``subject``, ``scenario``, ``split`` and
    :data:`~mi_lib.inverse.metrics.METRIC_COLUMNS`; with ``counts`` also the true scar
    and border-zone points (``scar_points``, ``bz_points``: a map too small for the cloud
    has none, and its Dice of 1 for an empty prediction says nothing)."""
    out = []
    for i, row in enumerate(map(int, rows)):
        aha, xyz = samples.aha[row], samples.xyz[row]
        scale = lv_extent(aha, xyz)
        for j, scen in enumerate(samples.scenarios):
            m = sample_metrics(maps[i, j], samples.labels[row, j], aha, xyz, scale)
            extra = ({"scar_points": int((samples.labels[row, j] == SCAR).sum()),
                      "bz_points": int((samples.labels[row, j] == BORDER_ZONE).sum())}
                     if counts else {})
            out.append({"model": model, "subject": samples.subjects[row], "scenario": scen,
                        "split": split, **m, **extra})
    columns = ["model", "subject", "scenario", "split", *METRIC_COLUMNS]
    return pd.DataFrame(out, columns=columns + (["scar_points", "bz_points"] if counts else []))


def lv_shares(maps, aha) -> tuple[np.ndarray, np.ndarray]:
    """Shares of the LV region's points (AHA segment > 0) labelled scar and border zone
    in label maps ``(..., N)`` on one cloud with segments ``aha (N,)``: two arrays of the
    maps' leading shape."""
    lv = np.asarray(aha) > 0
    m = np.asarray(maps)[..., lv]
    return (m == SCAR).mean(-1), (m == BORDER_ZONE).mean(-1)


@torch.no_grad()
def reconstruction_errors(model: DualBranchVAE, samples: Samples, rows,
                          gamma: float = LossWeights().dtw_gamma) -> pd.DataFrame:
    """Per sample (subject, scenario): the point-cloud reconstruction error 0.5 L_PC with
    alpha = 1 (paper §IV-E.2; NaN for a model without the cloud branch) and the QRS
    reconstruction error L_QRS (Eq. 5, soft-DTW smoothing ``gamma``, the training's
    default 0.1), at the latent means."""
    from .losses import pc_reconstruction, qrs_reconstruction
    from .training import SubjectCache

    model.eval()
    dev = next(model.parameters()).device
    cache = SubjectCache(model, samples, dev)
    out = []
    for row in map(int, rows):
        geo = cache.geometry(row)
        idx = np.arange(samples.qrs.shape[1])
        batch = cache.batch(row, idx)
        res = model(geo, batch["qrs"], sample=False)
        qrs = qrs_reconstruction(res["qrs"], batch["qrs"], gamma).cpu().numpy()
        if "coarse" in res:
            pc = 0.5 * pc_reconstruction(res["coarse"], res["dense"], batch["target_coarse"],
                                         batch["features"], 1.0).cpu().numpy()
        else:
            pc = np.full(len(idx), np.nan)
        for j in idx:
            out.append({"subject": samples.subjects[row], "scenario": samples.scenarios[j],
                        "pc_error": float(pc[j]), "qrs_error": float(qrs[j])})
    return pd.DataFrame(out)


__all__ = ["constant_maps", "lv_shares", "nearest_neighbour_maps", "predict",
           "predict_qrs", "reconstruction_errors", "score"]
