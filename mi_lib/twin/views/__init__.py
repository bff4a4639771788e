"""Figures of the digital twin; they draw, never compute science.

=================================  =========================================================
:mod:`~mi_lib.twin.views.scene`    static pyvista renderings of the heart, image grids, the
                                   AHA bull's-eye
:mod:`~mi_lib.twin.views.signals`  QRS panels and the QRS sensitivity figures
=================================  =========================================================

3-D views are rendered off-screen (``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` on
machines without a display) into images that matplotlib lays out, so the notebooks' HTML
reports embed plain PNGs.
"""

from .scene import (
                    BEST_VIEW,
                    BULLSEYE,
                    TISSUE_COLOURS,
                    VIEWS,
                    activation_renders,
                    aha_figure,
                    body_grid,
                    bullseye,
                    bullseye_angle,
                    bullseye_radius,
                    fibre_figure,
                    fibre_glyphs,
                    helix_angles,
                    helix_profile,
                    image_grid,
                    interactive_scene,
                    point_clouds,
                    polar_tissue,
                    render,
                    short_axis,
                    tissue_bullseyes,
                    tissue_renders,
)
from .signals import (
                    dtw_heatmap,
                    duration_boxes,
                    precordial_panels,
                    qrs_panels,
                    r_progression,
                    scenario_dtw_maps,
)

__all__ = ["BEST_VIEW", "BULLSEYE", "TISSUE_COLOURS", "VIEWS", "activation_renders",
           "aha_figure", "body_grid", "bullseye", "bullseye_angle", "bullseye_radius",
           "dtw_heatmap", "duration_boxes", "fibre_figure", "fibre_glyphs", "helix_angles", "helix_profile",
           "image_grid", "interactive_scene", "point_clouds", "polar_tissue",
           "precordial_panels", "qrs_panels", "r_progression", "render",
           "scenario_dtw_maps", "short_axis", "tissue_bullseyes", "tissue_renders"]
