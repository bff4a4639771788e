"""2-D figures of the pipeline: subjects' slices and their transport (notebook 01), infarct
images, galleries and slice montages of the models (notebooks 02-03).

Plotting only: every number shown is computed elsewhere.
"""

from __future__ import annotations

import numpy as np

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


INFARCT_COLOURS = ["#ffffff", "#c8c8c8", "#d62728"]  # background, myocardium, infarct


def _infarct_image(ax, myocardium: np.ndarray, infarct: np.ndarray, box=None):
    """Show one 2D infarct (red) on the myocardium (grey), cropped to ``box``."""
    from matplotlib.colors import ListedColormap

    labels = myocardium.astype(int) + (myocardium & infarct.astype(bool))
    r0, r1, c0, c1 = box if box is not None else (0, labels.shape[0], 0, labels.shape[1])
    ax.imshow(labels[r0:r1, c0:c1], cmap=ListedColormap(INFARCT_COLOURS), vmin=-0.5,
              vmax=2.5, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def start_zone(myocardium, frequency, examples, zone_xy, centre_xy, example_titles=()):
    """The models' start zone on the mid slice, over the real infarcts.

    Parameters
    ----------
    myocardium : bool array (ny, nx)
        Myocardium of the slice.
    frequency : array (ny, nx)
        Fraction of real subjects infarcted at each pixel.
    examples : bool array (k, ny, nx)
        A few real infarcts.
    zone_xy : array (m, 2)
        Screen ``(x, y)`` points along the start zone (endocardial arc).
    centre_xy : array (2,)
        Screen position of the real infarcts' centre of mass (start-zone centre).
    example_titles : sequence of str
        Titles of the examples.
    """
    import matplotlib.pyplot as plt

    box = _crop(myocardium)
    n = 1 + len(examples)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n + 0.8, 3.0), squeeze=False)
    axes = axes[0]
    ax = axes[0]
    r0, r1, c0, c1 = box
    shown = np.where(myocardium, frequency, np.nan)[r0:r1, c0:c1]
    ax.imshow(np.where(myocardium, 0.0, np.nan)[r0:r1, c0:c1], cmap="Greys", vmin=0, vmax=4)
    im = ax.imshow(shown, cmap="Reds", vmin=0, vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.75, label="fraction of subjects")
    ax.set_title("real infarct frequency", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    for i, pattern in enumerate(examples):
        _infarct_image(axes[i + 1], myocardium, pattern, box)
        if i < len(example_titles):
            axes[i + 1].set_title(example_titles[i], fontsize=9)
    for ax in axes:
        ax.plot(zone_xy[:, 0] - c0, zone_xy[:, 1] - r0, "-", color="tab:blue", lw=5,
                solid_capstyle="butt")
        ax.plot(centre_xy[0] - c0, centre_xy[1] - r0, "o", color="w", mec="tab:blue", ms=4)
    fig.suptitle("Start zone of the models (blue arc) around the real infarcts' centre of "
                 "mass (dot), mid-ventricular slice", fontsize=10)
    fig.tight_layout()
    return fig


def _labelled_rows(n_rows: int, n_cols: int, row_labels, panel: tuple, title: str):
    """A figure of ``n_rows`` subfigures of ``n_cols`` axes, each row titled on its left."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(panel[0] * n_cols, panel[1] * n_rows + 0.4), layout="constrained")
    rows = np.atleast_1d(fig.subfigures(n_rows, 1))
    axes = []
    for sub, label in zip(rows, row_labels, strict=True):
        axes.append(np.atleast_1d(sub.subplots(1, n_cols)))
        sub.suptitle(label, x=0.0, ha="left", fontsize=8.5)
    fig.suptitle(title, fontsize=10)
    return fig, np.array(axes)


def model_gallery(samples, myocardium, row_labels, title: str = ""):
    """A grid of 2D model samples: one row per parameter setting, one column per draw.

    Parameters
    ----------
    samples : bool array (n_rows, n_cols, ny, nx)
        Infarct images.
    myocardium : bool array (ny, nx)
        Myocardium of the slice.
    row_labels : sequence of str
        One label per row (parameter values, statistics), written above the row.
    title : str
        Figure title.
    """
    n_rows, n_cols = samples.shape[:2]
    box = _crop(myocardium)
    fig, axes = _labelled_rows(n_rows, n_cols, row_labels, (1.45, 1.85), title)
    for i in range(n_rows):
        for j in range(n_cols):
            _infarct_image(axes[i, j], myocardium, samples[i, j], box)
    return fig


def slice_montage(stacks, myocardium, row_labels, slices, l=None, title: str = ""):
    """3D infarcts as short-axis slices, base (left) to apex (right).

    Parameters
    ----------
    stacks : bool array (n_rows, n_z, ny, nx)
        Infarct stacks.
    myocardium : bool array (n_z, ny, nx)
        Myocardium of the stack.
    row_labels : sequence of str
        One label per row, written above the row.
    slices : sequence of int
        Slices to show.
    l : array (n_z,), optional
        Long-axis coordinate of each slice, for the column titles.
    title : str
        Figure title.
    """
    slices = list(slices)
    box = _crop(myocardium.any(axis=0))
    fig, axes = _labelled_rows(len(stacks), len(slices), row_labels, (1.0, 1.3), title)
    for i, stack in enumerate(stacks):
        for j, k in enumerate(slices):
            _infarct_image(axes[i, j], myocardium[k], stack[k], box)
            axes[i, j].set_xlabel(f"l = {l[k]:.2f}" if l is not None else f"slice {k}",
                                  fontsize=6.5, labelpad=1)
    return fig


def samples_beside_real(real: np.ndarray, synthetic: dict, mask: np.ndarray, n_show: int = 8):
    """Real infarcts (first row) beside each model's final synthetic samples (one row per
    model); images ``(n, y, x)``, ``mask`` the myocardium of the slice."""
    import matplotlib.pyplot as plt

    rows = {"real": real, **synthetic}
    box = _crop(mask)
    fig, axes = plt.subplots(len(rows), n_show, figsize=(1.6 * n_show, 1.7 * len(rows)),
                             squeeze=False)
    for i, (label, images) in enumerate(rows.items()):
        for j in range(n_show):
            ax = axes[i, j]
            if j < len(images):
                _infarct_image(ax, mask, images[j], box)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(label, fontsize=9)
    fig.tight_layout()
    return fig
