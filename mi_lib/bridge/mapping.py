"""The map between the reference LV of pipeline A and the twin's LV region.

Reference (r, c, l): r 0 endo -> 1 epi; c 0 anterior RV insertion -> 1/3 inferior
insertion through the septum -> 1 round the free wall; l 0 base -> 1 apex
(``docs/population/reference.md``). Twin (tm, rt, ab): tm 0 endo -> 1 epi; rt 0 anterior
junction -> 2/3 inferior junction through the free wall -> 1 through the septum; ab 0 apex
-> 1 base (``docs/twin/coordinates.md``). Both septa span a third of the circumference
from the same junction, in opposite senses: ``tm = r``, ``rt = 1 - c`` (mod 1),
``ab = 1 - l`` (or, with a :class:`LongAxis`, the monotone map of ``l`` to ``ab`` that
keeps the myocardium's share below every level). :func:`unrotate` undoes notebook 01's
territory alignment; :func:`carry` takes a reference field to twin points,
:func:`border_zone` grows a shell round a scar.
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


#: the long-axis maps (:meth:`LongAxis.of`): ``"matched"`` keeps the myocardium's share
#: basal to every level, ``"linear"`` is ``ab = 1 - l``
LONG_AXES = ("matched", "linear")


class LongAxis:
    """A monotone map between the reference's long axis ``l`` (0 base -> 1 apex) and the
    twin's ``ab`` (0 apex -> 1 base), as knots ``l`` (increasing from 0 to 1) and ``ab``
    (decreasing from 1 to 0) interpolated linearly both ways.

    :meth:`linear` is ``ab = 1 - l``. :meth:`matched` keeps mass: the share of the
    reference myocardium's voxels basal to ``l`` equals the share of the twin's LV nodes
    basal to ``ab(l)``, so a band of the reference holding a fraction of its myocardium
    lands on a band of the twin holding the same fraction of its LV
    (``docs/bridge/mapping.md``).
    """

    def __init__(self, l, ab):  # noqa: E741
        l, ab = np.asarray(l, np.float64), np.asarray(ab, np.float64)  # noqa: E741
        if l.shape != ab.shape or l.ndim != 1 or len(l) < 2:
            raise ValueError("LongAxis needs knots l and ab of one length >= 2")
        if not (np.all(np.diff(l) > 0) and np.all(np.diff(ab) < 0)):
            raise ValueError("LongAxis knots: l must increase and ab decrease strictly")
        if not (np.isclose(l[0], 0) and np.isclose(l[-1], 1) and np.isclose(ab[0], 1)
                and np.isclose(ab[-1], 0)):
            raise ValueError("LongAxis knots must join l = 0 to ab = 1 and l = 1 to ab = 0")
        self.l, self.ab = l, ab

    @classmethod
    def of(cls, kind: str, ref_l, twin_ab) -> LongAxis:
        """The map of kind ``kind`` (:data:`LONG_AXES`) between reference voxels at
        ``ref_l`` and twin LV nodes at ``twin_ab`` (:meth:`matched` or :meth:`linear`)."""
        if kind not in LONG_AXES:
            raise ValueError(f"long axis {kind!r}: expected one of {LONG_AXES}")
        return cls.linear() if kind == "linear" else cls.matched(ref_l, twin_ab)

    @classmethod
    def linear(cls) -> LongAxis:
        """``ab = 1 - l``."""
        return cls([0.0, 1.0], [1.0, 0.0])

    @classmethod
    def matched(cls, ref_l, twin_ab, n_knots: int = 65) -> LongAxis:
        """The mass-keeping map of the reference voxels' ``ref_l`` to the twin LV nodes'
        ``twin_ab``: ``ab(l) = 1 - Q(F(l))``, with ``F`` the reference's share of voxels
        with a long-axis coordinate below ``l`` and ``Q`` the quantile function of the
        twin's ``1 - ab``, on ``n_knots`` quantiles (voxels of one slice share one ``l``:
        ``F`` is taken at the slices' midpoints, so each slice's share maps as a whole)."""
        ref_l = _unit("ref_l", ref_l).ravel()
        depth = 1.0 - _unit("twin_ab", twin_ab).ravel()
        if ref_l.size < 2 or depth.size < 2:
            raise ValueError("LongAxis.matched needs at least 2 reference voxels and 2 nodes")
        levels, counts = np.unique(ref_l, return_counts=True)
        cum = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
        # the reference's long axis is sliced: its cumulative share is piecewise linear
        # between slice boundaries (midpoints of consecutive levels)
        edges = np.concatenate([[0.0], 0.5 * (levels[1:] + levels[:-1]), [1.0]])
        q = np.linspace(0.0, 1.0, int(n_knots))
        l_knots = np.interp(q, cum, edges)  # noqa: E741
        d_knots = np.quantile(depth, q)
        l_knots[0], l_knots[-1], d_knots[0], d_knots[-1] = 0.0, 1.0, 0.0, 1.0
        # ties (an empty band of slices, repeated node depths) made strict by a ramp of 1e-6
        l_knots = (1 - 1e-6) * l_knots + 1e-6 * q  # noqa: E741
        d_knots = (1 - 1e-6) * d_knots + 1e-6 * q
        return cls(l_knots, 1.0 - d_knots)

    def to_ab(self, l) -> np.ndarray:  # noqa: E741
        """``ab`` of reference ``l``."""
        return np.interp(np.asarray(l, np.float64), self.l, self.ab)

    def to_l(self, ab) -> np.ndarray:
        """Reference ``l`` of twin ``ab``."""
        return np.interp(np.asarray(ab, np.float64), self.ab[::-1], self.l[::-1])

    def __repr__(self) -> str:
        return f"LongAxis({len(self.l)} knots)"


def reference_to_twin(r, c, l, axis: LongAxis | None = None):  # noqa: E741
    """Twin coordinates ``(tm, ab, rt)`` of reference coordinates ``(r, c, l)``
    (arrays of one shape, each in [0, 1]; ``c`` is taken modulo 1). ``axis`` maps the
    long axis (default :meth:`LongAxis.linear`, ``ab = 1 - l``)."""
    r, l = _unit("r", r), _unit("l", l)  # noqa: E741
    c = np.mod(np.asarray(c, np.float64), 1.0)
    ab = 1.0 - l if axis is None else axis.to_ab(l)
    return r.copy(), ab, np.mod(1.0 - c, 1.0)


def twin_to_reference(tm, ab, rt, axis: LongAxis | None = None):
    """Reference coordinates ``(r, c, l)`` of twin coordinates ``(tm, ab, rt)`` on the LV
    region: the inverse of :func:`reference_to_twin` (with the same ``axis``)."""
    tm, ab = _unit("tm", tm), _unit("ab", ab)
    rt = np.mod(np.asarray(rt, np.float64), 1.0)
    return tm.copy(), np.mod(1.0 - rt, 1.0), 1.0 - ab if axis is None else axis.to_l(ab)


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


def carry(values, ref_r, ref_c, ref_l, tm, ab, rt, axis: LongAxis | None = None,
          **scales) -> np.ndarray:
    """Values given at reference points ``(ref_r, ref_c, ref_l)`` (e.g. an infarct field on
    the reference myocardium's voxels, flattened) at twin points ``(tm, ab, rt)`` of the
    LV region: each twin point takes the value of the nearest reference point in
    :func:`coordinate_points` (``scales`` passed on) after :func:`twin_to_reference`
    (with ``axis``). ``values`` may be ``(n_ref,)`` or ``(k, n_ref)``."""
    from scipy.spatial import cKDTree

    values = np.asarray(values)
    if values.shape[-1] != np.size(ref_r):
        raise ValueError(f"values hold {values.shape[-1]} reference points, the coordinates "
                         f"{np.size(ref_r)}")
    r, c, l = twin_to_reference(tm, ab, rt, axis)  # noqa: E741
    tree = cKDTree(coordinate_points(ref_r, ref_c, ref_l, **scales))
    _, nearest = tree.query(coordinate_points(r, c, l, **scales), k=1)
    return values[..., nearest]


def border_zone(scar, tm, ab, rt, width: float, axis: LongAxis | None = None,
                **scales) -> np.ndarray:
    """The border zone of a scar on the twin's LV points: the points that are not scar
    and lie within ``width`` of a scar point in :func:`coordinate_points` (a shell of one
    thickness all round the scar, in the wall's own metric, with ``axis`` as
    :func:`carry`). Returns a bool array."""
    return shell(scar, coordinate_points(*twin_to_reference(tm, ab, rt, axis), **scales),
                 width)


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
