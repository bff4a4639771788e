"""Stochastic infarct models: the common interface and the parameter mapping.

A model draws random infarct patterns ``f_r(theta)`` (paper 000, §2.3). CMA-ES searches
``x in R^m``; the model maps it to physical parameters ``theta_i = unit_i * |x_i|``
(:class:`Parameter`). :meth:`InfarctModel.draw` returns the randomness (independent of
``theta``) and :meth:`InfarctModel.generate` maps it through a batch of parameter
vectors, so candidates can share one draw. A new model is one subclass that sets
``name``, declares its parameters and implements ``draw`` and ``generate``; it is
registered in :data:`MODELS` by name.

The models, the mapping and common random numbers: ``docs/population/models.md``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import _kernels
from .domain import Domain

#: Registered models by name.
MODELS: dict[str, type[InfarctModel]] = {}


@dataclass(frozen=True)
class Parameter:
    """One model parameter: ``value = unit * |x|`` in ``units``."""

    name: str
    unit: float
    units: str
    description: str


class InfarctModel(ABC):
    """A stochastic infarct model on a :class:`Domain`.

    Subclasses set ``name`` and implement :meth:`parameters`, :meth:`draw` and
    :meth:`generate`.
    """

    name: ClassVar[str] = ""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.name:
            MODELS[cls.name] = cls

    def __init__(self, domain: Domain):
        self.domain = domain

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.domain.dims}D, {self.domain.n_voxels} voxels)"

    # --- parameters ------------------------------------------------------------------
    @abstractmethod
    def parameters(self) -> tuple[Parameter, ...]:
        """The model's parameters in this domain's dimension."""

    @property
    def n_parameters(self) -> int:
        return len(self.parameters())

    @property
    def parameter_names(self) -> list[str]:
        return [p.name for p in self.parameters()]

    def physical(self, x: np.ndarray) -> np.ndarray:
        """CMA-ES coordinates ``(..., m)`` -> physical parameters ``unit * |x|``."""
        units = np.array([p.unit for p in self.parameters()])
        return units * np.abs(np.asarray(x, float))

    def describe(self, theta: np.ndarray) -> str:
        """``theta`` as text: ``"name value units"`` per parameter, a ``*_centre`` /
        ``*_extension`` pair as ``"name centre ± extension units"``."""
        values = dict(zip(self.parameter_names, np.asarray(theta, float), strict=True))
        parts = []
        for p in self.parameters():
            if p.name.endswith("_extension"):
                continue
            if p.name.endswith("_centre"):
                stem = p.name[: -len("_centre")]
                parts.append(f"{stem} {values[p.name]:g} ± {values[stem + '_extension']:g} "
                             f"{p.units}")
            else:
                parts.append(f"{p.name} {values[p.name]:g} {p.units}")
        return ", ".join(parts)

    def unconstrained(self, theta: np.ndarray) -> np.ndarray:
        """Physical parameters (non-negative) -> the CMA-ES coordinates ``theta / unit``."""
        units = np.array([p.unit for p in self.parameters()])
        return np.asarray(theta, float) / units

    # --- sampling --------------------------------------------------------------------
    @abstractmethod
    def draw(self, n: int, rng: np.random.Generator) -> dict:
        """Parameter-free random numbers for ``n`` samples (start points included)."""

    @abstractmethod
    def generate(self, theta: np.ndarray, draws: dict) -> np.ndarray:
        """Packed infarcts ``(K, n, n_words)`` for physical parameters ``theta (K, m)``."""

    def sample(self, theta: np.ndarray, n: int, rng: np.random.Generator | int | None = None,
               *, packed: bool = False) -> np.ndarray:
        """``n`` random infarcts at physical parameters ``theta (m,)``.

        Returns boolean ``(n, n_voxels)`` voxels (see :meth:`Domain.images`), or the
        packed bits with ``packed=True``.
        """
        rng = np.random.default_rng(rng)
        theta = np.atleast_2d(np.asarray(theta, float))
        if theta.shape != (1, self.n_parameters):
            raise ValueError(f"{self.name} needs {self.n_parameters} parameters "
                             f"{self.parameter_names}, got shape {theta.shape[1:]}")
        bits = self.generate(theta, self.draw(n, rng))[0]
        return bits if packed else self.domain.unpack(bits)

    def _start(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return self.domain.start_points(rng.random((n, 2)))


class IterativeModel(InfarctModel):
    """Union of random balls grown from the endocardium (paper 000 §2.2, after [4]).

    The first ball is centred on an endocardial start point; each next ball is centred
    on a uniform random point of the previous one (a disc in 2D, a ball in 3D); radii are
    uniform in ``[0, max_radius]``; the infarct is the union intersected with the
    myocardium. The number of balls of a sample is ``floor(n_iterations + u)`` with
    ``u ~ U[0, 1)`` (at least 1, at most ``max_balls``), so the mean count is
    ``n_iterations`` and the model's law varies continuously with it.
    """

    name = "iterative"
    max_balls: int = 64

    def parameters(self):
        return (Parameter("n_iterations", 2.0, "balls", "mean number of balls"),
                Parameter("max_radius", 2.0, "px", "maximal ball radius"))

    def draw(self, n, rng):
        start, frames = self._start(n, rng)
        return {"start": start, "frames": frames, "u_count": rng.random(n),
                "u": rng.random((n, self.max_balls, 4))}

    def generate(self, theta, draws):
        theta = np.atleast_2d(np.asarray(theta, float))
        n = len(draws["start"])
        bits = _kernels.iterative_kernel(
            np.ascontiguousarray(theta[:, 0]), np.ascontiguousarray(theta[:, 1]),
            draws["start"], draws["u_count"], draws["u"], self.domain.planar,
            *self.domain.runs, self.domain.dz, self.domain.n_words)
        return bits.reshape(len(theta), n, -1)


class EllipticalModel(InfarctModel):
    """Ellipse (2D) or ellipsoid (3D) centred on the endocardium (paper 000 §2.2, after [8]).

    Semi-axes along the local radial (short axis), circumferential and, in 3D,
    longitudinal (long axes) directions; each semi-axis is drawn per sample from
    ``U[centre - extension, centre + extension]`` and floored at ``min_axis`` pixels.
    The infarct is the ellipsoid intersected with the myocardium. The long axes' units
    are 3x the short axis' (paper §3.1).
    """

    name = "elliptical"
    min_axis: float = 0.5

    def parameters(self):
        out = [Parameter("radial_centre", 2.0, "px", "mean radial semi-axis"),
               Parameter("radial_extension", 2.0, "px", "half-range of the radial semi-axis"),
               Parameter("circumferential_centre", 6.0, "px", "mean circumferential semi-axis"),
               Parameter("circumferential_extension", 6.0, "px",
                         "half-range of the circumferential semi-axis")]
        if self.domain.dims == 3:
            out += [Parameter("longitudinal_centre", 6.0, "px", "mean longitudinal semi-axis"),
                    Parameter("longitudinal_extension", 6.0, "px",
                              "half-range of the longitudinal semi-axis")]
        return tuple(out)

    def draw(self, n, rng):
        start, frames = self._start(n, rng)
        return {"start": start, "frames": frames, "u": rng.random((n, 3))}

    def axes(self, theta: np.ndarray, draws: dict) -> np.ndarray:
        """Semi-axes ``(K, n, 3)`` in pixels (radial, circumferential, longitudinal)."""
        theta = np.atleast_2d(np.asarray(theta, float))
        n_axes = theta.shape[1] // 2
        centre, ext = theta[:, 0::2], theta[:, 1::2]
        u = draws["u"][None, :, :n_axes]
        axes = np.maximum(centre[:, None] + ext[:, None] * (2 * u - 1), self.min_axis)
        if n_axes == 2:
            axes = np.concatenate([axes, np.full(axes.shape[:2] + (1,), np.inf)], -1)
        return axes

    def generate(self, theta, draws):
        axes = self.axes(theta, draws)
        bits = _kernels.ellipsoid_kernel(np.ascontiguousarray(axes), draws["start"],
                                         draws["frames"], *self.domain.runs,
                                         self.domain.dz, self.domain.n_words)
        return bits.reshape(axes.shape[0], axes.shape[1], -1)


def parameter_sweep(model: InfarctModel, x_name: str, xs, line_name: str, lines,
                    fixed: dict | None = None, n: int = 200, seed: int = 0):
    """Mean descriptors of ``n`` draws over a grid of two physical parameters.

    ``x_name`` takes the values ``xs`` and ``line_name`` the values ``lines``; the other
    parameters are set by ``fixed``. Every setting uses the same ``seed`` (common random
    numbers), so settings differ by their parameters only. Returns a table with the mean
    and SD of the infarct size and the mean transmural extent
    (:meth:`Domain.descriptors`) per setting.
    """
    import pandas as pd

    units = {p.name: p.units for p in model.parameters()}
    rows = []
    for line in lines:
        for x in xs:
            values = {x_name: x, line_name: line, **(fixed or {})}
            theta = [values[p] for p in model.parameter_names]
            stats = model.domain.descriptors(model.sample(theta, n, seed))
            rows.append({"model": model.name, "x_name": f"{x_name} ({units[x_name]})", "x": x,
                         "line_name": f"{line_name} ({units[line_name]})", "line": line,
                         "size": stats["size"].mean(), "size_sd": stats["size"].std(),
                         "transmural_extent": stats["transmural_extent"].mean()})
    return pd.DataFrame(rows)


def make_model(name: str, domain: Domain) -> InfarctModel:
    """The registered model ``name`` on ``domain``."""
    try:
        return MODELS[name](domain)
    except KeyError:
        raise ValueError(f"unknown infarct model {name!r}: choose one of "
                         f"{', '.join(sorted(MODELS))}") from None
