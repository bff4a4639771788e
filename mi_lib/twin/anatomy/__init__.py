"""Biventricular anatomies for the digital twin (paper 004 §III-A): import in three formats,
our own tetrahedral mesher, checks. Units are mm.

:mod:`~mi_lib.twin.anatomy.mesh`      :class:`Anatomy`, surface classes, mesh geometry, refinement
:mod:`~mi_lib.twin.anatomy.surfaces`  readers of the labelled surface and the four-surface set,
                                      seam gaps
:mod:`~mi_lib.twin.anatomy.winding`   generalized winding number (fast tree evaluation)
:mod:`~mi_lib.twin.anatomy.voxels`    ray-parity voxelisation (closed and open surfaces), the
                                      Kuhn split into tetrahedra
:mod:`~mi_lib.twin.anatomy.mesher`    :func:`mesh_surface`: the voxel mesh snapped onto the surface
:mod:`~mi_lib.twin.anatomy.loader`    :func:`load_anatomy` (three formats), checks of tetrahedra

The formats, the mesher, open seams and repairs: ``docs/twin/anatomy.md``.
"""

from .loader import check_tets, load_anatomy
from .mesh import (
    BASE,
    CLASSES,
    ENDOCARDIUM,
    EPICARDIUM,
    LV_ENDOCARDIUM,
    RV_ENDOCARDIUM,
    SEAM_GAP_EDGES,
    SURFACE_PARTS,
    Anatomy,
    AnatomyError,
    boundary_faces,
    node_components,
    refine_uniform,
    signed_volumes,
    tet_quality,
    unique_edges,
)
from .surfaces import read_surface
from .voxels import box_mesh, voxel_tets, voxel_votes, voxelize, voxelize_open
from .winding import WindingNumber, solid_angles

__all__ = [
    "BASE",
    "CLASSES",
    "ENDOCARDIUM",
    "EPICARDIUM",
    "LV_ENDOCARDIUM",
    "RV_ENDOCARDIUM",
    "SEAM_GAP_EDGES",
    "SURFACE_PARTS",
    "Anatomy",
    "AnatomyError",
    "WindingNumber",
    "boundary_faces",
    "box_mesh",
    "check_tets",
    "load_anatomy",
    "node_components",
    "read_surface",
    "refine_uniform",
    "signed_volumes",
    "solid_angles",
    "tet_quality",
    "unique_edges",
    "voxel_tets",
    "voxel_votes",
    "voxelize",
    "voxelize_open",
]
