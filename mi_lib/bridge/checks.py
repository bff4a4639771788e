"""Is the bridge faithful? The carried infarcts measured as the LGE population is.

:func:`twin_descriptors` gives each carried infarct the descriptors notebook 01 gives an
LGE infarct (:func:`~mi_lib.population.reference.infarct_descriptors`: infarcted fraction,
transmural extent, circumferential extent), on the twin's LV nodes binned into the
reference's slices and sectors; :func:`aha_shares` the share of a territory's scar in each
AHA segment, on the twin (its own segments) and on the reference (the segments of the
reference's voxels through :func:`~mi_lib.bridge.mapping.reference_to_twin`);
:func:`check_table` puts them side by side per territory with stated tolerances
(``bridge_checks.csv``).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..population.reference import infarct_descriptors
from ..twin.coordinates import aha_segments
from ..twin.scenarios import SCAR
from .mapping import reference_to_twin

#: descriptors compared, with the tolerance of the difference of medians (same units)
DESCRIPTOR_TOLERANCES = {"size": 0.05, "transmural_extent": 0.15,
                         "circumferential_extent": 0.10}
#: AHA segments of each coronary territory (the AHA's standard assignment, Cerqueira et
#: al. 2002): LAD anterior, anteroseptal and apical; LCX lateral; RCA inferior, inferoseptal
TERRITORY_SEGMENTS = {"LAD": (1, 2, 7, 8, 13, 14, 17), "LCX": (5, 6, 11, 12, 16),
                      "RCA": (3, 4, 9, 10, 15)}
#: an infarct "is in" a segment when its scar covers this fraction of the segment's nodes
SEGMENT_COVERAGE = 0.10
#: the least share of a territory's scar in its own segments for the check to pass
SEGMENT_SHARE_MIN = 0.6


def twin_descriptors(tissue, coords, lv, n_slices: int, axis=None) -> dict:
    """Descriptors of every infarct of one twin: ``{name: (k,) array}``.

    Parameters
    ----------
    tissue : (k, m) int array
        Labels per node (scar is 2; the border zone is not infarct, as in LGE's core).
    coords : (m, 4) float array
        The twin's ``tm, ab, rt, tv``.
    lv : (m,) bool array
        Its LV region.
    n_slices : int
        Slices of the reference: the long axis is cut into as many.
    axis : LongAxis, optional
        The carry's long-axis map (:class:`~mi_lib.bridge.mapping.LongAxis`; default
        linear): each node goes to the reference slice nearest its ``l`` (slice ``k`` lies
        at ``k / (n_slices - 1)``), so with the matched map a twin slice holds the LV
        share the reference's slice holds of the myocardium.
    """
    from .mapping import LongAxis

    lv = np.asarray(lv, bool)
    ab, rt = coords[lv, 1], coords[lv, 2]
    slices = np.rint((axis or LongAxis.linear()).to_l(ab) * (n_slices - 1)).astype(int)
    c = np.mod(1.0 - rt, 1.0)
    out = {k: [] for k in DESCRIPTOR_TOLERANCES}
    for labels in np.asarray(tissue):
        d = infarct_descriptors(slices, c, (labels[lv] == SCAR).astype(float))
        for k in out:
            out[k].append(d[k])
    return {k: np.asarray(v) for k, v in out.items()}


def reference_segments(population, axis=None) -> np.ndarray:
    """AHA segment of every voxel of the reference grid (0 off the myocardium), through
    the map to the twin's coordinates (``population.nc``'s coordinates; ``axis`` the
    long-axis map, default ``ab = 1 - l``)."""
    myo = np.asarray(population["myocardium"].values, bool)
    c = np.asarray(population["circumferential"].values)[myo]
    l = np.asarray(population["longitudinal"].values)[myo]  # noqa: E741
    _, ab, rt = reference_to_twin(np.zeros_like(c), c, np.clip(l, 0, 1), axis)
    seg = np.zeros(myo.shape, np.int8)
    seg[myo] = aha_segments(SimpleNamespace(ab=ab, rt=rt, lv=np.ones(len(ab), bool)))
    return seg


def aha_shares(masses, segments) -> np.ndarray:
    """Share of the infarcted mass in each AHA segment: ``(18,)``, index 1..17 (0 unused).

    ``masses`` (k, n) are infarct values per sample (voxel or node) of k infarcts,
    ``segments`` (n,) their segments; the infarcts' masses are pooled."""
    w = np.asarray(masses, float).sum(axis=0)
    out = np.bincount(np.asarray(segments, int), weights=w, minlength=18)[:18]
    out[0] = 0.0
    total = out.sum()
    return out / total if total > 0 else out


def population_summary(population, axis=None) -> dict:
    """Per territory of the LGE population (``population.nc``): the descriptors of its
    subjects (``reference_*``, before alignment) and its AHA shares on the reference
    (segments through ``axis``: :func:`reference_segments`; :func:`product_axis` gives a
    product's). Returns ``{territory: {"descriptors": {name: array}, "shares": (18,)}}``."""
    seg = reference_segments(population, axis)
    myo = seg > 0
    territory = np.asarray(population["territory"].values).astype(str)
    native = np.asarray(population["infarct_native"].values)
    out = {}
    for t in sorted(set(territory)):
        rows = territory == t
        out[t] = {"descriptors": {k: np.asarray(population[f"reference_{k}"].values)[rows]
                                  for k in DESCRIPTOR_TOLERANCES},
                  "shares": aha_shares(native[rows][:, myo], seg[myo])}
    return out


def reference_long_axis(population) -> np.ndarray:
    """The long-axis coordinate ``l`` of every myocardial voxel of a ``population.nc``'s
    reference (the voxels the model draws on, in 3D)."""
    myo = np.asarray(population["myocardium"].values, bool)
    return np.clip(np.asarray(population["longitudinal"].values)[myo], 0.0, 1.0)


def product_long_axis(product) -> str:
    """The long-axis map a ``mi_population.zarr`` was carried with (``bridge_settings``;
    products without one were carried linearly)."""
    import json

    return str(json.loads(product.attrs.get("bridge_settings", "{}")).get("long_axis", "linear"))


def product_axis(product, population, subject: int = 0):
    """The long-axis map a ``mi_population.zarr``'s subject number ``subject`` was carried
    with (:class:`~mi_lib.bridge.mapping.LongAxis`), to give the LGE side's AHA segments
    the map the carried side had."""
    from .mapping import LongAxis

    one = product.isel(subject=subject)
    n = int(one["n_nodes"].values)
    lv = np.asarray(one["aha"].values[:n]) > 0
    return LongAxis.of(product_long_axis(product), reference_long_axis(population),
                       np.asarray(one["coords"].values[:n, 1])[lv])


def bridge_summary(product, population) -> dict:
    """Per territory of a ``mi_population.zarr``: the carried infarcts' descriptors
    (:func:`twin_descriptors` on the slices of ``population``'s reference, through the
    long-axis map the product was carried with: :func:`product_long_axis`) and AHA shares
    (the twin's own segments), as :func:`population_summary`, and ``frequency`` (18,): the
    fraction of the territory's infarcts whose scar covers at least
    :data:`SEGMENT_COVERAGE` of a segment's nodes."""
    from .mapping import LongAxis

    n_slices = int(population.sizes["slice"])
    kind, ref_l = product_long_axis(product), reference_long_axis(population)
    territory = np.asarray(product["territory"].values).astype(str)
    per = {t: {"descriptors": {k: [] for k in DESCRIPTOR_TOLERANCES}, "mass": np.zeros(18),
               "hits": np.zeros(18), "n": 0} for t in sorted(set(territory.ravel()))}
    for i in range(product.sizes["subject"]):
        one = product.isel(subject=i)
        n = int(one["n_nodes"].values)
        coords = np.asarray(one["coords"].values[:n])
        aha = np.asarray(one["aha"].values[:n]).astype(int)
        tissue = np.asarray(one["tissue"].values[:, :n])
        lv = aha > 0
        d = twin_descriptors(tissue, coords, lv, n_slices,
                             LongAxis.of(kind, ref_l, coords[lv, 1]))
        for t, entry in per.items():
            rows = territory[i] == t
            for k in entry["descriptors"]:
                entry["descriptors"][k].extend(d[k][rows])
            scar = (tissue[rows] == SCAR).astype(float)
            entry["mass"] += np.bincount(aha, weights=scar.sum(axis=0), minlength=18)[:18]
            nodes = np.maximum(np.bincount(aha, minlength=18)[:18], 1)
            for row in scar:
                cover = np.bincount(aha, weights=row, minlength=18)[:18] / nodes
                entry["hits"] += cover >= SEGMENT_COVERAGE
            entry["n"] += int(rows.sum())
    out = {}
    for t, entry in per.items():
        mass = entry["mass"]
        mass[0] = 0.0
        hits = entry["hits"]
        hits[0] = 0.0
        out[t] = {"descriptors": {k: np.asarray(v) for k, v in entry["descriptors"].items()},
                  "shares": mass / mass.sum() if mass.sum() > 0 else mass,
                  "frequency": hits / max(entry["n"], 1)}
    return out


def check_table(lge: dict, carried: dict):
    """The checks as a table (``bridge_checks.csv``): per territory, each descriptor's
    median in the LGE population and in the carried infarcts, their difference, the
    tolerance (:data:`DESCRIPTOR_TOLERANCES`) and whether it holds; then the share of the
    territory's scar in its own segments (:data:`TERRITORY_SEGMENTS`) on both sides,
    which must reach :data:`SEGMENT_SHARE_MIN` on the twin."""
    import pandas as pd

    rows = []
    for t in sorted(set(lge) & set(carried)):
        for k, tol in DESCRIPTOR_TOLERANCES.items():
            a = float(np.median(lge[t]["descriptors"][k]))
            b = float(np.median(carried[t]["descriptors"][k])) \
                if len(carried[t]["descriptors"][k]) else np.nan
            rows.append({"territory": t, "check": f"median {k}", "lge": a, "carried": b,
                         "difference": b - a, "tolerance": tol,
                         "holds": bool(abs(b - a) <= tol)})
        if t in TERRITORY_SEGMENTS:
            segs = list(TERRITORY_SEGMENTS[t])
            a = float(lge[t]["shares"][segs].sum())
            b = float(carried[t]["shares"][segs].sum())
            rows.append({"territory": t, "check": "scar share in its AHA segments",
                         "lge": a, "carried": b, "difference": b - a,
                         "tolerance": SEGMENT_SHARE_MIN, "holds": bool(b >= SEGMENT_SHARE_MIN)})
    return pd.DataFrame(rows)


def share_table(lge: dict, carried: dict):
    """Share of each territory's scar per AHA segment (rows: territory and side; columns
    1..17)."""
    import pandas as pd

    data = {}
    for t in sorted(set(lge) & set(carried)):
        data[(t, "LGE (reference)")] = lge[t]["shares"][1:]
        data[(t, "carried (twin)")] = carried[t]["shares"][1:]
    return pd.DataFrame(data, index=range(1, 18)).T
