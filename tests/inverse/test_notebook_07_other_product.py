"""Notebook 07 on a simulations product made elsewhere, through papermill, unchanged.

A small product (three subjects of one heart, four scenarios) is simulated in a folder of
its own and copied away from its campaign folder, as a product received from elsewhere
would be; the notebook trains on it, tests the model on a second such product
(``extra_test_paths``), and writes the ``inference/`` product in the documented layout.
"""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import torch

from mi_lib.core import names
from mi_lib.core.config import RunPaths, project_root
from mi_lib.inverse.metrics import METRIC_COLUMNS
from mi_lib.twin.virtual_cohort import cohort_specs, run_simulations

ROOT = project_root()
HEART = str(ROOT / "data" / "raw" / "anatomy" / "kit_geo1")
NOTEBOOK = ROOT / "notebooks" / "07_inverse_inference.ipynb"
SCENARIOS = ["baseline", "septal_transmural", "lateral_transmural", "apical_subendocardial"]


def _product(tmp_path, name, n_subjects, seed):
    made = tmp_path / f"campaign_{name}" / "simulations.zarr"
    run_simulations(cohort_specs([HEART], n_subjects, seed=seed), made, SCENARIOS,
                    scheduler_address="synchronous", progress=False)
    moved = tmp_path / "received" / f"{name}.zarr"
    shutil.copytree(made, moved)
    return moved


def test_notebook_07_runs_on_a_product_made_elsewhere(tmp_path):
    train_on = _product(tmp_path, "cohort", 3, seed=1)
    other = _product(tmp_path, "other", 1, seed=2)
    run = "pytest_other_product"
    env = {**os.environ, "MI_PROFILE": "smoke", "MI_PROJECT_ROOT": str(ROOT)}
    cmd = [sys.executable, "-m", "papermill", str(NOTEBOOK), str(tmp_path / "out.ipynb"),
           "-p", "simulations_path", str(train_on), "-p", "run_name", run,
           "-p", "extra_test_paths", str(other), "-p", "n_jobs", "1",
           "-p", "detection_r_ab", "0.2", "--no-progress-bar"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = RunPaths(run).product(names.INFERENCE)  # under MI_DERIVED_ROOT (conftest)
    settings = json.loads((folder / names.SETTINGS).read_text())
    assert settings["simulations"] == str(train_on)
    assert settings["preprocessing"]["scenarios"] == SCENARIOS[1:]
    split = settings["split"]
    assert sorted(split["train"] + split["validation"] + split["test"]) == \
        [f"kit_geo1_{i:03d}" for i in range(3)]
    state = torch.load(folder / names.WEIGHTS, weights_only=True)
    assert "qrs_mean" in state and "qrs_std" in state
    metrics = pd.read_csv(folder / names.METRICS)
    assert list(metrics.columns) == ["model", "subject", "scenario", "split", *METRIC_COLUMNS]
    assert {"vae", "nearest_neighbour", "constant", "no_size", "qrs_only"} <= set(metrics.model)
    extra = metrics[metrics.split == f"extra:{other}"]
    assert len(extra) == 3 and set(extra.subject) == {"kit_geo1_000"}
    assert metrics[list(METRIC_COLUMNS[:-1])].apply(lambda c: c.between(0, 1).all()).all()
    table = pd.read_csv(folder / names.TABLE1, header=[0, 1], index_col=[0, 1, 2])
    assert ("vae", "all", "average") in table.index
    assert (folder / names.PREDICTIONS).is_dir()
    assert (folder / "models" / "finetune_apical" / names.WEIGHTS).exists()
