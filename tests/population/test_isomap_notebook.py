"""Notebook 04 on products made elsewhere: a population and personalizations written
outside the run's folder, handed over through papermill parameters, with no code change;
and the checked loader of personalization files."""

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from mi_lib.core.store import write_netcdf
from mi_lib.population import products
from mi_lib.population.lge import open_cohort
from mi_lib.population.models import Domain, make_model
from mi_lib.population.personalization import CMASettings, personalize
from mi_lib.population.reference import ReferenceAnatomy, build_population

ROOT = Path(__file__).resolve().parents[2]
TINY = CMASettings(popsize=8, mu=3, max_generations=4, window=3, n_synthetic=20, n_final=2,
                   seed=1)


@pytest.fixture(scope="module")
def elsewhere(cohort_left, tmp_path_factory):
    """A left-handed cohort's population and two quick personalizations, in a folder of
    their own."""
    folder = tmp_path_factory.mktemp("elsewhere")
    pop = build_population(open_cohort(cohort_left), ReferenceAnatomy(), upsample=2,
                           n_jobs=1, progress=False)
    pop_path = write_netcdf(folder / "population.nc", pop)
    domain = Domain.from_population(pop, 2)
    files = []
    for model, divergence in (("iterative", "mmd"), ("elliptical", "kl")):
        res = personalize(make_model(model, domain), domain.real_samples(pop), TINY,
                          divergence, progress=False)
        files.append(write_netcdf(folder / f"{model}.nc", res.to_dataset(pop, n_samples=30)))
    return pop, pop_path, files


def test_notebook_04_runs_on_products_made_elsewhere(elsewhere, tmp_path, monkeypatch):
    import papermill

    pop, pop_path, files = elsewhere
    monkeypatch.setenv("MI_PROJECT_ROOT", str(tmp_path))  # products land in tmp_path
    monkeypatch.delenv("MI_DERIVED_ROOT")  # products under tmp_path/data/derived
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "04_isomap_analysis.ipynb"), str(tmp_path / "04.ipynb"),
        parameters={"profile": "smoke", "run_name": "other", "population_path": str(pop_path),
                    "personalization_paths": ",".join(map(str, files)), "n_neighbors": 5,
                    "n_permutations": 99},
        cwd=str(tmp_path), progress_bar=False, kernel_name="python3")
    ds = xr.load_dataset(tmp_path / "data" / "derived" / "other" / "isomap.nc")
    assert list(ds["population"].values) == ["real", "iterative (MMD)", "elliptical (KL)"]
    assert list(ds["n_samples"].values) == [pop.sizes["subject"], 30, 30]
    table = ds["comparison"].to_pandas()
    assert np.isfinite(table.loc["elliptical (KL)", ["KL", "MMD2", "latent_pvalue"]]).all()
    assert ds.attrs["n_neighbors"] == 5


def test_personalization_files_are_checked(elsewhere, tmp_path):
    pop, _, files = elsewhere
    ds = products.open_personalization(files[0], pop)
    assert ds.attrs["model"] == "iterative"
    flat = products.synthetic_populations([ds], Domain.from_population(pop, 2))
    assert list(flat) == ["iterative (MMD)"] and flat["iterative (MMD)"].shape[0] == 30
    with pytest.raises(ValueError, match="personalization is 2D but the analysis is 3D"):
        products.synthetic_populations([ds], Domain.from_population(pop, 3))
    with pytest.raises(FileNotFoundError, match="no such personalization file"):
        products.open_personalization(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_text("not netCDF")
    with pytest.raises(ValueError, match="junk.nc: not a readable netCDF"):
        products.open_personalization(tmp_path / "junk.nc")
    bad = ds.copy()
    del bad.attrs["model"]
    write_netcdf(tmp_path / "no_model.nc", bad)
    with pytest.raises(ValueError, match=r"no_model.nc: missing attribute\(s\) \['model'\]"):
        products.open_personalization(tmp_path / "no_model.nc")
    write_netcdf(tmp_path / "no_samples.nc", ds.drop_vars("samples"))
    with pytest.raises(ValueError, match="no `samples` variable"):
        products.open_personalization(tmp_path / "no_samples.nc")
    write_netcdf(tmp_path / "cropped.nc", ds.isel(y=slice(0, 40)))
    with pytest.raises(ValueError, match="personalise against this population"):
        products.open_personalization(tmp_path / "cropped.nc", pop)
