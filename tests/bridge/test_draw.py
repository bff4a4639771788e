"""Infarcts drawn from a personalised population model, rebuilt from its product alone."""

import numpy as np
import pytest

from mi_lib.bridge import mapping
from mi_lib.bridge.draw import draw_infarcts, personalised_model, reference_voxels


def test_the_product_alone_rebuilds_the_fitted_model(fitted):
    ds, model = fitted
    again, theta = personalised_model(ds)
    assert again.name == model.name and again.domain.dims == 3
    assert np.array_equal(again.domain.mask, model.domain.mask)
    assert np.allclose(theta, ds["final_physical"].values)
    a, dom = draw_infarcts(ds, 15, seed=3)
    b, _ = draw_infarcts(ds, 15, seed=3)
    assert a.shape == (15, dom.n_voxels) and a.dtype == bool and np.array_equal(a, b)
    # the same model and draws as the original objects give
    assert np.array_equal(a, model.sample(theta, 15, np.random.default_rng(3)))
    # and their sizes are those of the stored samples (the same distribution)
    stored = dom.voxels(ds["samples"].values.astype(bool)).mean(axis=1)
    drawn = draw_infarcts(ds, 200, seed=4)[0].mean(axis=1)
    assert abs(np.median(drawn) - np.median(stored)) < 0.5 * np.median(stored) + 0.01


def test_drawn_infarcts_reach_the_twin_where_the_start_zone_is(fitted):
    ds, _ = fitted
    vox, dom = draw_infarcts(ds, 30, seed=5)
    r, c, l = reference_voxels(dom)
    assert r.shape == (dom.n_voxels,) and np.nanmax(r) <= 1 and np.nanmin(c) >= 0
    centre = np.angle((vox * np.exp(2j * np.pi * c)).sum(axis=1)) / (2 * np.pi) % 1.0
    # the start zone is centred at c = 0.9: the twin's rt = 0.1, the anterior free wall
    rt_centre = mapping.reference_to_twin(np.zeros(30), centre, np.zeros(30))[2]
    assert np.median(np.abs(np.angle(np.exp(2j * np.pi * (rt_centre - 0.1))))) / (2 * np.pi) < 0.1


def test_a_dataset_without_the_domain_is_refused(fitted):
    ds, _ = fitted
    bad = ds.copy()
    bad.attrs = {k: v for k, v in ds.attrs.items() if not k.startswith("domain_")}
    with pytest.raises(ValueError, match="domain"):
        personalised_model(bad)
