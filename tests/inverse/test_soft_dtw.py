"""Soft-DTW in torch: tslearn's values and alignments, exact DTW as gamma -> 0, time not leads."""

import numpy as np
import pytest
import torch

from mi_lib.inverse import soft_dtw, soft_dtw_divergence

tslearn_metrics = pytest.importorskip("tslearn.metrics")

GAMMAS = (0.01, 0.1, 1.0, 10.0)


def _pair(batch=3, leads=8, t1=13, t2=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, leads, t1, generator=g, dtype=torch.float64)
    y = torch.randn(batch, leads, t2, generator=g, dtype=torch.float64)
    return x, y


def _dtw_sq_euclidean(a, b):
    """Exact DTW of (T1, L) and (T2, L) arrays with the squared Euclidean cost, brute force."""
    n1, n2 = len(a), len(b)
    R = np.full((n1 + 1, n2 + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n1 + 1):
        for j in range(1, n2 + 1):
            cost = float(((a[i - 1] - b[j - 1]) ** 2).sum())
            R[i, j] = cost + min(R[i - 1, j - 1], R[i - 1, j], R[i, j - 1])
    return R[n1, n2]


@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("t1,t2", [(13, 9), (7, 21), (1, 5), (6, 1), (10, 10)])
def test_value_matches_tslearn(gamma, t1, t2):
    x, y = _pair(t1=t1, t2=t2, seed=t1 * 31 + t2)
    got = soft_dtw(x, y, gamma).numpy()
    want = [tslearn_metrics.soft_dtw(x[b].T.numpy(), y[b].T.numpy(), gamma=gamma)
            for b in range(x.shape[0])]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_gradient_matches_tslearn_alignment(gamma):
    x, y = _pair(t1=12, t2=8, seed=3)
    x.requires_grad_(True)
    y.requires_grad_(True)
    w = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)   # weights check grad_output
    (soft_dtw(x, y, gamma) * w).sum().backward()
    for b in range(x.shape[0]):
        X, Y = x[b].detach().T.numpy(), y[b].detach().T.numpy()
        E, _ = tslearn_metrics.soft_dtw_alignment(X, Y, gamma=gamma)
        gx = 2.0 * (E.sum(1)[:, None] * X - E @ Y)     # 2 sum_j E_ij (x_i - y_j)
        gy = 2.0 * (E.sum(0)[:, None] * Y - E.T @ X)   # 2 sum_i E_ij (y_j - x_i)
        np.testing.assert_allclose(x.grad[b].numpy(), w[b].item() * gx.T, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(y.grad[b].numpy(), w[b].item() * gy.T, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("func", [soft_dtw, soft_dtw_divergence])
def test_gradcheck_and_finite_differences(func):
    x, y = _pair(batch=2, leads=3, t1=6, t2=5, seed=4)
    x.requires_grad_(True)
    y.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: func(a, b, 0.3), (x, y))
    # Central differences on a few entries of x, by hand.
    x.grad = None
    func(x, y, 0.3).sum().backward()
    h = 1e-6
    for idx in [(0, 0, 0), (1, 2, 3), (0, 1, 5)]:
        xp, xm = x.detach().clone(), x.detach().clone()
        xp[idx] += h
        xm[idx] -= h
        fd = (func(xp, y.detach(), 0.3).sum() - func(xm, y.detach(), 0.3).sum()) / (2 * h)
        assert x.grad[idx].item() == pytest.approx(fd.item(), rel=1e-6, abs=1e-8)


def test_small_gamma_tends_to_exact_dtw():
    x, y = _pair(batch=2, leads=8, t1=10, t2=14, seed=5)
    exact = np.array([_dtw_sq_euclidean(x[b].T.numpy(), y[b].T.numpy()) for b in range(2)])
    gammas = (1.0, 0.1, 1e-3, 1e-5)
    errors = [np.abs(soft_dtw(x, y, g).numpy() - exact).max() for g in gammas]
    assert errors[0] > errors[1] > 0
    # 0 <= min - softmin <= gamma log 3 per cell of the path (at most T1 + T2 - 1 cells).
    for g, err in zip(gammas, errors, strict=True):
        assert err <= g * np.log(3) * (10 + 14 - 1) + 1e-9
    assert errors[-1] < 1e-9
    assert (soft_dtw(x, y, 1e-2).numpy() <= exact + 1e-12).all()


def test_divergence_zero_positive_symmetric():
    x, y = _pair(t1=11, t2=11, seed=6)
    for gamma in GAMMAS:
        same = soft_dtw_divergence(x, x.clone(), gamma)
        np.testing.assert_allclose(same.numpy(), 0.0, atol=1e-9)
        xy = soft_dtw_divergence(x, y, gamma)
        assert (xy > 0).all()
        np.testing.assert_allclose(xy.numpy(), soft_dtw_divergence(y, x, gamma).numpy(),
                                   rtol=1e-12, atol=1e-12)
    x2, y2 = _pair(t1=9, t2=15, seed=7)   # different lengths too
    assert (soft_dtw_divergence(x2, y2, 0.1) > 0).all()


def test_aligns_time_not_leads():
    t = torch.linspace(0.0, 1.0, 120, dtype=torch.float64)
    leads = torch.stack([torch.exp(-((t - 0.3 - 0.04 * k) / 0.05) ** 2) * (k - 3.5)
                         for k in range(8)])[None]                     # (1, 8, 120)
    delayed = torch.roll(leads, shifts=6, dims=2)                      # 6 samples later
    euclid = ((leads - delayed) ** 2).sum().item()
    gamma = 0.01
    assert soft_dtw_divergence(leads, delayed, gamma).item() < 0.05 * euclid
    assert soft_dtw(leads, delayed, gamma).item() < 0.05 * euclid
    permuted = leads[:, torch.randperm(8, generator=torch.Generator().manual_seed(0))]
    assert soft_dtw_divergence(leads, permuted, gamma).item() > 10 * \
        soft_dtw_divergence(leads, delayed, gamma).item()
    assert not torch.allclose(soft_dtw(leads, permuted, gamma), soft_dtw(leads, leads, gamma))


def test_batch_independence():
    x, y = _pair(batch=4, t1=10, t2=12, seed=8)
    full = soft_dtw(x, y, 0.5)
    for b in range(4):
        alone = soft_dtw(x[b:b + 1], y[b:b + 1], 0.5)
        torch.testing.assert_close(full[b:b + 1], alone, rtol=1e-12, atol=1e-12)
    other = x.clone()
    other[1:] = torch.randn_like(other[1:]) * 5
    torch.testing.assert_close(soft_dtw(other, y, 0.5)[0], full[0], rtol=1e-12, atol=1e-12)
    # Gradient of sample 0 is blind to the other samples.
    xg = x.clone().requires_grad_(True)
    soft_dtw(xg, y, 0.5)[0].backward()
    assert torch.all(xg.grad[1:] == 0)


def test_float32_and_loss_use():
    x, y = _pair(batch=2, t1=32, t2=40, seed=9)
    x32 = x.float().requires_grad_(True)
    loss = soft_dtw_divergence(x32, y.float(), 0.1).mean()
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(x32.grad).all()
    np.testing.assert_allclose(soft_dtw(x.float(), y.float(), 0.1).numpy(),
                               soft_dtw(x, y, 0.1).numpy(), rtol=1e-4)


@pytest.mark.parametrize("gamma", [0, -1.0, float("nan"), float("inf"), True, "1"])
def test_gamma_is_validated(gamma):
    x, y = _pair()
    with pytest.raises(ValueError, match="gamma"):
        soft_dtw(x, y, gamma)
    with pytest.raises(ValueError, match="gamma"):
        soft_dtw_divergence(x, y, gamma)


def test_shapes_are_validated():
    x, y = _pair()
    with pytest.raises(ValueError, match="batch size"):
        soft_dtw(x, y[:2])
    with pytest.raises(ValueError, match="leads"):
        soft_dtw(x, y[:, :7])
    with pytest.raises(ValueError, match=r"\(batch, leads, T\)"):
        soft_dtw(x[0], y[0])
    with pytest.raises(ValueError, match="dtype"):
        soft_dtw(x, y.float())
    with pytest.raises(ValueError, match="no time steps"):
        soft_dtw(x, y[:, :, :0])
    with pytest.raises(TypeError):
        soft_dtw(x.numpy(), y)
