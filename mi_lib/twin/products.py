"""Pipeline B's products: ``simulations.zarr`` opened and checked, or built on demand."""

from __future__ import annotations

import json
from pathlib import Path

from mi_lib.core import names
from mi_lib.core.config import RunPaths


def simulations(paths: RunPaths, profile: str, *, scheduler_address: str | None = None,
                n_workers: int | None = None, progress: bool = True):
    """This run's ``simulations.zarr`` (notebook 05's product), simulated if missing.

    Built by the call notebook 05 makes, with the notebook's defaults
    (:func:`mi_lib.twin.virtual_cohort.simulation_product`: the profile's shipped hearts and
    cohort size, seed 0, the model's default options, every scenario). An existing
    product is opened as it is. Returns the opened ``xarray.Dataset``.
    """
    from .virtual_cohort import simulation_product

    out = paths.product(names.SIMULATIONS)
    if not out.exists():
        simulation_product(paths, profile, scheduler_address=scheduler_address,
                           n_workers=n_workers, progress=progress)
    return open_simulations(out)


def open_simulations(path: str | Path):
    """Open a ``simulations.zarr`` and check what notebooks 06 and 07 rely on."""
    import xarray as xr

    from .ecg import LEADS

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such simulations product; run notebook 05 "
                                "(or leave simulations_path empty to build this run's)")
    try:
        ds = xr.open_zarr(path)
    except Exception as err:  # noqa: BLE001 - any reader error becomes a named one
        raise ValueError(f"{path}: not a readable zarr store ({err})") from None
    need = {"qrs": ("subject", "scenario", "lead", "time"),
            "tissue": ("subject", "scenario", "node"), "aha": ("subject", "node")}
    for var, dims in need.items():
        if var not in ds or tuple(ds[var].dims) != dims:
            raise ValueError(f"{path}: variable {var!r} with dims {dims} is missing; "
                             "write it with mi_lib.twin.virtual_cohort.run_simulations")
    if list(ds.lead.values) != list(LEADS):
        raise ValueError(f"{path}: leads are {list(ds.lead.values)}, expected {list(LEADS)}")
    if "baseline" not in ds.scenario.values:
        raise ValueError(f"{path}: no 'baseline' scenario; the healthy reference is needed")
    return ds


def subject_specs(simulations, path=None) -> list:
    """The :class:`~mi_lib.twin.virtual_cohort.SubjectSpec` of every subject of a
    simulations product (opened dataset ``simulations``, stored at ``path``): from the
    campaign's ``simulations_parts/settings.json`` beside it when present (exact: edge
    length and units included), else from the product's ``source`` and ``shape_modes``
    (edge length 2 mm, units auto). Raises ``FileNotFoundError`` naming a missing source
    mesh."""
    from .virtual_cohort import SubjectSpec

    ds = simulations
    subjects = [str(s) for s in ds.subject.values]
    specs = None
    if path is not None:
        settings = Path(path).parent / "simulations_parts" / "settings.json"
        if settings.exists():
            found = {s["name"]: s for s in json.loads(settings.read_text())["subjects"]}
            if all(name in found for name in subjects):
                specs = [SubjectSpec(name, found[name]["source"], float(found[name]["edge_length"]),
                                     found[name]["units"], tuple(found[name]["modes"]))
                         for name in subjects]
    if specs is None:
        modes = ds.shape_modes.values
        specs = [SubjectSpec(name, str(src), 2.0, "auto", tuple(float(x) for x in m))
                 for name, src, m in zip(subjects, ds.source.values, modes, strict=True)]
    for s in specs:
        if not Path(s.source).exists():
            raise FileNotFoundError(f"subject {s.name}: its source mesh {s.source} is not here; "
                                    "new simulations on its subjects need the product's source anatomies")
    return specs
