"""The detection limit of paper 004 §IV-E.1 (Fig. 11): apical infarcts of shrinking
apicobasal radius ``r_ab`` simulated with the forward model on a product's subjects.

:func:`~mi_lib.twin.products.subject_specs` recovers the virtual subjects of a
simulations product so that new scenarios can be simulated on exactly those anatomies; :func:`apical_series` gives the
shrinking apical scenarios; :func:`simulate_samples` runs them and returns
:class:`~mi_lib.inverse.data.Samples` in the network's format.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from ..twin.scenarios import LOCATIONS, R_TM, Scenario
from .data import QRS_WINDOW_MS, Samples, point_features, prepare_qrs

#: the paper's smallest detectable apical radius
PAPER_LIMIT_R_AB = 0.1


def apical_series(r_abs, extents=("transmural",)) -> list[Scenario]:
    """Apical infarcts (the ``apical`` location of :data:`~mi_lib.twin.scenarios.LOCATIONS`)
    with apicobasal radius ``r_ab`` for each of ``r_abs``, the other radii the scenario's;
    named ``apical_rab<r_ab>_<extent>``."""
    ab0, rt0, _, r_rt, _ = LOCATIONS["apical"]
    out = []
    for r in r_abs:
        if not 0 < float(r) <= 1:
            raise ValueError(f"r_ab = {r}: must lie in (0, 1]")
        for extent in extents:
            out.append(Scenario(f"apical_rab{float(r):g}_{extent}", "apical", extent, ab0, rt0,
                                R_TM[extent], float(r), r_rt))
    return out


def _simulate_one(spec, scenarios, model_options, n_points, qrs_length, window_ms):
    from ..twin.virtual_cohort import anatomy_part, cloud_features, subject_model

    model = subject_model(spec, model_options)
    part = anatomy_part(model)
    idx = part["dense_index"][:n_points]
    pc = cloud_features(part, idx).astype(np.float32)
    qrs, labels, raw = [], [], []
    for sc in scenarios:
        out = model.simulate(sc)
        qrs.append(prepare_qrs(out["qrs"], model.dt, qrs_length, window_ms))
        labels.append(out["labels"][idx])
        raw.append(out["qrs"])
    return pc, part["aha"][idx], np.stack(qrs), np.stack(labels), np.stack(raw), model.dt


def simulate_samples(specs, scenarios, *, model_options: dict | None = None, n_points: int,
                     qrs_length: int, window_ms: float = QRS_WINDOW_MS, n_jobs: int = 1,
                     origin: str = "") -> Samples:
    """Simulate ``scenarios`` (:class:`~mi_lib.twin.scenarios.Scenario` objects) on every
    subject of ``specs`` with the forward model and return them as
    :class:`~mi_lib.inverse.data.Samples` (the product's cloud rule: the first
    ``n_points`` of the farthest-point order, xyz centred on the mesh nodes' centroid).
    ``n_jobs`` processes (joblib)."""
    from joblib import Parallel, delayed

    args = (list(scenarios), model_options, n_points, qrs_length, window_ms)
    if n_jobs == 1:
        res = [_simulate_one(s, *args) for s in specs]
    else:
        res = Parallel(n_jobs=n_jobs)(delayed(_simulate_one)(s, *args) for s in specs)
    pc = np.stack([r[0] for r in res])
    return Samples([s.name for s in specs], [Path(s.source).name for s in specs],
                   [sc.name for sc in scenarios], point_features(pc),
                   pc[..., :3].astype(np.float32), np.stack([r[1] for r in res]).astype(np.int8),
                   np.stack([r[2] for r in res]).astype(np.float32),
                   np.stack([r[3] for r in res]).astype(np.int64), origin,
                   np.stack([r[4] for r in res]).astype(np.float32), float(res[0][5]))


def merge(a: Samples, b: Samples) -> Samples:
    """The scenarios of ``b`` appended to those of ``a`` (the same subjects, in order)."""
    if a.subjects != b.subjects:
        raise ValueError("samples of different subjects cannot be merged by scenario")
    raw = None if a.raw_qrs is None or b.raw_qrs is None else \
        np.concatenate([a.raw_qrs, b.raw_qrs], 1)
    return replace(a, scenarios=[*a.scenarios, *b.scenarios],
                   qrs=np.concatenate([a.qrs, b.qrs], 1),
                   labels=np.concatenate([a.labels, b.labels], 1), raw_qrs=raw)


def parse_name(name: str) -> tuple[float, str]:
    """``(r_ab, extent)`` of an :func:`apical_series` scenario name."""
    try:
        head, extent = name.rsplit("_", 1)
        return float(head.split("rab", 1)[1]), extent
    except (IndexError, ValueError):
        raise ValueError(f"{name!r} is not an apical-series name (apical_rab<r>_<extent>)"
                         ) from None


def lead_dtw(samples: Samples, rows, penalty: float = 0.02):
    """Per subject of ``rows`` and scenario after the first (the healthy baseline), the
    DTW of each lead to the baseline's (:func:`mi_lib.twin.qrs.dtw_leads`: signals scaled
    by the baseline's maximum, ``penalty`` per ms of QRS-duration difference), on the raw
    QRS. A DataFrame with ``subject``, ``r_ab``, ``extent`` and one column per lead."""
    import pandas as pd

    from ..twin.ecg import LEADS
    from ..twin.qrs import dtw_leads

    if samples.raw_qrs is None:
        raise ValueError("these samples hold no raw QRS; simulate them with simulate_samples")
    out = []
    for r in map(int, rows):
        for j, name in enumerate(samples.scenarios[1:], start=1):
            r_ab, extent = parse_name(name)
            d = dtw_leads(samples.raw_qrs[r, 0], samples.raw_qrs[r, j], samples.dt,
                          penalty=penalty)
            out.append({"subject": samples.subjects[r], "r_ab": r_ab, "extent": extent,
                        **dict(zip(LEADS, map(float, d), strict=True))})
    return pd.DataFrame(out)


def series_scores(samples: Samples, rows, models: dict):
    """The metrics of each model of ``models`` (name -> model) on the apical series of
    subjects ``rows``, with ``r_ab`` and ``extent``; samples whose scar holds no cloud
    point (too small for the cloud) are left out, since their Dice says nothing."""
    import pandas as pd

    from .evaluation import predict, score

    parts = [score(samples, rows, predict(m, samples, rows).argmax(-1), name, counts=True)
             for name, m in models.items()]
    out = pd.concat(parts, ignore_index=True)
    out = out[out.scar_points > 0].copy()
    parsed = [parse_name(s) for s in out.scenario]
    out["r_ab"] = [p[0] for p in parsed]
    out["extent"] = [p[1] for p in parsed]
    return out
