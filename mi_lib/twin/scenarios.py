"""Infarct scenarios of the digital twin (paper 004, §III-A and §IV-A.1).

An infarct is an ellipsoid in biventricular coordinates centred on the endocardium,
restricted to the LV region, with a border zone of radii scaled by ``bz_scale``
(:func:`tissue_labels`: 0 healthy, 1 border zone, 2 scar per node). :data:`SCENARIOS`
holds the healthy ``baseline`` and the 17 scenarios: seven locations
(:data:`LOCATIONS`), transmural and subendocardial, a small lateral one and a
slow-conduction transmural lateral one.

The ellipsoid, the scenarios and their table of centres and radii:
``docs/twin/scenarios.md``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .coordinates import Coordinates

HEALTHY, BORDER_ZONE, SCAR = 0, 1, 2
TISSUE = {HEALTHY: "healthy", BORDER_ZONE: "border zone", SCAR: "scar"}

#: Conduction-velocity factors of (scar, BZ): the paper's default and slow variants.
CV_DEFAULT = (0.10, 0.50)
CV_SLOW = (0.05, 0.25)
R_TM = {"transmural": 3.0, "subendocardial": 0.5}
BZ_SCALE = 1.25

#: location -> (ab0, rt0, r_ab, r_rt, target AHA segments)
LOCATIONS: dict[str, tuple[float, float, float, float, tuple[int, ...]]] = {
    "septal": (0.70, 5.0 / 6.0, 0.36, 0.20, (2, 3, 8, 9)),
    "apical": (0.00, 0.50, 0.43, 2.00, (13, 14, 15, 16, 17)),
    "anterior_extensive": (0.45, 0.00, 0.62, 0.21, (1, 2, 7, 8, 13, 14, 17)),
    "anterior_limited": (0.40, 0.09, 0.26, 0.14, (7, 13)),
    "lateral": (0.70, 1.0 / 3.0, 0.36, 0.20, (5, 6, 11, 12)),
    "inferior": (0.55, 0.56, 0.50, 0.10, (4, 10, 15)),
    "inferolateral": (0.55, 0.47, 0.50, 0.20, (4, 5, 10, 11, 15, 16)),
}


@dataclass(frozen=True)
class Scenario:
    """One infarct scenario (``location = None`` for the healthy baseline)."""

    name: str
    location: str | None = None
    extent: str | None = None  # "transmural" | "subendocardial"
    ab0: float = 0.0
    rt0: float = 0.0
    r_tm: float = 0.0
    r_ab: float = 0.0
    r_rt: float = 0.0
    bz_scale: float = BZ_SCALE
    cv_scar: float = CV_DEFAULT[0]
    cv_bz: float = CV_DEFAULT[1]

    @property
    def healthy(self) -> bool:
        return self.location is None

    def to_dict(self) -> dict:
        """The fields as a plain dict."""
        return asdict(self)


def make_scenarios() -> list[Scenario]:
    """The baseline and the 17 infarct scenarios of the paper, in a fixed order."""
    out = [Scenario("baseline")]
    for loc, (ab0, rt0, r_ab, r_rt, _) in LOCATIONS.items():
        sizes = [("", 1.0)] + ([("_small", 0.5)] if loc == "lateral" else [])
        for suffix, k in sizes:
            for extent, r_tm in R_TM.items():
                out.append(Scenario(f"{loc}{suffix}_{extent}", loc, extent, ab0, rt0, r_tm,
                                    r_ab * k, r_rt * k))
    ab0, rt0, r_ab, r_rt, _ = LOCATIONS["lateral"]
    out.append(Scenario("lateral_transmural_slow", "lateral", "transmural", ab0, rt0,
                        R_TM["transmural"], r_ab, r_rt, cv_scar=CV_SLOW[0], cv_bz=CV_SLOW[1]))
    return out


SCENARIOS = make_scenarios()
SCENARIO_NAMES = tuple(s.name for s in SCENARIOS)


def get_scenario(name: str) -> Scenario:
    """The scenario called ``name`` (:data:`SCENARIO_NAMES`); ``KeyError`` if there is none."""
    for s in SCENARIOS:
        if s.name == name:
            return s
    raise KeyError(f"unknown scenario {name!r}; known: {', '.join(SCENARIO_NAMES)}")


def ellipsoid_value(tm, ab, rt, s: Scenario) -> np.ndarray:
    """Left-hand side of paper Eq. 1 (``<= 1`` inside the scar)."""
    d = np.abs(np.asarray(rt) - s.rt0) % 1.0
    d_rt = np.minimum(d, 1.0 - d)
    return (np.asarray(tm) / s.r_tm) ** 2 + ((np.asarray(ab) - s.ab0) / s.r_ab) ** 2 \
        + (d_rt / s.r_rt) ** 2


def tissue_labels(coords: Coordinates, scenario: Scenario) -> np.ndarray:
    """Per-node tissue: 0 healthy, 1 border zone, 2 scar (LV region only)."""
    labels = np.zeros(len(coords.tm), np.int8)
    if scenario.healthy:
        return labels
    q = ellipsoid_value(coords.tm, coords.ab, coords.rt, scenario)
    lv = coords.lv
    labels[lv & (q <= scenario.bz_scale**2)] = BORDER_ZONE
    labels[lv & (q <= 1.0)] = SCAR
    return labels


def node_factors(labels: np.ndarray, cv_scar: float, cv_bz: float) -> np.ndarray:
    """Conduction-velocity factor per node: 1 healthy, ``cv_bz`` border zone, ``cv_scar``
    scar."""
    labels = np.asarray(labels)
    f = np.ones(len(labels))
    f[labels == BORDER_ZONE] = cv_bz
    f[labels == SCAR] = cv_scar
    return f


def cv_factors(labels: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Conduction-velocity factor per node of a scenario (:func:`node_factors` with its
    ``cv_scar`` and ``cv_bz``)."""
    return node_factors(labels, scenario.cv_scar, scenario.cv_bz)


def aha_coverage(coords: Coordinates, segments: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Fraction of the nodes of each AHA segment (index 1..17; 0 unused) in scar."""
    scar = tissue_labels(coords, scenario) == SCAR
    cov = np.zeros(18)
    for k in range(1, 18):
        sel = segments == k
        cov[k] = scar[sel].mean() if sel.any() else np.nan
    return cov


def scenario_coverage(coords: Coordinates, segments: np.ndarray, names=None,
                      covered: float = 0.5):
    """The scenarios on one heart (notebook 05's table): each scenario's geometry, its
    scar and border-zone shares of the LV region (%), the AHA segments its location
    targets, their mean scar coverage, and the segments at least ``covered`` in scar.

    ``names`` default to every scenario but the baseline; ``segments`` are the heart's
    :func:`~mi_lib.twin.coordinates.aha_segments`. Returns a ``pandas.DataFrame``.
    """
    import pandas as pd

    rows = []
    for name in (SCENARIO_NAMES[1:] if names is None else names):
        s = get_scenario(name)
        lab = tissue_labels(coords, s)[coords.lv]
        cov = aha_coverage(coords, segments, s)
        target = LOCATIONS[s.location][4]
        rows.append({"scenario": name, "ab0": s.ab0, "rt0": s.rt0, "r_tm": s.r_tm,
                     "r_ab": s.r_ab, "r_rt": s.r_rt, "CV scar/BZ": f"{s.cv_scar:.0%}/{s.cv_bz:.0%}",
                     "scar % LV": 100 * np.mean(lab == SCAR),
                     "BZ % LV": 100 * np.mean(lab == BORDER_ZONE),
                     "target AHA": ",".join(map(str, target)),
                     "target in scar (mean)": float(np.mean(cov[list(target)])),
                     f"segments >= {covered:.0%} scar": ",".join(
                         str(k) for k in range(1, 18) if cov[k] >= covered)})
    return pd.DataFrame(rows).set_index("scenario")
