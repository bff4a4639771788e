"""Pipeline B inverse (notebooks 07, 09): learning scar and border zone from QRS and anatomy.

:mod:`~mi_lib.inverse.soft_dtw`  differentiable soft-DTW and soft-DTW divergence (torch)
"""

from .soft_dtw import soft_dtw, soft_dtw_divergence

__all__ = [
    "soft_dtw",
    "soft_dtw_divergence",
]
