"""The biventricular mesh: :class:`Anatomy` (tetrahedra with surface labels), the surface
classes and input constants, :class:`AnatomyError`, and the mesh's geometry (volumes,
quality, edges, boundary faces, components) and uniform refinement.

Formats and method: ``docs/twin/anatomy.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

#: Surface classes of the input format.
#: surface classes of the boundary nodes (0: interior node)
BASE, EPICARDIUM, LV_ENDOCARDIUM, RV_ENDOCARDIUM = 1, 2, 3, 4
#: endocardial classes (both ventricles)
ENDOCARDIUM = (LV_ENDOCARDIUM, RV_ENDOCARDIUM)
CLASSES = {BASE: "base", EPICARDIUM: "epicardium", LV_ENDOCARDIUM: "lv_endocardium",
           RV_ENDOCARDIUM: "rv_endocardium"}
SURFACE_SUFFIXES = (".vtp", ".vtk", ".ply", ".stl")
#: Default grid spacing (mm) of the tetrahedral mesh: axis edges have this length, face
#: and cube diagonals sqrt(2) and sqrt(3) times it (mean edge ~1.24 times it).
EDGE_LENGTH = 2.0
#: The four-surface input: file-name part -> class (``heart_epi.ply`` etc.).
SURFACE_PARTS = {"epi": EPICARDIUM, "endo_lv": LV_ENDOCARDIUM, "endo_rv": RV_ENDOCARDIUM,
                 "base": BASE}
#: Widest seam gap between the four surfaces that the mesher bridges, in edge lengths.
SEAM_GAP_EDGES = 3.0
#: Disconnected pieces below this fraction (of a surface's area, of a tetrahedral mesh's
#: volume) are specks, dropped with a warning; larger extra pieces are refused.
SPECK_FRACTION = 1e-3


class AnatomyError(ValueError):
    """A biventricular anatomy that cannot be used, with the file, the problem and the fix."""


@dataclass
class Anatomy:
    """A tetrahedral biventricular mesh with its surface labels.

    Attributes
    ----------
    points : (n, 3) float, mm
    tets : (m, 4) int, positively oriented
    surface_class : (n,) int8
        0 interior, else the :data:`CLASSES` label of the nearest input surface point
        (boundary nodes only).
    name : str
    source : str
    info : dict
        How it was made (edge length, units, dropped fragments, snapping).
    """

    points: np.ndarray
    tets: np.ndarray
    surface_class: np.ndarray
    name: str = "heart"
    source: str = ""
    info: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.points)

    @property
    def n_tets(self) -> int:
        return len(self.tets)

    def volumes(self) -> np.ndarray:
        """Signed volumes ``(m,)`` of the tetrahedra, mm^3."""
        return signed_volumes(self.points, self.tets)

    def edge_lengths(self) -> np.ndarray:
        """Lengths of the unique mesh edges, mm."""
        e = unique_edges(self.tets)
        return np.linalg.norm(self.points[e[:, 0]] - self.points[e[:, 1]], axis=1)

    def to_pyvista(self):
        """The mesh as a ``pyvista.UnstructuredGrid`` with ``surface_class`` point data."""
        import pyvista as pv

        cells = np.hstack([np.full((self.n_tets, 1), 4), self.tets]).ravel()
        grid = pv.UnstructuredGrid(cells, np.full(self.n_tets, 10, np.uint8),  # VTK_TETRA
                                   self.points)
        grid.point_data["surface_class"] = self.surface_class
        return grid

    def describe(self) -> dict:
        """Size and quality figures of the mesh."""
        e = self.edge_lengths()
        v = self.volumes()
        return {"nodes": self.n_nodes, "tets": self.n_tets, "volume_ml": float(v.sum() / 1e3),
                "edge_mean_mm": float(e.mean()), "edge_min_mm": float(e.min()),
                "edge_max_mm": float(e.max()), "min_quality": float(tet_quality(
                    self.points, self.tets).min()),
                **{f"nodes_{CLASSES[c]}": int((self.surface_class == c).sum()) for c in CLASSES}}


# --- geometry helpers ----------------------------------------------------------------

def signed_volumes(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Signed volumes of tetrahedra ``(m,)``: positive when ``(b-a, c-a, d-a)`` is
    right-handed."""
    a, b, c, d = (points[tets[:, i]] for i in range(4))
    return np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a) / 6.0


def tet_quality(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Normalised shape quality in [0, 1] (1 for the regular tetrahedron, 0 when flat):
    ``6 sqrt(2) V / l_rms^3`` with ``l_rms`` the RMS edge length."""
    p = points[tets]
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    l2 = np.mean([np.sum((p[:, i] - p[:, j]) ** 2, axis=1) for i, j in pairs], axis=0)
    return 6 * np.sqrt(2) * signed_volumes(points, tets) / l2 ** 1.5


def unique_edges(tets: np.ndarray) -> np.ndarray:
    """The unique edges ``(k, 2)`` (sorted node pairs) of tetrahedra."""
    pairs = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    e = np.sort(np.concatenate([tets[:, [i, j]] for i, j in pairs]), axis=1)
    return np.unique(e, axis=0)


def boundary_faces(tets: np.ndarray, return_owner: bool = False):
    """Triangles ``(k, 3)`` that belong to exactly one tetrahedron (outward winding for
    positively oriented tetrahedra), and with ``return_owner`` that tetrahedron ``(k,)``."""
    faces = np.concatenate([tets[:, [1, 2, 3]], tets[:, [0, 3, 2]], tets[:, [0, 1, 3]],
                            tets[:, [0, 2, 1]]])
    key = np.sort(faces, axis=1)
    _, idx, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    idx = idx[counts == 1]
    return (faces[idx], idx % len(tets)) if return_owner else faces[idx]


def node_components(n: int, tets: np.ndarray) -> np.ndarray:
    """Connected-component label of each node (nodes linked by tetrahedron edges)."""
    from scipy.sparse.csgraph import connected_components

    e = unique_edges(tets)
    graph = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


# --- refinement ----------------------------------------------------------------------

#: Local vertex pairs of the 6 edges of a tetrahedron (refinement midpoints 4..9).
_REFINE_EDGES = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
#: Corner children in local numbering (0-3 vertices, 4 + k the midpoint of edge k).
_REFINE_CORNERS = np.array([[0, 4, 5, 6], [4, 1, 7, 8], [5, 7, 2, 9], [6, 8, 9, 3]])
#: The 4 children of the inner octahedron for each of its 3 diagonals (midpoints of opposite
#: edges 0-1 | 2-3, 0-2 | 1-3, 0-3 | 1-2), around the diagonal through its 4-cycle.
_REFINE_OCTA = np.array([
    [[4, 9, 5, 6], [4, 9, 6, 8], [4, 9, 8, 7], [4, 9, 7, 5]],
    [[5, 8, 4, 6], [5, 8, 6, 9], [5, 8, 9, 7], [5, 8, 7, 4]],
    [[6, 7, 4, 5], [6, 7, 5, 9], [6, 7, 9, 8], [6, 7, 8, 4]],
])


def refine_uniform(points: np.ndarray, tets: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:
    """Uniform (red) refinement: every tetrahedron into 8 by its edge midpoints.

    The 4 corner children are half-size copies of the parent; the inner octahedron is cut
    into 4 along its shortest diagonal (Bey 1995; the best-shaped choice). The mesh stays
    conforming, since a face is split the same way (4 triangles by its edge midpoints) from
    either side, and the boundary and the volume are unchanged.

    Parameters
    ----------
    points : (n, 3) float
        Node positions.
    tets : (m, 4) int
        Tetrahedra.

    Returns
    -------
    points : (n + n_edges, 3) float64
        The ``n`` coarse nodes first, with their numbers, then the midpoints of the unique
        edges in the order of :func:`unique_edges`.
    tets : (8 m, 4) int64
        Positively oriented children (children ``8 j .. 8 j + 7`` of parent ``j``).
    parent : (8 m,) int64
        Parent tetrahedron of each child.
    """
    points = np.asarray(points, float)
    tets = np.asarray(tets, np.int64)
    n, m = len(points), len(tets)
    i = tets[:, _REFINE_EDGES[:, 0]]  # (m, 6)
    j = tets[:, _REFINE_EDGES[:, 1]]
    key = np.minimum(i, j) * n + np.maximum(i, j)
    uniq, edge = np.unique(key.ravel(), return_inverse=True)
    lo, hi = uniq // n, uniq % n
    fine_points = np.concatenate([points, 0.5 * (points[lo] + points[hi])])
    local = np.concatenate([tets, n + edge.reshape(m, 6)], axis=1)  # (m, 10)
    x = fine_points[local]  # (m, 10, 3)
    diag = np.stack([np.sum((x[:, a] - x[:, b]) ** 2, axis=1)
                     for a, b in ((4, 9), (5, 8), (6, 7))], axis=1)
    octa = _REFINE_OCTA[np.argmin(diag, axis=1)]  # (m, 4, 4) local ids
    children = np.concatenate([np.broadcast_to(_REFINE_CORNERS, (m, 4, 4)), octa], axis=1)
    fine = np.take_along_axis(local[:, None, :], children.reshape(m, 32)[:, None, :],
                              axis=2).reshape(8 * m, 4)
    negative = signed_volumes(fine_points, fine) < 0
    fine[negative] = fine[negative][:, [0, 1, 3, 2]]
    return fine_points, fine, np.repeat(np.arange(m, dtype=np.int64), 8)
