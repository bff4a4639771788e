"""Atomic writes, profiles and run paths."""

import numpy as np
import pytest
import xarray as xr

from mi_lib.core import config
from mi_lib.core.store import atomic_path, write_json, write_netcdf


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "product.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text().strip().startswith("{")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["product.json"]


def test_netcdf_roundtrip_keeps_bool_and_strings(tmp_path):
    ds = xr.Dataset({"m": (("a",), np.array([True, False])),
                     "t": (("s",), np.array(["LAD", "RCA"], dtype=object))},
                    coords={"s": np.array(["x1", "x2"], dtype=object)})
    path = write_netcdf(tmp_path / "d.nc", ds)
    back = xr.load_dataset(path)
    assert back.m.dtype == bool
    assert list(back.t.values) == ["LAD", "RCA"] and list(back.s.values) == ["x1", "x2"]


def test_profiles(monkeypatch):
    monkeypatch.delenv("MI_PROFILE", raising=False)
    assert config.default_profile() == "standard"
    monkeypatch.setenv("MI_PROFILE", "smoke")
    assert config.default_profile() == "smoke"
    monkeypatch.setenv("MI_PROFILE", "huge")
    with pytest.raises(ValueError, match="smoke, standard, paper"):
        config.default_profile()
    smoke = config.settings("smoke")["cohort"]["territory_counts"]
    paper = config.settings("paper")["cohort"]["territory_counts"]
    assert paper == {"LAD": 45, "LCX": 17, "RCA": 61}
    assert sum(smoke.values()) < sum(paper.values())


def test_run_paths(tmp_path, monkeypatch):
    paths = config.RunPaths("smoke", root=tmp_path)
    monkeypatch.delenv("MI_DERIVED_ROOT")
    assert paths.product("population.nc") == tmp_path / "data/derived/smoke/population.nc"
    assert paths.derived.is_dir()
    monkeypatch.setenv("MI_DERIVED_ROOT", str(tmp_path / "scratch"))
    assert paths.product("x.nc") == tmp_path / "scratch/smoke/x.nc"
    for bad in ("", "../x", "a/b", ".."):
        with pytest.raises(ValueError, match="run_name"):
            config.RunPaths(bad, root=tmp_path)


def test_atomic_products_get_the_usual_file_mode(tmp_path):
    import os

    from mi_lib.core.store import write_text

    path = write_text(tmp_path / "report.html", "<html></html>")
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)


def test_tests_never_write_into_data_derived():
    """The conftest fixture sends every run product of the tests to a temporary folder."""
    paths = config.RunPaths("smoke")
    assert not paths.derived.is_relative_to(config.project_root() / "data" / "derived")
    assert paths.raw == config.project_root() / "data" / "raw"
