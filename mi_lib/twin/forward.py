"""The digital-twin forward model: anatomy -> coordinates -> activation -> 8-lead QRS.

:class:`TwinModel` holds everything that depends on one anatomy only (coordinates, AHA
segments, fibres, the Eikonal solver's mesh structures, root nodes, electrode positions and
lead fields) and its :class:`~mi_lib.twin.settings.ModelSettings`; :meth:`TwinModel.simulate`
then runs one scenario (tissue labels -> conduction tensors -> activation times ->
pseudo-ECG). Body frame: x left, y posterior, z superior (mm). The conduction, the root
nodes and their calibration, the torso and electrodes, and the two readings of the scar's
signal (:data:`SCAR_SOURCES`) are in ``docs/twin/forward.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np

from .anatomy import Anatomy, boundary_faces
from .coordinates import (
    Coordinates,
    aha_segments,
    compute_coordinates,
    fibre_directions,
    local_frame,
)
from .ecg import ELECTRODES, lead_fields, leads_from_electrodes, pseudo_ecg
from .eikonal import EikonalSolver
from .fem import stiffness_matrix, tet_gradients
from .scenarios import CV_DEFAULT, SCAR, Scenario, node_factors, tissue_labels
from .settings import DEFAULTS, ModelSettings, check_scar_source

#: Healthy conduction velocities (mm/ms): fibre, sheet, sheet-normal, endocardial
#: dense and sparse (the defaults of :class:`~mi_lib.twin.settings.ConductionVelocities`).
CV = DEFAULTS.cv.to_dict()
UPSTROKE_MS = DEFAULTS.upstroke_ms

#: Root nodes: name -> (endocardium class 3 LV / 4 RV, ab, rt, start time ms).
ROOTS = {
    "lv_mid_septal": (3, 0.55, 5.0 / 6.0, 0.0),
    "lv_basal_anterior_paraseptal": (3, 0.78, 0.04, 10.0),
    "lv_mid_posterior_1": (3, 0.50, 0.50, 16.0),
    "lv_mid_posterior_2": (3, 0.50, 0.60, 16.0),
    "rv_mid_septal": (4, 0.55, 5.0 / 6.0, 16.0),
    "rv_free_wall_1": (4, 0.45, 0.35, 26.0),
    "rv_free_wall_2": (4, 0.65, 0.15, 32.0),
}

#: Typical direction of the base-to-apex axis in the body (LPS: left, posterior, superior).
APEX_DIRECTION = (0.60, -0.45, -0.65)
#: Typical LV -> RV direction in the body before orthogonalisation (right and anterior).
RV_DIRECTION = (-0.7, -0.7, 0.0)
TORSO_AXES_MM = (160.0, 110.0)
HEART_OFFSET_MM = (25.0, -35.0, 0.0)  # heart centroid relative to the torso centre
ICS4_MM, ICS5_MM = 20.0, -10.0        # heights of the 4th / 5th intercostal spaces
LIMB_UPPER_MM, LIMB_LOWER_MM = 150.0, -180.0  # Mason-Likar limb electrodes on the torso


def _axis_rotation(axis, deg: float) -> np.ndarray:
    """Rotation by ``deg`` degrees about ``axis`` (Rodrigues)."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    t = np.deg2rad(deg)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def body_rotation(axes: dict, tilt_deg: float = 0.0, twist_deg: float = 0.0) -> np.ndarray:
    """Rotation matrix from mesh coordinates to the body frame (docs/twin/forward.md).

    ``tilt_deg`` turns the heart about the antero-posterior body axis (positive: apex
    towards the left, a more horizontal heart), ``twist_deg`` about its own long axis
    (positive: counter-clockwise seen from the apex); both 0 for the typical orientation.
    """
    u_m = -np.asarray(axes["long_axis"])  # base -> apex
    v_m = np.asarray(axes["lv_to_rv"])
    h = np.column_stack([u_m, v_m, np.cross(u_m, v_m)])
    u_b = np.asarray(APEX_DIRECTION, float)
    u_b /= np.linalg.norm(u_b)
    v_b = np.asarray(RV_DIRECTION, float)
    v_b = v_b - (v_b @ u_b) * u_b
    v_b /= np.linalg.norm(v_b)
    b = np.column_stack([u_b, v_b, np.cross(u_b, v_b)])
    q = _axis_rotation((0.0, 1.0, 0.0), tilt_deg) @ _axis_rotation(u_b, twist_deg)
    return q @ b @ h.T


def _on_front(x: float, a: float, b: float) -> float:
    """y (posterior positive) of the anterior torso surface at lateral position x."""
    return -b * np.sqrt(max(1.0 - (x / a) ** 2, 0.0))


def electrode_positions_body() -> dict[str, np.ndarray]:
    """Electrode positions in the body frame (LPS, mm, torso centre at the origin)."""
    a, b = TORSO_AXES_MM
    hz = HEART_OFFSET_MM[2]
    pos = {}
    for name, x, z in (("V1", -25.0, ICS4_MM), ("V2", 25.0, ICS4_MM), ("V4", 90.0, ICS5_MM),
                       ("V5", 0.85 * a, ICS5_MM)):
        pos[name] = np.array([x, _on_front(x, a, b), hz + z])
    pos["V6"] = np.array([a, 0.0, hz + ICS5_MM])
    mid = 0.5 * (pos["V2"] + pos["V4"])
    pos["V3"] = np.array([mid[0], _on_front(mid[0], a, b), mid[2]])
    # Mason-Likar torso positions: infraclavicular fossae, lower left / right abdomen
    for name, x, z in (("RA", -0.75 * a, LIMB_UPPER_MM), ("LA", 0.75 * a, LIMB_UPPER_MM),
                       ("LL", 0.6 * a, LIMB_LOWER_MM), ("RL", -0.6 * a, LIMB_LOWER_MM)):
        pos[name] = np.array([x, _on_front(x, a, b), hz + z])
    return {k: pos[k] for k in ELECTRODES}


def _ellipse_arc(a: float, b: float, t0: float, t1: float) -> float:
    """Signed arc length of the ellipse (a cos t, b sin t) from t0 to t1."""
    from scipy.integrate import quad

    return quad(lambda t: np.hypot(a * np.sin(t), b * np.cos(t)), t0, t1)[0]


def displace_on_torso(body: dict, distance_mm: float, rng, names=None
                      ) -> dict[str, np.ndarray]:
    """Electrodes ``body`` (body frame, on the torso's elliptic cylinder) each moved by
    ``distance_mm`` along the torso surface in a random direction, as a misplaced
    electrode is.

    The cylinder is developable: unrolled, a point is (arc length round the ellipse,
    height), and a move of ``d`` at angle ``phi`` is ``(d cos phi, d sin phi)`` there, so
    the distance along the surface is ``d`` exactly. ``phi`` is uniform; ``names`` are the
    electrodes moved (default: V1-V6, the chest electrodes; the limb electrodes are
    taken as well placed).

    Parameters
    ----------
    body : dict
        Electrode name -> (3,) position, mm (:func:`electrode_positions_body`).
    distance_mm : float
        How far each electrode moves along the surface, mm (>= 0).
    rng : numpy.random.Generator or int
        The directions.
    names : sequence of str, optional

    Returns
    -------
    dict
        The moved positions (the others unchanged).
    """
    if not distance_mm >= 0:
        raise ValueError(f"distance_mm = {distance_mm}: must be >= 0")
    rng = np.random.default_rng(rng)
    a, b = TORSO_AXES_MM
    names = tuple(names) if names is not None else ("V1", "V2", "V3", "V4", "V5", "V6")
    unknown = set(names) - set(body)
    if unknown:
        raise ValueError(f"electrodes {sorted(unknown)} are not among {sorted(body)}")
    out = {k: np.asarray(v, float).copy() for k, v in body.items()}
    for name in names:
        x, y, z = out[name]
        phi = rng.uniform(0.0, 2.0 * np.pi)
        t0 = np.arctan2(y / b, x / a)
        arc, t = distance_mm * np.cos(phi), t0
        for _ in range(20):  # Newton on the arc length (its derivative is the speed)
            step = (arc - _ellipse_arc(a, b, t0, t)) / np.hypot(a * np.sin(t), b * np.cos(t))
            t += step
            if abs(step) < 1e-12:
                break
        out[name] = np.array([a * np.cos(t), b * np.sin(t), z + distance_mm * np.sin(phi)])
    return out


def electrode_positions(points: np.ndarray, axes: dict, tilt_deg: float = 0.0,
                        twist_deg: float = 0.0, body: dict | None = None
                        ) -> dict[str, np.ndarray]:
    """Electrode positions in mesh coordinates for a heart with the given axes;
    ``body``: positions in the body frame other than :func:`electrode_positions_body`
    (e.g. :func:`displace_on_torso`)."""
    rot = body_rotation(axes, tilt_deg, twist_deg)
    centroid = points.mean(axis=0)
    offset = np.asarray(HEART_OFFSET_MM)
    body = electrode_positions_body() if body is None else body
    # body = rot (x - centroid) + offset  <=>  x = rot^T (body - offset) + centroid
    return {k: rot.T @ (np.asarray(v, float) - offset) + centroid for k, v in body.items()}


def root_nodes(anatomy: Anatomy, coords: Coordinates, roots=None) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """Endocardial nodes nearest to the root coordinates ``(ab, rt)`` and their times."""
    roots = ROOTS if roots is None else roots
    nodes, times = [], []
    for cls, ab, rt, t0 in roots.values():
        cand = np.flatnonzero(anatomy.surface_class == cls)
        d_rt = np.abs(coords.rt[cand] - rt) % 1.0
        d_rt = np.minimum(d_rt, 1.0 - d_rt)
        nodes.append(int(cand[np.argmin((coords.ab[cand] - ab) ** 2 + d_rt**2)]))
        times.append(float(t0))
    return np.asarray(nodes, np.int64), np.asarray(times)


@dataclass
class TwinModel:
    """Per-anatomy state of the forward model (docs/twin/forward.md)."""

    anatomy: Anatomy
    coords: Coordinates
    segments: np.ndarray
    fibres: tuple[np.ndarray, np.ndarray, np.ndarray]
    roots: np.ndarray
    root_times: np.ndarray
    electrodes: dict
    lead_fields: np.ndarray
    sheet: np.ndarray
    frame: tuple[np.ndarray, np.ndarray, np.ndarray]
    settings: ModelSettings = DEFAULTS
    solver: object = None
    #: (tilt_deg, twist_deg) the heart was placed in the torso with (:func:`body_rotation`)
    orientation: tuple[float, float] = (0.0, 0.0)
    _healthy: np.ndarray | None = field(default=None, repr=False)
    _sheet_healthy: np.ndarray | None = field(default=None, repr=False)
    _contrib: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def build(cls, anatomy: Anatomy, *, settings: ModelSettings | None = None,
              tilt_deg: float = 0.0, twist_deg: float = 0.0, **options) -> TwinModel:
        """Everything that depends on the anatomy (see the class docstring).

        ``settings`` (:class:`~mi_lib.twin.settings.ModelSettings`), or the same as
        keyword ``options`` (``cv`` a partial dict of velocities, ``upstroke_ms``, ``dt``,
        ``n_samples``, ``flip_handedness``, ``scar_source``, ``roots``; defaults for the
        rest); ``tilt_deg`` / ``twist_deg`` rotate the heart in the torso
        (:func:`body_rotation`).
        """
        if settings is None:
            settings = ModelSettings.from_dict(options)
        elif options:
            raise ValueError(f"give either settings or options, not both (options: "
                             f"{sorted(options)})")
        coords = compute_coordinates(anatomy, flip_handedness=settings.flip_handedness)
        segments = aha_segments(coords)
        fibres = fibre_directions(anatomy, coords)
        r, rt = root_nodes(anatomy, coords, None if settings.roots is None else
                           dict(settings.roots))
        el = electrode_positions(anatomy.points, coords.axes, tilt_deg, twist_deg)
        k = stiffness_matrix(anatomy.points, anatomy.tets)
        w = lead_fields(anatomy.points, anatomy.tets, np.array([el[e] for e in ELECTRODES]),
                        stiffness=k)
        w = np.ascontiguousarray(w.T).T  # node-major in memory (pseudo_ecg, scar_lead_fields)
        frame = local_frame(anatomy, coords)
        sheet = endocardial_sheet(anatomy)
        model = cls(anatomy, coords, segments, fibres, r, rt, el, w, sheet, frame, settings,
                    orientation=(float(tilt_deg), float(twist_deg)))
        model.solver = EikonalSolver(anatomy.points, anatomy.tets, sheet=sheet[:, :3])
        # every scenario scales these (activation)
        model.solver.prepare(model.tensors(), model.sheet_tensors())
        return model

    def with_electrodes(self, body: dict) -> TwinModel:
        """The same model recorded with electrodes elsewhere on the torso: ``body`` the
        positions in the body frame (e.g. :func:`displace_on_torso` of
        :func:`electrode_positions_body`), the heart placed as it was built
        (:attr:`orientation`). The lead fields are recomputed; the anatomy, conduction and
        Eikonal solver are shared."""
        from dataclasses import replace

        missing = set(ELECTRODES) - set(body)
        if missing:
            raise ValueError(f"electrodes {sorted(missing)} have no position")
        el = electrode_positions(self.anatomy.points, self.coords.axes, *self.orientation,
                                 body=body)
        w = lead_fields(self.anatomy.points, self.anatomy.tets,
                        np.array([el[e] for e in ELECTRODES]))
        return replace(self, electrodes=el, lead_fields=np.ascontiguousarray(w.T).T,
                       _contrib=None)

    @property
    def cv(self):
        """The conduction velocities (m/s; ``cv["fibre"]`` or ``cv.fibre``)."""
        return self.settings.cv

    @property
    def upstroke_ms(self) -> float:
        """Width of the transmembrane upstroke (ms)."""
        return self.settings.upstroke_ms

    @property
    def dt(self) -> float:
        """Sampling interval of the QRS (ms)."""
        return self.settings.dt

    @property
    def n_samples(self) -> int:
        """Samples of the QRS."""
        return self.settings.n_samples

    @property
    def scar_source(self) -> str:
        """What the scar contributes to the pseudo-ECG (:data:`SCAR_SOURCES`)."""
        return self.settings.scar_source

    @property
    def time(self) -> np.ndarray:
        return np.arange(self.n_samples) * self.dt

    def tensors(self, factor_nodes: np.ndarray | None = None) -> np.ndarray:
        """Conduction-velocity tensors ``D`` of the myocardium per tetrahedron (mm^2/ms^2).

        ``factor_nodes`` scales every velocity per node (scar, border zone); a
        tetrahedron takes the mean of its nodes' factors, so its tensor is the healthy
        one times the factor squared.
        """
        if self._healthy is None:
            f, s, n = self.fibres
            cv = self.cv
            d = np.zeros((len(f), 3, 3))
            for a, v in ((f, cv["fibre"]), (s, cv["sheet"]), (n, cv["normal"])):
                d += v**2 * a[:, :, None] * a[:, None, :]
            self._healthy = d
        if factor_nodes is None:
            return self._healthy
        k = _means(np.asarray(factor_nodes, float), self.anatomy.tets)
        return self._healthy * (k**2)[:, None, None]

    def sheet_tensors(self, factor_nodes: np.ndarray | None = None) -> np.ndarray:
        """Tensors of the endocardial sheet per triangle (mm^2/ms^2; docs/twin/forward.md):
        ``endo_dense`` along the wall's apicobasal direction in the triangle's plane,
        ``endo_sparse`` across it in the plane, the myocardium's ``sheet`` speed along the
        normal (which no travel time on the sheet sees). ``factor_nodes`` as in
        :meth:`tensors`, the mean over the triangle's 3 nodes."""
        if self._sheet_healthy is None:
            tri = self.sheet[:, :3]
            x = self.anatomy.points[tri]
            normal = np.cross(x[:, 1] - x[:, 0], x[:, 2] - x[:, 0])
            normal /= np.linalg.norm(normal, axis=1, keepdims=True)
            l_dir = self.frame[0][self.sheet[:, 3]]
            l_dir = l_dir - np.sum(l_dir * normal, axis=1, keepdims=True) * normal
            l_dir /= np.linalg.norm(l_dir, axis=1, keepdims=True)
            c = np.cross(normal, l_dir)
            cv = self.cv
            self._sheet_healthy = sum(v**2 * a[:, :, None] * a[:, None, :] for a, v in
                                      ((l_dir, cv["endo_dense"]), (c, cv["endo_sparse"]),
                                       (normal, cv["sheet"])))
        if factor_nodes is None:
            return self._sheet_healthy
        k = _means(np.asarray(factor_nodes, float), self.sheet[:, :3])
        return self._sheet_healthy * (k**2)[:, None, None]

    def activation(self, scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
        """Tissue labels and activation times (ms) of one scenario."""
        labels = tissue_labels(self.coords, scenario)
        if scenario.healthy:
            return labels, self.activation_of(labels)
        return labels, self.activation_of(labels, (scenario.cv_scar, scenario.cv_bz))

    def activation_of(self, labels: np.ndarray, cv_scale: tuple[float, float] = CV_DEFAULT
                      ) -> np.ndarray:
        """Activation times (ms) of any tissue map: ``labels`` per node (0 healthy, 1
        border zone, 2 scar), every velocity scaled by ``cv_scale = (scar, border
        zone)`` there (the scenarios' :data:`~mi_lib.twin.scenarios.CV_DEFAULT` by
        default). A map with neither scar nor border zone is the healthy heart."""
        labels = np.asarray(labels)
        if labels.shape != (self.anatomy.n_nodes,):
            raise ValueError(f"labels have shape {labels.shape}, the anatomy "
                             f"{self.anatomy.n_nodes} nodes")
        k = k_sheet = None
        if (labels > 0).any():  # D = k^2 D_healthy, k the mean of the node factors
            f = node_factors(labels, *cv_scale)
            k = _means(f, self.anatomy.tets)
            k_sheet = _means(f, self.sheet[:, :3])
        return self.solver.solve_scaled(k, self.roots, self.root_times, k_sheet=k_sheet)

    def scar_lead_fields(self, labels: np.ndarray) -> np.ndarray:
        """Lead fields of the excitable domain: the tetrahedra touching a scar node removed.

        Scar is fibrosis without an intracellular space: it carries no transmembrane
        current, so it is left out of the pseudo-ECG integral (docs/twin/forward.md).
        ``w = -K_ex g`` with ``K_ex = K - sum_{e in scar} K_e``, i.e. the full lead field
        plus ``V_e grad N_a . grad g_e`` for every removed tetrahedron ``e`` and node ``a``.
        """
        scar = np.asarray(labels) == SCAR
        if not scar.any():
            return self.lead_fields
        if self._contrib is None:  # K_e g at the 4 nodes of every tetrahedron, once
            tets = self.anatomy.tets
            grads, vol = tet_gradients(self.anatomy.points, tets)
            el = np.array([self.electrodes[e] for e in ELECTRODES])
            g = 1.0 / np.linalg.norm(self.anatomy.points[:, None, :] - el[None], axis=2)
            grad_g = np.einsum("kai,kae->kie", grads, g[tets])               # (m, 3, n_el)
            self._contrib = np.einsum("kai,kie->kae", grads * vol[:, None, None], grad_g)
        w = self.lead_fields.T.copy()  # node-major: each node's weights in a row
        _add_contributions(w, self.anatomy.tets, scar, self._contrib)
        return w.T

    def ecg(self, at: np.ndarray, labels: np.ndarray | None = None,
            scar_source: str | None = None) -> np.ndarray:
        """8 leads (I, II, V1-V6) x ``n_samples`` of an activation map.

        ``labels`` (tissue per node) matter only for the ``"silent"`` reading, which
        leaves the scar out; ``scar_source`` None is the model's own
        (:attr:`scar_source`).
        """
        source = self.scar_source if scar_source is None else check_scar_source(scar_source)
        silent = labels is not None and source == "silent"
        w = self.scar_lead_fields(labels) if silent else self.lead_fields
        phi = pseudo_ecg(at, w, self.time, self.upstroke_ms)
        return leads_from_electrodes(phi, ELECTRODES)

    def simulate(self, scenario: Scenario) -> dict:
        """One QRS: ``labels`` (n,), ``at`` (n,), ``qrs`` (8, n_samples) and
        ``activation_duration`` (ms, docs/twin/forward.md)."""
        labels, at = self.activation(scenario)
        return self._outputs(labels, at)

    def simulate_tissue(self, labels: np.ndarray,
                        cv_scale: tuple[float, float] = CV_DEFAULT) -> dict:
        """:meth:`simulate` for any tissue map (labels per node, as
        :meth:`activation_of`), e.g. an infarct drawn by a population model."""
        labels = np.asarray(labels, np.int8)
        return self._outputs(labels, self.activation_of(labels, cv_scale))

    def _outputs(self, labels, at) -> dict:
        qrs = self.ecg(at, labels)
        excitable = at[np.isfinite(at) & (labels != SCAR)]
        return {"labels": labels, "at": at, "qrs": qrs,
                "activation_duration": float(excitable.max() + 2.0 * self.upstroke_ms)}


@nb.njit(cache=True)
def _means(values, cells):
    """The mean of the node ``values`` over the nodes of every cell (tetrahedron,
    triangle)."""
    out = np.empty(cells.shape[0])
    w = 1.0 / cells.shape[1]
    for e in range(cells.shape[0]):
        acc = 0.0
        for j in range(cells.shape[1]):
            acc += values[cells[e, j]]
        out[e] = w * acc
    return out


def endocardial_sheet(anatomy: Anatomy) -> np.ndarray:
    """The boundary triangles of the endocardia (all three nodes of class LV or RV
    endocardium), ``(s, 4)``: three nodes, outward winding, and the tetrahedron they bound
    (whose frame orients the sheet's conduction)."""
    faces, owner = boundary_faces(anatomy.tets, return_owner=True)
    endo = np.isin(anatomy.surface_class, (3, 4))[faces].all(axis=1)
    return np.column_stack([faces[endo], owner[endo]])


@nb.njit(cache=True)
def _add_contributions(w, tets, scar, contrib):
    """Add ``contrib[k, a, e]`` to ``w[tets[k, a], e]`` (node-major lead fields, in place)
    for every tetrahedron ``k`` with a ``scar`` node (:meth:`TwinModel.scar_lead_fields`)."""
    for k in range(tets.shape[0]):
        if not (scar[tets[k, 0]] or scar[tets[k, 1]] or scar[tets[k, 2]] or scar[tets[k, 3]]):
            continue
        for a in range(4):
            node = tets[k, a]
            for e in range(w.shape[1]):
                w[node, e] += contrib[k, a, e]




def map_onto(points, tets, values, targets) -> np.ndarray:
    """Values at ``targets`` (k, 3) of the P1 field ``values`` (n,) on a tetrahedral mesh:
    linear interpolation in the containing tetrahedron, the nearest node outside the mesh."""
    import pyvista as pv
    from scipy.spatial import cKDTree

    grid = pv.UnstructuredGrid(np.hstack([np.full((len(tets), 1), 4), tets]).ravel(),
                               np.full(len(tets), 10, np.uint8), np.asarray(points, float))
    grid.point_data["v"] = np.asarray(values, float)
    probe = pv.PolyData(np.asarray(targets, float)).sample(grid)
    out = np.asarray(probe["v"], float).copy()
    inside = np.asarray(probe["vtkValidPointMask"]).astype(bool)
    if (~inside).any():
        out[~inside] = np.asarray(values, float)[
            cKDTree(points).query(np.asarray(targets)[~inside])[1]]
    return out


def mesh_convergence(path, edge_lengths=(2.5, 2.0, 1.5, 1.0), *, units: str = "auto",
                     model_options: dict | None = None) -> dict:
    """The healthy heart of ``path`` meshed at each edge length (mm): its QRS duration
    measured on the signal (:func:`mi_lib.twin.qrs.qrs_duration`, ms), its activation
    duration (ms), and the mean relative difference of its activation map from the finest
    mesh's, mapped onto the finest mesh's nodes (:func:`map_onto`; nodes after the first
    ms). Returns ``{"edge_length_mm", "nodes", "qrs_ms", "activation_ms",
    "activation_rel_diff", "max_qrs_diff_ms"}``, lists in the order of ``edge_lengths``."""
    from .anatomy import load_anatomy
    from .qrs import qrs_duration
    from .scenarios import get_scenario

    runs = []
    for h in edge_lengths:
        model = TwinModel.build(load_anatomy(path, edge_length=h, units=units),
                                **(model_options or {}))
        sim = model.simulate(get_scenario("baseline"))
        runs.append((model, sim, qrs_duration(sim["qrs"], model.dt)))
    fine_model, fine, _ = runs[int(np.argmin(edge_lengths))]
    ref = fine["at"]
    keep = ref > 1.0
    diffs = []
    for model, sim, _ in runs:
        at = map_onto(model.anatomy.points, model.anatomy.tets, sim["at"],
                      fine_model.anatomy.points)
        diffs.append(float(np.mean(np.abs(at[keep] - ref[keep]) / ref[keep])))
    qrs = [float(q) for _, _, q in runs]
    return {"edge_length_mm": [float(h) for h in edge_lengths],
            "nodes": [m.anatomy.n_nodes for m, _, _ in runs], "qrs_ms": qrs,
            "activation_ms": [float(s["activation_duration"]) for _, s, _ in runs],
            "activation_rel_diff": diffs, "max_qrs_diff_ms": float(max(qrs) - min(qrs))}
