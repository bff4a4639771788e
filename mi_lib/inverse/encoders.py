"""The two encoders of the dual-branch VAE (paper 004 Figs. 5-6): PointNet++ set
abstraction over the anatomy's point cloud, and strided convolutions with a
bidirectional LSTM over the QRS. Each gives the mean and log-variance of its latent.

The sampling and grouping of a cloud depend on the anatomy only, so
:func:`cloud_hierarchy` computes them once per subject and every scenario of that
subject reuses them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .pointnet import ball_query, farthest_point_sample, gather


@dataclass(frozen=True)
class Level:
    """One set-abstraction level: ``centres`` points grouped by a ball of ``radius``
    (in the units of the network's xyz) holding up to ``k`` points; ``centres = 0``
    groups the whole cloud around its centroid (the global level)."""

    centres: int
    radius: float
    k: int


#: three levels as in PointNet++ (sizes for a 1024-point cloud at xyz / 100 mm)
DEFAULT_LEVELS = (Level(256, 0.1, 32), Level(64, 0.2, 32), Level(0, 0.0, 0))


@torch.no_grad()
def cloud_hierarchy(xyz: torch.Tensor, levels=DEFAULT_LEVELS) -> list[dict]:
    """Centres and groups of every level for clouds ``xyz (B, N, 3)``: a list of
    ``{"xyz": (B, M, 3), "groups": (B, M, k) indices into the previous level}``
    (``groups`` is ``None`` for the global level). Depends on the anatomy only."""
    out, current = [], xyz
    for level in levels:
        if level.centres == 0:
            out.append({"xyz": current.mean(1, keepdim=True), "groups": None})
            break
        centres = gather(current, farthest_point_sample(current, level.centres))
        out.append({"xyz": centres, "groups": ball_query(current, centres, level.radius,
                                                         level.k)})
        current = centres
    return out


def _mlp(widths) -> nn.Sequential:
    layers = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers)


class SetAbstraction(nn.Module):
    """Group, describe with a shared MLP, max-pool: features ``(B, N, C)`` at points
    ``xyz (B, N, 3)`` -> ``(B, M, widths[-1])`` at the level's centres. Each group's
    points enter with their position relative to its centre."""

    def __init__(self, in_channels: int, widths):
        super().__init__()
        self.mlp = _mlp([in_channels + 3, *widths])

    def forward(self, xyz, features, level: dict):
        if level["groups"] is None:  # global: one group of every point
            rel = xyz - level["xyz"]
            grouped = torch.cat([rel, features], -1).unsqueeze(1)
        else:
            rel = gather(xyz, level["groups"]) - level["xyz"].unsqueeze(2)
            grouped = torch.cat([rel, gather(features, level["groups"])], -1)
        return self.mlp(grouped).max(dim=2).values


class EncoderPC(nn.Module):
    """Encoder_PC: three set-abstraction levels, then the mean and log-variance of a
    ``latent``-dimensional Gaussian. ``forward`` returns ``(mu, logvar, skips)``; the
    skips (features of each level) feed the infarct decoder's feature propagation."""

    def __init__(self, in_features: int = 7, widths=((32, 32, 64), (64, 64, 128),
                                                      (128, 256)), latent: int = 16):
        super().__init__()
        chans, blocks = in_features, []
        for w in widths:
            blocks.append(SetAbstraction(chans, w))
            chans = w[-1]
        self.blocks = nn.ModuleList(blocks)
        self.mu = nn.Linear(chans, latent)
        self.logvar = nn.Linear(chans, latent)

    def forward(self, features, hierarchy):
        xyz, feats, skips = features[..., :3], features, []
        for block, level in zip(self.blocks, hierarchy, strict=True):
            feats = block(xyz, feats, level)
            xyz = level["xyz"]
            skips.append(feats)
        g = feats[:, 0]
        return self.mu(g), self.logvar(g), skips


class EncoderQRS(nn.Module):
    """Encoder_QRS: two strided 1-D convolutions over time, a bidirectional LSTM, and a
    linear layer from the LSTM's whole output sequence (both directions at every step,
    so timing stays visible) to the mean and log-variance of a ``latent``-dimensional
    Gaussian. Input ``(B, leads, length)``, ``length`` a multiple of 4."""

    def __init__(self, leads: int = 8, channels: int = 32, hidden: int = 64,
                 latent: int = 16, length: int = 512):
        super().__init__()
        if length % 4:
            raise ValueError(f"QRS length {length} must be a multiple of 4")
        self.length = int(length)
        self.conv = nn.Sequential(
            nn.Conv1d(leads, channels, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2), nn.ReLU())
        self.lstm = nn.LSTM(channels, hidden, batch_first=True, bidirectional=True)
        width = 2 * hidden * (self.length // 4)
        self.mu = nn.Linear(width, latent)
        self.logvar = nn.Linear(width, latent)

    def forward(self, qrs):
        if qrs.shape[-1] != self.length:
            raise ValueError(f"QRS of {qrs.shape[-1]} samples; this encoder takes {self.length}")
        h = self.conv(qrs).transpose(1, 2)          # (B, length / 4, channels)
        seq, _ = self.lstm(h)                       # (B, length / 4, 2 hidden)
        g = seq.flatten(1)
        return self.mu(g), self.logvar(g)
