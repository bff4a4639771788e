"""P1 finite elements on tetrahedral meshes: volumes, shape-function gradients, the
stiffness (Laplacian) matrix, Laplace solves and nodal gradients.

The mesh-level operators that the biventricular coordinates (:mod:`mi_lib.twin.coordinates`)
and the pseudo-ECG's lead fields (:mod:`mi_lib.twin.ecg`) share. Units: mm.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .anatomy import signed_volumes


def _check_mesh(points, tets) -> tuple[np.ndarray, np.ndarray]:
    points = np.asarray(points, dtype=np.float64)
    tets = np.asarray(tets)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be (n, 3), got {points.shape}")
    if tets.ndim != 2 or tets.shape[1] != 4:
        raise ValueError(f"tets must be (m, 4), got {tets.shape}")
    if not np.issubdtype(tets.dtype, np.integer):
        raise ValueError(f"tets must hold integer node indices, got dtype {tets.dtype}")
    tets = tets.astype(np.int64, copy=False)
    if tets.size and (tets.min() < 0 or tets.max() >= len(points)):
        raise ValueError(f"tets index nodes outside 0..{len(points) - 1}")
    return points, tets


def _edges(points: np.ndarray, tets: np.ndarray) -> np.ndarray:
    """Edge matrices ``E[k] = [p1 - p0; p2 - p0; p3 - p0]`` (rows), (m, 3, 3) mm."""
    p = points[tets]
    return p[:, 1:, :] - p[:, :1, :]


def tet_volumes(points, tets) -> np.ndarray:
    """Signed volumes of the tetrahedra.

    Parameters
    ----------
    points : (n, 3) float array, mm
    tets : (m, 4) int array
        Node indices of each tetrahedron.

    Returns
    -------
    (m,) float array, mm^3
        ``det([p1 - p0, p2 - p0, p3 - p0]) / 6``: positive for a right-handed
        (positively oriented) tetrahedron, negative for an inverted one.
    """
    points, tets = _check_mesh(points, tets)
    return signed_volumes(points, tets)


def reorient_tets(points, tets) -> np.ndarray:
    """Tetrahedra with the inverted ones (negative signed volume) fixed.

    Swaps the last two nodes of every tetrahedron with a negative signed volume.

    Parameters
    ----------
    points : (n, 3) float array, mm
    tets : (m, 4) int array

    Returns
    -------
    (m, 4) int64 array
        A copy of ``tets``, all positively oriented (degenerate ones are left as they are).
    """
    points, tets = _check_mesh(points, tets)
    out = tets.copy()
    neg = tet_volumes(points, tets) < 0
    out[neg, 2], out[neg, 3] = tets[neg, 3], tets[neg, 2]
    return out


def tet_gradients(points, tets, *, allow_inverted: bool = False):
    """Gradients of the P1 shape functions and volumes of the tetrahedra.

    Parameters
    ----------
    points : (n, 3) float array, mm
    tets : (m, 4) int array
    allow_inverted : bool
        If False (default), a tetrahedron with a negative signed volume raises a
        ``ValueError`` (usually a sign of an inconsistent mesh; fix it with
        :func:`reorient_tets`). If True, the absolute volume is used, which gives the
        same stiffness matrix as the reoriented mesh.

    Returns
    -------
    grads : (m, 4, 3) float array, 1/mm
        ``grads[k, a]`` is the (constant) gradient of the shape function of local node
        ``a`` on tetrahedron ``k``; the four gradients sum to zero.
    volumes : (m,) float array, mm^3
        Absolute volumes.

    Raises
    ------
    ValueError
        On degenerate (zero-volume) tetrahedra, or inverted ones unless ``allow_inverted``.
    """
    points, tets = _check_mesh(points, tets)
    e = _edges(points, tets)
    vol = np.linalg.det(e) / 6.0
    scale = np.abs(e).max(axis=(1, 2)) ** 3 if len(e) else np.zeros(0)
    degenerate = np.abs(vol) <= 1e-12 * scale
    if degenerate.any():
        raise ValueError(f"{int(degenerate.sum())} of {len(tets)} tetrahedra are degenerate "
                         "(zero volume); remove or repair them")
    inverted = vol < 0
    if inverted.any() and not allow_inverted:
        raise ValueError(f"{int(inverted.sum())} of {len(tets)} tetrahedra are inverted "
                         "(negative signed volume); reorient them with reorient_tets() "
                         "(swap two nodes) or pass allow_inverted=True")
    # grad N_a . (p_b - p_0) = delta_ab for a, b = 1..3  ->  G = E^{-T}
    g123 = np.linalg.inv(e).transpose(0, 2, 1)
    grads = np.concatenate([-g123.sum(axis=1, keepdims=True), g123], axis=1)
    return grads, np.abs(vol)


def stiffness_matrix(points, tets, *, allow_inverted: bool = False) -> sp.csr_matrix:
    """P1 stiffness (Laplacian) matrix ``K_ij = int grad N_i . grad N_j dV``.

    Vectorised assembly: the (m, 4, 4) element matrices ``V grad N_a . grad N_b`` are
    summed into a sparse matrix in one step.

    Parameters
    ----------
    points : (n, 3) float array, mm
    tets : (m, 4) int array
    allow_inverted : bool
        See :func:`tet_gradients` (by default inverted tetrahedra raise ``ValueError``).

    Returns
    -------
    scipy.sparse.csr_matrix, (n, n), mm
        Symmetric, positive semi-definite, ``K 1 = 0``. Nodes that belong to no
        tetrahedron have empty rows.
    """
    points, tets = _check_mesh(points, tets)
    grads, vol = tet_gradients(points, tets, allow_inverted=allow_inverted)
    ke = np.einsum("kai,kbi->kab", grads, grads) * vol[:, None, None]
    rows = np.broadcast_to(tets[:, :, None], ke.shape).ravel()
    cols = np.broadcast_to(tets[:, None, :], ke.shape).ravel()
    n = len(points)
    k = sp.coo_matrix((ke.ravel(), (rows, cols)), shape=(n, n)).tocsr()
    k.sum_duplicates()
    return k


def solve_laplace(stiffness: sp.spmatrix, fixed: np.ndarray, values: np.ndarray) -> np.ndarray:
    """P1 Laplace solution with Dirichlet values on ``fixed`` nodes, zero flux elsewhere.

    Solves ``K_ff u_f = -K_fd u_d`` for the free nodes ``f`` (sparse LU). ``fixed`` is a
    boolean mask or index array; ``values`` the prescribed values (same length as the
    fixed nodes, in node order, or a scalar).
    """
    k = sp.csr_matrix(stiffness)
    n = k.shape[0]
    mask = np.zeros(n, bool)
    mask[fixed] = True
    u = np.zeros(n)
    u[mask] = np.broadcast_to(np.asarray(values, float), (int(mask.sum()),))
    free = ~mask
    kff = k[free][:, free].tocsc()
    rhs = -(k[free][:, mask] @ u[mask])
    u[free] = spla.splu(kff).solve(rhs)
    return u


def node_gradients(points, tets, values) -> np.ndarray:
    """Volume-weighted average of the element gradients of a P1 field at the nodes."""
    grads, vol = tet_gradients(points, tets)
    g = np.einsum("kai,ka->ki", grads, np.asarray(values, float)[tets])
    out = np.zeros((len(points), 3))
    w = np.zeros(len(points))
    for a in range(4):
        np.add.at(out, tets[:, a], g * vol[:, None])
        np.add.at(w, tets[:, a], vol)
    return out / np.maximum(w, 1e-300)[:, None]
