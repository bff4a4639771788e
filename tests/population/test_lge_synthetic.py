"""The synthetic cohort generator: format, determinism, and plausible infarcts."""

import numpy as np
import pandas as pd
import pytest

from mi_lib.population.lge import (
    SyntheticCohortSpec,
    open_cohort,
    synthesize_cohort,
    synthesize_subject,
)
from mi_lib.population.lge.synthetic import TERRITORY_BEDS


def test_default_spec_is_the_papers_cohort():
    spec = SyntheticCohortSpec()
    assert spec.n_subjects == 123
    assert spec.territory_counts == {"LAD": 45, "LCX": 17, "RCA": 61}


def test_same_seed_same_files(tmp_path):
    spec = SyntheticCohortSpec(territory_counts={"LAD": 2, "LCX": 1, "RCA": 1}, seed=5)
    synthesize_cohort(tmp_path / "a", spec)
    synthesize_cohort(tmp_path / "b", spec)
    for name in ("cohort.csv", "truth.csv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    a, b = open_cohort(tmp_path / "a"), open_cohort(tmp_path / "b")
    for sid in a.subject_ids:
        np.testing.assert_array_equal(a.load(sid).labels, b.load(sid).labels)
        assert (a.landmarks_path(sid).read_text() == b.landmarks_path(sid).read_text())
    other = SyntheticCohortSpec(territory_counts=spec.territory_counts, seed=6)
    synthesize_cohort(tmp_path / "c", other)
    c = open_cohort(tmp_path / "c")
    assert any(not np.array_equal(a.load(s).labels, c.load(s).labels) if
               a.load(s).labels.shape == c.load(s).labels.shape else True
               for s in a.subject_ids)


def test_written_cohort_is_valid_and_split_by_territory(tmp_path):
    counts = {"LAD": 4, "LCX": 2, "RCA": 3}
    truth = synthesize_cohort(tmp_path, SyntheticCohortSpec(territory_counts=counts, seed=2))
    cohort = open_cohort(tmp_path)
    cohort.validate()
    assert pd.Series(cohort.territories).value_counts().to_dict() == counts
    assert len(truth) == 9


@pytest.fixture(scope="module")
def population_truth():
    """The default 123-subject cohort's ground truth, drawn in memory."""
    spec = SyntheticCohortSpec()
    territories = [t for t in ("LAD", "LCX", "RCA") for _ in range(spec.territory_counts[t])]
    children = np.random.SeedSequence(0).spawn(len(territories))
    rows = []
    for i, (t, child) in enumerate(zip(territories, children, strict=True)):
        subject, truth = synthesize_subject(f"S{i}", t, np.random.default_rng(child))
        truth["labels"] = subject.labels
        truth["anterior"] = subject.anterior
        rows.append(truth)
    return rows


def test_infarct_sizes_are_clinically_plausible(population_truth):
    sizes = np.array([t["infarct_fraction"] for t in population_truth])
    assert sizes.min() >= 0.02  # every subject of an MI cohort has an infarct
    assert 0.10 <= np.median(sizes) <= 0.20  # acute STEMI: median about 15 % of the LV
    assert sizes.max() < 0.6


def test_anatomy_varies_within_ranges(population_truth):
    n = np.array([t["n_slices"] for t in population_truth])
    assert n.min() >= 13 and n.max() <= 21
    assert abs(n.mean() - 17) < 1.0 and 1.0 < n.std() < 3.0  # 17 +- 2 slices
    hands = {t["handedness"] for t in population_truth}
    assert hands == {-1, 1}
    assert np.std([t["rotation_deg"] for t in population_truth]) > 60
    assert any(t["no_reflow"] for t in population_truth)
    assert not all(t["no_reflow"] for t in population_truth)


def test_infarcts_are_mostly_subendocardial_or_transmural(population_truth):
    """The wavefront grows from the endocardium: infarct is never epicardial-only."""
    for t in population_truth[:30]:
        labels = t["labels"]
        inf = np.isin(labels, (3, 4))
        cavity = labels == 1
        touching = 0
        for k in range(labels.shape[2]):
            if not inf[:, :, k].any():
                continue
            grown = np.zeros_like(cavity[:, :, k])
            grown[1:] |= cavity[:-1, :, k]
            grown[:-1] |= cavity[1:, :, k]
            grown[:, 1:] |= cavity[:, :-1, k]
            grown[:, :-1] |= cavity[:, 1:, k]
            touching += (inf[:, :, k] & grown).any() or not cavity[:, :, k].any()
        assert touching >= 1


def test_territories_sit_in_their_beds(population_truth):
    for terr in ("LAD", "LCX", "RCA"):
        centres = np.deg2rad([t["bed_centre_deg"] for t in population_truth
                              if t["territory"] == terr])
        mean = np.rad2deg(np.angle(np.exp(1j * centres).mean())) % 360
        diff = (mean - TERRITORY_BEDS[terr]["psi"] + 180) % 360 - 180
        assert abs(diff) < 10


def test_unknown_territory_rejected():
    with pytest.raises(ValueError, match="unknown territory"):
        synthesize_subject("x", "LM", np.random.default_rng(0))
