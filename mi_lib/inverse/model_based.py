"""Model-based inversion: an infarct fitted to an observed QRS through the forward model.

The infarct is the scenarios' ellipsoid in the subject's own biventricular coordinates
(paper 004 Eq. 1; :func:`~mi_lib.twin.scenarios.tissue_labels`) with five free
parameters: its centre (``ab0``, ``rt0``), its radii along the long axis and round the
circumference (``r_ab``, ``r_rt``) and its transmural radius ``r_tm`` (the scar reaches
``tm = r_tm`` at its centre: r_tm >= 1 is transmural). CMA-ES (the search of pipeline A's
personalization, :func:`~mi_lib.population.personalization.cma_strategy`) minimises the
discrepancy between the simulated and the observed QRS, both prepared as the network's
input (:func:`~mi_lib.inverse.data.prepare_qrs`) at ``n_samples`` samples: notebook 07's
QRS reconstruction term, MSE plus the soft-DTW divergence per sample
(:func:`~mi_lib.inverse.losses.qrs_reconstruction`), or MSE alone.

Each evaluation is one forward simulation on the subject's mesh (tens of ms), which is
what makes a population-based search per case affordable. The search runs from a
neutral start (the middle of the bounds, wide in ``rt0``) or from a learned prediction
(:func:`parameters_from_labels`: the hybrid). Methods: ``docs/inverse/uncertainty.md``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..population.personalization import CMASettings, cma_strategy
from ..twin.scenarios import CV_DEFAULT, SCAR, Scenario, tissue_labels

#: the fitted parameters, in the order of the search's coordinates
PARAMETERS = ("ab0", "rt0", "r_ab", "r_rt", "r_tm")
#: bounds of the bounded parameters (logistic map; the radii on a log scale); rt0 is
#: periodic. They hold every scenario of :mod:`~mi_lib.twin.scenarios`, the apical caps
#: (ab0 = 0, r_rt = 2: all round the LV) included.
BOUNDS = {"ab0": (0.0, 1.0), "r_ab": (0.05, 0.8), "r_rt": (0.03, 2.0), "r_tm": (0.2, 3.0)}
#: the parameters mapped on a log scale
LOG_SCALE = ("r_ab", "r_rt")
#: turns of rt0 per unit of its search coordinate
RT_TURNS = 0.125
#: the neutral start's step per coordinate (rt0's covers half a turn either way); the
#: start itself is the middle of every bound (ab0 = 0.5, the radii's geometric means)
NEUTRAL_STDS = (1.0, 4.0, 1.0, 1.0, 1.0)
DISCREPANCIES = ("soft_dtw", "mse")


@dataclass(frozen=True)
class InversionSettings:
    """The search (``cma``: popsize, mu, sigma0, max_generations, seed; the defaults
    here: 12 candidates, 6 retained, 30 generations), the discrepancy (``soft_dtw``:
    MSE + soft-DTW with ``gamma``, or ``mse``) on ``n_samples`` samples of the QRS
    window, the hybrid start's step ``sigma_hybrid``, and the conduction factors of
    the fitted scar and border zone ``cv_scale``."""

    cma: CMASettings = field(default_factory=lambda: CMASettings(
        popsize=12, mu=6, sigma0=1.0, max_generations=30, x0=0.0))
    discrepancy: str = "soft_dtw"
    gamma: float = 0.1
    n_samples: int = 128
    sigma_hybrid: float = 0.35
    cv_scale: tuple[float, float] = CV_DEFAULT

    def __post_init__(self):
        if self.discrepancy not in DISCREPANCIES:
            raise ValueError(f"discrepancy = {self.discrepancy!r}: one of {DISCREPANCIES}")
        if self.n_samples < 8 or self.gamma <= 0 or self.sigma_hybrid <= 0:
            raise ValueError("need n_samples >= 8, gamma > 0 and sigma_hybrid > 0")

    def to_dict(self) -> dict:
        """Plain data, for a product's attributes."""
        d = asdict(self)
        d["cv_scale"] = list(self.cv_scale)
        return d


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def to_parameters(x) -> dict:
    """Search coordinates ``x (5,)`` -> the infarct's parameters (:data:`PARAMETERS`)."""
    x = np.asarray(x, float)
    p = {}
    for name, (lo, hi) in BOUNDS.items():
        u = float(_sigmoid(x[PARAMETERS.index(name)]))
        p[name] = (float(np.exp(np.log(lo) + (np.log(hi) - np.log(lo)) * u))
                   if name in LOG_SCALE else lo + (hi - lo) * u)
    p["rt0"] = float(x[1] * RT_TURNS % 1.0)
    return {k: p[k] for k in PARAMETERS}


def from_parameters(params: dict) -> np.ndarray:
    """The inverse of :func:`to_parameters` (values clipped just inside the bounds;
    rt0 taken in (-0.5, 0.5] turn)."""
    x = np.zeros(len(PARAMETERS))
    for name, (lo, hi) in BOUNDS.items():
        v = float(params[name])
        u = ((np.log(max(v, 1e-12)) - np.log(lo)) / (np.log(hi) - np.log(lo))
             if name in LOG_SCALE else (v - lo) / (hi - lo))
        u = np.clip(u, 1e-4, 1 - 1e-4)
        x[PARAMETERS.index(name)] = np.log(u / (1 - u))
    rt = (float(params["rt0"]) + 0.5) % 1.0 - 0.5
    x[1] = rt / RT_TURNS
    return x


def scenario_of(params: dict, cv_scale=CV_DEFAULT, name: str = "fitted") -> Scenario:
    """The :class:`~mi_lib.twin.scenarios.Scenario` of fitted parameters."""
    return Scenario(name=name, location="fitted", extent="fitted",
                    cv_scar=float(cv_scale[0]), cv_bz=float(cv_scale[1]),
                    **{k: float(params[k]) for k in PARAMETERS})


def parameters_from_labels(labels, coords, label: int = SCAR) -> dict | None:
    """The ellipsoid's parameters estimated from a tissue map (e.g. a network's
    prediction) on a subject's nodes: the centre is the scar's mean ``ab`` and circular
    mean ``rt``; the radii are sqrt(5) times the scar's spread (a solid ellipsoid's
    variance along an axis is r^2 / 5); ``r_tm`` is the 95th percentile of its ``tm``
    (3, transmural, when that exceeds 0.9). None when the map has no ``label``."""
    scar = np.asarray(labels) == label
    if not scar.any():
        return None
    ab, rt, tm = (np.asarray(getattr(coords, k), float)[scar] for k in ("ab", "rt", "tm"))
    z = np.exp(2j * np.pi * rt).mean()
    rt0 = float(np.angle(z) / (2 * np.pi) % 1.0)
    d = (rt - rt0 + 0.5) % 1.0 - 0.5
    top = float(np.quantile(tm, 0.95))
    raw = {"ab0": float(ab.mean()), "rt0": rt0, "r_ab": np.sqrt(5.0) * float(ab.std()),
           "r_rt": np.sqrt(5.0) * float(np.sqrt(np.mean(d**2))),
           "r_tm": 3.0 if top > 0.9 else top}
    return {k: (float(np.clip(v, *BOUNDS[k])) if k in BOUNDS else v) for k, v in raw.items()}


class Discrepancy:
    """The discrepancy of simulated QRS (sampled every ``dt`` ms) to one observed QRS
    ``observed (8, T)`` (sampled every ``observed_dt`` ms, default ``dt``), both prepared
    as the network's input at ``settings.n_samples``."""

    def __init__(self, observed, dt: float, settings: InversionSettings,
                 observed_dt: float | None = None):
        from .data import prepare_qrs

        self.dt, self.settings = float(dt), settings
        self.target = prepare_qrs(np.asarray(observed, float),
                                  self.dt if observed_dt is None else float(observed_dt),
                                  settings.n_samples)

    def prepare(self, qrs) -> np.ndarray:
        """Raw leads ``(8, T)`` -> the prepared ``(8, n_samples)``."""
        from .data import prepare_qrs

        return prepare_qrs(np.asarray(qrs, float), self.dt, self.settings.n_samples)

    def __call__(self, prepared) -> np.ndarray:
        """Discrepancy ``(k,)`` of ``k`` prepared QRS ``(k, 8, n_samples)``."""
        import torch

        from .losses import qrs_reconstruction

        pred = torch.as_tensor(np.asarray(prepared, np.float32))
        target = torch.as_tensor(self.target)[None].expand_as(pred)
        with torch.no_grad():
            if self.settings.discrepancy == "mse":
                d = ((pred - target) ** 2).mean(dim=(1, 2))
            else:
                d = qrs_reconstruction(pred, target, self.settings.gamma)
        return d.double().numpy()


def fit_infarct(model, observed, settings: InversionSettings | None = None, start=None,
                progress: bool = False, observed_dt: float | None = None) -> dict:
    """Fit the ellipsoidal infarct's parameters to an observed QRS on ``model``'s
    anatomy (a :class:`~mi_lib.twin.forward.TwinModel`).

    Parameters
    ----------
    model : TwinModel
        The subject's forward model.
    observed : array (8, T)
        The observed QRS, raw leads sampled every ``observed_dt`` ms (a simulation's
        ``model.dt`` when that is None).
    settings : InversionSettings, optional
    start : dict, optional
        Parameters to start from (e.g. :func:`parameters_from_labels` of a network's
        prediction) with step ``settings.sigma_hybrid``; None: the neutral start (the
        middle of the bounds, rt0 = 0 with a step of half a turn).
    progress : bool
    observed_dt : float, optional

    Returns
    -------
    dict
        ``parameters`` (the best candidate's), ``labels (n_nodes,)`` int8, ``qrs (8, T)``
        its simulation, ``discrepancy`` (its value), ``history`` (best discrepancy per
        generation), ``n_simulations``, ``seconds``, ``start`` (``neutral`` or
        ``hybrid``).
    """
    from threadpoolctl import threadpool_limits

    from mi_lib.core.config import progress_bar

    s = settings or InversionSettings()
    disc = Discrepancy(observed, model.dt, s, observed_dt)
    if start is None:
        es = cma_strategy(len(PARAMETERS), s.cma, x0=np.zeros(len(PARAMETERS)),
                          stds=NEUTRAL_STDS)
    else:
        c = s.cma
        hybrid = CMASettings(**{**asdict(c), "sigma0": s.sigma_hybrid})
        es = cma_strategy(len(PARAMETERS), hybrid, x0=from_parameters(start))
    best = {"discrepancy": np.inf}
    history, n_sim = [], 0
    t0 = time.perf_counter()
    bar = progress_bar(range(s.cma.max_generations), total=s.cma.max_generations,
                       desc="model-based inversion", enabled=progress)
    with threadpool_limits(limits=1):
        for _ in bar:
            xs = np.asarray(es.ask())
            sims = []
            for x in xs:
                labels = tissue_labels(model.coords, scenario_of(to_parameters(x), s.cv_scale))
                sims.append((labels, model.simulate_tissue(labels, s.cv_scale)["qrs"]))
            n_sim += len(xs)
            d = disc(np.stack([disc.prepare(q) for _, q in sims]))
            es.tell(list(xs), d.tolist())
            k = int(np.argmin(d))
            if d[k] < best["discrepancy"]:
                best = {"discrepancy": float(d[k]), "parameters": to_parameters(xs[k]),
                        "labels": sims[k][0], "qrs": sims[k][1]}
            history.append(best["discrepancy"])
            stop = es.stop()
            if stop.get("tolx") or stop.get("tolupsigma"):
                break
    if hasattr(bar, "close"):
        bar.close()
    return {**best, "history": np.asarray(history), "n_simulations": n_sim,
            "seconds": time.perf_counter() - t0,
            "start": "neutral" if start is None else "hybrid"}


def pick_cases(rows, n_scenarios: int, n: int, seed: int = 0) -> list:
    """``n`` test cases ``(row, scenario index)`` spread over the scenarios: the
    scenarios in a seeded order, cycled, each with a test subject drawn at random;
    no case twice (at most ``len(rows) x n_scenarios``)."""
    rng = np.random.default_rng(seed)
    rows = list(map(int, rows))
    n = min(int(n), len(rows) * int(n_scenarios))
    order, out = rng.permutation(int(n_scenarios)), []
    k = 0
    while len(out) < n:
        j = int(order[k % n_scenarios])
        free = [r for r in rows if (r, j) not in out]
        if free:
            out.append((int(rng.choice(free)), j))
        k += 1
    return out


def profile_inversion(scale: dict, seed: int = 0) -> InversionSettings:
    """The inversion's settings from a profile's ``uncertainty`` settings (``popsize``,
    ``mu``, ``max_generations``, ``n_samples``)."""
    return InversionSettings(
        cma=CMASettings(popsize=int(scale["popsize"]), mu=int(scale["mu"]), sigma0=1.0,
                        x0=0.0, max_generations=int(scale["max_generations"]), seed=int(seed)),
        n_samples=int(scale["n_samples"]))


def real_recording(network, samples, specs, leads, dt: float, settings: InversionSettings,
                   model_options=None, n_draws: int = 20, seed: int = 0,
                   window_ms: float | None = None, novelty=None):
    """A real recording ``leads (8, T)`` (sampled every ``dt`` ms) read on each source
    heart of ``samples`` (the ``_000`` subjects) by the network's posterior
    (:func:`~mi_lib.inverse.uncertainty.posterior`) and by the model-based fit from the
    neutral start, beside the healthy heart's own discrepancy to it; with ``novelty`` (a
    :class:`~mi_lib.inverse.novelty.Novelty`), how far the recording's QRS lies from the
    training set's.

    Returns
    -------
    pandas.DataFrame
        One column per heart: the network's scar share of the LV (arg-max), mean P(scar),
        mean entropy and mutual information over the LV; the fit's scar share of the LV
        (nodes), its discrepancy and seconds; the healthy heart's discrepancy; with
        ``novelty``, the QRS's novelty percentile and whether it is flagged (one QRS:
        the same on every heart).
    """
    from dataclasses import replace

    import pandas as pd

    from ..twin.scenarios import SCENARIOS
    from ..twin.virtual_cohort import subject_model
    from .data import QRS_WINDOW_MS, prepare_qrs
    from .uncertainty import posterior

    qrs = prepare_qrs(leads, dt, samples.qrs.shape[-1], window_ms or QRS_WINDOW_MS)
    by_name = {s.name: s for s in specs}
    healthy = next(s for s in SCENARIOS if s.healthy)
    out = {}
    for row in [i for i, s in enumerate(samples.subjects) if s.endswith("_000")]:
        name = samples.subjects[row]
        one = replace(samples.subset([name]), scenarios=["real ECG"], qrs=qrs[None, None],
                      labels=np.zeros((1, 1, samples.labels.shape[-1]), np.int64),
                      raw_qrs=None)
        p = posterior(network, one, [0], k=n_draws, seed=seed)
        lv = samples.aha[row] > 0
        twin = subject_model(by_name[name], model_options)
        fit = fit_infarct(twin, leads, settings, observed_dt=dt)
        disc = Discrepancy(leads, twin.dt, settings, observed_dt=dt)
        none = float(disc(disc.prepare(twin.simulate(healthy)["qrs"])[None])[0])
        prob = p["probability"][0, 0][lv]
        out[name] = {"network: scar share of LV": float((prob.argmax(-1) == SCAR).mean()),
                     "network: mean P(scar) on LV": float(prob[:, SCAR].mean()),
                     "network: mean LV entropy": float(p["entropy"][0, 0][lv].mean()),
                     "network: mean LV MI": float(p["mutual_information"][0, 0][lv].mean()),
                     "model-based: scar share of LV":
                         float((fit["labels"][twin.coords.lv] == SCAR).mean()),
                     "model-based: discrepancy": fit["discrepancy"],
                     "model-based: seconds": fit["seconds"],
                     "healthy heart: discrepancy": none}
        if novelty is not None:
            d = novelty.distance(qrs[None])
            out[name]["novelty: percentile"] = float(novelty.percentile_of(d)[0])
            out[name]["novelty: flagged"] = float(d[0] > novelty.threshold)
    return pd.DataFrame(out)


def noise_floor(observed, dt: float, settings: InversionSettings, snr_db: float = 20.0,
                seed: int = 0) -> float:
    """The discrepancy between a QRS and itself with noise at ``snr_db``
    (:func:`~mi_lib.inverse.perturbations.add_noise`): fits closer than this explain the
    QRS as well as the truth does, up to a recording's noise."""
    from .perturbations import add_noise

    disc = Discrepancy(observed, dt, settings)
    noisy = add_noise(np.asarray(observed, float), snr_db, seed)
    return float(disc(disc.prepare(noisy)[None])[0])


def study_cases(simulations, specs, samples, cases, vae_maps, settings: InversionSettings,
                model_options=None, vae_seconds: float = float("nan"),
                progress: bool = False, n_jobs: int = 1):
    """The model-based inversion from the neutral start and from the network's
    prediction (hybrid), beside the network, on test cases of a simulations product.

    Parameters
    ----------
    simulations : xarray.Dataset
        The product (``qrs``, ``dense_index``).
    specs : list of SubjectSpec
        Its subjects (:func:`~mi_lib.twin.products.subject_specs`).
    samples : Samples
        Its learning samples (the cloud points on which every map is scored).
    cases : list of (row, scenario index)
    vae_maps : dict
        (row, scenario index) -> the network's predicted labels on the cloud.
    settings : InversionSettings
    model_options : dict, optional
        The forward model's options (the product's).
    vae_seconds : float
        The network's seconds per case (reported in its rows).
    progress : bool
    n_jobs : int
        Subjects inverted at a time (joblib processes, one thread each); the results do
        not depend on it.

    Returns
    -------
    (pandas.DataFrame, dict)
        One row per case and ``method`` (``vae``, ``model_based``, ``hybrid``), in the
        order of ``cases``: subject, scenario, the metric columns, ``discrepancy`` (of the
        method's map's simulated QRS; the network's map is simulated for it),
        ``noise_floor`` (20 dB), ``seconds``, ``n_simulations`` and the fitted parameters;
        and (row, scenario index, method) -> cloud labels.
    """
    import pandas as pd
    from joblib import Parallel, delayed

    from ..core.config import progress_bar

    by_name = {sp.name: sp for sp in specs}
    n = samples.features.shape[1]
    groups: dict = {}
    for row, j in map(tuple, cases):
        name, scen = samples.subjects[row], samples.scenarios[j]
        sub = simulations.sel(subject=name, scenario=scen)
        groups.setdefault(name, []).append({
            "row": int(row), "j": int(j), "subject": name, "scenario": scen,
            "observed": np.asarray(sub.qrs.values, float),
            "index": np.asarray(sub.dense_index.values[:n], int),
            "cloud": np.asarray(simulations.sel(subject=name).pc_dense.values[:n, 3:6], float),
            "truth": samples.labels[row, j], "aha": samples.aha[row], "xyz": samples.xyz[row],
            "vae": np.asarray(vae_maps[(row, j)])})
    args = [(by_name[name], model_options, settings, items, vae_seconds)
            for name, items in groups.items()]
    if int(n_jobs) != 1:
        parts = Parallel(n_jobs=int(n_jobs))(delayed(_study_subject)(*a) for a in args)
    else:
        parts = [_study_subject(*a) for a in progress_bar(args, desc="model-based",
                                                            enabled=progress)]
    done = {key: value for part in parts for key, value in part.items()}
    rows_out, maps = [], {}
    for row, j in map(tuple, cases):
        rows, labels = done[(int(row), int(j))]
        rows_out.extend(rows)
        maps.update({(int(row), int(j), m): v for m, v in labels.items()})
    return pd.DataFrame(rows_out), maps


def _study_subject(spec, model_options, settings: InversionSettings, items: list,
                   vae_seconds: float) -> dict:
    """:func:`study_cases`' worker: one subject's cases, one thread. Returns (row,
    scenario index) -> (table rows, method -> cloud labels)."""
    from threadpoolctl import threadpool_limits

    from ..twin.virtual_cohort import subject_model
    from .metrics import lv_extent, sample_metrics

    out = {}
    with threadpool_limits(limits=1):
        model = subject_model(spec, model_options)
        for it in items:
            row, j = it["row"], it["j"]
            cloud, truth, aha, xyz = it["cloud"], it["truth"], it["aha"], it["xyz"]
            coords = type("CloudCoords", (), {"tm": cloud[:, 0], "ab": cloud[:, 1],
                                              "rt": cloud[:, 2]})
            scale = lv_extent(aha, xyz)
            observed = it["observed"]
            floor = noise_floor(observed, model.dt, settings, seed=row * 100 + j)
            disc = Discrepancy(observed, model.dt, settings)
            vae = it["vae"]
            # the network's answer simulated: how well its map explains the QRS
            vae_nodes = _nodes_from_cloud(model, it["index"], vae)
            vae_disc = float(disc(disc.prepare(model.simulate_tissue(
                vae_nodes, settings.cv_scale)["qrs"])[None])[0])
            base = {"subject": it["subject"], "scenario": it["scenario"], "noise_floor": floor}
            rows = [{**base, "method": "vae", **sample_metrics(vae, truth, aha, xyz, scale),
                     "discrepancy": vae_disc, "seconds": vae_seconds, "n_simulations": 0}]
            labels_of = {"vae": vae}
            start = parameters_from_labels(vae, coords)
            for method, begin in (("model_based", None), ("hybrid", start)):
                if method == "hybrid" and begin is None:
                    continue          # the network found no scar: nothing to start from
                fit = fit_infarct(model, observed, settings, start=begin)
                labels = fit["labels"][it["index"]]
                labels_of[method] = labels
                rows.append({**base, "method": method,
                             **sample_metrics(labels, truth, aha, xyz, scale),
                             "discrepancy": fit["discrepancy"], "seconds": fit["seconds"],
                             "n_simulations": fit["n_simulations"], **fit["parameters"]})
            out[(row, j)] = (rows, labels_of)
    return out


def _nodes_from_cloud(model, index, cloud_labels) -> np.ndarray:
    """Cloud labels carried to every node of ``model`` (each node takes its nearest cloud
    point's label; ``index``: the cloud points' nodes), the LV region only."""
    from scipy.spatial import cKDTree

    pts = model.anatomy.points
    _, near = cKDTree(pts[index]).query(pts)
    labels = np.asarray(cloud_labels, np.int8)[near]
    labels[~np.asarray(model.coords.lv)] = 0
    return labels


def non_identifiable(table, dice_below: float = 0.5):
    """Per method: the share of cases whose fitted map explains the QRS within the
    noise floor (``discrepancy <= noise_floor``) yet overlaps the truth little (scar
    Dice < ``dice_below``) -- infarcts elsewhere that the QRS cannot tell from the true
    one; and the shares explained and wrong separately."""
    import pandas as pd

    out = {}
    for method, g in table.groupby("method"):
        explains = g["discrepancy"] <= g["noise_floor"]
        wrong = g["scar_dice"] < dice_below
        out[method] = {"cases": len(g), "explains the QRS": float(explains.mean()),
                       f"scar Dice < {dice_below}": float(wrong.mean()),
                       "explains it yet wrong": float((explains & wrong).mean())}
    return pd.DataFrame(out).T


__all__ = ["BOUNDS", "DISCREPANCIES", "Discrepancy", "InversionSettings", "PARAMETERS",
           "fit_infarct", "from_parameters", "noise_floor", "non_identifiable", "pick_cases",
           "profile_inversion", "real_recording",
           "study_cases", "parameters_from_labels", "scenario_of",
           "to_parameters"]
