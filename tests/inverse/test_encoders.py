"""The VAE's encoders: shapes, per-subject hierarchies reused across scenarios, local
features that see relative positions only, gradient to every parameter, determinism."""

from __future__ import annotations

import pytest
import torch

from mi_lib.inverse.encoders import (
    EncoderPC,
    EncoderQRS,
    Level,
    SetAbstraction,
    cloud_hierarchy,
)

LEVELS = (Level(32, 0.3, 8), Level(8, 0.6, 8), Level(0, 0.0, 0))


@pytest.fixture
def cloud():
    g = torch.Generator().manual_seed(0)
    xyz = torch.rand(2, 128, 3, generator=g) - 0.5
    coords = torch.rand(2, 128, 4, generator=g)
    return torch.cat([xyz, coords], -1)


def test_hierarchy_shapes_and_nesting(cloud):
    h = cloud_hierarchy(cloud[..., :3], LEVELS)
    assert [lv["xyz"].shape for lv in h] == [(2, 32, 3), (2, 8, 3), (2, 1, 3)]
    assert h[0]["groups"].shape == (2, 32, 8) and h[1]["groups"].max() < 32
    assert h[2]["groups"] is None


def test_encoder_pc_reuses_one_hierarchy_per_subject(cloud):
    torch.manual_seed(1)
    enc = EncoderPC(widths=((16, 16), (16, 32), (32, 32)), latent=16)
    h = cloud_hierarchy(cloud[..., :3], LEVELS)
    mu, logvar, skips = enc(cloud, h)
    assert mu.shape == logvar.shape == (2, 16)
    assert [s.shape for s in skips] == [(2, 32, 16), (2, 8, 32), (2, 1, 32)]
    again = enc(cloud, cloud_hierarchy(cloud[..., :3], LEVELS))
    assert torch.equal(again[0], mu)
    # gradient reaches every parameter
    (mu.sum() + logvar.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())


def test_set_abstraction_sees_relative_positions_only(cloud):
    """Translating the cloud leaves a level's output unchanged when the features carry no
    absolute position."""
    torch.manual_seed(2)
    sa = SetAbstraction(4, (16, 16))
    xyz, feats = cloud[..., :3], cloud[..., 3:]
    h = cloud_hierarchy(xyz, LEVELS)
    shifted = xyz + torch.tensor([0.3, -0.2, 0.1])
    out = sa(xyz, feats, h[0])
    assert torch.allclose(sa(shifted, feats, cloud_hierarchy(shifted, LEVELS)[0]), out,
                          atol=1e-5)


def test_encoder_qrs_shapes_gradient_and_determinism():
    torch.manual_seed(3)
    enc = EncoderQRS(channels=8, hidden=16, latent=16, length=128)
    x = torch.randn(4, 8, 128, generator=torch.Generator().manual_seed(4))
    mu, logvar = enc(x)
    assert mu.shape == logvar.shape == (4, 16)
    (mu.pow(2).sum() + logvar.sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())
    torch.manual_seed(3)
    again = EncoderQRS(channels=8, hidden=16, latent=16, length=128)(x)[0]
    assert torch.equal(again, mu)
    # each sample's latent depends on its own QRS only
    assert torch.allclose(enc(x[:1])[0], mu[:1], atol=1e-6)
