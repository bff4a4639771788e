"""Pseudo-ECG of a cardiac activation map on a tetrahedral mesh.

``phi_e(t) = w_e . Vm(t)`` with the P1 lead field ``w_e = -K (1 / r_e)`` of each electrode
(:func:`lead_fields`, once per anatomy) and ``Vm`` a logistic upstroke at each node's
activation time (:func:`upstroke`); :func:`pseudo_ecg` evaluates it by binning the
activation times (tested against the direct ``w . Vm(t)``). A front approaching an electrode
gives a positive deflection. :func:`leads_from_electrodes` forms the 8 leads
:data:`LEADS` (I, II, V1-V6, against Wilson's central terminal).

Units: mm for positions, ms for times; ``phi`` is in the units of ``Vm`` (the
conductivities and ``1 / (4 pi sigma)`` are left out). The method: ``docs/twin/ecg.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numba as nb
import numpy as np
import scipy.sparse as sp
from scipy.signal import fftconvolve
from scipy.special import expit

from .fem import _check_mesh, stiffness_matrix

LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
"""Names of the 8 leads returned by :func:`leads_from_electrodes`, in order."""

ELECTRODES = ("RA", "LA", "LL", "RL", "V1", "V2", "V3", "V4", "V5", "V6")
"""Standard 12-lead electrode names (``RL`` is accepted but not used)."""

_SETTLE = 8.0  # the logistic is settled to exp(-4 * 8) ~ 1e-14 beyond |tau| = 8 width


# --------------------------------------------------------------------------- lead fields

def lead_fields(points, tets, electrodes, *, stiffness=None, min_distance: float = 1e-3,
                allow_inverted: bool = False) -> np.ndarray:
    """Lead-field weights ``w_e = -K (1 / r_e)`` of each electrode.

    ``phi_e(t) = w_e . Vm(t)`` (see ``docs/twin/ecg.md``..

    Parameters
    ----------
    points : (n, 3) float array, mm
    tets : (m, 4) int array
    electrodes : (n_electrodes, 3) or (3,) float array, mm
        Electrode positions, outside the tissue.
    stiffness : (n, n) sparse matrix, optional
        A precomputed :func:`~mi_lib.twin.fem.stiffness_matrix` of the same mesh.
    min_distance : float, mm
        An electrode closer than this to a node raises ``ValueError``. Electrodes
        inside the tissue but away from nodes are not detected.
    allow_inverted : bool
        Passed to :func:`stiffness_matrix`.

    Returns
    -------
    (n_electrodes, n) float array, dimensionless (``K`` in mm times ``1/r`` in 1/mm)
        ``w[e]``; each row sums to zero (up to rounding) since ``K 1 = 0``.

    Raises
    ------
    ValueError
        If an electrode lies within ``min_distance`` of a node.
    """
    points, tets = _check_mesh(points, tets)
    el = np.atleast_2d(np.asarray(electrodes, dtype=np.float64))
    if el.ndim != 2 or el.shape[1] != 3:
        raise ValueError(f"electrodes must be (n_electrodes, 3), got {el.shape}")
    k = stiffness_matrix(points, tets, allow_inverted=allow_inverted) if stiffness is None \
        else sp.csr_matrix(stiffness)
    if k.shape != (len(points), len(points)):
        raise ValueError(f"stiffness is {k.shape}, the mesh has {len(points)} nodes")
    g = np.empty((len(points), len(el)))
    for e, x in enumerate(el):  # loop over the few electrodes, not the nodes
        r = np.sqrt(((points - x) ** 2).sum(axis=1))
        i = int(np.argmin(r))
        if r[i] < min_distance:
            raise ValueError(f"electrode {e} at {x.tolist()} mm lies {r[i]:.3g} mm from node "
                             f"{i} (< min_distance = {min_distance} mm); electrodes must be "
                             "outside the tissue, where 1/r is finite")
        g[:, e] = 1.0 / r
    return -np.ascontiguousarray((k @ g).T)


# ------------------------------------------------------------------ transmembrane

def upstroke(tau, width: float = 1.0) -> np.ndarray:
    """Normalised upstroke ``s(tau) = 1 / (1 + exp(-4 tau / width))``.

    Parameters
    ----------
    tau : float array, ms
        Time since activation.
    width : float, ms
        ``1 / max slope``; the 10-90 % rise time is ``width * ln(81) / 4 ~ 1.1 width``.

    Returns
    -------
    float array, same shape as ``tau``
        Rises from 0 to 1, ``s(0) = 0.5``.
    """
    if not width > 0:
        raise ValueError(f"upstroke width must be > 0 ms, got {width}")
    return expit(np.asarray(tau, dtype=np.float64) * (4.0 / width))


def _check_at(at) -> np.ndarray:
    at = np.asarray(at, dtype=np.float64)
    if at.ndim != 1:
        raise ValueError(f"activation times must be (n,), got {at.shape}")
    if np.isnan(at).any():
        raise ValueError("activation times contain NaN (use +inf for never-activated nodes)")
    return at


def transmembrane(at, t, upstroke_width: float = 1.0, *, v_rest: float = 0.0,
                  v_plateau: float = 1.0) -> np.ndarray:
    """Transmembrane potential ``Vm(x, t) = v_rest + (v_plateau - v_rest) s(t - at(x))``.

    Parameters
    ----------
    at : (n,) float array, ms
        Activation time of each node (``+inf`` = never activated).
    t : (T,) float array, ms
        Time axis.
    upstroke_width : float, ms
        Width of the logistic upstroke, see :func:`upstroke`.
    v_rest, v_plateau : float
        Resting and plateau potentials (default normalised 0 -> 1; e.g. -85, 15 mV).

    Returns
    -------
    (T, n) float array
    """
    at = _check_at(at)
    t = np.asarray(t, dtype=np.float64).ravel()
    s = upstroke(t[:, None] - at[None, :], upstroke_width)
    return v_rest + (v_plateau - v_rest) * s


def _check_weights(w, n: int) -> np.ndarray:
    w = np.atleast_2d(np.asarray(w, dtype=np.float64))
    if w.ndim != 2 or w.shape[1] != n:
        raise ValueError(f"lead_fields must be (n_electrodes, {n}), got {w.shape}")
    return w


@nb.njit(cache=True)
def _histogram(pos, w, n_bins):
    """Weights ``w`` (n, n_e: node-major, each node's weights in a row) binned at
    fractional bin positions ``pos`` (n,).

    Each weight is spread over bins ``j-1 .. j+2`` (``j = floor(pos)``) by the cubic
    Lagrange weights of the nodes -1, 0, 1, 2 at ``f = pos - j``. Positions past
    ``n_bins - 3`` are dropped (never activated in the window), those before bin 1 are
    clamped to it (activated before the window).
    """
    n, n_e = w.shape
    hist = np.zeros((n_bins, n_e))  # bins x electrodes: each node writes 4 x n_e in a row
    for i in range(n):
        p = pos[i]
        if not p <= n_bins - 3:
            continue
        p = max(p, 1.0)
        j = min(int(np.floor(p)), n_bins - 3)
        f = p - j
        fm, f1, f2 = f + 1.0, f - 1.0, f - 2.0
        l0 = -f * f1 * f2 / 6.0
        l1 = fm * f1 * f2 / 2.0
        l2 = -fm * f * f2 / 2.0
        l3 = fm * f * f1 / 6.0
        for e in range(n_e):
            v = w[i, e]
            hist[j - 1, e] += l0 * v
            hist[j, e] += l1 * v
            hist[j + 1, e] += l2 * v
            hist[j + 2, e] += l3 * v
    return np.ascontiguousarray(hist.T)


def pseudo_ecg(at, lead_fields, t, upstroke_width: float = 1.0, *, v_rest: float = 0.0,
               v_plateau: float = 1.0, oversample: int = 10) -> np.ndarray:
    """Pseudo-ECG ``phi_e(t) = w_e . Vm(t)`` by histogram of activation times + convolution.

    Exact for the time-invariant upstroke ``Vm = v_rest + dV s(t - at)`` up to (i) the
    cubic interpolation of each activation time between the 4 nearest bins of the fine
    grid ``h = dt / oversample`` (error ``~ h^4 |s''''| / 24`` per node, relative
    ``~1e-5`` at ``h = 0.1 ms``, ``width = 1 ms``), and (ii) the truncation of the upstroke
    at ``|tau| > 8 width`` (``~1e-14``). Activation times earlier than the window are
    treated as fully activated, later ones (and ``+inf``) as never activated.

    Parameters
    ----------
    at : (n,) float array, ms
        Activation times (``+inf`` = never activated).
    lead_fields : (n_electrodes, n) float array
        Weights from :func:`lead_fields`.
    t : (T,) float array, ms
        Uniformly spaced output times (``T >= 2``, e.g. ``np.arange(0, 200, 1.0)``).
    upstroke_width : float, ms
        See :func:`upstroke`.
    v_rest, v_plateau : float
        See :func:`transmembrane`.
    oversample : int
        Number of histogram bins per output sample.

    Returns
    -------
    (n_electrodes, T) float array
        Electrode potentials (units of ``Vm``).
    """
    at = _check_at(at)
    w = _check_weights(lead_fields, len(at))
    t = np.asarray(t, dtype=np.float64).ravel()
    if len(t) < 2:
        raise ValueError("t needs at least 2 samples")
    dt = (t[-1] - t[0]) / (len(t) - 1)
    if not dt > 0 or not np.allclose(np.diff(t), dt, rtol=1e-6, atol=0):
        raise ValueError("t must be increasing and uniformly spaced")
    if oversample < 1 or int(oversample) != oversample:
        raise ValueError(f"oversample must be a positive integer, got {oversample}")
    os_ = int(oversample)
    h = dt / os_
    n_t = len(t)
    kk = int(np.ceil(_SETTLE * upstroke_width / h)) + 1      # upstroke half-support, bins
    pad = kk + 2                                              # bins before t[0] / after t[-1]
    n_bins = pad + (n_t - 1) * os_ + 1 + pad
    u0 = t[0] - pad * h                                       # time of bin 0

    # histogram: each node's weight spread over bins j-1..j+2 (cubic Lagrange in at)
    # node-major weights (no copy for the transposed view of a node-major array, as
    # TwinModel keeps its lead fields)
    hist = _histogram((at - u0) / h, np.ascontiguousarray(w.T), n_bins)

    # phi(u_m) = sum_j hist[j] s((m - j) h) = cumsum(hist * d)[m + kk], d = diff of s
    lags = np.arange(-kk - 1, kk + 1) * h
    d = np.diff(upstroke(lags, upstroke_width))               # d[i] = s((i-kk)h) - s((i-kk-1)h)
    c = fftconvolve(hist, d[None, :], axes=1)
    phi = np.cumsum(c, axis=1)[:, kk + pad + os_ * np.arange(n_t)]
    return v_rest * w.sum(axis=1)[:, None] + (v_plateau - v_rest) * phi


# --------------------------------------------------------------------------- leads

def leads_from_electrodes(phi, names: Sequence[str] | None = None) -> np.ndarray:
    """The 8 independent leads I, II, V1-V6 from electrode potentials.

    ``I = LA - RA``, ``II = LL - RA``, ``Vi = phi_Vi - WCT`` with Wilson's central
    terminal ``WCT = (RA + LA + LL) / 3``. ``RL`` (and any other electrode) is ignored.
    (The other limb leads follow: ``III = II - I``, ``aVR = -(I + II) / 2``, ...)

    Parameters
    ----------
    phi : mapping name -> (T,) array, or (n_electrodes, T) array
        Electrode potentials; names are case-insensitive.
    names : sequence of str, optional
        Electrode names of the rows of ``phi`` when it is an array.

    Returns
    -------
    (8, T) float array
        Leads in the order of :data:`LEADS`.
    """
    if isinstance(phi, Mapping):
        if names is not None:
            raise ValueError("names is only used when phi is an array")
        sig = {str(k).upper(): np.asarray(v, dtype=np.float64) for k, v in phi.items()}
    else:
        arr = np.asarray(phi, dtype=np.float64)
        if names is None:
            raise ValueError("names are required when phi is an array")
        if arr.ndim != 2 or arr.shape[0] != len(names):
            raise ValueError(f"phi is {arr.shape}, expected ({len(names)}, T) for the names")
        sig = {str(k).upper(): arr[i] for i, k in enumerate(names)}
    need = ("RA", "LA", "LL", "V1", "V2", "V3", "V4", "V5", "V6")
    missing = [k for k in need if k not in sig]
    if missing:
        raise ValueError(f"missing electrodes {missing}; got {sorted(sig)}")
    ra, la, ll = sig["RA"], sig["LA"], sig["LL"]
    wct = (ra + la + ll) / 3.0
    return np.stack([la - ra, ll - ra] + [sig[f"V{i}"] - wct for i in range(1, 7)])


def resample_fixed(signal, n: int = 512) -> np.ndarray:
    """Resample each lead to ``n`` samples by linear interpolation over its duration.

    The first and last samples are kept; the ``n`` new samples are equally spaced between
    them (a signal's time axis is thus rescaled to a fixed length).

    Parameters
    ----------
    signal : (T,) or (n_leads, T) float array, T >= 2
    n : int, >= 2

    Returns
    -------
    (n,) or (n_leads, n) float array
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[-1] < 2:
        raise ValueError(f"signal must be (T,) or (n_leads, T) with T >= 2, got {x.shape}")
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    size = x.shape[-1]
    q = np.linspace(0.0, size - 1, int(n))
    i = np.minimum(np.floor(q).astype(np.int64), size - 2)
    f = q - i
    return x[..., i] * (1.0 - f) + x[..., i + 1] * f


def normalise(leads) -> np.ndarray:
    """Divide all leads by their common maximum absolute amplitude.

    One scale for all leads keeps their relative amplitudes; the result has
    ``max |x| = 1``. An all-zero input is returned unchanged (as a float copy).

    Parameters
    ----------
    leads : (n_leads, T) or (T,) float array

    Returns
    -------
    float array, same shape
    """
    x = np.array(leads, dtype=np.float64)
    m = np.abs(x).max() if x.size else 0.0
    if not np.isfinite(m):
        raise ValueError("leads contain non-finite values")
    return x / m if m > 0 else x


def read_leads_csv(path, n_leads: int = len(LEADS)) -> np.ndarray:
    """An ECG stored as CSV, one lead per row in the order of :data:`LEADS`, no header.

    The format of the project's real ECG (``data/raw/ecg/``): 8 rows I, II, V1-V6, one
    column per sample (1 kHz), amplitudes in microvolts.

    Returns
    -------
    (n_leads, T) float array
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ECG file; give a CSV with one lead per row "
                                f"({', '.join(LEADS)})")
    try:
        x = np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as err:
        raise ValueError(f"{path}: not a numeric CSV ({err}); expected {n_leads} rows "
                         f"({', '.join(LEADS)}) of comma-separated samples, no header") from None
    if x.shape[0] != n_leads or x.shape[1] < 2:
        raise ValueError(f"{path}: {x.shape[0]} rows x {x.shape[1]} columns; expected "
                         f"{n_leads} rows ({', '.join(LEADS)}), one column per sample")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{path}: contains non-finite values")
    return x


def dominant_polarity(leads) -> np.ndarray:
    """Sign (+1 / -1) of the largest absolute deflection of each lead."""
    x = np.atleast_2d(np.asarray(leads, dtype=np.float64))
    return np.sign(x[np.arange(len(x)), np.argmax(np.abs(x), axis=1)])
