"""PointNet++ point operations in plain torch: sampling, grouping and interpolation.

Farthest-point sampling, ball query and k-nearest-neighbour grouping (set abstraction),
and inverse-distance interpolation from the three nearest points (feature propagation),
after Qi et al., "PointNet++", NeurIPS 2017. Batched over ``(B, N, 3)`` clouds, on any
device, no compiled extension; every operation is tested against brute force.
"""

from __future__ import annotations

import torch


def _check_cloud(xyz: torch.Tensor, name: str = "xyz") -> None:
    if xyz.ndim != 3 or xyz.shape[-1] != 3:
        raise ValueError(f"{name} must be a (batch, points, 3) tensor, got {tuple(xyz.shape)}")


def gather(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``points[b, idx[b, ...]]``: rows of ``points (B, N, C)`` at ``idx (B, ...)``,
    giving ``(B, ..., C)``."""
    b = points.shape[0]
    flat = idx.reshape(b, -1)
    out = torch.gather(points, 1, flat.unsqueeze(-1).expand(-1, -1, points.shape[-1]))
    return out.reshape(*idx.shape, points.shape[-1])


def farthest_point_sample(xyz: torch.Tensor, m: int, start: int = 0) -> torch.Tensor:
    """Indices ``(B, m)`` of ``m`` points of each cloud ``xyz (B, N, 3)`` chosen by
    farthest-point sampling from point ``start``: each next point is the one farthest
    (Euclidean) from those already chosen, ties to the lowest index. The orders are
    nested: the first ``k`` of ``m`` are the ``k``-point sample."""
    _check_cloud(xyz)
    b, n, _ = xyz.shape
    if not 1 <= m <= n:
        raise ValueError(f"m = {m}: must be between 1 and the {n} points of the cloud")
    if not 0 <= start < n:
        raise ValueError(f"start = {start}: must be a point index below {n}")
    idx = torch.empty(b, m, dtype=torch.long, device=xyz.device)
    dist = torch.full((b, n), float("inf"), dtype=xyz.dtype, device=xyz.device)
    current = torch.full((b,), start, dtype=torch.long, device=xyz.device)
    rows = torch.arange(b, device=xyz.device)
    for k in range(m):
        idx[:, k] = current
        d = ((xyz - xyz[rows, current].unsqueeze(1)) ** 2).sum(-1)
        dist = torch.minimum(dist, d)
        current = torch.argmax(dist, dim=1)
    return idx


def square_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances ``(B, M, N)`` between ``a (B, M, 3)`` and ``b (B, N, 3)``."""
    return ((a.unsqueeze(2) - b.unsqueeze(1)) ** 2).sum(-1)


def ball_query(xyz: torch.Tensor, centres: torch.Tensor, radius: float, k: int) -> torch.Tensor:
    """Indices ``(B, M, k)`` of up to ``k`` points of ``xyz (B, N, 3)`` within ``radius``
    of each of ``centres (B, M, 3)``, the lowest indices first; a ball with fewer than
    ``k`` points repeats its first one (PointNet++'s convention). A centre that is itself
    a point of the cloud always finds at least itself; one with an empty ball gets its
    nearest point."""
    _check_cloud(xyz)
    _check_cloud(centres, "centres")
    if radius <= 0 or k < 1:
        raise ValueError(f"radius = {radius}, k = {k}: need radius > 0 and k >= 1")
    d2 = square_distances(centres, xyz)
    n = xyz.shape[1]
    order = torch.arange(n, device=xyz.device).expand_as(d2)
    key = torch.where(d2 <= radius**2, order, n)  # points inside keep their index
    first = torch.sort(key, dim=-1).values[..., :k]
    nearest = d2.argmin(dim=-1, keepdim=True)
    head = torch.where(first[..., :1] < n, first[..., :1], nearest)
    return torch.where(first < n, first, head)


def knn(xyz: torch.Tensor, centres: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest points of ``xyz (B, N, 3)`` to each of ``centres (B, M, 3)``:
    indices ``(B, M, k)`` and squared distances, nearest first."""
    _check_cloud(xyz)
    _check_cloud(centres, "centres")
    if not 1 <= k <= xyz.shape[1]:
        raise ValueError(f"k = {k}: must be between 1 and the {xyz.shape[1]} points")
    d2, idx = torch.topk(square_distances(centres, xyz), k, dim=-1, largest=False)
    return idx, d2


def interpolation_weights(known: torch.Tensor, unknown: torch.Tensor, k: int = 3,
                          eps: float = 1e-8) -> tuple[torch.Tensor, torch.Tensor]:
    """Feature-propagation weights: for each point of ``unknown (B, N, 3)``, its ``k``
    nearest points of ``known (B, M, 3)`` and their inverse-distance weights
    ``1 / (d + eps)`` normalised to sum 1 (``d`` Euclidean). Returns ``(idx (B, N, k),
    weights (B, N, k))``; compute them once per cloud and reuse them
    (:func:`interpolate`)."""
    idx, d2 = knn(known, unknown, min(k, known.shape[1]))
    w = 1.0 / (torch.sqrt(d2) + eps)
    return idx, w / w.sum(-1, keepdim=True)


def interpolate(features: torch.Tensor, idx: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Features ``(B, N, C)`` interpolated from ``features (B, M, C)`` of the known points
    with :func:`interpolation_weights`."""
    return (gather(features, idx) * weights.unsqueeze(-1)).sum(-2)
