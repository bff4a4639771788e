"""The bridge's campaign: every subject of a twin cohort x population-model infarcts through
the forward model, resumable on Dask, written as ``mi_population.zarr``.

The product has the layout of ``simulations.zarr`` (``data/README.md``) with an
``infarct`` dimension in place of ``scenario``, and per infarct its ``territory``,
``size`` (infarcted fraction of the model's domain on the reference) and ``draw`` (its
index in the subject's seeded sequence, ``draw_seed``). Each subject's infarcts are drawn
on the worker from the personalised model (a few kB of parameters travel, not the
voxels), carried onto the subject's LV (:func:`~mi_lib.bridge.infarcts.carry_draws`) and
simulated with :meth:`~mi_lib.twin.forward.TwinModel.simulate_tissue`. The subjects are a
simulations product's own (:func:`~mi_lib.twin.products.subject_specs`), so the two
products describe the same anatomies. Method: ``docs/bridge/campaign.md``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..core.names import MI_POPULATION
from ..twin.scenarios import CV_DEFAULT
from .infarcts import (
    BZ_WIDTH,
    CONDITIONING,
    POOL,
    carry_draws,
    lge_descriptors,
    population_draws,
    territory_shares,
    twin_measure,
)
from .mapping import LONG_AXES, territory_shifts


@dataclass(frozen=True)
class BridgeSettings:
    """What decides a ``mi_population.zarr`` besides its subjects and forward model.

    ``n_infarcts`` per subject; ``seed`` seeds every subject's draws (subject ``i`` draws
    from ``[seed, i]``); ``bz_width`` the border zone's width
    (:data:`~mi_lib.bridge.infarcts.BZ_WIDTH`); ``cv_scale`` the (scar, border zone)
    velocity factors (the scenarios' 10 % and 50 %); ``shares`` territory -> probability
    (empty: the population's); ``condition``: each territory's infarcts drawn from the model
    conditioned on that territory's LGE descriptors, resampling ``pool`` draws per infarct
    (:func:`~mi_lib.bridge.infarcts.population_draws`), else territories given at random;
    ``per_territory``: each territory drawn from its own refit of the model when the model
    record carries one (:mod:`~mi_lib.bridge.territories`; territories of too few LGE
    infarcts have none and keep the pooled fit), else all from the pooled fit;
    ``long_axis``: the map of the reference's long axis to the twin's ``ab``
    (:data:`~mi_lib.bridge.mapping.LONG_AXES`); ``condition_on``: where the pool's
    descriptors are measured for the conditioning, ``"twin"`` (carried onto the subject,
    :func:`~mi_lib.bridge.infarcts.twin_measure`) or ``"reference"`` (as drawn).
    """

    n_infarcts: int
    seed: int = 0
    bz_width: float = BZ_WIDTH
    cv_scale: tuple[float, float] = CV_DEFAULT
    shares: dict = field(default_factory=dict)
    condition: bool = True
    pool: int = POOL
    per_territory: bool = True
    long_axis: str = "matched"
    condition_on: str = "twin"

    def __post_init__(self):
        if not isinstance(self.n_infarcts, int) or self.n_infarcts < 1:
            raise ValueError(f"n_infarcts = {self.n_infarcts!r}: must be a positive integer")
        if not 0 <= self.bz_width < 0.5:
            raise ValueError(f"bz_width = {self.bz_width}: must lie in [0, 0.5)")
        if not isinstance(self.pool, int) or self.pool < 1:
            raise ValueError(f"pool = {self.pool!r}: must be a positive integer")
        if self.condition_on not in ("twin", "reference"):
            raise ValueError(f"condition_on = {self.condition_on!r}: 'twin' or 'reference'")
        if self.long_axis not in LONG_AXES:
            raise ValueError(f"long_axis = {self.long_axis!r}: expected one of {LONG_AXES}")
        if not all(0 < v <= 1 for v in self.cv_scale):
            raise ValueError(f"cv_scale = {self.cv_scale}: factors must lie in (0, 1]")

    def to_dict(self) -> dict:
        """Plain data, for the campaign's ``settings.json`` and the product's attributes."""
        return json.loads(json.dumps(asdict(self)))


def infarct_names(n: int) -> list[str]:
    """The ``infarct`` coordinate: ``infarct_0000``, ``infarct_0001``, ..."""
    return [f"infarct_{k:04d}" for k in range(int(n))]


def _model_part(personalization) -> dict:
    attrs = {k: v for k, v in personalization.attrs.items()
             if k == "model" or k.startswith("domain_")}
    attrs = json.loads(json.dumps(attrs, default=lambda x: np.asarray(x).tolist()))
    return {"attrs": attrs,
            "final_physical": np.asarray(personalization["final_physical"].values).tolist()}


def model_record(personalization, population, territories: dict | None = None) -> dict:
    """The few numbers that redraw a personalised model's infarcts in their territories
    (plain data: it travels to the workers and is stored in the settings): the model's
    attributes, its final parameters, the territories' own fits (``territories``:
    territory -> personalization dataset of :func:`~mi_lib.bridge.territories.territory_fit`,
    their attributes and parameters alike), the territories' shifts and shares, and their
    LGE infarcts' descriptors (the conditioning's target)."""
    return {**_model_part(personalization),
            "territories": {str(t): _model_part(ds)
                            for t, ds in sorted((territories or {}).items())},
            "shifts": territory_shifts(population), "shares": territory_shares(population),
            "lge": ({t: {k: v.tolist() for k, v in d.items()}
                     for t, d in lge_descriptors(population).items()}
                    if all(f"aligned_{k}" in population for k in CONDITIONING) else {})}


def _model_dataset(record: dict):  # a record's model part as a personalization dataset
    import xarray as xr

    ds = xr.Dataset({"final_physical": ("parameter", np.asarray(record["final_physical"]))})
    ds.attrs.update(record["attrs"])
    return ds


def _check_record(record: dict, settings: BridgeSettings) -> None:
    if settings.condition and not record.get("lge"):
        raise ValueError("the model record has no LGE descriptors (the population had no "
                         f"aligned_{', aligned_'.join(CONDITIONING)}): the territories' "
                         "draws are conditioned on them; give notebook 01's population.nc, "
                         "or BridgeSettings(condition=False)")


def subject_draws(record: dict, settings: BridgeSettings, index: int, coords=None) -> dict:
    """The infarcts of subject number ``index`` (:func:`population_draws`, seeded by
    ``[settings.seed, index]``) and that seed. ``coords`` (the subject's
    :class:`~mi_lib.twin.coordinates.Coordinates`) are needed to condition on the twin."""
    _check_record(record, settings)
    measure = None
    if settings.condition and settings.condition_on == "twin":
        if coords is None:
            raise ValueError("conditioning on the twin needs the subject's coordinates "
                             "(coords=), or BridgeSettings(condition_on='reference')")
        measure = twin_measure(coords.tm, coords.ab, coords.rt, coords.lv, settings.long_axis)
    seed = int(np.random.default_rng([settings.seed, int(index)]).integers(2**31))
    draws = population_draws(_model_dataset(record), record["shifts"],
                             settings.shares or record["shares"], settings.n_infarcts, seed,
                             lge=record["lge"] if settings.condition else None,
                             pool=settings.pool,
                             models={t: _model_dataset(part) for t, part in
                                     record.get("territories", {}).items()}
                             if settings.per_territory else None, measure=measure)
    return {**draws, "draw_seed": seed}


def simulate_subject(spec, index: int, parts, record: dict, settings: BridgeSettings,
                     model_options: dict | None = None, seed: int = 0):
    """Campaign worker: yield ``(part, arrays)`` for ``anatomy`` and each infarct part of
    ``parts`` of one subject (the ``seed`` of the point clouds is the cohort's)."""
    from ..twin.virtual_cohort import anatomy_part, other_scar_source, subject_model

    model = subject_model(spec, model_options)
    names = infarct_names(settings.n_infarcts)
    wanted = [p for p in parts if p != "anatomy"]
    c = model.coords
    draws = subject_draws(record, settings, index, c) if wanted else None
    rows = [names.index(p) for p in wanted]
    labels = (carry_draws(draws, c.tm, c.ab, c.rt, c.lv, rows, settings.bz_width,
                          settings.long_axis) if wanted else None)
    k = 0
    for part in parts:
        if part == "anatomy":
            yield part, anatomy_part(model, seed)
            continue
        out = model.simulate_tissue(labels[k], tuple(settings.cv_scale))
        alt = model.ecg(out["at"], out["labels"], scar_source=other_scar_source(model.scar_source))
        row = rows[k]
        k += 1
        yield part, {"qrs": out["qrs"].astype(np.float32), "qrs_alt": alt.astype(np.float32),
                     "at": out["at"].astype(np.float32), "labels": out["labels"],
                     "activation_duration": np.float64(out["activation_duration"]),
                     "territory": np.asarray(str(draws["territory"][row])),
                     "size": np.float64(draws["size"][row]), "draw": np.int64(row),
                     "draw_seed": np.int64(draws["draw_seed"])}


def _work(specs: dict, order: dict, record: dict, settings: BridgeSettings,
          model_options: dict | None, seed: int, group: str, parts):
    yield from simulate_subject(specs[group], order[group], parts, record, settings,
                                model_options, seed)


def run_population_campaign(specs, out_path, record: dict, settings: BridgeSettings, *,
                            model_options: dict | None = None, seed: int = 0,
                            scheduler_address: str | None = None, n_workers: int | None = None,
                            progress: bool = True, attrs: dict | None = None):
    """Simulate every subject x infarct (resumable, on Dask) and write ``mi_population.zarr``.

    Parameters
    ----------
    specs : list of SubjectSpec
        The cohort (:func:`~mi_lib.twin.products.subject_specs` of a simulations product).
    out_path : path
        The product; its parts go to ``<out>_parts/`` (:mod:`mi_lib.core.campaign`).
    record : dict
        :func:`model_record` of the personalization and population.
    settings : BridgeSettings
    model_options : dict, optional
        The forward model's options (canonical, as in the simulations product).
    seed : int
        The point clouds' sampling seed (the simulations product's).
    scheduler_address, n_workers, progress
        As :func:`mi_lib.core.campaign.run_campaign`.
    attrs : dict, optional
        Extra attributes of the product (e.g. the input files).

    Returns
    -------
    (xarray.Dataset, dict)
        The dataset and the campaign summary (``done_before``, ``computed``, ``total``,
        ``seconds``). A rerun computes only the missing simulations; one with other
        settings in the same folder stops with an error rather than mixing results.
    """
    from ..core.campaign import load_parts, run_campaign
    from ..core.store import write_json, write_zarr
    from ..twin.virtual_cohort import _exclusive, assemble, canonical_options

    out_path = Path(out_path)
    _check_record(record, settings)
    parts_dir = out_path.with_name(out_path.stem + "_parts")
    parts_dir.mkdir(parents=True, exist_ok=True)
    options = canonical_options(model_options)
    wanted = json.loads(json.dumps({
        "subjects": [s.__dict__ | {"modes": list(s.modes)} for s in specs],
        "model_options": options, "seed": seed, "bridge": settings.to_dict(),
        "model": record}))
    names = infarct_names(settings.n_infarcts)
    with _exclusive(parts_dir / ".lock"):
        path = parts_dir / "settings.json"
        if path.exists():
            old = json.loads(path.read_text())
            differ = [k for k in wanted if old.get(k) != wanted[k]]
            if differ:
                raise ValueError(f"{parts_dir} holds simulations made with other settings "
                                 f"({', '.join(differ)} differ); use another run_name or "
                                 f"delete {parts_dir} to start again")
        write_json(path, wanted)
        groups = {s.name: ["anatomy", *names] for s in specs}
        work = functools.partial(_work, {s.name: s for s in specs},
                                 {s.name: i for i, s in enumerate(specs)}, record, settings,
                                 options, seed)
        summary = run_campaign(groups, work, parts_dir, scheduler_address=scheduler_address,
                               n_workers=n_workers, progress=progress,
                               desc="population infarcts")
        parts = load_parts(parts_dir, groups)
        ds = assemble(specs, names, parts, dt=options["dt"], n_samples=options["n_samples"],
                      scar_source=options["scar_source"])
        ds = ds.rename({"scenario": "infarct"})
        for var, dtype, extra in (
                ("territory", str, {"long_name": "coronary territory the infarct was placed in"}),
                ("size", np.float64, {"long_name": "infarcted fraction of the model's domain "
                                      "on the reference", "units": "1"}),
                ("draw", np.int64, {"long_name": "index of the draw in the subject's seeded "
                                    "sequence (draw_seed; pool x n_infarcts draws when "
                                    "conditioned)"}),
                ("draw_seed", np.int64, {"long_name": "seed of the subject's draws"})):
            values = np.array([[parts[(s.name, n)][var][()] for n in names] for s in specs],
                              dtype=dtype)
            ds[var] = (("subject", "infarct"), values, extra)
        ds.attrs.update({
            "title": "Population-model infarcts on the digital twin's cohort (notebook 08)",
            "model_options": json.dumps(options), "seed": seed,
            "scar_source": options["scar_source"], "bridge_settings": json.dumps(
                settings.to_dict()), "infarct_model": record["attrs"]["model"],
            "final_physical": json.dumps(record["final_physical"]),
            "territory_final_physical": json.dumps(
                {t: part["final_physical"] for t, part in record.get("territories", {}).items()}
                if settings.per_territory else {}),
            "territory_shifts": json.dumps(record["shifts"]),
            "territory_shares": json.dumps(settings.shares or record["shares"]),
            **(attrs or {})})
        write_zarr(out_path, ds)
    return ds, summary


__all__ = ["MI_POPULATION", "BridgeSettings", "infarct_names", "model_record",
           "run_population_campaign", "simulate_subject", "subject_draws"]
