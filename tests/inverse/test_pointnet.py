"""PointNet++ point operations against brute-force numpy versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mi_lib.inverse.pointnet import (
    ball_query,
    farthest_point_sample,
    gather,
    interpolate,
    interpolation_weights,
    knn,
)


@pytest.fixture
def clouds():
    g = torch.Generator().manual_seed(0)
    return torch.rand(3, 200, 3, generator=g, dtype=torch.float64) * 10.0


def _fps_brute(x, m, start):
    chosen = [start]
    for _ in range(m - 1):
        d = np.min(((x[:, None] - x[chosen][None]) ** 2).sum(-1), axis=1)
        chosen.append(int(np.argmax(d)))
    return chosen


def test_farthest_point_sample_matches_brute_force_and_nests(clouds):
    idx = farthest_point_sample(clouds, 40, start=5)
    for b in range(len(clouds)):
        assert idx[b].tolist() == _fps_brute(clouds[b].numpy(), 40, 5)
    assert torch.equal(farthest_point_sample(clouds, 10, start=5), idx[:, :10])
    assert len(set(idx[0].tolist())) == 40  # no point twice
    with pytest.raises(ValueError, match="m = 0"):
        farthest_point_sample(clouds, 0)


def test_ball_query_matches_brute_force(clouds):
    centres = gather(clouds, farthest_point_sample(clouds, 16))
    idx = ball_query(clouds, centres, radius=2.0, k=8)
    x, c = clouds.numpy(), centres.numpy()
    for b in range(len(x)):
        for j in range(c.shape[1]):
            inside = np.flatnonzero(((x[b] - c[b, j]) ** 2).sum(-1) <= 4.0)[:8]
            expect = list(inside) + [inside[0]] * (8 - len(inside))
            assert idx[b, j].tolist() == expect
    far = torch.full((3, 1, 3), 100.0, dtype=torch.float64)  # empty ball: the nearest point
    nearest = ((clouds - far) ** 2).sum(-1).argmin(1)
    assert torch.equal(ball_query(clouds, far, 1.0, 4)[:, 0], nearest[:, None].expand(3, 4))


def test_knn_and_interpolation_match_brute_force(clouds):
    known = gather(clouds, farthest_point_sample(clouds, 30))
    idx, d2 = knn(clouds, known, 5)
    x, k = clouds.numpy(), known.numpy()
    for b in range(len(x)):
        d = ((k[b][:, None] - x[b][None]) ** 2).sum(-1)
        assert np.array_equal(idx[b].numpy(), np.argsort(d, axis=1, kind="stable")[:, :5])
        assert np.allclose(d2[b].numpy(), np.sort(d, axis=1)[:, :5])
    feats = torch.randn(3, 30, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    i3, w3 = interpolation_weights(known, clouds)
    out = interpolate(feats, i3, w3).numpy()
    for b in range(len(x)):
        d = np.sqrt(((x[b][:, None] - k[b][None]) ** 2).sum(-1))
        near = np.argsort(d, axis=1, kind="stable")[:, :3]
        w = 1.0 / (np.take_along_axis(d, near, 1) + 1e-8)
        w /= w.sum(1, keepdims=True)
        assert np.allclose(out[b], (feats[b].numpy()[near] * w[..., None]).sum(1))
    # a known point gets its own features back (its weight dominates)
    on_known = interpolate(feats, *interpolation_weights(known, known))
    assert torch.allclose(on_known, feats, atol=1e-6)


def test_interpolation_carries_gradient_to_the_features(clouds):
    known = clouds[:, :20]
    feats = torch.randn(3, 20, 2, dtype=torch.float64, requires_grad=True)
    interpolate(feats, *interpolation_weights(known, clouds)).sum().backward()
    assert torch.allclose(feats.grad.sum(1), torch.full((3, 2), 200.0, dtype=torch.float64))
