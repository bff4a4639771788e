"""Dynamic time warping between QRS complexes, with a QRS-duration penalty.

Method and references: ``docs/twin/qrs.md``.
"""

from __future__ import annotations

import numpy as np

from ..ecg import LEADS
from .bounds import qrs_duration
from .thresholds import DEFAULTS, Thresholds, _as_leads

# ---------------------------------------------------------------------------- DTW

def _dtw(a: np.ndarray, b: np.ndarray, **kwargs) -> float:
    from dtaidistance import dtw

    return float(dtw.distance(np.ascontiguousarray(a, dtype=np.float64),
                              np.ascontiguousarray(b, dtype=np.float64),
                              use_c=True, **kwargs))


def _penalty_term(penalty: float, durations) -> float:
    if penalty < 0 or not np.isfinite(penalty):
        raise ValueError(f"penalty must be a finite number >= 0 (DTW units per ms of "
                         f"duration difference), got {penalty}")
    if penalty == 0:
        return 0.0
    da, db = (float(d) for d in durations)
    if not (np.isfinite(da) and np.isfinite(db) and da >= 0 and db >= 0):
        raise ValueError(f"durations must be two QRS durations >= 0 ms, got {durations}")
    return penalty * abs(da - db)


def dtw_distance(a, b, *, penalty: float = 0.0, dt: float | None = None,
                 durations: tuple[float, float] | None = None, **dtw_kwargs) -> float:
    """DTW distance between two single-lead signals, plus a QRS-duration penalty.

    ``dtaidistance.dtw.distance(a, b) + penalty * |duration_a - duration_b|``.

    Parameters
    ----------
    a, b : (T_a,), (T_b,) float arrays
        One lead each (lengths may differ).
    penalty : float >= 0
        DTW units per ms of duration difference (0: the plain DTW of dtaidistance).
    dt : float, ms, optional
        Sampling interval, needed to detect the durations (:func:`qrs_duration` of each
        lead alone) when ``penalty > 0`` and ``durations`` is not given.
    durations : (float, float), ms, optional
        QRS durations of ``a`` and ``b`` (e.g. measured on all 8 leads).
    **dtw_kwargs
        Passed to ``dtaidistance.dtw.distance`` (e.g. ``window``, ``psi``).

    Returns
    -------
    float
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or a.size < 1 or b.size < 1:
        raise ValueError(f"a and b must be single leads, shape (T,), got {a.shape} and "
                         f"{b.shape}; use dtw_leads() for (8, T) signals")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("a and b must be finite (trim NaN padding first)")
    d = _dtw(a, b, **dtw_kwargs)
    if penalty == 0:
        return d
    if durations is None:
        if dt is None:
            raise ValueError("penalty > 0 needs the QRS durations: pass durations=(da, db) "
                             "in ms, or dt so that they are detected on the signals")
        durations = (qrs_duration(a, dt), qrs_duration(b, dt))
    return d + _penalty_term(penalty, durations)


def _scaled(a: np.ndarray, b: np.ndarray, normalise) -> tuple[np.ndarray, np.ndarray]:
    if normalise in (None, "none"):
        return a, b
    if normalise == "reference":
        s = np.abs(a).max()
        return (a / s, b / s) if s > 0 else (a, b)
    if normalise == "each":
        sa, sb = np.abs(a).max(), np.abs(b).max()
        return (a / sa if sa > 0 else a), (b / sb if sb > 0 else b)
    raise ValueError(f"normalise must be 'reference', 'each' or None, got {normalise!r}")


def dtw_leads(a, b, dt: float | None = None, *, penalty: float = 0.0,
              durations: tuple[float, float] | None = None,
              normalise: str | None = "reference", thresholds: Thresholds = DEFAULTS,
              **dtw_kwargs) -> np.ndarray:
    """Lead-by-lead DTW distances between two 8-lead QRS.

    Parameters
    ----------
    a, b : (8, T_a), (8, T_b) float arrays
        The reference (e.g. the baseline scenario) and the compared QRS.
    dt : float, ms, optional
        Sampling interval, needed when ``penalty > 0`` and ``durations`` is None (the
        durations are then detected on the 8 leads of each, :func:`qrs_duration`).
    penalty : float >= 0
        DTW units per ms; ``penalty * |duration_a - duration_b|`` is added to every lead.
    durations : (float, float), ms, optional
    normalise : {"reference", "each", None}
        ``"reference"``: divide both by ``max |a|`` (amplitude changes count);
        ``"each"``: each by its own maximum; None: raw signals.
    thresholds : Thresholds
        QRS detection settings for the durations.
    **dtw_kwargs
        Passed to ``dtaidistance.dtw.distance``.

    Returns
    -------
    (8,) float array
    """
    a = _as_leads(a, len(LEADS), "a")
    b = _as_leads(b, len(LEADS), "b")
    extra = 0.0
    if penalty != 0:
        if durations is None:
            if dt is None:
                raise ValueError("penalty > 0 needs the QRS durations: pass durations=(da, "
                                 "db) in ms, or dt so that they are detected on the leads")
            kw = {"threshold": thresholds.onset_threshold, "smooth_ms": thresholds.smooth_ms,
                  "max_gap_ms": thresholds.max_gap_ms}
            durations = (qrs_duration(a, dt, **kw), qrs_duration(b, dt, **kw))
        extra = _penalty_term(penalty, durations)
    sa, sb = _scaled(a, b, normalise)
    return np.array([_dtw(sa[k], sb[k], **dtw_kwargs) for k in range(len(LEADS))]) + extra


def dtw_matrix(signals, durations=None, *, penalty: float = 0.0, scale: float | None = None,
               **dtw_kwargs) -> np.ndarray:
    """Lead-by-lead DTW between every pair of 8-lead QRS (paper Fig. 7b).

    Parameters
    ----------
    signals : (n, 8, T) float array
        E.g. the scenarios of one subject.
    durations : (n,) float array, ms, optional
        Their QRS durations; required when ``penalty > 0``.
    penalty : float >= 0
        DTW units per ms (:func:`dtw_distance`).
    scale : float, optional
        Divide all signals by this (e.g. the subject's baseline ``max |x|``, the
        ``"reference"`` normalisation of :func:`dtw_leads`); default: no scaling.
    **dtw_kwargs
        Passed to ``dtaidistance.dtw.distance_matrix_fast``.

    Returns
    -------
    (n, n, 8) float array
        Symmetric, zero on the diagonal; ``[i, j, k]`` equals
        ``dtw_distance(signals[i, k], signals[j, k], penalty=..., durations=...)``.
    """
    from dtaidistance import dtw

    x = np.asarray(signals, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] != len(LEADS):
        raise ValueError(f"signals must be (n, {len(LEADS)}, T), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("signals must be finite")
    if scale is not None:
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        x = x / scale
    n = len(x)
    out = np.zeros((n, n, len(LEADS)))
    for k in range(len(LEADS)):
        series = np.ascontiguousarray(x[:, k, :])
        m = np.asarray(dtw.distance_matrix_fast(series, compact=False, **dtw_kwargs), float)
        m = np.where(np.isfinite(m), m, m.T)  # only one triangle is filled
        np.fill_diagonal(m, 0.0)
        out[:, :, k] = m
    if penalty != 0:
        if durations is None:
            raise ValueError("penalty > 0 needs the QRS durations of the signals (ms)")
        d = np.asarray(durations, float)
        if d.shape != (n,):
            raise ValueError(f"durations must be ({n},), got {d.shape}")
        _penalty_term(penalty, (0.0, 0.0))  # validates the penalty
        out += penalty * np.abs(d[:, None] - d[None, :])[:, :, None]
    return out


def dtw_summary(a, b, dt: float | None = None, **kwargs) -> dict:
    """DTW per lead and its maximum and mean over the 8 leads (:func:`dtw_leads`).

    Returns
    -------
    dict
        ``per_lead`` (dict lead -> distance), ``max``, ``mean``.
    """
    d = dtw_leads(a, b, dt, **kwargs)
    return {"per_lead": dict(zip(LEADS, d.tolist(), strict=True)), "max": float(d.max()),
            "mean": float(d.mean())}
