"""The detection-limit simulations reproduce the campaign on the product's own subjects."""

import numpy as np
import pytest
import xarray as xr

from mi_lib.core.config import project_root
from mi_lib.inverse import load_samples
from mi_lib.inverse.detection import apical_series, merge, simulate_samples
from mi_lib.twin.products import subject_specs
from mi_lib.twin.scenarios import get_scenario
from mi_lib.twin.virtual_cohort import cohort_specs, run_simulations

HEART = str(project_root() / "data" / "raw" / "anatomy" / "kit_geo1")


def test_apical_series_shrinks_only_the_apicobasal_radius():
    full = get_scenario("apical_transmural")
    series = apical_series([full.r_ab, 0.2, 0.1], extents=("transmural", "subendocardial"))
    assert [s.name for s in series][:2] == [f"apical_rab{full.r_ab:g}_transmural",
                                            f"apical_rab{full.r_ab:g}_subendocardial"]
    assert series[0] == type(full)(**{**full.to_dict(), "name": series[0].name})
    assert [s.r_ab for s in series[::2]] == [full.r_ab, 0.2, 0.1]
    assert all(s.r_rt == full.r_rt and s.ab0 == full.ab0 for s in series)
    with pytest.raises(ValueError, match="r_ab"):
        apical_series([0.0])


def test_simulated_samples_match_the_products_own(tmp_path):
    specs = cohort_specs([HEART], 1, seed=0)
    out = tmp_path / "simulations.zarr"
    ds, _ = run_simulations(specs, out, ["baseline", "apical_transmural"],
                            scheduler_address="synchronous", progress=False)
    product = load_samples(out, n_points=256, qrs_length=32,
                           scenarios=["baseline", "apical_transmural"])
    back = subject_specs(xr.open_zarr(out), out)
    assert back == specs                      # from the campaign settings beside it
    assert subject_specs(xr.open_zarr(out))[0].modes == specs[0].modes  # from the product
    again = simulate_samples(back, [get_scenario("baseline"), get_scenario("apical_transmural")],
                             n_points=256, qrs_length=32)
    assert np.allclose(again.features, product.features, atol=1e-5)
    assert np.array_equal(again.labels, product.labels)
    assert np.array_equal(again.aha, product.aha)
    assert np.allclose(again.qrs, product.qrs, atol=1e-5)
    assert np.allclose(again.raw_qrs, product.raw_qrs, rtol=1e-4, atol=1e-6)
    smaller = simulate_samples(back, apical_series([0.1]), n_points=256, qrs_length=32)
    assert 0 < (smaller.labels == 2).sum() < (product.labels[:, 1] == 2).sum()
    both = merge(product, smaller)
    assert both.scenarios[-1] == "apical_rab0.1_transmural" and both.qrs.shape[1] == 3
