"""QRS onset and offset from the spatial velocity of all leads, and the measurement of a
lead's waves inside them.

Method and references: ``docs/twin/qrs.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..ecg import LEADS
from .thresholds import (
    DEFAULTS,
    Thresholds,
    _as_leads,
    _check_dt,
    _check_fraction,
    _extended,
    _smooth,
)


def spatial_velocity(leads, dt: float, *, smooth_ms: float = DEFAULTS.smooth_ms) -> np.ndarray:
    """Spatial velocity ``sqrt(sum_leads (dx/dt)^2)`` of the smoothed leads.

    Parameters
    ----------
    leads : (n_leads, T) or (T,) float array
    dt : float, ms
    smooth_ms : float, ms
        Standard deviation of the Gaussian smoothing (the derivative is that of the
        smoothed signal, a Gaussian-derivative filter); 0 for central differences.

    Returns
    -------
    (T,) float array, signal units per ms
    """
    dt = _check_dt(dt)
    x = _as_leads(leads)
    if smooth_ms < 0:
        raise ValueError(f"smooth_ms must be >= 0, got {smooth_ms}")
    if smooth_ms == 0:
        d = np.gradient(x, dt, axis=-1)
    else:
        d = gaussian_filter1d(x, smooth_ms / dt, order=1, axis=-1, mode="nearest") / dt
    return np.sqrt((d * d).sum(axis=0))


# ----------------------------------------------------------------------- QRS bounds

def qrs_bounds(leads, dt: float, *, threshold: float = DEFAULTS.onset_threshold,
               smooth_ms: float = DEFAULTS.smooth_ms,
               max_gap_ms: float = DEFAULTS.max_gap_ms) -> tuple[float, float]:
    """QRS onset and offset detected on the spatial velocity of the leads.

    The run of samples with ``v >= threshold * max(v)`` that contains the peak of the
    spatial velocity ``v`` (:func:`spatial_velocity`), runs closer than ``max_gap_ms``
    merged; onset and offset are its threshold crossings, interpolated between samples
    (docs/twin/qrs.md). Insensitive to constant baseline offsets and to zero padding.

    Parameters
    ----------
    leads : (n_leads, T) or (T,) float array
        Usually the 8 leads of one QRS or beat; a single lead works too.
    dt : float, ms
        Sampling interval.
    threshold : float in (0, 1)
        Fraction of the peak spatial velocity.
    smooth_ms : float, ms
        Gaussian smoothing before differentiation.
    max_gap_ms : float, ms
        Gaps below the threshold up to this length are bridged.

    Returns
    -------
    onset_ms, offset_ms : float
        Times from the first sample (``sample index * dt``); ``0`` or ``(T - 1) dt`` when
        the QRS reaches the edge of the array.

    Raises
    ------
    ValueError
        On a constant signal (no QRS), or invalid parameters.
    """
    dt = _check_dt(dt)
    threshold = _check_fraction(threshold, "threshold")
    if max_gap_ms < 0:
        raise ValueError(f"max_gap_ms must be >= 0, got {max_gap_ms}")
    v = spatial_velocity(leads, dt, smooth_ms=smooth_ms)
    peak = int(np.argmax(v))
    if not v[peak] > 0:
        raise ValueError("the leads are constant: no QRS to delimit")
    thr = threshold * v[peak]
    active = np.flatnonzero(v >= thr)
    gap = int(np.floor(max_gap_ms / dt + 1e-9))
    cuts = np.flatnonzero(np.diff(active) - 1 > gap)
    starts = np.r_[active[0], active[cuts + 1]]
    ends = np.r_[active[cuts], active[-1]]
    k = int(np.searchsorted(starts, peak, side="right") - 1)
    s, e = int(starts[k]), int(ends[k])
    onset = s - (v[s] - thr) / (v[s] - v[s - 1]) if s > 0 else 0.0
    offset = e + (v[e] - thr) / (v[e] - v[e + 1]) if e < len(v) - 1 else len(v) - 1.0
    return float(onset * dt), float(offset * dt)


def qrs_duration(leads, dt: float, **kwargs) -> float:
    """QRS duration ``offset - onset`` in ms (:func:`qrs_bounds`, same keywords)."""
    onset, offset = qrs_bounds(leads, dt, **kwargs)
    return offset - onset


# ----------------------------------------------------------------- shared measurement

@dataclass
class _Measured:
    """Smoothed leads, QRS window and isoelectric baselines of one signal."""

    names: tuple[str, ...]
    smooth: np.ndarray        # (n, T) smoothed leads
    baseline: np.ndarray      # (n,)
    onset: float              # ms
    offset: float             # ms
    i0: int                   # first sample of the window
    i1: int                   # last sample of the window (inclusive)
    dt: float

    def y(self, k: int) -> np.ndarray:
        """Lead ``k`` minus its baseline, over the QRS window."""
        return self.smooth[k, self.i0:self.i1 + 1] - self.baseline[k]

    def before(self, k: int, ms: float) -> np.ndarray:
        """Lead ``k`` minus its baseline over the ``ms`` before the window."""
        j0 = max(0, self.i0 - int(round(ms / self.dt)))
        return self.smooth[k, j0:self.i0] - self.baseline[k]

    @property
    def duration(self) -> float:
        return self.offset - self.onset


def _measure(leads, dt: float, *, bounds: tuple[float, float] | None = None,
             limb_leads: bool = False, names: Sequence[str] | None = None,
             t: Thresholds = DEFAULTS) -> _Measured:
    dt = _check_dt(dt)
    x = _as_leads(leads)
    if bounds is None:
        onset, offset = qrs_bounds(x, dt, threshold=t.onset_threshold,
                                   smooth_ms=t.smooth_ms, max_gap_ms=t.max_gap_ms)
    else:
        onset, offset = (float(b) for b in bounds)
        if not 0 <= onset < offset <= (x.shape[1] - 1) * dt + 1e-9:
            raise ValueError(f"bounds {bounds} ms must satisfy 0 <= onset < offset <= "
                             f"{(x.shape[1] - 1) * dt} ms (the signal's last sample)")
    if names is None:
        if x.shape[0] == len(LEADS):
            names, x = _extended(x, limb_leads)
        else:
            names = tuple(f"lead{k}" for k in range(x.shape[0]))
    xs = _smooth(x, dt, t.smooth_ms)
    n_t = x.shape[1]
    i0 = max(0, int(np.floor(onset / dt + 1e-9)))
    i1 = min(n_t - 1, int(np.ceil(offset / dt - 1e-9)))
    if t.baseline_ms < 0:
        raise ValueError(f"baseline_ms must be >= 0, got {t.baseline_ms}")
    j0 = max(0, i0 - int(round(t.baseline_ms / dt)))
    baseline = np.median(xs[:, j0:i0 + 1], axis=1)
    return _Measured(tuple(names), xs, baseline, onset, offset, i0, i1, dt)


def _crossing(y: np.ndarray, j: int) -> float:
    """Fractional index of the zero crossing between samples ``j`` and ``j + 1``."""
    d = y[j] - y[j + 1]
    return j + (y[j] / d if d != 0 else 0.5)


def crop_qrs(leads, dt: float, **bounds) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The QRS of ``leads`` (n_leads, T) sampled every ``dt`` ms: the samples from the one
    at or before the onset to the one at or after the offset (:func:`qrs_bounds`, keyword
    arguments passed on), their times from the first kept sample (ms), and the
    ``(onset, offset)`` in ms from the start of ``leads``."""
    leads = np.asarray(leads, float)
    on, off = qrs_bounds(leads, dt, **bounds)
    i0, i1 = int(np.floor(on / dt)), min(int(np.ceil(off / dt)) + 1, leads.shape[-1])
    return leads[..., i0:i1], np.arange(i1 - i0) * float(dt), (on, off)
