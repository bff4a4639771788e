"""3-D renderings of infarcts in the myocardium (off-screen pyvista, notebook 02) and their
figure.

Plotting only: every number shown is computed elsewhere.
"""

from __future__ import annotations

import numpy as np


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
