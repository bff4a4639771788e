"""The robustness study of notebook 09: test QRS degraded, re-recorded with displaced
electrodes, and training sets augmented with the same perturbations.

A degraded copy of a :class:`~mi_lib.inverse.data.Samples` keeps the anatomy and the
labels and replaces the network's QRS by the preparation
(:func:`~mi_lib.inverse.data.prepare_qrs`) of the perturbed raw leads
(:mod:`~mi_lib.inverse.perturbations`), or of the leads recorded by the subject's forward
model with its chest electrodes moved (:func:`rerecorded`: the stored activation map,
other lead fields). Methods: ``docs/inverse/uncertainty.md``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .data import QRS_WINDOW_MS, Samples, prepare_qrs
from .perturbations import STRENGTHS, perturb

SIGNAL_KINDS = ("baseline_wander", "powerline", "noise", "amplitude")


def _prepare(raw, dt: float, n: int, window_ms: float) -> np.ndarray:
    return np.stack([prepare_qrs(lead_set, dt, n, window_ms) for lead_set in raw])


def _check_raw(samples: Samples) -> None:
    if samples.raw_qrs is None:
        raise ValueError(f"{samples.origin or 'samples'}: no raw QRS to degrade; load the "
                         "samples with mi_lib.inverse.load_samples")


def degraded(samples: Samples, rows, kind: str, strength: float, seed: int = 0,
             window_ms: float = QRS_WINDOW_MS) -> Samples:
    """``samples`` whose QRS of the subjects ``rows`` are the prepared, perturbed raw
    leads (``kind``, ``strength``: :func:`~mi_lib.inverse.perturbations.perturb`); seeded
    per subject by ``[seed, row]``. The other rows are unchanged."""
    _check_raw(samples)
    qrs = samples.qrs.copy()
    n = samples.qrs.shape[-1]
    for row in map(int, rows):
        raw = perturb(samples.raw_qrs[row], kind, strength, samples.dt,
                      np.random.default_rng([int(seed), row]))
        qrs[row] = _prepare(raw, samples.dt, n, window_ms)
    return replace(samples, qrs=qrs.astype(np.float32))


def rerecorded(model, activation, tissue, distance_mm: float, seed) -> np.ndarray:
    """Raw leads ``(C, 8, T)`` of the activation maps ``activation (C, n_nodes)`` (ms)
    with tissue ``(C, n_nodes)`` recorded by ``model`` (a subject's
    :class:`~mi_lib.twin.forward.TwinModel`) with its chest electrodes moved
    ``distance_mm`` along the torso (one draw of directions, ``seed``, for all maps:
    one misplaced set of electrodes per recording session)."""
    from ..twin.forward import displace_on_torso, electrode_positions_body

    moved = model.with_electrodes(displace_on_torso(electrode_positions_body(),
                                                    float(distance_mm), seed))
    return np.stack([moved.ecg(np.asarray(a, float), np.asarray(t)) for a, t in
                     zip(activation, tissue, strict=True)])


def _subject_electrodes(spec, model_options, at, tissue, distances, seed, i) -> dict:
    from ..twin.virtual_cohort import subject_model

    model = subject_model(spec, model_options)
    n = model.anatomy.n_nodes
    return {d: rerecorded(model, at[:, :n], tissue[:, :n], d,
                          [int(seed), i, int(round(d * 10))]) for d in distances}


def electrode_qrs(simulations, specs, subjects, scenarios, distances, seed: int = 0,
                  model_options=None, n_jobs: int = 1) -> dict:
    """Raw leads re-recorded with displaced electrodes for ``subjects`` x ``scenarios``
    of a simulations product (opened), one forward model per subject.

    ``n_jobs`` subjects at a time (joblib processes).

    Returns
    -------
    dict
        distance -> ``(len(subjects), len(scenarios), 8, T)`` float32; subject ``i``'s
        directions are seeded by ``[seed, i, distance]``.
    """
    from joblib import Parallel, delayed

    by_name = {s.name: s for s in specs}
    missing = [s for s in subjects if s not in by_name]
    if missing:
        raise ValueError(f"subjects {missing} have no specification in the product")
    sub = simulations.sel(subject=list(subjects), scenario=list(scenarios))
    at, tissue = sub.activation_time.values, sub.tissue.values
    distances = [float(d) for d in distances]
    args = [(by_name[name], model_options, at[i], tissue[i], distances, seed, i)
            for i, name in enumerate(subjects)]
    parts = (Parallel(n_jobs=int(n_jobs))(delayed(_subject_electrodes)(*a) for a in args)
             if int(n_jobs) != 1 else [_subject_electrodes(*a) for a in args])
    return {d: np.stack([p[d] for p in parts]).astype(np.float32) for d in distances}


def with_qrs(samples: Samples, rows, raw, window_ms: float = QRS_WINDOW_MS) -> Samples:
    """``samples`` whose QRS of ``rows`` are the preparation of ``raw (len(rows), C, 8,
    T)`` (e.g. :func:`electrode_qrs`)."""
    qrs = samples.qrs.copy()
    n = samples.qrs.shape[-1]
    for i, row in enumerate(map(int, rows)):
        qrs[row] = _prepare(raw[i], samples.dt, n, window_ms)
    return replace(samples, qrs=qrs.astype(np.float32))


def augmented(samples: Samples, seed: int = 0, electrodes: dict | None = None,
              copies: int = 1, window_ms: float = QRS_WINDOW_MS) -> Samples:
    """``samples`` with ``copies`` perturbed copies of every scenario appended as extra
    scenarios (``<name>~<k>``, the same labels): each copy's perturbation is drawn
    uniformly among the signal kinds (and the electrode displacement when
    ``electrodes``, distance -> raw leads of every subject and scenario, is given) and
    its strength among :data:`~mi_lib.inverse.perturbations.STRENGTHS`, per sample,
    seeded by ``[seed, row, scenario, copy]``."""
    _check_raw(samples)
    kinds = list(SIGNAL_KINDS) + (["electrodes"] if electrodes else [])
    s, c = samples, len(samples.scenarios)
    n = s.qrs.shape[-1]
    extra = np.zeros((len(s.subjects), c * copies) + s.qrs.shape[2:], np.float32)
    for row in range(len(s.subjects)):
        for j in range(c):
            for k in range(copies):
                rng = np.random.default_rng([int(seed), row, j, k])
                kind = kinds[rng.integers(len(kinds))]
                strength = float(rng.choice(STRENGTHS[kind]))
                if kind == "electrodes":
                    raw = electrodes[strength][row, j]
                else:
                    raw = perturb(s.raw_qrs[row, j], kind, strength, s.dt, rng)
                extra[row, k * c + j] = prepare_qrs(raw, s.dt, n, window_ms)
    names = list(s.scenarios) + [f"{name}~{k + 1}" for k in range(copies) for name in s.scenarios]
    return replace(s, scenarios=names, qrs=np.concatenate([s.qrs, extra], axis=1),
                   labels=np.concatenate([s.labels] + [s.labels] * copies, axis=1),
                   raw_qrs=None)


def robust_trainings(samples: Samples, split: dict, main_folder, epochs: int, folder,
                     electrodes: dict | None = None, seed: int = 0, profile: str = "",
                     n_jobs: int = 1) -> tuple[dict, object]:
    """The two trainings of the robustness study: the trained model of ``main_folder``
    fine-tuned with one budget at its final learning rate (no further decay), ``plain``
    on ``samples`` for ``epochs`` epochs and ``augmented`` on :func:`augmented` samples
    (one perturbed copy per case: half the epochs,
    :func:`~mi_lib.bridge.study.same_budget`), into ``folder/plain`` and
    ``folder/augmented`` (resumable). Both start from the same weights and see as many
    samples, so what differs is the augmentation alone. Returns ``({name: network},
    table)`` with the table's best epoch, seconds, epochs and samples per epoch."""
    import json

    import pandas as pd

    from ..bridge.study import same_budget
    from ..core import names
    from .model import ModelConfig
    from .products import fit_many, load_model
    from .training import TrainingSettings

    main = json.loads((Path(main_folder) / names.SETTINGS).read_text())
    config = ModelConfig.from_dict(main["model"])
    trained = TrainingSettings(**main["training"])
    extra = augmented(samples, seed=int(seed), electrodes=electrodes)
    plain = replace(trained, epochs=int(epochs), lr=trained.final_lr,
                    decay_every=max(int(epochs), 1), seed=int(seed))
    sets = {"plain": samples, "augmented": extra}
    budgets = {"plain": plain,
               "augmented": same_budget(plain, len(samples.scenarios), len(extra.scenarios))}
    jobs = {k: {"samples": sets[k], "split": split, "config": config, "training": budgets[k],
                "folder": Path(folder) / k, "profile": profile, "init": Path(main_folder)}
            for k in sets}
    done = fit_many(jobs, n_jobs=int(n_jobs))
    table = pd.DataFrame(done).T.assign(
        epochs=[budgets[k].epochs for k in done],
        samples_per_epoch=[len(split["train"]) * len(sets[k].scenarios) for k in done])
    return {k: load_model(Path(folder) / k)[0] for k in sets}, table


def variants(samples: Samples, rows, electrodes: dict | None = None, seed: int = 0,
             window_ms: float = QRS_WINDOW_MS) -> dict:
    """Every degraded version of the test QRS: ``(perturbation, strength, level)`` ->
    :class:`Samples` for the signal kinds at their :data:`~mi_lib.inverse.perturbations.
    STRENGTHS` (level 1-3, mildest first) and, with ``electrodes`` (distance -> raw leads
    of ``rows``, :func:`electrode_qrs`), the displaced electrodes; level 0 (``clean``) is
    ``samples`` itself."""
    out = {("clean", float("nan"), 0): samples}
    for kind in SIGNAL_KINDS:
        for level, strength in enumerate(STRENGTHS[kind], start=1):
            out[(kind, float(strength), level)] = degraded(samples, rows, kind, strength,
                                                           seed + level, window_ms)
    for level, d in enumerate(sorted(electrodes or {}), start=1):
        out[("electrodes", float(d), level)] = with_qrs(samples, rows, electrodes[d], window_ms)
    return out


def robustness_table(models: dict, versions: dict, rows):
    """``robustness.csv``: per model (name -> network), perturbation and strength, the
    mean scar Dice, border-zone Dice and AHA-loc over the test cases (``rows`` of each
    version of :func:`variants`), with ``n`` cases; the clean score is every
    perturbation's level 0 (strength NaN)."""
    import pandas as pd

    from .evaluation import predict, score

    out = []
    for name, model in models.items():
        clean = None
        for (kind, strength, level), s in versions.items():
            m = score(s, rows, predict(model, s, rows).argmax(-1), name)
            means = m[["scar_dice", "bz_dice", "aha_loc"]].mean()
            row = {"model": name, "strength": strength, "level": level, **means.to_dict(),
                   "n": len(m)}
            if kind == "clean":
                clean = row
                continue
            out.append({"perturbation": kind, **row})
        for kind in dict.fromkeys(k for k, _, _ in versions if k != "clean"):
            out.append({"perturbation": kind, **clean})
    cols = ["model", "perturbation", "strength", "level", "scar_dice", "bz_dice", "aha_loc", "n"]
    return (pd.DataFrame(out)[cols].sort_values(["model", "perturbation", "level"],
                                                kind="stable").reset_index(drop=True))


__all__ = ["SIGNAL_KINDS", "augmented", "degraded", "electrode_qrs", "rerecorded",
           "robust_trainings", "robustness_table", "variants", "with_qrs"]
