"""The novelty score: nearest-training-QRS distance, calibrated on held-out cases."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mi_lib.inverse.novelty import Novelty, nearest_distance, novelty_table


def test_the_distance_is_the_rms_gap_to_the_nearest_reference():
    ref = np.stack([np.zeros((8, 16)), np.ones((8, 16))])
    q = np.stack([np.full((8, 16), 0.25), np.full((8, 16), 0.9), np.ones((8, 16))])
    assert np.allclose(nearest_distance(ref, q), [0.25, 0.1, 0.0], atol=1e-7)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 8, 16)), rng.normal(size=(7, 8, 16))
    brute = np.sqrt(((b[:, None] - a[None]) ** 2).mean(axis=(2, 3)).min(axis=1))
    assert np.allclose(nearest_distance(a, b, chunk=3), brute)
    assert nearest_distance(a, b.reshape(7, 1, 8, 16)).shape == (7, 1)


def test_the_score_flags_one_percent_of_its_own_distribution_and_most_of_another():
    """Queries from the calibration cases' distribution are flagged at about the 1 %
    false-alarm rate; queries of twice the spread almost always; percentiles rank them."""
    rng = np.random.default_rng(1)
    def draw(n, scale=1.0):
        return scale * rng.normal(size=(n, 2, 4))
    score = Novelty(draw(400), draw(2000))
    same, other = draw(4000), draw(500, 3.0)
    assert score.flagged(same).mean() == pytest.approx(0.01, abs=0.006)
    assert score.flagged(other).mean() > 0.9
    assert np.median(score.percentile(same)) == pytest.approx(0.5, abs=0.05)
    assert np.all(score.percentile(other[:20]) >= 0) and np.all(score.percentile(other) <= 1)
    with pytest.raises(ValueError, match="quantile"):
        Novelty(draw(4), draw(4), quantile=1.0)


def test_the_table_scores_each_version_and_puts_its_dice_beside_it():
    """Per version: the median percentile and the share flagged of its cases, and the
    model's Dice (the clean version's from any perturbation's level 0)."""
    rng = np.random.default_rng(2)
    score = Novelty(rng.normal(size=(300, 2, 4)), rng.normal(size=(500, 2, 4)))
    clean = SimpleNamespace(qrs=rng.normal(size=(6, 5, 2, 4)))
    loud = SimpleNamespace(qrs=4.0 * rng.normal(size=(6, 5, 2, 4)))
    versions = {("clean", float("nan"), 0): clean, ("noise", 5.0, 1): loud}
    rob = pd.DataFrame({"model": ["main model"] * 2 + ["other"] * 2,
                        "perturbation": ["noise", "noise"] * 2, "level": [0, 1] * 2,
                        "scar_dice": [0.9, 0.4, 0.8, 0.7]})
    table = novelty_table(score, versions, [1, 3, 4], robustness=rob)
    assert list(table.n) == [15, 15]
    d = score.distance(clean.qrs[[1, 3, 4]]).ravel()
    assert table.flagged[0] == pytest.approx((d > score.threshold).mean())
    assert table.median_percentile[0] == pytest.approx(np.median(score.percentile(clean.qrs[[1, 3, 4]])))
    assert table.flagged[1] == 1.0
    assert list(table["main model scar Dice"]) == [0.9, 0.4]
    assert "main model scar Dice" not in novelty_table(score, versions, [1]).columns
