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
from .mapping import carry, coordinate_points, shell, territory_shifts, twin_to_reference

#: the border zone's width in the wall metric of :func:`~mi_lib.bridge.mapping.coordinate_points`
#: (the circumference is 1: 0.03 is about 6 mm on an LV of 20 cm circumference)
BZ_WIDTH = 0.03


def territory_shares(population) -> dict:
    """Each territory's share of the subjects of a ``population.nc`` dataset."""
    t = np.asarray(population["territory"].values).astype(str)
    names, counts = np.unique(t, return_counts=True)
    return {str(n): float(c) / len(t) for n, c in zip(names, counts, strict=True)}


def twin_infarcts(personalization, population, tm, ab, rt, lv, n: int, seed: int = 0,
                  bz_width: float = BZ_WIDTH, shares: dict | None = None) -> dict:
    """``n`` population-model infarcts on one twin's nodes.

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
        ``labels (n, m)`` int8, ``territory (n,)`` str, ``draw (n,)`` int (the draw's
        index), ``reference (n, n_voxels)`` bool (the draws in the aligned frame).
    """
    lv = np.asarray(lv, bool)
    shares = shares or territory_shares(population)
    shifts = territory_shifts(population)
    unknown = set(shares) - set(shifts)
    if unknown:
        raise ValueError(f"territories {sorted(unknown)} have no shift in the population")
    rng = np.random.default_rng(seed)
    names = sorted(shares)
    p = np.asarray([shares[k] for k in names], float)
    territory = np.asarray(names)[rng.choice(len(names), size=int(n), p=p / p.sum())]
    vox, domain = draw_infarcts(personalization, int(n), seed=int(rng.integers(2**31)))
    r, c, l = reference_voxels(domain)  # noqa: E741
    labels = np.zeros((int(n), len(lv)), np.int8)
    nodes = np.flatnonzero(lv)
    points = coordinate_points(*twin_to_reference(tm[lv], ab[lv], rt[lv]))
    for t in names:
        rows = np.flatnonzero(territory == t)
        if not len(rows):
            continue
        native_c = np.mod(c - shifts[t], 1.0)
        scar = carry(vox[rows].astype(np.float32), r, native_c, l, tm[lv], ab[lv], rt[lv]) > 0.5
        for k, row in enumerate(rows):
            labels[row, nodes[shell(scar[k], points, bz_width)]] = 1
            labels[row, nodes[scar[k]]] = 2
    return {"labels": labels, "territory": territory, "draw": np.arange(int(n)),
            "reference": vox}
