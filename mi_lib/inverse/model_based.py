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
#: bounds of the bounded parameters (logistic map); rt0 is periodic
BOUNDS = {"ab0": (0.05, 0.95), "r_ab": (0.05, 0.6), "r_rt": (0.03, 0.45), "r_tm": (0.2, 3.0)}
#: turns of rt0 per unit of its search coordinate
RT_TURNS = 0.125
#: the neutral start's step per coordinate (rt0's covers half a turn either way)
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
    p = {name: lo + (hi - lo) * float(_sigmoid(x[PARAMETERS.index(name)]))
         for name, (lo, hi) in BOUNDS.items()}
    p["rt0"] = float(x[1] * RT_TURNS % 1.0)
    return {k: p[k] for k in PARAMETERS}


def from_parameters(params: dict) -> np.ndarray:
    """The inverse of :func:`to_parameters` (values clipped just inside the bounds;
    rt0 taken in (-0.5, 0.5] turn)."""
    x = np.zeros(len(PARAMETERS))
    for name, (lo, hi) in BOUNDS.items():
        u = np.clip((float(params[name]) - lo) / (hi - lo), 1e-4, 1 - 1e-4)
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
    """The discrepancy of simulated QRS to one observed QRS ``observed (8, T)`` sampled
    every ``dt`` ms, both prepared as the network's input at ``settings.n_samples``."""

    def __init__(self, observed, dt: float, settings: InversionSettings):
        from .data import prepare_qrs

        self.dt, self.settings = float(dt), settings
        self.target = prepare_qrs(np.asarray(observed, float), self.dt, settings.n_samples)

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
                progress: bool = False) -> dict:
    """Fit the ellipsoidal infarct's parameters to an observed QRS on ``model``'s
    anatomy (a :class:`~mi_lib.twin.forward.TwinModel`).

    Parameters
    ----------
    model : TwinModel
        The subject's forward model.
    observed : array (8, T)
        The observed QRS, raw leads sampled every ``model.dt`` ms.
    settings : InversionSettings, optional
    start : dict, optional
        Parameters to start from (e.g. :func:`parameters_from_labels` of a network's
        prediction) with step ``settings.sigma_hybrid``; None: the neutral start (the
        middle of the bounds, rt0 = 0 with a step of half a turn).
    progress : bool

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
    disc = Discrepancy(observed, model.dt, s)
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
            if es.stop().get("tolx") or es.stop().get("tolupsigma"):
                break
    if hasattr(bar, "close"):
        bar.close()
    return {**best, "history": np.asarray(history), "n_simulations": n_sim,
            "seconds": time.perf_counter() - t0,
            "start": "neutral" if start is None else "hybrid"}


__all__ = ["BOUNDS", "DISCREPANCIES", "Discrepancy", "InversionSettings", "PARAMETERS",
           "fit_infarct", "from_parameters", "parameters_from_labels", "scenario_of",
           "to_parameters"]
