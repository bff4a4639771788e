"""Population-model infarcts on a twin's LV: drawn, placed in a coronary territory, carried.

Each infarct is drawn from the personalised model (:mod:`~mi_lib.bridge.draw`) in the
aligned (LAD) frame of notebook 01, given a territory with the real cohort's shares
(and, conditioned, chosen among the model's draws to match that territory's LGE infarcts:
:func:`territory_weights`; ``docs/bridge/campaign.md``),
put back where that territory's infarcts lie (:func:`~mi_lib.bridge.mapping.unrotate`
with the territory's shift from ``population.nc``), and carried onto the twin's LV region
(:func:`~mi_lib.bridge.mapping.carry`); a border zone of one width is grown round the scar
(:func:`~mi_lib.bridge.mapping.shell`, the border zone). Labels: 0 healthy, 1 border zone, 2 scar.
"""

from __future__ import annotations

import numpy as np

from .draw import draw_infarcts, reference_voxels
from .mapping import (
    LongAxis,
    carry,
    coordinate_points,
    shell,
    territory_shifts,
    twin_to_reference,
    unrotate,
)

#: the descriptors the territories' draws are conditioned on (:func:`territory_weights`)
CONDITIONING = ("size", "transmural_extent", "circumferential_extent")
#: model draws per infarct that the conditioning resamples from
POOL = 8
#: kernel bandwidth of the conditioning, in units of the territory's spread
BANDWIDTH = 0.5

#: the border zone's width in the wall metric of :func:`~mi_lib.bridge.mapping.coordinate_points`
#: (the circumference is 1: 0.03 is about 6 mm on an LV of 20 cm circumference)
BZ_WIDTH = 0.03


def territory_shares(population) -> dict:
    """Each territory's share of the subjects of a ``population.nc`` dataset."""
    t = np.asarray(population["territory"].values).astype(str)
    names, counts = np.unique(t, return_counts=True)
    return {str(n): float(c) / len(t) for n, c in zip(names, counts, strict=True)}


def population_draws(personalization, shifts: dict, shares: dict, n: int, seed: int = 0,
                     lge: dict | None = None, pool: int = POOL,
                     models: dict | None = None, measure=None) -> dict:
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
    lge : dict, optional
        Territory -> ``{descriptor: values}`` of the LGE population's infarcts
        (:func:`lge_descriptors`). Given, each territory's infarcts are drawn from the
        model conditioned on that territory (:func:`territory_weights`: ``pool`` draws per
        infarct of the territory, resampled without replacement with weights that turn
        the model's distribution of :data:`CONDITIONING` into the territory's); None:
        every draw is given a territory at random.
    pool : int
        Draws of the model per infarct to resample from, with ``lge``.
    models : dict, optional
        Territory -> personalization dataset of that territory's own fit
        (:func:`~mi_lib.bridge.territories.territory_fit`); territories without one draw
        from ``personalization``. Every model must live on the same voxels.
    measure : callable, optional
        ``measure(voxels, domain, shift) -> (k, 3)`` :data:`CONDITIONING` descriptors of
        a territory's pool (``shift`` its alignment shift), e.g. measured on the twin the
        draws go to (:func:`twin_measure`); default :func:`pool_descriptors`, on the
        reference.

    Returns
    -------
    dict
        ``reference (n, n_voxels)`` bool (the draws in the aligned frame), ``territory
        (n,)`` str, ``shift (n,)`` float (the territory's alignment shift, turns), ``size
        (n,)`` (infarcted fraction of the model's domain), ``draw (n,)`` int (the draw's
        index in its sequence: with ``lge`` or ``models``, the territory's seeded
        ``pool`` x (its infarcts) draws, else the subject's ``n``), and the voxels'
        ``r, c, l`` (aligned frame).
    """
    unknown = set(shares) - set(shifts)
    if unknown:
        raise ValueError(f"territories {sorted(unknown)} have no shift in the population")
    if int(n) < 1:
        raise ValueError(f"n = {n}: draw at least one infarct")
    rng = np.random.default_rng(seed)
    names = sorted(shares)
    p = np.asarray([shares[k] for k in names], float)
    territory = np.asarray(names)[rng.choice(len(names), size=int(n), p=p / p.sum())]
    models = models or {}
    if lge:
        missing = sorted(set(territory) - set(lge))
        if missing:
            raise ValueError(f"territories {missing} have no LGE descriptors to condition on")
    if not lge and not models:
        vox, domain = draw_infarcts(personalization, int(n), seed=int(rng.integers(2**31)))
        draw = np.arange(int(n))
    else:
        vox, draw, domain = None, np.zeros(int(n), int), None
        for t in names:
            rows = np.flatnonzero(territory == t)
            t_seed = int(rng.integers(2**31))  # drawn for every territory: seeds stay put
            if not len(rows):
                continue
            m = len(rows) * (int(pool) if lge else 1)
            v, d = draw_infarcts(models.get(t, personalization), m, seed=t_seed)
            if domain is None:
                domain, vox = d, np.zeros((int(n), v.shape[1]), bool)
            elif d.mask.shape != domain.mask.shape or not np.array_equal(d.mask, domain.mask):
                raise ValueError(f"territory {t}: its model lives on other voxels than the "
                                 "others'; refit every territory on one population")
            pick = np.arange(len(rows))
            if lge:
                features = (pool_descriptors(v, d) if measure is None
                            else measure(v, d, float(shifts[t])))
                w = territory_weights(features, lge[t])
                pick = rng.choice(m, size=len(rows), replace=False, p=w / w.sum())
            vox[rows], draw[rows] = v[pick], pick
    r, c, l = reference_voxels(domain)  # noqa: E741
    return {"reference": vox, "territory": territory,
            "shift": np.asarray([shifts[t] for t in territory], float),
            "size": vox.mean(axis=1), "draw": draw,
            "r": r, "c": c, "l": l}


def pool_descriptors(vox, domain) -> np.ndarray:
    """:data:`CONDITIONING` descriptors ``(k, 3)`` of drawn infarcts (voxels of the
    domain), as notebook 01 computes them on the reference
    (:func:`~mi_lib.population.reference.infarct_descriptors`)."""
    from ..population.reference import infarct_descriptors

    k = np.broadcast_to(np.arange(len(domain.slices))[:, None, None], domain.mask.shape)
    k = k[domain.mask]
    c = np.asarray(domain.reference.circumferential[domain.slices][domain.mask])
    out = np.empty((len(vox), len(CONDITIONING)))
    for j, v in enumerate(np.asarray(vox)):
        d = infarct_descriptors(k, c, v.astype(float))
        out[j] = [d[name] for name in CONDITIONING]
    return out


def twin_measure(tm, ab, rt, lv, axis: str = "matched"):
    """A ``measure`` for :func:`population_draws`: a pool's :data:`CONDITIONING`
    descriptors on one twin, the pool moved back by its territory's shift, carried onto
    the LV region (:func:`carry_draws`' map, without border zone) and measured as the
    checks measure carried infarcts (:func:`~mi_lib.bridge.checks.twin_descriptors`)."""
    from .checks import twin_descriptors

    lv = np.asarray(lv, bool)
    coords = np.column_stack([tm, ab, rt, np.zeros(len(lv))])

    def measure(vox, domain, shift):
        r, c, l = reference_voxels(domain)  # noqa: E741
        la = LongAxis.of(axis, l, ab[lv])
        scar = carry(np.asarray(vox, np.float32), r, unrotate(c, shift), l, tm[lv], ab[lv],
                     rt[lv], la) > 0.5
        tissue = np.zeros((len(scar), len(lv)), np.int8)
        tissue[:, lv] = np.where(scar, 2, 0)
        d = twin_descriptors(tissue, coords, lv, int(domain.reference.n_slices), la)
        return np.column_stack([d[k] for k in CONDITIONING])

    return measure


def lge_descriptors(population) -> dict:
    """Territory -> ``{descriptor: (k,) array}`` of :data:`CONDITIONING` for the LGE
    infarcts of a ``population.nc`` dataset (``aligned_*``, on the reference)."""
    missing = [f"aligned_{k}" for k in CONDITIONING if f"aligned_{k}" not in population]
    if missing:
        raise ValueError(f"the population has no {', '.join(missing)}: the territories' "
                         "draws are conditioned on them; give notebook 01's population.nc, "
                         "or BridgeSettings(condition=False)")
    t = np.asarray(population["territory"].values).astype(str)
    return {str(name): {k: np.asarray(population[f"aligned_{k}"].values, float)[t == name]
                        for k in CONDITIONING} for name in sorted(set(t))}


def territory_weights(features, lge: dict, bandwidth: float = BANDWIDTH) -> np.ndarray:
    """Importance weights ``(k,)`` that resample model draws with descriptors
    ``features (k, 3)`` towards a territory's LGE descriptors ``lge``: the ratio of two
    Gaussian kernel densities at each draw, the territory's over the draws' own, in units
    of the territory's spread (standard deviation per descriptor, floored at 0.02) with
    ``bandwidth``. A territory of one infarct weighs draws by their distance to it."""
    y = np.column_stack([np.asarray(lge[name], float) for name in CONDITIONING])
    x = np.asarray(features, float)
    scale = np.maximum(y.std(axis=0) if len(y) > 1 else np.zeros(y.shape[1]), 0.02)

    def density(a, b):
        d2 = (((a[:, None, :] - b[None, :, :]) / scale) ** 2).sum(axis=2)
        return np.exp(-0.5 * d2 / bandwidth**2).mean(axis=1)

    w = density(x, y) / np.maximum(density(x, x), 1e-300)
    return np.maximum(w, 1e-12 * w.max()) if w.max() > 0 else np.ones(len(x))


def long_axis(draws: dict, ab, lv, kind: str = "matched") -> LongAxis:
    """The long-axis map of kind ``kind`` (:data:`~mi_lib.bridge.mapping.LONG_AXES`) of
    :func:`population_draws`' reference voxels (their ``l``) to one twin's LV nodes
    (``ab`` of the nodes where ``lv``)."""
    return LongAxis.of(kind, draws["l"], np.asarray(ab)[np.asarray(lv, bool)])


def carry_draws(draws: dict, tm, ab, rt, lv, rows=None, bz_width: float = BZ_WIDTH,
                axis: str = "matched") -> np.ndarray:
    """Tissue labels ``(k, m)`` int8 of :func:`population_draws` on one twin's nodes.

    Each draw is moved back by its territory's shift
    (:func:`~mi_lib.bridge.mapping.unrotate`), carried onto the LV region ``lv`` (``(m,)``
    bool) of the twin's coordinates ``tm, ab, rt`` (:func:`~mi_lib.bridge.mapping.carry`,
    the long axis mapped by :func:`long_axis` of kind ``axis``), and given a border zone
    of width ``bz_width`` (:func:`~mi_lib.bridge.mapping.shell`). ``rows`` selects draws
    (default all). 0 healthy, 1 border zone, 2 scar.
    """
    lv = np.asarray(lv, bool)
    rows = np.arange(len(draws["territory"])) if rows is None else np.asarray(rows, int)
    labels = np.zeros((len(rows), len(lv)), np.int8)
    nodes = np.flatnonzero(lv)
    la = long_axis(draws, ab, lv, axis)
    points = coordinate_points(*twin_to_reference(tm[lv], ab[lv], rt[lv], la))
    shift = draws["shift"][rows]
    for value in np.unique(shift):
        group = np.flatnonzero(shift == value)
        native_c = unrotate(draws["c"], value)
        scar = carry(draws["reference"][rows[group]].astype(np.float32), draws["r"], native_c,
                     draws["l"], tm[lv], ab[lv], rt[lv], la) > 0.5
        for k, row in enumerate(group):
            labels[row, nodes[shell(scar[k], points, bz_width)]] = 1
            labels[row, nodes[scar[k]]] = 2
    return labels


def twin_infarcts(personalization, population, tm, ab, rt, lv, n: int, seed: int = 0,
                  bz_width: float = BZ_WIDTH, shares: dict | None = None,
                  axis: str = "matched") -> dict:
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
    axis : str
        The long-axis map (:data:`~mi_lib.bridge.mapping.LONG_AXES`; :func:`long_axis`).

    Returns
    -------
    dict
        ``labels (n, m)`` int8 and the entries of :func:`population_draws`.
    """
    draws = population_draws(personalization, territory_shifts(population),
                             shares or territory_shares(population), n, seed)  # unconditioned
    return {**draws, "labels": carry_draws(draws, tm, ab, rt, lv, bz_width=bz_width, axis=axis)}
