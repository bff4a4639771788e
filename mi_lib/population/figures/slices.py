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


def parameter_sweeps(table, stats: dict, real: dict | None = None):
    """Model statistics against one parameter, one line per value of another.

    Parameters
    ----------
    table : pandas.DataFrame
        Long form, one row per setting, with columns ``model``, ``x_name``, ``x``,
        ``line_name``, ``line`` and one column per key of ``stats`` (means), optionally
        ``<stat>_sd`` (standard deviations over the samples, drawn as bands).
    stats : dict
        Column -> axis label; one row of panels per statistic.
    real : dict, optional
        Column -> the real population's value, drawn as a dashed line.
    """
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(table["model"]))
    fig, axes = plt.subplots(len(stats), len(models), figsize=(5.2 * len(models),
                             3.2 * len(stats)), squeeze=False)
    for col, model in enumerate(models):
        sub = table[table["model"] == model]
        for row, (stat, label) in enumerate(stats.items()):
            ax = axes[row, col]
            for line, grp in sub.groupby("line", sort=True):
                ax.plot(grp["x"], grp[stat], "o-", ms=3, label=f"{line:g}")
                if f"{stat}_sd" in grp:
                    ax.fill_between(grp["x"], grp[stat] - grp[f"{stat}_sd"],
                                    grp[stat] + grp[f"{stat}_sd"], alpha=0.12)
            if real and stat in real:
                ax.axhline(real[stat], color="k", ls="--", lw=1, label="real")
            ax.set_xlabel(sub["x_name"].iloc[0])
            ax.set_ylabel(label)
            ax.set_title(f"{model} model", fontsize=10)
            ax.legend(title=sub["line_name"].iloc[0], fontsize=7, title_fontsize=7,
                      frameon=False)
    fig.tight_layout()
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


def _volume_surface(volume: np.ndarray, spacing: float, smooth: int = 30):
    """Iso-surface (0.5) of a binary ``(n_z, ny, nx)`` volume, padded so it closes."""
    import pyvista as pv

    padded = np.pad(np.asarray(volume, np.float32), 1)
    grid = pv.ImageData(dimensions=padded.shape[::-1], spacing=(1.0, 1.0, spacing),
                        origin=(-1.0, -1.0, -spacing))
    grid.point_data["v"] = padded.ravel()  # C order of (z, y, x): x varies fastest, as VTK
    surface = grid.contour([0.5], scalars="v")
    return surface.smooth(n_iter=smooth) if smooth and surface.n_points else surface


def render_infarct_3d(infarct, myocardium, spacing: float, window_size=(560, 560),
                      elevation_deg: float = 25.0, zoom: float = 1.35) -> np.ndarray:
    """Off-screen pyvista rendering of a 3D infarct (red) in a translucent myocardium.

    Positions are ``(x, y, z = slice * spacing)`` pixels of the reference grid; the camera
    looks at the LV from the side of the infarct, ``elevation_deg`` above the short-axis
    plane towards the base, with the base up, zoomed by ``zoom`` onto the myocardium.
    Needs ``VTK_DEFAULT_OPENGL_WINDOW`` (e.g. ``vtkEGLRenderWindow``) on machines
    without a display.

    Returns
    -------
    array (h, w, 3)
        The screenshot (uint8 RGB).
    """
    import pyvista as pv

    myo = _volume_surface(myocardium, spacing)
    inf = _volume_surface(np.asarray(infarct, bool) & myocardium, spacing, smooth=15)
    centre = np.array(myo.center)
    direction = np.array([1.0, 0.0, 0.0])
    if inf.n_points:
        d = np.array(inf.center) - centre
        if np.hypot(d[0], d[1]) > 1e-6:
            direction = np.array([d[0], d[1], 0.0]) / np.hypot(d[0], d[1])
    elev = np.deg2rad(elevation_deg)
    view = np.cos(elev) * direction + np.array([0.0, 0.0, -np.sin(elev)])
    distance = 2.0 * max(myo.length, 1.0)
    plotter = pv.Plotter(off_screen=True, window_size=list(window_size))
    plotter.set_background("white")
    plotter.add_mesh(myo, color="#9e9e9e", opacity=0.22, smooth_shading=True)
    if inf.n_points:
        plotter.add_mesh(inf, color="#e0302e", smooth_shading=True, ambient=0.35, diffuse=0.75,
                         specular=0.15)
    plotter.camera_position = [tuple(centre + distance * view), tuple(centre), (0.0, 0.0, -1.0)]
    plotter.reset_camera()
    plotter.camera.zoom(zoom)
    image = plotter.screenshot(return_img=True)
    plotter.close()
    return image


def renderings(images: dict, title: str = ""):
    """Show rendered RGB images (e.g. from :func:`render_infarct_3d`) side by side."""
    import matplotlib.pyplot as plt

    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(4.4 * n, 5.0), squeeze=False, layout="constrained")
    for ax, (name, img) in zip(axes[0], images.items(), strict=True):
        ax.imshow(img)
        ax.set_title(name, fontsize=9)
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return fig


def parameter_explorer(parameters: dict, redraw, initial: dict | None = None,
                       seed: int = 0, max_x: float = 8.0):
    """An ipywidgets explorer: a model dropdown, one slider per parameter, a seed.

    Parameters
    ----------
    parameters : dict
        Model name -> its :class:`~mi_lib.population.models.Parameter` tuple. Sliders are in
        physical units, from 0 to ``unit * max_x`` in steps of ``unit / 4``.
    redraw : callable
        ``redraw(model_name, theta, seed)`` draws the figure for the physical parameters
        ``theta``; called once at start and on every change.
    initial : dict, optional
        Model name -> initial physical values; default the CMA-ES start ``2 * unit``.
    seed : int
        Initial seed; the "resample" button draws with the next one.

    Returns
    -------
    ipywidgets.VBox
        The explorer, to ``display``.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    initial = initial or {}
    sliders = {}
    for name, params in parameters.items():
        start = initial.get(name, [2.0 * p.unit for p in params])
        sliders[name] = [
            widgets.FloatSlider(value=float(v), min=0.0, max=p.unit * max_x, step=p.unit / 4,
                                description=f"{p.name} ({p.units})", continuous_update=False,
                                style={"description_width": "210px"},
                                layout=widgets.Layout(width="520px"))
            for p, v in zip(params, start, strict=True)]
    choice = widgets.Dropdown(options=list(parameters), description="model")
    seed_box = widgets.IntText(value=int(seed), description="seed",
                               layout=widgets.Layout(width="180px"))
    button = widgets.Button(description="resample", icon="refresh")
    box = widgets.VBox(sliders[choice.value])
    out = widgets.Output()

    def update(*_):
        box.children = sliders[choice.value]
        with out:
            out.clear_output(wait=True)
            redraw(choice.value, [s.value for s in sliders[choice.value]], seed_box.value)
            plt.show()

    def resample(_):
        seed_box.value += 1  # triggers update

    for control in [choice, seed_box, *[s for group in sliders.values() for s in group]]:
        control.observe(update, names="value")
    button.on_click(resample)
    update()
    return widgets.VBox([widgets.HBox([choice, seed_box, button]), box, out])


# --- personalization (notebook 03) -----------------------------------------------------


def personalization_history(runs: dict, title: str = ""):
    """Paper Fig. 2: energy (top), covariance coefficients (middle) and parameters
    (bottom) across CMA-ES generations, one column per run.

    ``runs`` maps a label to a ``personalization_*.nc`` dataset.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, len(runs), figsize=(5.2 * len(runs), 8.4), squeeze=False,
                             sharex="col")
    for j, (label, ds) in enumerate(runs.items()):
        g = ds["generation"].values
        ax = axes[0, j]
        ax.plot(g, ds["energy_median"], color="0.6", lw=1, label="median candidate")
        ax.plot(g, ds["energy_best"], color="0.3", lw=0.8, ls=":", label="best candidate")
        ax.plot(g, ds["energy_at_mean"], color="tab:red", lw=1.2, label="at the search mean")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"{label}\n{ds.attrs['divergence'].upper()}, {ds.attrs['dims']}D, "
                     f"stop: {ds.attrs['stop_reason']}", fontsize=9)
        ax.set_ylabel("energy")
        ax.legend(fontsize=7)
        ax = axes[1, j]
        cov = ds["covariance"].values
        names = list(ds["param"].values)
        for a in range(len(names)):
            for b in range(a, len(names)):
                ax.plot(g, cov[:, a, b], lw=1 if a == b else 0.7, ls="-" if a == b else "--",
                        label=f"C[{a},{b}]")
        ax.set_yscale("symlog", linthresh=1e-2)
        ax.set_ylabel(r"covariance $\sigma^2 C$ (CMA units)")
        ax.legend(fontsize=6, ncol=2)
        ax = axes[2, j]
        for a, name in enumerate(names):
            ax.plot(g, ds["mean_physical"][:, a], label=f"{name} [{ds['units'].values[a]}]")
        ax.set_xlabel("generation")
        ax.set_ylabel("parameter (physical)")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
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


def divergence_comparison(runs: dict):
    """KL vs MMD runs of each model: energy relative to the first generation's median
    (left) and the physical parameters across generations (right, solid KL, dashed MMD).

    ``runs`` maps ``(model, divergence)`` to a ``personalization_*.nc`` dataset.
    """
    import matplotlib.pyplot as plt

    models = sorted({m for m, _ in runs})
    fig, axes = plt.subplots(len(models), 2, figsize=(11, 3.4 * len(models)), squeeze=False)
    for i, model in enumerate(models):
        for div, ls in (("kl", "-"), ("mmd", "--")):
            ds = runs.get((model, div))
            if ds is None:
                continue
            g = ds["generation"].values
            rel = ds["energy_at_mean"] / float(ds["energy_median"][0])
            axes[i, 0].plot(g, rel, ls=ls, label=div.upper())
            for a, name in enumerate(ds["param"].values):
                axes[i, 1].plot(g, ds["mean_physical"][:, a], ls=ls, color=f"C{a}",
                                label=f"{name} ({div.upper()})")
        axes[i, 0].axhline(0.5, color="k", lw=0.5, ls=":")
        axes[i, 0].set_ylabel(f"{model}\nenergy / first median")
        axes[i, 0].legend(fontsize=8)
        axes[i, 1].set_ylabel("parameter (physical)")
        axes[i, 1].legend(fontsize=6, ncol=2)
    for ax in axes[-1]:
        ax.set_xlabel("generation")
    fig.tight_layout()
    return fig


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
