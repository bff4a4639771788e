"""Population-model infarcts on a twin's LV: drawn, placed in a coronary territory, carried.

Each infarct is drawn from the personalised model (:mod:`~mi_lib.bridge.draw`) in the
aligned (LAD) frame of notebook 01, given a territory with the real cohort's shares,
put back where that territory's infarcts lie (:func:`~mi_lib.bridge.mapping.unrotate`
with the territory's shift from ``population.nc``), and carried onto the twin's LV region
(:func:`~mi_lib.bridge.mapping.carry`); a border zone of one width is grown round the scar
(:func:`~mi_lib.bridge.mapping.shell`, the border zone). Labels: 0 healthy, 1 border zone, 2 scar.
"""

from __future__ import annotations

import numpy as np

from .draw import draw_infarcts, reference_voxels
from .mapping import carry, coordinate_points, shell, territory_shifts, twin_to_reference, unrotate

#: the border zone's width in the wall metric of :func:`~mi_lib.bridge.mapping.coordinate_points`
#: (the circumference is 1: 0.03 is about 6 mm on an LV of 20 cm circumference)
BZ_WIDTH = 0.03


def territory_shares(population) -> dict:
    """Each territory's share of the subjects of a ``population.nc`` dataset."""
    t = np.asarray(population["territory"].values).astype(str)
    names, counts = np.unique(t, return_counts=True)
    return {str(n): float(c) / len(t) for n, c in zip(names, counts, strict=True)}


def population_draws(personalization, shifts: dict, shares: dict, n: int, seed: int = 0
                     ) -> dict:
    """``n`` infarcts of the personalised model on the reference, each given a territory.

    Parameters
    ----------
    personalization : xarray.Dataset
        Notebook 03's product (the model; :func:`~mi_lib.bridge.draw.personalised_model`).
    shifts : dict
        Territory -> alignment shift (turns; :func:`~mi_lib.bridge.mapping.territory_shifts`).
    shares : dict
        Territory -> probability (:func:`territory_shares`).
    n : int
        Infarcts.
    seed : int
        Seeds the territories and the model's draws.

    Returns
    -------
    dict
        ``reference (n, n_voxels)`` bool (the draws in the aligned frame), ``territory
        (n,)`` str, ``shift (n,)`` float (the territory's alignment shift, turns), ``size
        (n,)`` (infarcted fraction of the model's domain), ``draw (n,)`` int (the draw's
        index in the seeded sequence), and the voxels' ``r, c, l`` (aligned frame).
    """
    unknown = set(shares) - set(shifts)
    if unknown:
        raise ValueError(f"territories {sorted(unknown)} have no shift in the population")
    rng = np.random.default_rng(seed)
    names = sorted(shares)
    p = np.asarray([shares[k] for k in names], float)
    territory = np.asarray(names)[rng.choice(len(names), size=int(n), p=p / p.sum())]
    vox, domain = draw_infarcts(personalization, int(n), seed=int(rng.integers(2**31)))
    r, c, l = reference_voxels(domain)  # noqa: E741
    return {"reference": vox, "territory": territory,
            "shift": np.asarray([shifts[t] for t in territory], float),
            "size": vox.mean(axis=1), "draw": np.arange(int(n)), "r": r, "c": c, "l": l}


def carry_draws(draws: dict, tm, ab, rt, lv, rows=None, bz_width: float = BZ_WIDTH
                ) -> np.ndarray:
    """Tissue labels ``(k, m)`` int8 of :func:`population_draws` on one twin's nodes.

    Each draw is moved back by its territory's shift
    (:func:`~mi_lib.bridge.mapping.unrotate`), carried onto the LV region ``lv`` (``(m,)``
    bool) of the twin's coordinates ``tm, ab, rt`` (:func:`~mi_lib.bridge.mapping.carry`),
    and given a border zone of width ``bz_width`` (:func:`~mi_lib.bridge.mapping.shell`).
    ``rows`` selects draws (default all). 0 healthy, 1 border zone, 2 scar.
    """
    lv = np.asarray(lv, bool)
    rows = np.arange(len(draws["territory"])) if rows is None else np.asarray(rows, int)
    labels = np.zeros((len(rows), len(lv)), np.int8)
    nodes = np.flatnonzero(lv)
    points = coordinate_points(*twin_to_reference(tm[lv], ab[lv], rt[lv]))
    shift = draws["shift"][rows]
    for value in np.unique(shift):
        group = np.flatnonzero(shift == value)
        native_c = unrotate(draws["c"], value)
        scar = carry(draws["reference"][rows[group]].astype(np.float32), draws["r"], native_c,
                     draws["l"], tm[lv], ab[lv], rt[lv]) > 0.5
        for k, row in enumerate(group):
            labels[row, nodes[shell(scar[k], points, bz_width)]] = 1
            labels[row, nodes[scar[k]]] = 2
    return labels


def twin_infarcts(personalization, population, tm, ab, rt, lv, n: int, seed: int = 0,
                  bz_width: float = BZ_WIDTH, shares: dict | None = None) -> dict:
    """``n`` population-model infarcts on one twin's nodes: :func:`population_draws`
    carried by :func:`carry_draws`.

    Parameters
    ----------
    personalization, population : xarray.Dataset
        Notebook 03's product (the model) and notebook 01's (territories and shifts).
    tm, ab, rt : (m,) float arrays
        The twin's coordinates.
    lv : (m,) bool array
        Its LV region (infarcts are placed there only).
    n : int
        Infarcts.
    seed : int
        Seeds the draws and the territories.
    bz_width : float
        The border zone's width (:data:`BZ_WIDTH`).
    shares : dict, optional
        Territory -> probability; None: :func:`territory_shares` of ``population``.

    Returns
    -------
    dict
        ``labels (n, m)`` int8 and the entries of :func:`population_draws`.
    """
    draws = population_draws(personalization, territory_shifts(population),
                             shares or territory_shares(population), n, seed)
    return {**draws, "labels": carry_draws(draws, tm, ab, rt, lv, bz_width=bz_width)}
