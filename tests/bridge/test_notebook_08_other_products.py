"""Notebook 08 on a population, a personalization and a simulations product made
elsewhere, through papermill, unchanged.

The population is another synthetic LGE cohort (its own seed and territory counts), the
personalization a 3D MMD fit of the iterative model to it, the simulations product three
subjects of one heart with three scenarios; all three are copied away from where they were
made, as files received from elsewhere would be.
"""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import xarray as xr

from mi_lib.bridge import products as bridge_products
from mi_lib.core import names
from mi_lib.core.config import RunPaths, project_root
from mi_lib.population import products as pp
from mi_lib.population.lge import SyntheticCohortSpec, synthesize_cohort
from mi_lib.twin.virtual_cohort import cohort_specs, run_simulations

ROOT = project_root()
HEART = str(ROOT / "data" / "raw" / "anatomy" / "kit_geo1")
NOTEBOOK = ROOT / "notebooks" / "08_bridge.ipynb"


@pytest.fixture(scope="module")
def received(tmp_path_factory, _derived_root):
    tmp = tmp_path_factory.mktemp("nb08")
    cohort = tmp / "cohort"
    synthesize_cohort(cohort, SyntheticCohortSpec(
        territory_counts={"LAD": 4, "LCX": 3, "RCA": 4}, seed=7))
    made = RunPaths("pytest_bridge_inputs")
    with pytest.MonkeyPatch.context() as mp:  # the session's derived root, not the project's
        mp.setenv("MI_DERIVED_ROOT", str(_derived_root))
        pop = pp.population(made, "smoke", cohort_dir=cohort, progress=False)
        fit = pp.personalization(made, "smoke", "iterative", "mmd", 3, progress=False)
        flat = pp.personalization(made, "smoke", "iterative", "mmd", 2, progress=False)
        sources = {"population.nc": made.product(names.POPULATION),
                   "fit_3d.nc": made.product(names.personalization("iterative", "mmd", 3)),
                   "fit_2d.nc": made.product(names.personalization("iterative", "mmd", 2))}
    out = tmp / "received"
    out.mkdir()
    paths = {}
    for name, source in sources.items():
        shutil.copy(source, out / name)
        paths[name] = out / name
    sims = tmp / "campaign" / "simulations.zarr"
    run_simulations(cohort_specs([HEART], 3, seed=1), sims,
                    ["baseline", "septal_transmural", "lateral_transmural"],
                    scheduler_address="synchronous", progress=False)
    shutil.copytree(sims, out / "cohort.zarr")
    paths["simulations"] = out / "cohort.zarr"
    paths["sources"] = sims.with_name("simulations_parts")
    assert pop.sizes["subject"] == 11 and fit.attrs["dims"] == 3 and flat.attrs["dims"] == 2
    return paths


def test_a_2d_personalization_is_refused_with_its_name(received):
    with pytest.raises(ValueError, match=r"fit_2d\.nc.*3D"):
        bridge_products.personalization(RunPaths("pytest_bridge_refused"), "smoke",
                                        received["fit_2d.nc"])


RUN = "pytest_bridge_other"


def _env(derived_root):
    return {**os.environ, "MI_PROFILE": "smoke", "MI_PROJECT_ROOT": str(ROOT),
            "MI_DERIVED_ROOT": str(derived_root)}


@pytest.fixture(scope="module")
def ran08(received, tmp_path_factory, _derived_root):
    """Notebook 08 run through papermill on the received products, its products under
    the session's derived root (module fixtures run before the autouse one that sets
    ``MI_DERIVED_ROOT`` for each test). Returns the run's name."""
    tmp_path = tmp_path_factory.mktemp("nb08_run")
    run = RUN
    env = _env(_derived_root)
    cmd = [sys.executable, "-m", "papermill", str(NOTEBOOK), str(tmp_path / "out.ipynb"),
           "-p", "run_name", run, "-p", "population_path", str(received["population.nc"]),
           "-p", "personalization_path", str(received["fit_3d.nc"]),
           "-p", "simulations_path", str(received["simulations"]), "-p", "n_infarcts", "3",
           "-p", "scheduler_address", "synchronous", "-p", "n_jobs", "1",
           "--no-progress-bar"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return run


def test_notebook_08_runs_on_products_made_elsewhere(received, ran08):
    paths = RunPaths(ran08)  # under MI_DERIVED_ROOT (conftest)
    product = xr.open_zarr(paths.product(names.MI_POPULATION))
    assert list(product.subject.values) == [f"kit_geo1_{i:03d}" for i in range(3)]
    assert product.sizes["infarct"] == 3
    assert product.attrs["infarct_model"] == "iterative"
    assert product.attrs["population"] == str(received["population.nc"])
    assert "fit_3d.nc" in product.attrs["personalization"]
    shares = json.loads(product.attrs["territory_shares"])
    assert shares == pytest.approx({"LAD": 4 / 11, "LCX": 3 / 11, "RCA": 4 / 11})
    checks = pd.read_csv(paths.product(names.BRIDGE_CHECKS))
    assert list(checks.columns) == ["territory", "check", "lge", "carried", "difference",
                                    "tolerance", "holds"]
    assert set(checks.territory) <= {"LAD", "LCX", "RCA"}
    table = pd.read_csv(paths.product(names.INFERENCE) / "bridge" / "generalisation.csv")
    assert set(table.tested_on) == {"scenarios", "population"}
    assert set(table.model) == {"VAE trained on scenarios", "VAE trained on population",
                                "nearest neighbour in scenarios",
                                "nearest neighbour in population"}
    test = json.loads((paths.product(names.INFERENCE) / "bridge" / "population"
                       / names.SETTINGS).read_text())["split"]["test"]
    assert set(table.subject) == set(test)
    assert table.scar_dice.between(0, 1).all()
    # the territories: too few LGE infarcts (4 / 3 / 4 < 5) for fits of their own
    assert json.loads(product.attrs["territory_final_physical"]) == {}
    assert json.loads(product.attrs["bridge_settings"])["long_axis"] == "matched"


def test_notebook_09_runs_on_notebook_08s_population_model(received, ran08, tmp_path,
                                                          _derived_root):
    """Notebook 09 reads one of notebook 08's trainings (``inference_path``) on the
    received simulations product: the model's own split, the products written."""
    folder = RunPaths(ran08).product(names.INFERENCE) / "bridge" / "population"
    cmd = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / "09_uncertainty.ipynb"),
           str(tmp_path / "out09.ipynb"), "-p", "run_name", RUN + "_09",
           "-p", "inference_path", str(folder),
           "-p", "simulations_path", str(received["simulations"]), "-p", "n_jobs", "1",
           "--no-progress-bar"]
    done = subprocess.run(cmd, env=_env(_derived_root), capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    paths = RunPaths(RUN + "_09")
    test = json.loads((folder / names.SETTINGS).read_text())["split"]["test"]
    unc = xr.open_dataset(paths.product(names.UNCERTAINTY))
    assert list(unc.subject.values) == test and unc.attrs["model"] == str(folder)
    assert list(unc.scenario.values) == ["septal_transmural", "lateral_transmural"]
    cal = pd.read_csv(paths.product(names.CALIBRATION))
    assert set(cal["class"]) == {"scar", "border zone"} and cal.ece.between(0, 1).all()
    flags = pd.read_csv(paths.product(names.NOVELTY))
    assert flags.flagged.between(0, 1).all() and "clean" in set(flags.perturbation)
    based = pd.read_csv(paths.product(names.MODEL_BASED))
    # the hybrid starts from the network's scar: none when the smoke network finds none
    assert {"vae", "model_based"} <= set(based.method) <= {"vae", "model_based", "hybrid"}
    assert len(based[based.method == "model_based"]) == 2          # the smoke profile's cases
