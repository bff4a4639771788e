"""A synthetic LGE cohort in the project's cohort format.

Each subject is a left ventricle of two truncated, slightly elliptical semi-ellipsoids in a
short-axis stack at a random in-plane rotation and handedness; its infarct grows by an
ischaemic wavefront in the culprit coronary territory (deliberately unlike the two
models fitted later). Seeded and deterministic (:func:`synthesize_cohort`).

Anatomical frame of this module: ``u`` lateral, ``v`` anterior, angle ``psi`` measured
from ``u`` towards ``v`` (septum at 180 deg, inferior wall at 270 deg). Units: mm and
degrees.

The generator and the cohort format: ``docs/population/lge.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .io import TERRITORIES, Subject, write_cohort_table, write_subject

#: Perfusion beds: centre angle psi (deg), half-width (deg, Gaussian sd), and the long-axis
#: range reached (0 base, 1 apex) together with how far the territory wraps around the
#: apex (``apex_wrap``: extra half-width gained at the apex).
TERRITORY_BEDS = {
    "LAD": {"psi": 125.0, "width": 42.0, "l_max": 1.05, "apex_wrap": 110.0, "occlusion": (0.0, 0.5)},
    "LCX": {"psi": 5.0, "width": 38.0, "l_max": 0.85, "apex_wrap": 10.0, "occlusion": (0.0, 0.35)},
    "RCA": {"psi": 262.0, "width": 36.0, "l_max": 0.88, "apex_wrap": 10.0, "occlusion": (0.0, 0.35)},
}


@dataclass(frozen=True)
class SyntheticCohortSpec:
    """Settings of the synthetic cohort (defaults: the paper's 123 subjects).

    ``territory_counts`` defaults to the paper's 45/17/61 LAD/LCX/RCA split.
    ``handedness`` is ``"random"`` (each subject mirrored with probability 1/2),
    ``"right"`` (none mirrored) or ``"left"`` (all mirrored).
    """

    territory_counts: dict = field(default_factory=lambda: {"LAD": 45, "LCX": 17, "RCA": 61})
    seed: int = 0
    handedness: str = "random"
    no_reflow_probability: float = 0.4
    prefix: str = "SYN"

    @property
    def n_subjects(self) -> int:
        return int(sum(self.territory_counts.values()))


def _smooth_field(rng: np.random.Generator, psi: np.ndarray, ell: np.ndarray, n_modes: int = 4):
    """A smooth random field on (psi [rad], l), periodic in psi, zero mean, unit variance."""
    out = np.zeros(np.broadcast(psi, ell).shape)
    total = 0.0
    for m in range(0, n_modes + 1):
        for n in range(0, n_modes):
            if m == 0 and n == 0:
                continue
            amp = 1.0 / (1.0 + m * m + n * n)
            a, b = rng.normal(size=2)
            out += amp * (a * np.cos(m * psi + rng.uniform(0, 2 * np.pi))
                          + b * np.cos(n * np.pi * ell + m * psi + rng.uniform(0, 2 * np.pi)))
            total += amp * amp * (a * a + b * b) / 2
    return out / np.sqrt(max(total, 1e-12))


def _ellipse_radius(theta, alpha, a, ratio):
    """Radius of an ellipse (semi-axes a, a*ratio, major axis at angle alpha) along theta."""
    b = a * ratio
    return a * b / np.sqrt((b * np.cos(theta - alpha)) ** 2 + (a * np.sin(theta - alpha)) ** 2)


def _angle_diff(a, b):
    """Signed difference a - b wrapped to (-pi, pi]."""
    return np.angle(np.exp(1j * (a - b)))


def synthesize_subject(subject_id: str, territory: str, rng: np.random.Generator,
                       handedness: int | None = None,
                       no_reflow_probability: float = 0.4) -> tuple[Subject, dict]:
    """Draw one synthetic subject.

    Returns the :class:`Subject` and a dict of its ground-truth generation parameters
    (anatomy, orientation, infarct process) for documentation and tests.
    """
    if territory not in TERRITORIES:
        raise ValueError(f"unknown territory {territory!r}; use one of {TERRITORIES}")
    # --- anatomy (mm) ---------------------------------------------------------------
    r_epi0 = rng.normal(31.0, 2.5)                 # epicardial radius at the base
    thickness = float(np.clip(rng.normal(9.5, 1.3), 6.5, 13.0))
    length = rng.normal(82.0, 6.0)                 # epicardial base-apex semi-axis
    endo_length = length - 0.7 * thickness
    ratio = rng.uniform(0.82, 1.0)                 # ellipticity (minor / major)
    alpha = rng.uniform(0, np.pi)                  # major-axis direction
    n_slices = int(np.clip(np.round(rng.normal(17, 2)), 13, 21))
    depth_fraction = rng.uniform(0.88, 0.94)       # last slice depth / length
    dz = depth_fraction * length / (n_slices - 1)
    pixel = rng.uniform(1.3, 1.9)
    nx, ny = (int(rng.choice([112, 128, 144])) for _ in range(2))
    rotation = rng.uniform(0, 2 * np.pi)
    hand = int(handedness) if handedness is not None else int(rng.choice([-1, 1]))
    tilt = rng.normal(0, 0.35, size=2)             # centre drift per slice (mm)
    centre_img = np.array([nx / 2 + rng.uniform(-6, 6), ny / 2 + rng.uniform(-6, 6)])
    septal_span = np.deg2rad(rng.uniform(105, 135))
    l_rv = rng.uniform(0.72, 0.92)                 # the RV ends above the apex

    # --- voxel positions in the anatomical frame (only voxels near the LV) ------------
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    px = (ix - centre_img[0]) * pixel
    py = (iy - centre_img[1]) * pixel
    z = np.arange(n_slices) * dz
    drift = np.outer(z / dz, tilt)                 # (n_slices, 2) centre drift in mm
    reach_mm = r_epi0 + np.abs(drift).max() * 1.5 + 3 * pixel
    near = np.hypot(px, py) < reach_mm
    cos_r, sin_r = np.cos(rotation), np.sin(rotation)
    # image = R(rotation) @ diag(hand, 1) @ anatomical  =>  anatomical = diag(hand,1) R^T image
    u0 = hand * (cos_r * px[near] + sin_r * py[near])
    v0 = -sin_r * px[near] + cos_r * py[near]
    ell = z / (depth_fraction * length)            # 0 base -> 1 last slice
    u = u0[:, None] - drift[None, :, 0]            # (n_near, n_slices)
    v = v0[:, None] - drift[None, :, 1]
    rho = np.hypot(u, v)
    psi = np.arctan2(v, u)
    epi_scale = np.sqrt(np.clip(1 - (z / length) ** 2, 0, None))
    endo_scale = np.sqrt(np.clip(1 - (z / endo_length) ** 2, 0, None))
    r_epi = _ellipse_radius(psi, alpha, r_epi0 * epi_scale, ratio)
    r_endo = np.where(endo_scale > 0,
                      _ellipse_radius(psi, alpha, (r_epi0 - thickness) * np.maximum(endo_scale, 1e-9),
                                      ratio), 0.0)
    cavity = rho < r_endo
    myo = (rho >= r_endo) & (rho < r_epi)
    radial = np.clip((rho - r_endo) / np.maximum(r_epi - r_endo, 1e-6), 0, 1)

    # --- infarct: ischaemic wavefront within the culprit territory ---------------------
    bed = TERRITORY_BEDS[territory]
    psi_c = np.deg2rad(bed["psi"] + rng.normal(0, 12))
    ell2 = np.broadcast_to(ell[None, :], psi.shape)
    width = np.deg2rad(bed["width"] * rng.uniform(0.8, 1.25)
                       + bed["apex_wrap"] * np.clip((ell2 - 0.55) / 0.45, 0, 1) ** 2)
    occlusion = rng.uniform(*bed["occlusion"])     # 0 proximal -> larger: more distal
    downstream = 1 / (1 + np.exp(-(ell2 - occlusion) / 0.06))
    apical_limit = 1 / (1 + np.exp(-(bed["l_max"] - ell2) / 0.05))
    burden = np.exp(-0.5 * (_angle_diff(psi, psi_c) / width) ** 2) * downstream * apical_limit
    burden = burden * (1 + 0.25 * _smooth_field(rng, psi, ell2))   # collateral flow
    threshold = rng.uniform(0.12, 0.66)            # ischaemic tolerance (~ reperfusion time)
    steepness = rng.uniform(0.08, 0.45)            # small: transmural; large: subendocardial
    roughness = 0.06 * _smooth_field(rng, 3 * psi, 2 * ell2, n_modes=3)
    n_myo = max(int(myo.sum()), 1)
    while True:  # every subject of an MI cohort has an infarct: at least 2% of the LV
        reach = np.clip((burden - threshold) / steepness, 0, 1)
        infarct = myo & (reach > 0) & (radial <= reach + roughness)
        if infarct.sum() >= 0.02 * n_myo or threshold < 0.02:
            break
        threshold *= 0.85
    near_labels = np.zeros(psi.shape, np.uint8)
    near_labels[cavity] = 1
    near_labels[myo] = 2
    near_labels[infarct] = 3
    no_reflow = False
    if rng.uniform() < no_reflow_probability:
        core = infarct & (reach > 0.85) & (radial < 0.45 * reach) & (burden > threshold + 0.35)
        if core.sum() >= 4:
            near_labels[core] = 4
            no_reflow = True
    labels = np.zeros((nx, ny, n_slices), np.uint8)
    labels[near] = near_labels

    # --- RV insertion landmarks, in voxel coordinates ---------------------------------
    anterior = np.full((n_slices, 2), np.nan)
    inferior = np.full((n_slices, 2), np.nan)
    missing_mid = int(rng.integers(2, n_slices - 4)) if rng.uniform() < 0.15 else -1
    for k in range(n_slices):
        if ell[k] > l_rv or k == missing_mid:
            continue
        for out, ang in ((anterior, np.pi - septal_span / 2), (inferior, np.pi + septal_span / 2)):
            rad = _ellipse_radius(ang, alpha, r_epi0 * epi_scale[k], ratio)
            ua = rad * np.cos(ang) + drift[k, 0]
            va = rad * np.sin(ang) + drift[k, 1]
            ui = hand * ua                          # anatomical -> image
            out[k, 0] = centre_img[0] + (cos_r * ui - sin_r * va) / pixel + rng.normal(0, 0.5)
            out[k, 1] = centre_img[1] + (sin_r * ui + cos_r * va) / pixel + rng.normal(0, 0.5)
    subject = Subject(subject_id, territory, labels, (pixel, pixel, dz), anterior, inferior)
    truth = {
        "subject_id": subject_id, "territory": territory, "n_slices": n_slices,
        "pixel_mm": pixel, "slice_mm": dz, "rotation_deg": np.rad2deg(rotation),
        "handedness": hand, "r_epi_base_mm": r_epi0, "wall_mm": thickness, "length_mm": length,
        "ellipticity": ratio, "bed_centre_deg": np.rad2deg(psi_c) % 360,
        "occlusion": occlusion, "threshold": threshold, "steepness": steepness,
        "no_reflow": no_reflow, "infarct_fraction": subject.infarct_fraction,
    }
    return subject, truth


def synthesize_cohort(root: str | Path, spec: SyntheticCohortSpec | None = None):
    """Write a synthetic cohort in the cohort format under ``root``.

    Deterministic: the same ``spec`` (seed included) writes identical files. Each
    subject draws from its own child generator, so subject ``i`` does not depend on
    how many subjects follow it. Returns a ``pandas.DataFrame`` of the ground truth,
    also written to ``root/truth.csv``.
    """
    import pandas as pd

    from mi_lib.core.store import write_csv

    spec = spec or SyntheticCohortSpec()
    unknown = set(spec.territory_counts) - set(TERRITORIES)
    if unknown:
        raise ValueError(f"unknown territories {sorted(unknown)}; use {TERRITORIES}")
    territories = [t for t in TERRITORIES for _ in range(int(spec.territory_counts.get(t, 0)))]
    order = np.random.default_rng(spec.seed).permutation(len(territories))
    territories = [territories[i] for i in order]
    children = np.random.SeedSequence(spec.seed).spawn(len(territories))
    fixed = {"random": None, "right": 1, "left": -1}[spec.handedness]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    ids, truths = [], []
    for i, (territory, child) in enumerate(zip(territories, children, strict=True)):
        sid = f"{spec.prefix}{i + 1:03d}"
        rng = np.random.default_rng(child)
        subject, truth = synthesize_subject(sid, territory, rng, handedness=fixed,
                                            no_reflow_probability=spec.no_reflow_probability)
        write_subject(root, subject)
        ids.append(sid)
        truths.append(truth)
    truth = pd.DataFrame(truths)
    write_csv(root / "truth.csv", truth.round(6))
    write_cohort_table(root, ids, territories)
    return truth
