"""The inverse model's samples from a simulations product: scenario selection, the
subject split, and the preprocessing rules of the point cloud and the QRS.

One sample is one subject x scenario of ``simulations.zarr`` (``data/README.md``): the
subject's point cloud (xyz and the coordinates tm, ab, rt, tv), the scenario's 8-lead QRS
and the per-point tissue label. The rules are the same for every subject and for a real
recording, so a model trained on one product applies to any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..twin.qrs import qrs_bounds
from ..twin.scenarios import SCENARIO_NAMES, get_scenario

#: xyz (mm, centred on the heart's centroid in the product) are divided by this length:
#: one fixed rule for every subject, so anatomical size stays visible to the model
XYZ_SCALE_MM = 100.0
#: the QRS window: from the detected onset, this long (ms), zero beyond the recording
QRS_WINDOW_MS = 200.0
#: paper 004's split of its 49 subjects: train / validation / test
PAPER_SPLIT = (34, 5, 10)


def infarct_scenarios(names=SCENARIO_NAMES, include_healthy: bool = False) -> list[str]:
    """The paper's learning scenarios among ``names``: every infarct at the default
    conduction (its 16), without the slow-conduction variant; the healthy baseline too
    when ``include_healthy``."""
    out = []
    for name in names:
        s = get_scenario(str(name))
        if s.healthy:
            if include_healthy:
                out.append(str(name))
        elif name.endswith("_slow"):
            continue
        else:
            out.append(str(name))
    return out


def point_features(pc: np.ndarray) -> np.ndarray:
    """Network input of a cloud ``pc (..., n, 7)`` with features x, y, z (mm, centred),
    tm, ab, rt, tv: xyz divided by :data:`XYZ_SCALE_MM`, the coordinates as they are
    (all in [0, 1]). Float32."""
    pc = np.asarray(pc, np.float64)
    if pc.shape[-1] != 7:
        raise ValueError(f"point cloud must have 7 features (x, y, z, tm, ab, rt, tv), got "
                         f"{pc.shape[-1]}")
    out = pc.copy()
    out[..., :3] /= XYZ_SCALE_MM
    return out.astype(np.float32)


def prepare_qrs(leads: np.ndarray, dt: float, n: int, window_ms: float = QRS_WINDOW_MS
                ) -> np.ndarray:
    """The network's QRS from ``leads (8, T)`` sampled every ``dt`` ms.

    The QRS is found on the signal (:func:`~mi_lib.twin.qrs.qrs_bounds`); each lead's value
    at the onset is subtracted (baseline), the signal past the offset is set to zero (the
    network reads the QRS only, not an ST segment or T wave of a recording), the window of
    ``window_ms`` from the onset is linearly resampled to ``n`` samples (zeros past the end
    of the recording) and divided by its largest absolute value over all leads (one scale:
    relative lead amplitudes are kept). The same rule for a simulation and a real
    recording; the fixed window keeps durations.
    """
    leads = np.asarray(leads, np.float64)
    if leads.ndim != 2 or leads.shape[1] < 2:
        raise ValueError(f"leads must be (n_leads, T >= 2), got {leads.shape}")
    if n < 2 or window_ms <= 0 or dt <= 0:
        raise ValueError(f"need n >= 2, window_ms > 0, dt > 0 (got {n}, {window_ms}, {dt})")
    onset, offset = qrs_bounds(leads, dt)
    t = np.arange(leads.shape[1]) * dt
    base = np.array([np.interp(onset, t, lead) for lead in leads])
    qrs = np.where(t <= offset, leads - base[:, None], 0.0)
    grid = onset + np.linspace(0.0, window_ms, int(n))
    out = np.stack([np.interp(grid, t, lead, right=0.0) for lead in qrs])
    peak = np.abs(out).max()
    return (out / peak if peak > 0 else out).astype(np.float32)


def split_subjects(subjects, sources, *, counts=PAPER_SPLIT, seed: int = 0,
                   hold_out: str | None = None) -> dict:
    """Train / validation / test subjects, disjoint, seeded.

    By subject (default): the subjects are shuffled with ``seed`` and cut in the
    proportions of ``counts`` (paper: 34 / 5 / 10 of 49; at least one subject per part).
    ``hold_out`` names a source heart left out of training entirely: its subjects are the
    test set, the others are cut into training and validation in the proportions of
    ``counts[:2]``. Returns ``{"train", "validation", "test"}`` subject lists (in input
    order) and ``"hearts"``: the source hearts each part holds.
    """
    subjects, sources = [str(s) for s in subjects], [str(s) for s in sources]
    if len(subjects) != len(sources):
        raise ValueError(f"{len(subjects)} subjects but {len(sources)} sources")
    if len(set(subjects)) != len(subjects):
        raise ValueError("subject names must be unique")
    rng = np.random.default_rng(seed)
    if hold_out is None:
        pool, test = list(subjects), None
        parts = counts
    else:
        if hold_out not in sources:
            raise ValueError(f"hold_out {hold_out!r} is none of the sources {sorted(set(sources))}")
        test = [s for s, h in zip(subjects, sources, strict=True) if h == hold_out]
        pool = [s for s, h in zip(subjects, sources, strict=True) if h != hold_out]
        parts = counts[:2]
    need = len(parts)
    if len(pool) < need:
        raise ValueError(f"{len(pool)} subjects cannot fill {need} parts of the split")
    order = [pool[i] for i in rng.permutation(len(pool))]
    share = np.asarray(parts, float) / np.sum(parts)
    sizes = np.maximum(1, np.floor(share * len(pool)).astype(int))
    sizes[0] = len(pool) - sizes[1:].sum()
    cuts = np.cumsum(sizes)[:-1]
    chunks = np.split(np.asarray(order, dtype=object), cuts)
    names = ["train", "validation", "test"][:need]
    keep = {s: i for i, s in enumerate(subjects)}
    out = {name: sorted(map(str, chunk), key=keep.get) for name, chunk in zip(names, chunks,
                                                                              strict=True)}
    if test is not None:
        out["test"] = test
    heart = dict(zip(subjects, sources, strict=True))
    out["hearts"] = {k: sorted({heart[s] for s in out[k]}) for k in ("train", "validation", "test")}
    return out


@dataclass
class Samples:
    """The learning samples of a simulations product, as arrays (one subject per row).

    ``features (S, N, 7)`` network point features (:func:`point_features`) of the first
    ``N`` dense-cloud points (farthest-point order, so the first 1024 are the coarse
    cloud); ``xyz (S, N, 3)`` mm; ``aha (S, N)`` AHA segment (0 outside the LV region);
    ``qrs (S, C, 8, T)`` prepared QRS (:func:`prepare_qrs`); ``labels (S, C, N)`` tissue
    (0 healthy, 1 border zone, 2 scar) for the ``C`` scenarios.
    """

    subjects: list
    sources: list
    scenarios: list
    features: np.ndarray
    xyz: np.ndarray
    aha: np.ndarray
    qrs: np.ndarray
    labels: np.ndarray
    origin: str = ""
    raw_qrs: np.ndarray | None = None
    dt: float = 0.5

    def subset(self, subjects) -> Samples:
        """The samples of ``subjects`` (names), in that order."""
        r = self.rows(subjects)
        raw = None if self.raw_qrs is None else self.raw_qrs[r]
        return Samples([self.subjects[i] for i in r], [self.sources[i] for i in r],
                       list(self.scenarios), self.features[r], self.xyz[r], self.aha[r],
                       self.qrs[r], self.labels[r], self.origin, raw, self.dt)

    def rows(self, subjects) -> np.ndarray:
        """Row indices of ``subjects`` (names), in the order given."""
        index = {s: i for i, s in enumerate(self.subjects)}
        missing = [s for s in subjects if s not in index]
        if missing:
            raise KeyError(f"{self.origin or 'samples'}: no subject(s) {missing}")
        return np.asarray([index[s] for s in subjects], dtype=int)


def load_samples(simulations, *, n_points: int, qrs_length: int,
                 window_ms: float = QRS_WINDOW_MS, scenarios=None,
                 include_healthy: bool = False) -> Samples:
    """:class:`Samples` of a ``simulations.zarr`` (a path or an opened dataset).

    ``scenarios`` default to :func:`infarct_scenarios` of the product (the paper's 16,
    plus ``baseline`` when ``include_healthy``); ``n_points`` (at most the product's
    dense cloud) and ``qrs_length`` set the network's sizes.
    """
    from ..twin.products import open_simulations

    ds = simulations if not isinstance(simulations, (str, Path)) else open_simulations(simulations)
    origin = str(simulations) if isinstance(simulations, (str, Path)) else ds.attrs.get("title", "")
    names = [str(s) for s in ds.scenario.values]
    chosen = infarct_scenarios(names, include_healthy) if scenarios is None else list(scenarios)
    unknown = [s for s in chosen if s not in names]
    if unknown:
        raise ValueError(f"{origin}: scenario(s) {unknown} not in the product ({names})")
    for var in ("pc_dense", "pc_dense_tissue", "dense_index"):
        if var not in ds:
            raise ValueError(f"{origin}: variable {var!r} is missing; write the product with "
                             "mi_lib.twin.virtual_cohort.run_simulations")
    if not 1 <= n_points <= ds.sizes["dense"]:
        raise ValueError(f"n_points = {n_points}: the product's clouds have {ds.sizes['dense']}")
    sub = ds.sel(scenario=chosen)
    pc = sub.pc_dense.values[:, :n_points]
    index = sub.dense_index.values[:, :n_points].astype(int)
    aha = np.take_along_axis(sub.aha.values, index, axis=1).astype(np.int8)
    times = ds.time.values
    dt = float(times[1] - times[0])
    raw = sub.qrs.values
    qrs = np.stack([[prepare_qrs(raw[i, j], dt, qrs_length, window_ms)
                     for j in range(raw.shape[1])] for i in range(raw.shape[0])])
    labels = sub.pc_dense_tissue.values[:, :, :n_points].astype(np.int64)
    sources = [Path(str(s)).name for s in ds.source.values] if "source" in ds else \
        [str(s).rsplit("_", 1)[0] for s in ds.subject.values]
    return Samples([str(s) for s in ds.subject.values], sources, chosen,
                   point_features(pc), pc[..., :3].astype(np.float32), aha,
                   qrs.astype(np.float32), labels, origin, raw.astype(np.float32), dt)
