"""Population-model infarcts placed in their territories and carried onto a twin's LV."""

import numpy as np
import pytest
import xarray as xr

from mi_lib.bridge import mapping
from mi_lib.bridge.infarcts import territory_shares, twin_infarcts


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
    r, c, l = mapping.twin_to_reference(tm, ab, rt)
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
