"""Figures of notebook 07: loss curves, Dice per scenario and model (Fig. 10), ground
truth beside prediction on the point cloud (Fig. 9), reconstruction against inference
errors (§IV-E.2), and the detection limit (Fig. 11); and of notebook 09: posterior maps,
reliability diagrams, robustness curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..twin.views.scene import TISSUE_COLOUR_LIST, VIEWS, image_grid
from .metrics import LOCATIONS, TRANSMURALITIES, scenario_parts


def loss_curves(history: pd.DataFrame, terms=("total", "ce", "dice", "pc", "qrs", "kl",
                                              "compact", "size", "spa"), best_epoch=None):
    """One panel per loss term: training and validation per epoch (log scale), the best
    epoch marked."""
    terms = [t for t in terms if t in history and history[t].notna().any()]
    ncols = min(len(terms), 5)
    nrows = int(np.ceil(len(terms) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.5 * nrows), squeeze=False,
                             layout="constrained")
    for ax in axes.ravel()[len(terms):]:
        ax.axis("off")
    for ax, term in zip(axes.ravel(), terms, strict=False):
        for split, style in (("train", "-"), ("validation", "--")):
            h = history[history.split == split]
            ax.plot(h.epoch, h[term], style, label=split)
        if best_epoch:
            ax.axvline(best_epoch, color="0.6", lw=0.8)
        ax.set_title(term, fontsize=10)
        ax.set_xlabel("epoch")
        if (history[term] > 0).all():
            ax.set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    return fig


def _short(name: str) -> str:
    loc, extent = scenario_parts(name)
    return f"{loc.replace('_', ' ')}\n{'T' if extent == 'transmural' else 'S'}"


def scenario_boxes(metrics: pd.DataFrame, models, metric: str = "scar_dice", labels=None,
                   title: str = ""):
    """Box plots of ``metric`` per scenario (subendocardial then transmural, the paper's
    location order), one box per model side by side (Fig. 10)."""
    order = [f"{loc}_{ext}" for ext in TRANSMURALITIES for loc in LOCATIONS]
    order = [s for s in order if s in set(metrics.scenario)]
    models = list(models)
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(min(14.0, max(8.0, 0.85 * len(order))), 3.8),
                           layout="constrained")
    colours = plt.cm.tab10(np.arange(len(models)))
    for k, model in enumerate(models):
        data = [metrics[(metrics.model == model) & (metrics.scenario == s)][metric].dropna()
                for s in order]
        pos = np.arange(len(order)) + (k - (len(models) - 1) / 2) * width
        bp = ax.boxplot(data, positions=pos, widths=width * 0.9, patch_artist=True,
                        showfliers=False, manage_ticks=False)
        for patch in bp["boxes"]:
            patch.set_facecolor(colours[k])
            patch.set_alpha(0.7)
        ax.plot([], [], "s", color=colours[k], label=(labels or {}).get(model, model))
    ax.set_xticks(np.arange(len(order)), [_short(s) for s in order], fontsize=7)
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8, ncols=min(len(models), 4), loc="upper left")
    if title:
        ax.set_title(title)
    return fig


def cloud_render(points, labels, *, view="anterior", window_size=(420, 420), point_size=7.0,
                 zoom: float = 1.2) -> np.ndarray:
    """An off-screen pyvista rendering of a labelled point cloud (tissue colours), an
    ``(h, w, 3)`` image; ``view`` as :data:`mi_lib.twin.views.scene.VIEWS` (the cloud is
    taken as it is: pass body-frame points for the anatomical views)."""
    import pyvista as pv


    pts = np.asarray(points, float)
    pts = pts - pts.mean(0)
    cloud = pv.PolyData(pts)
    colours = (np.asarray([plt.matplotlib.colors.to_rgb(c) for c in TISSUE_COLOUR_LIST])
               * 255).astype(np.uint8)
    cloud.point_data["rgb"] = colours[np.clip(np.asarray(labels, int), 0, 2)]
    return _snapshot(cloud, pts, view, window_size, zoom, scalars="rgb", rgb=True,
                     render_points_as_spheres=True, point_size=point_size)


def _snapshot(cloud, pts, view, window_size, zoom, **mesh) -> np.ndarray:
    """Render ``cloud`` off-screen from ``view`` (the camera 4 extents away), cropped."""
    import pyvista as pv

    from ..twin.views.scene import _crop

    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background("white")
    pl.add_mesh(cloud, **mesh)
    direction, up = VIEWS[view] if isinstance(view, str) else view
    dist = 4.0 * float(np.ptp(pts, axis=0).max())
    pl.camera_position = [tuple(dist * np.asarray(direction)), (0.0, 0.0, 0.0), up]
    pl.camera.zoom(zoom)
    img = pl.screenshot(return_img=True)
    pl.close()
    return _crop(img)


def truth_and_prediction(points, pairs, *, view="anterior", ncols: int = 4, suptitle: str = ""):
    """Fig. 9: for each ``(title, truth, prediction)`` of ``pairs`` on one cloud, the
    ground truth beside the prediction."""
    images, titles = [], []
    for title, truth, pred in pairs:
        images += [cloud_render(points, truth, view=view), cloud_render(points, pred, view=view)]
        titles += [f"{title}\nground truth", f"{title}\nprediction"]
    return image_grid(images, titles, ncols=ncols, size=2.8, suptitle=suptitle)


def error_scatter(table: pd.DataFrame, x: str, y: str, ax=None, label: str = ""):
    """Scatter of ``y`` against ``x`` with the least-squares line and its r²."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2), layout="constrained")
    xs, ys = table[x].to_numpy(float), table[y].to_numpy(float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    ax.scatter(xs[ok], ys[ok], s=8, alpha=0.6)
    varied = ok.sum() > 2 and np.ptp(xs[ok]) > 0 and np.ptp(ys[ok]) > 0
    r2 = float(np.corrcoef(xs[ok], ys[ok])[0, 1] ** 2) if varied else float("nan")
    if varied:
        a, b = np.polyfit(xs[ok], ys[ok], 1)
        grid = np.linspace(xs[ok].min(), xs[ok].max(), 10)
        ax.plot(grid, a * grid + b, color="C3")
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(y.replace("_", " "))
    ax.set_title(f"{label} r² = {r2:.3f}", fontsize=10)
    return ax


def lead_dtw_map(dtw: pd.DataFrame, leads, title: str = ""):
    """Fig. 11a: mean DTW to the baseline per (extent, r_ab) row and lead."""
    table = dtw.groupby(["extent", "r_ab"])[list(leads)].mean()
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(table) + 1.2), layout="constrained")
    im = ax.imshow(table.to_numpy(), cmap="magma", aspect="auto")
    ax.set_xticks(range(len(leads)), list(leads))
    ax.set_yticks(range(len(table)), [f"{e} r_ab={r:g}" for e, r in table.index])
    fig.colorbar(im, label="DTW to baseline")
    ax.set_title(title or "Fig. 11a: DTW to the healthy QRS per lead")
    return fig


def detection_curves(scores: pd.DataFrame, limit: float | None = None):
    """Fig. 11b: mean scar and BZ Dice against ``r_ab`` per model and extent; ``limit``
    marks a reference radius."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), layout="constrained", sharey=True)
    for ax, metric in zip(axes, ("scar_dice", "bz_dice"), strict=True):
        for (name, extent), g in scores.groupby(["model", "extent"]):
            m = g.groupby("r_ab")[metric].mean()
            ax.plot(m.index, m.values, "o-" if name != "trained" else "o--",
                    label=f"{name}, {extent}")
        if limit is not None:
            ax.axvline(limit, color="0.6", lw=0.8)
        ax.set_xlabel("apical r_ab")
        ax.set_title(f"Fig. 11b: {metric.replace('_', ' ')}")
    axes[0].set_ylabel("mean over test subjects")
    axes[1].legend(fontsize=8)
    return fig


def cloud_values(points, values, *, cmap="magma", clim=(0.0, 1.0), view="anterior",
                 window_size=(420, 420), point_size=7.0, zoom: float = 1.2) -> np.ndarray:
    """An off-screen rendering of a point cloud coloured by a value per point (e.g. a
    probability or an entropy), an ``(h, w, 3)`` image; as :func:`cloud_render`."""
    import pyvista as pv


    pts = np.asarray(points, float)
    pts = pts - pts.mean(0)
    cloud = pv.PolyData(pts)
    cloud.point_data["value"] = np.asarray(values, float)
    return _snapshot(cloud, pts, view, window_size, zoom, scalars="value", cmap=cmap,
                     clim=clim, render_points_as_spheres=True, point_size=point_size,
                     show_scalar_bar=False)


def posterior_panels(cases, *, view="anterior", size: float = 2.6):
    """Notebook 09's posterior maps: one row per case ``(title, points, truth,
    probability (N, 3), entropy (N,), mutual_information (N,))``: the truth, P(scar),
    P(border zone), the predictive entropy (0 to log 3 nats) and the mutual information
    (0 to log 2)."""
    columns = ("truth", "P(scar)", "P(border zone)", "entropy", "mutual information")
    fig, axes = plt.subplots(len(cases), len(columns), squeeze=False, layout="constrained",
                             figsize=(size * len(columns), (size + 0.3) * len(cases)))
    for ax in axes.ravel():
        ax.axis("off")
    for i, (title, points, truth, prob, ent, mi) in enumerate(cases):
        prob = np.asarray(prob, float)
        images = [cloud_render(points, truth, view=view),
                  cloud_values(points, prob[:, 2], cmap="Reds", view=view),
                  cloud_values(points, prob[:, 1], cmap="Oranges", view=view),
                  cloud_values(points, ent, cmap="viridis", clim=(0.0, np.log(3)), view=view),
                  cloud_values(points, mi, cmap="viridis", clim=(0.0, np.log(2)), view=view)]
        for j, img in enumerate(images):
            axes[i, j].imshow(img)
            axes[i, j].set_title(columns[j] if i == 0 else "", fontsize=10)
        axes[i, 0].text(-0.05, 0.5, title, transform=axes[i, 0].transAxes, rotation=90,
                        ha="right", va="center", fontsize=9)
    return fig


def reliability_diagrams(curves: dict, size: float = 3.3):
    """Reliability diagrams: ``curves`` class -> {version: :func:`~mi_lib.inverse.
    uncertainty.reliability` output}; observed frequency against mean probability per
    bin (marker area ~ the bin's points), the diagonal being perfect calibration."""
    fig, axes = plt.subplots(1, len(curves), figsize=(size * len(curves), size),
                             squeeze=False, layout="constrained")
    for ax, (name, versions) in zip(axes[0], curves.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--")
        for k, (label, r) in enumerate(versions.items()):
            ok = r["count"] > 0
            w = r["count"][ok] / r["count"][ok].max()
            ax.plot(r["confidence"][ok], r["frequency"][ok], color=f"C{k}", lw=1.2, label=label)
            ax.scatter(r["confidence"][ok], r["frequency"][ok], s=10 + 60 * w, color=f"C{k}")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"predicted P({name})")
        ax.set_ylabel("observed frequency")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
    return fig


def robustness_curves(table: pd.DataFrame, metric: str = "scar_dice", size: float = 2.8):
    """One panel per perturbation: ``metric`` (mean over test cases) against the
    perturbation's strength, one line per model; ``table`` as ``robustness.csv``."""
    kinds = list(dict.fromkeys(table["perturbation"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(size * len(kinds), size + 0.3),
                             squeeze=False, layout="constrained", sharey=True)
    for ax, kind in zip(axes[0], kinds, strict=True):
        part = table[table["perturbation"] == kind]
        for k, (model, g) in enumerate(part.groupby("model", sort=False)):
            g = g.sort_values("level")
            ax.plot(g["level"], g[metric], marker="o", color=f"C{k}", label=model)
        ticks = part.drop_duplicates("level").sort_values("level")
        ax.set_xticks(ticks["level"])
        ax.set_xticklabels(["clean" if lv == 0 else f"{st:g}" for lv, st in
                            zip(ticks["level"], ticks["strength"], strict=True)], fontsize=8)
        ax.set_title(kind.replace("_", " "), fontsize=10)
        ax.set_xlabel("strength")
    axes[0, 0].set_ylabel(metric.replace("_", " "))
    axes[0, -1].legend(fontsize=7)
    return fig
