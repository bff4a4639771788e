"""The map between the reference LV of pipeline A and the twin's LV region.

Reference (r, c, l): r 0 endo -> 1 epi; c 0 anterior RV insertion -> 1/3 inferior
insertion through the septum -> 1 round the free wall; l 0 base -> 1 apex
(``docs/population/reference.md``). Twin (tm, rt, ab): tm 0 endo -> 1 epi; rt 0 anterior
junction -> 2/3 inferior junction through the free wall -> 1 through the septum; ab 0 apex
-> 1 base (``docs/twin/coordinates.md``). Both septa span a third of the circumference
from the same junction, in opposite senses: ``tm = r``, ``rt = 1 - c`` (mod 1),
``ab = 1 - l``. :func:`unrotate` undoes notebook 01's territory alignment; :func:`carry`
takes a reference field to twin points, :func:`border_zone` grows a shell round a scar.
Conventions and choices: ``docs/bridge/mapping.md``.
"""

from __future__ import annotations

import numpy as np


def _unit(name: str, x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1):
        raise ValueError(f"{name} must lie in [0, 1] (got {np.nanmin(x):.3g} .. "
                         f"{np.nanmax(x):.3g})")
    return x


def reference_to_twin(r, c, l):  # noqa: E741 - the long-axis coordinate's own name
    """Twin coordinates ``(tm, ab, rt)`` of reference coordinates ``(r, c, l)``
    (arrays of one shape, each in [0, 1]; ``c`` is taken modulo 1)."""
    r, l = _unit("r", r), _unit("l", l)  # noqa: E741
    c = np.mod(np.asarray(c, np.float64), 1.0)
    return r.copy(), 1.0 - l, np.mod(1.0 - c, 1.0)


def twin_to_reference(tm, ab, rt):
    """Reference coordinates ``(r, c, l)`` of twin coordinates ``(tm, ab, rt)`` on the LV
    region: the inverse of :func:`reference_to_twin`."""
    tm, ab = _unit("tm", tm), _unit("ab", ab)
    rt = np.mod(np.asarray(rt, np.float64), 1.0)
    return tm.copy(), np.mod(1.0 - rt, 1.0), 1.0 - ab


def unrotate(c, shift):
    """Circumferential coordinate ``c`` of a pattern drawn in the aligned (LAD) frame,
    put back where its territory lies: notebook 01 moved a territory's patterns by
    ``shift`` turns (``population.nc``'s ``rotation``), so the native ``c`` is
    ``c - shift`` (mod 1)."""
    return np.mod(np.asarray(c, np.float64) - float(shift), 1.0)


def territory_shifts(population) -> dict:
    """The alignment shift (turns) of each territory of a ``population.nc`` dataset: its
    subjects' ``rotation``, which is one value per territory. Raises a ``ValueError`` if
    a territory's subjects disagree."""
    out = {}
    territory = np.asarray(population["territory"].values).astype(str)
    rotation = np.asarray(population["rotation"].values, np.float64)
    for t in sorted(set(territory)):
        values = rotation[territory == t]
        if np.ptp(values) > 1e-9:
            raise ValueError(f"territory {t}: its subjects' rotations differ "
                             f"({values.min():.4f} .. {values.max():.4f}); expected one "
                             "shift per territory (notebook 01's alignment)")
        out[t] = float(values[0])
    return out


def coordinate_points(r, c, l, *, thickness: float = 0.25, length: float = 1.0
                      ) -> np.ndarray:
    """Points ``(n, 4)`` of LV coordinates in which Euclidean distance approximates
    distance along the wall: ``(thickness r, length l, cos 2 pi c / 2 pi, sin 2 pi c /
    2 pi)``, a circle of unit circumference for ``c`` (periodic), the long axis of
    ``length`` and the wall as thick as ``thickness`` of the circumference (an LV of
    about 20 cm circumference, 10 cm long and 1 cm thick gives 0.05 and 0.5; the
    defaults weigh depth more, as an infarct's depth matters more than its spread)."""
    r, l, c = (np.asarray(x, np.float64) for x in (r, l, c))  # noqa: E741
    k = 2 * np.pi
    return np.column_stack([thickness * r, length * l, np.cos(k * c) / k, np.sin(k * c) / k])


def carry(values, ref_r, ref_c, ref_l, tm, ab, rt, **scales) -> np.ndarray:
    """Values given at reference points ``(ref_r, ref_c, ref_l)`` (e.g. an infarct field on
    the reference myocardium's voxels, flattened) at twin points ``(tm, ab, rt)`` of the
    LV region: each twin point takes the value of the nearest reference point in
    :func:`coordinate_points` (``scales`` passed on) after :func:`twin_to_reference`.
    ``values`` may be ``(n_ref,)`` or ``(k, n_ref)``."""
    from scipy.spatial import cKDTree

    values = np.asarray(values)
    if values.shape[-1] != np.size(ref_r):
        raise ValueError(f"values hold {values.shape[-1]} reference points, the coordinates "
                         f"{np.size(ref_r)}")
    r, c, l = twin_to_reference(tm, ab, rt)  # noqa: E741
    tree = cKDTree(coordinate_points(ref_r, ref_c, ref_l, **scales))
    _, nearest = tree.query(coordinate_points(r, c, l, **scales), k=1)
    return values[..., nearest]


def border_zone(scar, tm, ab, rt, width: float, **scales) -> np.ndarray:
    """The border zone of a scar on the twin's LV points: the points that are not scar
    and lie within ``width`` of a scar point in :func:`coordinate_points` (a shell of one
    thickness all round the scar, in the wall's own metric). Returns a bool array."""
    return shell(scar, coordinate_points(*twin_to_reference(tm, ab, rt), **scales), width)


def shell(scar, points, width: float) -> np.ndarray:
    """:func:`border_zone` on points already in the wall metric (``points (m, 4)`` of
    :func:`coordinate_points`), to grow many scars on one anatomy."""
    from scipy.spatial import cKDTree

    scar = np.asarray(scar, bool)
    if width < 0:
        raise ValueError(f"width = {width}: must be >= 0")
    out = np.zeros(scar.shape, bool)
    if not scar.any() or width == 0:
        return out
    d, _ = cKDTree(points[scar]).query(points[~scar], k=1,
                                       distance_upper_bound=width * (1 + 1e-12))
    out[~scar] = np.isfinite(d)
    return out
