"""A small personalised 3D model shared by the bridge tests."""

import numpy as np
import pytest

from mi_lib.population.models import Domain, make_model
from mi_lib.population.personalization import CMASettings, personalize
from mi_lib.population.reference import ReferenceAnatomy


@pytest.fixture(scope="session")
def fitted():
    """An elliptical 3D model personalised for two generations (MMD) to draws of itself
    with the start zone at c = 0.9: its product and the model."""
    ref = ReferenceAnatomy()
    domain = Domain.from_reference(ref, dims=3, start_c=0.9, start_l=0.5)
    model = make_model("elliptical", domain)
    theta = np.array([p.unit * 1.5 for p in model.parameters()])
    real = model.sample(theta, 40, 1)
    s = CMASettings(popsize=8, mu=3, max_generations=2, n_synthetic=20, n_final=2, seed=0)
    result = personalize(model, real, s, "mmd", progress=False)
    return result.to_dataset(n_samples=20), model
