"""The model-based inversion: its parameter map, the estimate from a tissue map, and the
recovery of a known infarct from its QRS on the shipped heart."""

import numpy as np
import pytest

from mi_lib.core.config import project_root
from mi_lib.inverse.metrics import segmentation_scores
from mi_lib.inverse.model_based import (
    BOUNDS,
    PARAMETERS,
    Discrepancy,
    InversionSettings,
    fit_infarct,
    from_parameters,
    parameters_from_labels,
    scenario_of,
    to_parameters,
)
from mi_lib.population.personalization import CMASettings
from mi_lib.twin.anatomy import load_anatomy
from mi_lib.twin.forward import TwinModel
from mi_lib.twin.scenarios import SCAR, get_scenario, tissue_labels

HEART = project_root() / "data" / "raw" / "anatomy" / "kit_geo1"


@pytest.fixture(scope="module")
def model():
    return TwinModel.build(load_anatomy(HEART))


def test_the_parameter_map_is_bounded_periodic_and_inverted():
    rng = np.random.default_rng(0)
    for x in rng.normal(0, 3, size=(200, len(PARAMETERS))):
        p = to_parameters(x)
        assert list(p) == list(PARAMETERS) and 0 <= p["rt0"] < 1
        for k, (lo, hi) in BOUNDS.items():
            assert lo <= p[k] <= hi
        if any(min(p[k] - lo, hi - p[k]) < 1e-3 * (hi - lo) for k, (lo, hi) in BOUNDS.items()):
            continue                                       # clipped just inside
        back = to_parameters(from_parameters(p))
        assert abs((back["rt0"] - p["rt0"] + 0.5) % 1 - 0.5) < 1e-9
        assert all(back[k] == pytest.approx(p[k], abs=1e-9) for k in BOUNDS)
    p = to_parameters(np.zeros(5))
    assert p["ab0"] == pytest.approx(0.5) and p["rt0"] == 0.0
    shifted = to_parameters(np.array([0.0, 1.0 / 0.125, 0, 0, 0]))   # one full turn
    assert shifted["rt0"] == pytest.approx(0.0)


def test_the_estimate_from_a_map_finds_the_scenarios_ellipsoid(model):
    for name in ("lateral_transmural", "inferior_subendocardial", "septal_transmural"):
        sc = get_scenario(name)
        est = parameters_from_labels(tissue_labels(model.coords, sc), model.coords)
        assert est["ab0"] == pytest.approx(sc.ab0, abs=0.03), name
        d = (est["rt0"] - sc.rt0 + 0.5) % 1 - 0.5
        assert abs(d) < 0.02, name
        assert est["r_ab"] == pytest.approx(sc.r_ab, rel=0.25), name
        assert est["r_rt"] == pytest.approx(sc.r_rt, rel=0.3), name
        assert (est["r_tm"] == 3.0) == (sc.extent == "transmural"), name
    assert parameters_from_labels(np.zeros(model.anatomy.n_nodes, int), model.coords) is None


def test_the_true_infarct_has_no_discrepancy_and_a_wrong_one_has(model):
    sc = get_scenario("lateral_transmural")
    obs = model.simulate(sc)["qrs"]
    for kind in ("soft_dtw", "mse"):
        disc = Discrepancy(obs, model.dt, InversionSettings(discrepancy=kind))
        same = disc.prepare(model.simulate_tissue(tissue_labels(model.coords, sc))["qrs"])
        other = disc.prepare(model.simulate(get_scenario("septal_transmural"))["qrs"])
        d = disc(np.stack([same, other]))
        assert abs(d[0]) < 1e-6 and d[1] > 1e-3
    own = scenario_of({k: getattr(sc, k) for k in PARAMETERS})
    assert np.array_equal(tissue_labels(model.coords, own), tissue_labels(model.coords, sc))
    with pytest.raises(ValueError):
        InversionSettings(discrepancy="l1")


def test_the_inversion_recovers_a_known_infarct(model):
    """From a start 0.1 off in ab and rt the hybrid search finds the lateral infarct
    (Dice >= 0.9); from the neutral start it finds it as well (Dice >= 0.8)."""
    sc = get_scenario("lateral_transmural")
    true = tissue_labels(model.coords, sc)
    obs = model.simulate(sc)["qrs"]
    start = {**parameters_from_labels(true, model.coords)}
    start["ab0"] -= 0.1
    start["rt0"] += 0.1
    s = InversionSettings(cma=CMASettings(popsize=8, mu=4, sigma0=1.0, max_generations=15,
                                          x0=0.0, seed=1))
    wrong = segmentation_scores(tissue_labels(model.coords, scenario_of(start)), true, SCAR)
    hybrid = fit_infarct(model, obs, s, start=start)
    assert hybrid["start"] == "hybrid" and hybrid["n_simulations"] == 8 * 15
    assert segmentation_scores(hybrid["labels"], true, SCAR)["dice"] >= 0.9 > wrong["dice"]
    assert np.all(np.diff(hybrid["history"]) <= 0)           # the best so far
    s = InversionSettings(cma=CMASettings(popsize=12, mu=6, sigma0=1.0, max_generations=30,
                                          x0=0.0, seed=0))
    neutral = fit_infarct(model, obs, s)
    assert segmentation_scores(neutral["labels"], true, SCAR)["dice"] >= 0.8
    again = fit_infarct(model, obs, s)
    assert again["parameters"] == neutral["parameters"]      # seeded


def test_cases_spread_over_scenarios_and_non_identifiability_is_counted():
    import pandas as pd

    from mi_lib.inverse.model_based import non_identifiable, pick_cases

    cases = pick_cases([3, 5, 8], 16, 10, seed=0)
    assert len(cases) == len(set(cases)) == 10
    assert len({j for _, j in cases}) == 10 and {r for r, _ in cases} <= {3, 5, 8}
    assert len(pick_cases([3], 4, 10)) == 4                 # no more than there are
    t = pd.DataFrame({"method": ["a"] * 4, "discrepancy": [0.1, 0.1, 0.5, 0.5],
                      "noise_floor": [0.2] * 4, "scar_dice": [0.9, 0.1, 0.1, 0.9]})
    r = non_identifiable(t).loc["a"]
    assert r["explains the QRS"] == 0.5 and r["scar Dice < 0.5"] == 0.5
    assert r["explains it yet wrong"] == 0.25
