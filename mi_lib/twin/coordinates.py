"""Consistent biventricular coordinates, rule-based fibres and AHA-17 segments.

:func:`compute_coordinates` gives every mesh node ``tm`` (0 endocardium -> 1
epicardium), ``ab`` (0 apex -> 1 base), ``rt`` (0 anterior RV junction -> 2/3 inferior
junction through the free wall -> 1 through the septum) and ``tv`` (0 LV, 1 RV), all in
[0, 1], after Cobiveco; the LV region is ``tv = 0 or (tv = 1 and rt > 2/3)``
(:attr:`Coordinates.lv`). :func:`fibre_directions` gives per-element fibre, sheet and
sheet-normal directions (helix +60 deg endocardium, -60 deg epicardium);
:func:`aha_segments` the AHA segment (1..17) of every node of the LV region.

The coordinates, the orientation, the fibres and the segments: ``docs/twin/coordinates.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .anatomy import (
    BASE,
    ENDOCARDIUM,
    EPICARDIUM,
    LV_ENDOCARDIUM,
    RV_ENDOCARDIUM,
    Anatomy,
    AnatomyError,
    unique_edges,
)
from .eikonal import activation_times
from .fem import node_gradients, solve_laplace, stiffness_matrix

#: ``ab`` limits of the AHA levels: apex cap below the first; apical, mid, basal thirds.
AHA_LEVELS = (0.15, 0.15 + 0.85 / 3, 0.15 + 2 * 0.85 / 3)

#: AHA segment names (1-based index).
AHA_NAMES = {
    1: "basal anterior", 2: "basal anteroseptal", 3: "basal inferoseptal",
    4: "basal inferior", 5: "basal inferolateral", 6: "basal anterolateral",
    7: "mid anterior", 8: "mid anteroseptal", 9: "mid inferoseptal", 10: "mid inferior",
    11: "mid inferolateral", 12: "mid anterolateral", 13: "apical anterior",
    14: "apical septal", 15: "apical inferior", 16: "apical lateral", 17: "apex",
}

COORDINATES = ("tm", "ab", "rt", "tv")


@dataclass
class Coordinates:
    """Biventricular coordinates of the nodes of an :class:`~mi_lib.twin.anatomy.Anatomy`.

    Attributes
    ----------
    tm, ab, rt : (n,) float in [0, 1]
    tv : (n,) int8 in {0, 1}
    u : (n,) float
        The transventricular Laplace solution (``tv = u >= 1/2``).
    apex : int
        Node number of the apex.
    axes : dict
        ``centre`` (base centroid), ``long_axis`` (apex -> base unit vector), ``lv_to_rv``
        (unit, orthogonal to the long axis), ``inferior`` (unit, towards the inferior
        junction), all in mesh coordinates (mm).
    info : dict
        Sizes and checks (e.g. the number of nodes per ventricle).
    """

    tm: np.ndarray
    ab: np.ndarray
    rt: np.ndarray
    tv: np.ndarray
    u: np.ndarray
    apex: int
    axes: dict
    info: dict = field(default_factory=dict)

    @property
    def lv(self) -> np.ndarray:
        """The LV region of paper 004: ``tv = 0 or (tv = 1 and rt > 2/3)`` (whole septum)."""
        return (self.tv == 0) | ((self.tv == 1) & (self.rt > 2.0 / 3.0))

    def as_array(self) -> np.ndarray:
        """``(n, 4)`` float32 array of (tm, ab, rt, tv)."""
        return np.column_stack([self.tm, self.ab, self.rt, self.tv]).astype(np.float32)


def _unit(v, fallback=None):
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    out = v / np.maximum(n, 1e-12)
    if fallback is not None:
        bad = n[..., 0] < 1e-12
        out[bad] = fallback[bad] if np.ndim(fallback) > 1 else fallback
    return out


def _circ_mean(angles) -> float:
    return float(np.angle(np.mean(np.exp(1j * np.asarray(angles)))))


# ----------------------------------------------------------------------------- coordinates


def _axes(anatomy: Anatomy) -> tuple[np.ndarray, np.ndarray]:
    """Base centroid and the apex -> base unit normal of the plane fitted to the base."""
    p, c = anatomy.points, anatomy.surface_class
    base = p[c == BASE]
    centre = base.mean(axis=0)
    normal = np.linalg.svd(base - centre, full_matrices=False)[2][2]
    if np.mean((p - centre) @ normal) > 0:  # the myocardium lies below the base
        normal = -normal
    return centre, normal


def centre_line(points, mask, height, n_levels: int = 20) -> np.ndarray:
    """Centroid of the ``mask`` nodes per level of ``height``, interpolated at all heights."""
    h = height[mask]
    edges = np.linspace(h.min(), h.max(), n_levels + 1)
    idx = np.clip(np.digitize(h, edges) - 1, 0, n_levels - 1)
    cnt = np.bincount(idx, minlength=n_levels)
    ok = cnt >= 3
    mid = 0.5 * (edges[1:] + edges[:-1])[ok]
    cen = np.stack([np.bincount(idx, points[mask, k], n_levels)[ok] / cnt[ok]
                    for k in range(3)], axis=1)
    return np.stack([np.interp(height, mid, cen[:, k]) for k in range(3)], axis=1)


def _junction_angles(angle_of, height, junction, inferior_side, n_levels):
    """Anterior and inferior junction angles (radians) as functions of height.

    ``angle_of`` are the angles of the junction nodes about one ventricle's centre line;
    ``inferior_side`` (bool) tells which junction each node belongs to.
    """
    h = height[junction]
    edges = np.linspace(h.min(), h.max(), n_levels + 1)
    idx = np.clip(np.digitize(h, edges) - 1, 0, n_levels - 1)
    out = []
    for side in (False, True):
        mids, angs = [], []
        for k in range(n_levels):
            sel = (idx == k) & (inferior_side == side)
            if sel.sum() >= 1:
                mids.append(0.5 * (edges[k] + edges[k + 1]))
                angs.append(_circ_mean(angle_of[sel]))
        if len(mids) < 2:
            raise AnatomyError("could not find the RV insertion (junction) on enough levels; "
                               "is the RV endocardium (class 4) labelled correctly?")
        angs = np.unwrap(angs)
        out.append((np.asarray(mids), angs))
    return out


def _rotational(theta, th_ant, th_inf, sign):
    """Piecewise-linear ``rt`` from angles and the two junction angles (per node).

    ``sign = -1`` when the free wall runs from the anterior to the inferior junction with
    decreasing angle, ``+1`` when increasing.
    """
    two_pi = 2 * np.pi
    free_span = np.mod(sign * (th_inf - th_ant), two_pi)
    pos = np.mod(sign * (theta - th_ant), two_pi)
    rt = np.empty_like(theta)
    free = pos <= free_span
    rt[free] = pos[free] / free_span[free] * (2.0 / 3.0)
    sep_span = two_pi - free_span
    pos_sep = np.mod(sign * (theta - th_inf), two_pi)
    rt[~free] = 2.0 / 3.0 + pos_sep[~free] / sep_span[~free] / 3.0
    return np.clip(rt, 0.0, 1.0)


def compute_coordinates(anatomy: Anatomy, *, n_levels: int = 20,
                        flip_handedness: bool = False) -> Coordinates:
    """Biventricular coordinates ``(tm, ab, rt, tv)`` of every node (``docs/twin/coordinates.md``).

    Parameters
    ----------
    anatomy : Anatomy
        Tetrahedral mesh with surface classes 1 base, 2 epicardium, 3 LV endo, 4 RV endo.
    n_levels : int
        Levels along the long axis for the centre lines and the junctions.
    flip_handedness : bool
        The mesh is mirrored (left-handed frame): swap the anterior and inferior junctions.

    Returns
    -------
    Coordinates
    """
    p, tets, cls = anatomy.points, anatomy.tets, anatomy.surface_class
    for c, name in ((1, "base"), (2, "epicardium"), (3, "LV endocardium"),
                    (4, "RV endocardium")):
        if not np.any(cls == c):
            raise AnatomyError(f"{anatomy.source or anatomy.name}: no mesh node is labelled "
                               f"{name} (class {c}); relabel the surface")
    k = stiffness_matrix(p, tets)

    # transventricular
    endo = np.isin(cls, ENDOCARDIUM)
    u = solve_laplace(k, endo, (cls[endo] == RV_ENDOCARDIUM).astype(float))
    tv = (u >= 0.5).astype(np.int8)

    # transmural: 0 on the endocardia, 1 on the epicardium and the septal interface
    e = unique_edges(tets)
    cross = (u[e[:, 0]] - 0.5) * (u[e[:, 1]] - 0.5) < 0
    ce = e[cross]
    closer = np.where(np.abs(u[ce[:, 0]] - 0.5) <= np.abs(u[ce[:, 1]] - 0.5), ce[:, 0], ce[:, 1])
    interface = np.zeros(len(p), bool)
    interface[closer] = True
    interface &= ~endo
    fixed = endo | (cls == EPICARDIUM) | interface  # the base keeps zero flux
    tm = np.clip(solve_laplace(k, fixed, np.where(endo[fixed], 0.0, 1.0)), 0.0, 1.0)

    # apicobasal
    centre, normal = _axes(anatomy)
    height = (p - centre) @ normal
    epi_lv = np.flatnonzero((cls == EPICARDIUM) & (tv == 0))
    apex = int(epi_lv[np.argmin(height[epi_lv])])
    eye = np.eye(3)
    d_apex = activation_times(p, tets, eye, [apex])
    base_nodes = np.flatnonzero(cls == BASE)
    d_base = activation_times(p, tets, eye, base_nodes)
    if not (np.all(np.isfinite(d_apex)) and np.all(np.isfinite(d_base))):
        raise AnatomyError(f"{anatomy.source or anatomy.name}: the mesh is not connected")
    ab = d_apex / np.maximum(d_apex + d_base, 1e-12)

    # orientation: LV -> RV and the inferior direction
    lv_c = p[cls == LV_ENDOCARDIUM].mean(axis=0)
    rv_c = p[cls == RV_ENDOCARDIUM].mean(axis=0)
    v = rv_c - lv_c
    v = _unit(v - (v @ normal) * normal)
    w = np.cross(-normal, v)  # (base -> apex) x (LV -> RV): towards the inferior junction
    if flip_handedness:
        w = -w

    # junctions: epicardial nodes next to u = 1/2
    junction = interface & ((cls == EPICARDIUM) | _next_to(e, cls == EPICARDIUM))
    if junction.sum() < 4:
        raise AnatomyError(f"{anatomy.source or anatomy.name}: the LV and RV do not meet on "
                           "the epicardium (no RV insertion found)")

    rt = np.zeros(len(p))
    for ventricle, endo_cls, sign in ((0, 3, -1.0), (1, 4, 1.0)):
        cl = centre_line(p, cls == endo_cls, height, n_levels)
        r = p - cl
        theta = np.arctan2(r @ w, r @ v)
        jr = r[junction]
        j_inf = (jr @ w) > 0
        (h_a, a_a), (h_i, a_i) = _junction_angles(theta[junction], height, junction, j_inf,
                                                  n_levels)
        th_ant = np.interp(height, h_a, a_a)
        th_inf = np.interp(height, h_i, a_i)
        sel = tv == ventricle
        rt[sel] = _rotational(theta[sel], th_ant[sel], th_inf[sel], sign)

    axes = {"centre": centre, "long_axis": normal, "lv_to_rv": v, "inferior": w}
    info = {"nodes_lv": int((tv == 0).sum()), "nodes_rv": int((tv == 1).sum()),
            "junction_nodes": int(junction.sum()), "apex": apex}
    return Coordinates(tm=tm, ab=ab, rt=rt, tv=tv, u=u, apex=apex, axes=axes, info=info)


def _next_to(edges: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mask of the nodes sharing an edge with a node of ``mask``."""
    out = np.zeros(len(mask), bool)
    out[edges[mask[edges[:, 1]], 0]] = True
    out[edges[mask[edges[:, 0]], 1]] = True
    return out


# ----------------------------------------------------------------------------- fibres


def local_frame(anatomy: Anatomy, coords: Coordinates) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
    """Per-tetrahedron orthonormal frame: longitudinal ``l``, circumferential ``c``,
    transmural ``s``.

    ``s = grad tm / |grad tm|``, ``l`` = the part of ``grad ab`` orthogonal to ``s`` (apex
    -> base along the wall), ``c = l x s`` (counter-clockwise seen from the base). The
    gradients are averaged to the nodes and back to the elements, so one-element-thick
    noise of the P1 gradients does not show; where ``grad ab`` is transmural (the apex),
    the long axis stands in for it.
    """
    p, tets = anatomy.points, anatomy.tets
    g_tm = node_gradients(p, tets, coords.tm)[tets].mean(axis=1)
    g_ab = node_gradients(p, tets, coords.ab)[tets].mean(axis=1)
    long_axis = coords.axes["long_axis"]
    s = _unit(g_tm, fallback=np.broadcast_to(coords.axes["lv_to_rv"], g_tm.shape))
    l_dir = g_ab - np.sum(g_ab * s, axis=1, keepdims=True) * s
    fb = long_axis - np.outer(s @ long_axis, np.ones(3)) * s
    l_dir = _unit(l_dir, fallback=_unit(fb))
    return l_dir, _unit(np.cross(l_dir, s)), s


def fibre_directions(anatomy: Anatomy, coords: Coordinates, alpha_endo: float = 60.0,
                     alpha_epi: float = -60.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rule-based fibre, sheet and sheet-normal unit vectors per tetrahedron.

    See ``docs/twin/coordinates.md``; the frame is :func:`local_frame`.

    Returns
    -------
    f, s, n : (m, 3) float arrays, orthonormal per row
    """
    l_dir, c, s = local_frame(anatomy, coords)
    tm_e = coords.tm[anatomy.tets].mean(axis=1)
    a = np.deg2rad(alpha_endo + (alpha_epi - alpha_endo) * tm_e)
    f = _unit(np.cos(a)[:, None] * c + np.sin(a)[:, None] * l_dir)
    n = np.cross(f, s)
    return f, s, _unit(n)


# ----------------------------------------------------------------------------- AHA


def aha_segments(coords: Coordinates, levels=AHA_LEVELS) -> np.ndarray:
    """AHA segment (1..17) of every node of the LV region, 0 elsewhere
    (``docs/twin/coordinates.md``)."""
    ab, rt = coords.ab, coords.rt
    seg = np.zeros(len(ab), np.int8)
    lv = coords.lv
    septum = rt > 2.0 / 3.0
    # basal / mid rings: free-wall quarters (anterior, anterolateral, inferolateral,
    # inferior) then septal halves (inferoseptal, anteroseptal)
    q = np.minimum((rt * 6.0).astype(int), 5)  # 0..5 sixths of [0, 1]
    ring = np.array([1, 6, 5, 4, 3, 2])[q]
    base = lv & (ab >= levels[2])
    mid = lv & (ab >= levels[1]) & (ab < levels[2])
    seg[base] = ring[base]
    seg[mid] = ring[mid] + 6
    apical = lv & (ab >= levels[0]) & (ab < levels[1])
    third = np.minimum((rt * 4.5).astype(int), 2)  # thirds of [0, 2/3]
    apical_seg = np.where(septum, 14, np.array([13, 16, 15])[third])
    seg[apical] = apical_seg[apical]
    seg[lv & (ab < levels[0])] = 17
    return seg
