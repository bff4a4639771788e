"""Notebook 08's inputs and product: the personalised model it draws from (given, or this
run's, built on demand), and ``mi_population.zarr`` simulated where missing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core import names
from ..core.config import RunPaths, settings
from .campaign import BridgeSettings, model_record, run_population_campaign
from .territories import MIN_SUBJECTS, territories_to_fit, territory_fit

#: the infarct models notebook 03 fits
MODELS = ("iterative", "elliptical")
#: the notebook's default fit: 3D, MMD (notebook 03's extension beyond the paper's 2D KL)
DEFAULT_DIVERGENCE, DEFAULT_DIMS = "mmd", 3


def closest_model(isomap=None, energies: dict | None = None) -> tuple[str, str]:
    """The infarct model closest to the real population, and why.

    From notebook 04's comparison (``isomap.nc``'s ``comparison``, the lowest ``MMD2``
    of a synthetic population) when given; else from ``energies`` (model -> final
    divergence of fits to the same real population, the lowest wins).
    """
    if isomap is not None and "comparison" in isomap:
        table = isomap["comparison"].to_pandas()
        rows = [r for r in table.index if r != "real" and np.isfinite(table.loc[r, "MMD2"])]
        if rows:
            best = min(rows, key=lambda r: table.loc[r, "MMD2"])
            model = str(best).split(" ")[0]
            if model in MODELS:
                return model, (f"notebook 04: {best} has the lowest MMD2 to the real "
                               f"population ({table.loc[best, 'MMD2']:.4f})")
    if not energies:
        raise ValueError("no isomap.nc comparison and no fits to choose the model from")
    model = min(energies, key=energies.get)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(energies.items()))
    return model, f"lowest final {DEFAULT_DIVERGENCE.upper()} of the {DEFAULT_DIMS}D fits ({shown})"


def personalization(paths: RunPaths, profile: str, personalization_path: str | Path = "",
                    population_path: str | Path = "", *, progress: bool = True):
    """The personalised model notebook 08 draws from: ``(dataset, description)``.

    ``personalization_path`` (a ``personalization_*.nc`` made anywhere, checked by
    :func:`mi_lib.population.products.open_personalization`), else this run's 3D MMD fit
    (notebook 03's product, computed if missing) of the model :func:`closest_model`
    picks: notebook 04's choice when this run has an ``isomap.nc``, else the lower final
    MMD of both models' 3D fits.
    """
    import xarray as xr

    from ..population import products as pp

    if personalization_path:
        ds = pp.open_personalization(personalization_path)
        if int(ds.attrs["dims"]) != 3:
            raise ValueError(f"{personalization_path}: a {ds.attrs['dims']}D personalization; "
                             "the bridge draws whole infarcts on the LV and needs a 3D fit "
                             "(notebook 03 with dims = 3)")
        return ds, f"{Path(personalization_path).name} ({ds.attrs['model']})"
    fits = {m: pp.personalization(paths, profile, m, DEFAULT_DIVERGENCE, DEFAULT_DIMS,
                                  population_path=population_path or None, progress=progress)
            for m in MODELS}
    isomap_path = paths.product(names.ISOMAP)
    isomap = xr.load_dataset(isomap_path) if isomap_path.exists() else None
    energies = {m: float(np.asarray(ds["final_energy"].values).min()) for m, ds in fits.items()}
    model, why = closest_model(isomap, energies)
    return fits[model], f"this run's {DEFAULT_DIMS}D {DEFAULT_DIVERGENCE.upper()} fit of the " \
                        f"{model} model ({why})"


def bridge_settings(profile: str, n_infarcts: int | None = None, seed: int = 0,
                    **kw) -> BridgeSettings:
    """:class:`BridgeSettings` with the profile's ``bridge`` settings (``n_infarcts``)."""
    n = int(n_infarcts or 0) or int(settings(profile)["bridge"]["n_infarcts"])
    return BridgeSettings(n_infarcts=n, seed=int(seed), **kw)


def territory_fits(paths: RunPaths, profile: str, personalization_ds, population, *,
                   min_subjects: int = MIN_SUBJECTS, progress: bool = False) -> dict:
    """Territory -> the personalised model refitted to that territory's LGE infarcts
    (:func:`~mi_lib.bridge.territories.territory_fit` with the profile's CMA-ES settings),
    for the territories with at least ``min_subjects`` infarcts. Each is this run's
    ``bridge_personalization_<territory>.nc``, fitted if missing or made from another
    pooled fit, population or settings."""
    import xarray as xr

    from ..core.store import write_netcdf
    from ..population.personalization import CMASettings

    cma = CMASettings(**settings(profile)["personalization"])
    wanted = {**cma.attrs(), "pooled_model": str(personalization_ds.attrs["model"]),
              "pooled_final_physical": json.dumps(np.asarray(
                  personalization_ds["final_physical"].values).round(12).tolist()),
              "population_territories": json.dumps(
                  np.asarray(population["territory"].values).astype(str).tolist())}
    out = {}
    for t in territories_to_fit(population, min_subjects):
        target = paths.product(names.territory_personalization(t))
        if target.is_file():
            ds = xr.load_dataset(target)
            if all(ds.attrs.get(k) == v for k, v in wanted.items()):
                out[t] = ds
                continue
        ds = territory_fit(personalization_ds, population, t, cma, progress=progress)
        ds.attrs.update({**wanted, "profile": profile})
        write_netcdf(target, ds)
        out[t] = xr.load_dataset(target)
    return out


def population_infarcts(paths: RunPaths, profile: str, simulations, personalization_ds,
                        population, bridge: BridgeSettings, *, simulations_path=None,
                        scheduler_address: str | None = None, n_workers: int | None = None,
                        progress: bool = True, attrs: dict | None = None,
                        territories: dict | None = None):
    """This run's ``mi_population.zarr``, simulated where missing, on the subjects of the
    simulations product ``simulations`` (stored at ``simulations_path``) with its forward
    model's options and cloud seed. ``territories``: the territories' own fits
    (:func:`territory_fits`, computed when None and ``bridge.per_territory``). Returns
    ``(dataset opened lazily, campaign summary)``."""
    import xarray as xr

    from ..twin.products import subject_specs
    from ..twin.virtual_cohort import twin_defaults

    specs = subject_specs(simulations, simulations_path)
    if territories is None and bridge.per_territory:
        territories = territory_fits(paths, profile, personalization_ds, population)
    if n_workers is None:
        n_workers = twin_defaults(profile)["n_workers"]
    out = paths.product(names.MI_POPULATION)
    _, summary = run_population_campaign(
        specs, out, model_record(personalization_ds, population, territories), bridge,
        model_options=json.loads(simulations.attrs["model_options"]),
        seed=int(simulations.attrs.get("seed", 0)), scheduler_address=scheduler_address or None,
        n_workers=int(n_workers), progress=progress, attrs=attrs)
    return xr.open_zarr(out), summary


def open_population_infarcts(path: str | Path):
    """Open a ``mi_population.zarr`` and check the layout notebook 08 relies on."""
    import xarray as xr

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such product; run notebook 08 to build it")
    try:
        ds = xr.open_zarr(path)
    except Exception as err:  # noqa: BLE001 - any reader error becomes a named one
        raise ValueError(f"{path}: not a readable zarr store ({err})") from None
    need = {"qrs": ("subject", "infarct", "lead", "time"),
            "tissue": ("subject", "infarct", "node"), "territory": ("subject", "infarct"),
            "size": ("subject", "infarct"), "draw": ("subject", "infarct")}
    for var, dims in need.items():
        if var not in ds or tuple(ds[var].dims) != dims:
            raise ValueError(f"{path}: variable {var!r} with dims {dims} is missing; write it "
                             "with mi_lib.bridge.campaign.run_population_campaign")
    return ds
