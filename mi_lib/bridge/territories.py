"""The personalised model refitted to each coronary territory's LGE infarcts.

Notebook 03 fits one model to the pooled, aligned population: every territory's infarcts
rotated onto the LAD frame. Its draws have the pooled sizes and extents whichever territory
they are sent to, and no resampling can make what the model rarely draws: the LAD's large
infarcts that wrap round the apex (``docs/bridge/campaign.md``). :func:`territory_fit`
refits the same model, with the same divergence and CMA-ES settings, to one territory's
aligned infarcts, starting from the pooled fit; the territory's start zone is the centre of
its own infarcts (:meth:`~mi_lib.population.models.Domain.from_population`). Territories
with fewer than :data:`MIN_SUBJECTS` LGE infarcts keep the pooled fit.
"""

from __future__ import annotations

import numpy as np

#: the fewest LGE infarcts a territory needs for a fit of its own (else the pooled fit)
MIN_SUBJECTS = 5


def territory_subjects(population, territory: str) -> np.ndarray:
    """Indices of a ``population.nc``'s subjects in ``territory``."""
    t = np.asarray(population["territory"].values).astype(str)
    return np.flatnonzero(t == str(territory))


def territory_fit(personalization, population, territory: str, settings=None, *,
                  progress: bool = False):
    """The personalised model refitted to one territory's infarcts, as a personalization
    dataset (notebook 03's format, :meth:`~mi_lib.population.personalization.Result.to_dataset`,
    with a ``territory`` attribute).

    Parameters
    ----------
    personalization : xarray.Dataset
        The pooled fit (a 3D ``personalization_*.nc``): its model and divergence are
        refitted, from its ``final_x`` when it has one.
    population : xarray.Dataset
        The LGE population (``population.nc``, aligned ``infarct`` images).
    territory : str
        The territory (``LAD``, ``LCX``, ``RCA``): its subjects are the real population.
    settings : CMASettings, optional
        The search (default :class:`~mi_lib.population.personalization.CMASettings`).
    progress : bool
        Show a progress bar.
    """
    from ..population.models import Domain, make_model
    from ..population.personalization import CMASettings, personalize

    rows = territory_subjects(population, territory)
    if len(rows) < 2:
        raise ValueError(f"territory {territory}: {len(rows)} LGE infarct(s); a fit needs "
                         f"at least 2 (the bridge refits territories of >= {MIN_SUBJECTS})")
    dims = int(personalization.attrs.get("dims", 3))
    if dims != 3:
        raise ValueError(f"a {dims}D personalization: the territories are refitted in 3D")
    sub = population.isel(subject=rows)
    domain = Domain.from_population(sub, 3)
    model = make_model(str(personalization.attrs["model"]), domain)
    x0 = (np.asarray(personalization["final_x"].values, float)
          if "final_x" in personalization else None)
    result = personalize(model, domain.real_samples(sub), settings or CMASettings(),
                         str(personalization.attrs.get("divergence", "mmd")),
                         progress=progress, x0=x0)
    ds = result.to_dataset(sub)
    ds.attrs.update({"territory": str(territory), "n_real": int(len(rows))})
    return ds


def territories_to_fit(population, min_subjects: int = MIN_SUBJECTS) -> list[str]:
    """The territories with at least ``min_subjects`` LGE infarcts (sorted)."""
    t, counts = np.unique(np.asarray(population["territory"].values).astype(str),
                          return_counts=True)
    return [str(name) for name, k in zip(t, counts, strict=True) if k >= min_subjects]


def fit_table(pooled, fits: dict, population):
    """One row per territory: its LGE infarcts, whether it has its own fit, and the
    model's final physical parameters (pooled and own) with the fit's final divergence."""
    import pandas as pd

    names = [str(n) for n in pooled["param"].values]
    t, counts = np.unique(np.asarray(population["territory"].values).astype(str),
                          return_counts=True)
    rows = []
    for name, k in zip(t, counts, strict=True):
        ds = fits.get(str(name), pooled)
        row = {"territory": str(name), "LGE infarcts": int(k), "own fit": str(name) in fits,
               **{f"{p} (pooled)": float(v) for p, v in zip(
                   names, pooled["final_physical"].values, strict=True)},
               **{p: float(v) for p, v in zip(names, ds["final_physical"].values, strict=True)},
               "final divergence": float(np.median(ds["final_energy"].values))}
        rows.append(row)
    return pd.DataFrame(rows).set_index("territory")
