"""The file names of the products notebooks hand to each other, in one place.

Every product lives under ``data/derived/<run_name>/`` (:class:`~mi_lib.core.config.RunPaths`);
its layout is documented in ``data/README.md``. Code and notebooks name a product through
these constants, never by a literal.
"""

from __future__ import annotations

#: notebook 01 (or :func:`mi_lib.population.products.synthetic_cohort`): the synthetic
#: LGE cohort folder, in the cohort format of ``data/README.md``
COHORT = "cohort"
#: notebook 01: the cohort on the reference anatomy
POPULATION = "population.nc"
#: notebook 04: the Isomap comparison of the real and synthetic populations
ISOMAP = "isomap.nc"
#: notebook 05: the virtual cohort's simulations (QRS, tissue, coordinates, point clouds)
SIMULATIONS = "simulations.zarr"
#: notebook 06: the QRS sensitivity analysis
SENSITIVITY = "sensitivity.nc"

#: notebook 08: population-model infarcts simulated on the virtual cohort (the layout of
#: ``simulations.zarr`` with an ``infarct`` dimension)
MI_POPULATION = "mi_population.zarr"
#: notebook 08: the checks that the bridge is faithful
BRIDGE_CHECKS = "bridge_checks.csv"

#: notebook 09: posterior maps and per-case uncertainty of the test set
UNCERTAINTY = "uncertainty.nc"
#: notebook 09: ECE and Brier score per class, before and after temperature scaling
CALIBRATION = "calibration.csv"
#: notebook 09: Dice / AHA-loc under degraded ECGs, with and without augmentation
ROBUSTNESS = "robustness.csv"
#: notebook 09: the model-based inversion beside the network, per case and method
MODEL_BASED = "model_based.csv"
#: notebook 09: how far the degraded test QRS lie from the training set's (novelty score)
NOVELTY = "novelty.csv"
#: notebook 09: its trained models (a folder under the run)
UNCERTAINTY_MODELS = "uncertainty_models"

#: notebook 07: the trained inverse model and its evaluation (a folder); inside it:
INFERENCE = "inference"
#: the trained weights (a state dict: ``torch.load(..., weights_only=True)``)
WEIGHTS = "weights.pt"
#: architecture, training, preprocessing, split and profile of a trained model
SETTINGS = "settings.json"
#: loss terms per epoch and split
HISTORY = "history.csv"
#: per test sample: class probabilities and labels per point
PREDICTIONS = "predictions.zarr"
#: per test sample and model: Dice, precision, recall, AHA-loc
METRICS = "metrics.csv"
#: paper 004's Table I of ``metrics.csv``
TABLE1 = "table1.csv"

#: the real healthy 12-lead recording shipped in ``data/raw/`` (relative to it)
REAL_ECG = "ecg/dti004_clinical_full.csv"


def personalization(model: str, divergence: str, dims: int) -> str:
    """Notebook 03's product for one fit: ``personalization_<model>_<divergence>_<dims>d.nc``."""
    return f"personalization_{model}_{divergence}_{dims}d.nc"


def territory_personalization(territory: str) -> str:
    """Notebook 08's refit of the personalised model to one coronary territory's LGE
    infarcts: ``bridge_personalization_<territory>.nc`` (the format of notebook 03's)."""
    return f"bridge_personalization_{territory}.nc"


__all__ = ["BRIDGE_CHECKS", "CALIBRATION", "COHORT", "MODEL_BASED", "NOVELTY", "ROBUSTNESS",
           "UNCERTAINTY", "UNCERTAINTY_MODELS", "HISTORY", "INFERENCE", "ISOMAP", "METRICS", "MI_POPULATION",
           "POPULATION", "PREDICTIONS",
           "REAL_ECG", "SENSITIVITY", "SETTINGS", "SIMULATIONS", "TABLE1", "WEIGHTS",
           "personalization", "territory_personalization"]
