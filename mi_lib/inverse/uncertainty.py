"""Posterior maps and calibration of the inferred tissue (notebook 09).

The network's latent is a distribution; drawing it ``K`` times per case gives ``K``
per-point class distributions ``p_k (N, 3)`` (healthy, border zone, scar). Their mean is
the posterior predictive map; its entropy the *predictive* uncertainty, which splits into
the mean entropy of the draws (*aleatoric*: what each draw is unsure of) and the
*mutual information* between the label and the latent (*epistemic*: how much the draws
disagree; Houlsby et al. 2011, Depeweg et al. 2018):

    H[mean_k p_k] = mean_k H[p_k] + I,    I >= 0.

Calibration is measured per class, one against the rest: the expected calibration error
(ECE; Guo et al. 2017) with equal-width confidence bins, and the Brier score; temperature
scaling divides the log-probabilities by one ``T`` fitted on the validation split by
negative log-likelihood. Entropies are in nats. Methods: ``docs/inverse/uncertainty.md``.
"""

from __future__ import annotations

import numpy as np

#: equal-width confidence bins of the reliability diagrams and the ECE
N_BINS = 15
_EPS = 1e-12


def entropy(p, axis: int = -1) -> np.ndarray:
    """Shannon entropy (nats) of distributions ``p`` along ``axis`` (0 log 0 = 0)."""
    p = np.asarray(p, np.float64)
    return -np.where(p > 0, p * np.log(np.clip(p, _EPS, None)), 0.0).sum(axis=axis)


def posterior_summary(draws) -> dict:
    """Per-point summaries of ``K`` draws ``(K, ..., 3)`` of class distributions.

    Returns
    -------
    dict
        ``probability (..., 3)`` the mean distribution, ``entropy (...)`` its entropy
        (predictive), ``aleatoric (...)`` the mean entropy of the draws, and
        ``mutual_information (...)`` = entropy - aleatoric (epistemic, >= 0).
    """
    d = np.asarray(draws, np.float64)
    if d.ndim < 2 or d.shape[-1] < 2:
        raise ValueError(f"draws must be (K, ..., classes >= 2), got {d.shape}")
    mean = d.mean(axis=0)
    total = entropy(mean)
    aleatoric = entropy(d).mean(axis=0)
    return {"probability": mean, "entropy": total, "aleatoric": aleatoric,
            "mutual_information": np.maximum(total - aleatoric, 0.0)}


def posterior(model, samples, rows, k: int = 20, seed: int = 0) -> dict:
    """:func:`posterior_summary` of ``k`` draws of the latents for every scenario of the
    subjects ``rows`` (indices into ``samples``).

    Both latents (anatomy and QRS) are drawn by the model's reparameterisation
    (``sample=True``), seeded by ``seed`` without touching torch's global generator.

    Parameters
    ----------
    model : DualBranchVAE
    samples : Samples
    rows : sequence of int
    k : int
        Draws per case.
    seed : int

    Returns
    -------
    dict
        ``probability (R, C, N, 3)`` float32 and ``entropy``, ``aleatoric``,
        ``mutual_information`` ``(R, C, N)`` float32 (nats).
    """
    import torch

    from .training import SubjectCache

    if k < 2:
        raise ValueError(f"k = {k}: need at least 2 draws")
    model.eval()
    dev = next(model.parameters()).device
    cache = SubjectCache(model, samples, dev)
    n_sc, n_pt = samples.qrs.shape[1], samples.features.shape[1]
    out = {"probability": np.zeros((len(rows), n_sc, n_pt, 3), np.float32)}
    for name in ("entropy", "aleatoric", "mutual_information"):
        out[name] = np.zeros((len(rows), n_sc, n_pt), np.float32)
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(int(seed))
        for i, row in enumerate(map(int, rows)):
            geo = cache.geometry(row)
            anatomy = model.encode_anatomy(geo)
            for j in range(n_sc):
                qrs = torch.from_numpy(samples.qrs[row, j]).to(dev)[None].expand(k, -1, -1)
                res = model(geo, qrs.contiguous(), sample=True, anatomy=anatomy)
                summary = posterior_summary(res["logits"].softmax(-1).cpu().numpy())
                for name, value in summary.items():
                    out[name][i, j] = value
    return out


def _binary(prob, truth, label: int):
    prob, truth = np.asarray(prob, np.float64), np.asarray(truth)
    if prob.shape[:-1] != truth.shape:
        raise ValueError(f"probabilities {prob.shape} do not match labels {truth.shape}")
    return prob[..., label].ravel(), (truth == label).ravel().astype(np.float64)


def reliability(prob, truth, label: int, n_bins: int = N_BINS) -> dict:
    """The reliability diagram of class ``label``: points binned by their probability
    of it (``n_bins`` equal bins of [0, 1], the last closed), each bin's mean probability
    (``confidence``), observed frequency of the class (``frequency``) and ``count``
    (empty bins: NaN, 0).

    Parameters
    ----------
    prob : array (..., C)
        Class probabilities per point.
    truth : int array (...)
        True labels.
    label : int
        The class (one against the rest).
    n_bins : int
        Bins.
    """
    p, y = _binary(prob, truth, label)
    idx = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(idx, p, n_bins) / count
        freq = np.bincount(idx, y, n_bins) / count
    return {"edges": np.linspace(0.0, 1.0, n_bins + 1), "confidence": conf,
            "frequency": freq, "count": count.astype(np.int64)}


def expected_calibration_error(prob, truth, label: int, n_bins: int = N_BINS) -> float:
    """ECE of class ``label``: sum over bins of (count / total) x |frequency -
    confidence| (:func:`reliability`)."""
    r = reliability(prob, truth, label, n_bins)
    ok = r["count"] > 0
    w = r["count"][ok] / r["count"].sum()
    return float((w * np.abs(r["frequency"][ok] - r["confidence"][ok])).sum())


def brier_score(prob, truth, label: int) -> float:
    """Brier score of class ``label``: the mean of (p - 1[y = label])^2 over points."""
    p, y = _binary(prob, truth, label)
    return float(np.mean((p - y) ** 2))


def scale_temperature(prob, temperature: float) -> np.ndarray:
    """Distributions ``prob (..., C)`` with their log-probabilities divided by
    ``temperature`` and renormalised (softmax(log p / T)); T > 1 softens."""
    if not temperature > 0:
        raise ValueError(f"temperature = {temperature}: must be positive")
    logp = np.log(np.clip(np.asarray(prob, np.float64), 1e-300, None)) / float(temperature)
    logp -= logp.max(axis=-1, keepdims=True)
    e = np.exp(logp)
    return e / e.sum(axis=-1, keepdims=True)


def negative_log_likelihood(prob, truth) -> float:
    """Mean -log p(true class) over points."""
    p = np.asarray(prob, np.float64).reshape(-1, np.shape(prob)[-1])
    y = np.asarray(truth).ravel()
    return float(-np.log(np.clip(p[np.arange(len(y)), y], _EPS, None)).mean())


def fit_temperature(prob, truth, bounds=(0.05, 20.0)) -> float:
    """The temperature minimising the negative log-likelihood of ``truth`` under
    :func:`scale_temperature` of ``prob`` (bounded scalar search on log T)."""
    from scipy.optimize import minimize_scalar

    prob = np.asarray(prob, np.float64)
    truth = np.asarray(truth)
    if prob.shape[:-1] != truth.shape:
        raise ValueError(f"probabilities {prob.shape} do not match labels {truth.shape}")
    res = minimize_scalar(
        lambda s: negative_log_likelihood(scale_temperature(prob, np.exp(s)), truth),
        bounds=tuple(np.log(bounds)), method="bounded", options={"xatol": 1e-6})
    return float(np.exp(res.x))


def calibration_table(prob, truth, labels: dict, temperature: float | None = None,
                      n_bins: int = N_BINS):
    """ECE and Brier score per class, before and (with ``temperature``) after scaling.

    Parameters
    ----------
    prob : array (..., C)
    truth : int array (...)
    labels : dict
        Class index -> name (e.g. ``{2: "scar", 1: "border zone"}``).
    temperature : float, optional
    n_bins : int

    Returns
    -------
    pandas.DataFrame
        One row per class and ``scaling`` (``none``, ``temperature``): ``class``,
        ``scaling``, ``temperature``, ``ece``, ``brier``, ``n_points``.
    """
    import pandas as pd

    rows = []
    versions = [("none", 1.0, prob)]
    if temperature is not None:
        versions.append(("temperature", float(temperature),
                         scale_temperature(prob, temperature)))
    for scaling, t, p in versions:
        for label, name in labels.items():
            rows.append({"class": name, "scaling": scaling, "temperature": t,
                         "ece": expected_calibration_error(p, truth, label, n_bins),
                         "brier": brier_score(p, truth, label),
                         "n_points": int(np.asarray(truth).size)})
    return pd.DataFrame(rows)


__all__ = ["N_BINS", "brier_score", "calibration_table", "entropy",
           "expected_calibration_error", "fit_temperature", "negative_log_likelihood",
           "posterior", "posterior_summary", "reliability", "scale_temperature"]
