"""QRS criteria (mi_lib.twin.qrs): onset/offset and duration, pathological Q waves, poor
R-wave progression, fragmented QRS, DTW with a duration penalty, and the criteria table.

Synthetic QRS are sums of Hann (raised-cosine) lobes, which have a compact support: the
onset, offset, depths and widths are known exactly. The criteria read the leads smoothed by
a 2 ms Gaussian, which lowers the peak of a 40 ms lobe by ~3 % and widens a 20 ms one by
~2 ms: amplitudes are compared within 4 %, widths within 3 ms, onset/offset within 2 ms.
"""

import numpy as np
import pandas as pd
import pytest
from dtaidistance import dtw

from mi_lib.core.config import project_root
from mi_lib.twin import qrs
from mi_lib.twin.ecg import LEADS, read_leads_csv

ECG_DIR = project_root() / "data" / "raw" / "ecg"


def hann(t, start, width, amp):
    """A raised-cosine lobe of height ``amp`` on ``[start, start + width]`` ms."""
    u = (t - start) / width
    return np.where((u >= 0) & (u <= 1), amp * 0.5 * (1 - np.cos(2 * np.pi * u)), 0.0)


# lobe amplitudes of each lead on [0, 0.2 D], [0.2 D, 0.6 D], [0.6 D, D]: consecutive lobes
# alternate in sign, so no lead (nor the derived III, aVL, aVF) is notched
NORMAL = {"I": (-0.05, 0.6, -0.3), "II": (-0.1, 1.0, -0.4),
          "V1": (0.2, -1.0, 0.0), "V2": (0.25, -0.9, 0.0), "V3": (0.0, 0.6, -0.6),
          "V4": (-0.03, 0.9, -0.3), "V5": (-0.05, 1.0, -0.1), "V6": (-0.05, 0.8, -0.05)}
EDGES = (0.0, 0.2, 0.6, 1.0)


def lobes(t, onset, duration, amps):
    return sum(hann(t, onset + a * duration, (b - a) * duration, amp)
               for a, b, amp in zip(EDGES[:-1], EDGES[1:], amps, strict=True))


def synthetic(dt=1.0, onset=30.0, duration=90.0, total=256.0, amps=None, leads=None):
    """8-lead QRS of known onset and duration, zero-padded to ``total`` ms.

    ``leads`` maps a lead name to a function ``t -> signal`` replacing its lobes."""
    t = np.arange(0.0, total, dt)
    amps = {**NORMAL, **(amps or {})}
    x = np.stack([lobes(t, onset, duration, amps[n]) for n in LEADS])
    for name, f in (leads or {}).items():
        x[LEADS.index(name)] = f(t)
    return t, x


def rsr(onset):
    """RSR': R (30 ms), S below the baseline (20 ms), R' (25 ms)."""
    return lambda t: (hann(t, onset, 30, 1.0) + hann(t, onset + 30, 20, -0.4)
                      + hann(t, onset + 50, 25, 0.5))


# ----------------------------------------------------------------------- duration


@pytest.mark.parametrize("dt", [0.5, 1.0])
def test_bounds_of_zero_padded_qrs(dt):
    _, x = synthetic(dt=dt, onset=30.0, duration=90.0)
    onset, offset = qrs.qrs_bounds(x, dt)
    assert abs(onset - 30.0) <= 2.0 and abs(offset - 120.0) <= 2.0
    assert abs(qrs.qrs_duration(x, dt) - 90.0) <= 2.0


@pytest.mark.parametrize("dt", [0.5, 1.0])
def test_bounds_with_baseline_offset_and_noise(dt):
    _, x = synthetic(dt=dt, onset=40.0, duration=100.0)
    rng = np.random.default_rng(3)
    offsets = rng.uniform(-0.08, 0.08, (8, 1))              # ~ -50 uV against 1500 uV peaks
    noisy = x + offsets + rng.normal(0.0, 0.005, x.shape)   # noise 0.5 % of the peak
    onset, offset = qrs.qrs_bounds(noisy, dt)
    assert abs(onset - 40.0) <= 2.0 and abs(offset - 140.0) <= 2.0
    # units do not matter (microvolts vs normalised)
    np.testing.assert_allclose(qrs.qrs_bounds(1500.0 * noisy, dt), (onset, offset))


def test_bounds_depend_on_the_signal_not_the_array():
    _, short = synthetic(onset=20.0, duration=70.0, total=150.0)
    _, long = synthetic(onset=20.0, duration=110.0, total=150.0)
    assert qrs.qrs_duration(long, 1.0) - qrs.qrs_duration(short, 1.0) == pytest.approx(
        40.0, abs=2.0)
    # a QRS that starts at the first sample (the simulations) has its onset at 0
    assert qrs.qrs_bounds(synthetic(onset=0.0)[1], 1.0)[0] == 0.0


def test_bounds_reject_flat_and_bad_input():
    with pytest.raises(ValueError, match="constant"):
        qrs.qrs_bounds(np.ones((8, 100)), 1.0)
    with pytest.raises(ValueError, match="NaN"):
        qrs.qrs_bounds(np.full((8, 100), np.nan), 1.0)
    with pytest.raises(ValueError, match="dt"):
        qrs.qrs_bounds(synthetic()[1], 0.0)
    with pytest.raises(ValueError, match="threshold"):
        qrs.qrs_bounds(synthetic()[1], 1.0, threshold=1.5)


def test_twelve_leads_relations():
    _, x = synthetic()
    t12 = qrs.twelve_leads(x)
    get = dict(zip(qrs.TWELVE_LEADS, t12, strict=True))
    np.testing.assert_allclose(get["III"], x[1] - x[0])
    np.testing.assert_allclose(get["aVR"] + get["aVL"] + get["aVF"], 0.0, atol=1e-12)
    np.testing.assert_allclose(get["V4"], x[5])


# ------------------------------------------------------------------------ Q waves


def single(t, q_amp, q_width, onset=20.0):
    """q (negative lobe), R (+1, 40 ms), S (-0.2, 20 ms)."""
    return (hann(t, onset, q_width, q_amp) + hann(t, onset + q_width, 40, 1.0)
            + hann(t, onset + q_width + 40, 20, -0.2))


def test_pathological_q_wave_deep_and_wide():
    t = np.arange(0.0, 200.0, 1.0)
    q = qrs.q_wave(single(t, -0.4, 45.0) + 0.05, 1.0)        # with a baseline offset
    assert q["depth_ratio"] == pytest.approx(0.4, abs=0.02)
    assert q["width_ms"] == pytest.approx(45.0, abs=3.0)
    assert q["pathological"] and not q["qs"]


def test_small_q_wave_is_normal():
    t = np.arange(0.0, 200.0, 0.5)
    q = qrs.q_wave(single(t, -0.1, 20.0), 0.5)
    assert q["depth_ratio"] == pytest.approx(0.1, abs=0.01)
    assert q["width_ms"] == pytest.approx(20.0, abs=3.0)
    assert not q["pathological"]


def test_q_wave_criteria_separately_and_combined():
    t = np.arange(0.0, 200.0, 1.0)
    deep_narrow, shallow_wide = single(t, -0.4, 20.0), single(t, -0.1, 45.0)
    assert qrs.q_wave(deep_narrow, 1.0)["pathological"]           # depth alone
    assert qrs.q_wave(shallow_wide, 1.0)["pathological"]          # width alone
    both = qrs.Thresholds(q_combine="and")
    assert not qrs.q_wave(deep_narrow, 1.0, thresholds=both)["pathological"]
    assert not qrs.q_wave(shallow_wide, 1.0, thresholds=both)["pathological"]
    assert not qrs.q_wave(deep_narrow, 1.0, depth_ratio=0.5)["pathological"]
    # no Q wave: initial positive deflection
    assert qrs.q_wave(hann(t, 20, 40, 1.0) + hann(t, 60, 30, -0.5), 1.0)["depth_ratio"] == 0
    # QS complex
    qs = qrs.q_wave(hann(t, 20, 60, -1.0), 1.0)
    assert qs["qs"] and qs["pathological"] and qs["depth_ratio"] == np.inf


def test_q_waves_need_two_contiguous_leads():
    deep = lambda t: single(t, -0.4, 45.0, onset=30.0)  # noqa: E731
    _, x = synthetic(leads={"V5": deep, "V6": deep})
    flags = qrs.pathological_q_waves(x, 1.0)
    assert flags.tolist() == [n in ("V5", "V6") for n in LEADS]
    res = qrs.q_waves(x, 1.0)
    assert res["flag"] and ("V5", "V6") in res["contiguous_pairs"]
    _, one = synthetic(leads={"V5": deep})
    assert qrs.pathological_q_waves(one, 1.0).sum() == 1 and not qrs.q_waves(one, 1.0)["flag"]
    # V1 is not a Q-wave lead of the universal definition
    _, v1 = synthetic(leads={"V1": deep, "V2": deep})
    assert qrs.pathological_q_waves(v1, 1.0).tolist() == [n == "V2" for n in LEADS]
    _, normal = synthetic()
    assert not qrs.pathological_q_waves(normal, 1.0).any()
    assert not qrs.q_waves(normal, 1.0)["flag"]


# ---------------------------------------------------------------- R progression


def precordial(r, s=0.5):
    """Amplitudes with R waves ``r`` (V1..V6) and S waves of depth ``s``."""
    return {f"V{i + 1}": (0.0, ri, -s) for i, ri in enumerate(r)}


def test_r_wave_amplitudes():
    _, x = synthetic(amps=precordial([0.1, 0.3, 0.5, 0.8, 1.0, 0.9]))
    r = qrs.r_wave_amplitudes(x + 0.03, 1.0)                   # baseline offset removed
    np.testing.assert_allclose(r[2:], [0.1, 0.3, 0.5, 0.8, 1.0, 0.9], rtol=0.04)
    np.testing.assert_allclose(r[2:] / r[6], [0.1, 0.3, 0.5, 0.8, 1.0, 0.9], rtol=1e-3)


def test_normal_r_progression_is_not_flagged():
    _, x = synthetic(amps=precordial([0.1, 0.3, 0.5, 0.8, 1.0, 0.9]))
    res = qrs.poor_r_wave_progression(x, 1.0)
    assert not res["flag"] and res["reason"] == ""
    assert res["r_amplitudes"]["V3"] == pytest.approx(0.5, abs=0.01)
    _, default = synthetic()
    assert not qrs.poor_r_wave_progression(default, 1.0)["flag"]


@pytest.mark.parametrize("r, key", [
    ([0.3, 0.3, 0.3, 0.3, 1.0, 0.9], "absent"),      # flat
    ([0.6, 0.4, 0.3, 0.2, 1.0, 0.9], "reversed"),    # decreasing
    ([0.5, 0.7, 0.6, 0.8, 1.0, 0.9], "reversed"),    # R(V3) < R(V2)
    ([0.02, 0.05, 0.1, 0.6, 1.0, 0.9], "small_r_v3"),  # rising but R(V3) small
])
def test_poor_r_progression_is_flagged(r, key):
    _, x = synthetic(amps=precordial(r))
    res = qrs.poor_r_wave_progression(x, 1.0)
    assert res["flag"] and res[key] and res["reason"]


# ------------------------------------------------------------------ fragmentation


def test_notch_counts_of_single_leads():
    t = np.arange(0.0, 200.0, 1.0)
    assert qrs.notches(rsr(20.0)(t), 1.0) == 1                             # RSR'
    notched_s = (hann(t, 20, 15, 0.3) + hann(t, 35, 40, -1.0)
                 + hann(t, 47, 16, 0.5))                                   # notch at S nadir
    assert qrs.notches(notched_s, 1.0) == 1
    m_shaped = hann(t, 20, 30, 1.0) + hann(t, 50, 30, 0.9)                 # split R
    assert qrs.notches(m_shaped, 1.0) == 1
    notched_r = hann(t, 20, 60, 1.0) + hann(t, 42, 16, -0.4)               # notch 0.21 p-p
    assert qrs.notches(notched_r, 1.0) == 1
    assert qrs.notches(single(t, -0.1, 20.0), 1.0) == 0                    # qRs
    assert qrs.notches(hann(t, 20, 15, 0.2) + hann(t, 35, 40, -1.0), 1.0) == 0   # rS
    assert qrs.notches(hann(t, 20, 60, -1.0), 1.0) == 0                    # QS
    rng = np.random.default_rng(0)
    noisy = single(t, -0.1, 20.0) + rng.normal(0.0, 0.005, t.shape)
    assert qrs.notches(noisy, 1.0) == 0
    # a notch of 0.04 p-p is below the threshold (0.08): two equal maxima count once
    small = hann(t, 20, 60, 1.0) + hann(t, 42, 16, -0.2)
    assert qrs.notches(small, 1.0) == 0
    assert qrs.notches(small, 1.0, prominence=0.03) == 1


def test_turning_points_match_topographic_prominence():
    from scipy.signal import find_peaks

    rng = np.random.default_rng(2)
    for _ in range(50):
        y = np.cumsum(rng.normal(size=200))
        h = rng.uniform(0.5, 5.0)
        maxima, minima = qrs.turning_points(y, h)
        np.testing.assert_array_equal(maxima, find_peaks(y, prominence=h)[0])
        np.testing.assert_array_equal(minima, find_peaks(-y, prominence=h)[0])


def test_fragmented_needs_two_contiguous_leads():
    _, both = synthetic(leads={"V2": rsr(30.0), "V3": rsr(30.0)})
    res = qrs.fragmented_qrs(both, 1.0)
    assert res["per_lead"]["V2"] == 1 and res["per_lead"]["V3"] == 1
    assert res["flag"] and res["contiguous_pairs"] == [("V2", "V3")]
    _, one = synthetic(leads={"V2": rsr(30.0)})
    res = qrs.fragmented_qrs(one, 1.0)
    assert res["per_lead"]["V2"] == 1 and res["fragmented_leads"] == ["V2"]
    assert not res["flag"]
    _, apart = synthetic(leads={"V1": rsr(30.0), "V4": rsr(30.0)})
    assert not qrs.fragmented_qrs(apart, 1.0)["flag"]
    _, normal = synthetic()
    res = qrs.fragmented_qrs(normal, 1.0)
    assert not res["flag"] and sum(res["per_lead"].values()) == 0


def test_fragmented_inferior_uses_derived_limb_leads():
    # the same RSR' in I and II: III = II - I is flat, aVF = II - I / 2 is fragmented
    _, x = synthetic(leads={"I": rsr(30.0), "II": rsr(30.0)})
    res = qrs.fragmented_qrs(x, 1.0)
    assert res["per_lead"]["aVF"] == 1 and ("II", "aVF") in res["contiguous_pairs"]
    assert ("II", "aVF") not in qrs.fragmented_qrs(x, 1.0, limb_leads=False)[
        "contiguous_pairs"]


def test_wide_qrs_needs_more_than_two_notches():
    def wavy(n_r):        # n_r R waves of 25 ms separated by S dips: n_r - 1 notches
        return lambda t: sum(hann(t, 20 + 30 * k, 25, 1.0) + hann(t, 45 + 30 * k, 5, -0.3)
                             for k in range(n_r))
    _, one_notch = synthetic(duration=130.0, leads={"V2": wavy(2), "V3": wavy(2)})
    res = qrs.fragmented_qrs(one_notch, 1.0)
    assert res["duration_ms"] >= 120 and res["min_notches"] == 3 and not res["flag"]
    _, three = synthetic(duration=130.0, leads={"V2": wavy(4), "V3": wavy(4)})
    res = qrs.fragmented_qrs(three, 1.0)
    assert res["per_lead"]["V2"] == 3 and res["flag"]


# ----------------------------------------------------------------------- real ECG


@pytest.fixture(scope="module")
def real():
    return {"full": read_leads_csv(ECG_DIR / "dti004_clinical_full.csv"),
            "qrs": read_leads_csv(ECG_DIR / "dti004_clinical_qrs.csv")}


def test_real_ecg_duration(real):
    # whole beat: onset and offset detected around the QRS (the QRS file's leads were cut
    # from samples 95-105 of this beat); measured 91.7 ms
    onset, offset = qrs.qrs_bounds(real["full"], 1.0)
    assert 90.0 <= onset <= 110.0 and 180.0 <= offset <= 200.0
    assert abs(offset - onset - 89.0) <= 10.0
    # the 89-sample QRS window (starts on the slope): measured 84.3 ms
    assert abs(qrs.qrs_duration(real["qrs"], 1.0) - 89.0) <= 10.0


@pytest.mark.parametrize("which", ["full", "qrs"])
def test_regression_guard_real_healthy_ecg_has_no_mi_criteria(real, which):
    """A regression guard for the fragmentation part: the notch prominence (0.08) was set
    above the largest notches of this very recording (docs/twin/qrs.md); the Q-wave and
    R-progression thresholds are clinical ones, fixed before looking at it."""
    x = real[which]
    assert not qrs.pathological_q_waves(x, 1.0).any()
    q = qrs.q_waves(x, 1.0)["per_lead"]
    assert (q["depth_ratio"] < 0.25).all() and (q["width_ms"] < 40).all()
    prwp = qrs.poor_r_wave_progression(x, 1.0)
    assert not prwp["flag"], prwp["reason"]
    r = prwp["r_amplitudes"]
    assert r["V1"] < r["V2"] < r["V3"] < r["V4"] < r["V5"]
    assert not qrs.fragmented_qrs(x, 1.0)["flag"]


# -------------------------------------------------- thresholds honoured by every criterion


def test_q_wave_honours_thresholds():
    # Q/R = 0.30 (0.29 after smoothing), 30 ms wide (< 40 ms): pathological at the
    # default 0.25 by depth alone, not at 0.5
    t = np.arange(0.0, 200.0, 1.0)
    y = single(t, -0.3, 30.0)
    assert qrs.q_wave(y, 1.0)["depth_ratio"] == pytest.approx(0.30, abs=0.02)
    assert qrs.q_wave(y, 1.0)["pathological"]
    strict = qrs.Thresholds(q_depth_ratio=0.5)
    assert not qrs.q_wave(y, 1.0, thresholds=strict)["pathological"]
    # an explicit keyword still overrides the thresholds
    assert qrs.q_wave(y, 1.0, thresholds=strict, depth_ratio=0.25)["pathological"]
    # the width criterion likewise: 45 ms wide, Q/R 0.1
    wide = single(t, -0.1, 45.0)
    assert qrs.q_wave(wide, 1.0)["pathological"]
    assert not qrs.q_wave(wide, 1.0, thresholds=qrs.Thresholds(q_width_ms=50.0))[
        "pathological"]


def test_q_waves_honour_thresholds_like_criteria():
    q30 = lambda t: single(t, -0.3, 30.0, onset=30.0)  # noqa: E731  Q/R = 0.30, 30 ms
    _, x = synthetic(leads={"V5": q30, "V6": q30})
    res = qrs.q_waves(x, 1.0)
    assert res["flag"] and {"V5", "V6"} <= set(res["pathological"])
    strict = qrs.Thresholds(q_depth_ratio=0.5)
    res = qrs.q_waves(x, 1.0, thresholds=strict)
    assert not res["flag"] and "V5" not in res["pathological"]
    assert not qrs.pathological_q_waves(x, 1.0, thresholds=strict).any()
    assert qrs.q_waves(x, 1.0, thresholds=strict)["flag"] == \
        qrs.criteria(x, 1.0, thresholds=strict)["q_contiguous"]
    # a mapping sets one lead; the others keep the value of the thresholds, not 0.25
    per_lead = qrs.q_waves(x, 1.0, thresholds=strict, depth_ratio={"V5": 0.25})
    assert per_lead["pathological"] == ["V5"]
    # an explicit scalar overrides the thresholds for every lead
    assert qrs.q_waves(x, 1.0, thresholds=strict, depth_ratio=0.25)["flag"]


def test_poor_r_wave_progression_honours_thresholds():
    _, x = synthetic(amps=precordial([0.1, 0.3, 0.5, 0.8, 1.0, 0.9]))   # R(V3) = 0.5
    assert not qrs.poor_r_wave_progression(x, 1.0)["flag"]
    res = qrs.poor_r_wave_progression(x, 1.0, thresholds=qrs.Thresholds(r_v3_min=0.6))
    assert res["flag"] and res["small_r_v3"]
    assert qrs.criteria(x, 1.0, thresholds=qrs.Thresholds(r_v3_min=0.6))["prwp"]
    assert not qrs.poor_r_wave_progression(x, 1.0, thresholds=qrs.Thresholds(r_v3_min=0.6),
                                           r_v3_min=0.15)["flag"]
    # reversal: R(V3) 0.05 below R(V2), above the default tolerance 0.02, below 0.1
    _, dip = synthetic(amps=precordial([0.5, 0.7, 0.65, 0.8, 1.0, 0.9]))
    assert qrs.poor_r_wave_progression(dip, 1.0)["reversed"]
    tolerant = qrs.Thresholds(reversal_tolerance=0.1)
    assert not qrs.poor_r_wave_progression(dip, 1.0, thresholds=tolerant)["flag"]


def test_notches_and_fragmentation_honour_thresholds():
    # a notch of 0.04 of the peak-to-peak: below the default prominence 0.08, above 0.03
    small = lambda t: hann(t, 30, 60, 1.0) + hann(t, 52, 16, -0.2)  # noqa: E731
    t = np.arange(0.0, 200.0, 1.0)
    fine = qrs.Thresholds(notch_prominence=0.03)
    assert qrs.notches(small(t), 1.0) == 0
    assert qrs.notches(small(t), 1.0, thresholds=fine) == 1
    assert qrs.notches(small(t), 1.0, thresholds=fine, prominence=0.08) == 0
    _, x = synthetic(leads={"V2": small, "V3": small})
    assert not qrs.fragmented_qrs(x, 1.0)["flag"]
    res = qrs.fragmented_qrs(x, 1.0, thresholds=fine)
    assert res["flag"] and ("V2", "V3") in res["contiguous_pairs"]
    assert qrs.criteria(x, 1.0, thresholds=fine)["fqrs"]
    assert not qrs.fragmented_qrs(x, 1.0, thresholds=fine, prominence=0.08)["flag"]


# ---------------------------------------------------------------------------- DTW


def test_dtw_equals_dtaidistance():
    rng = np.random.default_rng(11)
    for n_a, n_b in [(50, 50), (80, 64), (33, 97)]:
        a, b = rng.normal(size=n_a), rng.normal(size=n_b)
        ref = dtw.distance(a, b)
        assert qrs.dtw_distance(a, b) == pytest.approx(ref, rel=0, abs=1e-12)
        assert qrs.dtw_distance(a, b) == pytest.approx(dtw.distance_fast(a, b), abs=1e-12)
        assert qrs.dtw_distance(a, b) == pytest.approx(qrs.dtw_distance(b, a), abs=1e-12)
        assert qrs.dtw_distance(a, a) == 0.0
    a, b = rng.normal(size=60), rng.normal(size=60)
    assert qrs.dtw_distance(a, b, window=5) == pytest.approx(dtw.distance(a, b, window=5),
                                                             abs=1e-12)


def test_dtw_duration_penalty():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=70), rng.normal(size=70)
    plain = qrs.dtw_distance(a, b)
    assert qrs.dtw_distance(a, b, penalty=0.3, durations=(90.0, 90.0)) == plain
    values = [qrs.dtw_distance(a, b, penalty=0.3, durations=(90.0, 90.0 + k))
              for k in (0.0, 1.0, 5.0, 20.0, 60.0)]
    assert np.all(np.diff(values) > 0)
    assert values[2] - plain == pytest.approx(0.3 * 5.0)
    assert qrs.dtw_distance(a, b, penalty=0.3, durations=(95.0, 90.0)) == values[2]
    with pytest.raises(ValueError, match="durations"):
        qrs.dtw_distance(a, b, penalty=0.3)
    with pytest.raises(ValueError, match="penalty"):
        qrs.dtw_distance(a, b, penalty=-1.0, durations=(1.0, 2.0))


def test_dtw_leads_and_summary():
    _, a = synthetic(dt=1.0, onset=30.0, duration=90.0)
    _, shifted = synthetic(dt=1.0, onset=40.0, duration=90.0)
    _, longer = synthetic(dt=1.0, onset=30.0, duration=110.0)
    raw = qrs.dtw_leads(a, longer, normalise=None)
    np.testing.assert_allclose(raw, [dtw.distance(a[k], longer[k]) for k in range(8)],
                               atol=1e-12)
    scale = np.abs(a).max()
    np.testing.assert_allclose(qrs.dtw_leads(2 * a, 2 * longer),
                               [dtw.distance(2 * a[k] / (2 * scale), 2 * longer[k] / (2 * scale))
                                for k in range(8)], atol=1e-12)
    assert np.all(qrs.dtw_leads(a, a) == 0)
    np.testing.assert_allclose(qrs.dtw_leads(a, longer), qrs.dtw_leads(longer, a, normalise=
                                                                      "each"), atol=1e-12)
    # equal durations (a time shift): no penalty; a longer QRS: penalty ~ 20 ms
    np.testing.assert_allclose(qrs.dtw_leads(a, shifted, 1.0, penalty=0.1),
                               qrs.dtw_leads(a, shifted), atol=1e-9)
    extra = qrs.dtw_leads(a, longer, 1.0, penalty=0.1) - qrs.dtw_leads(a, longer)
    np.testing.assert_allclose(extra, extra[0])
    assert extra[0] == pytest.approx(0.1 * 20.0, abs=0.1 * 2.0)
    s = qrs.dtw_summary(a, longer)
    d = qrs.dtw_leads(a, longer)
    assert s["max"] == d.max() and s["mean"] == pytest.approx(d.mean())
    assert list(s["per_lead"]) == list(LEADS)


# ------------------------------------------------------------------ criteria table


def test_criteria_table_rows_and_columns():
    _, normal = synthetic()
    _, frag = synthetic(leads={"V5": rsr(30.0), "V6": rsr(30.0)})
    deep = lambda t: single(t, -0.4, 45.0, onset=30.0)  # noqa: E731
    _, qwave = synthetic(leads={"V5": deep, "V6": deep})
    _, flat = synthetic(amps=precordial([0.3, 0.3, 0.3, 0.3, 1.0, 0.9]))
    signals = {"normal": normal, "frag": frag, "q": qwave, "flat": flat}
    tab = qrs.criteria_table(signals, 1.0, reference=normal, penalty=0.01)
    assert list(tab.index) == list(signals)
    for col in ["qrs_duration_ms", "q_V5", "q_aVL", "q_contiguous", "r_V3", "prwp", "fqrs",
                "notches_V5", "dtw_V1", "dtw_max", "dtw_mean"]:
        assert col in tab.columns
    assert tab["fqrs"].tolist() == [False, True, False, False]
    assert tab["q_contiguous"].tolist() == [False, False, True, False]
    assert tab["prwp"].tolist() == [False, False, False, True]
    assert tab.at["normal", "dtw_max"] == 0.0 and tab.at["frag", "dtw_max"] > 0
    # the Q-wave leads span 30 + 45 + 40 + 20 ms: the QRS ends 15 ms later
    np.testing.assert_allclose(tab["qrs_duration_ms"], [90.0, 90.0, 105.0, 90.0], atol=2.0)
    # the same from an (n, 8, T) array, without DTW
    arr = qrs.criteria_table(np.stack(list(signals.values())), 1.0)
    assert arr["fqrs"].tolist() == tab["fqrs"].tolist() and "dtw_max" not in arr.columns


def test_criteria_table_from_dataarray_with_baseline_reference():
    xr = pytest.importorskip("xarray")
    _, normal = synthetic(dt=0.5)
    _, frag = synthetic(dt=0.5, leads={"V2": rsr(30.0), "V3": rsr(30.0)})
    data = np.stack([np.stack([normal, frag]), np.stack([0.5 * normal, 0.5 * frag])])
    da = xr.DataArray(data, dims=("subject", "scenario", "lead", "time"),
                      coords={"subject": ["S1", "S2"], "scenario": ["baseline", "scar"],
                              "lead": list(LEADS)})
    tab = qrs.criteria_table(da, 0.5, reference={"scenario": "baseline"})
    assert tab.index.names == ["subject", "scenario"]
    assert tab.loc[("S1", "baseline"), "dtw_max"] == 0.0
    assert tab.loc[("S2", "baseline"), "dtw_max"] == 0.0
    # normalised by each subject's baseline: the two subjects give the same DTW
    assert tab.loc[("S2", "scar"), "dtw_mean"] == pytest.approx(
        tab.loc[("S1", "scar"), "dtw_mean"])
    assert tab.xs("scar", level="scenario")["fqrs"].all()
    assert not tab.xs("baseline", level="scenario")["fqrs"].any()
    assert isinstance(tab, pd.DataFrame)


def test_thresholds_defaults_are_exposed():
    d = qrs.DEFAULTS.to_dict()
    assert d["q_depth_ratio"] == 0.25 and d["q_width_ms"] == 40.0
    assert d["onset_threshold"] == 0.05 and d["r_v3_min"] == 0.15
    with pytest.raises(ValueError, match="q_combine"):
        qrs.q_wave(np.arange(50.0), 1.0, thresholds=qrs.Thresholds(q_combine="xor"))


def test_dtw_matrix_equals_pairwise_distances():
    from mi_lib.twin.qrs import dtw_distance, dtw_matrix

    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(size=(4, 8, 60)), axis=2)
    dur = np.array([80.0, 95.0, 80.0, 120.0])
    m = dtw_matrix(x, dur, penalty=0.05, scale=2.0)
    assert m.shape == (4, 4, 8)
    assert np.allclose(m, m.transpose(1, 0, 2)) and np.all(np.diagonal(m, axis1=0, axis2=1) == 0)
    for i in range(4):
        for j in range(4):
            if i == j:
                continue
            for k in (0, 5):
                ref = dtw_distance(x[i, k] / 2.0, x[j, k] / 2.0, penalty=0.05,
                                   durations=(dur[i], dur[j]))
                assert abs(m[i, j, k] - ref) < 1e-9
    assert np.allclose(m[0, 2], dtw_matrix(x, dur, penalty=0.0, scale=2.0)[0, 2])  # equal durations


def test_cohort_helpers_compare_each_subject_with_its_own_baseline():
    import pandas as pd
    import xarray as xr

    from mi_lib.twin.qrs import dtw_matrix, new_signs, scenario_dtw

    rng = np.random.default_rng(2)
    x = np.cumsum(rng.normal(size=(2, 3, 8, 40)), axis=3)
    da = xr.DataArray(x, dims=("subject", "scenario", "lead", "time"),
                      coords={"subject": ["a", "b"], "scenario": ["baseline", "s1", "s2"],
                              "time": np.arange(40) * 0.5})
    dur = pd.DataFrame([[80.0, 90.0, 85.0], [70.0, 70.0, 100.0]], index=["a", "b"],
                       columns=["baseline", "s1", "s2"])
    pair = scenario_dtw(da, dur, penalty=0.1, t_end=10.0)
    ref = dtw_matrix(x[1][:, :, :21], dur.loc["b"].values, penalty=0.1,
                     scale=np.abs(x[1, 0, :, :21]).max())  # the scale of the cut signals
    assert pair.shape == (2, 3, 3, 8) and np.allclose(pair[1], ref)
    idx = pd.MultiIndex.from_product([["a", "b"], ["baseline", "s1"]],
                                     names=["subject", "scenario"])
    table = pd.DataFrame({"q_V2": [True, True, False, True], "q_ratio_V2": 0.0,
                          "notches_V2": [1, 1, 0, 2]}, index=idx)
    new = new_signs(table)
    assert new["q"]["V2"].tolist() == [False, False, False, True]
    assert new["notch"]["V2"].tolist() == [False, False, False, True]


def test_prevalence_and_duration_summary_by_hand():
    idx = pd.MultiIndex.from_product([["a", "b"], ["baseline", "s1"]],
                                     names=["subject", "scenario"])
    table = pd.DataFrame({"qrs_duration_ms": [90.0, 125.0, 80.0, 89.0],
                          "q_contiguous": [0, 1, 0, 0], "prwp": [1, 1, 0, 1],
                          "fqrs": [0, 0, 0, 1], "q_V2": [True, True, False, True],
                          "q_ratio_V2": 0.0, "notches_V2": [1, 1, 0, 2]}, index=idx)
    p = qrs.prevalence(table, qrs.Thresholds(wide_qrs_ms=100.0))
    assert list(p.index) == ["baseline", "s1"]
    assert p.loc["s1"].tolist() == [0.5, 0.5, 0.5, 0.5, 1.0, 0.5, 0.5]
    assert p.loc["baseline"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0]
    assert p.columns[0] == "QRS >= 100 ms"  # the thresholds' value, not a constant
    assert qrs.prevalence(table).columns[0] == "QRS >= 120 ms"
    d = qrs.duration_summary(table)
    assert d.loc["s1", "QRS mean (ms)"] == 107.0 and d.loc["s1", "QRS sd (ms)"] == 18.0
    assert d.loc["baseline", "paper (ms)"] == 90.4 and np.isnan(d.loc["s1", "paper (ms)"])


def test_healthy_qrs_by_source():
    import xarray as xr

    dt = 1.0
    sig = [synthetic(dt=dt, duration=d, total=200.0)[1] for d in (90.0, 80.0, 100.0)]
    x = np.stack(sig)[:, None]  # (subject, scenario, lead, time)
    ds = xr.Dataset({"qrs": (("subject", "scenario", "lead", "time"), x),
                     "source": (("subject",), ["/d/heart_a", "/d/heart_b", "/d/heart_a"]),
                     "shape_modes": (("subject", "mode"), [[0.0, 0.0], [0.0, 0.0], [0.1, 0.0]])},
                    coords={"scenario": ["baseline"], "time": np.arange(x.shape[-1]) * dt})
    t = qrs.healthy_qrs_by_source(ds)
    own = [qrs.qrs_duration(s, dt) for s in sig]
    assert list(t.index) == ["heart_a", "heart_b"] and t["subjects"].tolist() == [2, 1]
    assert t.loc["heart_a", "mesh (ms)"] == own[0] and t.loc["heart_b", "mesh (ms)"] == own[1]
    assert np.isclose(t.loc["heart_a", "cohort mean (ms)"], (own[0] + own[2]) / 2)
    assert t.loc["heart_a", "max"] == max(own[0], own[2])


def _sensitivity_table():
    """Two subjects x (baseline, lateral_transmural, apical_subendocardial) with
    hand-set DTW, Q-wave and R columns."""
    idx = pd.MultiIndex.from_product(
        [["a", "b"], ["baseline", "lateral_transmural", "apical_subendocardial"]],
        names=["subject", "scenario"])
    cols = {f"dtw_{lead}": 0.0 for lead in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")}
    table = pd.DataFrame(cols, index=idx)
    table.loc[(slice(None), "lateral_transmural"), "dtw_V6"] = [3.0, 5.0]
    table.loc[(slice(None), "lateral_transmural"), "dtw_I"] = [2.0, 2.0]
    table.loc[(slice(None), "lateral_transmural"), "dtw_V5"] = [1.0, 0.0]
    table.loc[(slice(None), "apical_subendocardial"), "dtw_V3"] = [1.0, 2.0]
    table["q_ratio_V6"] = 0.0
    table["q_V6"] = [False, True, False, False, True, False]   # new in both subjects
    table["q_I"] = [False, True, False, False, False, False]   # new in one subject of two
    for lead in ("V1", "V2", "V3", "V4", "V5", "V6"):
        table[f"r_{lead}"] = 1.0
    table.loc[(slice(None), "lateral_transmural"), "r_V5"] = [0.6, 0.8]  # mean loss 0.3
    table.loc[(slice(None), "lateral_transmural"), "r_V4"] = [0.9, 0.9]  # loss 0.1
    table["notches_V6"] = 0
    table["qrs_duration_ms"] = [90.0, 110.0, 95.0, 92.0, 120.0, 91.0]
    return table


def test_dtw_to_baseline_means_and_order():
    mean, sd = qrs.dtw_to_baseline(_sensitivity_table())
    assert list(mean.index) == ["lateral_transmural", "apical_subendocardial"]
    assert mean.loc["lateral_transmural", "V6"] == 4.0 and sd.loc["lateral_transmural", "V6"] == 1.0
    assert mean.loc["apical_subendocardial", "V3"] == 1.5
    with pytest.raises(ValueError, match="dtw_"):
        qrs.dtw_to_baseline(_sensitivity_table().drop(columns=[c for c in
                            _sensitivity_table().columns if c.startswith("dtw_")]))


def test_leads_per_location_by_hand():
    t = qrs.leads_per_location(_sensitivity_table())
    assert list(t.index) == ["lateral_transmural"]  # only the transmural scenarios
    row = t.loc["lateral_transmural"]
    assert row["location"] == "lateral"
    assert row["largest DTW"] == "V6, I, V5"
    assert row["new Q waves"] == "V6, I"  # table order; I in 1 of 2 subjects meets q_share = 0.5
    assert row["R loss"] == "V5"
    assert qrs.leads_per_location(_sensitivity_table(), q_share=0.75).loc[
        "lateral_transmural", "new Q waves"] == "V6"


def test_closest_pairs_and_durations_by_reading():
    pair = np.zeros((2, 3, 3, 2))
    pair[:, 0, 1] = pair[:, 1, 0] = [[1.0, 3.0], [1.0, 1.0]]  # max over leads: 3, 1 -> 2
    pair[:, 0, 2] = pair[:, 2, 0] = 5.0
    pair[:, 1, 2] = pair[:, 2, 1] = 0.5
    t = qrs.closest_pairs(pair, ["x", "y", "z"], n=2)
    assert t.values.tolist() == [["y", "z", 0.5], ["x", "y", 2.0]]
    with pytest.raises(ValueError, match="2 named"):
        qrs.closest_pairs(pair, ["x", "y"])
    table = _sensitivity_table()
    d = qrs.durations_by_reading({"silent": table, "slow": table.assign(
        qrs_duration_ms=table["qrs_duration_ms"] + 10.0)})
    assert d.loc["lateral_transmural", "QRS mean, silent (ms)"] == 115.0
    assert d.loc["lateral_transmural", "QRS mean, slow (ms)"] == 125.0
    assert d.loc["baseline", "paper (ms)"] == qrs.PAPER_QRS_MS["baseline"]
