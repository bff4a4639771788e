"""Pipeline B's products: ``simulations.zarr`` opened and checked, or built on demand."""

from __future__ import annotations

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
