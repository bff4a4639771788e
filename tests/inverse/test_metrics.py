"""Paper 004's metrics: Dice / precision / recall by hand and in every empty case, AHA-loc
on handmade clouds and against a plain reference, the LV extent against every pair,
Table I's averages over samples, and the paper's table as stored."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from mi_lib.inverse.data import infarct_scenarios
from mi_lib.inverse.metrics import (
    BORDER_ZONE,
    HEALTHY,
    LOCATIONS,
    METRIC_COLUMNS,
    PAPER_TABLE1,
    SCAR,
    TRANSMURALITIES,
    aha_loc_score,
    diameter,
    infarct_centre,
    lv_extent,
    sample_metrics,
    scenario_parts,
    segmentation_scores,
    table1,
)

# --- Dice, precision, recall ----------------------------------------------------------


def test_scores_by_hand():
    true = np.array([2, 2, 2, 2, 0, 1, 0])
    pred = np.array([2, 0, 1, 2, 2, 1, 0])
    scar = segmentation_scores(pred, true, SCAR)  # TP 2, FP 1, FN 2
    assert scar == pytest.approx({"dice": 4 / 7, "precision": 2 / 3, "recall": 1 / 2})
    bz = segmentation_scores(pred, true, BORDER_ZONE)  # TP 1, FP 1, FN 0
    assert bz == pytest.approx({"dice": 2 / 3, "precision": 1 / 2, "recall": 1.0})
    healthy = segmentation_scores(pred, true, HEALTHY)  # TP 1, FP 1, FN 1
    assert healthy == pytest.approx({"dice": 1 / 2, "precision": 1 / 2, "recall": 1 / 2})
    assert all(isinstance(v, float) for v in scar.values())


@pytest.mark.parametrize("pred, true, expected", [
    ([0, 0, 1], [0, 1, 1], (1.0, 1.0, 1.0)),  # neither map has scar
    ([0, 0, 1], [2, 0, 1], (0.0, 0.0, 0.0)),  # scar missed entirely
    ([2, 0, 1], [0, 0, 1], (0.0, 0.0, 1.0)),  # scar where there is none: nothing to find
    ([2, 2, 2], [2, 2, 2], (1.0, 1.0, 1.0)),
])
def test_the_empty_conventions(pred, true, expected):
    s = segmentation_scores(np.array(pred), np.array(true), SCAR)
    assert (s["dice"], s["precision"], s["recall"]) == expected


def test_scores_over_a_sample_axis_match_one_by_one(rng):
    true = rng.integers(0, 3, size=(6, 40))
    pred = rng.integers(0, 3, size=(6, 40))
    pred[0] = 0  # an empty prediction among them
    true[1] = 0
    batch = segmentation_scores(pred, true, SCAR)
    for key in ("dice", "precision", "recall"):
        assert batch[key].shape == (6,)
        one = [segmentation_scores(p, t, SCAR)[key] for p, t in zip(pred, true, strict=True)]
        np.testing.assert_array_equal(batch[key], one)
    # dice is the harmonic mean of precision and recall wherever both are positive
    p, r = batch["precision"][2:], batch["recall"][2:]
    np.testing.assert_allclose(batch["dice"][2:], 2 * p * r / (p + r))


def test_scores_reject_mismatched_maps():
    with pytest.raises(ValueError, match="one shape"):
        segmentation_scores(np.zeros(3), np.zeros(4), SCAR)


# --- the LV extent --------------------------------------------------------------------


def _brute_diameter(points):
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return d.max() if len(points) else 0.0


def test_diameter_is_the_largest_pair_distance(rng):
    ellipsoid = rng.normal(size=(800, 3)) * [30.0, 20.0, 50.0]
    assert diameter(ellipsoid) == pytest.approx(_brute_diameter(ellipsoid), rel=1e-12)
    planar = np.c_[rng.normal(size=(300, 2)), np.zeros(300)]  # degenerate hull
    assert diameter(planar) == pytest.approx(_brute_diameter(planar), rel=1e-12)
    line = np.outer(rng.normal(size=100), [1.0, 2.0, 2.0])
    assert diameter(line) == pytest.approx(3 * np.ptp(line[:, 0]), rel=1e-12)
    assert diameter(np.array([[0.0, 0, 0], [3, 4, 0]])) == 5.0
    assert diameter(np.zeros((1, 3))) == 0.0


def test_lv_extent_ignores_points_outside_the_lv(rng):
    xyz = rng.normal(size=(500, 3)) * 10
    aha = rng.integers(0, 18, size=500)
    xyz[aha == 0] *= 100  # RV free wall far out: must not set the scale
    assert lv_extent(aha, xyz) == pytest.approx(_brute_diameter(xyz[aha > 0]), rel=1e-12)
    with pytest.raises(ValueError, match="LV point"):
        lv_extent(np.zeros(5, int), xyz[:5])


# --- AHA-loc --------------------------------------------------------------------------

# A tiny cloud computed by hand: segments of the points and their positions (mm).
TINY_AHA = np.array([1, 1, 2, 7, 0, 3])
TINY_XYZ = np.array([[0.0, 0, 0], [2, 0, 0], [4, 0, 0], [0, 3, 0], [0, 0, 4], [10, 0, 0]])
TINY_SCALE = math.sqrt(109.0)  # LV points: p3 (0, 3, 0) to p5 (10, 0, 0)


def _map(*scar_points, n=6):
    m = np.zeros(n, int)
    m[list(scar_points)] = SCAR
    return m


def test_tiny_cloud_by_hand():
    assert lv_extent(TINY_AHA, TINY_XYZ) == pytest.approx(TINY_SCALE)
    true = _map(0, 1, 2)  # centroid (2, 0, 0) = p1: segment 1; segments {1, 2}
    centre, segment = infarct_centre(true, TINY_AHA, TINY_XYZ)
    np.testing.assert_allclose(centre, [2, 0, 0])
    assert segment == 1
    # pred p2, p3, p4, p5: centroid (3.5, 0.75, 1) nearest p2 (segment 2): delta 0;
    # segments {2, 7, 3} (p4 is outside the LV): IoU with {1, 2} = 1/4
    pred = _map(2, 3, 4, 5)
    d_c = math.sqrt(1.5**2 + 0.75**2 + 1.0) / TINY_SCALE
    expected = 0.5 * 0 + 0.2 * 0.25 + 0.3 * (1 - d_c)
    assert aha_loc_score(pred, true, TINY_AHA, TINY_XYZ) == pytest.approx(expected)
    # pred p0, p1, p3: centroid (2/3, 1, 0) nearest p0 (segment 1): delta 1;
    # segments {1, 7}: IoU 1/3; centre distance 5/3
    pred = _map(0, 1, 3)
    expected = 0.5 + 0.2 / 3 + 0.3 * (1 - (5 / 3) / TINY_SCALE)
    assert aha_loc_score(pred, true, TINY_AHA, TINY_XYZ) == pytest.approx(expected)
    # the centroid (1/3, 1, 4/3) of p0, p3, p4 is off the points, nearest p0
    assert infarct_centre(_map(0, 3, 4), TINY_AHA, TINY_XYZ)[1] == 1


def test_a_given_scale_and_the_clip():
    true, pred = _map(0, 1, 2), _map(0, 1, 3)
    far = aha_loc_score(pred, true, TINY_AHA, TINY_XYZ, scale=1.0)  # 5/3 mm > 1 mm: d_c = 1
    assert far == pytest.approx(0.5 + 0.2 / 3)
    assert aha_loc_score(pred, true, TINY_AHA, TINY_XYZ, scale=10.0) == pytest.approx(
        0.5 + 0.2 / 3 + 0.3 * (1 - 1 / 6))
    with pytest.raises(ValueError, match="positive"):
        aha_loc_score(pred, true, TINY_AHA, TINY_XYZ, scale=0.0)


def _ring_cloud():
    """A ring of 6 segments x 20 points of radius 30 mm, plus 10 points outside the LV."""
    angle = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    xyz = np.c_[30 * np.cos(angle), 30 * np.sin(angle), np.zeros(120)]
    xyz = np.r_[xyz, np.c_[np.full(10, 45.0), np.linspace(-5, 5, 10), np.full(10, 1.0)]]
    aha = np.r_[np.repeat(np.arange(1, 7), 20), np.zeros(10, int)]
    return aha, xyz


def test_perfect_and_far_predictions():
    aha, xyz = _ring_cloud()
    true = np.where(aha == 1, SCAR, HEALTHY)
    true[aha == 2] = BORDER_ZONE
    assert aha_loc_score(true, true, aha, xyz) == 1.0
    assert lv_extent(aha, xyz) == pytest.approx(60.0)
    # scar in the opposite segment: other centre segment, disjoint segment sets, and the
    # centres two arc-centroid radii (30 sin(pi/6) / (pi/6) mm) apart
    pred = np.where(aha == 4, SCAR, HEALTHY)
    arc = 30 * math.sin(math.pi / 6) / (math.pi / 6)  # centroid radius of a 60-degree arc
    c_true = infarct_centre(true, aha, xyz)[0]
    assert np.linalg.norm(c_true[:2]) == pytest.approx(arc, rel=1e-3)  # 20 points sample it
    d = np.linalg.norm(c_true - infarct_centre(pred, aha, xyz)[0])
    assert aha_loc_score(pred, true, aha, xyz) == pytest.approx(0.3 * (1 - d / 60.0))
    assert d / 60 == pytest.approx(arc / 30, rel=1e-3)
    assert aha_loc_score(np.zeros_like(true), true, aha, xyz) == 0.0
    with pytest.raises(ValueError, match="no point labelled 2"):
        aha_loc_score(true, np.zeros_like(true), aha, xyz)


def _reference_aha_loc(pred, true, aha, xyz):
    """Eq. 12 written out plainly, the scale from every pair of LV points."""
    if not (pred == SCAR).any():
        return 0.0

    def centre(m):
        idx = [i for i in range(len(m)) if m[i] == SCAR]
        c = sum(xyz[i] for i in idx) / len(idx)
        return c, aha[min(idx, key=lambda i: float(np.sum((xyz[i] - c) ** 2)))]

    (cp, sp), (ct, st) = centre(pred), centre(true)
    a = {int(s) for s, m in zip(aha, pred, strict=True) if m == SCAR and s > 0}
    b = {int(s) for s, m in zip(aha, true, strict=True) if m == SCAR and s > 0}
    iou = len(a & b) / len(a | b) if a | b else 0.0
    lv = xyz[aha > 0]
    scale = max(np.linalg.norm(p - q) for p, q in itertools.combinations(lv, 2))
    return 0.5 * (sp == st) + 0.2 * iou + 0.3 * (1 - min(1.0, np.linalg.norm(cp - ct) / scale))


def test_aha_loc_matches_a_plain_reference(rng):
    for _ in range(20):
        n = 70
        xyz = rng.normal(size=(n, 3)) * [20, 30, 40]
        aha = rng.integers(0, 18, size=n)
        true = rng.choice(3, size=n, p=[0.6, 0.2, 0.2])
        pred = rng.choice(3, size=n, p=[0.6, 0.2, 0.2])
        true[0] = SCAR
        got = aha_loc_score(pred, true, aha, xyz)
        assert 0.0 <= got <= 1.0
        assert got == pytest.approx(_reference_aha_loc(pred, true, aha, xyz), abs=1e-12)


def test_sample_metrics_are_the_seven_columns():
    aha, xyz = _ring_cloud()
    true = np.where(aha == 1, SCAR, HEALTHY)
    true[aha == 2] = BORDER_ZONE
    pred = np.where(aha == 1, SCAR, HEALTHY)
    pred[20:31] = SCAR  # 11 points of segment 2: the centroid at 45 deg, in segment 1
    m = sample_metrics(pred, true, aha, xyz)
    assert tuple(m) == METRIC_COLUMNS
    assert m["scar_precision"] == 20 / 31 and m["scar_recall"] == 1.0
    assert m["bz_dice"] == 0.0 and m["bz_recall"] == 0.0
    assert m["aha_loc"] == pytest.approx(aha_loc_score(pred, true, aha, xyz))
    assert sample_metrics(pred, true, aha, xyz, scale=1.0)["aha_loc"] == pytest.approx(
        0.5 + 0.2 * 0.5)  # same centre segment, IoU({1, 2}, {1}), centres > 1 mm apart
    healthy = sample_metrics(pred, np.zeros_like(true), aha, xyz)
    assert math.isnan(healthy["aha_loc"]) and healthy["scar_recall"] == 1.0


# --- Table I --------------------------------------------------------------------------


def test_scenario_parts_parse_our_names_only():
    names = infarct_scenarios()
    parts = [scenario_parts(n) for n in names]
    assert sorted(parts) == sorted(itertools.product(LOCATIONS, TRANSMURALITIES))
    assert scenario_parts("anterior_limited_subendocardial") == ("anterior_limited",
                                                                 "subendocardial")
    for bad in ("baseline", "lateral_transmural_slow", "posterior_transmural", "septal"):
        with pytest.raises(ValueError, match=bad):
            scenario_parts(bad)


def _metrics_table(rng):
    rows = []
    counts = {"septal_transmural": 3, "septal_subendocardial": 2, "apical_transmural": 5,
              "lateral_small_subendocardial": 1, "baseline": 4, "lateral_transmural_slow": 2,
              "mystery_transmural": 2}
    for model in ("vae", "nearest"):
        for scenario, count in counts.items():
            for k in range(count):
                values = rng.uniform(size=len(METRIC_COLUMNS))
                rows.append({"model": model, "subject": f"s{k}", "scenario": scenario,
                             "split": "test" if k % 2 == 0 else "validation",
                             **dict(zip(METRIC_COLUMNS, values, strict=True))})
    return pd.DataFrame(rows)


def test_table1_averages_over_samples(rng):
    metrics = _metrics_table(rng)
    t = table1(metrics)
    assert list(t.index.names) == ["model", "transmurality", "location"]
    assert t.loc["vae"].index.tolist() == [
        ("subendocardial", "septal"), ("subendocardial", "lateral_small"),
        ("subendocardial", "average"), ("transmural", "septal"), ("transmural", "apical"),
        ("transmural", "average"), ("all", "average")]
    assert t.index.get_level_values("model").unique().tolist() == ["vae", "nearest"]
    ours = ["septal_transmural", "septal_subendocardial", "apical_transmural",
            "lateral_small_subendocardial"]
    for model in ("vae", "nearest"):
        of = metrics[metrics["model"] == model]
        groups = {("transmural", "apical"): ["apical_transmural"],
                  ("subendocardial", "lateral_small"): ["lateral_small_subendocardial"],
                  ("transmural", "average"): ["septal_transmural", "apical_transmural"],
                  ("all", "average"): ours}
        for key, scenarios in groups.items():
            block = of[of["scenario"].isin(scenarios)]
            row = t.loc[(model, *key)]
            assert row[("n", "")] == len(block)
            for m in METRIC_COLUMNS:
                assert row[(m, "mean")] == pytest.approx(block[m].mean())
                if len(block) > 1:
                    assert row[(m, "sd")] == pytest.approx(np.std(block[m], ddof=1))
                else:
                    assert math.isnan(row[(m, "sd")])
    # over samples, not rows: 3 septal and 5 apical samples weigh 3 : 5
    row_means = t.loc[("vae", "transmural", ["septal", "apical"]), ("scar_dice", "mean")]
    assert t.loc[("vae", "transmural", "average"), ("scar_dice", "mean")] == pytest.approx(
        (3 * row_means.iloc[0] + 5 * row_means.iloc[1]) / 8)
    test_only = table1(metrics, split="test")
    assert test_only.loc[("vae", "transmural", "apical"), ("n", "")] == 3
    assert test_only.xs("mean", axis=1, level=1).columns.tolist() == list(METRIC_COLUMNS)


def test_table1_names_a_missing_column(rng):
    with pytest.raises(ValueError, match="aha_loc"):
        table1(_metrics_table(rng).drop(columns="aha_loc"))
    with pytest.raises(ValueError, match="split"):
        table1(_metrics_table(rng).drop(columns="split"), split="test")


def test_the_papers_table():
    mean = PAPER_TABLE1.xs("mean", axis=1, level=1)
    assert mean.columns.tolist() == list(METRIC_COLUMNS)
    assert mean.shape == (19, 7)
    assert mean.loc[("all", "average"), "scar_dice"] == 0.457
    assert mean.loc[("all", "average"), "aha_loc"] == 0.634
    assert mean.loc[("subendocardial", "average"), "scar_dice"] == 0.396
    assert mean.loc[("transmural", "average"), "scar_dice"] == 0.518
    assert PAPER_TABLE1.loc[("transmural", "lateral"), ("bz_precision", "sd")] == 0.340
    assert PAPER_TABLE1.loc[("subendocardial", "lateral_small"), ("scar_recall", "sd")] == 0.452
    septal = PAPER_TABLE1.loc[("transmural", "septal")]
    assert septal[("scar_recall", "mean")] == 0.695
    assert septal.isna().sum() == 8  # 4 BZ / AHA-loc metrics x (mean, sd)
    assert PAPER_TABLE1.drop(index=[("transmural", "septal")]).notna().all().all()
    for tm in TRANSMURALITIES:
        assert PAPER_TABLE1.loc[tm].index.tolist() == [*LOCATIONS, "average"]
    # the averages of the paper's rows (10 test subjects each) lie near its averages
    for tm in TRANSMURALITIES:
        rows = mean.loc[tm].drop(index="average")["scar_dice"]
        assert rows.mean() == pytest.approx(mean.loc[(tm, "average"), "scar_dice"], abs=2e-3)


def test_compare_models_and_scenario_table_put_the_papers_values_beside_ours():
    from mi_lib.inverse.metrics import compare_models, scenario_table

    rows = []
    for model, value in (("a", 0.2), ("b", 0.6)):
        for subject in ("s1", "s2"):
            for scenario in ("apical_transmural", "septal_subendocardial"):
                rows.append({"model": model, "subject": subject, "scenario": scenario,
                             "split": "test", **{c: value for c in METRIC_COLUMNS}})
    m = pd.DataFrame(rows)
    m.loc[(m.model == "b") & (m.subject == "s2"), "scar_dice"] = 0.8
    t = compare_models(m, ["a", "b"])
    assert t.loc["all", ("scar_dice", "a")] == "0.200 ± 0.000"
    assert t.loc["all", ("scar_dice", "b")] == f"0.700 ± {np.std([0.6, 0.6, 0.8, 0.8], ddof=1):.3f}"
    assert t.loc["all", ("scar_dice", "paper")] == "0.457 ± 0.317"
    assert t.loc["subendocardial", ("aha_loc", "paper")] == "0.610 ± 0.343"
    per = scenario_table(m, "b")
    assert per.loc[("transmural", "apical"), ("scar_dice", "paper")] == "0.779 ± 0.186"
    assert per.loc[("all", "average"), ("n", "")] == 4
