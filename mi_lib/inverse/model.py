"""The dual-branch VAE with its inference decoder (paper 004 Figs. 5-6), and its
architecture settings.

:class:`DualBranchVAE` encodes the anatomy's cloud (Encoder_PC) and the QRS
(Encoder_QRS) to two 16-d Gaussians, concatenates samples of both, and decodes the
cloud, the QRS and the per-point tissue logits. The anatomy's part of the work (its
cloud hierarchy, interpolation weights and Encoder_PC pass) depends on the subject only:
:meth:`DualBranchVAE.prepare` computes it once and a batch of that subject's scenarios
shares it. ``branches = "qrs_only"`` is the paper's ablation without the anatomy branch
in the latent (§IV-E.2).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields

import torch
from torch import nn

from .decoders import DecoderInf, DecoderPC, DecoderQRS, grid_for, propagation_weights
from .encoders import EncoderPC, EncoderQRS, Level, cloud_hierarchy

BRANCHES = ("both", "qrs_only")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of :class:`DualBranchVAE`. Defaults are the paper's sizes (4096
    input points, 1024 / 4096 reconstructed, QRS of 512 samples, 16-d latents); the
    ``standard`` profile scales points, widths and the QRS length down (notebook 07
    lists every deviation)."""

    n_points: int = 4096
    qrs_length: int = 512
    leads: int = 8
    latent: int = 16
    levels: tuple = (Level(512, 0.1, 32), Level(128, 0.2, 32), Level(0, 0.0, 0))
    pc_widths: tuple = ((32, 32, 64), (64, 64, 128), (128, 256))
    qrs_channels: int = 32
    qrs_hidden: int = 64
    n_coarse_out: int = 1024
    n_dense_out: int = 4096
    pc_decoder_widths: tuple = (256, 256)
    fold_width: int = 128
    inf_widths: tuple = ((256, 256), (256, 128), (128, 128))
    frequencies: tuple = (1, 2, 4, 8)
    branches: str = "both"
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("n_points", "qrs_length", "leads", "latent", "n_coarse_out",
                     "n_dense_out", "qrs_channels", "qrs_hidden", "fold_width"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"ModelConfig.{name} = {v!r}: must be a positive integer")
        if self.branches not in BRANCHES:
            raise ValueError(f"ModelConfig.branches = {self.branches!r}: choose one of {BRANCHES}")
        if self.qrs_length % 4:
            raise ValueError(f"ModelConfig.qrs_length = {self.qrs_length}: must be a multiple of 4")
        grid_for(self.n_coarse_out, self.n_dense_out)
        if self.n_coarse_out > self.n_points:
            raise ValueError(f"n_coarse_out {self.n_coarse_out} exceeds n_points {self.n_points}")
        if len(self.levels) != len(self.pc_widths) or len(self.inf_widths) != len(self.levels):
            raise ValueError("levels, pc_widths and inf_widths need one entry per level")
        for lv in self.levels[:-1]:
            if not 1 <= lv.centres <= self.n_points:
                raise ValueError(f"level {lv}: centres must be between 1 and n_points")

    def to_dict(self) -> dict:
        """Plain data (lists for tuples), for ``settings.json``."""
        d = asdict(self)
        d["levels"] = [list(asdict(lv).values()) if isinstance(lv, Level) else list(lv)
                       for lv in self.levels]
        return json.loads(json.dumps(d))

    @classmethod
    def from_dict(cls, data: dict) -> ModelConfig:
        """The inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown model settings {sorted(unknown)}; known: {sorted(known)}")
        d = dict(data)
        if "levels" in d:
            d["levels"] = tuple(Level(int(v[0]), float(v[1]), int(v[2])) for v in d["levels"])
        for key in ("pc_widths", "inf_widths"):
            if key in d:
                d[key] = tuple(tuple(int(x) for x in w) for w in d[key])
        if "frequencies" in d:
            d["frequencies"] = tuple(int(x) for x in d["frequencies"])
        if "pc_decoder_widths" in d:
            d["pc_decoder_widths"] = tuple(int(x) for x in d["pc_decoder_widths"])
        return cls(**d)


def _expand(t, b):
    return t if t is None or t.shape[0] == b else t.expand(b, *t.shape[1:])


class DualBranchVAE(nn.Module):
    """Encoder_PC + Encoder_QRS -> concatenated latent -> Decoder_PC, Decoder_QRS and
    Decoder_inf (per-point logits of healthy, border zone, scar)."""

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = c = config or ModelConfig()
        self.encoder_pc = EncoderPC(7, c.pc_widths, c.latent)
        self.encoder_qrs = EncoderQRS(c.leads, c.qrs_channels, c.qrs_hidden, c.latent,
                                      c.qrs_length)
        # the QRS encoder's input standardisation per lead and sample (training set's)
        self.register_buffer("qrs_mean", torch.zeros(c.leads, c.qrs_length))
        self.register_buffer("qrs_std", torch.ones(c.leads, c.qrs_length))
        both = c.branches == "both"
        z = 2 * c.latent if both else c.latent
        self.decoder_pc = (DecoderPC(z, c.n_coarse_out, grid_for(c.n_coarse_out, c.n_dense_out),
                                     7, c.pc_decoder_widths, c.fold_width) if both else None)
        self.decoder_qrs = DecoderQRS(z, c.leads, c.qrs_length, c.qrs_channels)
        skips = [w[-1] for w in c.pc_widths]
        self.decoder_inf = DecoderInf(z, skips, 7, c.inf_widths, frequencies=c.frequencies)

    @torch.no_grad()
    def set_qrs_statistics(self, qrs: torch.Tensor, floor: float = 0.05) -> None:
        """Standardise the QRS encoder's input with the mean and standard deviation, per
        lead and sample, of the training QRS ``(n, leads, T)``; a standard deviation below
        ``floor`` times its mean over leads and samples is raised to that (the window's
        silent tail). The reconstruction target stays the prepared QRS."""
        mean, std = qrs.mean(0), qrs.std(0)
        self.qrs_mean.copy_(mean)
        self.qrs_std.copy_(std.clamp_min(floor * float(std.mean())))

    @torch.no_grad()
    def geometry(self, features: torch.Tensor) -> dict:
        """The anatomy-only part of a cloud ``features (A, N, 7)``: its set-abstraction
        hierarchy and feature-propagation weights (no parameters involved)."""
        xyz = features[..., :3].contiguous()
        hierarchy = cloud_hierarchy(xyz, self.config.levels)
        return {"features": features, "hierarchy": hierarchy,
                "weights": propagation_weights(xyz, hierarchy)}

    def encode_anatomy(self, geometry: dict):
        """Encoder_PC on a :meth:`geometry`: ``(mu, logvar, skips)``."""
        return self.encoder_pc(geometry["features"], geometry["hierarchy"])

    def forward(self, geometry: dict, qrs: torch.Tensor, sample: bool = True,
                anatomy=None) -> dict:
        """One pass for ``qrs (B, leads, T)`` on one anatomy (``geometry`` of batch 1,
        shared by the B samples) or B anatomies. ``sample``: reparameterised draws of the
        latents (training); else their means. ``anatomy``: a precomputed
        :meth:`encode_anatomy` (the same for every scenario of a subject)."""
        b = qrs.shape[0]
        mu_pc, logvar_pc, skips = anatomy if anatomy is not None else \
            self.encode_anatomy(geometry)
        mu_q, logvar_q = self.encoder_qrs((qrs - self.qrs_mean) / self.qrs_std)
        out = {"mu_qrs": mu_q, "logvar_qrs": logvar_q}
        z_q = mu_q + torch.randn_like(mu_q) * (0.5 * logvar_q).exp() if sample else mu_q
        feats = _expand(geometry["features"], b)
        skips = [_expand(s, b) for s in skips]
        weights = [None if w is None else tuple(_expand(t, b) for t in w)
                   for w in geometry["weights"]]
        if self.config.branches == "both":
            mu_pc, logvar_pc = _expand(mu_pc, b), _expand(logvar_pc, b)
            z_pc = (mu_pc + torch.randn_like(mu_pc) * (0.5 * logvar_pc).exp()
                    if sample else mu_pc)
            z = torch.cat([z_pc, z_q], -1)
            out.update(mu_pc=mu_pc, logvar_pc=logvar_pc)
            out["coarse"], out["dense"] = self.decoder_pc(z)
        else:
            z = z_q
        out["z"] = z
        out["qrs"] = self.decoder_qrs(z)
        out["logits"] = self.decoder_inf(feats, skips, weights, z)
        return out
