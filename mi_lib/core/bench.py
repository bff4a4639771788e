"""Benchmarks of ``make bench``, written to ``reports/bench/benchmarks.json``.

Each benchmark has a setup (not timed) and a timed call, repeated ``runs`` times; the
file records the machine, the commit, the settings and the median, min and max.
Timings live here, never in test assertions.

Usage: ``python -m mi_lib.core.bench [--only NAME ...] [--runs N]``. With ``--only`` the
other entries already in the file are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .config import project_root, settings
from .store import write_json

BENCHMARKS: dict[str, Callable[[int], dict]] = {}


def benchmark(name: str):
    """Register ``func(runs) -> dict(times, unit, settings)`` under ``name``."""
    def wrap(func):
        BENCHMARKS[name] = func
        return func
    return wrap


def machine() -> dict:
    """The machine the benchmarks ran on: cores, CPU model, memory (GiB), platform, versions."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    mem = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        mem = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    import numpy as np

    return {"cores": os.cpu_count(), "cpu_model": cpu, "memory_gib": mem,
            "platform": platform.platform(), "python": platform.python_version(),
            "numpy": np.__version__}


def _time(func, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


@benchmark("preprocessing.cohort")
def _preprocessing_cohort(runs: int) -> dict:
    """Notebook 01's computation on the default standard cohort: validate the cohort,
    compute coordinates, transport every subject and align the territories."""
    from mi_lib.population.lge import SyntheticCohortSpec, open_cohort, synthesize_cohort
    from mi_lib.population.reference import ReferenceAnatomy, build_population

    counts = settings("standard")["cohort"]["territory_counts"]
    n_jobs = settings("standard")["n_jobs"]
    with tempfile.TemporaryDirectory() as tmp:
        synthesize_cohort(tmp, SyntheticCohortSpec(territory_counts=counts, seed=0))
        reference = ReferenceAnatomy()

        def run():
            cohort = open_cohort(tmp)
            cohort.validate()
            build_population(cohort, reference, n_jobs=n_jobs, progress=False)

        times = _time(run, runs)
    return {"times": times, "unit": "s",
            "settings": {"subjects": sum(counts.values()), "upsample": 4, "n_jobs": n_jobs,
                         "reference": "80x80x21, radii 21/35 px"}}


def _standard_population():
    """The standard-profile population (built once under ``data/derived/bench``)."""
    from mi_lib.population.products import population

    from .config import RunPaths

    return population(RunPaths("bench"), "standard", progress=False)


def _personalization_runs(runs: int, max_generations: int | None, window: int | None):
    """Paper-settings CMA-ES runs (2D, KL) of both models; returns per-model results."""
    from mi_lib.population.models import Domain, make_model
    from mi_lib.population.personalization import CMASettings, personalize

    pop = _standard_population()
    domain = Domain.from_population(pop, 2)
    real = domain.real_samples(pop)
    kw = {"energy_threshold": None}
    if max_generations:
        kw.update(max_generations=max_generations, window=window)
    out = {}
    for name in ("iterative", "elliptical"):
        model = make_model(name, domain)
        personalize(model, real, CMASettings(max_generations=2, n_final=1), progress=False)  # compile
        out[name] = [personalize(model, real, CMASettings(seed=r, **kw), "kl", progress=False)
                     for r in range(runs)]
    return out, len(real), domain.n_voxels


@benchmark("personalization.generation")
def _personalization_generation(runs: int) -> dict:
    """One CMA-ES generation at the paper's settings in 2D: 100 candidates x 100
    synthetic infarcts against the 123 real ones (generate, distances, KL, update);
    the first 30 generations of each model's run, pooled."""
    results, n_real, n_vox = _personalization_runs(runs, 30, 1000)
    times = [t for res in results.values() for r in res for t in r.history["seconds"]]
    per_model = {name: statistics.median([t for r in res for t in r.history["seconds"]])
                 for name, res in results.items()}
    return {"times": times, "unit": "s",
            "settings": {"popsize": 100, "mu": 15, "n_synthetic": 100, "n_real": n_real,
                         "myocardial_pixels": n_vox, "dims": 2, "divergence": "kl",
                         "generations_timed_per_model": 30 * runs,
                         "median_per_model_s": per_model}}


@benchmark("personalization.run")
def _personalization_run(runs: int) -> dict:
    """A whole personalization at the paper's settings in 2D (KL, up to 500
    generations, stagnation stop), both models; one time per model and seed."""
    results, n_real, n_vox = _personalization_runs(runs, None, None)
    times = [r.seconds for res in results.values() for r in res]
    return {"times": times, "unit": "s",
            "settings": {"popsize": 100, "mu": 15, "n_synthetic": 100, "n_real": n_real,
                         "myocardial_pixels": n_vox, "dims": 2, "divergence": "kl",
                         "max_generations": 500,
                         "generations": {name: [r.n_generations for r in res]
                                         for name, res in results.items()},
                         "stop_reasons": {name: [r.stop_reason for r in res]
                                          for name, res in results.items()},
                         "seconds": {name: [round(r.seconds, 2) for r in res]
                                     for name, res in results.items()}}}


def _shipped_heart_model():
    """The digital twin of the shipped heart at the default resolution (not timed)."""
    from mi_lib.twin.anatomy import load_anatomy
    from mi_lib.twin.forward import TwinModel

    heart = load_anatomy(project_root() / "data" / "raw" / "anatomy" / "kit_geo1")
    return TwinModel.build(heart)


@benchmark("qrs.simulation")
def _qrs_simulation(runs: int) -> dict:
    """One QRS on the shipped heart (2 mm): tissue labels, conduction tensors, Eikonal
    activation and the 8-lead pseudo-ECG; every scenario ``runs`` times, one thread."""
    from threadpoolctl import threadpool_limits

    from mi_lib.twin.scenarios import SCENARIOS

    model = _shipped_heart_model()
    model.simulate(SCENARIOS[-1])  # compile, build the scar lead-field cache
    times = []
    with threadpool_limits(1):
        for _ in range(runs):
            for sc in SCENARIOS:
                start = time.perf_counter()
                model.simulate(sc)
                times.append(time.perf_counter() - start)
    return {"times": times, "unit": "s",
            "settings": {"nodes": model.anatomy.n_nodes, "tets": model.anatomy.n_tets,
                         "edge_length_mm": 2.0, "scenarios": len(SCENARIOS), "threads": 1,
                         "samples": model.n_samples, "dt_ms": model.dt}}


@benchmark("inversion.model_based")
def _inversion_model_based(runs: int) -> dict:
    """Notebook 09's model-based inversion of one case on the shipped heart (2 mm): the
    lateral transmural scenario's QRS fitted from the neutral start with the standard
    profile's search (CMA-ES, 12 candidates x 30 generations, MSE + soft-DTW on 128
    samples), one thread; seconds per case, each run a new seed."""
    from mi_lib.core.config import settings as profile_scale
    from mi_lib.inverse.model_based import fit_infarct, profile_inversion
    from mi_lib.twin.scenarios import get_scenario

    model = _shipped_heart_model()
    observed = model.simulate(get_scenario("lateral_transmural"))["qrs"]
    scale = profile_scale("standard")["uncertainty"]
    times, sims = [], []
    for r in range(runs):
        start = time.perf_counter()
        fit = fit_infarct(model, observed, profile_inversion(scale, seed=r))
        times.append(time.perf_counter() - start)
        sims.append(fit["n_simulations"])
    return {"times": times, "unit": "s per case",
            "settings": {"nodes": model.anatomy.n_nodes, "scenario": "lateral_transmural",
                         "popsize": scale["popsize"], "max_generations": scale["max_generations"],
                         "qrs_samples": scale["n_samples"], "simulations_per_case": max(sims),
                         "start": "neutral", "threads": 1}}


@benchmark("cohort.campaign")
def _cohort_campaign(runs: int) -> dict:
    """The standard cohort (49 subjects over the two shipped hearts x 18 scenarios) from
    scratch on a local Dask cluster of 2 single-threaded workers: meshing, shape variation,
    per-subject model building, every simulation (both readings of the scar), and the zarr
    product, as notebook 05 builds it (:func:`mi_lib.twin.virtual_cohort.simulation_settings`).
    At most 2 runs (each takes minutes)."""
    from mi_lib.twin.virtual_cohort import run_simulations, simulation_settings

    from .config import RunPaths

    campaign = simulation_settings(RunPaths("bench"), "standard")
    specs = campaign.specs()
    times = []
    for _ in range(max(1, min(runs, 2))):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_simulations(specs, Path(tmp) / "simulations.zarr", list(campaign.scenarios),
                            n_workers=2, model_options=campaign.model_options,
                            seed=campaign.seed, progress=False)
            times.append(time.perf_counter() - start)
    return {"times": times, "unit": "s",
            "settings": {"subjects": len(specs), "scenarios": len(campaign.scenarios),
                         "simulations": len(specs) * len(campaign.scenarios),
                         "sources": [Path(s).name for s in campaign.sources],
                         "workers": 2, "threads_per_worker": 1}}


@benchmark("forward.mesh_convergence")
def _forward_mesh_convergence(runs: int) -> dict:
    """The shipped heart meshed at 2.5, 2.0, 1.5 and 1.0 mm, healthy: QRS duration on
    the signal and activation map against the 1.0 mm one
    (:func:`mi_lib.twin.forward.mesh_convergence`). Deterministic: one run; the "time" is
    the largest QRS difference between resolutions (ms)."""
    from mi_lib.twin.forward import mesh_convergence

    res = mesh_convergence(project_root() / "data" / "raw" / "anatomy" / "kit_geo1")
    return {"times": [res["max_qrs_diff_ms"]], "unit": "ms",
            "settings": {k: v for k, v in res.items() if k != "max_qrs_diff_ms"}}


@benchmark("eikonal.relative_error")
def _eikonal_relative_error(runs: int) -> dict:
    """Mean relative error of the Eikonal solver on the shipped heart (2 mm) with the
    forward model's healthy conduction (fibres, endocardial sheet, seven roots) against
    the same problem solved on the mesh refined twice (64x the tetrahedra) and
    Richardson-extrapolated (:func:`mi_lib.twin.eikonal.reference_error`). Deterministic:
    one run; the "times" are the error (a fraction), with the graph solver's beside it."""
    from mi_lib.twin.eikonal import reference_error

    model = _shipped_heart_model()
    res = reference_error(model.anatomy.points, model.anatomy.tets, model.tensors(),
                          model.roots, model.root_times, levels=2, sheet=model.sheet[:, :3],
                          D_sheet=model.sheet_tensors())
    return {"times": [float(res["fim"])], "unit": "fraction",
            "settings": {"nodes": model.anatomy.n_nodes, "tets": model.anatomy.n_tets,
                         "reference": "uniform refinement x2 and x4, Richardson (order "
                                      f"{res['order']})",
                         "observed_order": float(res["observed_order"]),
                         "graph_relative_error": float(res["graph"]),
                         "fim_max_relative_error": float(res["fim_max"]),
                         "fim_mean_abs_ms": float(res["fim_abs_ms"]),
                         "graph_mean_abs_ms": float(res["graph_abs_ms"]),
                         "fim_relative_error_per_level": [float(x) for x in res["fim_levels"]],
                         "nodes_averaged": int(res["nodes"])}}


@benchmark("inverse.soft_dtw")
def _inverse_soft_dtw(runs: int) -> dict:
    """One forward + backward of the soft-DTW divergence (the QRS decoder's DTW term)
    on a batch of 4 eight-lead QRS of 128 and of 512 samples, float32, gamma 0.1, one
    thread. ``times`` are the 512-sample ones; the 128-sample median is in the settings."""
    import torch

    from mi_lib.inverse import soft_dtw_divergence

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    out = {}
    for t in (128, 512):
        x = torch.randn(4, 8, t, generator=g, requires_grad=True)
        y = torch.randn(4, 8, t, generator=g)
        soft_dtw_divergence(x, y, 0.1).sum().backward()  # warm-up
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            soft_dtw_divergence(x, y, 0.1).sum().backward()
            times.append(time.perf_counter() - start)
        out[t] = times
    return {"times": out[512], "unit": "s",
            "settings": {"batch": 4, "leads": 8, "samples": 512, "gamma": 0.1,
                         "dtype": "float32", "threads": 1,
                         "median_s_at_128_samples": statistics.median(out[128])}}


def _standard_simulations():
    """This machine's standard simulations product for the learning benchmarks: the
    ``bench-standard`` run's ``simulations.zarr``, simulated once if missing (minutes)."""
    from mi_lib.twin import products

    from .config import RunPaths

    paths = RunPaths("bench-standard")
    products.simulations(paths, "standard", progress=False)
    return paths.product("simulations.zarr")


@benchmark("bridge.campaign")
def _bridge_campaign(runs: int) -> dict:
    """Notebook 08's campaign from scratch, in seconds per 1000 simulations: the first 4
    subjects of the standard cohort x the standard profile's population-model infarcts per
    subject (drawn from the standard population's 3D MMD elliptical fit refitted to each
    territory, conditioned on the twin, carried, border zone, both readings of the scar) on
    a local Dask cluster of 2 single-threaded workers, the per-subject model building,
    drawing and conditioning of the pool and the zarr product included. The population,
    the fit and the territories' fits are built first under ``data/derived/bench`` (not
    timed). At most 2 runs."""
    from mi_lib.bridge.campaign import model_record, run_population_campaign
    from mi_lib.bridge.products import bridge_settings, territory_fits
    from mi_lib.population import products as pp
    from mi_lib.twin.virtual_cohort import simulation_settings

    from .config import RunPaths

    paths = RunPaths("bench")
    pop = _standard_population()
    fit = pp.personalization(paths, "standard", "elliptical", "mmd", 3, progress=False)
    record = model_record(fit, pop, territory_fits(paths, "standard", fit, pop))
    bridge = bridge_settings("standard")
    campaign = simulation_settings(paths, "standard")
    specs = campaign.specs()[:4]
    n = len(specs) * bridge.n_infarcts
    times = []
    for _ in range(max(1, min(runs, 2))):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            run_population_campaign(specs, Path(tmp) / "mi_population.zarr", record, bridge,
                                    model_options=campaign.model_options, seed=campaign.seed,
                                    n_workers=2, progress=False)
            times.append((time.perf_counter() - start) / n * 1000.0)
    return {"times": times, "unit": "s per 1000 simulations",
            "settings": {"subjects": len(specs), "infarcts_per_subject": bridge.n_infarcts,
                         "simulations": n, "model": "elliptical, 3D MMD (standard), refitted per territory",
                         "workers": 2, "threads_per_worker": 1}}


@benchmark("training.standard")
def _training_standard(runs: int) -> dict:
    """The standard profile's main model of notebook 07 trained from scratch on the
    standard cohort (49 subjects x 16 scenarios, split 34 / 5 / 10, seed 0), one thread:
    every epoch, validation included. At most 1 run (it takes minutes); the product is
    simulated first if missing (not timed)."""
    from mi_lib.inverse import load_samples, profile_settings, split_subjects, train

    path = _standard_simulations()
    config, training = profile_settings("standard")
    samples = load_samples(path, n_points=config.n_points, qrs_length=config.qrs_length)
    split = split_subjects(samples.subjects, samples.sources, seed=0)
    times, best = [], []
    for _ in range(1):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            res = train(samples, split, config, training, tmp, progress=False)
            times.append(time.perf_counter() - start)
            best.append(res["best_epoch"])
    return {"times": times, "unit": "s",
            "settings": {"epochs": training.epochs, "n_points": config.n_points,
                         "qrs_length": config.qrs_length, "lr": training.lr,
                         "train_samples": len(split["train"]) * len(samples.scenarios),
                         "threads": 1, "best_epoch": best[0]}}


@benchmark("inference.case")
def _inference_case(runs: int) -> dict:
    """One test case through the standard model (one anatomy pass and one QRS, at the
    latent means), one thread, untrained weights (the cost does not depend on them);
    ``times`` in ms. Also the paper-size model's median (4096 points, QRS of 512)."""
    import torch

    from mi_lib.inverse import DualBranchVAE, model_config

    torch.set_num_threads(1)
    out = {}
    for name, (n, t, w) in {"standard": (1024, 64, 0.5), "paper": (4096, 512, 1.0)}.items():
        torch.manual_seed(0)
        model = DualBranchVAE(model_config(n, t, w)).eval()
        feats = torch.rand(1, n, 7)
        feats[..., 6] = (feats[..., 6] > 0.7).float()
        qrs = torch.randn(1, 8, t)

        def case(model=model, feats=feats, qrs=qrs):
            with torch.no_grad():
                model(model.geometry(feats), qrs, sample=False)["logits"].softmax(-1)

        case()
        out[name] = [1e3 * s for s in _time(case, max(runs, 5))]
    return {"times": out["standard"], "unit": "ms",
            "settings": {"n_points": 1024, "qrs_length": 64, "width": 0.5, "threads": 1,
                         "includes": "cloud hierarchy, interpolation weights, both encoders, "
                                     "all three decoders",
                         "median_ms_paper_size": statistics.median(out["paper"])}}


def main(argv=None) -> int:
    """``python -m mi_lib.core.bench [--only NAME ...] [--runs N] [--out FILE]``; the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="benchmark names to run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from .reports import git_commit

    root = project_root()
    out = args.out or root / "reports" / "bench" / "benchmarks.json"
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; known: {list(BENCHMARKS)}", file=sys.stderr)
        return 2
    previous = {}
    if args.only and out.is_file():
        previous = {b["name"]: b for b in json.loads(out.read_text()).get("benchmarks", [])}
    results = dict(previous)
    for name in names:
        print(f"[bench] {name} ({args.runs} runs) ...", flush=True)
        res = BENCHMARKS[name](args.runs)
        times = res.pop("times")
        entry = {"name": name, "median": statistics.median(times), "min": min(times),
                 "max": max(times), "unit": res.get("unit", "s"), "runs": len(times),
                 "settings": res.get("settings", {})}
        entry.update({k: v for k, v in res.items() if k not in ("unit", "settings")})
        results[name] = entry
        print(f"[bench] {name}: median {entry['median']:.3f} {entry['unit']} "
              f"(min {entry['min']:.3f}, max {entry['max']:.3f})", flush=True)
    write_json(out, {"machine": machine(), "commit": git_commit(root),
                     "benchmarks": list(results.values())})
    print(f"[bench] wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
