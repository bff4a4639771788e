"""The coordinate map between the reference LV of pipeline A and the twin's LV region.

Pipeline A places an infarct on the reference LV in (r, c, l): ``r`` radial (0
endocardium -> 1 epicardium), ``c`` circumferential (0 anterior RV insertion -> 1/3
inferior insertion through the septum -> 1 back round the free wall), ``l`` long axis
(0 base -> 1 apex); ``docs/population/reference.md``. The twin's LV region has ``tm``
(0 endocardium -> 1 epicardium), ``rt`` (0 anterior junction -> 2/3 inferior junction
through the free wall -> 1 through the septum) and ``ab`` (0 apex -> 1 base);
``docs/twin/coordinates.md``. Both septa span a third of the circumference and both
circumferences start at the anterior junction, running in opposite senses, so

    tm = r,   rt = 1 - c (mod 1),   ab = 1 - l.

Territory alignment (notebook 01) shifted each territory's patterns along ``c``;
:func:`unrotate` undoes it.
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
