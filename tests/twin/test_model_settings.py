"""Typed settings of the forward model: validation names the field, one source of
defaults, an exact JSON round trip, today's nested option format, and a model built from
settings equal to one built from the same keyword options."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mi_lib.core.config import project_root
from mi_lib.twin import forward
from mi_lib.twin.anatomy import load_anatomy
from mi_lib.twin.settings import DEFAULTS, ConductionVelocities, ModelSettings
from mi_lib.twin.virtual_cohort import canonical_options


@pytest.fixture(scope="module")
def small_heart():
    """The shipped heart on a coarse mesh (3 mm), enough to build and simulate quickly."""
    return load_anatomy(project_root() / "data" / "raw" / "anatomy" / "kit_geo1", edge_length=3.0)


def test_defaults_are_the_documented_constants():
    assert DEFAULTS.cv.to_dict() == {"fibre": 0.65, "sheet": 0.48, "normal": 0.51,
                                     "endo_dense": 1.5, "endo_sparse": 1.0}
    assert (DEFAULTS.upstroke_ms, DEFAULTS.dt, DEFAULTS.n_samples) == (2.0, 0.5, 512)
    assert forward.CV == DEFAULTS.cv.to_dict() and forward.UPSTROKE_MS == DEFAULTS.upstroke_ms
    assert DEFAULTS.scar_source == "silent" and DEFAULTS.roots is None


@pytest.mark.parametrize("change, field", [
    ({"dt": 0.0}, "dt"), ({"dt": float("nan")}, "dt"), ({"upstroke_ms": -1}, "upstroke_ms"),
    ({"n_samples": 1}, "n_samples"), ({"n_samples": 10.5}, "n_samples"),
    ({"flip_handedness": "yes"}, "flip_handedness"), ({"scar_source": "loud"}, "scar_source"),
    ({"cv": {"fibre": 0.0}}, "fibre"), ({"cv": {"sheet": "fast"}}, "sheet"),
])
def test_bad_values_raise_naming_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        ModelSettings.from_dict(change)


def test_unknown_options_and_velocities_are_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown model options \['speed'\]; known: cv"):
        ModelSettings.from_dict({"speed": 1})
    with pytest.raises(ValueError, match=r"\['purkinje'\].*fibre, sheet"):
        ModelSettings.from_dict({"cv": {"purkinje": 3.0}})
    with pytest.raises(KeyError, match="purkinje"):
        DEFAULTS.cv["purkinje"]


def test_frozen_and_hashable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.dt = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.cv.fibre = 1.0
    assert hash(ModelSettings(roots={"a": (3, 0.5, 0.1, 0.0)})) == hash(
        ModelSettings(roots=(("a", (3, 0.5, 0.1, 0.0)),)))


def test_json_round_trip_is_exact_and_partial_dicts_fill_defaults():
    s = ModelSettings.from_dict({"cv": {"fibre": 0.7}, "n_samples": 600, "scar_source": "slow",
                                 "roots": {"lv": (3, 0.5, 0.25, 0.0)}})
    assert ModelSettings.from_json(s.to_json()) == s
    assert s.cv.sheet == DEFAULTS.cv.sheet and s.cv.fibre == 0.7
    assert s.replace(dt=0.25).dt == 0.25 and s.replace(dt=0.25).cv == s.cv
    assert ModelSettings.from_dict(DEFAULTS.to_dict()) == DEFAULTS


def test_the_stored_product_settings_keep_their_form():
    """canonical_options (what simulations.zarr stores) is the settings' plain data, in
    the key order and types products written before the settings existed hold."""
    out = canonical_options({"cv": {"fibre": 0.7}, "upstroke_ms": 3})
    assert list(out) == ["cv", "upstroke_ms", "flip_handedness", "dt", "n_samples",
                         "scar_source"]
    assert out["upstroke_ms"] == 3.0 and isinstance(out["upstroke_ms"], float)
    assert out["cv"] == {**forward.CV, "fibre": 0.7}
    assert canonical_options(ModelSettings(upstroke_ms=3.0, cv=ConductionVelocities(fibre=0.7))) == out


def test_build_with_settings_equals_build_with_options(small_heart):
    a = forward.TwinModel.build(small_heart, cv={"fibre": 0.7}, upstroke_ms=3.0)
    b = forward.TwinModel.build(small_heart, settings=ModelSettings.from_dict(
        {"cv": {"fibre": 0.7}, "upstroke_ms": 3.0}))
    assert a.settings == b.settings and a.cv["fibre"] == 0.7 and a.upstroke_ms == 3.0
    from mi_lib.twin.scenarios import get_scenario

    s = get_scenario("lateral_transmural")
    assert np.array_equal(a.simulate(s)["qrs"], b.simulate(s)["qrs"])
    with pytest.raises(ValueError, match="either settings or options"):
        forward.TwinModel.build(small_heart, settings=DEFAULTS, dt=0.25)
