"""The personalised model refitted to each territory, and the draws that use the fits."""

import numpy as np
import pytest
import xarray as xr

from mi_lib.bridge.draw import draw_infarcts
from mi_lib.bridge.infarcts import population_draws
from mi_lib.bridge.territories import fit_table, territories_to_fit, territory_fit
from mi_lib.population.personalization import CMASettings


def _population(model, big=2.6, small=0.8, n=(12, 3, 12)):
    """LGE-like population on the fixture's reference: LAD infarcts drawn at large
    parameters, RCA at small ones, a 3-infarct LCX; aligned images as notebook 01's."""
    dom = model.domain
    units = np.array([p.unit for p in model.parameters()])
    draws = [model.sample(units * x, k, np.random.default_rng(i))
             for i, (x, k) in enumerate(zip((big, 1.5, small), n, strict=True))]
    images = dom.images(np.concatenate(draws)).astype(np.float32)
    t = ["LAD"] * n[0] + ["LCX"] * n[1] + ["RCA"] * n[2]
    ref = dom.reference
    return xr.Dataset({"infarct": (("subject", "slice", "y", "x"), images),
                       "myocardium": (("slice", "y", "x"), ref.myocardium),
                       "territory": (("subject",), t)}, attrs=ref.attrs())


@pytest.fixture(scope="module")
def refits(fitted):
    ds, model = fitted
    pop = _population(model)
    s = CMASettings(popsize=8, mu=3, max_generations=10, window=40, n_synthetic=20,
                    n_final=2, seed=0)
    return ds, pop, {t: territory_fit(ds, pop, t, s) for t in territories_to_fit(pop)}


def test_each_territory_gets_a_fit_to_its_own_infarcts(refits):
    """Fitted from the pooled parameters, the LAD's fit (large infarcts) draws larger
    infarcts than the RCA's (small ones), each closer to its own territory's sizes than the
    pooled fit is; a territory of too few infarcts has no fit of its own."""
    ds, pop, fits = refits
    assert sorted(fits) == ["LAD", "RCA"]                  # LCX: 3 infarcts < 5
    assert fits["LAD"].attrs["territory"] == "LAD" and fits["LAD"].attrs["n_real"] == 12
    t = pop["territory"].values.astype(str)
    real = pop["infarct"].values.reshape(len(t), -1).sum(axis=1)
    for name in ("LAD", "RCA"):
        assert fits[name].attrs["model"] == ds.attrs["model"]
        assert fits[name]["mean"].values[0] == pytest.approx(ds["final_x"].values)  # x0
    sizes = {k: draw_infarcts(f, 60, seed=1)[0].sum(axis=1) for k, f in fits.items()}
    assert np.median(sizes["LAD"]) > 1.5 * np.median(sizes["RCA"])
    pooled = np.median(draw_infarcts(ds, 60, seed=1)[0].sum(axis=1))
    for k in sizes:
        target = np.median(real[t == k])
        assert abs(np.log(np.median(sizes[k]) / target)) < abs(np.log(pooled / target))
    table = fit_table(ds, fits, pop)
    assert list(table.index) == ["LAD", "LCX", "RCA"] and not table.loc["LCX", "own fit"]


def test_draws_of_a_territory_come_from_its_fit(refits):
    ds, pop, fits = refits
    shifts, shares = {"LAD": 0.0, "RCA": 0.35}, {"LAD": 0.5, "RCA": 0.5}
    own = population_draws(ds, shifts, shares, 40, seed=2, models=fits)
    pooled = population_draws(ds, shifts, shares, 40, seed=2)
    lad, rca = own["territory"] == "LAD", own["territory"] == "RCA"
    assert np.array_equal(own["territory"], pooled["territory"])   # same territories
    assert np.median(own["size"][lad]) > np.median(pooled["size"][lad])
    assert np.median(own["size"][rca]) < np.median(pooled["size"][rca])
    again = population_draws(ds, shifts, shares, 40, seed=2, models=fits)
    assert np.array_equal(again["reference"], own["reference"])   # seeded
    elsewhere = fits["RCA"].copy()
    elsewhere.attrs["domain_slices"] = "[0, 1, 2]"
    with pytest.raises(ValueError, match="other voxels"):
        population_draws(ds, shifts, shares, 40, seed=2, models={**fits, "RCA": elsewhere})


def test_a_territory_of_one_infarct_or_a_2d_fit_is_refused(refits):
    ds, pop, _ = refits
    with pytest.raises(ValueError, match="XYZ: 0 LGE"):
        territory_fit(ds, pop, "XYZ")
    flat = ds.copy()
    flat.attrs["dims"] = 2
    with pytest.raises(ValueError, match="2D"):
        territory_fit(flat, pop, "LAD")


def test_the_run_keeps_its_territory_fits_and_refits_when_the_pooled_fit_changes(refits):
    """``bridge_personalization_<T>.nc`` are reused while the pooled fit, the population
    and the settings are the same, and refitted when the pooled fit changes."""
    from mi_lib.bridge.products import territory_fits
    from mi_lib.core import names
    from mi_lib.core.config import RunPaths

    ds, pop, _ = refits
    paths = RunPaths("pytest_territory_fits")
    first = territory_fits(paths, "smoke", ds, pop)
    target = paths.product(names.territory_personalization("LAD"))
    stamp = target.stat().st_mtime_ns
    again = territory_fits(paths, "smoke", ds, pop)
    assert sorted(again) == sorted(first) == ["LAD", "RCA"]
    assert target.stat().st_mtime_ns == stamp
    assert np.array_equal(again["LAD"]["final_x"].values, first["LAD"]["final_x"].values)
    other = ds.copy(deep=True)
    other["final_physical"] = other["final_physical"] * 1.1
    territory_fits(paths, "smoke", other, pop)
    assert target.stat().st_mtime_ns != stamp
