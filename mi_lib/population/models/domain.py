"""The domain of the infarct models: the reference myocardium in 2D or 3D.

Paper 000 (§2.2) generates lesions on the reference anatomy and personalises the 2D
version at the mid-ventricular level; the 3D version (its future work) lives on the
whole reference stack. A :class:`Domain` holds the myocardial voxels (the only ones that
matter to a distance between infarct images), their packed-bit layout, the reference
geometry, and the start zone of the models: a small patch of endocardium around the
centre of mass of the real population's infarcts.

Positions are ``(z, y, x)`` in pixels, ``z = slice * slice_spacing``; angles follow the
reference's circumferential coordinate ``c`` in turns (0 at the anterior RV insertion,
increasing counter-clockwise on screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..reference import ReferenceAnatomy


@dataclass(frozen=True, eq=False)
class Domain:
    """Myocardial voxels of the reference grid on which infarcts are generated.

    Parameters
    ----------
    mask : bool array (n_z, ny, nx)
        Myocardium on the slices of the domain (one slice in 2D).
    slices : int array (n_z,)
        Indices of those slices in the reference stack.
    reference : ReferenceAnatomy
        Geometry (endocardial radii, slice spacing, orientation).
    start_c, start_l : float
        Centre of the start zone: circumferential coordinate (turns) and long-axis
        coordinate (0 base, 1 apex) of the real infarcts' centre of mass.
    zone_c, zone_l : float
        Half-widths of the start zone (turns; long-axis units, 3D only).
    """

    mask: np.ndarray
    slices: np.ndarray
    reference: ReferenceAnatomy
    start_c: float
    start_l: float
    zone_c: float = 10.0 / 360.0
    zone_l: float = 0.05

    @property
    def dims(self) -> int:
        return 2 if self.mask.shape[0] == 1 else 3

    @property
    def planar(self) -> bool:
        return self.dims == 2

    @property
    def dz(self) -> float:
        """Slice spacing in pixels (unused in 2D)."""
        return float(self.reference.slice_spacing)

    @cached_property
    def index(self) -> np.ndarray:
        """``(n_z, ny, nx)`` int32 voxel number of each myocardial voxel, -1 elsewhere."""
        idx = np.full(self.mask.shape, -1, np.int32)
        idx[self.mask] = np.arange(int(self.mask.sum()), dtype=np.int32)
        return idx

    @cached_property
    def runs(self) -> tuple[np.ndarray, np.ndarray]:
        """Runs of consecutive myocardial voxels along x in each grid row.

        Returns ``runs (n_z, ny, R, 3)`` int64 rows ``(x_first, x_last, first_voxel)``
        and ``n_runs (n_z, ny)``.
        """
        nz, ny, nx = self.mask.shape
        m = self.mask.astype(np.int8)
        edges = np.diff(np.pad(m, ((0, 0), (0, 0), (1, 1))), axis=-1)
        n_runs = (edges == 1).sum(-1)
        runs = np.zeros((nz, ny, max(int(n_runs.max()), 1), 3), np.int64)
        idx = self.index
        for iz in range(nz):
            for iy in range(ny):
                first = np.flatnonzero(edges[iz, iy] == 1)
                last = np.flatnonzero(edges[iz, iy] == -1) - 1
                for r, (a, b) in enumerate(zip(first, last, strict=True)):
                    runs[iz, iy, r] = (a, b, idx[iz, iy, a])
        return runs, n_runs.astype(np.int64)

    @property
    def n_voxels(self) -> int:
        return int(self.mask.sum())

    @property
    def n_words(self) -> int:
        return (self.n_voxels + 63) // 64

    # --- layouts ------------------------------------------------------------------
    def voxels(self, images: np.ndarray) -> np.ndarray:
        """``(..., n_z, ny, nx)`` images -> ``(..., n_voxels)`` values on the myocardium."""
        return np.asarray(images)[..., self.mask]

    def images(self, voxels: np.ndarray) -> np.ndarray:
        """``(..., n_voxels)`` -> ``(..., n_z, ny, nx)`` images, zero off the myocardium."""
        voxels = np.asarray(voxels)
        out = np.zeros(voxels.shape[:-1] + self.mask.shape, voxels.dtype)
        out[..., self.mask] = voxels
        return out

    def pack(self, voxels: np.ndarray) -> np.ndarray:
        """Boolean ``(..., n_voxels)`` -> packed ``(..., n_words)`` uint64 bits."""
        voxels = np.asarray(voxels, bool)
        pad = self.n_words * 64 - voxels.shape[-1]
        padded = np.concatenate([voxels, np.zeros(voxels.shape[:-1] + (pad,), bool)], -1)
        packed = np.packbits(padded, axis=-1, bitorder="little")
        return np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False)

    def unpack(self, bits: np.ndarray) -> np.ndarray:
        """Packed ``(..., n_words)`` bits -> boolean ``(..., n_voxels)``."""
        bits = np.ascontiguousarray(bits, dtype="<u8")
        raw = np.unpackbits(bits.view(np.uint8), axis=-1, bitorder="little")
        return raw[..., : self.n_voxels].astype(bool)

    # --- start points ----------------------------------------------------------------
    def start_points(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Endocardial start points and their local frames from uniform draws.

        Parameters
        ----------
        u : array (S, 2)
            Uniform draws in [0, 1): circumferential and long-axis position in the zone.

        Returns
        -------
        start : array (S, 3)
            ``(z, y, x)`` in pixels, on the endocardium.
        frames : array (S, 3, 3)
            Rows: outward unit normal (radial), circumferential and longitudinal unit
            tangents, in ``(z, y, x)``. In 2D the normal is the in-plane radial direction.
        """
        ref = self.reference
        u = np.asarray(u, float)
        c = self.start_c + self.zone_c * (2 * u[:, 0] - 1)
        phi = ref.c_to_screen_angle(c)
        if self.planar:
            endo, _ = ref.radii()
            rho = np.full(len(u), endo[int(self.slices[0])])
            z = np.zeros(len(u))
            normal = np.stack([np.zeros_like(phi), -np.sin(phi), np.cos(phi)], -1)
        else:
            h_endo = ref.endo_long_axis
            l = np.clip(self.start_l + self.zone_l * (2 * u[:, 1] - 1), 0.0, None)
            z = np.minimum(l * ref.apex_depth * ref.long_axis, 0.95 * h_endo)
            rho = ref.r_endo * np.sqrt(1 - (z / h_endo) ** 2)
            # gradient of (X^2 + Y^2) / R^2 + z^2 / H^2 in (z, y, x); screen y points down
            normal = np.stack([z / h_endo**2, -rho * np.sin(phi) / ref.r_endo**2,
                               rho * np.cos(phi) / ref.r_endo**2], -1)
            normal /= np.linalg.norm(normal, axis=-1, keepdims=True)
        tangent = np.stack([np.zeros_like(phi), -np.cos(phi), -np.sin(phi)], -1)
        longitudinal = np.cross(normal, tangent)
        longitudinal /= np.linalg.norm(longitudinal, axis=-1, keepdims=True)
        start = np.stack([z, ref.centre - rho * np.sin(phi), ref.centre + rho * np.cos(phi)], -1)
        return start, np.stack([normal, tangent, longitudinal], 1)

    def describe(self) -> dict:
        """The domain as netCDF-friendly attributes."""
        return {"dims": self.dims, "slices": [int(s) for s in self.slices],
                "n_voxels": self.n_voxels, "start_c": float(self.start_c),
                "start_l": float(self.start_l), "zone_c": float(self.zone_c),
                "zone_l": float(self.zone_l), **self.reference.attrs()}

    # --- construction ----------------------------------------------------------------
    @staticmethod
    def _slices(reference: ReferenceAnatomy, dims: int, slice_index: int | None) -> np.ndarray:
        if dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {dims!r}")
        n = reference.n_slices
        if dims == 3:
            return np.arange(n)
        k = n // 2 if slice_index is None else int(slice_index)
        if not 0 <= k < n:
            raise ValueError(f"slice_index {k} outside the reference's {n} slices")
        return np.array([k])

    @classmethod
    def from_reference(cls, reference: ReferenceAnatomy, dims: int = 2, *,
                       start_c: float = 0.0, start_l: float = 0.5,
                       slice_index: int | None = None, zone_deg: float = 10.0,
                       zone_l: float = 0.05) -> Domain:
        """The domain of a reference anatomy with a given start zone centre."""
        slices = cls._slices(reference, dims, slice_index)
        return cls(mask=reference.myocardium[slices], slices=slices, reference=reference,
                   start_c=float(start_c), start_l=float(start_l), zone_c=zone_deg / 360.0,
                   zone_l=zone_l)

    @classmethod
    def from_population(cls, population, dims: int = 2, *, slice_index: int | None = None,
                        zone_deg: float = 10.0, zone_l: float = 0.05,
                        threshold: float = 0.5) -> Domain:
        """The domain of a ``population.nc`` dataset (see notebook 01).

        ``dims=2`` uses one slice, the mid-ventricular one by default; ``dims=3`` the
        stack. The start zone is centred on the mean of the real infarcts' centres of mass
        (per subject, the circular mean of the infarct voxels' circumferential coordinate
        and the mean of their long-axis coordinate; subjects without infarct voxels in
        the domain are left out).
        """
        reference = ReferenceAnatomy.from_attrs(population.attrs)
        myo = np.asarray(population["myocardium"].values, bool)
        if myo.shape != reference.myocardium.shape:
            raise ValueError(
                f"population myocardium has shape {myo.shape} but its reference attributes "
                f"describe {reference.myocardium.shape}: rebuild population.nc with notebook 01")
        slices = cls._slices(reference, dims, slice_index)
        mask = myo[slices]
        infarct = np.asarray(population["infarct"].values[:, slices]) > threshold
        start_c, start_l = infarct_centre(infarct, mask, reference, slices)
        return cls(mask=mask, slices=slices, reference=reference, start_c=start_c,
                   start_l=start_l, zone_c=zone_deg / 360.0, zone_l=zone_l)

    def descriptors(self, voxels: np.ndarray):
        """Size, transmurality and extent (:func:`mi_lib.population.reference.infarct_descriptors`)
        of infarcts ``(n, n_voxels)`` on this domain, as a table (one row per infarct)."""
        import pandas as pd

        from ..reference import infarct_descriptors

        k = np.broadcast_to(self.slices[:, None, None], self.mask.shape)[self.mask]
        c = np.asarray(self.reference.circumferential[self.slices])[self.mask]
        rows = [infarct_descriptors(k, c, v) for v in np.asarray(voxels, float)]
        return pd.DataFrame(rows)

    def real_samples(self, population, threshold: float = 0.5) -> np.ndarray:
        """Binary real infarcts ``(subject, n_voxels)`` of a population on this domain."""
        stack = np.asarray(population["infarct"].values[:, self.slices])
        return self.voxels(stack > threshold)


def infarct_centre(infarct: np.ndarray, mask: np.ndarray, reference: ReferenceAnatomy,
                   slices: np.ndarray) -> tuple[float, float]:
    """Mean centre of mass ``(c, l)`` of binary infarcts ``(subject, n_z, ny, nx)``."""
    c_map = np.asarray(reference.circumferential[slices], float)
    l_map = np.broadcast_to(reference.l[slices][:, None, None], mask.shape)
    vectors, ls = [], []
    for pattern in infarct:
        sel = pattern & mask
        if not sel.any():
            continue
        ang = 2 * np.pi * c_map[sel]
        vectors.append([np.cos(ang).mean(), np.sin(ang).mean()])
        ls.append(l_map[sel].mean())
    if not vectors:
        raise ValueError("no infarct voxel in the domain: cannot place the start zone")
    v = np.asarray(vectors)
    v /= np.linalg.norm(v, axis=1, keepdims=True) + 1e-12
    c = np.mod(np.arctan2(v[:, 1].mean(), v[:, 0].mean()) / (2 * np.pi), 1.0)
    return float(c), float(np.mean(ls))
