"""Profiles and project paths.

A *profile* sets the scale of a run (``smoke`` for tests, ``standard`` for reports,
``paper`` for the papers' sizes); a *run name* names the folder
``data/derived/<run_name>/`` where every product of a run is written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROFILES = ("smoke", "standard", "paper")

#: Scale settings per profile. Notebooks read their profile-dependent defaults here,
#: so a profile means the same thing in every notebook.
PROFILE_SETTINGS: dict[str, dict] = {
    "smoke": {
        # 15 subjects in the paper's territory proportions (45/17/61 of 123), rounded.
        "cohort": {"n_subjects": 15, "territory_counts": {"LAD": 6, "LCX": 2, "RCA": 7}},
        "n_jobs": 1,
        # a few small generations: exercises the whole chain in seconds
        "personalization": {"popsize": 16, "mu": 4, "max_generations": 12, "window": 8,
                            "n_synthetic": 40, "n_final": 3, "energy_threshold": None},
        # digital twin: the two shipped hearts as they are and one shape variant of each
        # (four subjects: enough for notebook 07's train / validation / test split and its
        # leave-one-heart-out split), all 18 scenarios
        "twin": {"n_subjects": 4, "anatomies": ("kit_geo1", "kit_geo2")},
        # notebook 07: the inverse model scaled to seconds (mi_lib.inverse.settings)
        "inverse": {"n_points": 256, "qrs_length": 32, "width": 0.25, "lr": 1e-3,
                    "epochs": 2, "decay_every": 1, "ablation_epochs": 1, "finetune_epochs": 1},
        # notebook 08: population-model infarcts per subject, and the budget of each of the
        # two trainings compared (epochs of the 16 scenarios; the population-model training
        # sees as many samples)
        "bridge": {"n_infarcts": 8, "epochs": 2},
        # notebook 09: latent draws per case, the budget of the two trainings compared for
        # robustness (with and without augmentation), the model-based inversion's cases
        # and search
        "uncertainty": {"n_draws": 4, "robust_epochs": 1, "n_model_based": 2,
                        "popsize": 6, "mu": 3, "max_generations": 3, "n_samples": 32},
        # notebook 02: samples shown per gallery row and drawn per setting for statistics
        "models": {"n_columns": 5, "n_statistics": 40},
        # notebooks 03-04: real half-vs-half splits of the divergences' noise floor, and
        # fresh synthetic draws per cross-evaluation of a fit
        "analysis": {"noise_floor_splits": 5, "cross_check_draws": 3},
    },
    "standard": {
        "cohort": {"n_subjects": 123, "territory_counts": {"LAD": 45, "LCX": 17, "RCA": 61}},
        "n_jobs": -1,
        # the paper's CMA-ES settings; the absolute energy threshold is off because the
        # divergence estimates' noise floor (+-0.05 for KL on 100 vs 123 images) is far
        # above 0.004: runs stop on stagnation instead (see notebook 03)
        "personalization": {"popsize": 100, "mu": 15, "max_generations": 500, "window": 40,
                            "n_synthetic": 100, "n_final": 20, "energy_threshold": None},
        # the paper's cohort size, spread over the two shipped hearts (25 + 24)
        "twin": {"n_subjects": 49, "anatomies": ("kit_geo1", "kit_geo2")},
        # the paper's architecture scaled for 2 CPU cores: 1024 points, half widths, a
        # 64-sample QRS, 60 epochs at a 10 times higher learning rate, halved every 20
        # (the main model within 20 minutes; the six other trainings of notebook 07 take
        # 10 epochs each, so that two processes finish together)
        "inverse": {"n_points": 1024, "qrs_length": 64, "width": 0.5, "lr": 1e-3,
                    "epochs": 60, "decay_every": 20, "ablation_epochs": 10,
                    "finetune_epochs": 5},
        # 40 infarcts per subject (1960 simulations); each training of the 2 x 2 study the
        # samples of 20 epochs of the 16 scenarios (two processes together ~10 minutes)
        "bridge": {"n_infarcts": 40, "epochs": 20},
        # 16 draws per case; the robustness fine-tunings 4 epochs of the clean training
        # set (in parallel); 8 test cases (2 at a time) inverted twice (neutral, hybrid)
        # with 12 x 30 simulations each
        "uncertainty": {"n_draws": 16, "robust_epochs": 4, "n_model_based": 8,
                        "popsize": 12, "mu": 6, "max_generations": 30, "n_samples": 128},
        "models": {"n_columns": 8, "n_statistics": 200},
        "analysis": {"noise_floor_splits": 20, "cross_check_draws": 10},
    },
    "paper": {
        "cohort": {"n_subjects": 123, "territory_counts": {"LAD": 45, "LCX": 17, "RCA": 61}},
        "n_jobs": -1,
        # the paper's settings, its energy threshold included
        "personalization": {"popsize": 100, "mu": 15, "max_generations": 500, "window": 40,
                            "n_synthetic": 100, "n_final": 20, "energy_threshold": 0.004},
        "twin": {"n_subjects": 49, "anatomies": ("kit_geo1", "kit_geo2")},
        # the paper's sizes, learning rate, 300 epochs, the rate halved every 6800
        # iterations (50 epochs of 544 samples); meant for a GPU
        "inverse": {"n_points": 4096, "qrs_length": 512, "width": 1.0, "lr": 1e-4,
                    "epochs": 300, "decay_every": 50, "ablation_epochs": 300,
                    "finetune_epochs": 50},
        "bridge": {"n_infarcts": 200, "epochs": 300},
        "uncertainty": {"n_draws": 50, "robust_epochs": 50, "n_model_based": 160,
                        "popsize": 16, "mu": 8, "max_generations": 60, "n_samples": 128},
        "models": {"n_columns": 8, "n_statistics": 500},
        "analysis": {"noise_floor_splits": 20, "cross_check_draws": 10},
    },
}


def default_profile() -> str:
    """The profile named by the ``MI_PROFILE`` environment variable, else ``standard``."""
    profile = os.environ.get("MI_PROFILE", "standard").strip() or "standard"
    return check_profile(profile)


def check_profile(profile: str) -> str:
    """Return ``profile`` if it is known, else raise a ``ValueError`` naming the choices."""
    if profile not in PROFILES:
        raise ValueError(
            f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)} "
            "(set it with the notebook parameter `profile` or the MI_PROFILE variable)"
        )
    return profile


def settings(profile: str) -> dict:
    """A copy of the scale settings of ``profile``."""
    import copy

    return copy.deepcopy(PROFILE_SETTINGS[check_profile(profile)])


def project_root() -> Path:
    """The repository root.

    Taken from ``MI_PROJECT_ROOT`` when set; otherwise the first folder, from the
    current directory upwards, holding both ``pyproject.toml`` and ``mi_lib/``;
    otherwise the folder above the installed package.
    """
    env = os.environ.get("MI_PROJECT_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "mi_lib").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RunPaths:
    """Where a run reads and writes: ``data/derived/<run_name>/`` under the project root.

    The environment variable ``MI_DERIVED_ROOT``, when set, replaces ``data/derived``
    (products on a scratch disk; the tests' temporary folders); inputs stay in
    ``data/raw`` of the project.
    """

    run_name: str
    root: Path = field(default_factory=project_root)

    def __post_init__(self):
        name = str(self.run_name)
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(
                f"invalid run_name {self.run_name!r}: use a plain folder name such as 'standard'"
            )

    @property
    def derived(self) -> Path:
        """``data/derived/<run_name>/`` or ``$MI_DERIVED_ROOT/<run_name>/`` (created on
        first use)."""
        base = os.environ.get("MI_DERIVED_ROOT")
        path = (Path(base) if base else self.root / "data" / "derived") / self.run_name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def raw(self) -> Path:
        """``data/raw/``: the small real inputs shipped with the project."""
        return self.root / "data" / "raw"

    def product(self, name: str) -> Path:
        """Path of the product ``name`` of this run."""
        return self.derived / name


def progress_bar(iterable, total: int | None = None, desc: str = "", enabled: bool = True):
    """``tqdm.auto`` progress over ``iterable``; silent under CI (``CI`` set) or when disabled."""
    from tqdm.auto import tqdm

    quiet = (not enabled) or bool(os.environ.get("CI"))
    return tqdm(iterable, total=total, desc=desc, disable=quiet, leave=False)
