"""Clinical ECG criteria of a prior infarct: pathological Q waves, poor R-wave progression,
notches and fragmented QRS; all criteria of one QRS, or of a cohort, as a table.

Method and references: ``docs/twin/qrs.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..ecg import LEADS
from .bounds import _crossing, _measure, qrs_bounds
from .dtw import dtw_leads
from .thresholds import (
    CONTIGUOUS_PAIRS,
    DEFAULTS,
    PRECORDIAL,
    Q_WAVE_LEADS,
    Thresholds,
    _as_leads,
    _check_fraction,
    _or,
    _per_lead,
)

# ------------------------------------------------------------------------- Q waves

def _q_wave(y: np.ndarray, dt: float, *, depth_ratio: float, width_ms: float,
            min_deflection: float, combine: str = "or", pre: np.ndarray | None = None) -> dict:
    """Q wave of ``y`` (one lead minus its baseline over the QRS window); ``pre`` holds the
    samples before the window, where a slow Q wave may start before the detected onset."""
    amp = float(np.abs(y).max()) if y.size else 0.0
    out = {"q_depth": 0.0, "r_amplitude": float(max(y.max(), 0.0)) if y.size else 0.0,
           "depth_ratio": 0.0, "width_ms": 0.0, "qs": False, "pathological": False}
    if amp == 0:
        return out
    big = np.flatnonzero(np.abs(y) > min_deflection * amp)
    k = int(big[0])
    if y[k] > 0:                                           # initial positive deflection
        return out
    after = np.flatnonzero(y[k:] >= 0)
    if after.size:
        m = k + int(after[0])
        end = _crossing(y, m - 1)
        r = float(y[m:].max())
    else:
        m, end, r = len(y), len(y) - 1.0, 0.0
    depth = float(-y[:m].min())
    before = np.flatnonzero(y[:k] >= 0)
    if before.size:
        start = _crossing(y, int(before[-1]))
    else:       # the lobe started before the detected onset: back to 1 % of its depth
        pre = np.zeros(0) if pre is None else np.asarray(pre, dtype=np.float64)
        z = np.r_[pre, y[:k + 1]] + 0.01 * depth
        up = np.flatnonzero(z[:len(pre)] >= 0)
        start = _crossing(z, int(up[-1])) - len(pre) if up.size else 0.0
    qs = r <= min_deflection * amp
    ratio = np.inf if qs else depth / r
    width = (end - start) * dt
    deep, wide = ratio >= depth_ratio, width >= width_ms
    path = (deep or wide) if combine == "or" else (deep and wide)
    out.update(q_depth=depth, r_amplitude=max(r, 0.0), depth_ratio=float(ratio),
               width_ms=float(width), qs=bool(qs), pathological=bool(qs or path))
    return out


def _check_combine(combine: str) -> str:
    if combine not in ("or", "and"):
        raise ValueError(f"q_combine must be 'or' (deep or wide, the default) or 'and' (deep "
                         f"and wide), got {combine!r}")
    return combine


def q_wave(lead, dt: float, *, bounds: tuple[float, float] | None = None,
           depth_ratio: float | None = None, width_ms: float | None = None,
           thresholds: Thresholds = DEFAULTS) -> dict:
    """The Q wave of one lead: depth ratio, width and the pathological flag.

    Parameters
    ----------
    lead : (T,) float array
        One lead (QRS alone or a whole beat).
    dt : float, ms
    bounds : (onset_ms, offset_ms), optional
        The QRS window, e.g. from :func:`qrs_bounds` on all 8 leads; by default detected
        on this lead alone.
    depth_ratio : float, optional
        Q/R depth ratio from which the Q wave is pathological; None (default): the
        ``q_depth_ratio`` of ``thresholds`` (0.25).
    width_ms : float, ms, optional
        Width from which the Q wave is pathological; None (default): the ``q_width_ms``
        of ``thresholds`` (40 ms).
    thresholds : Thresholds
        The Q-wave thresholds not given above, and the smoothing, baseline window,
        ``min_deflection``, ``q_combine`` and QRS-detection settings.

    Returns
    -------
    dict
        ``depth_ratio`` (Q depth / following R; 0 without a Q wave, ``inf`` for a QS
        complex), ``width_ms`` (at the isoelectric baseline), ``q_depth`` and
        ``r_amplitude`` (input units, from the baseline), ``qs`` (no R wave) and
        ``pathological`` (``depth_ratio >= depth_ratio or width_ms >= width_ms`` or QS).
    """
    x = np.asarray(lead, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"lead must be one lead, shape (T,), got {x.shape}; use q_waves() "
                         "for the 8 leads")
    m = _measure(x, dt, bounds=bounds, names=("lead",), t=thresholds)
    return _q_wave(m.y(0), m.dt,
                   depth_ratio=float(_or(depth_ratio, thresholds.q_depth_ratio)),
                   width_ms=float(_or(width_ms, thresholds.q_width_ms)),
                   min_deflection=thresholds.min_deflection,
                   combine=_check_combine(thresholds.q_combine),
                   pre=m.before(0, thresholds.baseline_ms))


def contiguous_pairs(flags: Mapping[str, bool],
                     pairs: Sequence[tuple[str, str]] = CONTIGUOUS_PAIRS
                     ) -> list[tuple[str, str]]:
    """The pairs of contiguous leads that are both flagged.

    Parameters
    ----------
    flags : mapping lead name -> bool
        Leads missing from the mapping count as not flagged.
    pairs : sequence of (name, name)
        Contiguous pairs (default :data:`CONTIGUOUS_PAIRS`).
    """
    return [(a, b) for a, b in pairs if flags.get(a, False) and flags.get(b, False)]


def q_waves(leads, dt: float, *, depth_ratio: float | Mapping[str, float] | None = None,
            width_ms: float | Mapping[str, float] | None = None,
            q_leads: Sequence[str] = Q_WAVE_LEADS, limb_leads: bool = True,
            pairs: Sequence[tuple[str, str]] = CONTIGUOUS_PAIRS,
            bounds: tuple[float, float] | None = None,
            thresholds: Thresholds = DEFAULTS) -> dict:
    """Q waves of the 8-lead QRS (and the derived III, aVL, aVF), per lead and overall.

    Parameters
    ----------
    leads : (8, T) float array
        I, II, V1-V6.
    dt : float, ms
    depth_ratio, width_ms : float or mapping lead -> float, optional
        Pathological thresholds; None (default): the ``q_depth_ratio`` and ``q_width_ms``
        of ``thresholds`` (0.25, 40 ms). A mapping sets lead-specific values (e.g.
        ``{"V2": 20, "V3": 20}``); the other leads keep the value of ``thresholds``.
    q_leads : sequence of str
        Leads in which a Q wave can be pathological (UDMI: not V1, III, aVR).
    limb_leads : bool
        Also measure the derived limb leads III, aVL, aVF (:func:`twelve_leads`).
    pairs : sequence of (name, name)
        Contiguous pairs for the overall flag.
    bounds : (onset_ms, offset_ms), optional
        QRS window; detected on the 8 leads by default.
    thresholds : Thresholds
        The Q-wave thresholds not given above, ``q_combine``, smoothing, baseline and
        QRS-detection settings.

    Returns
    -------
    dict
        ``per_lead``: DataFrame indexed by lead (``depth_ratio``, ``width_ms``,
        ``q_depth``, ``r_amplitude``, ``qs``, ``considered``, ``pathological``);
        ``pathological``: list of lead names; ``contiguous_pairs``: pathological pairs;
        ``flag``: True when there is at least one such pair.
    """
    x = _as_leads(leads, len(LEADS))
    m = _measure(x, dt, bounds=bounds, limb_leads=limb_leads, t=thresholds)
    depth_ratio = _or(depth_ratio, thresholds.q_depth_ratio)
    width_ms = _or(width_ms, thresholds.q_width_ms)
    rows = {}
    for k, name in enumerate(m.names):
        q = _q_wave(m.y(k), m.dt,
                    depth_ratio=_per_lead(depth_ratio, name, thresholds.q_depth_ratio),
                    width_ms=_per_lead(width_ms, name, thresholds.q_width_ms),
                    min_deflection=thresholds.min_deflection,
                    combine=_check_combine(thresholds.q_combine),
                    pre=m.before(k, thresholds.baseline_ms))
        q["considered"] = name in q_leads
        q["pathological"] = bool(q["pathological"] and q["considered"])
        rows[name] = q
    table = pd.DataFrame.from_dict(rows, orient="index")[
        ["depth_ratio", "width_ms", "q_depth", "r_amplitude", "qs", "considered",
         "pathological"]]
    flags = table["pathological"].to_dict()
    found = contiguous_pairs(flags, pairs)
    return {"per_lead": table, "pathological": [n for n, f in flags.items() if f],
            "contiguous_pairs": found, "flag": bool(found)}


def pathological_q_waves(leads, dt: float, **kwargs) -> np.ndarray:
    """Pathological Q-wave flags of the 8 leads I, II, V1-V6 (:func:`q_waves`).

    Returns
    -------
    (8,) bool array
        In the order of :data:`~mi_lib.twin.ecg.LEADS` (V1 is never flagged with the
        default ``q_leads``).
    """
    table = q_waves(leads, dt, **kwargs)["per_lead"]
    return table.loc[list(LEADS), "pathological"].to_numpy(dtype=bool)


# ------------------------------------------------------------------- R progression

def r_wave_amplitudes(leads, dt: float, *, bounds: tuple[float, float] | None = None,
                      thresholds: Thresholds = DEFAULTS) -> np.ndarray:
    """R-wave amplitudes: the largest positive deflection above the isoelectric baseline.

    Parameters
    ----------
    leads : (8, T) float array
        I, II, V1-V6.
    dt : float, ms
    bounds : (onset_ms, offset_ms), optional
        QRS window; detected on the 8 leads by default.
    thresholds : Thresholds

    Returns
    -------
    (8,) float array, input units
        ``>= 0`` (0 for a lead without a positive deflection), order of
        :data:`~mi_lib.twin.ecg.LEADS`.
    """
    x = _as_leads(leads, len(LEADS))
    m = _measure(x, dt, bounds=bounds, t=thresholds)
    return np.array([max(float(m.y(k).max()), 0.0) for k in range(len(LEADS))])


def poor_r_wave_progression(leads, dt: float, *, r_v3_min: float | None = None,
                            reversal_tolerance: float | None = None,
                            bounds: tuple[float, float] | None = None,
                            thresholds: Thresholds = DEFAULTS) -> dict:
    """Poor R-wave progression over V1-V6 (docs/twin/qrs.md).

    Flagged when ``R(V3) <= r_v3_min * max R(V1..V6)`` (small R in V3), when an R is
    smaller than its predecessor from V1 to V4 by more than ``reversal_tolerance`` (of
    the largest precordial R; reversed progression), or when ``R(V4) <= R(V1)`` within
    that tolerance (absent progression).

    Parameters
    ----------
    leads : (8, T) float array
    dt : float, ms
    r_v3_min : float in (0, 1), optional
        None (default): the ``r_v3_min`` of ``thresholds`` (0.15: 3 mm against a largest
        precordial R of about 2 mV).
    reversal_tolerance : float in [0, 1), optional
        None (default): the ``reversal_tolerance`` of ``thresholds`` (0.02).
    bounds : (onset_ms, offset_ms), optional
    thresholds : Thresholds
        The thresholds not given above, smoothing, baseline and QRS-detection settings.

    Returns
    -------
    dict
        ``flag`` (bool), ``r_amplitudes`` (dict V1..V6 -> R / max precordial R),
        ``small_r_v3``, ``reversed``, ``absent`` (bools) and ``reason`` (str, empty when
        the progression is normal).
    """
    r_v3_min = _check_fraction(_or(r_v3_min, thresholds.r_v3_min), "r_v3_min")
    reversal_tolerance = float(_or(reversal_tolerance, thresholds.reversal_tolerance))
    if not 0.0 <= reversal_tolerance < 1.0:
        raise ValueError(f"reversal_tolerance must be in [0, 1), got {reversal_tolerance}")
    r = r_wave_amplitudes(leads, dt, bounds=bounds, thresholds=thresholds)[2:]
    r_max = float(r.max())
    if r_max <= 0:
        return {"flag": True, "r_amplitudes": dict.fromkeys(PRECORDIAL, 0.0),
                "small_r_v3": True, "reversed": False, "absent": True,
                "reason": "no R wave in V1-V6"}
    rel = r / r_max
    reasons = []
    small = bool(rel[2] <= r_v3_min)
    if small:
        reasons.append(f"R(V3) = {rel[2]:.3g} of the largest precordial R <= {r_v3_min:g}")
    drops = [f"R(V{i + 2}) < R(V{i + 1})" for i in range(3)
             if rel[i + 1] < rel[i] - reversal_tolerance]
    if drops:
        reasons.append("reversed progression: " + ", ".join(drops))
    absent = bool(rel[3] - rel[0] <= reversal_tolerance)
    if absent:
        reasons.append("no progression: R(V4) <= R(V1)")
    return {"flag": bool(reasons), "r_amplitudes": dict(zip(PRECORDIAL, rel.tolist(),
                                                            strict=True)),
            "small_r_v3": small, "reversed": bool(drops), "absent": absent,
            "reason": "; ".join(reasons)}


# ------------------------------------------------------------------- fragmentation

def turning_points(y, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Local maxima and minima of ``y`` with a reversal of at least ``h`` on both sides.

    A hysteresis (zig-zag) scan: an extremum is confirmed when the signal has moved
    away from it by ``h`` or more since the previous confirmed extremum of the other kind.
    The first and last samples are not turning points. Equivalent to keeping the extrema of
    topographic prominence ``>= h`` (scipy.signal.find_peaks), except that two equal peaks
    separated by a shallow valley count once.

    Parameters
    ----------
    y : (T,) float array
    h : float > 0
        Smallest reversal, in the units of ``y``.

    Returns
    -------
    maxima, minima : int arrays
        Sample indices, increasing.
    """
    y = np.asarray(y, dtype=np.float64)
    if not h > 0:
        raise ValueError(f"h must be > 0, got {h}")
    maxima, minima = [], []
    cummin, cummax = np.minimum.accumulate(y), np.maximum.accumulate(y)
    hi = lo = 0                  # candidate maximum / minimum since the last turn
    direction = 0                # +1 rising (looking for a maximum), -1 falling, 0 unknown
    for i in range(1, len(y)):
        v = y[i]
        if direction >= 0 and v > y[hi]:
            hi = i
        if direction <= 0 and v < y[lo]:
            lo = i
        if direction >= 0 and y[hi] - v >= h:          # fell by h from the candidate max
            # before the first turn, a maximum needs a rise of h from the start as well
            if direction == 1 or y[hi] - cummin[hi] >= h:
                maxima.append(hi)
            direction, lo = -1, i
        elif direction <= 0 and v - y[lo] >= h:        # rose by h from the candidate min
            if direction == -1 or cummax[lo] - y[lo] >= h:
                minima.append(lo)
            direction, hi = 1, i
    return np.array(maxima, dtype=np.int64), np.array(minima, dtype=np.int64)


def _notches(y: np.ndarray, prominence: float, min_deflection: float) -> int:
    if y.size < 3:
        return 0
    pp = float(y.max() - y.min())
    if pp <= 0:
        return 0
    maxima, _ = turning_points(y, prominence * pp)
    amp = float(np.abs(y).max())
    r_waves = int(np.count_nonzero(y[maxima] > min_deflection * amp))
    others = len(maxima) - r_waves
    return max(r_waves - 1, 0) + others


def notches(lead, dt: float, *, bounds: tuple[float, float] | None = None,
            prominence: float | None = None,
            thresholds: Thresholds = DEFAULTS) -> int:
    """Number of notches (extra R waves and notches of the R or S wave) in one lead.

    Turning points are the local maxima of the smoothed lead (minus its baseline) inside
    the QRS with a reversal of at least ``prominence`` times the lead's QRS peak-to-peak
    amplitude on both sides (:func:`turning_points`); maxima above the baseline are R
    waves, the others notches: ``notches = (R waves - 1) + other maxima`` (module
    docstring). An RSR', a notched R or a notched S nadir gives 1, a plain qRs / rS / QS
    complex 0.

    Parameters
    ----------
    lead : (T,) float array
    dt : float, ms
    bounds : (onset_ms, offset_ms), optional
        QRS window; by default detected on this lead alone.
    prominence : float in (0, 1), optional
        Smallest prominence of a turning point, fraction of the peak-to-peak; None
        (default): the ``notch_prominence`` of ``thresholds`` (0.08).
    thresholds : Thresholds
        ``notch_prominence`` unless given above, smoothing (``smooth_ms``, module
        docstring), baseline and ``min_deflection``.

    Returns
    -------
    int
    """
    prominence = _check_fraction(_or(prominence, thresholds.notch_prominence), "prominence")
    x = np.asarray(lead, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"lead must be one lead, shape (T,), got {x.shape}; use "
                         "fragmented_qrs() for the 8 leads")
    m = _measure(x, dt, bounds=bounds, names=("lead",), t=thresholds)
    return _notches(m.y(0), prominence, thresholds.min_deflection)


def fragmented_qrs(leads, dt: float, *, prominence: float | None = None,
                   limb_leads: bool = True,
                   pairs: Sequence[tuple[str, str]] = CONTIGUOUS_PAIRS,
                   bounds: tuple[float, float] | None = None,
                   thresholds: Thresholds = DEFAULTS) -> dict:
    """Fragmented QRS (Das et al. 2006; wide QRS: Das et al. 2008), ``docs/twin/qrs.md``.

    Parameters
    ----------
    leads : (8, T) float array
        I, II, V1-V6.
    dt : float, ms
    prominence : float in (0, 1), optional
        Notch prominence, fraction of each lead's QRS peak-to-peak amplitude; None
        (default): the ``notch_prominence`` of ``thresholds`` (0.08).
    limb_leads : bool
        Also examine the derived III, aVL and aVF (the inferior territory needs them).
    pairs : sequence of (name, name)
        Contiguous pairs (default :data:`CONTIGUOUS_PAIRS`).
    bounds : (onset_ms, offset_ms), optional
        QRS window; detected on the 8 leads by default.
    thresholds : Thresholds
        ``notch_prominence`` unless given above, ``wide_qrs_ms``, ``narrow_min_notches``,
        ``wide_min_notches``, ``min_deflection`` and the smoothing.

    Returns
    -------
    dict
        ``per_lead`` (dict lead -> notch count), ``duration_ms``, ``min_notches`` (the
        count that makes a lead fragmented: 1 below ``wide_qrs_ms``, 3 from it),
        ``fragmented_leads`` (list), ``contiguous_pairs`` (fragmented contiguous pairs)
        and ``flag`` (True when there is at least one such pair).
    """
    prominence = _check_fraction(_or(prominence, thresholds.notch_prominence), "prominence")
    x = _as_leads(leads, len(LEADS))
    m = _measure(x, dt, bounds=bounds, limb_leads=limb_leads, t=thresholds)
    counts = {name: _notches(m.y(k), prominence, thresholds.min_deflection)
              for k, name in enumerate(m.names)}
    wide = m.duration >= thresholds.wide_qrs_ms
    need = thresholds.wide_min_notches if wide else thresholds.narrow_min_notches
    frag = {n: c >= need for n, c in counts.items()}
    found = contiguous_pairs(frag, pairs)
    return {"per_lead": counts, "duration_ms": m.duration, "min_notches": int(need),
            "fragmented_leads": [n for n, f in frag.items() if f],
            "contiguous_pairs": found, "flag": bool(found)}


# ---------------------------------------------------------------------- criteria

def criteria(leads, dt: float, *, reference=None, penalty: float = 0.0,
             thresholds: Thresholds = DEFAULTS, limb_leads: bool = True,
             **dtw_kwargs) -> dict:
    """All QRS criteria of one 8-lead signal, as one flat row (see :func:`criteria_table`).

    Parameters
    ----------
    leads : (8, T) float array
    dt : float, ms
    reference : (8, T_ref) float array, optional
        The QRS to compare with by DTW (the subject's baseline); no DTW columns if None.
    penalty : float >= 0
        Duration penalty of the DTW (DTW units per ms).
    thresholds : Thresholds
    limb_leads : bool
        Use the derived III, aVL, aVF for Q waves and fragmentation.
    **dtw_kwargs
        Passed to :func:`dtw_leads` (``normalise``, dtaidistance options).
    """
    x = _as_leads(leads, len(LEADS))
    t = thresholds
    onset, offset = qrs_bounds(x, dt, threshold=t.onset_threshold, smooth_ms=t.smooth_ms,
                               max_gap_ms=t.max_gap_ms)
    b = (onset, offset)
    row: dict = {"onset_ms": onset, "offset_ms": offset, "qrs_duration_ms": offset - onset}
    q = q_waves(x, dt, limb_leads=limb_leads, bounds=b, thresholds=t)
    qt = q["per_lead"]
    for name in qt.index:
        row[f"q_{name}"] = bool(qt.at[name, "pathological"])
    for name in qt.index:
        row[f"q_ratio_{name}"] = float(qt.at[name, "depth_ratio"])
    row["q_leads"] = ",".join(q["pathological"])
    row["q_contiguous"] = q["flag"]
    pr = poor_r_wave_progression(x, dt, bounds=b, thresholds=t)
    for name, v in pr["r_amplitudes"].items():
        row[f"r_{name}"] = v
    row["prwp"] = pr["flag"]
    row["prwp_reason"] = pr["reason"]
    fr = fragmented_qrs(x, dt, limb_leads=limb_leads, bounds=b, thresholds=t)
    for name, c in fr["per_lead"].items():
        row[f"notches_{name}"] = c
    row["fqrs_leads"] = ",".join(fr["fragmented_leads"])
    row["fqrs"] = fr["flag"]
    if reference is not None:
        d = dtw_leads(reference, x, dt, penalty=penalty, thresholds=t, **dtw_kwargs)
        for name, v in zip(LEADS, d, strict=True):
            row[f"dtw_{name}"] = float(v)
        row["dtw_max"] = float(d.max())
        row["dtw_mean"] = float(d.mean())
    return row


def _signals(qrs) -> tuple[list, list, list[str] | None]:
    """Keys, (8, T) arrays and index names of the accepted inputs of criteria_table."""
    if hasattr(qrs, "dims") and hasattr(qrs, "stack"):            # xarray.DataArray
        dims = list(qrs.dims)
        if "lead" not in dims or "time" not in dims:
            raise ValueError(f"a DataArray of QRS needs 'lead' and 'time' dimensions, got "
                             f"{dims}")
        if "lead" in qrs.coords and qrs["lead"].dtype.kind in "OUS":
            names = [str(v) for v in qrs["lead"].values]
            if set(names) != set(LEADS):
                raise ValueError(f"lead coordinate {names} is not the 8 leads {list(LEADS)}")
            qrs = qrs.sel(lead=list(LEADS))
        other = [d for d in dims if d not in ("lead", "time")]
        arr = qrs.transpose(*other, "lead", "time")
        if not other:
            return [0], [np.asarray(arr.values)], None
        keys, sigs = [], []
        for idx in np.ndindex(*[arr.sizes[d] for d in other]):
            sel = arr[idx]
            keys.append(tuple(sel[d].item() if d in sel.coords else i
                              for d, i in zip(other, idx, strict=True)))
            sigs.append(np.asarray(sel.values))
        keys = [k[0] for k in keys] if len(other) == 1 else keys
        return keys, sigs, other
    if isinstance(qrs, Mapping):
        return list(qrs.keys()), [np.asarray(v) for v in qrs.values()], None
    arr = np.asarray(qrs)
    if arr.ndim == 2:
        return [0], [arr], None
    if arr.ndim == 3:
        return list(range(arr.shape[0])), list(arr), None
    raise ValueError(f"qrs must be (8, T), (n, 8, T), a mapping key -> (8, T) or a DataArray "
                     f"with 'lead' and 'time' dimensions, got shape {arr.shape}")


def criteria_table(qrs, dt: float, *, reference=None, penalty: float = 0.0,
                   thresholds: Thresholds = DEFAULTS, limb_leads: bool = True,
                   **dtw_kwargs) -> pd.DataFrame:
    """The QRS criteria of many signals, one row per signal.

    Parameters
    ----------
    qrs : (8, T) or (n, 8, T) array, mapping key -> (8, T), or xarray.DataArray
        The signals. A DataArray needs ``lead`` and ``time`` dimensions (e.g. the
        ``qrs`` variable of ``simulations.zarr``, dims subject, scenario, lead, time); its
        other dimensions become the (Multi)Index of the table.
    dt : float, ms
        Sampling interval.
    reference : optional
        What each signal is compared with by DTW: an (8, T) array (the same for all), a
        mapping with the keys of ``qrs``, a callable ``key -> (8, T)``, or, for a
        DataArray, a dict of selections such as ``{"scenario": "baseline"}`` (the
        reference of each signal is then the selected one with its other coordinates,
        e.g. the baseline of the same subject). None: no DTW columns.
    penalty : float >= 0
        DTW duration penalty, DTW units per ms (docs/twin/qrs.md).
    thresholds : Thresholds
        All thresholds (exposed by the notebook).
    limb_leads : bool
        Use the derived III, aVL, aVF for Q waves and fragmentation.
    **dtw_kwargs
        Passed to :func:`dtw_leads` (``normalise``; dtaidistance options).

    Returns
    -------
    pandas.DataFrame
        Columns: ``onset_ms``, ``offset_ms``, ``qrs_duration_ms``; ``q_<lead>`` (bool),
        ``q_ratio_<lead>`` (Q/R depth ratio), ``q_leads``, ``q_contiguous``;
        ``r_V1``..``r_V6`` (R / largest precordial R), ``prwp``, ``prwp_reason``;
        ``notches_<lead>``, ``fqrs_leads``, ``fqrs``; with a reference ``dtw_<lead>``,
        ``dtw_max``, ``dtw_mean``.
    """
    keys, sigs, dims = _signals(qrs)
    ref_of: Callable | None
    if reference is None:
        ref_of = None
    elif dims is not None and isinstance(reference, Mapping) and all(
            isinstance(k, str) and k in qrs.dims for k in reference):
        ref_da = qrs.sel(**reference)
        if "lead" in ref_da.coords and ref_da["lead"].dtype.kind in "OUS":
            ref_da = ref_da.sel(lead=list(LEADS))

        def ref_of(key):
            key = key if isinstance(key, tuple) else (key,)
            sel = {d: v for d, v in zip(dims, key, strict=True) if d in ref_da.dims}
            by_label = {d: v for d, v in sel.items() if d in ref_da.coords}
            by_pos = {d: v for d, v in sel.items() if d not in ref_da.coords}
            ref = ref_da.sel(**by_label).isel(**by_pos)
            return np.asarray(ref.transpose("lead", "time").values)
    elif isinstance(reference, Mapping):
        def ref_of(key):
            if key not in reference:
                raise ValueError(f"reference has no signal for key {key!r}")
            return reference[key]
    elif callable(reference):
        ref_of = reference
    else:
        ref = _as_leads(reference, len(LEADS), "reference")

        def ref_of(key):
            return ref
    rows = []
    for key, sig in zip(keys, sigs, strict=True):
        r = None if ref_of is None else ref_of(key)
        try:
            rows.append(criteria(sig, dt, reference=r, penalty=penalty,
                                 thresholds=thresholds, limb_leads=limb_leads, **dtw_kwargs))
        except ValueError as err:
            raise ValueError(f"signal {key!r}: {err}") from None
    if dims is not None and len(dims) > 1:
        index = pd.MultiIndex.from_tuples(keys, names=dims)
    else:
        index = pd.Index(keys, name=dims[0] if dims else None)
    return pd.DataFrame(rows, index=index)
