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


def model_split(settings: dict, subjects, folder="") -> dict:
    """A trained model's split (its ``settings.json``), checked against the subjects it
    is applied to: its validation and test subjects must all be there (else the error
    names the model folder, the missing subjects and the fix)."""
    split = settings.get("split") or {}
    have = set(map(str, subjects))
    for part in ("train", "validation", "test"):
        if part not in split:
            raise ValueError(f"{folder}: settings.json has no {part!r} split; train the model "
                             "with notebook 07 or 08")
    for part in ("validation", "test"):
        missing = [s for s in split[part] if s not in have]
        if missing or not split[part]:
            raise ValueError(f"{folder}: its {part} subjects {missing or '(none)'} are not in "
                             "the simulations given; pass the simulations_path the model was "
                             "trained on")
    return {k: [str(x) for x in split[k]] for k in ("train", "validation", "test")}


def case_table(samples, rows, post: dict, split: str = "test"):
    """Per case (subject x scenario): the metrics of the posterior map's most probable
    labels (:func:`~mi_lib.inverse.metrics.sample_metrics`) and its uncertainty over the
    LV region's points: mean ``entropy`` and ``mutual_information``, and the mean
    entropy over the points predicted or truly infarcted (``infarct_entropy``; NaN when
    there are none).

    Parameters
    ----------
    samples : Samples
    rows : sequence of int
        The subjects of ``post``, in its order.
    post : dict
        :func:`posterior` of those rows.
    split : str

    Returns
    -------
    pandas.DataFrame
        ``subject``, ``scenario``, ``split``, the metric columns, ``entropy``,
        ``mutual_information``, ``infarct_entropy``.
    """
    import pandas as pd

    from .metrics import lv_extent, sample_metrics

    out = []
    maps = post["probability"].argmax(-1)
    for i, row in enumerate(map(int, rows)):
        aha, xyz = samples.aha[row], samples.xyz[row]
        lv = aha > 0
        scale = lv_extent(aha, xyz)
        for j, scen in enumerate(samples.scenarios):
            truth = samples.labels[row, j]
            inf = lv & ((maps[i, j] > 0) | (truth > 0))
            h = post["entropy"][i, j]
            out.append({"subject": samples.subjects[row], "scenario": scen, "split": split,
                        **sample_metrics(maps[i, j], truth, aha, xyz, scale),
                        "entropy": float(h[lv].mean()),
                        "mutual_information": float(post["mutual_information"][i, j][lv].mean()),
                        "infarct_entropy": float(h[inf].mean()) if inf.any() else float("nan")})
    return pd.DataFrame(out)


def error_correlations(samples, rows, post: dict, cases) -> dict:
    """Whether the uncertainty means something: Spearman rank correlations of
    uncertainty with error.

    Per point (the LV region's points of every case pooled): predictive entropy and
    mutual information against the error ``1 - p(true class)``, and the entropy's AUC
    for telling misclassified points (arg-max wrong) from the others. Per case: the
    mean entropy and mutual information (``cases``, :func:`case_table`) against
    ``1 - scar_dice``.

    Returns
    -------
    dict
        ``point_entropy_rho``, ``point_mi_rho``, ``point_auc``, ``case_entropy_rho``,
        ``case_mi_rho``, ``case_infarct_entropy_rho``, ``n_points``, ``n_cases``.
    """
    import warnings

    from scipy.stats import ConstantInputWarning, spearmanr
    from sklearn.metrics import roc_auc_score

    def rho(a, b) -> float:
        with warnings.catch_warnings():   # a constant input (e.g. every Dice 0) gives NaN
            warnings.simplefilter("ignore", ConstantInputWarning)
            return float(spearmanr(a, b).statistic)

    rows = np.asarray(list(map(int, rows)))
    truth = samples.labels[rows]
    lv = np.broadcast_to((samples.aha[rows] > 0)[:, None, :], truth.shape)
    p = post["probability"]
    p_true = np.take_along_axis(p, truth[..., None], -1)[..., 0]
    err = (1.0 - p_true)[lv]
    wrong = (p.argmax(-1) != truth)[lv]
    h, mi = post["entropy"][lv], post["mutual_information"][lv]
    case_err = 1.0 - np.asarray(cases["scar_dice"], float)
    ok = np.isfinite(np.asarray(cases["infarct_entropy"], float))
    return {"point_entropy_rho": rho(h, err), "point_mi_rho": rho(mi, err),
            "point_auc": float(roc_auc_score(wrong, h)) if 0 < wrong.mean() < 1 else float("nan"),
            "case_entropy_rho": rho(cases["entropy"], case_err),
            "case_mi_rho": rho(cases["mutual_information"], case_err),
            "case_infarct_entropy_rho": rho(np.asarray(cases["infarct_entropy"], float)[ok],
                                            case_err[ok]),
            "n_points": int(lv.sum()), "n_cases": int(len(cases))}


def showcase(cases, hard=("lateral", "inferior")) -> list:
    """Cases to show (``cases``: :func:`case_table`, one row per subject x scenario in
    subject-major order): ``(title, subject position, scenario position)`` of a typical
    case (the median scar Dice), the median case of each ``hard`` location, and the
    failed one (the lowest scar Dice)."""
    subjects = list(dict.fromkeys(cases["subject"]))
    scenarios = list(dict.fromkeys(cases["scenario"]))
    dice = cases["scar_dice"].to_numpy(float)

    def at(k: int, title: str):
        row = cases.iloc[k]
        return (title, subjects.index(row.subject), scenarios.index(row.scenario))

    def median_of(mask):
        idx = np.flatnonzero(mask & np.isfinite(dice))
        return int(idx[np.argsort(dice[idx])[len(idx) // 2]]) if len(idx) else None

    out = [at(median_of(np.ones(len(cases), bool)), "typical")]
    for loc in hard:
        k = median_of(cases["scenario"].str.startswith(loc).to_numpy())
        if k is not None:
            out.append(at(k, f"hard: {loc}"))
    out.append(at(int(np.nanargmin(dice)), "failed"))
    return out


def uncertainty_dataset(samples, rows, post: dict, cases, temperature: float = 1.0,
                        attrs: dict | None = None):
    """``uncertainty.nc``'s dataset: per point the posterior probability, entropy, mutual
    information, truth and the prediction; per case the :func:`case_table` columns; the
    fitted ``temperature`` as an attribute (layout in ``data/README.md``)."""
    import xarray as xr

    rows = list(map(int, rows))
    subj = [samples.subjects[r] for r in rows]
    dims = ("subject", "scenario", "point")
    case = cases.set_index(["subject", "scenario"])
    ds = xr.Dataset(
        {"probability": (dims + ("tissue_class",), post["probability"].astype(np.float32)),
         "entropy": (dims, post["entropy"].astype(np.float32)),
         "mutual_information": (dims, post["mutual_information"].astype(np.float32)),
         "aleatoric": (dims, post["aleatoric"].astype(np.float32)),
         "prediction": (dims, post["probability"].argmax(-1).astype(np.int8)),
         "truth": (dims, samples.labels[rows].astype(np.int8)),
         "aha": (("subject", "point"), samples.aha[rows].astype(np.int8)),
         "points": (("subject", "point", "xyz"), samples.xyz[rows].astype(np.float32))},
        coords={"subject": subj, "scenario": list(samples.scenarios),
                "tissue_class": ["healthy", "border_zone", "scar"], "xyz": ["x", "y", "z"]})
    for col in [c for c in case.columns if c != "split"]:
        ds[f"case_{col}"] = (("subject", "scenario"),
                             np.array([[float(case.loc[(s, c), col]) for c in samples.scenarios]
                                       for s in subj]))
    ds["entropy"].attrs["units"] = "nat"
    ds["mutual_information"].attrs["units"] = "nat"
    ds.attrs.update({"temperature": float(temperature), **(attrs or {})})
    return ds


__all__ = ["N_BINS", "brier_score", "calibration_table", "case_table", "entropy",
           "error_correlations", "model_split", "showcase", "uncertainty_dataset",
           "expected_calibration_error", "fit_temperature", "negative_log_likelihood",
           "posterior", "posterior_summary", "reliability", "scale_temperature"]
