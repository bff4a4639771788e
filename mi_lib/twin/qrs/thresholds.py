"""Lead sets, the criteria's thresholds (:class:`Thresholds`) and the argument checks shared
by the QRS measurements.

Method and references: ``docs/twin/qrs.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..ecg import LEADS

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
"""Lead territories (docs/twin/qrs.md): the precordial chain, and two limb groups."""

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
    """All thresholds of the QRS criteria, with their defaults (docs/twin/qrs.md).

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
        """The thresholds as a plain dict."""
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
