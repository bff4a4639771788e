"""Population-model infarcts placed in their territories and carried onto a twin's LV."""

import numpy as np
import pytest
import xarray as xr

from mi_lib.bridge import mapping
from mi_lib.bridge.draw import draw_infarcts
from mi_lib.bridge.infarcts import (
    CONDITIONING,
    long_axis,
    pool_descriptors,
    population_draws,
    territory_shares,
    territory_weights,
    twin_infarcts,
)
from mi_lib.population.reference import infarct_descriptors


def _population(shift_rca=0.35, shift_lcx=-0.2):
    t = ["LAD"] * 9 + ["LCX"] * 3 + ["RCA"] * 12
    rot = {"LAD": 0.0, "LCX": shift_lcx, "RCA": shift_rca}
    return xr.Dataset({"territory": (("subject",), t),
                       "rotation": (("subject",), [rot[x] for x in t])})


def _twin(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    tm, ab, rt = rng.random(n), rng.random(n), rng.random(n)
    lv = rng.random(n) > 0.2
    return tm, ab, rt, lv


def _centre_rt(labels, rt):
    w = (labels == 2).astype(float)
    return np.angle((w * np.exp(2j * np.pi * rt)).sum(axis=1)) / (2 * np.pi) % 1.0


def test_territories_follow_the_shares_and_each_goes_back_by_its_shift(fitted):
    ds, _ = fitted
    pop = _population()
    assert territory_shares(pop) == {"LAD": 9 / 24, "LCX": 3 / 24, "RCA": 12 / 24}
    tm, ab, rt, lv = _twin()
    out = twin_infarcts(ds, pop, tm, ab, rt, lv, n=60, seed=1)
    assert out["labels"].shape == (60, 5000) and set(np.unique(out["territory"])) <= {
        "LAD", "LCX", "RCA"}
    assert not out["labels"][:, ~lv].any()                      # the LV region only
    assert (out["labels"] == 2).any(axis=1).mean() > 0.8
    again = twin_infarcts(ds, pop, tm, ab, rt, lv, n=60, seed=1)
    assert np.array_equal(again["labels"], out["labels"])      # seeded
    # the LAD infarcts sit where the model's start zone is (c = 0.9, rt = 0.1); an RCA
    # infarct is the same draw moved back by its territory's shift: c - 0.35, rt + 0.35
    cen = _centre_rt(out["labels"], rt)
    lad, rca = out["territory"] == "LAD", out["territory"] == "RCA"
    def spread(x, target):
        return np.median(np.abs(np.angle(np.exp(2j * np.pi * (x - target))))) / (2 * np.pi)
    assert spread(cen[lad], 0.1) < 0.08
    assert spread(cen[rca], 0.1 + 0.35) < 0.08


def test_the_border_zone_surrounds_the_scar_and_only_it(fitted):
    ds, _ = fitted
    tm, ab, rt, lv = _twin(seed=2)
    out = twin_infarcts(ds, _population(), tm, ab, rt, lv, n=10, seed=3, bz_width=0.06)
    # the shell is measured in the wall metric of the carry's own (matched) long axis
    r, c, l = mapping.twin_to_reference(tm, ab, rt, long_axis(out, ab, lv))
    pts = mapping.coordinate_points(r, c, l)
    for lab in out["labels"]:
        scar, bz = lab == 2, lab == 1
        if not scar.any():
            continue
        gap = np.linalg.norm(pts[bz][:, None] - pts[scar][None], axis=2).min(axis=1)
        assert (gap <= 0.06 + 1e-9).all() and bz.sum() > 0
    none = twin_infarcts(ds, _population(), tm, ab, rt, lv, n=3, seed=3, bz_width=0.0)
    assert not (none["labels"] == 1).any()
    with pytest.raises(ValueError, match="shift"):
        twin_infarcts(ds, _population(), tm, ab, rt, lv, n=3, shares={"XYZ": 1.0})


def test_territory_weights_turn_the_pool_into_the_territory():
    """Weighted by them, a broad pool has a narrow target's mean and spread (the kernel
    widens the target by sqrt(1 + 0.5^2) = 1.118)."""
    rng = np.random.default_rng(0)
    pool = rng.random((20000, 3))
    target = rng.normal([0.3, 0.6, 0.45], [0.05, 0.08, 0.1], size=(200, 3))
    lge = {name: target[:, j] for j, name in enumerate(CONDITIONING)}
    w = territory_weights(pool, lge)
    assert w.shape == (20000,) and np.all(w > 0)
    w = w / w.sum()
    mean = w @ pool
    std = np.sqrt(w @ (pool - mean) ** 2)
    assert np.allclose(mean, target.mean(axis=0), atol=0.01)
    assert np.allclose(std / target.std(axis=0), np.sqrt(1.25), atol=0.06)
    # a target equal to the pool's own distribution weighs every draw about the same
    flat = territory_weights(pool, {n: pool[:3000, j] for j, n in enumerate(CONDITIONING)})
    assert np.percentile(flat, 90) / np.percentile(flat, 10) < 2.0


def test_pool_descriptors_are_notebook_01s_descriptors(fitted):
    ds, _ = fitted
    vox, domain = draw_infarcts(ds, 4, seed=2)
    got = pool_descriptors(vox, domain)
    k = np.broadcast_to(np.arange(len(domain.slices))[:, None, None], domain.mask.shape)
    c = np.asarray(domain.reference.circumferential[domain.slices][domain.mask])
    for row, v in zip(got, vox, strict=True):
        d = infarct_descriptors(k[domain.mask], c, v.astype(float))
        assert np.allclose(row, [d[n] for n in CONDITIONING])
    assert np.allclose(got[:, 0], vox.mean(axis=1))     # size: the infarcted fraction


def test_conditioned_draws_take_each_territory_s_infarcts(fitted):
    """A territory of large LGE infarcts gets the model's large draws, one of small
    infarcts its small draws; each draw is used once, and the draws are seeded."""
    ds, _ = fitted
    vox, domain = draw_infarcts(ds, 400, seed=9)
    f = pool_descriptors(vox, domain)
    order = np.argsort(f[:, 0])
    lge = {"LAD": {n: f[order[-40:], j] for j, n in enumerate(CONDITIONING)},
           "RCA": {n: f[order[:40], j] for j, n in enumerate(CONDITIONING)}}
    shifts, shares = {"LAD": 0.0, "RCA": 0.35}, {"LAD": 0.5, "RCA": 0.5}
    out = population_draws(ds, shifts, shares, 30, seed=5, lge=lge, pool=8)
    free = population_draws(ds, shifts, shares, 30, seed=5)
    lad, rca = out["territory"] == "LAD", out["territory"] == "RCA"
    assert lad.sum() >= 5 and rca.sum() >= 5
    assert np.median(out["size"][lad]) > np.median(out["size"][rca])
    assert np.median(out["size"][lad]) > np.median(free["size"])
    assert np.median(out["size"][rca]) < np.median(free["size"])
    for rows in (lad, rca):  # each territory draws its own pool, each draw used once
        assert len(set(out["draw"][rows])) == rows.sum()
        assert out["draw"][rows].max() < 8 * rows.sum()
    again = population_draws(ds, shifts, shares, 30, seed=5, lge=lge, pool=8)
    assert np.array_equal(again["reference"], out["reference"])
    with pytest.raises(ValueError, match="LGE descriptors"):
        population_draws(ds, {**shifts, "LCX": 0.1}, {"LCX": 1.0}, 3, lge=lge)
    with pytest.raises(ValueError, match="at least one"):
        population_draws(ds, shifts, shares, 0)


def test_the_twin_measure_is_the_checks_measure_of_the_carried_draws(fitted):
    """Conditioning on the twin measures a pool as the checks measure carried infarcts:
    the measure equals twin_descriptors of carry_draws' labels (scar only); conditioned on
    the twin towards large infarcts, the draws carried there are large."""
    from mi_lib.bridge.checks import twin_descriptors
    from mi_lib.bridge.infarcts import carry_draws, twin_measure

    ds, _ = fitted
    tm, ab, rt, lv = _twin(n=6000, seed=5)
    coords = np.column_stack([tm, ab, rt, np.zeros(len(tm))])
    draws = population_draws(ds, {"LAD": 0.0, "RCA": 0.35}, {"LAD": 0.5, "RCA": 0.5}, 12, seed=6)
    measure = twin_measure(tm, ab, rt, lv)
    labels = carry_draws(draws, tm, ab, rt, lv)
    rca = draws["territory"] == "RCA"
    vox, domain = draws["reference"][rca], draw_infarcts(ds, 1, seed=0)[1]
    got = measure(vox, domain, 0.35)
    la = long_axis(draws, ab, lv)
    want = twin_descriptors(np.where(labels[rca] == 2, 2, 0), coords, lv,
                            domain.reference.n_slices, la)
    assert np.allclose(got, np.column_stack([want[k] for k in CONDITIONING]))
    # the pool's largest quarter on this twin as a territory's target
    pool, dom = draw_infarcts(ds, 200, seed=7)
    f = measure(pool, dom, 0.0)
    big = np.argsort(f[:, 0])[-50:]
    lge = {"LAD": {n: f[big, j] for j, n in enumerate(CONDITIONING)}}
    out = population_draws(ds, {"LAD": 0.0}, {"LAD": 1.0}, 20, seed=8, lge=lge, measure=measure)
    carried = twin_descriptors(carry_draws(out, tm, ab, rt, lv), coords, lv,
                               dom.reference.n_slices, long_axis(out, ab, lv))
    assert np.median(carried["size"]) > np.percentile(f[:, 0], 65)
