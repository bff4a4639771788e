"""Notebook 07's product: ``data/derived/<run>/inference/`` (``data/README.md``).

:func:`fit` trains a model into a folder (``weights.pt``, ``settings.json``,
``history.csv``, the resumable ``checkpoint.pt``); :func:`load_model` reads one back and
:func:`apply_model` applies it to any simulations product in one call;
:func:`write_predictions` writes ``predictions.zarr``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..core import names
from ..core.store import atomic_path, write_csv, write_json, write_zarr
from .data import QRS_WINDOW_MS, Samples, load_samples
from .model import DualBranchVAE, ModelConfig
from .training import TrainingSettings, device, train

#: settings.json's format version
FORMAT = 1


def fit(samples: Samples, split: dict, config: ModelConfig, training: TrainingSettings,
        folder, *, profile: str = "", window_ms: float = QRS_WINDOW_MS,
        notes: list | None = None, init=None, progress: bool = True) -> dict:
    """Train (or resume, or reload a finished training) into ``folder`` and write
    ``weights.pt`` (best epoch), ``settings.json`` and ``history.csv``; ``init`` a trained
    model's folder to fine-tune. Returns :func:`~mi_lib.inverse.training.train`'s result."""
    folder = Path(folder)
    result = train(samples, split, config, training, folder, init=init, progress=progress)
    with atomic_path(folder / names.WEIGHTS) as tmp:
        torch.save(result["model"].state_dict(), tmp)
    settings = {"format": FORMAT, "profile": profile, "model": config.to_dict(),
                "training": training.to_dict(),
                "preprocessing": {"n_points": config.n_points, "qrs_length": config.qrs_length,
                                  "window_ms": window_ms, "scenarios": list(samples.scenarios),
                                  "xyz_scale_mm": 100.0},
                "split": {k: list(v) for k, v in split.items()},
                "simulations": samples.origin, "best_epoch": result["best_epoch"],
                "train_seconds": result["seconds"], "initialised_from": str(init or ""),
                "deviations_from_paper": notes or []}
    write_json(folder / names.SETTINGS, settings)
    write_csv(folder / names.HISTORY, pd.DataFrame(result["history"]), index=False)
    return result


def load_model(folder) -> tuple[DualBranchVAE, dict]:
    """The trained model of an inference folder (eval mode, on CUDA when present) and its
    settings."""
    folder = Path(folder)
    for name in (names.WEIGHTS, names.SETTINGS):
        if not (folder / name).exists():
            raise FileNotFoundError(f"{folder}: no {name}; train a model there with notebook 07")
    settings = json.loads((folder / names.SETTINGS).read_text())
    model = DualBranchVAE(ModelConfig.from_dict(settings["model"]))
    state = torch.load(folder / names.WEIGHTS, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.to(device()).eval(), settings


def inference_model(paths, profile: str, simulations, inference_path="", seed: int = 0,
                    progress: bool = False):
    """The trained model of ``inference_path`` (a folder of notebook 07 or 08), else this
    run's notebook 07 model (``inference/``), trained on ``simulations`` with the
    profile's settings when it is missing (as notebook 07 trains its main model). Returns
    ``(model, settings, folder)``."""
    from dataclasses import replace

    from ..core.config import settings as profile_scale
    from .data import split_subjects
    from .settings import profile_settings

    folder = Path(inference_path) if inference_path else paths.product(names.INFERENCE)
    if not inference_path and not (folder / names.WEIGHTS).exists():
        config, training = profile_settings(profile, seed=int(seed))
        training = replace(training, epochs=int(profile_scale(profile)["inverse"]["epochs"]))
        s = load_samples(simulations, n_points=config.n_points, qrs_length=config.qrs_length)
        fit(s, split_subjects(s.subjects, s.sources, seed=int(seed)), config, training, folder,
            profile=profile, progress=progress)
    model, settings = load_model(folder)
    return model, settings, folder


def apply_model(folder, simulations, *, scenarios=None, include_healthy: bool = False,
                subjects=None):
    """The trained model of ``folder`` applied to a simulations product (path or opened
    dataset) with the model's own preprocessing: an ``xarray.Dataset`` of
    :func:`predictions` for ``subjects`` (default: all) and ``scenarios`` (default: the
    product's infarct scenarios, and ``baseline`` with ``include_healthy``)."""
    from .evaluation import predict

    model, settings = load_model(folder)
    pre = settings["preprocessing"]
    samples = load_samples(simulations, n_points=pre["n_points"], qrs_length=pre["qrs_length"],
                           window_ms=pre["window_ms"], scenarios=scenarios,
                           include_healthy=include_healthy)
    rows = np.arange(len(samples.subjects)) if subjects is None else samples.rows(subjects)
    return predictions(samples, rows, predict(model, samples, rows), model=str(folder))


def predictions(samples: Samples, rows, probs: np.ndarray, model: str = ""):
    """``predictions.zarr``'s dataset: class probabilities ``(subject, scenario, point,
X
    coordinates and AHA segments."""
    import xarray as xr

    rows = np.asarray(rows, int)
    subj = [samples.subjects[r] for r in rows]
    dims = ("subject", "scenario", "point")
    ds = xr.Dataset(
        {"probability": (dims + ("tissue_class",), probs.astype(np.float32)),
         "prediction": (dims, probs.argmax(-1).astype(np.int8)),
         "truth": (dims, samples.labels[rows].astype(np.int8)),
         "points": (("subject", "point", "xyz"), samples.xyz[rows]),
         "coords": (("subject", "point", "coordinate"), samples.features[rows][..., 3:7]),
         "aha": (("subject", "point"), samples.aha[rows])},
        coords={"subject": subj, "scenario": list(samples.scenarios),
                "tissue_class": ["healthy", "border_zone", "scar"], "xyz": ["x", "y", "z"],
                "coordinate": ["tm", "ab", "rt", "tv"], "point": np.arange(probs.shape[2])},
        attrs={"model": model, "simulations": samples.origin})
    return ds


def write_predictions(folder, samples: Samples, rows, probs: np.ndarray, model: str = "") -> Path:
    """Write ``predictions.zarr`` into ``folder`` (atomically)."""
    path = Path(folder) / names.PREDICTIONS
    write_zarr(path, predictions(samples, rows, probs, model))
    return path


def _fit_job(job: dict) -> dict:
    res = fit(**job, progress=False)
    return {"best_epoch": res["best_epoch"], "seconds": res["seconds"]}


def fit_many(jobs: dict, n_jobs: int = 1) -> dict:
    """Several :func:`fit` trainings, ``{name: fit keyword arguments}``, in ``n_jobs``
    processes (joblib), each on one thread; each resumes like :func:`fit`. Returns
    ``{name: {"best_epoch", "seconds"}}``; load the models with :func:`load_model`."""
    from joblib import Parallel, delayed

    names_ = list(jobs)
    if n_jobs == 1 or len(names_) == 1:
        out = [_fit_job(jobs[n]) for n in names_]
    else:
        out = Parallel(n_jobs=min(n_jobs, len(names_)))(delayed(_fit_job)(jobs[n])
                                                         for n in names_)
    return dict(zip(names_, out, strict=True))


#: sub-folder of the inference folder holding the models beside the main one
MODELS = "models"


def study_jobs(samples: Samples, split: dict, config: ModelConfig, training: TrainingSettings,
               folder, *, ablation_epochs: int, hold_out_split: dict | None = None,
               profile: str = "", notes=None) -> dict:
    """Notebook 07's trainings as :func:`fit_many` jobs: ``vae`` (the main model, in
    ``folder``) and, in ``folder/models/<name>``, with ``ablation_epochs`` each: the full
    model (``vae_short``), the ablations of Fig. 10
    (:data:`~mi_lib.inverse.settings.ABLATIONS`), the QRS-only model (``qrs_only``), and
    with ``hold_out_split`` the full model trained without one source heart
    (``leave_one_heart_out``)."""
    from dataclasses import replace

    from .losses import LossWeights
    from .settings import ABLATIONS

    folder = Path(folder)
    base = {"samples": samples, "config": config, "profile": profile, "notes": notes or []}
    short = replace(training, epochs=int(ablation_epochs))
    jobs = {"vae": {**base, "split": split, "training": training, "folder": folder},
            "vae_short": {**base, "split": split, "training": short,
                          "folder": folder / MODELS / "vae_short"}}
    for name, zero in ABLATIONS.items():
        w = LossWeights(**{**training.weights.to_dict(), **zero})
        jobs[name] = {**base, "split": split, "training": replace(short, weights=w),
                      "folder": folder / MODELS / name}
    jobs["qrs_only"] = {**base, "split": split, "training": short,
                        "config": replace(config, branches="qrs_only"),
                        "folder": folder / MODELS / "qrs_only"}
    if hold_out_split is not None:
        jobs["leave_one_heart_out"] = {**base, "split": hold_out_split, "training": short,
                                       "folder": folder / MODELS / "leave_one_heart_out"}
    return jobs
