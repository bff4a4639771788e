"""QRS criteria of myocardial infarction on 8-lead QRS complexes (paper 004 §IV-B).

The sensitivity analysis compares the QRS of each simulated infarct scenario with the
healthy (baseline) QRS of the same heart, globally (dynamic time warping) and through the
local, clinical ECG criteria of a prior infarct: QRS duration, pathological Q waves, poor
R-wave progression and fragmented QRS. The functions take the 8 independent leads
``I, II, V1-V6`` (:data:`~mi_lib.twin.ecg.LEADS`) as an ``(8, T)`` array sampled every
``dt`` ms (0.5 ms in the simulations, 1 ms for the real ECG), in any units: every threshold
is relative (to a peak slope, to the amplitude of a lead or to the largest precordial R),
so the simulations' arbitrary units, normalised signals (:func:`~mi_lib.twin.ecg.normalise`)
and the real ECG in microvolts give the same answers. Times are in ms from the first sample.

Conventions
-----------
Smoothing. Morphology and slopes are read on the leads smoothed by a Gaussian of standard
deviation ``smooth_ms`` (default 2 ms: a -3 dB cut-off near 95 Hz, about the 100 Hz
low-pass of the recordings on which fragmentation was defined, Das et al. 2006). Sample
noise and the pseudo-ECG's discretisation ripple are removed; a 40 ms wave loses ~3 % of
its amplitude (in every lead alike, so the amplitude ratios used below are unaffected) and
a notch 12 ms wide about a quarter of its depth.

Derived limb leads. The 12-lead ECG has 8 independent leads: ``III = II - I``,
``aVR = -(I + II) / 2``, ``aVL = I - II / 2``, ``aVF = II - I / 2`` (Einthoven and
Goldberger; :func:`twelve_leads`). The inferior territory (II, III, aVF) and lead aVL are
therefore derived exactly from I and II wherever a criterion needs two contiguous leads,
rather than leaving the inferior wall with the single lead II.

QRS onset and offset (:func:`qrs_bounds`)
------------------------------------------
Computerised ECG measurement determines wave boundaries globally, on all leads together
(the CSE project, Willems et al. 1985-1990), because one lead can be isoelectric at the
start or end of a QRS that the others show. Our rule uses the *spatial velocity*
``v(t) = sqrt(sum_leads (dx/dt)^2)`` of the smoothed leads:

1. ``v`` peaks inside the QRS (the fastest deflection of the beat); the samples with
   ``v >= threshold * max(v)`` (default ``threshold = 0.05``) are *active*;
2. active runs separated by fewer than ``max_gap_ms`` (10 ms) of inactive samples are
   merged (an R peak that all leads share would otherwise split the QRS);
3. the QRS is the merged run that contains the peak; onset and offset are its first and
   last crossings of the threshold, linearly interpolated between samples.

A slope criterion ignores constant baseline offsets (the real QRS window starts and ends
near -50 to -100 µV, against peaks of ~1500 µV) and the zero padding after a simulated QRS
(``v = 0`` there). The isoelectric baseline of each lead, used by the amplitude criteria
below, is the median of the smoothed lead over the ``baseline_ms`` (10 ms) ending at the
onset (the PR segment on a whole beat; the first sample when the QRS starts the array).
On a whole beat the P and T waves are slower than 5 % of the QRS peak slope (1-3 % and
about 7 % but more than 100 ms away on the real ECG), so they are not merged in. On the
real healthy ECG this gives 91.7 ms on the whole beat (the file's QRS window is 89 ms)
and 84.3 ms on the 89-sample QRS window, whose first samples are already on the slope
(that file's leads were cut from the beat at different samples, 95 to 105: they are not
simultaneous, so a global onset cannot be read off it exactly).
In the simulations, a slowly conducting scar adds a low-slope tail after the healthy
activation; it is part of the measured QRS when its slope exceeds the threshold.

Pathological Q waves (:func:`q_wave`, :func:`q_waves`)
------------------------------------------------------
Clinical definition: an initial negative deflection of the QRS (before the R wave) that is
at least 40 ms wide or at least 25 % as deep as the R wave of the same lead (the classic
criterion of ECG textbooks; the Minnesota code grades Q and QS patterns by the same two
measurements, the Q duration and the Q/R amplitude ratio, Prineas et al., *The Minnesota
Code Manual of Electrocardiographic Findings*, 2nd ed. 2010). The Fourth
Universal Definition of MI (Thygesen et al., Circulation 138:e618, 2018; same criteria in
the Third, 2012) requires, for a prior MI, Q waves >= 30 ms and >= 0.1 mV deep or QS
complexes in leads I, II, aVL, aVF or V4-V6, or any Q > 20 ms or QS complex in V2-V3, in
*two contiguous leads*; Q waves in V1, III and aVR alone are not diagnostic.
Operationalisation (amplitudes relative to the lead's isoelectric baseline ``y``):

* the first sample of the QRS with ``|y| > min_deflection * max|y|`` (2 %) decides the
  initial deflection; if it is negative, the Q wave is the negative lobe around it, from
  the last baseline crossing before it to the next crossing after it. When the lead is
  already below the baseline at the detected onset (a shallow, slow Q wave can start with a
  slope below the onset threshold, and the onset is then a few ms late), the start is
  searched up to ``baseline_ms`` earlier, where the lead is within 1 % of the Q depth of
  the baseline;
* ``width_ms`` is the lobe's duration at the baseline, ``depth_ratio = depth / R`` with
  ``R`` the largest positive deflection after the lobe; a QRS without an R wave
  (``R <= min_deflection * max|y|``) is a QS complex: ``depth_ratio = inf``;
* ``pathological = depth_ratio >= 0.25 or width_ms >= 40`` (both thresholds parameters;
  pass e.g. ``width_ms={"V2": 20, "V3": 20}`` for the UDMI lead-specific durations, a
  mapping leaving the other leads at the default, and ``q_combine="and"`` to require both
  criteria, as the Minnesota codes that combine a Q/R ratio with a minimal duration). The
  absolute 0.1 mV of the UDMI has no meaning on normalised signals and is not used;
* lead-level flags are only raised in the UDMI leads (I, II, aVL, aVF, V2-V6: V1, III and
  aVR are reported but not flagged) and the ECG-level ``flag`` needs two contiguous
  pathological leads (:data:`CONTIGUOUS_PAIRS`).

Poor R-wave progression (:func:`poor_r_wave_progression`)
----------------------------------------------------------
Clinical definition (Zema & Kligfield, Arch Intern Med 142:1145, 1982; DePace et al.,
J Am Coll Cardiol 2:1073, 1983; MacKenzie, J Insur Med 37:58, 2005): the R wave in V3 is
<= 3 mm (0.3 mV at 10 mm/mV), or R-wave progression is reversed (R(V2) < R(V1),
R(V3) < R(V2) or R(V4) < R(V3)). Operationalisation: R amplitudes are the largest positive
deflections above the isoelectric baseline inside the QRS (:func:`r_wave_amplitudes`),
taken relative to the largest R over V1-V6. The 3 mm threshold becomes
``R(V3) <= r_v3_min * max R(V1..V6)`` with ``r_v3_min = 0.15``: 0.3 mV against a largest
precordial R of about 2 mV (upper normal range of R in V5-V6; the healthy real ECG has
1.54 mV, in V5). The fraction is an assumption, since the simulations carry no absolute
scale; a normal R(V3) is "usually > 2 mm" (UCSF ECG course), and the healthy real ECG has
R(V3) = 0.27 mV = 0.18 of its largest precordial R, borderline by the absolute rule.
Reversal counts when an R is smaller than the previous one by more than
``reversal_tolerance`` (2 % of the largest precordial R, about the 0.5 mm reading
resolution of a paper ECG); a flat progression (``R(V4) <= R(V1)`` within that tolerance)
is flagged as absent progression.

Fragmented QRS (:func:`notches`, :func:`fragmented_qrs`)
--------------------------------------------------------
Clinical definition (Das et al., Circulation 113:2495, 2006): an additional R wave (R'),
notching in the nadir of the S wave, or more than one R' (fragmentation) in two contiguous
leads of a major coronary territory, for a QRS < 120 ms; for a wide QRS (>= 120 ms, bundle
branch block or paced), more than two notches in the R or S wave in two contiguous leads
(Das et al., Circ Arrhythm Electrophysiol 1:258, 2008). Territories in Das: anterior
V1-V5, lateral I, aVL, V6, inferior II, III, aVF. Operationalisation:

* on the smoothed lead minus its baseline, inside the QRS, the turning points are the
  local extrema with a reversal of at least ``prominence * peak-to-peak`` on both sides
  (:func:`turning_points`, a hysteresis scan; the topographic prominence of the extrema).
  Default 0.08: a notch of about 1 mm (0.1 mV) on a lead of 1.2 mV peak-to-peak at the
  standard 10 mm/mV, i.e. a notch clearly visible on paper. The value was checked
  against the data: at 0.05 the healthy real ECG already has terminal J-point notches in III
  and V4 (prominences 0.064 and 0.055), its only notch at 0.08 is an rSr' in aVL (0.16, a
  small lead nearly perpendicular to the frontal axis, a normal variant; not contiguous
  with another fragmented lead); at 0.1 the V2 notch of the simulated septal scars (0.087)
  is missed;
* maxima higher than ``min_deflection`` (2 %) of the lead's amplitude above the baseline are
  R waves, the others are notches in a negative wave (a notched S nadir or Q wave); the
  notch count is ``(number of R waves - 1) + (number of the other maxima)``: an RSR'
  pattern, an M-shaped (notched) R and a notched S nadir each count 1, a plain qRs, rS or
  QS complex 0. Slurs (changes of slope without a turning point) are not counted;
* a lead is fragmented with ``>= 1`` notch if the QRS is narrower than ``wide_qrs_ms``
  (120 ms), ``>= 3`` otherwise; the ECG is fragmented when two leads of a contiguous pair
  are (:data:`CONTIGUOUS_PAIRS`).

Contiguous leads. :data:`CONTIGUOUS_PAIRS` follows the UDMI's contiguous lead groups and
Das' territories on 11 leads (aVR excluded): neighbours along the precordial chain
V1-V2-...-V6 (anterior), any two of I, aVL, V5, V6 (lateral), any two of II, III, aVF
(inferior). III, aVL and aVF are derived from I and II (above); pass ``limb_leads=False``
to use the 8 recorded leads only, in which case the inferior territory has the single
lead II and can never be flagged.

Global measure: dynamic time warping (:func:`dtw_distance`, :func:`dtw_leads`)
------------------------------------------------------------------------------
Lead by lead, the DTW distance of dtaidistance (``dtw.distance``: the square root of the
sum of squared differences along the optimal warping path) between a scenario's QRS and
the baseline's, summarised by the maximum and the mean over the 8 leads. DTW absorbs
differences of timing by warping the time axis, so a QRS that is merely longer costs
little; the paper therefore adds a penalty for the difference in QRS duration:

    D(a, b) = DTW(a, b) + penalty * |duration_a - duration_b|,

with the durations in ms from :func:`qrs_duration` (on the 8 leads for :func:`dtw_leads`,
the same term for every lead) and ``penalty`` in DTW units per ms (default 0: plain DTW).
The DTW is in the units of the signals: :func:`dtw_leads` divides both QRS by the largest
absolute value of the reference (``normalise="reference"``, default), which keeps a loss of
amplitude visible while making subjects comparable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

from .ecg import LEADS

TWELVE_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
"""The standard 12 leads, in the order returned by :func:`twelve_leads`."""

EXTENDED_LEADS = ("I", "II", "III", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
"""The 11 leads used for the contiguity rules: the 12 leads without aVR."""

PRECORDIAL = ("V1", "V2", "V3", "V4", "V5", "V6")

CONTIGUOUS_GROUPS = {
    "anterior": PRECORDIAL,            # a chain: neighbours are contiguous
    "lateral": ("I", "aVL", "V5", "V6"),
    "inferior": ("II", "III", "aVF"),
}
"""Lead territories (module docstring): the precordial chain, and two limb groups."""

CONTIGUOUS_PAIRS: tuple[tuple[str, str], ...] = tuple(dict.fromkeys(
    list(zip(PRECORDIAL[:-1], PRECORDIAL[1:], strict=True))
    + list(combinations(CONTIGUOUS_GROUPS["lateral"], 2))
    + list(combinations(CONTIGUOUS_GROUPS["inferior"], 2))))
"""Pairs of contiguous leads (V1-V2 ... V5-V6; pairs within I, aVL, V5, V6; pairs
within II, III, aVF)."""

Q_WAVE_LEADS = ("I", "II", "aVL", "aVF", "V2", "V3", "V4", "V5", "V6")
"""Leads in which the UDMI counts Q waves (not V1, III, aVR)."""

_LIMB = {"III": (-1.0, 1.0), "aVR": (-0.5, -0.5), "aVL": (1.0, -0.5), "aVF": (-0.5, 1.0)}


@dataclass(frozen=True)
class Thresholds:
    """All thresholds of the QRS criteria, with their defaults (module docstring).

    Attributes
    ----------
    onset_threshold : float
        Fraction of the peak spatial velocity that delimits the QRS (:func:`qrs_bounds`).
    smooth_ms : float
        Standard deviation of the Gaussian smoothing, ms (0 = none).
    max_gap_ms : float
        Longest run below the threshold that is bridged inside the QRS, ms.
    baseline_ms : float
        Length of the isoelectric window ending at the onset, ms.
    min_deflection : float
        Smallest deflection that counts as a wave, fraction of the lead's ``max |y|``.
    q_depth_ratio : float
        Q / R depth ratio from which a Q wave is pathological.
    q_width_ms : float
        Q-wave width from which a Q wave is pathological, ms.
    q_combine : {"or", "and"}
        Pathological when either criterion holds (default, the classic rule) or both.
    r_v3_min : float
        ``R(V3) <= r_v3_min * max R(V1..V6)`` is poor R-wave progression.
    reversal_tolerance : float
        Decrease of R between neighbouring precordial leads (fraction of the largest
        precordial R) that counts as reversed progression.
    notch_prominence : float
        Smallest prominence of a notch, fraction of the lead's QRS peak-to-peak amplitude.
    wide_qrs_ms : float
        QRS duration from which the wide-QRS rule (``wide_min_notches``) applies, ms.
    narrow_min_notches, wide_min_notches : int
        Notches that make a lead fragmented in a narrow / wide QRS.
    """

    onset_threshold: float = 0.05
    smooth_ms: float = 2.0
    max_gap_ms: float = 10.0
    baseline_ms: float = 10.0
    min_deflection: float = 0.02
    q_depth_ratio: float = 0.25
    q_width_ms: float = 40.0
    q_combine: str = "or"
    r_v3_min: float = 0.15
    reversal_tolerance: float = 0.02
    notch_prominence: float = 0.08
    wide_qrs_ms: float = 120.0
    narrow_min_notches: int = 1
    wide_min_notches: int = 3

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULTS = Thresholds()
"""The default :class:`Thresholds`."""


# ----------------------------------------------------------------------------- checks

def _check_dt(dt) -> float:
    try:
        dt = float(dt)
    except (TypeError, ValueError):
        raise ValueError(f"dt must be the sampling interval in ms (e.g. 0.5 or 1.0), "
                         f"got {dt!r}") from None
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive sampling interval in ms, got {dt}")
    return dt


def _as_leads(leads, n_leads: int | None = None, name: str = "leads") -> np.ndarray:
    """(n, T) float64 array, finite, T >= 3."""
    x = np.asarray(leads, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 3:
        raise ValueError(f"{name} must be (n_leads, T) or (T,) with T >= 3 samples, "
                         f"got shape {np.shape(leads)}")
    if n_leads is not None and x.shape[0] != n_leads:
        raise ValueError(f"{name} must have {n_leads} rows ({', '.join(LEADS)}), got "
                         f"{x.shape[0]}; pass the 8 leads of one QRS, shape (8, T)")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contain NaN or inf; trim the padding or fill it with the "
                         "last value before measuring the QRS")
    return x


def _check_fraction(value: float, name: str, upper: float = 1.0) -> float:
    value = float(value)
    if not 0.0 < value < upper:
        raise ValueError(f"{name} must be in (0, {upper}), got {value}")
    return value


def _per_lead(value, lead: str, default: float) -> float:
    """A scalar threshold, or the entry of ``lead`` in a mapping (``default`` otherwise,
    the value of the :class:`Thresholds` in use)."""
    if isinstance(value, Mapping):
        return float(value.get(lead, default))
    return float(value)


def _or(value, default):
    """``value``, or ``default`` (the :class:`Thresholds` field) when it is None."""
    return default if value is None else value


# ----------------------------------------------------------------------------- leads

def twelve_leads(leads) -> np.ndarray:
    """The standard 12 leads from the 8 independent ones.

    ``III = II - I``, ``aVR = -(I + II) / 2``, ``aVL = I - II / 2``, ``aVF = II - I / 2``
    (Einthoven's and Goldberger's relations, exact for leads against the same electrodes).

    Parameters
    ----------
    leads : (8, T) float array
        I, II, V1-V6 (:data:`~mi_lib.twin.ecg.LEADS`).

    Returns
    -------
    (12, T) float array
        In the order of :data:`TWELVE_LEADS`.
    """
    x = _as_leads(leads, len(LEADS))
    i, ii = x[0], x[1]
    limb = [a * i + b * ii for a, b in _LIMB.values()]
    return np.vstack([i, ii, *limb, x[2:]])


def _extended(x: np.ndarray, limb_leads: bool) -> tuple[tuple[str, ...], np.ndarray]:
    if not limb_leads:
        return LEADS, x
    full = twelve_leads(x)
    keep = [TWELVE_LEADS.index(n) for n in EXTENDED_LEADS]
    return EXTENDED_LEADS, full[keep]


def _smooth(x: np.ndarray, dt: float, smooth_ms: float) -> np.ndarray:
    if smooth_ms < 0:
        raise ValueError(f"smooth_ms must be >= 0, got {smooth_ms}")
    if smooth_ms == 0:
        return x.copy()
    return gaussian_filter1d(x, smooth_ms / dt, axis=-1, mode="nearest")


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
    (module docstring). Insensitive to constant baseline offsets and to zero padding.

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
    """Poor R-wave progression over V1-V6 (module docstring).

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
    """Fragmented QRS (Das et al. 2006; wide QRS: Das et al. 2008), module docstring.

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
        DTW duration penalty, DTW units per ms (module docstring).
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


# ---------------------------------------------------------------------- cohort analysis


def scenario_dtw(qrs, durations, *, baseline: str = "baseline", penalty: float = 0.0,
                 t_end: float | None = None, **dtw_kwargs) -> np.ndarray:
    """DTW between every pair of scenarios of every subject (paper Fig. 7b).

    Parameters
    ----------
    qrs : xarray.DataArray (subject, scenario, lead, time)
        The ``qrs`` of ``simulations.zarr``.
    durations : pandas.DataFrame (subject x scenario), ms
        QRS durations (e.g. ``criteria_table(...)["qrs_duration_ms"].unstack("scenario")``).
    baseline : str
        Scenario whose largest absolute value scales each subject's signals (the
        ``"reference"`` normalisation of :func:`dtw_leads`).
    penalty : float
        DTW units per ms of duration difference.
    t_end : float, ms, optional
        Signals are cut after this time (e.g. the latest QRS offset plus a margin).

    Returns
    -------
    (subject, scenario, scenario, lead) float array
    """
    scenarios = [str(s) for s in qrs.scenario.values]
    dt = float(qrs.time[1] - qrs.time[0])
    n_t = qrs.sizes["time"] if t_end is None else min(int(np.ceil(t_end / dt)) + 1,
                                                       qrs.sizes["time"])
    out = np.zeros((qrs.sizes["subject"], len(scenarios), len(scenarios), qrs.sizes["lead"]))
    for i, s in enumerate(qrs.subject.values):
        x = np.asarray(qrs.sel(subject=s).values, dtype=np.float64)[:, :, :n_t]
        scale = float(np.abs(x[scenarios.index(baseline)]).max())
        out[i] = dtw_matrix(x, durations.loc[s, scenarios].values, penalty=penalty,
                            scale=scale, **dtw_kwargs)
    return out


def _flag_columns(table: pd.DataFrame, prefix: str) -> list[str]:
    """Leads with a ``<prefix><lead>`` column in a :func:`criteria_table`."""
    skip = ("q_ratio", "q_leads", "q_contig") if prefix == "q_" else ()
    return [c[len(prefix):] for c in table.columns
            if c.startswith(prefix) and not c.startswith(skip)]


def new_signs(table: pd.DataFrame, baseline: str = "baseline") -> dict[str, pd.DataFrame]:
    """Signs that appear against each subject's own baseline, per lead.

    ``table`` is a :func:`criteria_table` indexed by (subject, scenario). Returns
    ``{"q": ..., "notch": ...}``: boolean frames indexed like ``table``, one column per
    lead, True where the scenario has a pathological Q wave the baseline has not, or more
    notches than the baseline.
    """
    if table.index.names != ["subject", "scenario"]:
        raise ValueError("table must be indexed by (subject, scenario), as criteria_table "
                         "makes it from simulations.zarr's qrs")
    base = table.xs(baseline, level="scenario")
    subjects = table.index.get_level_values("subject")
    out = {}
    for name, prefix in (("q", "q_"), ("notch", "notches_")):
        leads = _flag_columns(table, prefix)
        cur = table[[prefix + lead for lead in leads]]
        ref = base.loc[subjects, [prefix + lead for lead in leads]].to_numpy()
        new = (cur.to_numpy().astype(bool) & ~ref.astype(bool)) if name == "q" \
            else cur.to_numpy() > ref
        out[name] = pd.DataFrame(new, index=table.index, columns=leads)
    return out


def sensitivity_dataset(table: pd.DataFrame, pair_dtw: np.ndarray, *, penalty: float,
                        thresholds: Thresholds = DEFAULTS, source: str = ""):
    """``sensitivity.nc`` (layout in ``data/README.md``) from a (subject, scenario)
    :func:`criteria_table` with DTW columns and :func:`scenario_dtw`."""
    import xarray as xr

    subjects = list(dict.fromkeys(table.index.get_level_values("subject")))
    scenarios = list(dict.fromkeys(table.index.get_level_values("scenario")))
    ext = _flag_columns(table, "q_")
    precordial = list(PRECORDIAL)

    def grid(column, dtype=float):
        return table[column].unstack("scenario").loc[subjects, scenarios].to_numpy(dtype)

    def per_lead(fmt, leads, dtype=float):
        return np.stack([grid(fmt.format(lead), dtype) for lead in leads], axis=-1)

    ss = ("subject", "scenario")
    return xr.Dataset(
        {"qrs_onset": (ss, grid("onset_ms"), {"units": "ms"}),
         "qrs_offset": (ss, grid("offset_ms"), {"units": "ms"}),
         "qrs_duration": (ss, grid("qrs_duration_ms"), {"units": "ms"}),
         "dtw": (ss + ("lead",), per_lead("dtw_{}", LEADS)),
         "q_ratio": (ss + ("ext_lead",), per_lead("q_ratio_{}", ext)),
         "q_flag": (ss + ("ext_lead",), per_lead("q_{}", ext, bool).astype(np.int8)),
         "q_contiguous": (ss, grid("q_contiguous", bool).astype(np.int8)),
         "r_amplitude": (ss + ("precordial",), per_lead("r_{}", precordial)),
         "prwp": (ss, grid("prwp", bool).astype(np.int8)),
         "notches": (ss + ("ext_lead",), per_lead("notches_{}", ext)),
         "fqrs": (ss, grid("fqrs", bool).astype(np.int8)),
         "dtw_pair_max": (("scenario", "scenario2"), pair_dtw.max(axis=3).mean(axis=0)),
         "dtw_pair_mean": (("scenario", "scenario2"), pair_dtw.mean(axis=3).mean(axis=0))},
        coords={"subject": subjects, "scenario": scenarios, "scenario2": scenarios,
                "lead": list(LEADS), "ext_lead": ext, "precordial": precordial},
        attrs={"penalty_per_ms": float(penalty), "simulations": str(source),
               **{f"threshold_{k}": (v if isinstance(v, str) else float(v))
                  for k, v in thresholds.__dict__.items()}})


# ----------------------------------------------------------------- cohort summaries

PAPER_QRS_MS = {"baseline": 90.4, "apical_transmural": 124.1,
                "inferolateral_transmural": 107.7, "lateral_transmural": 99.5,
                "lateral_transmural_slow": 113.8}
"""QRS durations paper 004 reports (§IV-B, ms): its healthy cohort, apical and
inferolateral infarcts, and the large transmural lateral infarct without and with the
slower conduction."""


def duration_summary(table: pd.DataFrame, scenarios=None) -> pd.DataFrame:
    """QRS duration on the signal per scenario (mean, sd, min, max over subjects) beside
    :data:`PAPER_QRS_MS`, from a (subject, scenario) :func:`criteria_table`."""
    dur = table["qrs_duration_ms"].unstack("scenario")
    scenarios = list(dur.columns) if scenarios is None else list(scenarios)
    dur = dur[scenarios]
    return pd.DataFrame({"QRS mean (ms)": dur.mean(), "QRS sd (ms)": dur.std(ddof=0),
                         "min": dur.min(), "max": dur.max(),
                         "paper (ms)": pd.Series(PAPER_QRS_MS, dtype=float)}).loc[scenarios]


def prevalence(table: pd.DataFrame, thresholds: Thresholds = DEFAULTS,
               baseline: str = "baseline", prolongation_ms: float = 10.0) -> pd.DataFrame:
    """Share of subjects meeting each criterion, per scenario (rows in table order).

    ``table`` is a (subject, scenario) :func:`criteria_table`. Columns: a wide QRS
    (``>= thresholds.wide_qrs_ms``), prolongation by ``prolongation_ms`` against the
    subject's baseline, pathological Q waves in two contiguous leads, a Q wave new against
    the baseline in any lead, poor R-wave progression, fragmented QRS, and a notch new
    against the baseline in any lead (:func:`new_signs`).
    """
    scenarios = list(dict.fromkeys(table.index.get_level_values("scenario")))
    base = table.xs(baseline, level="scenario")["qrs_duration_ms"]
    subjects = table.index.get_level_values("subject")
    dur = table["qrs_duration_ms"]
    new = new_signs(table, baseline)
    flags = pd.DataFrame({
        f"QRS >= {thresholds.wide_qrs_ms:g} ms": dur >= thresholds.wide_qrs_ms,
        f"QRS +{prolongation_ms:g} ms vs baseline":
            dur.to_numpy() - base.loc[subjects].to_numpy() >= prolongation_ms,
        "Q waves (2 contiguous)": table["q_contiguous"].astype(bool),
        "new Q wave (any lead)": new["q"].any(axis=1),
        "poor R progression": table["prwp"].astype(bool),
        "fragmented QRS": table["fqrs"].astype(bool),
        "new notch (any lead)": new["notch"].any(axis=1)}, index=table.index)
    return flags.astype(float).groupby(level="scenario").mean().loc[scenarios]


def healthy_qrs_by_source(ds, thresholds: Thresholds = DEFAULTS) -> pd.DataFrame:
    """The healthy QRS duration on the signal of each source heart of a
    ``simulations.zarr``: the unmodified mesh (the subject whose shape modes are all zero)
    and the spread over the virtual subjects made from it.

    Returns one row per source (its folder or file name) with ``subjects``, ``mesh (ms)``,
    ``cohort mean (ms)``, ``sd``, ``min`` and ``max``.
    """
    base = ds["qrs"].sel(scenario="baseline")
    dt = float(ds["time"][1] - ds["time"][0])
    sources = [str(s) for s in ds["source"].values]
    modes = np.asarray(ds["shape_modes"].values)
    dur = np.array([qrs_duration(base.isel(subject=i).values, dt,
                                 threshold=thresholds.onset_threshold,
                                 smooth_ms=thresholds.smooth_ms,
                                 max_gap_ms=thresholds.max_gap_ms)
                    for i in range(len(sources))])
    rows = {}
    for src in dict.fromkeys(sources):
        idx = np.array([i for i, s in enumerate(sources) if s == src])
        own = [i for i in idx if not np.any(modes[i])]
        d = dur[idx]
        name = src.rstrip("/").replace("\\", "/").split("/")[-1]
        rows[name] = {"subjects": len(idx), "mesh (ms)": dur[own[0]] if own else np.nan,
                      "cohort mean (ms)": d.mean(), "sd": d.std(), "min": d.min(),
                      "max": d.max()}
    return pd.DataFrame(rows).T.astype({"subjects": int})
