"""Pipeline A's products (cohort, ``population.nc``, ``personalization_*.nc``): readers
that check a file made anywhere in the documented format, and builders on demand.

When a notebook needs a product that is missing, it calls the builder the upstream
notebook calls, so any notebook runs standalone and gives the same product as the chain.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

from mi_lib.core import names
from mi_lib.core.config import RunPaths, settings
from mi_lib.core.store import write_json, write_netcdf
from mi_lib.population.lge import SyntheticCohortSpec, open_cohort, synthesize_cohort
from mi_lib.population.reference import ReferenceAnatomy, build_population


def synthetic_cohort(paths: RunPaths, profile: str, seed: int = 0) -> Path:
    """The run's synthetic cohort folder (``cohort/``), written if missing or stale.

    ``cohort/spec.json`` is written last, so a cohort interrupted half-way is redrawn.
    """
    counts = settings(profile)["cohort"]["territory_counts"]
    spec = SyntheticCohortSpec(territory_counts=counts, seed=seed)
    folder = paths.product(names.COHORT)
    stamp = folder / "spec.json"
    wanted = asdict(spec)
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    synthesize_cohort(folder, spec)
    write_json(stamp, wanted)
    return folder


def resolve_cohort(paths: RunPaths, profile: str, cohort_dir: str | Path | None,
                   seed: int = 0) -> Path:
    """``cohort_dir`` if given, else the run's synthetic cohort for ``profile``."""
    if cohort_dir:
        return Path(cohort_dir).expanduser().resolve()
    return synthetic_cohort(paths, profile, seed)


def population(paths: RunPaths, profile: str, cohort_dir: str | Path | None = None, *,
               seed: int = 0, reference: ReferenceAnatomy | None = None, upsample: int = 4,
               align: bool = True, n_jobs: int | None = None, rebuild: bool = False,
               progress: bool = True):
    """The run's reference-anatomy population (``population.nc``), built if missing.

    Returns the dataset loaded in memory.
    """
    import xarray as xr

    target = paths.product(names.POPULATION)
    if target.is_file() and not rebuild:
        return xr.load_dataset(target)
    cohort = open_cohort(resolve_cohort(paths, profile, cohort_dir, seed))
    cohort.validate()
    jobs = settings(profile)["n_jobs"] if n_jobs is None else n_jobs
    ds = build_population(cohort, reference or ReferenceAnatomy(), upsample=upsample,
                          align=align, n_jobs=jobs, progress=progress)
    ds.attrs["profile"] = profile
    write_netcdf(target, ds)
    return xr.load_dataset(target)


POPULATION_VARIABLES = ("infarct", "myocardium")


def _read_product(path: Path, kind: str, fix: str):
    """The netCDF product at ``path``, loaded, or an error naming the file and ``fix``."""
    import xarray as xr

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {kind} file; {fix}")
    try:
        ds = xr.load_dataset(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise ValueError(f"{path}: not a readable netCDF file ({exc}); {fix}") from exc
    return ds


def open_population(path: str | Path):
    """Load a ``population.nc`` (ours or one made elsewhere in the same format) and check
    it, with an error naming the file, the problem and the fix."""
    path = Path(path).expanduser()
    fix = "write it with notebook 01 (or mi_lib.population.products.population) or follow data/README.md"
    ds = _read_product(path, "population", fix)
    missing = [v for v in POPULATION_VARIABLES if v not in ds]
    if missing:
        raise ValueError(f"{path}: missing variable(s) {missing}; {fix}")
    if ds["infarct"].dims != ("subject", "slice", "y", "x"):
        raise ValueError(f"{path}: infarct has dims {ds['infarct'].dims}, expected "
                         f"(subject, slice, y, x); {fix}")
    if ds["myocardium"].shape != ds["infarct"].shape[1:]:
        raise ValueError(f"{path}: myocardium {ds['myocardium'].shape} does not match the "
                         f"infarct grid {ds['infarct'].shape[1:]}; {fix}")
    if not any(k.startswith("reference_") for k in ds.attrs):
        raise ValueError(f"{path}: no reference_* attributes (the reference geometry); {fix}")
    if ds.sizes["subject"] < 2:
        raise ValueError(f"{path}: needs at least 2 subjects, has {ds.sizes['subject']}")
    return ds


def personalization(paths: RunPaths, profile: str, model: str, divergence: str = "kl",
                    dims: int = 2, *, population_path: str | Path | None = None,
                    overrides: dict | None = None, rebuild: bool = False,
                    progress: bool = True):
    """The run's ``personalization_<model>_<divergence>_<dims>d.nc``, computed if missing
    or made with other settings. ``population_path`` defaults to the run's population
    (built on demand); ``overrides`` replace the profile's CMA-ES settings."""
    import xarray as xr

    from mi_lib.population.models import Domain, make_model
    from mi_lib.population.personalization import CMASettings, personalize

    kw = settings(profile)["personalization"]
    kw.update(overrides or {})
    cma_settings = CMASettings(**kw)
    target = paths.product(names.personalization(model, divergence, dims))
    if population_path:
        source = Path(population_path).expanduser().resolve()
        pop = open_population(source)
    else:
        source = paths.product(names.POPULATION).resolve()
        pop = population(paths, profile, progress=progress)
    wanted = cma_settings.attrs()
    wanted["population"] = str(source)
    if target.is_file() and not rebuild:
        ds = xr.load_dataset(target)
        if all(ds.attrs.get(k) == v for k, v in wanted.items()):
            return ds
    domain = Domain.from_population(pop, dims)
    infarct_model = make_model(model, domain)
    result = personalize(infarct_model, domain.real_samples(pop), cma_settings, divergence,
                         progress=progress)
    ds = result.to_dataset(pop)
    ds.attrs["population"] = str(source)
    ds.attrs["profile"] = profile
    write_netcdf(target, ds)
    return xr.load_dataset(target)


PERSONALIZATION_ATTRS = ("model", "divergence", "dims")


def open_personalization(path: str | Path, population=None):
    """Load a ``personalization_*.nc`` (ours or one made elsewhere in the same format) and
    check it, with an error naming the file, the problem and the fix.

    With ``population`` (a ``population.nc`` dataset) the samples' grid must match it.
    """
    path = Path(path).expanduser()
    fix = "write it with notebook 03 (or mi_lib.population.products.personalization) or follow data/README.md"
    ds = _read_product(path, "personalization", fix)
    missing = [a for a in PERSONALIZATION_ATTRS if a not in ds.attrs]
    if missing:
        raise ValueError(f"{path}: missing attribute(s) {missing}; {fix}")
    if "samples" not in ds:
        raise ValueError(f"{path}: no `samples` variable (the final synthetic population); {fix}")
    if ds["samples"].dims != ("sample", "slice", "y", "x"):
        raise ValueError(f"{path}: samples have dims {ds['samples'].dims}, expected "
                         f"(sample, slice, y, x); {fix}")
    if ds.sizes["sample"] < 2:
        raise ValueError(f"{path}: needs at least 2 samples, has {ds.sizes['sample']}")
    if population is not None:
        grid = population["infarct"].shape[2:]
        if ds["samples"].shape[2:] != grid:
            raise ValueError(f"{path}: samples on a {ds['samples'].shape[2:]} grid, the "
                             f"population on {grid}: personalise against this population")
        n_slices = population.sizes["slice"]
        bad = [int(k) for k in ds["slice"].values if not 0 <= int(k) < n_slices]
        if bad:
            raise ValueError(f"{path}: slice indices {bad} outside the population's "
                             f"{n_slices} slices: personalise against this population")
    return ds


def synthetic_populations(runs, domain) -> dict:
    """The final synthetic populations of personalization datasets on ``domain``, as
    ``{"<model> (<DIVERGENCE>)": bool voxels (sample, n_voxels)}``; each dataset must have
    been made on the same dimension and slices as the domain."""
    out = {}
    for ds in runs:
        label = f"{ds.attrs['model']} ({str(ds.attrs['divergence']).upper()})"
        if int(ds.attrs["dims"]) != domain.dims:
            raise ValueError(f"{label}: personalization is {ds.attrs['dims']}D but the analysis "
                             f"is {domain.dims}D; pass files made with the same dims")
        if list(ds["slice"].values) != list(domain.slices):
            raise ValueError(f"{label}: covers slices {list(ds['slice'].values)}, the "
                             f"{domain.dims}D domain {list(domain.slices)}")
        out[label] = domain.voxels(ds["samples"].values.astype(bool))
    return out
