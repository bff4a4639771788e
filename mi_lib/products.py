"""The products that notebooks hand to each other, built on demand.

Each notebook reads and writes under ``data/derived/<run_name>/``. When a product it
needs is missing, it calls the function here that the upstream notebook calls, so any
notebook runs standalone and gives the same product as the full chain.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

from .cohort import SyntheticCohortSpec, open_cohort, synthesize_cohort
from .config import RunPaths, settings
from .reference import ReferenceAnatomy, build_population
from .store import write_json, write_netcdf

POPULATION = "population.nc"


def synthetic_cohort(paths: RunPaths, profile: str, seed: int = 0) -> Path:
    """The run's synthetic cohort folder (``cohort/``), written if missing or stale.

    ``cohort/spec.json`` is written last, so a cohort interrupted half-way is redrawn.
    """
    counts = settings(profile)["cohort"]["territory_counts"]
    spec = SyntheticCohortSpec(territory_counts=counts, seed=seed)
    folder = paths.product("cohort")
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

    target = paths.product(POPULATION)
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
