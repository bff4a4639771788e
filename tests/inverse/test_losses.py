"""The losses of Eqs. 4-11, each guarding one defect of the authors' published code."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mi_lib.inverse import losses as L
from mi_lib.inverse.losses import LossWeights


def _cloud(n, seed=0, b=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, n, 3, generator=g, dtype=torch.float64)


def test_chamfer_matches_brute_force_and_reduces_over_points_per_sample():
    a, b = _cloud(7, 0, 2), _cloud(9, 1, 2)
    d = np.asarray(L.chamfer(a, b))
    for s in range(2):
        dd = ((a[s, :, None] - b[s, None]) ** 2).sum(-1).numpy()
        assert d[s] == pytest.approx(dd.min(1).mean() + dd.min(0).mean(), rel=1e-12)
    # points match within their own sample: swapping the samples of the prediction
    # leaves each matched to the other cloud, so it no longer scores 0
    assert float(L.chamfer(b, b).max()) == 0.0
    assert float(L.chamfer(b.flip(0), b).min()) > 0.01
    # a batch of copies scores what one copy scores (a mean over points, not a sum)
    one = L.chamfer(a[:1], b[:1])
    assert L.chamfer(a[:1].expand(3, -1, -1), b[:1].expand(3, -1, -1)) == pytest.approx(
        one.expand(3))
    dense = a[:1].repeat_interleave(4, dim=1)  # every point four times: same mean
    assert float(L.chamfer(dense, b[:1])) == pytest.approx(float(one), rel=1e-12)


def test_chamfer_gradient_is_that_of_the_matched_distances():
    a = _cloud(6, 2).requires_grad_()
    b = _cloud(5, 3)
    L.chamfer(a, b).sum().backward()
    ref = a.detach().clone().requires_grad_()
    d2 = ((ref[0, :, None] - b[0, None]) ** 2).sum(-1)
    (d2.min(1).values.mean() + d2.min(0).values.mean()).backward()
    assert torch.allclose(a.grad, ref.grad, atol=1e-12)


def test_kl_closed_form_summed_over_dimensions_and_mean_per_sample():
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.tensor([[0.0, np.log(2.0)], [0.0, 0.0]])
    kl = L.kl_divergence(mu, logvar)
    # KL(N(m, s2) || N(0, 1)) = (s2 + m^2 - 1 - log s2) / 2 per dimension
    assert kl[0] == pytest.approx(0.5 * (1 + 1 - 1 - 0) + 0.5 * (2 - 1 - np.log(2)))
    assert kl[1] == 0.0


def test_dice_loss_is_a_mean_over_samples_not_a_pooled_ratio():
    labels = torch.tensor([[2, 2, 0, 0], [2, 0, 0, 0]])
    perfect = F.one_hot(labels, 3).double()
    wrong = perfect.clone()
    wrong[1] = F.one_hot(torch.tensor([0, 2, 2, 2]), 3).double()
    d = L.dice_loss(wrong, labels, classes=(2,), eps=0.0)
    assert d[0] == 0.0 and d[1] == pytest.approx(1.0)
    assert d.mean() == pytest.approx(0.5)  # pooled over the batch it would be 1 - 4/7


def _batch(b=2, n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = torch.rand(b, n, 7, generator=g)
    feats[..., L.TV] = (torch.arange(n) >= n // 2).float()  # second half: RV ...
    feats[..., L.RT] = 0.3                                   # ... free wall
    labels = torch.zeros(b, n, dtype=torch.long)
    labels[:, :5] = 2
    labels[:, 5:8] = 1
    return feats, labels


def test_penalties_use_soft_probabilities_and_pass_gradient_to_the_logits():
    feats, labels = _batch()
    logits = torch.randn(2, 40, 3, requires_grad=True)
    probs = logits.softmax(-1)
    for term in (L.compactness(probs, labels, feats[..., :3]), L.size_penalty(probs, labels),
                 L.rv_penalty(probs, feats)):
        g, = torch.autograd.grad(term.sum(), logits, retain_graph=True)
        assert g.abs().sum() > 0 and torch.isfinite(g).all()


def test_penalty_values_on_hand_made_predictions():
    feats, labels = _batch(b=1)
    truth = F.one_hot(labels, 3).float()
    assert float(L.size_penalty(truth, labels)) == 0.0
    assert float(L.rv_penalty(truth, feats)) == 0.0      # the truth lies in the LV half
    double = truth.clone()
    double[0, 20:28] = F.one_hot(torch.tensor(2), 3).float()  # 8 more infarct points in the RV
    assert float(L.size_penalty(double, labels)) == pytest.approx(1.0)  # |16 - 8| / 8
    assert float(L.rv_penalty(double, feats)) == pytest.approx(0.5)
    # the signed Eq. 9 would reward predicting nothing; ours penalises it as much
    assert float(L.size_penalty(torch.zeros_like(truth), labels)) == pytest.approx(1.0)
    # compactness of the truth itself: mean 2 d / d_max over its points
    xyz = feats[0, :8, :3]
    d = (xyz - xyz.mean(0)).norm(dim=-1)
    assert float(L.compactness(truth, labels, feats[..., :3])) == pytest.approx(
        float(2 * d.mean() / d.max()), rel=1e-5)


def test_qrs_loss_aligns_time_not_leads():
    t = torch.linspace(0, 1, 64, dtype=torch.float64)
    a = torch.stack([torch.exp(-((t - 0.4) / 0.05) ** 2), -torch.exp(-((t - 0.6) / 0.05) ** 2)])
    shifted = torch.roll(a, 3, dims=-1)
    swapped = a.flip(0)
    x = a[None]
    mse = lambda y: float(((x - y[None]) ** 2).mean())  # noqa: E731
    rec = lambda y: float(L.qrs_reconstruction(y[None], x, gamma=0.01))  # noqa: E731
    # a small time shift costs the DTW part little: the loss rises less than the MSE's share
    assert rec(shifted) - mse(shifted) < 0.25 * mse(shifted)
    # swapping leads is not a warp of time: the loss stays large
    assert rec(swapped) - mse(swapped) > 0.5 * mse(swapped)
    assert rec(a) == pytest.approx(0.0, abs=1e-9)


def test_segmentation_takes_logits_and_the_total_holds_every_term():
    feats, labels = _batch()
    b, n = labels.shape
    torch.manual_seed(0)
    out = {"logits": 3 * torch.randn(b, n, 3), "coarse": torch.rand(b, 10, 7),
           "dense": torch.rand(b, 40, 7), "qrs": torch.randn(b, 8, 16),
           "mu_pc": torch.randn(b, 4), "logvar_pc": torch.zeros(b, 4),
           "mu_qrs": torch.randn(b, 4), "logvar_qrs": torch.zeros(b, 4)}
    batch = {"features": feats, "target_coarse": feats[:, :10], "qrs": torch.randn(b, 8, 16),
             "labels": labels}
    w = LossWeights(alpha=2.0, kl=0.5, compact=0.3, size=0.7, spa=1.1, vae=0.9, dice=1.3,
                    pc=0.4, qrs=0.6)
    t = L.inference_loss(out, batch, w)
    ce = F.cross_entropy(out["logits"].reshape(-1, 3), labels.reshape(-1))
    assert float(t["ce"]) == pytest.approx(float(ce), rel=1e-6)  # no softmax before CE
    soft_first = F.cross_entropy(out["logits"].softmax(-1).reshape(-1, 3), labels.reshape(-1))
    assert abs(float(soft_first) - float(ce)) > 0.05
    kl = L.kl_divergence(out["mu_pc"], out["logvar_pc"]) + L.kl_divergence(out["mu_qrs"],
                                                                           out["logvar_qrs"])
    assert float(t["kl"]) == pytest.approx(float(kl.mean()), rel=1e-6)  # both latents
    assert float(t["qrs"]) > 0 and float(t["pc"]) > 0
    vae = 0.5 * t["kl"] + 0.4 * t["pc"] + 0.6 * t["qrs"]
    total = 0.9 * vae + t["ce"] + 1.3 * t["dice"] + 0.3 * t["compact"] + 0.7 * t["size"] \
        + 1.1 * t["spa"]
    assert float(t["total"]) == pytest.approx(float(total), rel=1e-6)
    # removing the QRS reconstruction changes the total by exactly its weighted share
    t0 = L.inference_loss(out, batch, LossWeights(**{**w.to_dict(), "qrs": 0.0}))
    assert float(t["total"] - t0["total"]) == pytest.approx(0.9 * 0.6 * float(t["qrs"]), rel=1e-5)


def test_weights_are_validated():
    with pytest.raises(ValueError, match="kl"):
        LossWeights(kl=-1)
    assert LossWeights().to_dict()["alpha"] == 5.0
