"""Shared fixtures: small synthetic cohorts written once per test session; every test's
products go to a temporary folder, never into ``data/derived/``."""

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


@pytest.fixture(scope="session")
def _derived_root(tmp_path_factory):
    return tmp_path_factory.mktemp("derived")


@pytest.fixture(autouse=True)
def _products_in_a_temporary_folder(_derived_root, monkeypatch):
    """Run products of every test land in one temporary folder per test session
    (``MI_DERIVED_ROOT``), shared by the tests that build the same product."""
    monkeypatch.setenv("MI_DERIVED_ROOT", str(_derived_root))
