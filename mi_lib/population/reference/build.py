"""From a cohort on disk to the reference-anatomy population (``population.nc``)."""

from __future__ import annotations

import numpy as np

from ..lge.io import Cohort
from .descriptors import infarct_descriptors
from .geometry import ReferenceAnatomy
from .slice_coordinates import subject_coordinates
from .transport import alignment_shifts, centre_vector, rotate, transport

DESCRIPTORS = ("size", "transmural_extent", "transmural_fraction", "centre_c",
               "circumferential_extent")


def reference_descriptors(stack: np.ndarray, reference: ReferenceAnatomy) -> dict:
    """:func:`infarct_descriptors` of a pattern on the reference grid."""
    mask = reference.myocardium
    k = np.broadcast_to(np.arange(reference.n_slices)[:, None, None], mask.shape)[mask]
    return infarct_descriptors(k, reference.circumferential[mask], stack[mask])


def process_subject(cohort: Cohort, subject_id: str, reference: ReferenceAnatomy,
                    upsample: int = 4, septal_fraction: float | None = 1 / 3):
    """Load, parameterise and transport one subject.

    Returns the reference-space pattern (float32, ``(slice, y, x)``) and a dict of
    descriptors before (``source_*``) and after (``reference_*``) transport.
    """
    from threadpoolctl import threadpool_limits

    subject = cohort.load(subject_id)
    # one subject is serial work: native thread pools only oversubscribe the cores that
    # the other subjects (or test workers) are using, which slows everything down ~5x
    with threadpool_limits(limits=1):
        coords = subject_coordinates(subject, upsample=upsample, septal_fraction=septal_fraction)
        stack = transport(coords, reference)
    k, _, c, v = coords.flat()
    src = infarct_descriptors(k, c, v)
    src["size"] = subject.infarct_fraction  # by voxel count on the original grid
    ref = reference_descriptors(stack, reference)
    info = {f"source_{key}": val for key, val in src.items()}
    info.update({f"reference_{key}": val for key, val in ref.items()})
    info["n_slices"] = int(coords.slice_index.size)
    info["handedness"] = coords.handedness
    info["centre_vector"] = centre_vector(stack, reference)
    return stack, info


def build_population(cohort: Cohort, reference: ReferenceAnatomy | None = None, *,
                     upsample: int = 4, septal_fraction: float | None = 1 / 3,
                     align: bool = True, n_jobs: int = 1, progress: bool = True):
    """Transport every subject of ``cohort`` to ``reference`` and align the territories.

    Returns
    -------
    xarray.Dataset
        ``infarct(subject, slice, y, x)`` aligned patterns in [0, 1];
        ``infarct_native`` the patterns before alignment; ``myocardium(slice, y, x)``;
        ``radial``, ``circumferential``, ``longitudinal`` reference coordinates;
        ``territory(subject)``; per-subject descriptors before and after transport;
        ``rotation(subject)`` the applied circumferential shift (turns). The reference
        geometry and the preprocessing settings are in the attributes.
    """
    import xarray as xr
    from joblib import Parallel, delayed

    from mi_lib.core.config import progress_bar

    reference = reference or ReferenceAnatomy()
    ids = list(cohort.subject_ids)
    jobs = (delayed(process_subject)(cohort, sid, reference, upsample, septal_fraction)
            for sid in ids)
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    stacks, infos = [], []
    for stack, info in progress_bar(results, total=len(ids), desc="subjects", enabled=progress):
        stacks.append(stack)
        infos.append(info)
    native = np.stack(stacks)
    territories = [cohort.territories[s] for s in ids]
    vectors = [info.pop("centre_vector") for info in infos]
    shifts = alignment_shifts(vectors, territories) if align else {t: 0.0 for t in territories}
    aligned = np.stack([rotate(st, reference, shifts[t]) for st, t in zip(native, territories,
                                                                           strict=True)])
    after = [reference_descriptors(st, reference) for st in aligned]

    dims3 = ("slice", "y", "x")
    ds = xr.Dataset(
        {
            "infarct": (("subject", *dims3), aligned.astype(np.float32),
                        {"long_name": "infarct fraction on the reference anatomy, aligned",
                         "units": "1"}),
            "infarct_native": (("subject", *dims3), native.astype(np.float32),
                               {"long_name": "infarct fraction before territory alignment",
                                "units": "1"}),
            "myocardium": (dims3, reference.myocardium),
            "radial": (dims3, reference.radial.astype(np.float32),
                       {"long_name": "radial coordinate, 0 endocardium -> 1 epicardium"}),
            "circumferential": (dims3, reference.circumferential.astype(np.float32),
                                {"long_name": "circumferential coordinate, 0 anterior RV "
                                 "insertion -> septum -> inferior insertion (1/3) -> free wall"}),
            "longitudinal": (dims3, reference.longitudinal.astype(np.float32),
                             {"long_name": "long-axis coordinate, 0 base -> 1 apex"}),
            "territory": (("subject",), np.array(territories, dtype=object)),
            "rotation": (("subject",), np.array([shifts[t] for t in territories]),
                         {"long_name": "circumferential shift applied by the alignment",
                          "units": "turn"}),
        },
        coords={"subject": np.array(ids, dtype=object), "slice": np.arange(reference.n_slices),
                "y": np.arange(reference.grid_size), "x": np.arange(reference.grid_size)},
    )
    for key in infos[0]:
        ds[key] = ("subject", np.array([info[key] for info in infos]))
    for key in DESCRIPTORS:
        ds[f"aligned_{key}"] = ("subject", np.array([a[key] for a in after]))
    ds.attrs.update(reference.attrs())
    ds.attrs.update({
        "upsample": upsample,
        "septal_fraction": septal_fraction if septal_fraction is not None else "none",
        "aligned": int(align),
        "alignment_target": "LAD",
        "cohort": str(cohort.root),
        "description": "LGE infarct patterns transported to the reference anatomy "
                       "(paper 000, section 2.1)",
    })
    return ds


def transport_agreement(pop):
    """How well transport keeps each subject's infarct descriptors, per territory.

    Returns a ``pandas.DataFrame`` indexed by territory (and ``all``) with, for size and
    transmural extent, the mean before and after, the mean and maximum absolute
    difference and the Pearson correlation; and the mean and maximum circumferential
    displacement of the infarct centre (degrees).
    """
    import pandas as pd

    from .descriptors import circular_difference

    rows = {}
    groups = [(t, (pop.territory == t).values) for t in ("LAD", "LCX", "RCA")]
    groups.append(("all", np.ones(pop.sizes["subject"], bool)))
    for name, sel in groups:
        if not sel.any():
            continue
        row = {"n": int(sel.sum())}
        for key in ("size", "transmural_extent"):
            a = pop[f"source_{key}"].values[sel]
            b = pop[f"reference_{key}"].values[sel]
            row[f"{key} source"] = a.mean()
            row[f"{key} reference"] = b.mean()
            row[f"{key} mean |diff|"] = np.abs(b - a).mean()
            row[f"{key} max |diff|"] = np.abs(b - a).max()
            row[f"{key} r"] = np.corrcoef(a, b)[0, 1] if sel.sum() > 2 else np.nan
        shift = 360 * np.abs(circular_difference(pop["reference_centre_c"].values[sel],
                                                 pop["source_centre_c"].values[sel]))
        row["centre shift mean (deg)"] = shift.mean()
        row["centre shift max (deg)"] = shift.max()
        rows[name] = row
    return pd.DataFrame(rows).T


def territory_centres(pop, variable: str = "infarct"):
    """Circumferential centre (degrees, 0 = anterior RV insertion) of each territory's mean
    infarct map in ``variable`` (``infarct`` aligned or ``infarct_native``)."""
    reference = ReferenceAnatomy.from_attrs(pop.attrs)
    out = {}
    for t in ("LAD", "LCX", "RCA"):
        sel = (pop.territory == t).values
        if sel.any():
            vec = centre_vector(pop[variable].values[sel].mean(axis=0), reference)
            out[t] = float(np.rad2deg(np.angle(vec)) % 360)
    return out
