"""The losses of paper 004 (Eqs. 4-11), each a mean over the samples of a batch.

Every term is computed per sample and then averaged over the batch, so a batch of
copies scores what one copy scores. The segmentation takes logits (cross-entropy
applies its own log-softmax); the compactness, size and RV terms are computed from soft
class probabilities, so their gradient reaches every parameter. Definitions, the
choices the paper leaves open (the weights it does not give, the sign of Eq. 9, which
points are "infarct") and the tests that guard them: ``docs/inverse/model.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from .pointnet import gather
from .soft_dtw import soft_dtw_divergence

#: feature columns of the network's cloud: x, y, z, tm, ab, rt, tv
RT, TV = 5, 6
#: tissue classes: healthy, border zone, scar
HEALTHY, BORDER_ZONE, SCAR = 0, 1, 2


@dataclass(frozen=True)
class LossWeights:
    """Weights of Eqs. 4-11. The paper gives ``alpha``, ``kl``, ``compact``, ``size``,
    ``spa`` and ``vae``; ``dice``, ``pc`` and ``qrs`` it leaves open (ours: 1, see
    ``docs/inverse/model.md``). ``dtw_gamma`` is the soft-DTW smoothing. A weight of 0
    removes its term (the ablations of Fig. 10)."""

    alpha: float = 5.0
    kl: float = 0.01
    compact: float = 1.0
    size: float = 1.0
    spa: float = 1.0
    vae: float = 1.0
    dice: float = 1.0
    pc: float = 1.0
    qrs: float = 1.0
    dtw_gamma: float = 0.1

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0:
                raise ValueError(f"loss weight {f.name} = {v!r}: must be a number >= 0")
        if self.dtw_gamma <= 0:
            raise ValueError(f"dtw_gamma = {self.dtw_gamma}: must be > 0")

    def to_dict(self) -> dict:
        """Plain data, for a product's settings."""
        return asdict(self)


def chamfer(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Symmetric Chamfer distance per sample, ``(B,)``: the mean over the points of
    each cloud of the squared distance to the nearest point of the other, summed over the
    two directions. ``pred (B, M, C)``, ``target (B, N, C)``; points are matched within
    their own sample only."""
    to_target, to_pred = _nearest(pred.detach(), target.detach())
    forward = ((pred - gather(target, to_target)) ** 2).sum(-1).mean(1)
    backward = ((target - gather(pred, to_pred)) ** 2).sum(-1).mean(1)
    return forward + backward


def _nearest(pred: torch.Tensor, target: torch.Tensor):
    """Index of the nearest ``target`` point of every ``pred`` point and the other way
    round, per sample: k-d trees on the CPU, the matmul form of the distances on a GPU."""
    if pred.device.type == "cpu":
        from scipy.spatial import cKDTree

        a, b = pred.double().numpy(), target.double().numpy()
        to_t = [cKDTree(b[i]).query(a[i])[1] for i in range(len(a))]
        to_p = [cKDTree(a[i]).query(b[i])[1] for i in range(len(a))]
        return (torch.from_numpy(np.stack(to_t)).long(), torch.from_numpy(np.stack(to_p)).long())
    with torch.no_grad():
        d2 = ((pred * pred).sum(-1, keepdim=True) + (target * target).sum(-1).unsqueeze(1)
              - 2 * pred @ target.transpose(1, 2))                       # (B, M, N)
        return d2.argmin(dim=2), d2.argmin(dim=1)


def pc_reconstruction(coarse, dense, target_coarse, target_dense, alpha: float) -> torch.Tensor:
    """Eq. 4 per sample: coarse Chamfer + ``alpha`` x dense Chamfer (one class, K = 1)."""
    return chamfer(coarse, target_coarse) + alpha * chamfer(dense, target_dense)


def qrs_reconstruction(pred, target, gamma: float) -> torch.Tensor:
    """Eq. 5 per sample: mean squared error plus the soft-DTW divergence over time
    (each step a vector of the leads) divided by the number of samples, ``(B,)``."""
    mse = ((pred - target) ** 2).mean(dim=(1, 2))
    return mse + soft_dtw_divergence(pred, target, gamma) / target.shape[-1]


def kl_divergence(mu, logvar) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) summed over latent dimensions, ``(B,)``."""
    return -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)


def dice_loss(probs, labels, classes=(BORDER_ZONE, SCAR), eps: float = 1.0) -> torch.Tensor:
    """1 - soft Dice per sample, averaged over ``classes``, ``(B,)``: ``probs (B, N, 3)``,
    ``labels (B, N)``; ``eps`` smooths an absent class (both empty give Dice 1)."""
    out = []
    for c in classes:
        p, t = probs[..., c], (labels == c).to(probs.dtype)
        out.append(1 - (2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps))
    return torch.stack(out, -1).mean(-1)


def infarct_probability(probs) -> torch.Tensor:
    """Soft infarct (scar or border zone) probability per point, ``(B, N)``."""
    return probs[..., BORDER_ZONE] + probs[..., SCAR]


def compactness(probs, labels, xyz, eps: float = 1e-6) -> torch.Tensor:
    """Eq. 8 per sample with soft counts: the infarct-probability-weighted mean over the
    points of ``(d_pre + d_gd) / d_max_gd``, distances to the predicted (weighted) and true
    infarct centres, normalised by the largest distance of a true infarct point to its
    centre. A sample without a true infarct contributes 0."""
    p = infarct_probability(probs)
    t = (labels > HEALTHY).to(p.dtype)
    n_t = t.sum(1, keepdim=True)
    c_gd = (t.unsqueeze(-1) * xyz).sum(1) / n_t.clamp_min(1)
    c_pre = (p.unsqueeze(-1) * xyz).sum(1) / p.sum(1, keepdim=True).clamp_min(eps)
    d_gd = (xyz - c_gd.unsqueeze(1)).norm(dim=-1)
    d_pre = (xyz - c_pre.unsqueeze(1)).norm(dim=-1)
    d_max = (d_gd * t).max(1).values.clamp_min(eps)
    value = (p * (d_pre + d_gd)).sum(1) / p.sum(1).clamp_min(eps) / d_max
    return torch.where(n_t[:, 0] > 0, value, torch.zeros_like(value))


def size_penalty(probs, labels) -> torch.Tensor:
    """Eq. 9 per sample as a magnitude: ``|N_pre - N_gd| / N_gd`` with the soft count
    ``N_pre`` of infarct probability (the printed, signed form is unbounded below: it
    would reward predicting nothing). 0 without a true infarct."""
    p = infarct_probability(probs).sum(1)
    n_gd = (labels > HEALTHY).sum(1).to(p.dtype)
    return torch.where(n_gd > 0, (p - n_gd).abs() / n_gd.clamp_min(1), torch.zeros_like(p))


def rv_free_wall(features) -> torch.Tensor:
    """Points of the RV free wall, ``(B, N)`` bool: ``tv = 1`` outside the septum
    (``rt <= 2/3``), the RV without its septal boundary."""
    return (features[..., TV] > 0.5) & (features[..., RT] <= 2.0 / 3.0)


def rv_penalty(probs, features, eps: float = 1e-6) -> torch.Tensor:
    """Eq. 10 per sample: the soft share of predicted infarct on the RV free wall."""
    p = infarct_probability(probs)
    return (p * rv_free_wall(features)).sum(1) / p.sum(1).clamp_min(eps)


def inference_loss(out: dict, batch: dict, weights: LossWeights) -> dict:
    """Eq. 11 and its terms for a batch: ``out`` from the model's forward pass (``logits``,
    ``coarse``, ``dense``, ``qrs``, ``mu``/``logvar`` of both branches; a branch's
    entries absent when the model has no such branch), ``batch`` the data (``features``,
    ``target_coarse``, ``qrs``, ``labels``). Returns every term as a batch mean (floats of
    0-d tensors) and ``total``."""
    w = weights
    labels, feats = batch["labels"], batch["features"]
    probs = out["logits"].softmax(-1)
    ce = F.cross_entropy(out["logits"].transpose(1, 2), labels, reduction="none").mean(1)
    terms = {"ce": ce, "dice": dice_loss(probs, labels)}
    if "coarse" in out:
        terms["pc"] = pc_reconstruction(out["coarse"], out["dense"], batch["target_coarse"],
                                        feats, w.alpha)
    if "qrs" in out:
        terms["qrs"] = qrs_reconstruction(out["qrs"], batch["qrs"], w.dtw_gamma)
    terms["kl"] = sum(kl_divergence(out[f"mu_{b}"], out[f"logvar_{b}"])
                      for b in ("pc", "qrs") if f"mu_{b}" in out)
    terms["compact"] = compactness(probs, labels, feats[..., :3])
    terms["size"] = size_penalty(probs, labels)
    terms["spa"] = rv_penalty(probs, feats)
    terms = {k: v.mean() for k, v in terms.items()}
    vae = w.kl * terms["kl"] + w.pc * terms.get("pc", 0.0) + w.qrs * terms.get("qrs", 0.0)
    terms["vae"] = vae
    terms["seg"] = terms["ce"] + w.dice * terms["dice"]
    terms["total"] = (w.vae * vae + terms["seg"] + w.compact * terms["compact"]
                      + w.size * terms["size"] + w.spa * terms["spa"])
    return terms
