"""Infarcts drawn from a personalised population model (notebook 03's product), as
points of the reference LV with their (r, c, l) coordinates.

A ``personalization_<model>_<divergence>_<dims>d.nc`` holds the fitted model's name, its
final physical parameters and its domain (``domain_*`` attributes: the reference geometry,
the slices and the start zone); :func:`personalised_model` rebuilds the model from them, so
any number of new infarcts can be drawn, seeded, beyond the 100 samples the product
stores. :func:`reference_voxels` gives the (r, c, l) of the domain's voxels, the points
:func:`mi_lib.bridge.mapping.carry` takes them to a twin from.
"""

from __future__ import annotations

import json

import numpy as np


def _domain_attrs(attrs: dict) -> dict:
    return {k[len("domain_"):]: v for k, v in attrs.items() if k.startswith("domain_")}


def personalised_model(personalization):
    """``(model, theta)``: the stochastic infarct model of a personalization dataset on its
    own domain, and its final physical parameters. Raises a ``ValueError`` naming what a
    dataset made elsewhere lacks."""
    from ..population.models import Domain, make_model
    from ..population.reference import ReferenceAnatomy

    ds = personalization
    d = _domain_attrs(ds.attrs)
    missing = [k for k in ("slices", "start_c", "start_l", "zone_c", "zone_l",
                           "reference_grid_size") if k not in d]
    if "model" not in ds.attrs or "final_physical" not in ds or missing:
        raise ValueError("personalization dataset lacks the model, final_physical or the "
                         f"domain attributes {['domain_' + k for k in missing]}; write it "
                         "with notebook 03 (mi_lib.population.personalization)")
    reference = ReferenceAnatomy.from_attrs(d)
    slices = d["slices"]
    slices = np.asarray(json.loads(slices) if isinstance(slices, str) else slices, int)
    domain = Domain(mask=reference.myocardium[slices], slices=slices, reference=reference,
                    start_c=float(d["start_c"]), start_l=float(d["start_l"]),
                    zone_c=float(d["zone_c"]), zone_l=float(d["zone_l"]))
    model = make_model(str(ds.attrs["model"]), domain)
    return model, np.asarray(ds["final_physical"].values, np.float64)


def draw_infarcts(personalization, n: int, seed: int = 0) -> tuple[np.ndarray, object]:
    """``n`` infarcts of the personalised model, seeded: boolean voxels ``(n, n_voxels)``
    of its domain, and the domain (:meth:`~mi_lib.population.models.Domain.images` makes
    images of them)."""
    model, theta = personalised_model(personalization)
    return model.sample(theta, int(n), np.random.default_rng(seed)), model.domain


def reference_voxels(domain) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(r, c, l)`` of every voxel of a domain, in :meth:`Domain.voxels` order."""
    ref = domain.reference
    return tuple(np.asarray(getattr(ref, name)[domain.slices][domain.mask], np.float64)
                 for name in ("radial", "circumferential", "longitudinal"))
