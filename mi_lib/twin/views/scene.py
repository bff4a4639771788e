"""Figures of the twin's anatomy: static pyvista renderings, image grids, the AHA bull's-eye.

3-D views are rendered off-screen (``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` on
machines without a display) into images that matplotlib lays out, so the notebooks'
HTML reports embed plain PNGs. Hearts are shown in the body frame of
:func:`mi_lib.twin.forward.body_rotation` (x left, y posterior, z superior), so "anterior"
means the view of a clinician facing the patient.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Wedge

from ..anatomy import EPICARDIUM
from ..coordinates import AHA_LEVELS
from ..forward import TwinModel, body_rotation
from ..scenarios import BORDER_ZONE, HEALTHY, SCAR, get_scenario, tissue_labels

#: camera direction (from the heart towards the camera) and view-up, body frame
VIEWS = {
    "anterior": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "posterior": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "left": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "inferior": ((0.0, 0.0, -1.0), (0.0, -1.0, 0.0)),
}


def body_grid(model: TwinModel, point_data: dict | None = None, cell_data: dict | None = None):
    """The mesh as a ``pyvista.UnstructuredGrid`` in the body frame (centred on the heart)."""
    grid = model.anatomy.to_pyvista()
    rot = body_rotation(model.coords.axes)
    pts = model.anatomy.points
    grid.points = (pts - pts.mean(axis=0)) @ rot.T
    for k, v in (point_data or {}).items():
        grid.point_data[k] = np.asarray(v)
    for k, v in (cell_data or {}).items():
        grid.cell_data[k] = np.asarray(v)
    return grid


def _surface(grid):
    """Outer surface of a volume mesh (the algorithm named where pyvista asks for it)."""
    try:
        return grid.extract_surface(algorithm="dataset_surface")
    except TypeError:  # pyvista < 0.47
        return grid.extract_surface()


def render(grid, scalars=None, *, view="anterior", cmap="viridis", clim=None,
           categories: bool = False, clip: str | None = None, window_size=(560, 560),
           scalar_bar: bool = False, opacity: float = 1.0, glyphs=None,
           zoom: float = 1.3, labels: tuple | None = None, crop: bool = True) -> np.ndarray:
    """One off-screen rendering (an ``(h, w, 3)`` uint8 image) of a mesh in the body frame.

    ``view`` is a name of :data:`VIEWS` or a ``(direction, up)`` pair; ``clip`` a normal
    (``"x"``, a vector; see :func:`short_axis`) through the heart's centre that cuts away
    the half it points to; ``glyphs`` an optional ``pyvista.PolyData`` (e.g. fibre
    arrows) drawn on top; ``labels`` an optional ``(points (k, 3), texts)`` pair of
    body-frame positions and the text shown at each. ``crop`` cuts the white margin
    away, so the heart fills the image.
    """
    import pyvista as pv

    mesh = _surface(grid) if clip is None else grid.clip(normal=clip, origin=(0, 0, 0))
    pl = pv.Plotter(off_screen=True, window_size=list(window_size))
    pl.set_background("white")
    kw = {"cmap": cmap, "clim": clim, "show_scalar_bar": scalar_bar, "opacity": opacity,
          "categories": categories, "smooth_shading": False}
    if scalars is None:
        pl.add_mesh(mesh, color="lightgray", opacity=opacity)
    else:
        pl.add_mesh(mesh, scalars=scalars, **kw)
    if glyphs is not None:
        pl.add_mesh(glyphs, scalars=glyphs.active_scalars_name, cmap="coolwarm",
                    clim=(-90, 90), show_scalar_bar=False, line_width=2.5)
    if labels is not None:
        pl.add_point_labels(np.asarray(labels[0], float), list(labels[1]), font_size=20,
                            point_size=1, shape_opacity=0.6, always_visible=True)
    direction, up = VIEWS[view] if isinstance(view, str) else view
    dist = 4.0 * float(np.ptp(np.asarray(grid.points), axis=0).max())
    pl.camera_position = [tuple(dist * np.asarray(direction)), (0.0, 0.0, 0.0), up]
    pl.camera.zoom(zoom)
    img = pl.screenshot(return_img=True)
    pl.close()
    return _crop(img) if crop else img


def _crop(img: np.ndarray, margin: int = 6) -> np.ndarray:
    """The image cut to the bounding box of its non-white pixels plus ``margin``."""
    rows, cols = np.nonzero((img < 250).any(axis=2))
    if not len(rows):
        return img
    r0, r1 = max(rows.min() - margin, 0), min(rows.max() + margin + 1, img.shape[0])
    c0, c1 = max(cols.min() - margin, 0), min(cols.max() + margin + 1, img.shape[1])
    return img[r0:r1, c0:c1]


def short_axis(model: TwinModel) -> tuple[np.ndarray, tuple]:
    """Clip normal and view ``(direction, up)`` for a mid-ventricular short-axis section
    seen from the base (body frame): the basal half is cut away."""
    rot = body_rotation(model.coords.axes)
    base = rot @ np.asarray(model.coords.axes["long_axis"])
    anterior = np.array([0.0, -1.0, 0.0])
    up = anterior - (anterior @ base) * base
    return base, (tuple(base), tuple(up / np.linalg.norm(up)))


def image_grid(images, titles=(), ncols: int = 4, size: float = 3.4, suptitle: str = "",
               colorbar: dict | None = None):
    """Lay out rendered images in a grid; ``colorbar`` = {cmap, vmin, vmax, label}.

    ``size`` is each panel's width in inches; a constrained layout keeps titles,
    suptitle and colour bar clear of each other.
    """
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + (1.0 if colorbar else 0.0),
                                                    (size + 0.45) * nrows + 0.4),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, list(titles) + [""] * n, strict=False):
        ax.imshow(img)
        ax.set_title(title, fontsize=10)
    if colorbar:
        sm = plt.cm.ScalarMappable(cmap=colorbar["cmap"], norm=plt.Normalize(
            colorbar["vmin"], colorbar["vmax"]))
        fig.colorbar(sm, ax=axes.ravel().tolist(), shrink=0.6, label=colorbar.get("label", ""))
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def fibre_glyphs(model: TwinModel, n: int = 2500, seed: int = 0, length: float = 5.0):
    """Arrows along the fibres of ``n`` random surface elements, coloured by helix angle."""
    import pyvista as pv

    a, c = model.anatomy, model.coords
    f = model.fibres[0]
    on_surface = (a.surface_class[a.tets] > 0).sum(axis=1) >= 3
    idx = np.random.default_rng(seed).choice(np.flatnonzero(on_surface),
                                             min(n, int(on_surface.sum())), replace=False)
    helix = helix_angles(model)[idx]
    rot = body_rotation(c.axes)
    centres = (a.points[a.tets[idx]].mean(axis=1) - a.points.mean(axis=0)) @ rot.T
    cloud = pv.PolyData(centres)
    cloud["fibre"] = f[idx] @ rot.T
    cloud["helix"] = helix
    arrows = cloud.glyph(orient="fibre", scale=False, factor=length,
                         geom=pv.Line((-0.5, 0, 0), (0.5, 0, 0)))
    arrows.set_active_scalars("helix")
    return arrows


def helix_angles(model: TwinModel) -> np.ndarray:
    """Helix angle (deg) of the fibre of every tetrahedron: its angle from the
    circumferential towards the apicobasal direction of the model's local frame."""
    longitudinal = model.frame[0]
    return np.degrees(np.arcsin(np.clip(np.sum(model.fibres[0] * longitudinal, axis=1),
                                        -1.0, 1.0)))


def helix_profile(model: TwinModel, bins: int = 10):
    """Median helix angle (deg) of the LV elements per transmural bin: ``(tm mid, angle)``."""
    a, c = model.anatomy, model.coords
    helix = helix_angles(model)
    tm = c.tm[a.tets].mean(axis=1)
    lv = (c.tv[a.tets].max(axis=1) == 0) & (c.ab[a.tets].mean(axis=1) > 0.3)
    edges = np.linspace(0, 1, bins + 1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    med = [np.median(helix[lv & (tm >= lo) & (tm < hi)]) for lo, hi in zip(edges[:-1],
                                                                            edges[1:],
                                                                            strict=True)]
    return mid, np.array(med)


# ----------------------------------------------------------------------------- bull's-eye

#: polar layout: segment -> (ring, start angle deg, end angle deg); ring 0 = apex disc.
#: Standard orientation: anterior at the top, septum on the left, lateral on the right.
def _bullseye_layout():
    layout = {17: (0, 0.0, 360.0)}
    base = {1: 90, 2: 150, 3: 210, 4: 270, 5: 330, 6: 30}
    for seg, centre in base.items():
        layout[seg] = (3, centre - 30.0, centre + 30.0)
        layout[seg + 6] = (2, centre - 30.0, centre + 30.0)
    for seg, centre in {13: 90, 14: 180, 15: 270, 16: 0}.items():
        layout[seg] = (1, centre - 45.0, centre + 45.0)
    return layout


BULLSEYE = _bullseye_layout()


def bullseye(values, ax=None, *, cmap="viridis", vmin=None, vmax=None, label: str = "",
             annotate: bool = True, fmt: str = "{:.2f}", title: str = ""):
    """AHA 17-segment bull's-eye of ``values`` (index 1..17, or a dict segment -> value).

    Rings from the centre: apex (17), apical (13-16), mid (7-12), basal (1-6); anterior at
    the top, septum on the left (Cerqueira et al. 2002).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.4))
    vals = {k: values[k] for k in range(1, 18)} if not isinstance(values, dict) else values
    finite = [v for v in vals.values() if v is not None and np.isfinite(v)]
    vmin = min(finite) if vmin is None else vmin
    vmax = max(finite) if vmax is None else vmax
    norm = plt.Normalize(vmin, vmax if vmax > vmin else vmin + 1)
    cm = plt.get_cmap(cmap)
    for seg, (ring, a0, a1) in BULLSEYE.items():
        v = vals.get(seg, np.nan)
        color = "white" if v is None or not np.isfinite(v) else cm(norm(v))
        r_out = ring + 1.0
        width = 1.0
        ax.add_patch(Wedge((0, 0), r_out, a0, a1, width=width, facecolor=color,
                           edgecolor="k", lw=0.8))
        if annotate:
            rr = 0.0 if ring == 0 else ring + 0.5
            ang = np.deg2rad(0.5 * (a0 + a1))
            txt = f"{seg}" if v is None or not np.isfinite(v) else f"{seg}\n{fmt.format(v)}"
            ax.text(rr * np.cos(ang), rr * np.sin(ang), txt, ha="center", va="center",
                    fontsize=6.5)
    ax.set_xlim(-4.1, 4.1)
    ax.set_ylim(-4.1, 4.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.text(0, 4.05, "anterior", ha="center", va="bottom", fontsize=7)
    ax.text(-4.05, 0, "septal", ha="right", va="center", fontsize=7, rotation=90)
    ax.text(4.05, 0, "lateral", ha="left", va="center", fontsize=7, rotation=-90)
    ax.text(0, -4.05, "inferior", ha="center", va="top", fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    sm = plt.cm.ScalarMappable(cmap=cm, norm=norm)
    if label:
        plt.colorbar(sm, ax=ax, shrink=0.7, label=label)
    return ax



# ----------------------------------------------------------------------------- tissue maps

#: colours of the tissue labels (healthy, border zone, scar), in label order
TISSUE_COLOURS = {HEALTHY: "lightgray", BORDER_ZONE: "orange", SCAR: "firebrick"}
#: the same colours as a list indexed by label
TISSUE_COLOUR_LIST = [TISSUE_COLOURS[k] for k in sorted(TISSUE_COLOURS)]

#: the view that shows each infarct location best ("section": the short-axis section)
BEST_VIEW = {"septal": "section", "apical": "inferior", "anterior_extensive": "anterior",
             "anterior_limited": "anterior", "lateral": "left", "inferior": "inferior",
             "inferolateral": "posterior"}


def _tissue_cmap():
    from matplotlib.colors import ListedColormap

    return ListedColormap(TISSUE_COLOUR_LIST)


def bullseye_radius(ab, levels=AHA_LEVELS) -> np.ndarray:
    """Radius of the bull's-eye at apicobasal coordinate ``ab``: piecewise linear, so the
    AHA levels fall on the rings of :func:`bullseye` (apex cap 0-1, apical 1-2, mid 2-3,
    basal 3-4)."""
    return np.interp(ab, [0.0, *levels, 1.0], [0.0, 1.0, 2.0, 3.0, 4.0])


def bullseye_angle(rt) -> np.ndarray:
    """Polar angle (deg) of rotational coordinate ``rt`` in the AHA orientation of
    :func:`bullseye`: the anterior segment centred at the top, septum on the left."""
    return 120.0 - 360.0 * np.asarray(rt, float)


def polar_tissue(coords, labels, ax=None, *, n_radial: int = 24, n_angular: int = 90,
                 title: str = ""):
    """The LV's tissue as a bull's-eye projection of the coordinates (as in Cobiveco):
    radius from ``ab`` (:func:`bullseye_radius`), angle from ``rt``; each cell shows the
    worst tissue through the wall (scar over border zone over healthy), so
    subendocardial and transmural infarcts read alike. AHA segment borders drawn in black.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4, 3.4))
    lv = coords.lv
    r = bullseye_radius(coords.ab[lv])
    theta = np.mod(bullseye_angle(coords.rt[lv]), 360.0)
    i = np.minimum((r / 4.0 * n_radial).astype(int), n_radial - 1)
    j = np.minimum((theta / 360.0 * n_angular).astype(int), n_angular - 1)
    worst = np.full((n_radial, n_angular), -1)
    np.maximum.at(worst, (i, j), np.asarray(labels)[lv].astype(int))
    empty = worst < 0
    if empty.any() and (~empty).any():  # cells no node falls in (near the apex): nearest cell's
        from scipy.spatial import cKDTree

        ci, cj = np.meshgrid((np.arange(n_radial) + 0.5) * 4.0 / n_radial,
                             np.deg2rad((np.arange(n_angular) + 0.5) * 360.0 / n_angular),
                             indexing="ij")
        xy = np.stack([ci * np.cos(cj), ci * np.sin(cj)], axis=-1)
        _, k = cKDTree(xy[~empty]).query(xy[empty])
        worst[empty] = worst[~empty][k]
    rr, tt = np.meshgrid(np.linspace(0, 4, n_radial + 1),
                         np.deg2rad(np.linspace(0, 360, n_angular + 1)), indexing="ij")
    ax.pcolormesh(rr * np.cos(tt), rr * np.sin(tt), np.ma.masked_less(worst, 0),
                  cmap=_tissue_cmap(), vmin=-0.5, vmax=2.5, shading="flat")
    # segment borders where aha_segments cuts rt: sixths (basal, mid), free-wall thirds
    # and the septum (apical)
    for ring, cuts in ((1, (0.0, 2 / 9, 4 / 9, 2 / 3)), (2, np.arange(6) / 6),
                       (3, np.arange(6) / 6)):
        for a in np.deg2rad(bullseye_angle(cuts)):
            ax.plot([ring * np.cos(a), (ring + 1) * np.cos(a)],
                    [ring * np.sin(a), (ring + 1) * np.sin(a)], color="k", lw=0.6)
    for ring in (1, 2, 3, 4):
        t = np.linspace(0, 2 * np.pi, 200)
        ax.plot(ring * np.cos(t), ring * np.sin(t), color="k", lw=0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return ax


def tissue_bullseyes(model: TwinModel, names, ncols: int = 4, size: float = 3.0,
                     suptitle: str = "scar (red) and border zone (orange), bull's-eye"):
    """:func:`polar_tissue` of every scenario in ``names`` on ``model``, in a grid;
    anterior at the top, septum on the left, apex in the centre."""
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.4) * nrows + 0.4),
                             squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names, strict=False):
        polar_tissue(model.coords, tissue_labels(model.coords, get_scenario(name)), ax,
                     title=name.replace("_", " "))
    fig.suptitle(suptitle)
    return fig


def tissue_renders(model: TwinModel, names, *, views: dict = BEST_VIEW, size: float = 3.4,
                   ncols: int = 4):
    """Each scenario of ``names`` rendered from the view that shows its location best
    (:data:`BEST_VIEW`; septal infarcts on the short-axis section), in a grid."""
    normal, section = short_axis(model)
    imgs, titles = [], []
    for name in names:
        s = get_scenario(name)
        grid = body_grid(model, {"tissue": tissue_labels(model.coords, s).astype(float)})
        view = views.get(s.location, "anterior")
        imgs.append(render(grid, "tissue", view=section if view == "section" else view,
                           clip=normal if view == "section" else None,
                           cmap=TISSUE_COLOUR_LIST,
                           clim=(0, 2)))
        titles.append(f"{name.replace('_', ' ')}\n({view} view)")
    return image_grid(imgs, titles, ncols=ncols, size=size,
                      suptitle="scar (red) and border zone (orange)")


def activation_renders(model: TwinModel, maps: dict, *, vmax: float, views=("anterior",
                                                                         "posterior")):
    """Activation maps (``{name: (n,) ms}``) seen from each of ``views``, one row per map,
    on a common colour scale clipped at ``vmax``."""
    imgs, titles = [], []
    for name, at in maps.items():
        grid = body_grid(model, {"activation (ms)": np.minimum(at, vmax)})
        for v in views:
            imgs.append(render(grid, "activation (ms)", view=v, cmap="turbo", clim=(0, vmax)))
            titles.append(f"{name.replace('_', ' ')}, {v}")
    return image_grid(imgs, titles, ncols=2 * len(views) if len(views) < 3 else len(views),
                      colorbar={"cmap": "turbo", "vmin": 0, "vmax": vmax,
                                "label": "activation time (ms)"})


def interactive_scene(grid, scalars=None, *, cmap="viridis", clim=None, categories=False,
                      height: int = 520, title: str = ""):
    """A self-contained interactive 3-D scene (pyvista's vtk.js HTML export, no network
    needed) as an ``IPython.display.HTML`` iframe that notebooks and their HTML reports
    embed. Needs ``trame-vtk`` and ``trame-pyvista``."""
    import html
    import tempfile
    from pathlib import Path

    import pyvista as pv
    from IPython.display import HTML

    pl = pv.Plotter(off_screen=True, window_size=[800, height])
    pl.set_background("white")
    kw = {"color": "lightgray"} if scalars is None else {
        "scalars": scalars, "cmap": cmap, "clim": clim, "categories": categories}
    pl.add_mesh(_surface(grid), **kw)
    if title:
        pl.add_title(title, font_size=10)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scene.html"
        pl.trame.export_html(str(out)) if hasattr(pl, "trame") else pl.export_html(str(out))
        page = out.read_text()
    pl.close()
    return HTML(f'<iframe srcdoc="{html.escape(page)}" style="width:100%;height:{height}px;'
                'border:1px solid #ccc"></iframe>')


def point_clouds(clouds: list, title: str = ""):
    """Point clouds with tissue labels side by side: ``clouds`` is a list of ``(points
    (n, >=3), labels (n,), title)``."""
    fig = plt.figure(figsize=(5.5 * len(clouds), 5), layout="constrained")
    colours = np.array(TISSUE_COLOUR_LIST)
    for j, (pts, labs, name) in enumerate(clouds):
        ax = fig.add_subplot(1, len(clouds), j + 1, projection="3d")
        ax.scatter(*np.asarray(pts)[:, :3].T, c=colours[np.clip(labs, HEALTHY, SCAR)], s=2)
        ax.set_title(name, fontsize=10)
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def fibre_figure(model: TwinModel):
    """Fibres on the epicardium (anterior view) and through a mid-ventricular section,
    coloured by helix angle, beside the LV's measured transmural helix-angle profile."""
    grid, arrows = body_grid(model), fibre_glyphs(model)
    normal, section = short_axis(model)
    mid, helix = helix_profile(model)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), layout="constrained",
                             gridspec_kw={"width_ratios": [1, 1, 1.1]})
    for ax, img, title in ((axes[0], render(grid, view="anterior", glyphs=arrows, opacity=0.4),
                            "anterior view"),
                           (axes[1], render(grid, view=section, clip=normal, glyphs=arrows,
                                            opacity=0.4), "mid-ventricular section")):
        ax.imshow(img)
        ax.set_title(title)
        ax.axis("off")
    axes[2].plot(mid, helix, "o-", label="measured (median, LV)")
    axes[2].plot([0, 1], [60, -60], "k--", lw=1, label="rule: +60° → −60°")
    axes[2].set(xlabel="tm (endocardium → epicardium)", ylabel="helix angle (deg)")
    axes[2].legend(fontsize=8)
    return fig


def aha_figure(model: TwinModel):
    """The AHA segments of ``model``: each segment's share of the LV nodes as a
    bull's-eye, and the segments rendered from the front, the left and below, numbered
    where they reach the epicardium."""
    seg = np.asarray(model.segments)
    counts = np.bincount(seg, minlength=18)
    share = counts / max(counts[1:].sum(), 1)
    grid = body_grid(model, {"AHA": seg.astype(float)})
    pts = np.asarray(grid.points)
    epi = np.asarray(model.anatomy.surface_class) == EPICARDIUM
    present = [k for k in range(1, 18) if (epi & (seg == k)).any()]
    centres = np.array([pts[epi & (seg == k)].mean(axis=0) for k in present])
    colours = ["lightgray"] + [matplotlib.colors.to_hex(plt.get_cmap("tab20")(k % 20))
                               for k in range(17)]
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4), layout="constrained")
    bullseye(share, axes[0], cmap="Blues", vmin=0, vmax=share[1:].max() * 1.2,
             fmt="{:.2f}", title="share of LV nodes per segment")
    for ax, view in zip(axes[1:], ("anterior", "left", "inferior"), strict=True):
        facing = centres @ np.asarray(VIEWS[view][0]) > 0  # labels on the visible side
        ax.imshow(render(grid, "AHA", view=view, cmap=colours, clim=(-0.5, 17.5),
                         labels=(centres[facing], [str(k) for k, f in zip(present, facing, strict=True) if f])))
        ax.set_title(f"{view} view (grey: RV)")
        ax.axis("off")
    return fig
