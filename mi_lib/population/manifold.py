"""Manifold analysis of infarct populations (paper 000 §3.2, Figs. 3 and 4).

* :func:`isomap`, :func:`isomap_eigenvalues` -- Isomap embedding and the spectrum of its
  geodesic kernel (Fig. 3a);
* :class:`MultiScaleKernelRegression` -- latent coordinates back to images (Fig. 4);
  :func:`modes_of_variation` along the first latent dimensions;
* :func:`energy_distance`, :func:`permutation_test` -- two populations compared in a
  latent space.

Images are ``(n, n_voxels)`` over the myocardial voxels of the domain, compared by
Euclidean distance. The method: ``docs/population/manifold.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

#: The paper's standard deviations along each latent dimension (Fig. 4).
MODE_SDS = (-2.0, -1.0, 0.0, 1.0, 2.0)
#: Default neighbourhood of the Isomap graph: the scikit-learn default (5) leaves the
#: graph of 100-image populations disconnected when they hold near-duplicates (small
#: infarcts), 10 is the bandwidth rule of the divergences, and results change little
#: between 8 and 15 (notebook 04 shows the sensitivity).
N_NEIGHBORS = 10


class MultiScaleKernelRegression(RegressorMixin, BaseEstimator):
    """Multi-scale Gaussian kernel regression from a latent space to an output space.

    At scale ``s`` (``sigma_s = sigma / ratio**s``, ``s = 0 .. n_scales - 1``), a kernel
    ridge regression fits the residual the coarser scales left at the training points::

        r_0 = Y,   c_s = (K_s + alpha I)^-1 r_s,   r_{s+1} = r_s - K_s c_s,
        f(x) = sum_s sum_i k_s(x, x_i) c_s[i],     k_s(x, y) = exp(-|x - y|^2 / (2 sigma_s^2))

    ``c_s`` minimises ``|r_s - K_s c|^2 + alpha c^T K_s c`` (data term plus the RKHS norm of
    the scale's correction); ``alpha = 1`` weights the two equally, as in the paper. Coarse
    scales capture the broad trend, finer ones the detail the data support; as ``alpha``
    tends to 0 the prediction interpolates the training outputs.

    Parameters
    ----------
    alpha : float, default 1
        Weight of the regularisation term relative to the data term (> 0).
    sigma : float or None
        Coarsest bandwidth, in latent units. ``None``: the diameter of the training inputs
        (largest pairwise distance), so the first scale sees the whole population.
    ratio : float, default 2
        Factor between successive bandwidths (> 1).
    n_scales : int or None
        Number of scales. ``None``: scales are added until the bandwidth falls below
        ``min_sigma`` (at most 30).
    min_sigma : float or None
        Finest bandwidth allowed when ``n_scales`` is ``None``. ``None``: the median distance
        of a training input to its nearest other input; finer kernels only see one
        training point each and add no information between them.

    Attributes
    ----------
    X_fit_ : (n, d) training inputs
    sigmas_ : (n_scales,) bandwidths, coarse to fine
    coefs_ : list of (n, k) arrays, one per scale
    residuals_ : (n_scales + 1,) RMS residual at the training points before the first and
        after each scale, relative to the RMS of the outputs
    """

    def __init__(self, alpha: float = 1.0, sigma: float | None = None, ratio: float = 2.0,
                 n_scales: int | None = None, min_sigma: float | None = None):
        self.alpha = alpha
        self.sigma = sigma
        self.ratio = ratio
        self.n_scales = n_scales
        self.min_sigma = min_sigma

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _bandwidths(self, X: np.ndarray) -> np.ndarray:
        d = squareform(pdist(X))
        sigma = float(self.sigma) if self.sigma is not None else float(d.max())
        if sigma <= 0:
            raise ValueError("the training inputs are all identical: no bandwidth to start "
                             "from; pass sigma")
        if self.n_scales is not None:
            if int(self.n_scales) < 1:
                raise ValueError(f"n_scales must be >= 1, got {self.n_scales}")
            return sigma / self.ratio ** np.arange(int(self.n_scales))
        if self.min_sigma is not None:
            floor = float(self.min_sigma)
        else:
            np.fill_diagonal(d, np.inf)
            nn = d.min(axis=1)
            nn = nn[nn > 0]  # duplicated inputs say nothing about the spacing
            floor = float(np.median(nn)) if nn.size else sigma
        floor = max(floor, sigma * self.ratio ** -29)
        n = 1 + max(0, int(np.floor(np.log(sigma / floor) / np.log(self.ratio) + 1e-9)))
        return sigma / self.ratio ** np.arange(n)

    @staticmethod
    def _kernel(A: np.ndarray, B: np.ndarray, sigma: float) -> np.ndarray:
        return np.exp(-cdist(A, B, "sqeuclidean") / (2.0 * sigma * sigma))

    def fit(self, X, y):
        """Fit on latent inputs ``X (n, d)`` and outputs ``y (n,)`` or ``(n, k)``."""
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if not self.ratio > 1:
            raise ValueError(f"ratio must be > 1, got {self.ratio}")
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64,
                             ensure_min_samples=2)
        self._single_output = y.ndim == 1
        Y = y.reshape(len(y), -1).astype(float)
        self.X_fit_ = X
        self.sigmas_ = self._bandwidths(X)
        scale = np.sqrt(np.mean(Y ** 2)) or 1.0
        residual = Y.copy()
        self.coefs_, res = [], [np.sqrt(np.mean(residual ** 2)) / scale]
        eye = np.eye(len(X))
        for sigma in self.sigmas_:
            K = self._kernel(X, X, sigma)
            c = np.linalg.solve(K + self.alpha * eye, residual)
            residual = residual - K @ c
            self.coefs_.append(c)
            res.append(np.sqrt(np.mean(residual ** 2)) / scale)
        self.residuals_ = np.array(res)
        return self

    def staged_predict(self, X):
        """Yield the prediction after each scale, coarse to fine (the last is ``predict``)."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        out = np.zeros((len(X), self.coefs_[0].shape[1]))
        for sigma, c in zip(self.sigmas_, self.coefs_, strict=True):
            out = out + self._kernel(X, self.X_fit_, sigma) @ c
            yield out[:, 0] if self._single_output else out

    def predict(self, X):
        """Outputs ``(m,)`` or ``(m, k)`` at latent inputs ``X (m, d)``."""
        *_, last = self.staged_predict(X)
        return last


def isomap(images: np.ndarray, n_neighbors: int = N_NEIGHBORS, n_components: int = 2):
    """Isomap (scikit-learn) of images ``(n, n_voxels)``; returns the fitted estimator.

    Its ``embedding_`` holds the latent coordinates ``(n, n_components)``; the
    neighbourhood graph is made connected by scikit-learn if it is not.
    """
    from sklearn.manifold import Isomap

    x = np.asarray(images, np.float32).reshape(len(images), -1)
    if len(x) <= n_neighbors:
        raise ValueError(f"Isomap with n_neighbors={n_neighbors} needs more than "
                         f"{n_neighbors} samples, got {len(x)}: lower n_neighbors")
    return Isomap(n_neighbors=n_neighbors, n_components=n_components).fit(x)


def isomap_eigenvalues(fitted) -> np.ndarray:
    """All eigenvalues, descending, of a fitted Isomap's kernel ``-1/2 H G^2 H``
    (``G`` the geodesic distances, ``H`` the centring matrix); the leading ones are those
    of scikit-learn's ``kernel_pca_.eigenvalues_``. The geodesic kernel need not be
    positive semi-definite: small negative eigenvalues are kept."""
    g = np.asarray(fitted.dist_matrix_, float)
    n = len(g)
    h = np.eye(n) - 1.0 / n
    k = -0.5 * h @ (g ** 2) @ h
    return np.linalg.eigvalsh((k + k.T) / 2)[::-1]


def relative_eigenvalues(eigenvalues: np.ndarray, n: int = 10) -> np.ndarray:
    """The first ``n`` eigenvalues relative to the first (paper Fig. 3a)."""
    e = np.asarray(eigenvalues, float)[:n]
    return e / e[0]


def mode_points(embedding: np.ndarray, n_modes: int = 2, sds=MODE_SDS,
                n_latent: int | None = None) -> np.ndarray:
    """Latent points at ``sds`` standard deviations along each of the first ``n_modes``
    dimensions, the others at the population mean: ``(n_modes, len(sds), n_latent)``."""
    z = np.asarray(embedding, float)
    n_latent = z.shape[1] if n_latent is None else n_latent
    z = z[:, :n_latent]
    mean, sd = z.mean(0), z.std(0)
    pts = np.repeat(mean[None, None], n_modes, 0).repeat(len(sds), 1)
    for m in range(n_modes):
        pts[m, :, m] += np.asarray(sds, float) * sd[m]
    return pts


def modes_of_variation(embedding: np.ndarray, images: np.ndarray, n_modes: int = 2,
                       sds=MODE_SDS, n_latent: int = 2, **regression):
    """Images reconstructed along the first latent dimensions (paper Fig. 4).

    A :class:`MultiScaleKernelRegression` (keyword arguments ``regression``) is fitted
    from the first ``n_latent`` latent coordinates to the images ``(n, n_voxels)`` and
    evaluated at :func:`mode_points`. Values are not thresholded: intermediate values
    between healthy (0) and infarct (1) are part of the result.

    Returns ``(modes (n_modes, len(sds), n_voxels), fitted regression)``.
    """
    x = np.asarray(embedding, float)[:, :n_latent]
    y = np.asarray(images, float).reshape(len(images), -1)
    reg = MultiScaleKernelRegression(**regression).fit(x, y)
    pts = mode_points(x, n_modes, sds)
    out = reg.predict(pts.reshape(-1, n_latent))
    return out.reshape(n_modes, len(sds), -1), reg


def energy_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Energy distance ``2 E|A-B| - E|A-A'| - E|B-B'|`` between samples ``(n, d)``.

    Zero for identical distributions, positive otherwise (Székely and Rizzo 2013); in 1-D
    it is the square of :func:`scipy.stats.energy_distance`.
    """
    a = np.asarray(a, float).reshape(len(a), -1)
    b = np.asarray(b, float).reshape(len(b), -1)
    d = squareform(pdist(np.vstack([a, b])))
    return _energy_from_distances(d, np.r_[np.ones(len(a), bool), np.zeros(len(b), bool)])


def _energy_from_distances(d: np.ndarray, in_a: np.ndarray) -> float:
    return float(2 * d[in_a][:, ~in_a].mean() - d[in_a][:, in_a].mean()
                 - d[~in_a][:, ~in_a].mean())


@dataclass
class PermutationTest:
    """Result of :func:`permutation_test`."""

    statistic: float
    pvalue: float
    n_permutations: int
    null: np.ndarray = field(repr=False)


def permutation_test(a: np.ndarray, b: np.ndarray, n_permutations: int = 999,
                     seed: int | np.random.Generator | None = 0) -> PermutationTest:
    """Two-sample permutation test of equal distributions on the energy distance.

    The p-value ``(1 + #{null >= observed}) / (1 + n_permutations)`` is exact in the sense
    of permutation tests (never zero; uniform under the null up to discreteness).
    """
    rng = np.random.default_rng(seed)
    a = np.asarray(a, float).reshape(len(a), -1)
    b = np.asarray(b, float).reshape(len(b), -1)
    d = squareform(pdist(np.vstack([a, b])))
    labels = np.r_[np.ones(len(a), bool), np.zeros(len(b), bool)]
    observed = _energy_from_distances(d, labels)
    null = np.array([_energy_from_distances(d, rng.permutation(labels))
                     for _ in range(n_permutations)])
    p = (1 + np.sum(null >= observed - 1e-12)) / (1 + n_permutations)
    return PermutationTest(observed, float(p), n_permutations, null)


@dataclass
class PopulationManifolds:
    """Isomap analysis of several populations on one domain (:func:`analyse_populations`).

    ``embeddings``, ``eigenvalues``, ``modes`` and ``regressions`` are per population (one
    Isomap each: the paper's Figs. 3a and 4); ``joint`` embeds all populations together
    (Fig. 3b and the latent distances), ``joint_labels`` names each row's population.
    """

    names: list
    n_neighbors: int
    n_latent: int
    sds: tuple
    embeddings: dict
    eigenvalues: dict
    modes: dict
    regressions: dict
    joint: np.ndarray
    joint_labels: np.ndarray

    def relative_eigenvalues(self, n: int = 10):
        """Table ``(rank, population)`` of the first ``n`` eigenvalues over the first (NaN
        past a small population's spectrum)."""
        import pandas as pd

        cols = {k: pd.Series(r, index=np.arange(1, len(r) + 1))
                for k, r in ((k, relative_eigenvalues(e, n)) for k, e in self.eigenvalues.items())}
        return pd.DataFrame(cols).rename_axis("rank")

    def joint_of(self, name: str) -> np.ndarray:
        """Rows of the joint embedding that belong to population ``name``."""
        return self.joint[self.joint_labels == name]


def analyse_populations(populations: dict, n_neighbors: int = N_NEIGHBORS,
                        n_components: int = 10, n_latent: int = 2, n_modes: int = 2,
                        sds=MODE_SDS, alpha: float = 1.0, progress=None) -> PopulationManifolds:
    """Isomap each population of images ``{name: (n, n_voxels)}``, reconstruct its modes of
    variation, and embed all populations together.

    ``n_components`` latent dimensions are kept per embedding; the modes vary the first
    ``n_modes`` of them and the regression reads the first ``n_latent``.
    """
    names = list(populations)
    data = {k: np.asarray(v, np.float32).reshape(len(v), -1) for k, v in populations.items()}
    if len({v.shape[1] for v in data.values()}) != 1:
        raise ValueError("populations must share one domain (same number of voxels): "
                         + ", ".join(f"{k} {v.shape}" for k, v in data.items()))
    embeddings, eigenvalues, modes, regs = {}, {}, {}, {}
    steps = progress(names) if progress else names
    for k in steps:
        fitted = isomap(data[k], n_neighbors, min(n_components, len(data[k]) - 1))
        embeddings[k] = fitted.embedding_
        eigenvalues[k] = isomap_eigenvalues(fitted)
        modes[k], regs[k] = modes_of_variation(fitted.embedding_, data[k], n_modes, sds,
                                               n_latent, alpha=alpha)
    stacked = np.vstack([data[k] for k in names])
    joint = isomap(stacked, n_neighbors, n_components).embedding_
    labels = np.concatenate([[k] * len(data[k]) for k in names])
    return PopulationManifolds(names, n_neighbors, n_latent, tuple(sds), embeddings,
                               eigenvalues, modes, regs, joint, labels)


def neighbourhood_sensitivity(populations: dict, ks=(6, 8, 10, 15, 20), rank: int = 2):
    """Eigenvalue ``rank`` over the first, per population and neighbourhood size ``k``:
    how much the compactness read off Fig. 3a depends on the Isomap graph."""
    import pandas as pd

    rows = {}
    for k in ks:
        rows[k] = {name: relative_eigenvalues(isomap_eigenvalues(isomap(v, k, 2)), rank)[-1]
                   for name, v in populations.items() if len(v) > k}
    return pd.DataFrame(rows).T.rename_axis("n_neighbors")


def comparison_table(populations: dict, reference: str, descriptors: dict,
                     manifolds: PopulationManifolds, n_permutations: int = 999,
                     seed: int = 0, n_neighbors: int = 10):
    """Numbers beside the paper's visual comparison, one row per population.

    Columns: ``n``; ``KL`` and ``MMD2`` of the population to ``reference`` (the
    estimators of :mod:`mi_lib.population.divergence`, bandwidths as in the personalization;
    NaN for the reference itself); ``size_mean``, ``size_sd`` (infarcted fraction of the
    myocardium); ``transmural_fraction`` (mean fraction of an infarct's sectors that are
    transmural); ``circumferential_extent`` (mean, fraction of the circumference);
    ``latent_centroid_distance`` (between the population's and the reference's centroids
    in the first ``n_latent`` joint Isomap dimensions); ``latent_energy_distance`` and
    ``latent_pvalue`` (permutation test of equal distributions in that space).
    ``descriptors`` maps each population to its table of
    :func:`mi_lib.population.reference.infarct_descriptors`.
    """
    import pandas as pd

    from .divergence import kl_divergence, mmd2

    q = np.asarray(populations[reference], float)
    zq = manifolds.joint_of(reference)[:, :manifolds.n_latent]
    rows = []
    for i, (name, x) in enumerate(populations.items()):
        d = descriptors[name]
        row = {"population": name, "n": len(x), "KL": np.nan, "MMD2": np.nan,
               "size_mean": d["size"].mean(), "size_sd": d["size"].std(ddof=1),
               "transmural_fraction": d["transmural_fraction"].mean(),
               "circumferential_extent": d["circumferential_extent"].mean(),
               "latent_centroid_distance": np.nan, "latent_energy_distance": np.nan,
               "latent_pvalue": np.nan}
        if name != reference:
            p = np.asarray(x, float)
            row["KL"] = kl_divergence(p, q, n_neighbors=n_neighbors)
            row["MMD2"] = mmd2(p, q, n_neighbors=n_neighbors)
            zp = manifolds.joint_of(name)[:, :manifolds.n_latent]
            row["latent_centroid_distance"] = float(np.linalg.norm(zp.mean(0) - zq.mean(0)))
            test = permutation_test(zp, zq, n_permutations, seed=[seed, i])
            row["latent_energy_distance"], row["latent_pvalue"] = test.statistic, test.pvalue
        rows.append(row)
    return pd.DataFrame(rows).set_index("population")


def _padded(arrays: list, fill=np.nan) -> np.ndarray:
    """Stack arrays of one rank but unequal shapes, padding every axis with ``fill``."""
    shape = np.max([np.shape(a) for a in arrays], axis=0)
    out = np.full((len(arrays), *shape), fill, float)
    for i, a in enumerate(arrays):
        out[(i, *(slice(0, n) for n in np.shape(a)))] = a
    return out


def manifolds_dataset(manifolds: PopulationManifolds, table, domain, y=None, x=None,
                      attrs: dict | None = None):
    """The analysis as an xarray dataset (``isomap.nc``, see ``data/README.md``).

    ``domain`` (a :class:`mi_lib.population.models.Domain`) puts the reconstructed modes back on the
    image grid, NaN off the myocardium; ``y``, ``x`` are the grid's coordinates.
    """
    import xarray as xr

    names = manifolds.names
    modes = np.stack([manifolds.modes[k] for k in names]).astype(np.float32)
    mode_images = domain.images(modes)
    mode_images[..., ~domain.mask] = np.nan
    n_comp = manifolds.joint.shape[1]
    emb = _padded([manifolds.embeddings[k] for k in names])
    eig = _padded([manifolds.eigenvalues[k] for k in names])
    res = _padded([manifolds.regressions[k].residuals_[1:] for k in names])
    sig = _padded([manifolds.regressions[k].sigmas_ for k in names])
    comp = table.loc[names]
    coords = {"population": names, "sample": np.arange(emb.shape[1]),
              "component": np.arange(1, emb.shape[2] + 1),
              "joint_component": np.arange(1, n_comp + 1), "item": np.arange(len(manifolds.joint)),
              "rank": np.arange(1, eig.shape[1] + 1), "mode": np.arange(1, modes.shape[1] + 1),
              "sd": np.asarray(manifolds.sds, float), "slice": domain.slices,
              "scale": np.arange(res.shape[1]), "metric": list(comp.columns)}
    if y is not None:
        coords["y"], coords["x"] = np.asarray(y), np.asarray(x)
    ds = xr.Dataset(
        {
            "n_samples": ("population", [len(manifolds.embeddings[k]) for k in names]),
            "embedding": (("population", "sample", "component"), emb),
            "joint_embedding": (("item", "joint_component"), manifolds.joint),
            "joint_population": ("item", manifolds.joint_labels.astype(str)),
            "eigenvalue": (("population", "rank"), eig),
            "relative_eigenvalue": (("population", "rank"), eig / eig[:, :1]),
            "mode_image": (("population", "mode", "sd", "slice", "y", "x"), mode_images),
            "regression_bandwidth": (("population", "scale"), sig),
            "regression_residual": (("population", "scale"), res),
            "comparison": (("population", "metric"), comp.to_numpy(float)),
        },
        coords=coords,
        attrs={"description": "Isomap analysis of real and synthetic infarct populations "
                              "(paper 000 §3.2)", "n_neighbors": manifolds.n_neighbors,
               "n_latent": manifolds.n_latent, **(attrs or {})},
    )
    long = {"embedding": "per-population Isomap coordinates (NaN past n_samples)",
            "joint_embedding": "Isomap of all populations together",
            "eigenvalue": "eigenvalues of the population's geodesic kernel, descending",
            "relative_eigenvalue": "eigenvalue over the first (Fig. 3a)",
            "mode_image": "reconstruction at sd standard deviations along mode (not "
                          "thresholded; 0 healthy, 1 infarct; NaN off the myocardium)",
            "regression_bandwidth": "Gaussian bandwidth of each scale, latent units",
            "regression_residual": "RMS training residual after each scale over RMS output",
            "comparison": "comparison table (see metric)"}
    for name, text in long.items():
        ds[name].attrs["long_name"] = text
    return ds
