"""Figures of the manifold analysis (notebook 04): eigenvalues, the joint latent space, modes
of variation and the multi-scale regression.

Plotting only: every number shown is computed elsewhere.
"""

from __future__ import annotations

import numpy as np

from .slices import _crop

POPULATION_COLOURS = ("k", "tab:red", "tab:blue", "tab:orange", "tab:green", "tab:purple")


def eigenvalue_decrease(relative, ax=None):
    """Paper Fig. 3a: eigenvalues over the first, per population (a table rank x population)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 3.4))
    for i, name in enumerate(relative.columns):
        ax.plot(relative.index, relative[name], "o-", ms=3, label=name,
                color=POPULATION_COLOURS[i % len(POPULATION_COLOURS)])
    ax.set_xlabel("eigenvalue rank")
    ax.set_ylabel("eigenvalue / first")
    ax.set_xticks(relative.index)
    ax.set_ylim(bottom=min(0.0, float(np.nanmin(relative.values))))
    ax.legend(fontsize=8)
    ax.set_title("(a) relative decrease of the eigenvalues", fontsize=10)
    return ax.figure


def latent_space(embedding: np.ndarray, labels: np.ndarray, names, ax=None):
    """Paper Fig. 3b: the populations in the first two joint Isomap dimensions, with each
    population's centroid (large marker)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 3.8))
    markers = "o^svD*"
    for i, name in enumerate(names):
        z = embedding[labels == name]
        colour = POPULATION_COLOURS[i % len(POPULATION_COLOURS)]
        ax.scatter(z[:, 0], z[:, 1], s=12, alpha=0.6, color=colour,
                   marker=markers[i % len(markers)], label=f"{name} ({len(z)})", linewidths=0)
        ax.scatter(*z[:, :2].mean(0), s=140, color=colour, marker=markers[i % len(markers)],
                   edgecolors="w", linewidths=1.5, zorder=5)
    ax.set_xlabel("Isomap dimension 1")
    ax.set_ylabel("Isomap dimension 2")
    ax.legend(fontsize=8)
    ax.set_title("(b) joint latent space", fontsize=10)
    return ax.figure


def _mode_image(ax, image: np.ndarray, mask: np.ndarray, box, margin: float = 0.1):
    """A reconstructed pattern (viridis: 0 healthy blue, 1 infarct yellow), values beyond
    the limits clipped; where they pass a limit by more than ``margin`` they are outlined
    (white above 1, red below 0)."""
    r0, r1, c0, c1 = box
    img = np.where(mask, image, np.nan)[r0:r1, c0:c1]
    shown = ax.imshow(np.clip(img, 0, 1), cmap="viridis", vmin=0, vmax=1,
                      interpolation="nearest")
    m = mask[r0:r1, c0:c1]
    for beyond, colour in ((img > 1 + margin, "w"), (img < -margin, "tab:red")):
        beyond = np.where(m, beyond, False)
        if beyond.any():
            ax.contour(beyond.astype(float), levels=[0.5], colors=colour, linewidths=0.7)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def modes_of_variation(modes: dict, mask, sds, title: str = ""):
    """Paper Fig. 4: reconstructed patterns at ``sds`` standard deviations (columns) along
    each mode (rows), one block of rows per population.

    ``modes`` maps a population to images ``(n_modes, len(sds), y, x)`` (one slice);
    ``mask`` is the slice's myocardium, or a dict giving each entry of ``modes`` its own;
    intermediate values between healthy (0) and infarct (1) are shown as they come, values
    beyond the limits are clipped, and outlined where they pass them by more than 0.1.
    """
    import matplotlib.pyplot as plt

    masks = mask if isinstance(mask, dict) else dict.fromkeys(modes, mask)
    box = _crop(np.any(np.stack(list(masks.values())), axis=0))
    n_modes = next(iter(modes.values())).shape[0]
    rows = [(name, m) for name in modes for m in range(n_modes)]
    fig, axes = plt.subplots(len(rows), len(sds), figsize=(1.55 * len(sds) + 1.2,
                                                            1.6 * len(rows) + 0.4),
                             squeeze=False, layout="constrained")
    shown = None
    for i, (name, m) in enumerate(rows):
        for j, s in enumerate(sds):
            shown = _mode_image(axes[i, j], modes[name][m, j], masks[name], box)
            if i == 0:
                axes[i, j].set_title(f"{s:+g} SD", fontsize=9)
        axes[i, 0].set_ylabel(f"{name}\nmode {m + 1}", fontsize=8)
    cbar = fig.colorbar(shown, ax=axes, shrink=0.5, ticks=[0, 0.5, 1])
    cbar.ax.set_yticklabels(["0 healthy", "0.5", "1 infarct"], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def regression_stages(stages: np.ndarray, mask: np.ndarray, sigmas, residuals, title: str = ""):
    """The multi-scale regression coarse to fine: the prediction after each scale for one
    latent point (images ``(n_scales, y, x)``) above the training residual per scale."""
    import matplotlib.pyplot as plt

    box = _crop(mask)
    n = len(stages)
    fig = plt.figure(figsize=(1.5 * n + 0.5, 3.9))
    grid = fig.add_gridspec(2, n, height_ratios=[1, 1.1])
    for s in range(n):
        ax = fig.add_subplot(grid[0, s])
        _mode_image(ax, stages[s], mask, box)
        ax.set_title(f"σ={sigmas[s]:.3g}", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    ax.semilogy(np.arange(len(residuals)), residuals, "o-", ms=3)
    ax.set_xlabel("scales fitted")
    ax.set_ylabel("relative RMS residual")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
