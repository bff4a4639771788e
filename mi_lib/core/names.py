"""The file names of the products notebooks hand to each other, in one place.

Every product lives under ``data/derived/<run_name>/`` (:class:`~mi_lib.core.config.RunPaths`);
its layout is documented in ``data/README.md``. Code and notebooks name a product through
these constants, never by a literal.
"""

from __future__ import annotations

#: notebook 01 (or :func:`mi_lib.population.products.synthetic_cohort`): the synthetic
#: LGE cohort folder, in the cohort format of ``data/README.md``
COHORT = "cohort"
#: notebook 01: the cohort on the reference anatomy
POPULATION = "population.nc"
#: notebook 04: the Isomap comparison of the real and synthetic populations
ISOMAP = "isomap.nc"
#: notebook 05: the virtual cohort's simulations (QRS, tissue, coordinates, point clouds)
SIMULATIONS = "simulations.zarr"
#: notebook 06: the QRS sensitivity analysis
SENSITIVITY = "sensitivity.nc"

#: the real healthy 12-lead recording shipped in ``data/raw/`` (relative to it)
REAL_ECG = "ecg/dti004_clinical_full.csv"


def personalization(model: str, divergence: str, dims: int) -> str:
    """Notebook 03's product for one fit: ``personalization_<model>_<divergence>_<dims>d.nc``."""
    return f"personalization_{model}_{divergence}_{dims}d.nc"


__all__ = ["COHORT", "ISOMAP", "POPULATION", "REAL_ECG", "SENSITIVITY", "SIMULATIONS",
           "personalization"]
