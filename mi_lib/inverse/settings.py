"""The inverse model's architecture and training per profile, and how they depart from
paper 004's.

The profile's ``inverse`` settings (:data:`~mi_lib.core.config.PROFILE_SETTINGS`) give the
input points, the QRS length, a width factor and the epochs; :func:`model_config` scales
the paper's architecture by them (same layers, same latent, fewer points and narrower
layers), :func:`deviations` lists what differs from the paper, for the product's settings
and the notebook.
"""

from __future__ import annotations

from .encoders import Level
from .model import ModelConfig
from .training import TrainingSettings

PAPER = ModelConfig()
#: the paper's optimiser: learning rate, epochs, and the step decay's period in epochs
#: (6800 iterations of batch 4 over 34 x 16 training samples)
PAPER_LR, PAPER_EPOCHS, PAPER_DECAY_EVERY = 1e-4, 300, 50


#: the ablations of paper 004's Fig. 10: loss weights set to 0
ABLATIONS = {"no_spa_compact": {"spa": 0.0, "compact": 0.0}, "no_compact": {"compact": 0.0},
             "no_size": {"size": 0.0}}


def _scale(widths, factor: float):
    if isinstance(widths, int):
        return max(4, int(round(widths * factor)))
    return tuple(_scale(w, factor) for w in widths)


def model_config(n_points: int = 4096, qrs_length: int = 512, width: float = 1.0,
                 branches: str = "both") -> ModelConfig:
    """The paper's architecture for ``n_points`` input points and a QRS of ``qrs_length``,
    layer widths times ``width``. The two sampled levels keep the paper's ratios (1/8 and
    1/32 of the points); their ball radii grow as the points thin out (as
    ``n_points ** -1/3`` from 0.1 and 0.2 at 4096 points, in units of 100 mm); the output
    clouds are ``n_points / 4`` (coarse) and ``n_points`` (dense), as 1024 / 4096."""
    if n_points < 64 or n_points % 32:
        raise ValueError(f"n_points = {n_points}: need a multiple of 32, at least 64")
    grow = (4096 / n_points) ** (1 / 3)
    levels = (Level(n_points // 8, round(0.1 * grow, 4), 32),
              Level(n_points // 32, round(0.2 * grow, 4), 32), Level(0, 0.0, 0))
    return ModelConfig(
        n_points=n_points, qrs_length=qrs_length, levels=levels,
        pc_widths=_scale(PAPER.pc_widths, width), qrs_channels=_scale(PAPER.qrs_channels, width),
        qrs_hidden=_scale(PAPER.qrs_hidden, width), n_coarse_out=n_points // 4,
        n_dense_out=n_points, pc_decoder_widths=_scale(PAPER.pc_decoder_widths, width),
        fold_width=_scale(PAPER.fold_width, width), inf_widths=_scale(PAPER.inf_widths, width),
        branches=branches)


def training_settings(epochs: int = 300, lr: float = 1e-4, decay_every: int = 50,
                      seed: int = 0, **weights) -> TrainingSettings:
    """The paper's optimiser (Adam, weight decay 1e-3, batch 4, step decay 0.5) for
    ``epochs`` at learning rate ``lr``, halved every ``decay_every`` epochs (paper: 6800
    iterations, 50 epochs of its 544 training samples); ``weights`` override
    :class:`~mi_lib.inverse.losses.LossWeights`. A fixed ``decay_every`` makes the first
    ``k`` epochs of a long training exactly a ``k``-epoch training."""
    from .losses import LossWeights

    return TrainingSettings(epochs=int(epochs), lr=float(lr), decay_every=int(decay_every),
                            seed=int(seed), weights=LossWeights(**weights))


def profile_settings(profile: str, seed: int = 0) -> tuple[ModelConfig, TrainingSettings]:
    """The profile's :class:`ModelConfig` and :class:`TrainingSettings`."""
    from ..core.config import settings

    p = settings(profile)["inverse"]
    return (model_config(p["n_points"], p["qrs_length"], p["width"]),
            training_settings(p["epochs"], p["lr"], p["decay_every"], seed))


def deviations(config: ModelConfig, training: TrainingSettings) -> list[str]:
    """What differs from the paper's model and training, in words."""
    out = []
    paper = {"input points": (PAPER.n_points, config.n_points),
             "QRS length": (PAPER.qrs_length, config.qrs_length),
             "coarse / dense output points": ((PAPER.n_coarse_out, PAPER.n_dense_out),
                                              (config.n_coarse_out, config.n_dense_out)),
             "Encoder_PC widths": (PAPER.pc_widths, config.pc_widths),
             "Decoder_inf widths": (PAPER.inf_widths, config.inf_widths),
             "QRS channels / LSTM hidden": ((PAPER.qrs_channels, PAPER.qrs_hidden),
                                            (config.qrs_channels, config.qrs_hidden)),
             "epochs": (PAPER_EPOCHS, training.epochs),
             "learning rate": (PAPER_LR, training.lr),
             "learning-rate halving period (epochs)": (PAPER_DECAY_EVERY, training.decay_every)}
    for what, (a, b) in paper.items():
        if a != b:
            out.append(f"{what}: {b} (paper {a})")
    if config.branches != "both":
        out.append(f"branches: {config.branches}")
    if config.frequencies:
        out.append(f"Decoder_inf's input points carry a Fourier encoding of tm, ab, rt "
                   f"(frequencies {tuple(config.frequencies)}; not in the paper)")
    out.append("Encoder_QRS reads its input standardised per lead and sample (training-set "
               "statistics) and its linear layer reads the whole BiLSTM output sequence "
               "(the paper does not say)")
    out.append("Eq. 9 (size) as |N_pre - N_gd| / N_gd (the printed form is signed)")
    return out
