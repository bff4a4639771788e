"""Pipeline B inverse (notebooks 07, 09): learning scar and border zone from QRS and anatomy.

:mod:`~mi_lib.inverse.data`      samples of a simulations product: scenarios, splits, the
                                 point-cloud and QRS preprocessing rules
:mod:`~mi_lib.inverse.encoders`  Encoder_PC (PointNet++ set abstraction) and Encoder_QRS
:mod:`~mi_lib.inverse.pointnet`  PointNet++ sampling, grouping and interpolation (torch)
:mod:`~mi_lib.inverse.soft_dtw`  differentiable soft-DTW and soft-DTW divergence (torch)
"""

from .data import (
    PAPER_SPLIT,
    QRS_WINDOW_MS,
    XYZ_SCALE_MM,
    infarct_scenarios,
    point_features,
    prepare_qrs,
    split_subjects,
)
from .encoders import DEFAULT_LEVELS, EncoderPC, EncoderQRS, Level, SetAbstraction, cloud_hierarchy
from .pointnet import (
    ball_query,
    farthest_point_sample,
    gather,
    interpolate,
    interpolation_weights,
    knn,
    square_distances,
)
from .soft_dtw import soft_dtw, soft_dtw_divergence

__all__ = [
    "DEFAULT_LEVELS",
    "EncoderPC",
    "EncoderQRS",
    "Level",
    "SetAbstraction",
    "cloud_hierarchy",
    "PAPER_SPLIT",
    "QRS_WINDOW_MS",
    "XYZ_SCALE_MM",
    "ball_query",
    "farthest_point_sample",
    "gather",
    "infarct_scenarios",
    "interpolate",
    "interpolation_weights",
    "knn",
    "point_features",
    "prepare_qrs",
    "soft_dtw",
    "soft_dtw_divergence",
    "split_subjects",
    "square_distances",
]
