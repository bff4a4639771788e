"""Virtual cohort of biventricular anatomies and the simulation product ``simulations.zarr``.

Subjects are the shipped heart(s) deformed by smooth, bounded shape modes (:data:`MODES`,
seeded; subject 0 of each heart is the mesh itself) and turned in the torso; each is
rebuilt from its deformed mesh (coordinates, fibres, AHA, roots, electrodes) and every
subject x scenario is simulated resumably on Dask. Point clouds: 4096 "dense" nodes by
farthest-point sampling, the first 1024 of them "coarse"; features x, y, z (mm, centred)
and tm, ab, rt, tv. Method: ``docs/twin/virtual_cohort.md``; layout: ``data/README.md``.
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numba as nb
import numpy as np

from mi_lib.core.names import SIMULATIONS

from .anatomy import (
    LV_ENDOCARDIUM,
    RV_ENDOCARDIUM,
    Anatomy,
    AnatomyError,
    load_anatomy,
    signed_volumes,
)
from .coordinates import COORDINATES, Coordinates, centre_line, compute_coordinates
from .ecg import ELECTRODES, LEADS
from .forward import TwinModel
from .scenarios import SCENARIO_NAMES, get_scenario
from .settings import ModelSettings

#: mode -> (range, unit)
MODES = {
    "scale": (0.10, "fraction"),
    "length": (0.10, "fraction"),
    "sphericity": (0.10, "fraction"),
    "rv_size": (0.15, "fraction"),
    "tilt": (10.0, "deg"),
    "twist": (10.0, "deg"),
}
N_DENSE, N_COARSE = 4096, 1024


@dataclass(frozen=True)
class SubjectSpec:
    """One virtual subject: a source mesh and its shape-mode coefficients."""

    name: str
    source: str
    edge_length: float = 2.0
    units: str = "auto"
    modes: tuple[float, ...] = (0.0,) * len(MODES)

    @property
    def coefficients(self) -> dict[str, float]:
        return dict(zip(MODES, self.modes, strict=True))


def cohort_specs(sources, n_subjects: int, seed: int = 0, *, edge_length: float = 2.0,
                 units: str = "auto") -> list[SubjectSpec]:
    """``n_subjects`` subjects spread evenly over the source meshes (module docstring).

    The first subject of each source is the unmodified mesh; the rest draw their mode
    coefficients uniformly within the ranges, from ``seed``.
    """
    sources = [str(s) for s in ([sources] if isinstance(sources, (str, os.PathLike))
                                else sources)]
    if not sources:
        raise ValueError("no source anatomy given")
    if n_subjects < len(sources):
        raise ValueError(f"n_subjects = {n_subjects} is less than the {len(sources)} "
                         "source meshes; each source mesh is at least one subject")
    rng = np.random.default_rng(seed)
    specs = []
    names = [Path(s).stem if Path(s).is_file() else Path(s).name for s in sources]
    for i in range(n_subjects):
        k = i % len(sources)
        j = i // len(sources)
        ranges = np.array([r for r, _ in MODES.values()])
        a = (0.0,) * len(MODES) if j == 0 else tuple(
            float(x) for x in rng.uniform(-1.0, 1.0, len(MODES)) * ranges)
        specs.append(SubjectSpec(f"{names[k]}_{j:03d}", sources[k], edge_length, units, a))
    dup = {s.name for s in specs if sum(t.name == s.name for t in specs) > 1}
    if dup:
        raise ValueError(f"source meshes with the same name {sorted(dup)}: rename one folder")
    return specs


def _ventricle_radial(points, coords: Coordinates, cls_mask):
    """Components of the nodes about a ventricle's centre line, perpendicular to the axis."""
    axis = coords.axes["long_axis"]
    height = (points - coords.axes["centre"]) @ axis
    line = centre_line(points, cls_mask, height)
    r = points - line
    return r - np.outer(r @ axis, axis)


def deform(anatomy: Anatomy, coords: Coordinates, coefficients: dict[str, float]) -> Anatomy:
    """The anatomy deformed by the shape modes (the rotations are applied in the torso)."""
    p = anatomy.points
    c = p.mean(axis=0)
    axis = coords.axes["long_axis"]
    a = {k: float(coefficients.get(k, 0.0)) for k in MODES}
    cls = anatomy.surface_class
    r_lv = _ventricle_radial(p, coords, cls == LV_ENDOCARDIUM)
    r_rv = _ventricle_radial(p, coords, cls == RV_ENDOCARDIUM)
    w_rv = 1.0 / (1.0 + np.exp(-(coords.u - 0.5) / 0.2))
    d = (a["scale"] * (p - c)
         + a["length"] * np.outer((p - c) @ axis, axis)
         + a["sphericity"] * r_lv * (1.0 - coords.ab)[:, None] * (1.0 - w_rv)[:, None]
         + a["rv_size"] * r_rv * w_rv[:, None])
    q = p + d
    vol = signed_volumes(q, anatomy.tets)
    if vol.min() <= 0:
        raise AnatomyError(f"{anatomy.name}: shape coefficients {a} invert "
                           f"{int((vol <= 0).sum())} tetrahedra; reduce the mode ranges")
    return replace(anatomy, points=q, info={**anatomy.info, "shape_modes": a})


@nb.njit(cache=True)
def _fps(points, n, start):
    m = points.shape[0]
    out = np.empty(n, np.int64)
    d = np.full(m, np.inf)
    cur = start
    for k in range(n):
        out[k] = cur
        best, arg = -1.0, 0
        for i in range(m):
            dx = points[i, 0] - points[cur, 0]
            dy = points[i, 1] - points[cur, 1]
            dz = points[i, 2] - points[cur, 2]
            v = dx * dx + dy * dy + dz * dz
            if v < d[i]:
                d[i] = v
            if d[i] > best:
                best, arg = d[i], i
        cur = arg
    return out


def farthest_point_sampling(points, n: int, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` nodes by farthest-point sampling from a seeded random start."""
    points = np.ascontiguousarray(points, float)
    if n > len(points):
        raise ValueError(f"cannot sample {n} points from a mesh of {len(points)} nodes; "
                         "use a finer mesh (smaller edge_length)")
    start = int(np.random.default_rng(seed).integers(len(points)))
    return _fps(points, int(n), start)


# ----------------------------------------------------------------------------- workers


@functools.lru_cache(maxsize=4)
def _source(path: str, edge_length: float, units: str) -> tuple[Anatomy, Coordinates]:
    anatomy = load_anatomy(path, edge_length=edge_length, units=units)
    return anatomy, compute_coordinates(anatomy)


def subject_model(spec: SubjectSpec, model_options: dict | None = None) -> TwinModel:
    """The forward model of one virtual subject (mesh deformed, then rebuilt from it)."""
    anatomy, coords = _source(spec.source, spec.edge_length, spec.units)
    a = spec.coefficients
    shaped = replace(deform(anatomy, coords, a), name=spec.name)
    return TwinModel.build(shaped, tilt_deg=a["tilt"], twist_deg=a["twist"],
                           **(model_options or {}))


def anatomy_part(model: TwinModel, seed: int = 0) -> dict:
    """Per-subject arrays stored with the simulations (nodes, coordinates, clouds)."""
    a = model.anatomy
    idx = farthest_point_sampling(a.points, min(N_DENSE, a.n_nodes), seed)
    return {"points": a.points.astype(np.float32), "coords": model.coords.as_array(),
            "aha": model.segments.astype(np.int8), "surface_class": a.surface_class,
            "dense_index": idx, "electrodes": np.array([model.electrodes[e] for e in
                                                         ELECTRODES], np.float32),
            "roots": model.roots, "root_times": model.root_times,
            "n_tets": np.int64(a.n_tets)}


def cloud_features(part: dict, index) -> np.ndarray:
    """The point-cloud features ``(n, 7)`` of an :func:`anatomy_part` at the nodes
    ``index``: xyz (mm) centred on the centroid of all the mesh's nodes, then the
    coordinates tm, ab, rt, tv (the product's ``pc_dense`` rule)."""
    xyz = part["points"][index] - part["points"].mean(axis=0)
    return np.column_stack([xyz, part["coords"][index]])


def other_scar_source(scar_source: str) -> str:
    """The reading of the scar's current that a campaign stores beside its own
    (``qrs_alt``): ``"slow"`` for ``"silent"`` and the other way round."""
    return "slow" if scar_source == "silent" else "silent"


def simulate_subject(spec: SubjectSpec, parts, model_options: dict | None = None,
                     seed: int = 0):
    """Campaign worker: yield ``(part, arrays)`` for ``anatomy`` and each scenario."""
    model = subject_model(spec, model_options)
    for part in parts:
        if part == "anatomy":
            yield part, anatomy_part(model, seed)
            continue
        out = model.simulate(get_scenario(part))
        other = other_scar_source(model.scar_source)
        alt = model.ecg(out["at"], out["labels"], scar_source=other)
        yield part, {"qrs": out["qrs"].astype(np.float32), "qrs_alt": alt.astype(np.float32),
                     "at": out["at"].astype(np.float32),
                     "labels": out["labels"],
                     "activation_duration": np.float64(out["activation_duration"])}


# ----------------------------------------------------------------------------- product


def assemble(specs, scenarios, parts: dict, *, dt: float, n_samples: int, attrs=None,
             scar_source: str = "silent"):
    """One ``xarray.Dataset`` from the campaign's parts (see ``data/README.md``)."""
    import xarray as xr

    n_sub, n_sc = len(specs), len(scenarios)
    anat = [parts[(s.name, "anatomy")] for s in specs]
    n_nodes = np.array([len(p["points"]) for p in anat])
    n_max = int(n_nodes.max())
    n_dense = min(N_DENSE, int(n_nodes.min()))
    n_coarse = min(N_COARSE, n_dense)

    def pad(x, fill, dtype):
        out = np.full((n_max,) + x.shape[1:], fill, dtype)
        out[: len(x)] = x
        return out

    qrs = np.zeros((n_sub, n_sc, len(LEADS), n_samples), np.float32)
    qrs_alt = np.zeros_like(qrs)
    dur = np.zeros((n_sub, n_sc))
    at = np.full((n_sub, n_sc, n_max), np.nan, np.float32)
    lab = np.full((n_sub, n_sc, n_max), -1, np.int8)
    for i, s in enumerate(specs):
        for j, sc in enumerate(scenarios):
            p = parts[(s.name, sc)]
            qrs[i, j], dur[i, j] = p["qrs"], p["activation_duration"]
            qrs_alt[i, j] = p["qrs_alt"]
            at[i, j, : n_nodes[i]] = p["at"]
            lab[i, j, : n_nodes[i]] = p["labels"]
    dense_idx = np.stack([p["dense_index"][:n_dense] for p in anat])
    feats = np.stack([cloud_features(p, idx) for p, idx in zip(anat, dense_idx, strict=True)]
                     ).astype(np.float32)
    dense_lab = np.take_along_axis(lab, dense_idx[:, None, :], axis=2)
    features = ["x", "y", "z", *COORDINATES]
    ds = xr.Dataset(
        {
            "qrs": (("subject", "scenario", "lead", "time"), qrs,
                    {"long_name": "pseudo-ECG QRS", "units": "normalised potential (a.u.)",
                     "scar_source": scar_source}),
            "qrs_alt": (("subject", "scenario", "lead", "time"), qrs_alt,
                        {"long_name": "pseudo-ECG QRS under the other reading of the scar's "
                         "current (same activation)", "units": "normalised potential (a.u.)",
                         "scar_source": other_scar_source(scar_source)}),
            "activation_duration": (("subject", "scenario"), dur, {
                "units": "ms", "long_name": "last activation of excitable (non-scar) tissue "
                "+ 2 upstroke widths"}),
            "activation_time": (("subject", "scenario", "node"), at, {"units": "ms"}),
            "tissue": (("subject", "scenario", "node"), lab,
                       {"flag_values": "0 healthy, 1 border zone, 2 scar, -1 padding"}),
            "points": (("subject", "node", "xyz"), np.stack([pad(p["points"], np.nan,
                                                                 np.float32) for p in anat]),
                       {"units": "mm"}),
            "coords": (("subject", "node", "coordinate"), np.stack(
                [pad(p["coords"], np.nan, np.float32) for p in anat])),
            "aha": (("subject", "node"), np.stack([pad(p["aha"], -1, np.int8) for p in anat]),
                    {"flag_values": "1..17 AHA segment, 0 outside the LV region, -1 padding"}),
            "surface_class": (("subject", "node"), np.stack(
                [pad(p["surface_class"], -1, np.int8) for p in anat])),
            "n_nodes": (("subject",), n_nodes),
            "electrodes": (("subject", "electrode", "xyz"), np.stack(
                [p["electrodes"] for p in anat]), {"units": "mm"}),
            "root_nodes": (("subject", "root"), np.stack([p["roots"] for p in anat])),
            "root_times": (("subject", "root"), np.stack([p["root_times"] for p in anat]),
                           {"units": "ms"}),
            "shape_modes": (("subject", "mode"), np.array([s.modes for s in specs])),
            "source": (("subject",), np.array([s.source for s in specs])),
            "dense_index": (("subject", "dense"), dense_idx),
            "pc_dense": (("subject", "dense", "feature"), feats),
            "pc_dense_tissue": (("subject", "scenario", "dense"), dense_lab),
            "pc_coarse": (("subject", "coarse", "feature"), feats[:, :n_coarse]),
            "pc_coarse_tissue": (("subject", "scenario", "coarse"), dense_lab[..., :n_coarse]),
        },
        coords={"subject": [s.name for s in specs], "scenario": list(scenarios),
                "lead": list(LEADS), "time": np.arange(n_samples) * dt,
                "xyz": ["x", "y", "z"], "coordinate": list(COORDINATES),
                "electrode": list(ELECTRODES), "mode": list(MODES),
                "feature": features},
        attrs=dict(attrs or {}),
    )
    ds["time"].attrs["units"] = "ms"
    return ds



def _campaign_work(specs: dict, model_options: dict | None, seed: int, group: str, parts):
    """``run_campaign`` worker: the subject named ``group``."""
    yield from simulate_subject(specs[group], parts, model_options, seed)


def run_simulations(specs, out_path, scenarios=SCENARIO_NAMES, *, scheduler_address=None,
                    n_workers=None, model_options: dict | None = None, seed: int = 0,
                    progress: bool = True):
    """Simulate every subject x scenario (resumable, on Dask) and write ``simulations.zarr``.

    Each simulation is saved as soon as it is done under ``<out>_parts/<subject>/``
    (:mod:`mi_lib.core.campaign`); a rerun computes only the missing ones, then the
    dataset (:func:`assemble`) is written atomically to ``out_path``. The settings (the
    subjects' specs, model options, seed, time grid) are recorded in
    ``<out>_parts/settings.json``; a rerun with different settings stops with an error
    rather than mixing results.

    Returns
    -------
    (xarray.Dataset, dict)
        The dataset and the campaign summary (``done_before``, ``computed``, ``total``,
        ``seconds``).
    """
    out_path = Path(out_path)
    parts_dir = out_path.with_name(out_path.stem + "_parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(parts_dir / ".lock"):
        return _run_simulations(specs, out_path, parts_dir, list(scenarios),
                                scheduler_address, n_workers, model_options, seed, progress)


def canonical_options(model_options: dict | ModelSettings | None) -> dict:
    """Model options with every default filled in (how a campaign's settings compare):
    the validated :class:`~mi_lib.twin.settings.ModelSettings` as plain data."""
    if not isinstance(model_options, ModelSettings):
        model_options = ModelSettings.from_dict(model_options)
    return model_options.to_dict()


@contextlib.contextmanager
def _exclusive(path: Path):
    """An exclusive advisory lock (``fcntl.flock``): one campaign per folder at a time;
    a second one waits, then finds the first one's simulations done."""
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_simulations(specs, out_path, parts_dir, scenarios, scheduler_address, n_workers,
                     model_options, seed, progress):
    import json

    from mi_lib.core.campaign import load_parts, run_campaign
    from mi_lib.core.store import write_json, write_zarr

    options = canonical_options(model_options)
    dt, n_samples = options["dt"], options["n_samples"]
    settings = {"subjects": [s.__dict__ | {"modes": list(s.modes)} for s in specs],
                "model_options": options, "seed": seed, "modes": list(MODES)}
    settings = json.loads(json.dumps(settings))
    record = parts_dir / "settings.json"
    if record.exists():
        old = json.loads(record.read_text())
        old_subjects = {s["name"]: s for s in old["subjects"]}
        clash = [s["name"] for s in settings["subjects"]
                 if s["name"] in old_subjects and old_subjects[s["name"]] != s]
        if clash or old["model_options"] != settings["model_options"] or old["seed"] != seed:
            raise ValueError(
                f"{parts_dir} holds simulations made with other settings (subjects "
                f"{clash[:3]}, model options or seed differ); use another run_name or "
                f"delete {parts_dir} to start again")
        settings["subjects"] = old["subjects"] + [
            s for s in settings["subjects"] if s["name"] not in old_subjects]
    write_json(record, settings)
    by_name = {s.name: s for s in specs}
    groups = {s.name: ["anatomy", *scenarios] for s in specs}
    work = functools.partial(_campaign_work, by_name, options or None, seed)
    summary = run_campaign(groups, work, parts_dir, scheduler_address=scheduler_address,
                           n_workers=n_workers, progress=progress)
    parts = load_parts(parts_dir, groups)
    ds = assemble(specs, list(scenarios), parts, dt=dt, n_samples=n_samples,
                  scar_source=options["scar_source"],
                  attrs={"title": "Digital-twin QRS simulations (paper 004 §III-B)",
                         "model_options": json.dumps(options), "seed": seed,
                         "scar_source": options["scar_source"],
                         "scenario_names": ", ".join(scenarios)})
    write_zarr(out_path, ds)
    return ds, summary


# ------------------------------------------------------------- notebook 05's product

"""File name of the simulation product under ``data/derived/<run_name>/``."""

TWIN_DEFAULTS = {"edge_length": 2.0, "units": "auto", "seed": 0, "n_workers": 2,
                 "anatomies": ("kit_geo1", "kit_geo2")}
"""Campaign defaults that a profile's ``twin`` settings (:func:`mi_lib.core.config.settings`,
which give ``n_subjects``) may override. ``anatomies`` are the shipped hearts under
``data/raw/anatomy/`` (``data/README.md``) the cohort is built from when no
``anatomy_path`` is given."""


def twin_defaults(profile: str) -> dict:
    """:data:`TWIN_DEFAULTS` overridden by the profile's ``twin`` settings."""
    from mi_lib.core.config import settings

    return {**TWIN_DEFAULTS, **settings(profile)["twin"]}


def anatomy_sources(paths, anatomy_path="", shipped=TWIN_DEFAULTS["anatomies"]) -> list[str]:
    """The source meshes of the virtual cohort.

    Parameters
    ----------
    paths : mi_lib.core.config.RunPaths
    anatomy_path : str, path or sequence of them
        A labelled surface, a Cobiveco pair's folder or a four-surface folder or prefix;
        several separated by commas (or a sequence).
    shipped : sequence of str
        Used when ``anatomy_path`` is empty: folder names under ``paths.raw / "anatomy"``.
    """
    if isinstance(anatomy_path, (str, os.PathLike)):
        items = str(anatomy_path).split(",")
    else:
        items = [str(a) for a in (anatomy_path or ())]
    sources = [s.strip() for s in items if s.strip()]
    return sources or [str(paths.raw / "anatomy" / name) for name in shipped]


def scenario_names(scenarios="all") -> list[str]:
    """The scenarios of a campaign: ``"all"`` (or None) for :data:`SCENARIO_NAMES`, else
    comma-separated names or a sequence; unknown names raise (listing the known ones);
    ``baseline`` is added first when missing (the healthy reference of every subject)."""
    if scenarios is None or (isinstance(scenarios, str) and scenarios.strip() == "all"):
        names = list(SCENARIO_NAMES)
    elif isinstance(scenarios, str):
        names = [s.strip() for s in scenarios.split(",") if s.strip()]
    else:
        names = [str(s) for s in scenarios]
    for name in names:
        get_scenario(name)
    if "baseline" not in names:
        names.insert(0, "baseline")
    return names


@dataclass(frozen=True)
class SimulationSettings:
    """Everything that decides a ``simulations.zarr`` (see :func:`simulation_settings`).

    ``model_options`` are canonical (:func:`canonical_options`: every default filled in),
    so two settings compare equal exactly when they give the same product.
    """

    sources: tuple[str, ...]
    n_subjects: int
    seed: int
    scenarios: tuple[str, ...]
    edge_length: float
    units: str
    model_options: dict

    def specs(self) -> list[SubjectSpec]:
        """The subjects (:func:`cohort_specs`)."""
        return cohort_specs(list(self.sources), self.n_subjects, self.seed,
                            edge_length=self.edge_length, units=self.units)


def simulation_settings(paths, profile: str, *, anatomy_path="", units: str | None = None,
                        edge_length: float | None = None, n_subjects: int | None = None,
                        seed: int | None = None, scenarios="all",
                        model_options: dict | None = None) -> SimulationSettings:
    """The one set of defaults of notebook 05's campaign (and of
    :func:`mi_lib.twin.products.simulations`).

    Parameters
    ----------
    paths : mi_lib.core.config.RunPaths
    profile : str
        ``n_subjects`` and any of :data:`TWIN_DEFAULTS` come from
        ``settings(profile)["twin"]``.
    anatomy_path : str
        Source mesh(es), comma-separated; empty: the profile's shipped hearts
        (:func:`anatomy_sources`).
    units : {"auto", "mm", "cm"}, optional
    edge_length : float, mm, optional
        Target tetrahedron edge when meshing a surface.
    n_subjects : int, optional
        None or 0: the profile's; at least one per source mesh.
    seed : int, optional
        Shape variation and point-cloud sampling; None (default): the profile's ``seed``
        (:data:`TWIN_DEFAULTS`: 0).
    scenarios : "all", comma-separated str or sequence
        :func:`scenario_names`.
    model_options : dict, optional
        :class:`~mi_lib.twin.forward.TwinModel` options (``cv`` in m/s, ``upstroke_ms``,
        ``flip_handedness``, ...); missing ones take the model's defaults.
    """
    defaults = twin_defaults(profile)
    sources = anatomy_sources(paths, anatomy_path, defaults["anatomies"])
    n = int(n_subjects or 0) or int(defaults["n_subjects"])
    return SimulationSettings(
        sources=tuple(sources), n_subjects=max(n, len(sources)),
        seed=int(defaults["seed"] if seed is None else seed),
        scenarios=tuple(scenario_names(scenarios)),
        edge_length=float(defaults["edge_length"] if edge_length is None else edge_length),
        units=str(defaults["units"] if units is None else units),
        model_options=canonical_options(model_options))


def simulation_product(paths, profile: str, *, anatomy_path="", units: str | None = None,
                       edge_length: float | None = None, n_subjects: int | None = None,
                       seed: int | None = None, scenarios="all",
                       model_options: dict | None = None, n_workers: int | None = None,
                       scheduler_address: str | None = None, progress: bool = True):
    """Notebook 05's campaign: the run's ``simulations.zarr``, simulated where missing.

    The settings are :func:`simulation_settings` of the same keywords; the campaign is
    :func:`run_simulations` (resumable: a rerun computes only the missing simulations,
    and stops if the folder holds simulations made with other settings).

    Parameters
    ----------
    paths, profile, anatomy_path, units, edge_length, n_subjects, seed, scenarios, model_options
        See :func:`simulation_settings`.
    n_workers : int, optional
        Size of the local Dask cluster; None (default): the profile's ``n_workers``
        (:data:`TWIN_DEFAULTS`: 2).
    scheduler_address : str, optional
        Empty or None: a local cluster; ``"synchronous"``: in this process; else the
        address of a running scheduler (e.g. ``tcp://host:8786``).
    progress : bool

    Returns
    -------
    (xarray.Dataset, dict, list of SubjectSpec)
        The product opened lazily (``xarray.open_zarr``), the campaign summary
        (``done_before``, ``computed``, ``total``, ``seconds``) and the subjects.
    """
    import xarray as xr

    s = simulation_settings(paths, profile, anatomy_path=anatomy_path, units=units,
                            edge_length=edge_length, n_subjects=n_subjects, seed=seed,
                            scenarios=scenarios, model_options=model_options)
    if n_workers is None:
        n_workers = twin_defaults(profile)["n_workers"]
    specs = s.specs()
    out = paths.product(SIMULATIONS)
    _, summary = run_simulations(specs, out, list(s.scenarios),
                                 scheduler_address=scheduler_address or None,
                                 n_workers=int(n_workers), model_options=s.model_options,
                                 seed=s.seed, progress=progress)
    return xr.open_zarr(out), summary, specs
