"""Shared fixtures: small synthetic cohorts written once per test session."""

import numpy as np
import pytest

from mi_lib.cohort import SyntheticCohortSpec, synthesize_cohort


@pytest.fixture(scope="session")
def cohort_right(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort_right")
    synthesize_cohort(root, SyntheticCohortSpec(
        territory_counts={"LAD": 3, "LCX": 2, "RCA": 3}, seed=11, handedness="right"))
    return root


@pytest.fixture(scope="session")
def cohort_left(tmp_path_factory):
    root = tmp_path_factory.mktemp("cohort_left")
    synthesize_cohort(root, SyntheticCohortSpec(
        territory_counts={"LAD": 3, "LCX": 2, "RCA": 3}, seed=11, handedness="left"))
    return root


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
