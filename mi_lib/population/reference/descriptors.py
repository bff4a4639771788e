"""Infarct descriptors computed the same way on source samples and on the reference grid.

All take flat arrays of equal-volume samples: the slice each sample lies on, its
circumferential coordinate ``c`` and its infarct value in [0, 1].
"""

from __future__ import annotations

import numpy as np

#: Clinical LGE transmurality grading uses 0, 1-25, 26-50, 51-75 and 76-100 % of the wall
#: (e.g. Kim et al., N Engl J Med 2000); a sector is called transmural above 75 %.
TRANSMURAL_THRESHOLD = 0.75
#: A sector counts as infarcted when more than 10 % of its wall is infarcted.
INFARCTED_SECTOR_THRESHOLD = 0.10


def sector_extent(slice_index: np.ndarray, c: np.ndarray, value: np.ndarray,
                  n_sectors: int = 36) -> np.ndarray:
    """Infarcted fraction of the wall in each (slice, circumferential sector).

    Returns an array of shape (n_slices_present, n_sectors); NaN for empty sectors.
    The fraction of the wall's samples that are infarcted is the transmural extent,
    since the samples of a sector are spread evenly across the wall.
    """
    slices, k = np.unique(slice_index, return_inverse=True)
    s = np.minimum((np.mod(c, 1.0) * n_sectors).astype(int), n_sectors - 1)
    flat = k * n_sectors + s
    total = np.bincount(flat, minlength=slices.size * n_sectors).astype(float)
    inf = np.bincount(flat, weights=value, minlength=slices.size * n_sectors)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = inf / total
    out[total == 0] = np.nan
    return out.reshape(slices.size, n_sectors)


def infarct_descriptors(slice_index, c, value, n_sectors: int = 36) -> dict:
    """Size, transmurality and circumferential location of one infarct pattern.

    Returns
    -------
    dict with
        ``size``               infarcted fraction of the myocardium
        ``transmural_extent``  mean transmural extent over infarcted sectors
        ``transmural_fraction`` fraction of infarcted sectors that are transmural (> 75 %)
        ``centre_c``           circumferential centre of mass, in [0, 1)
        ``circumferential_extent`` fraction of the circumference infarcted on the slice
                               where it is widest
    """
    value = np.asarray(value, float)
    ext = sector_extent(slice_index, c, value, n_sectors)
    infarcted = ext > INFARCTED_SECTOR_THRESHOLD
    n_inf = int(infarcted.sum())
    vec = np.sum(value * np.exp(2j * np.pi * np.asarray(c)))
    return {
        "size": float(value.mean()),
        "transmural_extent": float(ext[infarcted].mean()) if n_inf else 0.0,
        "transmural_fraction": float((ext[infarcted] > TRANSMURAL_THRESHOLD).mean())
        if n_inf else 0.0,
        "centre_c": float(np.mod(np.angle(vec) / (2 * np.pi), 1.0)) if abs(vec) > 0 else np.nan,
        "circumferential_extent": float(infarcted.sum(axis=1).max() / n_sectors),
    }


def circular_difference(c1, c2) -> np.ndarray:
    """Signed difference ``c1 - c2`` of circumferential coordinates, wrapped to [-0.5, 0.5)."""
    return np.mod(np.asarray(c1) - np.asarray(c2) + 0.5, 1.0) - 0.5
