"""The reference anatomy: a semi-ellipsoidal LV sampled as a stack of short-axis slices.

:class:`ReferenceAnatomy` defaults to 21 slices of 80 x 80 pixels (paper 000, §2.1) with
endocardial and epicardial radii of 21 and 35 pixels; its coordinates ``r`` (radial),
``c`` (circumferential) and ``l`` (long-axis) are analytic. Units are pixels.

Image convention: arrays ``(slice, y, x)``, shown with ``imshow`` (x to the right, y
downwards); the anterior RV insertion at 120 degrees (screen angle, counter-clockwise
from +x), the septum 120-240 degrees on the left of the image; ``c`` increases
counter-clockwise on screen.

The geometry and why it departs from the paper's radii: ``docs/population/reference.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class ReferenceAnatomy:
    """Semi-ellipsoidal reference LV on a ``(n_slices, grid_size, grid_size)`` pixel grid."""

    grid_size: int = 80
    n_slices: int = 21
    r_endo: float = 21.0
    r_epi: float = 35.0
    apex_depth: float = 0.90
    endo_length: float = 0.88
    anterior_angle_deg: float = 120.0
    septal_fraction: float = 1 / 3
    long_axis: float = 70.0

    def __post_init__(self):
        if not 0 < self.r_endo < self.r_epi:
            raise ValueError("need 0 < r_endo < r_epi")
        if self.r_epi > self.grid_size / 2 - 1:
            raise ValueError(f"r_epi={self.r_epi} does not fit a {self.grid_size}-pixel grid")
        if not 0 < self.endo_length < self.apex_depth < 1:
            raise ValueError("need 0 < endo_length < apex_depth < 1")
        if self.n_slices < 2:
            raise ValueError("need at least 2 slices")
        if self.long_axis <= 0:
            raise ValueError("need long_axis > 0")

    def attrs(self) -> dict:
        """The geometry as netCDF-friendly attributes (prefixed ``reference_``)."""
        return {f"reference_{k}": v for k, v in asdict(self).items()}

    @classmethod
    def from_attrs(cls, attrs: dict) -> ReferenceAnatomy:
        """The geometry back from :meth:`attrs` (other attributes are ignored)."""
        known = {f.name for f in fields(cls)}
        kw = {k[len("reference_"):]: v for k, v in attrs.items()
              if k.startswith("reference_") and k[len("reference_"):] in known}
        kw["grid_size"] = int(kw["grid_size"])
        kw["n_slices"] = int(kw["n_slices"])
        return cls(**{k: (v.item() if hasattr(v, "item") else v) for k, v in kw.items()})

    @property
    def l(self) -> np.ndarray:
        """Long-axis coordinate of each slice (0 base -> 1 apex)."""
        return np.linspace(0.0, 1.0, self.n_slices)

    @property
    def slice_spacing(self) -> float:
        """Distance between consecutive slices, in pixels."""
        return self.apex_depth * self.long_axis / (self.n_slices - 1)

    @property
    def endo_long_axis(self) -> float:
        """Long semi-axis of the endocardial semi-ellipsoid, in pixels."""
        return self.endo_length * self.long_axis

    @property
    def centre(self) -> float:
        return (self.grid_size - 1) / 2

    def radii(self) -> tuple[np.ndarray, np.ndarray]:
        """Endocardial and epicardial radius (pixels) of each slice; 0 where closed."""
        zh = self.l * self.apex_depth
        epi = self.r_epi * np.sqrt(np.clip(1 - zh**2, 0, None))
        endo = self.r_endo * np.sqrt(np.clip(1 - (zh / self.endo_length) ** 2, 0, None))
        return endo, epi

    @cached_property
    def _polar(self):
        idx = np.arange(self.grid_size) - self.centre
        y, x = np.meshgrid(idx, idx, indexing="ij")
        rho = np.hypot(x, y)
        screen = np.arctan2(-y, x)  # y grows downwards on screen
        return rho, screen

    @cached_property
    def myocardium(self) -> np.ndarray:
        """Boolean ``(slice, y, x)`` mask of the reference myocardium."""
        rho, _ = self._polar
        endo, epi = self.radii()
        return (rho[None] >= endo[:, None, None]) & (rho[None] <= epi[:, None, None])

    @cached_property
    def cavity(self) -> np.ndarray:
        rho, _ = self._polar
        endo, _ = self.radii()
        return rho[None] < endo[:, None, None]

    @cached_property
    def radial(self) -> np.ndarray:
        """Radial coordinate ``(slice, y, x)``; NaN outside the myocardium."""
        rho, _ = self._polar
        endo, epi = self.radii()
        r = (rho[None] - endo[:, None, None]) / (epi - endo)[:, None, None]
        return np.where(self.myocardium, np.clip(r, 0, 1), np.nan)

    @cached_property
    def circumferential(self) -> np.ndarray:
        """Circumferential coordinate ``(slice, y, x)`` in [0, 1); NaN outside the myocardium."""
        _, screen = self._polar
        c = np.mod(screen - np.deg2rad(self.anterior_angle_deg), 2 * np.pi) / (2 * np.pi)
        return np.where(self.myocardium, np.broadcast_to(c, self.myocardium.shape), np.nan)

    @cached_property
    def longitudinal(self) -> np.ndarray:
        """Long-axis coordinate ``(slice, y, x)``; NaN outside the myocardium."""
        return np.where(self.myocardium, self.l[:, None, None], np.nan)

    def insertion_points(self) -> np.ndarray:
        """Screen positions (x, y) of the anterior and inferior RV insertions on the basal
        epicardium, shape (2, 2)."""
        out = []
        for c in (0.0, self.septal_fraction):
            ang = np.deg2rad(self.anterior_angle_deg) + 2 * np.pi * c
            out.append((self.centre + self.r_epi * np.cos(ang),
                        self.centre - self.r_epi * np.sin(ang)))
        return np.array(out)

    def c_to_screen_angle(self, c) -> np.ndarray:
        """Screen angle (radians) of circumferential coordinate ``c``."""
        return np.deg2rad(self.anterior_angle_deg) + 2 * np.pi * np.asarray(c)
