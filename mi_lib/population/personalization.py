"""Population-based personalization of a stochastic infarct model with CMA-ES
(paper 000, §2.3 and §3.1).

CMA-ES (the ``cma`` package) searches the model's unconstrained parameters ``x``; each
candidate's energy compares ``n_synthetic`` infarcts drawn from the model at
``theta = model.physical(x)`` with the real population, by KL divergence (the paper) or
squared MMD (:mod:`mi_lib.population.divergence`). The candidates of a generation share
one draw (common random numbers), the answer is the search distribution's mean, and the
stopping tests are noise-aware (:func:`stagnation`).

The method and its settings: ``docs/population/personalization.md``.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from .divergence import knn_bandwidth_from_sqdist, mmd2_within
from .models import InfarctModel, make_model
from .models import _kernels as kernels

DIVERGENCES = ("kl", "mmd")


@dataclass(frozen=True)
class CMASettings:
    """CMA-ES and stopping settings; the defaults are the paper's (§3.1).

    Attributes
    ----------
    popsize, mu : candidates per generation and how many are retained (100, 15).
    x0, sigma0 : initial mean (every coordinate) and step size; the initial covariance
        is the identity.
    max_generations : generation limit (500).
    energy_threshold : stop when the energy at the mean, averaged over the last
        ``energy_window`` generations, falls below it (0.004); ``None`` disables it.
    n_synthetic : synthetic samples per candidate (100).
    window, tol_mean, tol_cov : stagnation test, see :func:`stagnation`.
    n_final : fresh draws on which the final mean's energy is re-estimated.
    n_neighbors : neighbours of the kernel bandwidth rule.
    seed : seeds CMA-ES and the model's draws.
    """

    popsize: int = 100
    mu: int = 15
    x0: float = 2.0
    sigma0: float = 1.0
    max_generations: int = 500
    energy_threshold: float | None = 0.004
    energy_window: int = 5
    n_synthetic: int = 100
    window: int = 40
    tol_mean: float = 0.5
    tol_cov: float = 0.25
    n_final: int = 20
    n_neighbors: int = 10
    seed: int = 0

    def __post_init__(self):
        if not 1 <= self.mu < self.popsize:
            raise ValueError(f"need 1 <= mu < popsize, got mu={self.mu}, popsize={self.popsize}")
        if self.n_synthetic < 2 or self.max_generations < 1 or self.window < 3:
            raise ValueError("need n_synthetic >= 2, max_generations >= 1 and window >= 3")

    def attrs(self) -> dict:
        """The settings as netCDF attributes ``cma_*`` (``None`` written as ``"none"``)."""
        return {f"cma_{k}": ("none" if v is None else v) for k, v in asdict(self).items()}


class Energy:
    """Divergence between a model's samples and a real population, for candidate batches.

    Parameters
    ----------
    model : InfarctModel
    real : bool array (q, n_voxels)
        Real infarcts on ``model.domain`` (:meth:`Domain.real_samples`).
    divergence : ``"kl"`` or ``"mmd"``
    n_neighbors : int
        Bandwidth rule (see :mod:`mi_lib.population.divergence`): KL uses each candidate's own
        synthetic-to-real 10-NN distance; MMD a fixed bandwidth, the real population's
        own 10-NN distance.
    """

    def __init__(self, model: InfarctModel, real: np.ndarray, divergence: str = "kl",
                 n_neighbors: int = 10):
        if divergence not in DIVERGENCES:
            raise ValueError(f"unknown divergence {divergence!r}: choose one of {DIVERGENCES}")
        real = np.asarray(real, bool)
        if real.ndim != 2 or real.shape[1] != model.domain.n_voxels:
            raise ValueError(f"real samples must be (subjects, {model.domain.n_voxels}) voxels "
                             f"of the model's domain, got {real.shape}")
        if len(real) < 2:
            raise ValueError("the real population needs at least 2 subjects")
        self.model = model
        self.divergence = divergence
        self.n_neighbors = n_neighbors
        self.real = model.domain.pack(real)
        d_qq = kernels.sqdist_cross(self.real, self.real)
        self.real_bandwidth = knn_bandwidth_from_sqdist(d_qq, n_neighbors)
        self.k_qq = mmd2_within(d_qq, self.real_bandwidth)

    def of_bits(self, bits: np.ndarray) -> np.ndarray:
        """Energies of packed synthetic batches ``(K, S, n_words)``."""
        k, s, _ = bits.shape
        # only words where some image has a set bit contribute to any distance
        active = np.flatnonzero(np.bitwise_or.reduce(bits.reshape(k * s, -1), axis=0)
                                | np.bitwise_or.reduce(self.real, axis=0))
        if len(active) < bits.shape[-1]:
            bits = np.ascontiguousarray(bits[..., active])
            real = np.ascontiguousarray(self.real[:, active])
        else:
            real = self.real
        d_pp = kernels.sqdist_within(bits)
        d_pq = kernels.sqdist_cross(bits.reshape(k * s, -1), real).reshape(k, s, -1)
        if self.divergence == "kl":
            return kernels.kl_energy(d_pp, d_pq, self.n_neighbors)
        return kernels.mmd2_energy(d_pp, d_pq, self.k_qq, self.real_bandwidth)

    def __call__(self, theta: np.ndarray, draws: dict) -> np.ndarray:
        """Energies ``(K,)`` of physical parameters ``theta (K, m)`` on shared ``draws``."""
        return self.of_bits(self.model.generate(np.atleast_2d(theta), draws))

    def replicates(self, theta: np.ndarray, n_replicates: int, n_synthetic: int,
                   seed) -> np.ndarray:
        """Energies of one parameter vector ``theta (m,)`` on ``n_replicates`` fresh draws;
        draw ``r`` is seeded by ``[*seed, r]`` (``seed`` an int or a sequence of ints)."""
        theta = np.atleast_2d(np.asarray(theta, float))
        key = [int(k) for k in np.atleast_1d(seed)]
        return np.array([self(theta, self.model.draw(n_synthetic,
                                                     np.random.default_rng([*key, r])))[0]
                         for r in range(n_replicates)])


def stagnation(means: np.ndarray, covariances: np.ndarray) -> tuple[np.ndarray, float]:
    """Drift of the search distribution over a window of generations.

    Parameters
    ----------
    means : (W, m) search means, covariances : (W, m, m) ``sigma^2 C``.

    Returns
    -------
    mean_drift : (m,)
        The least-squares linear trend of each mean coordinate over the window
        (slope x W), in units of that coordinate's search standard deviation (root of the
        covariance diagonal, averaged over the window).
    cov_drift : float
        The trend of log(trace of the covariance) over the window (slope x W): the
        covariance grew or shrank by a factor ``exp(cov_drift)``.

    The search has stopped evolving when ``max |mean_drift| < tol_mean`` and
    ``|cov_drift| < log(1 + tol_cov)``: on a noisy energy the mean keeps fluctuating,
    but it no longer travels, and the covariance no longer grows or shrinks.
    """
    w = len(means)
    g = np.arange(w) - (w - 1) / 2
    gg = float(g @ g)
    slope = g @ (means - means.mean(0)) / gg
    std = np.sqrt(np.mean(np.diagonal(covariances, axis1=1, axis2=2), axis=0))
    log_trace = np.log(np.trace(covariances, axis1=1, axis2=2))
    cov_slope = g @ (log_trace - log_trace.mean()) / gg
    return slope * w / std, float(cov_slope * w)


@dataclass
class Result:
    """The outcome of :func:`personalize` (see :meth:`to_dataset`)."""

    model: InfarctModel
    divergence: str
    settings: CMASettings
    history: dict
    final_x: np.ndarray
    final_energy: np.ndarray
    stop_reason: str
    seconds: float

    @property
    def final_theta(self) -> np.ndarray:
        return self.model.physical(self.final_x)

    @property
    def n_generations(self) -> int:
        return len(self.history["sigma"])

    def samples(self, n: int = 100, seed: int | None = None) -> np.ndarray:
        """``n`` synthetic infarcts (boolean voxels) at the final parameters."""
        seed = self.settings.seed + 7919 if seed is None else seed
        return self.model.sample(self.final_theta, n, np.random.default_rng(seed))

    def to_dataset(self, population=None, n_samples: int = 100):
        """The personalization as an xarray dataset (``personalization_*.nc``).

        With ``population`` (the dataset of the real population) the ``samples`` are
        written on the same ``(slice, y, x)`` grid, slices restricted to the domain's.
        """
        import xarray as xr

        h = self.history
        names = self.model.parameter_names
        params = self.model.parameters()
        dom = self.model.domain
        gen = np.arange(self.n_generations)
        samples = dom.images(self.samples(n_samples)).astype(np.uint8)
        coords = {"generation": gen, "param": names, "param_": names,
                  "sample": np.arange(n_samples), "replicate": np.arange(len(self.final_energy)),
                  "slice": dom.slices}
        if population is not None:
            coords["y"], coords["x"] = population["y"].values, population["x"].values
        ds = xr.Dataset(
            {
                "energy_best": ("generation", h["energy_best"]),
                "energy_median": ("generation", h["energy_median"]),
                "energy_at_mean": ("generation", h["energy_at_mean"]),
                "mean": (("generation", "param"), h["mean"]),
                "mean_physical": (("generation", "param"), self.model.physical(h["mean"])),
                "covariance": (("generation", "param", "param_"), h["covariance"]),
                "sigma": ("generation", h["sigma"]),
                "seconds": ("generation", h["seconds"]),
                "final_x": ("param", self.final_x),
                "final_physical": ("param", self.final_theta),
                "final_energy": ("replicate", self.final_energy),
                "unit": ("param", [p.unit for p in params]),
                "units": ("param", [p.units for p in params]),
                "samples": (("sample", "slice", "y", "x"), samples),
            },
            coords=coords,
            attrs={
                "model": self.model.name, "divergence": self.divergence, "dims": dom.dims,
                "stop_reason": self.stop_reason, "n_generations": self.n_generations,
                "run_seconds": self.seconds,
                "description": "CMA-ES population-based personalization of a stochastic "
                               "infarct model (paper 000 §2.3); physical = unit * |x|",
                **self.settings.attrs(),
                **{f"domain_{k}": (str(v) if isinstance(v, list) else v)
                   for k, v in dom.describe().items()},
            },
        )
        for name, text in [("energy_best", "lowest candidate energy"),
                           ("energy_median", "median candidate energy"),
                           ("energy_at_mean", "energy at the search mean (same draws)"),
                           ("covariance", "sigma^2 C, CMA-ES coordinates"),
                           ("samples", "synthetic infarcts at final_physical")]:
            ds[name].attrs["long_name"] = text
        return ds


def cma_strategy(m: int, s: CMASettings, x0=None, stds=None):
    """The ``cma`` search of :func:`personalize` (and of the model-based inversion of
    :mod:`mi_lib.inverse.model_based`): ``m`` coordinates from ``x0`` (default
    ``s.x0`` in every coordinate) with step ``s.sigma0`` (times ``stds`` per coordinate,
    if given); popsize, mu, seed and generation limit from ``s``; cma's own noise-blind
    stopping rules off (the callers stop)."""
    import cma

    opts = {"popsize": s.popsize, "CMA_mu": s.mu, "seed": s.seed + 1, "verbose": -9,
            "maxiter": s.max_generations, "tolstagnation": 10**9, "tolfun": 0,
            "tolfunhist": 0, "tolflatfitness": 10**9}
    if stds is not None:
        opts["CMA_stds"] = list(np.asarray(stds, float))
    start = np.full(m, s.x0, float) if x0 is None else np.asarray(x0, float)
    return cma.CMAEvolutionStrategy(start, s.sigma0, opts)


def personalize(model: InfarctModel, real: np.ndarray, settings: CMASettings | None = None,
                divergence: str = "kl", *, progress: bool = True, x0=None) -> Result:
    """Fit ``model`` to the real population ``real (q, n_voxels)`` with CMA-ES, from
    ``x0`` (CMA-ES coordinates; default ``settings.x0`` in each).

    Stops at the first of: energy threshold, generation limit, stagnation (see
    :class:`CMASettings`, :func:`stagnation`), or a numerical stop of ``cma``.
    """
    from threadpoolctl import threadpool_limits

    from mi_lib.core.config import progress_bar

    s = settings or CMASettings()
    energy = Energy(model, real, divergence, s.n_neighbors)
    es = cma_strategy(model.n_parameters, s, x0=x0)
    keys = ("energy_best", "energy_median", "energy_at_mean", "mean", "covariance",
            "sigma", "seconds")
    h = {k: [] for k in keys}
    stop = "max_generations"
    start = time.perf_counter()
    bar = progress_bar(range(s.max_generations), total=s.max_generations,
                       desc=f"{model.name} {model.domain.dims}D {divergence}", enabled=progress)
    with threadpool_limits(limits=1):  # numba's kernels use the cores; BLAS need not
        for g in bar:
            t0 = time.perf_counter()
            mean, cov, sigma = es.mean.copy(), es.sigma**2 * np.array(es.C), float(es.sigma)
            x = np.asarray(es.ask())
            draws = model.draw(s.n_synthetic, np.random.default_rng([s.seed, g]))
            e = energy(model.physical(np.vstack([x, mean])), draws)
            es.tell(list(x), e[:-1].tolist())
            for k, v in zip(keys, (float(e[:-1].min()), float(np.median(e[:-1])), float(e[-1]),
                                   mean, cov, sigma, time.perf_counter() - t0), strict=True):
                h[k].append(v)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(energy=f"{np.median(h['energy_at_mean'][-5:]):.4f}")
            recent = h["energy_at_mean"][-s.energy_window:]
            if (s.energy_threshold is not None and len(recent) == s.energy_window
                    and np.mean(recent) < s.energy_threshold):
                stop = "energy_threshold"
                break
            if g + 1 >= s.window:
                drift, cov_drift = stagnation(np.array(h["mean"][-s.window:]),
                                              np.array(h["covariance"][-s.window:]))
                if np.max(np.abs(drift)) < s.tol_mean and abs(cov_drift) < np.log1p(s.tol_cov):
                    stop = "stagnation"
                    break
            cma_stop = {k: v for k, v in es.stop().items() if k != "maxiter"}
            if cma_stop:
                stop = "cma:" + ",".join(cma_stop)
                break
        if hasattr(bar, "close"):
            bar.close()
        final_x = np.asarray(es.mean, float).copy()
        final = energy.replicates(model.physical(final_x), s.n_final, s.n_synthetic,
                                  [s.seed, 10**6])
    history = {k: np.array(v) for k, v in h.items()}
    return Result(model=model, divergence=divergence, settings=s, history=history,
                  final_x=final_x, final_energy=final, stop_reason=stop,
                  seconds=time.perf_counter() - start)


def evaluate(model: InfarctModel, real: np.ndarray, theta: np.ndarray, divergence: str = "kl",
             n_replicates: int = 20, n_synthetic: int = 100, seed: int = 0,
             n_neighbors: int = 10) -> np.ndarray:
    """Energies of physical parameters ``theta (m,)`` on ``n_replicates`` fresh draws."""
    return Energy(model, real, divergence, n_neighbors).replicates(theta, n_replicates,
                                                                   n_synthetic, seed)


def split_half_divergence(model: InfarctModel, real: np.ndarray, divergence: str = "kl",
                          n_splits: int = 20, seed: int = 0, n_neighbors: int = 10) -> np.ndarray:
    """The divergence between two random halves of the real population, ``n_splits``
    times: the noise floor of the energy, i.e. what a perfect model would score with
    populations of that size."""
    real = np.asarray(real, bool)
    rng = np.random.default_rng(seed)
    q = len(real)
    out = []
    for _ in range(n_splits):
        idx = rng.permutation(q)
        a, b = idx[: q // 2], idx[q // 2:]
        energy = Energy(model, real[b], divergence, n_neighbors)
        out.append(energy.of_bits(model.domain.pack(real[a])[None])[0])
    return np.array(out)


def summary_table(runs: dict, window: int | None = None):
    """One row per personalization product: stop, generations, time, energies and the
    final physical parameters.

    ``runs`` maps ``(model, divergence)`` to a ``personalization_*.nc`` dataset. The
    stability columns give, over the last ``window`` generations (the stagnation window
    by default), the standard deviation of each physical parameter of the search mean
    relative to its final value.
    """
    import pandas as pd

    rows = []
    for (model, divergence), ds in runs.items():
        first = float(ds["energy_median"][0])
        final = ds["final_energy"].values
        w = int(window or ds.attrs.get("cma_window", 40))
        tail = ds["mean_physical"].values[-w:]
        row = {"model": model, "divergence": divergence, "dims": int(ds.attrs["dims"]),
               "generations": int(ds.attrs["n_generations"]), "stop": ds.attrs["stop_reason"],
               "seconds": round(float(ds.attrs["run_seconds"]), 1),
               "energy_first_median": first, "energy_final": float(final.mean()),
               "energy_final_sd": float(final.std(ddof=1)) if len(final) > 1 else np.nan,
               "final_over_first": float(final.mean()) / first}
        for name, value, rel in zip(ds["param"].values, ds["final_physical"].values,
                                    tail.std(0) / np.maximum(np.abs(tail[-1]), 1e-9),
                                    strict=True):
            row[name] = round(float(value), 2)
            row[f"{name}_rel_sd"] = round(float(rel), 3)
        rows.append(row)
    return pd.DataFrame(rows)


def cross_evaluation(runs: dict, domain, real: np.ndarray, n_replicates: int = 10,
                     seed: int = 0, divergences=("kl", "mmd")):
    """Each fit scored by every divergence: does a fit under one divergence also score
    well under the other?

    ``runs`` maps ``(model, divergence)`` to a ``personalization_*.nc`` dataset made on
    ``domain``. Each fit's final physical parameters are scored on ``n_replicates`` fresh
    draws against ``real`` (bool voxels) by each of ``divergences``, with the draws
    seeded by ``seed``. One row per fit, indexed by (model, fitted with), with the mean
    and standard deviation of each score.
    """
    import pandas as pd

    rows = []
    for (name, fitted), ds in runs.items():
        model = make_model(name, domain)
        theta = ds["final_physical"].values
        row = {"model": name, "fitted with": fitted.upper()}
        for score in divergences:
            e = evaluate(model, real, theta, score, n_replicates=n_replicates, seed=seed)
            row[f"{score.upper()} mean"], row[f"{score.upper()} sd"] = e.mean(), e.std(ddof=1)
        rows.append(row)
    return pd.DataFrame(rows).set_index(["model", "fitted with"])
