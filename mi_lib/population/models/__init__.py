"""Stochastic geometric infarct models on the reference anatomy (paper 000, §2.2)."""

from .base import (
    MODELS,
    EllipticalModel,
    InfarctModel,
    IterativeModel,
    Parameter,
    make_model,
    parameter_sweep,
)
from .domain import Domain, infarct_centre

__all__ = ["MODELS", "Domain", "EllipticalModel", "InfarctModel", "IterativeModel",
           "Parameter", "infarct_centre", "make_model", "parameter_sweep"]
