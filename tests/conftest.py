"""Shared fixtures: small synthetic cohorts written once per test session."""

import numpy as np
import pytest

from mi_lib.population.lge import SyntheticCohortSpec, synthesize_cohort


def _mirrored_pair_cohort(factory, handedness):
    """The same 8 subjects (seed 11), all drawn with one image handedness."""
    root = factory.mktemp(f"cohort_{handedness}")
    synthesize_cohort(root, SyntheticCohortSpec(
        territory_counts={"LAD": 3, "LCX": 2, "RCA": 3}, seed=11, handedness=handedness))
    return root


@pytest.fixture(scope="session")
def cohort_right(tmp_path_factory):
    return _mirrored_pair_cohort(tmp_path_factory, "right")


@pytest.fixture(scope="session")
def cohort_left(tmp_path_factory):
    return _mirrored_pair_cohort(tmp_path_factory, "left")


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
