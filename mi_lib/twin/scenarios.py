"""Infarct scenarios of the digital twin (paper 004, §III-A and §IV-A.1).

An infarct is the ellipsoid (paper Eq. 1) in biventricular coordinates centred on the
endocardium (``tm0 = 0``)::

    ((tm - tm0) / r_tm)^2 + ((ab - ab0) / r_ab)^2 + (d_rt(rt, rt0) / r_rt)^2 <= 1,

with ``d_rt`` the circular distance (``rt`` wraps at the anterior junction, 0 = 1),
restricted to the LV region ``tv = 0 or (tv = 1 and rt > 2/3)`` (the whole septum;
right-ventricular scars are not modelled, as in the paper). The border zone (BZ) is the
shell between the scar and the ellipsoid of the same centre with radii scaled by
``bz_scale`` (1.25 here: the paper does not report it; Fig. 3 shows a thin rim).

Seven locations, each transmural (``r_tm = 3``: the whole wall, since ``tm <= 1``) and
subendocardial (``r_tm = 0.5``: the inner half of the wall at the centre); the lateral one
also small (``r_ab`` and ``r_rt`` halved); the transmural large lateral also with slower
conduction (scar 5 %, BZ 25 % of healthy instead of 10 % / 50 %): 17 scenarios and the
healthy ``baseline``. Centres and radii (:data:`LOCATIONS`) were set so that the
transmural scars cover the AHA segments the paper lists (after its reference [49]) on the
shipped heart: the coverage table is measured by :func:`aha_coverage` and shown in
notebook 05.

=================  =====  =====  =====  =====  =============================
location           ab0    rt0    r_ab   r_rt   target AHA segments
=================  =====  =====  =====  =====  =============================
septal             0.70   0.833  0.36   0.20   2, 3, 8, 9
apical             0.00   0.500  0.43   2.00   13, 14, 15, 16, 17
anterior_extensive 0.45   0.000  0.62   0.21   1, 2, 7, 8, 13, 14, 17
anterior_limited   0.40   0.090  0.26   0.14   7, 13
lateral            0.70   0.333  0.36   0.20   5, 6, 11, 12
inferior           0.55   0.560  0.50   0.10   4, 10, 15
inferolateral      0.55   0.470  0.50   0.20   4, 5, 10, 11, 15, 16
=================  =====  =====  =====  =====  =============================
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


def cv_factors(labels: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Conduction-velocity factor per node (1 healthy, ``cv_bz``, ``cv_scar``)."""
    f = np.ones(len(labels))
    f[labels == BORDER_ZONE] = scenario.cv_bz
    f[labels == SCAR] = scenario.cv_scar
    return f


def aha_coverage(coords: Coordinates, segments: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Fraction of the nodes of each AHA segment (index 1..17; 0 unused) in scar."""
    scar = tissue_labels(coords, scenario) == SCAR
    cov = np.zeros(18)
    for k in range(1, 18):
        sel = segments == k
        cov[k] = scar[sel].mean() if sel.any() else np.nan
    return cov
