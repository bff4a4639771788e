"""Pseudo-ECG on a tetrahedral mesh (mi_lib.twin.ecg): stiffness matrix, lead fields,
fast histogram/convolution path, planar-wave sign and magnitude, leads."""

import numpy as np
import pytest

from mi_lib.twin import anatomy, ecg, fem


def box_mesh(cells, size, origin=(0.0, 0.0, 0.0)):
    """Kuhn tetrahedral mesh of a box of ``cells`` cubes per axis spanning ``size`` mm."""
    return anatomy.box_mesh(np.add(cells, 1), np.divide(size, cells), origin)


def pseudo_ecg_direct(at, w, t, upstroke_width, *, v_rest, v_plateau):
    """Reference pseudo-ECG ``phi_e(t) = w_e . Vm(t)``, forming ``Vm`` (T, n) explicitly."""
    vm = ecg.transmembrane(at, t, upstroke_width, v_rest=v_rest, v_plateau=v_plateau)
    return np.atleast_2d(w) @ vm.T


@pytest.fixture(scope="module")
def jittered_cube():
    """3 x 3 x 3 cubes of 1 mm, interior nodes moved by up to 0.15 mm (64 nodes)."""
    points, tets = box_mesh((3, 3, 3), (3.0, 3.0, 3.0))
    rng = np.random.default_rng(7)
    interior = np.all((points > 1e-9) & (points < 3.0 - 1e-9), axis=1)
    points = points.copy()
    points[interior] += rng.uniform(-0.15, 0.15, (interior.sum(), 3))
    return points, tets, interior


@pytest.fixture(scope="module")
def slab():
    """20 x 10 x 10 mm slab, 0.5 mm grid (18081 nodes, 96000 tets), and its stiffness."""
    points, tets = box_mesh((40, 20, 20), (20.0, 10.0, 10.0))
    return points, tets, fem.stiffness_matrix(points, tets)


# ----------------------------------------------------------------- stiffness


def test_reference_tet_stiffness_by_hand():
    # unit right tet: V = 1/6, grad N0 = (-1,-1,-1), grad Ni = e_i
    points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    k = fem.stiffness_matrix(points, np.array([[0, 1, 2, 3]])).toarray()
    expected = np.array([[3, -1, -1, -1], [-1, 1, 0, 0], [-1, 0, 1, 0], [-1, 0, 0, 1]]) / 6
    np.testing.assert_allclose(k, expected, atol=1e-15)
    assert fem.tet_volumes(points, np.array([[0, 1, 2, 3]]))[0] == pytest.approx(1 / 6)


def test_stiffness_properties(jittered_cube):
    points, tets, _ = jittered_cube
    k = fem.stiffness_matrix(points, tets)
    assert k.shape == (64, 64)
    kd = k.toarray()
    scale = np.abs(kd).max()
    np.testing.assert_allclose(kd, kd.T, atol=1e-14 * scale)              # symmetric
    np.testing.assert_allclose(kd.sum(axis=1), 0.0, atol=1e-13 * scale)    # K 1 = 0
    eig = np.linalg.eigvalsh(kd)
    assert eig[0] > -1e-12 * scale                                         # PSD
    assert eig[1] > 1e-3 * scale                                           # connected: 1-D kernel


def test_patch_test_linear_field(jittered_cube):
    points, tets, interior = jittered_cube
    k = fem.stiffness_matrix(points, tets)
    a = np.array([0.3, -1.2, 0.7])
    u = points @ a + 2.5
    ku = k @ u
    # interior rows: the P1 Galerkin Laplacian of a linear field vanishes exactly
    np.testing.assert_allclose(ku[interior], 0.0, atol=1e-12)
    # energy: u^T K u = |a|^2 * volume (27 mm^3; the boundary nodes did not move)
    assert u @ ku == pytest.approx(a @ a * 27.0, rel=1e-12)
    assert fem.tet_volumes(points, tets).sum() == pytest.approx(27.0, rel=1e-12)


def test_inverted_and_degenerate_tets_raise():
    points, tets = box_mesh((1, 1, 1), (1.0, 1.0, 1.0))
    bad = tets.copy()
    bad[[0, 3], 2], bad[[0, 3], 3] = tets[[0, 3], 3], tets[[0, 3], 2]
    with pytest.raises(ValueError, match=r"2 of 6 tetrahedra are inverted.*reorient"):
        fem.stiffness_matrix(points, bad)
    # absolute volumes, or reorienting, give the same matrix
    k = fem.stiffness_matrix(points, tets).toarray()
    np.testing.assert_allclose(fem.stiffness_matrix(points, bad, allow_inverted=True).toarray(),
                               k, atol=1e-15)
    np.testing.assert_array_equal(fem.reorient_tets(points, bad), tets)
    flat = np.vstack([tets, [[0, 1, 2, 2]]])
    with pytest.raises(ValueError, match="degenerate"):
        fem.stiffness_matrix(points, flat)


# --------------------------------------------------------------- lead fields


def test_lead_fields_sum_to_zero_and_rest_offset_irrelevant(slab):
    points, tets, k = slab
    w = ecg.lead_fields(points, tets, [[200.0, 5, 5], [30.0, -40, 7]], stiffness=k)
    assert w.shape == (2, len(points))
    # K 1 = 0: zero up to the round-off of an n-term sum (n eps sum|w|)
    roundoff = len(points) * np.finfo(float).eps * np.abs(w).sum(axis=1).max()
    np.testing.assert_allclose(w.sum(axis=1), 0.0, atol=roundoff)
    # same result when K is assembled inside
    w1 = ecg.lead_fields(points, tets, [200.0, 5, 5])
    np.testing.assert_allclose(w1[0], w[0], rtol=0, atol=1e-15 * np.abs(w).max())


def test_electrode_on_node_raises(slab):
    points, tets, k = slab
    with pytest.raises(ValueError, match=r"electrode 1 .* from node 40 .*outside the tissue"):
        ecg.lead_fields(points, tets, [[200.0, 5, 5], points[40] + 1e-5], stiffness=k)


# ------------------------------------------------------------ planar wave


V = 0.5  # mm/ms
AREA = 100.0  # mm^2, the slab's cross-section


def _dipole(x_e, t):
    """Far-field closed form: phi = dV A (x_e - x_f) / |x_e - x_f|^3, x_f = v t (dV = 1)."""
    d = x_e - V * t
    return AREA * d / np.abs(d) ** 3


@pytest.mark.parametrize("x_e", [200.0, -180.0, 1000.0])
def test_planar_wave_sign_shape_and_magnitude(slab, x_e):
    points, tets, k = slab
    w = ecg.lead_fields(points, tets, [x_e, 5.0, 5.0], stiffness=k)
    at = points[:, 0] / V                                   # front crosses in 40 ms
    t = np.arange(-15.0, 60.0, 0.5)
    phi = ecg.pseudo_ecg(at, w, t, upstroke_width=1.0)[0]
    peak = np.abs(phi).max()

    middle = (t >= 5) & (t <= 35)                           # front inside, away from faces
    sign = np.sign(x_e)                                     # approaching (+x) -> positive
    assert np.all(sign * phi[middle] > 0)
    # magnitude: within 5 % of the dipole closed form (measured: 0.07 % at 200 mm)
    np.testing.assert_allclose(phi[middle], _dipole(x_e, t[middle]), rtol=0.05)
    # zero before the front enters and after it has left (upstroke settled, 8 widths)
    assert np.abs(phi[t <= -8]).max() < 1e-3 * peak
    assert np.abs(phi[t >= 48]).max() < 1e-3 * peak
    if x_e == 1000.0:
        # far electrode: a plateau, relative variation < 5 % in the middle half (~2 %)
        flat = phi[(t >= 10) & (t <= 30)]
        assert np.ptp(flat) / np.abs(flat).mean() < 0.05


def test_planar_wave_mv_units_same_shape(slab):
    points, tets, k = slab
    w = ecg.lead_fields(points, tets, [200.0, 5.0, 5.0], stiffness=k)
    at = points[:, 0] / V
    t = np.arange(-5.0, 50.0, 1.0)
    phi01 = ecg.pseudo_ecg(at, w, t)
    phimv = ecg.pseudo_ecg(at, w, t, v_rest=-85.0, v_plateau=15.0)
    np.testing.assert_allclose(phimv, 100.0 * phi01, rtol=0, atol=1e-9 * np.abs(phimv).max())


# ------------------------------------------------------------------ fast path


@pytest.mark.parametrize("t0, dt, oversample", [(-5.0, 1.0, 10), (0.37, 0.5, 4),
                                                (2.0, 1.0, 3)])
def test_fast_path_equals_direct(slab, t0, dt, oversample):
    points, tets, k = slab
    rng = np.random.default_rng(3)
    w = ecg.lead_fields(points, tets, [[200.0, 5, 5], [10, 80, -60], [-50, -50, 50]],
                        stiffness=k)
    at = rng.uniform(0.0, 50.0, len(points))
    at[:200] = -30.0                         # activated long before the window
    at[200:400] = np.inf                     # never activated
    at[400:500] = 200.0                      # after the window
    t = t0 + dt * np.arange(int(70 / dt))
    fast = ecg.pseudo_ecg(at, w, t, upstroke_width=1.5, v_rest=-85, v_plateau=15,
                          oversample=oversample)
    direct = pseudo_ecg_direct(at, w, t, upstroke_width=1.5, v_rest=-85, v_plateau=15)
    assert fast.shape == direct.shape == (3, len(t))
    # tolerance 1e-3 of the peak; measured 7e-7 (dt / 10), 2e-6 (0.5 ms / 4), 8e-5 (1 ms / 3);
    # (oversample = 1 gives 4.5e-3; binning without the cubic splitting fails all three)
    assert np.abs(fast - direct).max() < 1e-3 * np.abs(direct).max()


def test_fast_path_rejects_bad_time_axis():
    w = np.ones((1, 3))
    with pytest.raises(ValueError, match="uniformly spaced"):
        ecg.pseudo_ecg(np.zeros(3), w, np.array([0.0, 1.0, 3.0]))
    with pytest.raises(ValueError, match="NaN"):
        ecg.pseudo_ecg(np.array([0.0, np.nan, 1.0]), w, np.arange(5.0))


def test_transmembrane_upstroke():
    t = np.array([-10.0, 0.0, 2.0, 10.0])
    vm = ecg.transmembrane(np.array([0.0, 2.0]), t, 1.0, v_rest=-85, v_plateau=15)
    assert vm.shape == (4, 2)
    np.testing.assert_allclose(vm[[0, 1, 2, 3], [0, 0, 1, 0]], [-85, -35, -35, 15], atol=1e-9)
    # max slope 1 / width of the normalised upstroke, at tau = 0
    eps = 1e-6
    slope = (ecg.upstroke(eps, 2.0) - ecg.upstroke(-eps, 2.0)) / (2 * eps)
    assert slope == pytest.approx(0.5, rel=1e-6)


# ----------------------------------------------------------------------- leads


def test_leads_by_hand_and_einthoven():
    rng = np.random.default_rng(5)
    names = ["V3", "RA", "LL", "RL", "V1", "LA", "V2", "V6", "V4", "V5"]
    phi = rng.normal(size=(10, 30))
    sig = dict(zip(names, phi, strict=True))
    leads = ecg.leads_from_electrodes(phi, names)
    assert leads.shape == (8, 30) and ecg.LEADS == ("I", "II", "V1", "V2", "V3", "V4",
                                                    "V5", "V6")
    ra, la, ll = sig["RA"], sig["LA"], sig["LL"]
    wct = (ra + la + ll) / 3
    np.testing.assert_allclose(leads[0], la - ra, atol=1e-14)
    np.testing.assert_allclose(leads[1], ll - ra, atol=1e-14)
    for i in range(1, 7):
        np.testing.assert_allclose(leads[1 + i], sig[f"V{i}"] - wct, atol=1e-14)
    # Einthoven: III = LL - LA = II - I
    np.testing.assert_allclose(ll - la, leads[1] - leads[0], atol=1e-14)
    # dict input (case-insensitive) gives the same, RL changes nothing
    sig2 = {k.lower(): v for k, v in sig.items()}
    sig2["rl"] = sig2["rl"] + 100.0
    np.testing.assert_allclose(ecg.leads_from_electrodes(sig2), leads, atol=0)
    with pytest.raises(ValueError, match="missing electrodes.*LA"):
        ecg.leads_from_electrodes({k: v for k, v in sig.items() if k != "LA"})


def test_hand_values_leads():
    sig = {"RA": [1.0], "LA": [2.0], "LL": [6.0], **{f"V{i}": [float(i)] for i in range(1, 7)}}
    leads = ecg.leads_from_electrodes(sig)[:, 0]
    np.testing.assert_allclose(leads, [1.0, 5.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0])


def test_resample_and_normalise():
    x = np.vstack([np.linspace(0.0, 3.0, 31), -2.0 * np.linspace(0.0, 3.0, 31) ** 1])
    r = ecg.resample_fixed(x, n=512)
    assert r.shape == (2, 512)
    np.testing.assert_allclose(r[0], np.linspace(0.0, 3.0, 512), atol=1e-12)   # linear exact
    np.testing.assert_allclose(r[:, [0, -1]], x[:, [0, -1]], atol=0)
    assert ecg.resample_fixed(x[0], n=7).shape == (7,)
    y = ecg.normalise(x)
    assert np.abs(y).max() == pytest.approx(1.0)
    np.testing.assert_allclose(y, x / 6.0)          # one common scale keeps lead ratios
    np.testing.assert_array_equal(ecg.normalise(np.zeros((2, 3))), 0.0)
