"""The bridge's campaign: its product's layout, its reproducibility and its resuming."""

import json

import numpy as np
import pytest
import xarray as xr

from mi_lib.bridge.campaign import (
    BridgeSettings,
    infarct_names,
    model_record,
    run_population_campaign,
    subject_draws,
)
from mi_lib.bridge.infarcts import carry_draws
from mi_lib.bridge.products import closest_model, open_population_infarcts
from mi_lib.core.config import project_root
from mi_lib.twin.ecg import LEADS
from mi_lib.twin.virtual_cohort import canonical_options, cohort_specs, subject_model

HEART = project_root() / "data" / "raw" / "anatomy" / "kit_geo1"


def _population():
    t = ["LAD"] * 9 + ["LCX"] * 3 + ["RCA"] * 12
    rot = {"LAD": 0.0, "LCX": -0.2, "RCA": 0.35}
    rng = np.random.default_rng(0)
    n = len(t)
    return xr.Dataset({"territory": (("subject",), t),
                       "rotation": (("subject",), [rot[x] for x in t]),
                       "aligned_size": (("subject",), rng.uniform(0.05, 0.3, n)),
                       "aligned_transmural_extent": (("subject",), rng.uniform(0.3, 1, n)),
                       "aligned_circumferential_extent": (("subject",),
                                                          rng.uniform(0.1, 0.6, n))})


@pytest.fixture(scope="module")
def campaign(fitted, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bridge")
    specs = cohort_specs([HEART], 1, seed=0)
    record = model_record(fitted[0], _population(), territories={"LAD": fitted[0]})
    settings = BridgeSettings(n_infarcts=3, seed=4)
    out = tmp / "mi_population.zarr"
    ds, summary = run_population_campaign(specs, out, record, settings,
                                          scheduler_address="synchronous", progress=False)
    return specs, record, settings, out, summary


def test_the_product_has_the_simulations_layout_with_an_infarct_dimension(campaign):
    specs, record, settings, out, summary = campaign
    assert summary["computed"] == 1 + 3 and summary["done_before"] == 0
    ds = open_population_infarcts(out)
    assert "scenario" not in ds.dims
    assert list(ds.infarct.values) == infarct_names(3) == ["infarct_0000", "infarct_0001",
                                                           "infarct_0002"]
    assert ds.qrs.dims == ("subject", "infarct", "lead", "time")
    assert ds.qrs.shape == (1, 3, 8, 512) and list(ds.lead.values) == list(LEADS)
    assert ds.pc_dense_tissue.dims == ("subject", "infarct", "dense")
    for var in ("territory", "size", "draw", "draw_seed"):
        assert ds[var].dims == ("subject", "infarct")
    assert set(ds.territory.values.ravel().astype(str)) <= {"LAD", "LCX", "RCA"}
    draw = ds.draw.values[0]      # conditioned: picks from the territory's pool x n draws
    territory = ds.territory.values[0].astype(str)
    for t in set(territory):
        rows = territory == t
        assert len(set(draw[rows])) == rows.sum()
        assert np.all((draw[rows] >= 0) & (draw[rows] < settings.pool * rows.sum()))
    assert np.all((ds["size"].values > 0) & (ds["size"].values < 1))
    n = int(ds.n_nodes.values[0])
    tissue = ds.tissue.values[0, :, :n]
    aha = ds.aha.values[0, :n]
    assert (tissue == 2).any(axis=1).all()         # every infarct has scar
    assert np.all(aha[(tissue > 0).any(axis=0)] > 0)  # on the LV region only
    stored = json.loads(ds.attrs["bridge_settings"])
    assert stored["n_infarcts"] == 3 and stored["long_axis"] == "matched"
    assert list(json.loads(ds.attrs["territory_final_physical"])) == ["LAD"]


def test_the_infarcts_are_the_seeded_draws_carried_and_simulated(campaign):
    """Every stored infarct is the subject's seeded draw carried onto its LV, and its QRS
    the forward model of those labels: the product can be rebuilt from its settings."""
    specs, record, settings, out, _ = campaign
    ds = xr.open_zarr(out)
    model = subject_model(specs[0], canonical_options(None))
    draws = subject_draws(record, settings, 0, model.coords)
    assert int(ds.draw_seed.values[0, 0]) == draws["draw_seed"]
    assert list(ds.territory.values[0].astype(str)) == list(draws["territory"])
    c = model.coords
    labels = carry_draws(draws, c.tm, c.ab, c.rt, c.lv)
    n = model.anatomy.n_nodes
    assert np.array_equal(ds.tissue.values[0, :, :n], labels)
    sim = model.simulate_tissue(labels[1], settings.cv_scale)
    np.testing.assert_allclose(ds.qrs.values[0, 1], sim["qrs"], rtol=1e-5, atol=1e-6)
    other = BridgeSettings(n_infarcts=3, seed=5)
    assert subject_draws(record, other, 0, c)["draw_seed"] != draws["draw_seed"]
    with pytest.raises(ValueError, match="coordinates"):
        subject_draws(record, settings, 0)


def test_a_rerun_resumes_and_other_settings_are_refused(campaign):
    specs, record, settings, out, _ = campaign
    part = out.with_name("mi_population_parts") / specs[0].name / "infarct_0001.npz"
    part.unlink()
    _, again = run_population_campaign(specs, out, record, settings,
                                       scheduler_address="synchronous", progress=False)
    assert again["done_before"] == 3 and again["computed"] == 1
    with pytest.raises(ValueError, match="other settings.*bridge"):
        run_population_campaign(specs, out, record, BridgeSettings(n_infarcts=3, seed=5),
                                scheduler_address="synchronous", progress=False)


def test_settings_are_validated():
    for bad in ({"n_infarcts": 0}, {"n_infarcts": 2, "bz_width": -0.1},
                {"n_infarcts": 2, "cv_scale": (0.0, 0.5)}, {"n_infarcts": 2, "pool": 0},
                {"n_infarcts": 2, "long_axis": "cubic"}, {"n_infarcts": 2, "condition_on": "x"}):
        with pytest.raises(ValueError):
            BridgeSettings(**bad)


def test_a_population_without_descriptors_is_refused_when_conditioning(fitted, tmp_path):
    """A population with territories but no aligned descriptors cannot condition the
    draws: the campaign stops before it starts, naming the variables and the way out."""
    bare = _population()[["territory", "rotation"]]
    record = model_record(fitted[0], bare)
    assert record["lge"] == {}
    with pytest.raises(ValueError, match="aligned_size.*condition=False"):
        run_population_campaign(cohort_specs([HEART], 1, seed=0), tmp_path / "m.zarr",
                                record, BridgeSettings(n_infarcts=2),
                                scheduler_address="synchronous", progress=False)
    assert not (tmp_path / "m_parts").exists()
    free = subject_draws(record, BridgeSettings(n_infarcts=4, condition=False), 0)
    assert list(free["draw"]) == [0, 1, 2, 3]


def test_the_closest_model_is_notebook_04s_else_the_lower_divergence():
    table = xr.Dataset({"comparison": (("population", "metric"),
                                       [[np.nan, np.nan], [0.2, 0.05], [0.1, 0.09]])},
                       coords={"population": ["real", "iterative (KL)", "elliptical (MMD)"],
                               "metric": ["KL", "MMD2"]})
    assert closest_model(table)[0] == "iterative"
    assert closest_model(None, {"iterative": 0.3, "elliptical": 0.1})[0] == "elliptical"
    with pytest.raises(ValueError):
        closest_model(None, None)
