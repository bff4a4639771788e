"""Figures of the twin's anatomy: static pyvista renderings, image grids, the AHA bull's-eye.

3-D views are rendered off-screen (``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` on
machines without a display) into images that matplotlib lays out, so the notebooks'
HTML reports embed plain PNGs. Hearts are shown in the body frame of
:func:`mi_lib.twin.forward.body_rotation` (x left, y posterior, z superior), so "anterior"
means the view of a clinician facing the patient.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Wedge

from ..coordinates import AHA_NAMES
from ..forward import TwinModel, body_rotation

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
           categories: bool = False, clip: str | None = None, window_size=(420, 420),
           scalar_bar: bool = False, opacity: float = 1.0, glyphs=None,
           zoom: float = 1.3) -> np.ndarray:
    """One off-screen rendering (an ``(h, w, 3)`` uint8 image) of a mesh in the body frame.

    ``view`` is a name of :data:`VIEWS` or a ``(direction, up)`` pair; ``clip`` a normal
    (``"x"``, a vector; see :func:`short_axis`) through the heart's centre that cuts away
    the half it points to; ``glyphs`` an optional ``pyvista.PolyData`` (e.g. fibre
    arrows) drawn on top.
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
    direction, up = VIEWS[view] if isinstance(view, str) else view
    dist = 4.0 * float(np.ptp(np.asarray(grid.points), axis=0).max())
    pl.camera_position = [tuple(dist * np.asarray(direction)), (0.0, 0.0, 0.0), up]
    pl.camera.zoom(zoom)
    img = pl.screenshot(return_img=True)
    pl.close()
    return img


def short_axis(model: TwinModel) -> tuple[np.ndarray, tuple]:
    """Clip normal and view ``(direction, up)`` for a mid-ventricular short-axis section
    seen from the base (body frame): the basal half is cut away."""
    rot = body_rotation(model.coords.axes)
    base = rot @ np.asarray(model.coords.axes["long_axis"])
    anterior = np.array([0.0, -1.0, 0.0])
    up = anterior - (anterior @ base) * base
    return base, (tuple(base), tuple(up / np.linalg.norm(up)))


def image_grid(images, titles=(), ncols: int = 4, size: float = 2.6, suptitle: str = "",
               colorbar: dict | None = None):
    """Lay out rendered images in a grid; ``colorbar`` = {cmap, vmin, vmax, label}."""
    n = len(images)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3),
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, img, title in zip(axes.ravel(), images, list(titles) + [""] * n, strict=False):
        ax.imshow(img)
        ax.set_title(title, fontsize=9)
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


def aha_legend() -> str:
    """The segment names as a compact text table."""
    return "\n".join(f"{k:2d} {v}" for k, v in AHA_NAMES.items())
