"""Transport of infarct segmentations to the reference anatomy, and territory alignment.

Paper 000, §2.1: each subject's infarct pattern is carried from its own ``(r, c, l)``
coordinates to the reference anatomy's by linear interpolation on scattered data
(:func:`transport`), then the patterns of each coronary territory are rotated along the
circumference onto the LAD's mean infarct centre (:func:`alignment_shifts`,
:func:`rotate`).

The interpolation and the alignment: ``docs/population/reference.md``.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import LinearNDInterpolator
from scipy.ndimage import map_coordinates
from scipy.spatial import cKDTree

from .geometry import ReferenceAnatomy
from .slice_coordinates import SliceSamples, SubjectCoordinates

SEAM = 0.08  # width of the band repeated across c = 0 / 1


class _SliceInterpolant:
    """Piecewise-linear interpolant of one source slice's samples in the (c, r) plane."""

    def __init__(self, samples: SliceSamples):
        c, r, v = samples.c.astype(float), samples.r.astype(float), samples.value.astype(float)
        lo, hi = c < SEAM, c > 1 - SEAM
        c = np.concatenate([c, c[lo] + 1, c[hi] - 1])
        r = np.concatenate([r, r[lo], r[hi]])
        v = np.concatenate([v, v[lo], v[hi]])
        self.aspect = max(samples.aspect, 1e-3)
        pts = np.column_stack([c * self.aspect, r])
        self.linear = LinearNDInterpolator(pts, v, fill_value=np.nan)
        self.tree = cKDTree(pts)
        self.values = v

    def __call__(self, c: np.ndarray, r: np.ndarray) -> np.ndarray:
        q = np.column_stack([np.mod(c, 1.0) * self.aspect, r])
        out = self.linear(q)
        bad = np.isnan(out)
        if bad.any():
            _, idx = self.tree.query(q[bad])
            out[bad] = self.values[idx]
        return out


def transport(coords: SubjectCoordinates, reference: ReferenceAnatomy,
              c_shift: float = 0.0) -> np.ndarray:
    """Infarct map of one subject on the reference anatomy.

    Parameters
    ----------
    coords : the subject's coordinates (:func:`~mi_lib.population.reference.slice_coordinates.subject_coordinates`)
    reference : the reference anatomy
    c_shift : circumferential shift added to the subject's pattern (fraction of a turn)

    Returns
    -------
    ndarray of float32, shape (n_slices, grid, grid)
        Infarct fraction in [0, 1] on the reference myocardium, 0 elsewhere.
    """
    out = np.zeros(reference.myocardium.shape, np.float32)
    cache: dict[int, _SliceInterpolant] = {}

    def interp(j: int) -> _SliceInterpolant:
        if j not in cache:
            cache[j] = _SliceInterpolant(coords.slices[j])
        return cache[j]

    src_l = coords.l
    n_src = src_l.size
    for k, lk in enumerate(reference.l):
        mask = reference.myocardium[k]
        c = reference.circumferential[k][mask] - c_shift
        r = reference.radial[k][mask]
        if n_src == 1:
            vals = interp(0)(c, r)
        else:
            j = int(np.clip(np.searchsorted(src_l, lk, side="right") - 1, 0, n_src - 2))
            w = float(np.clip((lk - src_l[j]) / (src_l[j + 1] - src_l[j]), 0, 1))
            vals = (1 - w) * interp(j)(c, r) if w < 1 else 0.0
            if w > 0:
                vals = vals + w * interp(j + 1)(c, r)
        out[k][mask] = np.clip(vals, 0, 1)
    return out


def centre_vector(stack: np.ndarray, reference: ReferenceAnatomy) -> complex:
    """Infarct-weighted sum of ``exp(2 pi i c)`` over the reference myocardium.

    Its angle is the circumferential centre of mass of the pattern; summing the vectors
    of several subjects gives the centre of mass of their mean pattern.
    """
    mask = reference.myocardium
    c = reference.circumferential[mask]
    return complex(np.sum(stack[mask] * np.exp(2j * np.pi * c)))


def centre_c(vector: complex) -> float:
    """Circumferential coordinate in [0, 1) of a centre vector."""
    return float(np.mod(np.angle(vector) / (2 * np.pi), 1.0))


def alignment_shifts(vectors, territories, target: str = "LAD") -> dict[str, float]:
    """Circumferential shift per territory that brings its mean infarct centre onto ``target``'s.

    Parameters
    ----------
    vectors : sequence of complex, one :func:`centre_vector` per subject
    territories : sequence of str, the subjects' territories

    Returns
    -------
    dict territory -> shift in turns, in (-0.5, 0.5]; the target's shift is 0.
    """
    vectors = np.asarray(vectors, complex)
    territories = np.asarray(territories)
    if target not in territories:
        raise ValueError(f"no {target} subject to align the other territories to")
    goal = np.angle(vectors[territories == target].sum())
    shifts = {}
    for t in np.unique(territories):
        here = np.angle(vectors[territories == t].sum())
        shifts[str(t)] = float(np.angle(np.exp(1j * (goal - here))) / (2 * np.pi))
    return shifts


def rotate(stack: np.ndarray, reference: ReferenceAnatomy, c_shift: float) -> np.ndarray:
    """Rotate a reference-space pattern by ``c_shift`` turns along the circumference.

    The reference's ``c`` is linear in the polar angle, so the shift is a rotation of each
    slice about its centre. Bilinear resampling is normalised by the resampled myocardium
    mask, so the background never leaks into the myocardium at its borders.
    """
    if c_shift == 0:
        return stack.copy()
    g = reference.grid_size
    idx = np.arange(g) - reference.centre
    y, x = np.meshgrid(idx, idx, indexing="ij")
    a = -2 * np.pi * c_shift
    # screen coordinates (X, -Y) rotated by a; back to array indices
    xs = np.cos(a) * x + np.sin(a) * y
    ys = -np.sin(a) * x + np.cos(a) * y
    coords = np.array([ys + reference.centre, xs + reference.centre])
    out = np.zeros_like(stack)
    for k in range(stack.shape[0]):
        m = reference.myocardium[k].astype(float)
        num = map_coordinates(stack[k] * m, coords, order=1, mode="constant")
        den = map_coordinates(m, coords, order=1, mode="constant")
        val = np.where(den > 1e-3, num / np.maximum(den, 1e-3), 0.0)
        out[k] = np.where(reference.myocardium[k], np.clip(val, 0, 1), 0)
    return out
