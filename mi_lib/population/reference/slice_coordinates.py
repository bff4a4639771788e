"""Radial, circumferential and long-axis coordinates of the LV myocardium (paper 000, §2.1).

Each slice's labels are upsampled (default x4); every upsampled myocardial pixel gets
``r`` (0 endocardium -> 1 epicardium), ``c`` in [0, 1) (0 at the anterior RV insertion,
through the septum to the inferior insertion at ``septal_fraction``, then the free wall;
set by the landmarks, never by the array axes) and ``l`` (0 most basal -> 1 most apical
slice with myocardium).

The definitions: ``docs/population/reference.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..lge.io import INFARCT_LABELS, MYOCARDIUM_LABELS, Subject

TWO_PI = 2 * np.pi


@dataclass
class SliceSamples:
    """Upsampled myocardial pixels of one source slice, as scattered samples.

    Attributes
    ----------
    r, c : ndarray of float32, shape (n,)
        Radial and circumferential coordinates.
    value : ndarray of float32, shape (n,)
        Infarct fraction of the myocardium at the pixel, in [0, 1].
    aspect : float
        Mean circumference over mean wall thickness (mm / mm), used to give the
        (c, r) plane a roughly isotropic metric for triangulation.
    x, y : ndarray of float32, shape (n,)
        Pixel centres in source voxel coordinates (for figures).
    """

    r: np.ndarray
    c: np.ndarray
    value: np.ndarray
    aspect: float
    x: np.ndarray
    y: np.ndarray


@dataclass
class SubjectCoordinates:
    """Coordinates of one subject's LV slices (base -> apex, slices with myocardium only)."""

    subject_id: str
    territory: str
    slice_index: np.ndarray        # source slice index of each LV slice
    l: np.ndarray                  # long-axis coordinate of each LV slice
    slices: list[SliceSamples]
    handedness: int                # +1 if c runs counter-clockwise in (x, y) array axes
    infarct_fraction: float        # on the source voxels, by count

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """All samples as flat arrays (slice position in the LV, r, c, value)."""
        k = np.concatenate([np.full(s.r.size, i) for i, s in enumerate(self.slices)])
        r = np.concatenate([s.r for s in self.slices])
        c = np.concatenate([s.c for s in self.slices])
        v = np.concatenate([s.value for s in self.slices])
        return k, r, c, v


def _fill_angles(angles: np.ndarray) -> np.ndarray:
    """Fill NaN angles along the stack by circular linear interpolation (constant at ends)."""
    known = np.flatnonzero(~np.isnan(angles))
    unit = np.unwrap(angles[known])
    return np.interp(np.arange(angles.size), known, unit)


def circumferential(theta, theta_ant, theta_inf, septal_fraction: float | None = 1 / 3):
    """Circumferential coordinate in [0, 1) of angles ``theta`` (radians, any orientation).

    0 at ``theta_ant``; the direction is the one that reaches ``theta_inf`` by the short
    arc. With ``septal_fraction`` the inferior insertion maps to that value (piecewise
    linear), else ``c`` is the plain angle over 2 pi.
    """
    delta = np.angle(np.exp(1j * (theta_inf - theta_ant)))
    sign = 1.0 if delta >= 0 else -1.0
    u = np.mod(sign * (theta - theta_ant), TWO_PI)
    if septal_fraction is None:
        return u / TWO_PI, int(sign)
    u_inf = abs(delta)
    c = np.where(u <= u_inf, u / u_inf * septal_fraction,
                 septal_fraction + (u - u_inf) / (TWO_PI - u_inf) * (1 - septal_fraction))
    return np.mod(c, 1.0), int(sign)


def _bbox(mask: np.ndarray, margin: int):
    xs, ys = np.nonzero(mask)
    x0, x1 = max(xs.min() - margin, 0), min(xs.max() + margin + 1, mask.shape[0])
    y0, y1 = max(ys.min() - margin, 0), min(ys.max() + margin + 1, mask.shape[1])
    return slice(x0, x1), slice(y0, y1)


def slice_centre(labels2d: np.ndarray) -> np.ndarray:
    """Centre of a slice (voxel coordinates x, y): the cavity centroid, else the myocardium's."""
    region = labels2d == 1
    if not region.any():
        region = np.isin(labels2d, MYOCARDIUM_LABELS)
    return np.array(np.nonzero(region), dtype=float).mean(axis=1)


def slice_coordinates(labels2d: np.ndarray, spacing_xy: tuple[float, float],
                      centre_xy, theta_ant: float, theta_inf: float, upsample: int = 4,
                      septal_fraction: float | None = 1 / 3):
    """Coordinates of one slice's upsampled myocardial pixels.

    Parameters
    ----------
    labels2d : ndarray (nx, ny) of EMIDEC labels
    spacing_xy : pixel sizes in mm
    centre_xy : centre of the slice (voxel coordinates), see :func:`slice_centre`
    theta_ant, theta_inf : angles (radians, ``atan2(dy, dx)`` in mm about the centre) of
        the anterior and inferior RV insertion points
    upsample : integer upsampling factor

    Returns
    -------
    SliceSamples, and the sign (+1 / -1) of the direction of ``c`` in the array axes
    """
    lv = labels2d > 0
    sx, sy = _bbox(lv, margin=2)
    crop = labels2d[sx, sy]
    myo = np.isin(crop, MYOCARDIUM_LABELS).astype(np.float32)
    inf = np.isin(crop, INFARCT_LABELS).astype(np.float32)
    lvm = (crop > 0).astype(np.float32)
    cav = (crop == 1).astype(np.float32)

    def up(a):
        return ndimage.zoom(a, upsample, order=1, grid_mode=True, mode="grid-constant")

    lv_hi = up(lvm) >= 0.5
    cav_hi = up(cav) >= 0.5
    myo_hi = lv_hi & ~cav_hi
    myo_soft = up(myo)
    value = np.clip(up(inf) / np.maximum(myo_soft, 1e-6), 0, 1)
    centre_x, centre_y = centre_xy
    hx, hy = spacing_xy[0] / upsample, spacing_xy[1] / upsample
    # pixel centres of the upsampled crop, in source voxel coordinates
    xs = sx.start + (np.arange(myo_hi.shape[0]) + 0.5) / upsample - 0.5
    ys = sy.start + (np.arange(myo_hi.shape[1]) + 0.5) / upsample - 0.5
    half = 0.5 * min(hx, hy)
    d_epi = ndimage.distance_transform_edt(lv_hi, sampling=(hx, hy)) - half
    if cav_hi.any():
        d_endo = ndimage.distance_transform_edt(~cav_hi, sampling=(hx, hy)) - half
    else:
        gx, gy = np.meshgrid((xs - centre_x) * spacing_xy[0], (ys - centre_y) * spacing_xy[1],
                             indexing="ij")
        d_endo = np.hypot(gx, gy)
    d_endo = np.maximum(d_endo, 0)
    d_epi = np.maximum(d_epi, 0)
    r = d_endo / np.maximum(d_endo + d_epi, 1e-9)
    ii, jj = np.nonzero(myo_hi)
    theta = np.arctan2((ys[jj] - centre_y) * spacing_xy[1], (xs[ii] - centre_x) * spacing_xy[0])
    c, sign = circumferential(theta, theta_ant, theta_inf, septal_fraction)
    radius = np.hypot((xs[ii] - centre_x) * spacing_xy[0], (ys[jj] - centre_y) * spacing_xy[1])
    thickness = float(np.mean(d_endo[ii, jj] + d_epi[ii, jj])) if cav_hi.any() else \
        float(np.mean(radius) * 2)
    aspect = float(TWO_PI * np.mean(radius) / max(thickness, 1e-6))
    samples = SliceSamples(r[ii, jj].astype(np.float32), c.astype(np.float32),
                           value[ii, jj].astype(np.float32), aspect,
                           xs[ii].astype(np.float32), ys[jj].astype(np.float32))
    return samples, sign


def subject_coordinates(subject: Subject, upsample: int = 4,
                        septal_fraction: float | None = 1 / 3) -> SubjectCoordinates:
    """Coordinates of every myocardial pixel of ``subject`` (upsampled ``upsample`` times)."""
    myo = subject.myocardium
    lv_slices = np.flatnonzero(myo.any(axis=(0, 1)))
    labels = subject.labels
    # insertion angles per slice about each slice's own centre, filled along the stack
    centres = np.array([slice_centre(labels[:, :, k]) for k in lv_slices])
    dx, dy, dz = subject.spacing
    ang = np.full((2, lv_slices.size), np.nan)
    for which, pts in enumerate((subject.anterior, subject.inferior)):
        p = pts[lv_slices]
        ok = ~np.isnan(p[:, 0])
        ang[which, ok] = np.arctan2((p[ok, 1] - centres[ok, 1]) * dy,
                                    (p[ok, 0] - centres[ok, 0]) * dx)
    ang = np.array([_fill_angles(a) for a in ang])
    slices, signs = [], []
    for i, k in enumerate(lv_slices):
        samples, sign = slice_coordinates(labels[:, :, k], (dx, dy), centres[i], ang[0, i],
                                          ang[1, i], upsample, septal_fraction)
        slices.append(samples)
        signs.append(sign)
    span = lv_slices[-1] - lv_slices[0]
    ell = (lv_slices - lv_slices[0]) / span if span > 0 else np.zeros(lv_slices.size)
    handedness = int(np.sign(np.sum(signs))) or 1
    return SubjectCoordinates(subject.subject_id, subject.territory, lv_slices, ell, slices,
                              handedness, subject.infarct_fraction)
