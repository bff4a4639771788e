"""Figures of the notebooks. Plotting only: every number shown is computed elsewhere."""

from __future__ import annotations

import numpy as np

TERRITORY_COLOURS = {"LAD": "tab:blue", "LCX": "tab:orange", "RCA": "tab:green"}
LABEL_COLOURS = ["#ffffff", "#d9d9d9", "#8c6bb1", "#fdbb2d", "#b2182b"]


def _label_cmap():
    from matplotlib.colors import ListedColormap

    return ListedColormap(LABEL_COLOURS)


def _crop(mask: np.ndarray, margin: int = 4):
    xs, ys = np.nonzero(mask)
    return (max(xs.min() - margin, 0), xs.max() + margin + 1,
            max(ys.min() - margin, 0), ys.max() + margin + 1)


def subject_transport(subject, pop, reference, n_show: int = 5):
    """Paper Fig. 1a: a subject's slices (top) and the same pattern on the reference (bottom).

    The black dot marks the anterior LV-RV junction (RV insertion), white the inferior one.
    """
    import matplotlib.pyplot as plt

    lv_slices = np.flatnonzero(subject.myocardium.any(axis=(0, 1)))
    src = lv_slices[np.linspace(0, lv_slices.size - 1, n_show).round().astype(int)]
    ell = (src - lv_slices[0]) / max(lv_slices[-1] - lv_slices[0], 1)
    ref_k = np.round(ell * (reference.n_slices - 1)).astype(int)
    x0, x1, y0, y1 = _crop(subject.labels.any(axis=2))
    stack = pop["infarct_native"].sel(subject=subject.subject_id).values
    fig, axes = plt.subplots(2, n_show, figsize=(2.4 * n_show, 5.2))
    ins = reference.insertion_points()
    for i, (k, kr) in enumerate(zip(src, ref_k, strict=True)):
        ax = axes[0, i]
        ax.imshow(subject.labels[x0:x1, y0:y1, k].T, cmap=_label_cmap(), vmin=-0.5, vmax=4.5,
                  interpolation="nearest")
        for pts, col in ((subject.anterior, "k"), (subject.inferior, "w")):
            if not np.isnan(pts[k, 0]):
                ax.plot(pts[k, 0] - x0, pts[k, 1] - y0, "o", color=col, mec="k", ms=6)
        ax.set_title(f"source slice {k}\nl = {ell[i]:.2f}", fontsize=9)
        ax.axis("off")
        ax = axes[1, i]
        shown = np.where(reference.myocardium[kr], stack[kr], np.nan)
        ax.imshow(np.where(reference.cavity[kr], 0.0, np.nan), cmap="Greys", vmin=0, vmax=4)
        ax.imshow(shown, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        scale = reference.radii()[1][kr] / reference.r_epi
        for (px, py), col in zip(ins, ("k", "w"), strict=True):
            cx = reference.centre + (px - reference.centre) * scale
            cy = reference.centre + (py - reference.centre) * scale
            ax.plot(cx, cy, "o", color=col, mec="k", ms=6)
        ax.set_title(f"reference slice {kr}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"{subject.subject_id} ({subject.territory}): source labels (top; purple "
                 "healthy, yellow infarct, red no-reflow) and infarct on the reference (bottom)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def _samples_image(samples, values):
    """Paint scattered samples that lie on a regular (upsampled) grid back into an image."""
    step = float(np.min(np.diff(np.unique(samples.x)))) if np.unique(samples.x).size > 1 else 1.0
    i = np.round((samples.x - samples.x.min()) / step).astype(int)
    j = np.round((samples.y - samples.y.min()) / step).astype(int)
    img = np.full((j.max() + 1, i.max() + 1), np.nan)
    img[j, i] = values
    return img


def slice_coordinate_maps(samples, title: str = ""):
    """Radial, circumferential coordinates and infarct value of one slice's samples."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    for ax, values, name, cmap in ((axes[0], samples.r, "radial r", "magma"),
                                   (axes[1], samples.c, "circumferential c", "twilight"),
                                   (axes[2], samples.value, "infarct", "viridis")):
        im = ax.imshow(_samples_image(samples, values), cmap=cmap, vmin=0, vmax=1,
                       interpolation="nearest")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def territory_means(pop, reference, slices=None):
    """Mean infarct map per territory on a few reference slices, before and after alignment."""
    import matplotlib.pyplot as plt

    slices = slices if slices is not None else np.linspace(2, reference.n_slices - 3, 4).astype(int)
    territories = [t for t in ("LAD", "LCX", "RCA") if (pop.territory == t).any()]
    fig, axes = plt.subplots(len(territories), 2 * len(slices),
                             figsize=(1.7 * 2 * len(slices), 1.9 * len(territories) + 0.6),
                             squeeze=False)
    for row, t in enumerate(territories):
        sel = (pop.territory == t).values
        for col, var in enumerate(("infarct_native", "infarct")):
            mean = pop[var].values[sel].mean(axis=0)
            for j, k in enumerate(slices):
                ax = axes[row, col * len(slices) + j]
                ax.imshow(np.where(reference.myocardium[k], mean[k], np.nan), cmap="viridis",
                          vmin=0, vmax=max(0.05, float(mean.max())))
                ax.set_xticks([])
                ax.set_yticks([])
                if row == 0:
                    ax.set_title(f"{'native' if col == 0 else 'aligned'} l={reference.l[k]:.2f}",
                                 fontsize=8)
                if j == 0 and col == 0:
                    ax.set_ylabel(f"{t} (n={int(sel.sum())})")
    fig.suptitle("Mean infarct per territory: before (left) and after (right) the alignment "
                 "on the LAD centre", fontsize=10)
    fig.tight_layout()
    return fig


def transport_agreement(pop):
    """Infarct size and transmurality of each subject before vs after transport."""
    import matplotlib.pyplot as plt

    pairs = (("size", "infarct size (fraction of LV)"),
             ("transmural_extent", "mean transmural extent"),
             ("transmural_fraction", "fraction of transmural sectors"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (key, label) in zip(axes, pairs, strict=True):
        for t, colour in TERRITORY_COLOURS.items():
            sel = (pop.territory == t).values
            ax.scatter(pop[f"source_{key}"].values[sel], pop[f"reference_{key}"].values[sel],
                       s=14, color=colour, label=t, alpha=0.8)
        lo = 0.0
        hi = float(max(pop[f"source_{key}"].max(), pop[f"reference_{key}"].max())) * 1.05
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"source: {label}")
        ax.set_ylabel(f"reference: {label}")
        ax.set_aspect("equal")
    axes[0].legend(frameon=False)
    fig.tight_layout()
    return fig


# --- infarct models (notebook 02) ---------------------------------------------------


# --- personalization (notebook 03) -----------------------------------------------------
