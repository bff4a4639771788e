"""ECG degradations: exact SNR, the wander's and the mains' frequencies and amplitudes,
gains, seeds."""

import numpy as np
import pytest

from mi_lib.inverse.perturbations import (
    add_noise,
    baseline_wander,
    perturb,
    powerline,
    scale_amplitude,
    signal_power,
    snr_db,
)

DT = 0.5  # ms


def _qrs(n_leads=8, T=600, seed=0):
    t = np.arange(T) * DT
    rng = np.random.default_rng(seed)
    amp = rng.uniform(0.2, 2.0, size=(n_leads, 1))
    return amp * np.exp(-0.5 * ((t - 100.0) / 15.0) ** 2) * np.sin(t / 9.0)


def test_noise_is_added_at_the_exact_snr_per_lead():
    x = np.stack([_qrs(seed=s) for s in range(3)])          # (3, 8, T)
    for snr in (20.0, 10.0, 5.0):
        y = add_noise(x, snr, rng=1)
        assert y.shape == x.shape
        assert np.allclose(snr_db(x, y - x), snr, atol=1e-9)
    assert np.array_equal(add_noise(x, 10.0, 4), add_noise(x, 10.0, 4))   # seeded
    assert not np.array_equal(add_noise(x, 10.0, 4), add_noise(x, 10.0, 5))
    silent = np.zeros((2, 100))
    silent[0] = 1.0
    y = add_noise(silent, 10.0, 0)
    assert np.array_equal(y[1], silent[1])


def test_baseline_wander_is_slow_and_of_the_asked_amplitude():
    x = _qrs(T=4000)                                         # 2 s
    y = baseline_wander(x, DT, 0.25, rng=0)
    w = y - x
    peak = np.abs(x).max(axis=1)
    assert np.all(np.abs(w).max(axis=1) <= 0.25 * peak + 1e-12)
    spec = np.abs(np.fft.rfft(w, n=400_000, axis=1))          # zero-padded: fine bins
    f = np.fft.rfftfreq(400_000, DT / 1000.0)
    top = f[spec.argmax(axis=1)]
    assert np.all(top < 0.75)                                # the 0.05-0.5 Hz band (+ window)


def test_powerline_at_50_and_60_hz():
    x = _qrs(T=2000)                                         # 1 s: 1 Hz bins
    for hz in (50.0, 60.0):
        y = powerline(x, DT, 0.1, rng=0, frequency=hz)
        w = y - x
        f = np.fft.rfftfreq(w.shape[1], DT / 1000.0)
        assert np.all(f[np.abs(np.fft.rfft(w, axis=1)).argmax(axis=1)] == hz)
        assert np.allclose(np.abs(w).max(axis=1), 0.1 * np.abs(x).max(axis=1), rtol=4e-3)  # 40 samples a cycle
        assert np.allclose(signal_power(w), 0.5 * (0.1 * np.abs(x).max(axis=1)) ** 2, rtol=1e-6)
    with pytest.raises(ValueError, match="Nyquist"):
        powerline(x, 10.0, 0.1, rng=0)


def test_gains_lie_in_their_range_and_the_shape_is_kept():
    x = _qrs()
    y = scale_amplitude(x, 0.5, rng=3)
    gain = np.array([np.polyfit(x[i], y[i], 1)[0] for i in range(len(x))])
    assert np.all((gain >= 0.5) & (gain <= 2.0)) and np.ptp(gain) > 0
    assert np.allclose(y, gain[:, None] * x)
    assert np.array_equal(scale_amplitude(x, 1.0, 0), x)
    with pytest.raises(ValueError):
        scale_amplitude(x, 0.0, 0)
    with pytest.raises(ValueError, match="unknown perturbation"):
        perturb(x, "electrodes", 10.0, DT, 0)
    assert np.array_equal(perturb(x, "noise", 10.0, DT, 2), add_noise(x, 10.0, 2))
