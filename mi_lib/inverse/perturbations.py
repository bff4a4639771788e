"""Real-world degradations of a recorded QRS, for the robustness study of notebook 09.

Each acts on raw leads ``(..., leads, T)`` sampled every ``dt`` ms (the simulations'
``qrs``, before :func:`~mi_lib.inverse.data.prepare_qrs`, so that the QRS is found and
baselined on the degraded signal as it would be on a recording):

- :func:`baseline_wander`: a slow sinusoid per lead (respiration, electrode drift;
  0.05-0.5 Hz), of a given amplitude relative to the lead's peak;
- :func:`powerline`: 50 or 60 Hz mains interference of a given relative amplitude;
- :func:`add_noise`: white Gaussian noise at an exact signal-to-noise ratio per lead;
- :func:`scale_amplitude`: a gain per lead (skin impedance, body habitus).

Electrode displacement is not a signal operation: the forward model records the same
activation with electrodes moved on the torso
(:func:`~mi_lib.twin.forward.displace_on_torso`,
:meth:`~mi_lib.twin.forward.TwinModel.with_electrodes`). Methods:
``docs/inverse/uncertainty.md``.
"""

from __future__ import annotations

import numpy as np

#: the perturbations of the robustness study and their strengths
STRENGTHS = {
    "baseline_wander": (0.1, 0.25, 0.5),    # amplitude / lead peak
    "powerline": (0.05, 0.1, 0.2),          # amplitude / lead peak
    "noise": (20.0, 10.0, 5.0),             # SNR, dB
    "amplitude": (0.8, 0.6, 0.4),           # gain drawn in [s, 1 / s]
    "electrodes": (10.0, 20.0, 30.0),       # displacement, mm
}


def _leads(x) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim < 2 or x.shape[-1] < 2:
        raise ValueError(f"leads must be (..., n_leads, T >= 2), got {x.shape}")
    return x


def _peak(x) -> np.ndarray:
    return np.abs(x).max(axis=-1, keepdims=True)


def signal_power(x) -> np.ndarray:
    """Mean square of each lead over time ``(..., leads)``."""
    return np.mean(_leads(x) ** 2, axis=-1)


def snr_db(signal, noise) -> np.ndarray:
    """10 log10(power(signal) / power(noise)) per lead."""
    return 10.0 * np.log10(signal_power(signal) / signal_power(noise))


def add_noise(x, snr: float, rng) -> np.ndarray:
    """``x`` plus white Gaussian noise whose power is exactly ``power(x) / 10^(snr/10)``
    in every lead (the drawn noise is rescaled to that power; a silent lead stays
    silent)."""
    x = _leads(x)
    rng = np.random.default_rng(rng)
    noise = rng.standard_normal(x.shape)
    want = signal_power(x) / 10.0 ** (float(snr) / 10.0)
    noise *= np.sqrt(want / signal_power(noise))[..., None]
    return x + noise


def baseline_wander(x, dt: float, amplitude: float, rng, band=(0.05, 0.5)) -> np.ndarray:
    """``x`` plus ``amplitude`` x the lead's peak times sin(2 pi f t + phase), f uniform
    in ``band`` (Hz) and a uniform phase, drawn per lead."""
    x = _leads(x)
    rng = np.random.default_rng(rng)
    t = np.arange(x.shape[-1]) * float(dt) / 1000.0          # s
    f = rng.uniform(*band, size=x.shape[:-1] + (1,))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=f.shape)
    return x + float(amplitude) * _peak(x) * np.sin(2.0 * np.pi * f * t + phase)


def powerline(x, dt: float, amplitude: float, rng, frequency: float = 50.0) -> np.ndarray:
    """``x`` plus ``amplitude`` x the lead's peak times sin(2 pi ``frequency`` t + phase)
    (mains at 50 or 60 Hz; one phase per lead). ``dt`` must resolve the frequency
    (Nyquist)."""
    x = _leads(x)
    if not 1000.0 / float(dt) > 2.0 * frequency:
        raise ValueError(f"dt = {dt} ms samples at {1000 / dt:.0f} Hz: cannot carry "
                         f"{frequency} Hz interference (Nyquist); resample finer")
    rng = np.random.default_rng(rng)
    t = np.arange(x.shape[-1]) * float(dt) / 1000.0
    phase = rng.uniform(0.0, 2.0 * np.pi, size=x.shape[:-1] + (1,))
    return x + float(amplitude) * _peak(x) * np.sin(2.0 * np.pi * frequency * t + phase)


def scale_amplitude(x, low: float, rng) -> np.ndarray:
    """``x`` with each lead multiplied by a gain log-uniform in [``low``, 1 / ``low``]
    (0 < low <= 1; low = 1 leaves it unchanged)."""
    if not 0 < low <= 1:
        raise ValueError(f"low = {low}: must lie in (0, 1]")
    x = _leads(x)
    rng = np.random.default_rng(rng)
    gain = np.exp(rng.uniform(-1.0, 1.0, size=x.shape[:-1] + (1,)) * np.log(low))
    return x * gain


def perturb(x, kind: str, strength: float, dt: float, rng) -> np.ndarray:
    """One of the signal perturbations by name (``baseline_wander``, ``powerline``,
    ``noise``, ``amplitude``; :data:`STRENGTHS` for their scales)."""
    if kind == "baseline_wander":
        return baseline_wander(x, dt, strength, rng)
    if kind == "powerline":
        return powerline(x, dt, strength, rng)
    if kind == "noise":
        return add_noise(x, strength, rng)
    if kind == "amplitude":
        return scale_amplitude(x, strength, rng)
    raise ValueError(f"unknown perturbation {kind!r}; signal perturbations: baseline_wander, "
                     "powerline, noise, amplitude (electrodes: the forward model)")


__all__ = ["STRENGTHS", "add_noise", "baseline_wander", "perturb", "powerline",
           "scale_amplitude", "signal_power", "snr_db"]
