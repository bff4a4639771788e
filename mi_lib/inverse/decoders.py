"""The three decoders of the dual-branch VAE (paper 004 Figs. 5-6), each fed the
concatenated latent of the anatomy and the QRS.

:class:`DecoderPC` reconstructs the cloud (xyz and the four coordinates) coarse then
dense, after PCN (Yuan et al. 2018, as Beetz et al. use it): an MLP gives the coarse
points, a folding MLP moves a small 2-D grid around each of them. :class:`DecoderQRS`
reconstructs the 8 leads with transposed convolutions. :class:`DecoderInf` is
PointNet++ feature propagation from the encoder's levels back to every input point,
with the latent joined at every level, giving 3 logits (healthy, border zone, scar) per
point; its interpolation weights depend on the anatomy only (:func:`propagation_weights`).
At the finest level each point's coordinates enter with a Fourier encoding
(:func:`coordinate_encoding`), so that sharp, localised infarct borders are cheap to learn.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .pointnet import interpolate, interpolation_weights


def _mlp(widths, last_activation: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    for i, (a, b) in enumerate(pairs):
        layers.append(nn.Linear(a, b))
        if last_activation or i < len(pairs) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DecoderPC(nn.Module):
    """PCN-style decoder: latent ``(B, latent)`` -> coarse cloud ``(B, n_coarse, features)``
    and dense cloud ``(B, n_coarse * grid**2, features)``.

    The coarse cloud comes from an MLP of ``widths``; each coarse point then carries a
    ``grid x grid`` patch (a 2-D grid of half-width ``grid_scale``) that a folding MLP
    turns into offsets from it, given the latent, the grid position and the point.
    """

    def __init__(self, latent: int = 32, n_coarse: int = 1024, grid: int = 2,
                 features: int = 7, widths=(256, 256), fold_width: int = 128,
                 grid_scale: float = 0.05):
        super().__init__()
        self.n_coarse, self.grid, self.features = int(n_coarse), int(grid), int(features)
        self.coarse = _mlp([latent, *widths, self.n_coarse * self.features],
                           last_activation=False)
        self.fold = _mlp([latent + 2 + features, fold_width, fold_width, features],
                         last_activation=False)
        ticks = torch.linspace(-grid_scale, grid_scale, self.grid)
        gy, gx = torch.meshgrid(ticks, ticks, indexing="ij")
        self.register_buffer("patch", torch.stack([gx.reshape(-1), gy.reshape(-1)], -1),
                             persistent=False)

    @property
    def n_dense(self) -> int:
        """Points of the dense output."""
        return self.n_coarse * self.grid**2

    def forward(self, z):
        b = z.shape[0]
        coarse = self.coarse(z).reshape(b, self.n_coarse, self.features)
        r = self.grid**2
        centres = coarse.unsqueeze(2).expand(-1, -1, r, -1)
        patch = self.patch.expand(b, self.n_coarse, r, 2)
        code = z[:, None, None, :].expand(-1, self.n_coarse, r, -1)
        dense = centres + self.fold(torch.cat([code, patch, centres], -1))
        return coarse, dense.reshape(b, self.n_dense, self.features)


class DecoderQRS(nn.Module):
    """Latent ``(B, latent)`` -> QRS ``(B, leads, length)``: a linear layer to
    ``channels`` series of ``length / 4`` steps, then two transposed convolutions that
    double the length each (the mirror of :class:`~mi_lib.inverse.encoders.EncoderQRS`)."""

    def __init__(self, latent: int = 32, leads: int = 8, length: int = 512,
                 channels: int = 32):
        super().__init__()
        if length % 4:
            raise ValueError(f"QRS length {length} must be a multiple of 4")
        self.channels, self.steps = int(channels), length // 4
        self.linear = nn.Sequential(nn.Linear(latent, self.channels * self.steps), nn.ReLU())
        self.deconv = nn.Sequential(
            nn.ConvTranspose1d(self.channels, self.channels, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose1d(self.channels, leads, 4, stride=2, padding=1))

    def forward(self, z):
        h = self.linear(z).reshape(z.shape[0], self.channels, self.steps)
        return self.deconv(h)


@torch.no_grad()
def propagation_weights(xyz: torch.Tensor, hierarchy: list[dict], k: int = 3) -> list:
    """Interpolation indices and weights of feature propagation for clouds
    ``xyz (B, N, 3)`` and their :func:`~mi_lib.inverse.encoders.cloud_hierarchy`: from
    each level's centres to the level below, finest last (the input points). The global
    level (one centre) needs none: its feature is broadcast. Depends on the anatomy only."""
    levels = [lvl["xyz"] for lvl in hierarchy]
    targets = levels[:-1][::-1] + [xyz]
    sources = levels[::-1][: len(targets)]
    out = []
    for known, unknown in zip(sources, targets, strict=True):
        out.append(None if known.shape[1] == 1 else interpolation_weights(known, unknown, k))
    return out


#: Fourier frequencies of the coordinate encoding of Decoder_inf's input points
FREQUENCIES = (1, 2, 4, 8)


def coordinate_encoding(features: torch.Tensor, frequencies=FREQUENCIES) -> torch.Tensor:
    """The point features ``(..., 7)`` (x, y, z, tm, ab, rt, tv) followed by Fourier
    features of the coordinates (Tancik et al. 2020): ``sin``/``cos`` of ``pi k tm`` and
    ``pi k ab`` (half periods: both are intervals) and of ``2 pi k rt`` (a full period:
    ``rt`` goes round the ventricles) for each ``k`` of ``frequencies``; ``7 + 6 len(k)``
    channels."""
    if not frequencies:
        return features
    tm_ab, rt = features[..., 3:5], features[..., 5:6]
    parts = [features]
    for k in frequencies:
        parts += [torch.sin(math.pi * k * tm_ab), torch.cos(math.pi * k * tm_ab),
                  torch.sin(2 * math.pi * k * rt), torch.cos(2 * math.pi * k * rt)]
    return torch.cat(parts, -1)


class FeaturePropagation(nn.Module):
    """One PointNet++ feature-propagation step: features of the coarser level,
    interpolated to the finer points (or broadcast from a single centre), joined with the
    finer level's skip features and the latent, through a shared MLP."""

    def __init__(self, in_channels: int, widths):
        super().__init__()
        self.mlp = _mlp([in_channels, *widths])

    def forward(self, coarse_feats, weights, skip, z, n_points: int):
        if weights is None:
            up = coarse_feats.expand(-1, n_points, -1)
        else:
            up = interpolate(coarse_feats, *weights)
        parts = [up, z.unsqueeze(1).expand(-1, n_points, -1)]
        if skip is not None:
            parts.append(skip)
        return self.mlp(torch.cat(parts, -1))


class DecoderInf(nn.Module):
    """Decoder_inf: feature propagation from the encoder's global level back to every
    input point, the latent ``z`` joined at each level, then per-point logits of
    ``classes`` tissue classes (no softmax: the loss takes logits).

    ``skip_channels`` are the encoder's level widths, coarsest last, and ``in_features``
    the input points' own features (the last skip, with :func:`coordinate_encoding` of
    ``frequencies``).
    """

    def __init__(self, latent: int = 32, skip_channels=(64, 128, 256), in_features: int = 7,
                 widths=((256, 256), (256, 128), (128, 128)), classes: int = 3,
                 frequencies=FREQUENCIES):
        super().__init__()
        self.frequencies = tuple(frequencies)
        skips = [*skip_channels[:-1][::-1], in_features + 6 * len(self.frequencies)]
        chans, blocks = skip_channels[-1], []
        for skip, w in zip(skips, widths, strict=True):
            blocks.append(FeaturePropagation(chans + skip + latent, w))
            chans = w[-1]
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(chans, classes)

    def forward(self, features, skips, weights, z):
        finer = [*skips[:-1][::-1], coordinate_encoding(features, self.frequencies)]
        feats = skips[-1]
        for block, skip, w in zip(self.blocks, finer, weights, strict=True):
            feats = block(feats, w, skip, z, skip.shape[1])
        return self.head(feats)


def grid_for(n_coarse: int, n_dense: int) -> int:
    """Side of the folding grid that turns ``n_coarse`` points into ``n_dense``:
    ``n_dense / n_coarse`` must be a square."""
    ratio, rem = divmod(int(n_dense), int(n_coarse))
    side = math.isqrt(ratio)
    if rem or side * side != ratio:
        raise ValueError(f"dense / coarse = {n_dense} / {n_coarse} must be a square integer")
    return side
