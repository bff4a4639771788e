"""The notebooks' shared setup: profile resolution, run folders, profile settings."""

import pytest

from mi_lib.core.config import PROFILE_SETTINGS, PROFILES
from mi_lib.core.notebook import start


def test_start_resolves_profile_and_run(monkeypatch, tmp_path):
    monkeypatch.setenv("MI_PROJECT_ROOT", str(tmp_path))
    monkeypatch.delenv("MI_DERIVED_ROOT")  # products under tmp_path/data/derived
    monkeypatch.setenv("MI_PROFILE", "smoke")
    run = start("", "", quiet=True)
    assert (run.profile, run.run_name) == ("smoke", "smoke")
    assert run.paths.derived == tmp_path / "data" / "derived" / "smoke"
    run = start("paper", "mine", quiet=True)
    assert (run.profile, run.run_name) == ("paper", "mine")
    monkeypatch.delenv("MI_PROFILE")
    assert start("", "", quiet=True).profile == "standard"
    with pytest.raises(ValueError, match="choose one of smoke, standard, paper"):
        start("large", quiet=True)
    with pytest.raises(ValueError, match="invalid run_name"):
        start("smoke", "a/b", quiet=True)


def test_pick_prefers_the_given_value(monkeypatch, tmp_path):
    monkeypatch.setenv("MI_PROJECT_ROOT", str(tmp_path))
    monkeypatch.delenv("MI_DERIVED_ROOT")  # products under tmp_path/data/derived
    run = start("smoke", quiet=True)
    assert run.pick(0, "models", "n_columns") == PROFILE_SETTINGS["smoke"]["models"]["n_columns"]
    assert run.pick(None, "analysis", "noise_floor_splits") == 5
    assert run.pick(7, "models", "n_columns") == 7
    with pytest.raises(KeyError, match="no setting models/nope"):
        run.pick(0, "models", "nope")
    run.settings["models"]["n_columns"] = -1  # a copy: the profiles are untouched
    assert PROFILE_SETTINGS["smoke"]["models"]["n_columns"] > 0


def test_every_profile_has_the_same_settings():
    keys = {p: sorted(PROFILE_SETTINGS[p]) for p in PROFILES}
    assert all(k == keys["smoke"] for k in keys.values()), keys
    for p in PROFILES:
        for group, values in PROFILE_SETTINGS[p].items():
            if isinstance(values, dict):
                assert sorted(values) == sorted(PROFILE_SETTINGS["smoke"][group]), (p, group)
