"""Virtual cohort: bounded shape modes, point clouds, the resumable simulation product."""

import numpy as np
import pytest
import xarray as xr

from mi_lib.core.config import project_root
from mi_lib.twin.anatomy import signed_volumes
from mi_lib.twin.ecg import LEADS
from mi_lib.twin.virtual_cohort import (
    MODES,
    _source,
    cohort_specs,
    deform,
    farthest_point_sampling,
    run_simulations,
)

HEART = str(project_root() / "data" / "raw" / "anatomy" / "kit_geo1")


def test_specs_are_seeded_bounded_and_start_from_the_real_mesh():
    a = cohort_specs([HEART], 49, seed=3)
    b = cohort_specs([HEART], 49, seed=3)
    assert a == b and cohort_specs([HEART], 49, seed=4) != a
    assert a[0].modes == (0.0,) * len(MODES) and a[0].name == "kit_geo1_000"
    ranges = np.array([r for r, _ in MODES.values()])
    coef = np.array([s.modes for s in a[1:]])
    assert np.all(np.abs(coef) <= ranges) and np.all(coef.std(axis=0) > 0.3 * ranges)
    with pytest.raises(ValueError, match="source meshes"):
        cohort_specs([HEART, HEART + "/heart.vtp"], 1)


def test_shape_modes_are_exact_where_they_are_linear():
    anatomy, coords = _source(HEART, 2.0, "auto")
    p = anatomy.points
    c = p.mean(axis=0)
    up = deform(anatomy, coords, {"scale": 0.1})
    assert np.allclose(up.points - c, 1.1 * (p - c))
    assert np.isclose(signed_volumes(up.points, up.tets).sum(),
                      1.1**3 * signed_volumes(p, anatomy.tets).sum())
    axis = coords.axes["long_axis"]
    longer = deform(anatomy, coords, {"length": -0.1})
    h0, h1 = (p - c) @ axis, (longer.points - c) @ axis
    assert np.allclose(h1, 0.9 * h0)
    assert np.allclose(longer.points - np.outer(h1, axis), p - np.outer(h0, axis))
    # the RV mode moves the RV free wall, hardly the LV free wall
    rv = deform(anatomy, coords, {"rv_size": 0.15})
    move = np.linalg.norm(rv.points - p, axis=1)
    assert np.median(move[coords.u > 0.95]) > 5 * np.median(move[coords.u < 0.05])
    # every cohort member is a valid mesh
    for spec in cohort_specs([HEART], 49, seed=0):
        d = deform(anatomy, coords, spec.coefficients)
        assert signed_volumes(d.points, d.tets).min() > 0


def test_farthest_point_sampling_is_nested_and_spread():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3000, 3))
    idx = farthest_point_sampling(x, 300, seed=1)
    assert len(np.unique(idx)) == 300
    assert np.array_equal(farthest_point_sampling(x, 100, seed=1), idx[:100])
    d = np.linalg.norm(x[:, None] - x[idx][None], axis=2).min(axis=1)
    # covering radius of 300 farthest points is far below that of 300 random points
    d_rand = np.linalg.norm(x[:, None] - x[rng.choice(3000, 300, replace=False)][None],
                            axis=2).min(axis=1)
    assert d.max() < 0.7 * d_rand.max()
    with pytest.raises(ValueError, match="cannot sample"):
        farthest_point_sampling(x, 4000)


def test_simulations_product_resumes_without_recomputing(tmp_path):
    specs = cohort_specs([HEART], 1, seed=0)
    out = tmp_path / "simulations.zarr"
    ds, first = run_simulations(specs, out, ["baseline"], scheduler_address="synchronous",
                                progress=False)
    assert first["computed"] == 2 and first["done_before"] == 0
    part = tmp_path / "simulations_parts" / specs[0].name / "baseline.npz"
    stamp = part.stat().st_mtime_ns
    ds, again = run_simulations(specs, out, ["baseline", "lateral_transmural"],
                                scheduler_address="synchronous", progress=False)
    assert again["done_before"] == 2 and again["computed"] == 1
    assert part.stat().st_mtime_ns == stamp
    back = xr.open_zarr(out)
    assert list(back.lead.values) == list(LEADS)
    assert list(back.scenario.values) == ["baseline", "lateral_transmural"]
    assert back.qrs.shape == (1, 2, 8, 512)
    assert float(back.time[1] - back.time[0]) == 0.5
    assert back.pc_dense.shape == (1, 4096, 7) and back.pc_coarse.shape == (1, 1024, 7)
    assert np.array_equal(back.pc_coarse.values, back.pc_dense.values[:, :1024])
    tissue = back.pc_dense_tissue.sel(scenario="lateral_transmural").values
    assert (tissue == 2).any() and not (back.pc_dense_tissue.sel(scenario="baseline") > 0).any()
    dur = back.activation_duration.values[0]
    assert dur[1] > dur[0]
    with pytest.raises(ValueError, match="other settings"):
        run_simulations(specs, out, ["baseline"], scheduler_address="synchronous",
                        model_options={"upstroke_ms": 3.0}, progress=False)


def test_model_options_compare_with_their_defaults_filled_in():
    from mi_lib.twin.forward import CV
    from mi_lib.twin.virtual_cohort import canonical_options

    assert canonical_options(None) == canonical_options({"cv": dict(CV), "upstroke_ms": 2.0})
    assert canonical_options({"cv": {"fibre": 0.7}})["cv"]["sheet"] == CV["sheet"]
    assert canonical_options({"cv": {"fibre": 0.7}}) != canonical_options(None)
    with pytest.raises(ValueError, match="unknown model options"):
        canonical_options({"speed": 1})
    with pytest.raises(ValueError, match="unknown conduction velocities"):
        canonical_options({"cv": {"purkinje": 3.0}})


def test_concurrent_campaigns_on_one_folder_wait_for_each_other(tmp_path):
    """Two processes asking for the same product: the second waits, computes nothing."""
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f'''
        import json, sys
        from mi_lib.twin.virtual_cohort import cohort_specs, run_simulations
        if __name__ == "__main__":
            specs = cohort_specs([{HEART!r}], 1, seed=0)
            _, s = run_simulations(specs, {str(tmp_path / "simulations.zarr")!r}, ["baseline"],
                                   scheduler_address="synchronous", progress=False)
            print(json.dumps(s))
    '''))
    procs = [subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    import json

    computed = sorted(json.loads(o[0].strip().splitlines()[-1])["computed"] for o in outs)
    assert computed == [0, 2]
    assert xr.open_zarr(tmp_path / "simulations.zarr").sizes["scenario"] == 1


def _notebook_parameters(name):
    """The parameters cell of a notebook, executed: name -> default value."""
    import json

    nb = json.loads((project_root() / "notebooks" / name).read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    values = {}
    exec("".join(cell["source"]), {}, values)
    return values


def test_notebook_05_and_the_product_share_one_set_of_defaults(tmp_path, monkeypatch):
    """Notebook 05 with its default parameters asks for exactly the campaign that
    ``products.simulations`` builds on demand: same sources, subjects, seed, scenarios,
    mesh and (canonical) model options."""
    from mi_lib.core.config import RunPaths
    from mi_lib.twin import products, virtual_cohort

    p = _notebook_parameters("05_digital_twin.ipynb")
    paths = RunPaths("unit-defaults")  # its products go to MI_DERIVED_ROOT (conftest)
    options = {"cv": dict(p["cv"]), "upstroke_ms": p["upstroke_ms"], "flip_handedness": p["flip_handedness"],
               "scar_source": p["scar_source"]}
    for profile in ("smoke", "standard"):
        from_notebook = virtual_cohort.simulation_settings(
            paths, profile, anatomy_path=p["anatomy_path"], units=p["units"],
            edge_length=p["edge_length"], n_subjects=p["n_subjects"], seed=p["seed"],
            scenarios=p["scenarios"], model_options=options)
        assert from_notebook == virtual_cohort.simulation_settings(paths, profile)
    standard = virtual_cohort.simulation_settings(paths, "standard")
    names = [s.name for s in standard.specs()]
    assert sum(n.startswith("kit_geo1") for n in names) == 25
    assert sum(n.startswith("kit_geo2") for n in names) == 24
    # and products.simulations goes through the same call
    calls = []

    def fake_run(specs, out, scenarios, **kw):
        calls.append((specs, list(scenarios), kw["model_options"], kw["seed"]))
        raise RuntimeError("stop here")

    monkeypatch.setattr(virtual_cohort, "run_simulations", fake_run)
    monkeypatch.setattr(RunPaths, "product", lambda self, name: tmp_path / name)
    with pytest.raises(RuntimeError, match="stop here"):
        products.simulations(paths, "smoke", progress=False)
    s = virtual_cohort.simulation_settings(paths, "smoke")
    assert calls == [(s.specs(), list(s.scenarios), s.model_options, s.seed)]


def test_product_holds_both_readings_of_the_scar(tmp_path):
    specs = cohort_specs([HEART], 1, seed=0)
    out = tmp_path / "simulations.zarr"
    ds, _ = run_simulations(specs, out, ["baseline", "lateral_transmural"],
                            scheduler_address="synchronous", progress=False)
    assert ds.qrs.attrs["scar_source"] == "silent" and ds.qrs_alt.attrs["scar_source"] == "slow"
    assert np.array_equal(ds.qrs.sel(scenario="baseline"), ds.qrs_alt.sel(scenario="baseline"))
    assert not np.allclose(ds.qrs.sel(scenario="lateral_transmural"),
                           ds.qrs_alt.sel(scenario="lateral_transmural"))
    ds2, _ = run_simulations(specs, tmp_path / "slow.zarr", ["baseline", "lateral_transmural"],
                             scheduler_address="synchronous", progress=False,
                             model_options={"scar_source": "slow"})
    assert ds2.qrs.attrs["scar_source"] == "slow"
    assert np.array_equal(ds2.qrs.values, ds.qrs_alt.values)
    assert np.array_equal(ds2.qrs_alt.values, ds.qrs.values)
