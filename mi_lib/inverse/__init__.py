"""Pipeline B inverse (notebooks 07, 09): learning scar and border zone from QRS and anatomy.

:mod:`~mi_lib.inverse.data`        samples of a simulations product: scenarios, splits, the
                                   point-cloud and QRS preprocessing rules
:mod:`~mi_lib.inverse.model`       the dual-branch VAE (encoders, decoders) and its settings
:mod:`~mi_lib.inverse.losses`      the losses of paper 004's Eqs. 4-11
:mod:`~mi_lib.inverse.training`    seeded, checkpointed, resumable training
:mod:`~mi_lib.inverse.settings`    architecture and training per profile, deviations
:mod:`~mi_lib.inverse.metrics`     Dice, precision, recall, AHA-loc, Table I
:mod:`~mi_lib.inverse.baselines`   coordinate transfer, QRS nearest neighbour, best constant
:mod:`~mi_lib.inverse.evaluation`  predictions of the model and the baselines, scored
:mod:`~mi_lib.inverse.products`    the ``inference/`` folder: train, load, apply
:mod:`~mi_lib.inverse.pointnet`, :mod:`~mi_lib.inverse.soft_dtw`  point operations, soft-DTW
"""

import os

# before torch is first imported: spin-waiting OpenMP threads stall 2-core machines
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .data import (  # noqa: E402 - after the environment is set
    PAPER_SPLIT,
    QRS_WINDOW_MS,
    XYZ_SCALE_MM,
    Samples,
    infarct_scenarios,
    load_samples,
    point_features,
    prepare_qrs,
    split_subjects,
)
from .losses import LossWeights, inference_loss
from .metrics import METRIC_COLUMNS, PAPER_TABLE1, sample_metrics, table1
from .model import DualBranchVAE, ModelConfig
from .products import apply_model, fit, load_model, write_predictions
from .settings import deviations, model_config, profile_settings, training_settings
from .soft_dtw import soft_dtw, soft_dtw_divergence
from .training import TrainingSettings, train

__all__ = [
    "METRIC_COLUMNS",
    "PAPER_SPLIT",
    "PAPER_TABLE1",
    "QRS_WINDOW_MS",
    "XYZ_SCALE_MM",
    "DualBranchVAE",
    "LossWeights",
    "ModelConfig",
    "Samples",
    "TrainingSettings",
    "apply_model",
    "deviations",
    "fit",
    "infarct_scenarios",
    "inference_loss",
    "load_model",
    "load_samples",
    "model_config",
    "point_features",
    "prepare_qrs",
    "profile_settings",
    "sample_metrics",
    "soft_dtw",
    "soft_dtw_divergence",
    "split_subjects",
    "table1",
    "train",
    "training_settings",
    "write_predictions",
]
