"""Reading, validating and writing LGE cohorts in the project's cohort format.

Every problem found in a cohort raises :class:`CohortError` with a message naming the
subject, the file, what is wrong and how to fix it. Validation happens here, at the
boundary; the preprocessing functions downstream trust a :class:`Subject`.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mi_lib.core.store import write_json, write_nifti, write_text

#: EMIDEC label convention. No-reflow (4) counts as infarct.
LABELS = {0: "background", 1: "LV cavity", 2: "healthy myocardium", 3: "infarct", 4: "no-reflow"}
MYOCARDIUM_LABELS = (2, 3, 4)
INFARCT_LABELS = (3, 4)
TERRITORIES = ("LAD", "LCX", "RCA")
LANDMARK_KEYS = ("rv_insertion_anterior", "rv_insertion_inferior")


class CohortError(ValueError):
    """A cohort on disk does not follow the cohort format."""


def _fail(problem: str, fix: str, subject: str | None = None, file: Path | str | None = None):
    where = []
    if subject is not None:
        where.append(f"subject {subject!r}")
    if file is not None:
        where.append(f"file {str(file)!r}")
    prefix = ", ".join(where)
    raise CohortError(f"{prefix + ': ' if prefix else ''}{problem}. Fix: {fix}")


@dataclass
class Subject:
    """One subject of a cohort, validated.

    Attributes
    ----------
    subject_id : str
    territory : str
        Culprit coronary territory, one of ``TERRITORIES``.
    labels : ndarray of uint8, shape (nx, ny, n_slices)
        EMIDEC labels; slices ordered base -> apex.
    spacing : tuple of float
        Voxel sizes (dx, dy, dz) in mm, from the NIfTI header.
    anterior, inferior : ndarray of float, shape (n_slices, 2)
        RV insertion points in voxel coordinates (x, y); NaN where not given.
    """

    subject_id: str
    territory: str
    labels: np.ndarray
    spacing: tuple[float, float, float]
    anterior: np.ndarray
    inferior: np.ndarray

    @property
    def n_slices(self) -> int:
        return self.labels.shape[2]

    @property
    def myocardium(self) -> np.ndarray:
        return np.isin(self.labels, MYOCARDIUM_LABELS)

    @property
    def infarct(self) -> np.ndarray:
        return np.isin(self.labels, INFARCT_LABELS)

    @property
    def infarct_fraction(self) -> float:
        """Infarcted (incl. no-reflow) fraction of the LV myocardium, by voxel count."""
        return float(self.infarct.sum() / self.myocardium.sum())


class Cohort:
    """A validated cohort table; subjects are read and validated on :meth:`load`.

    Use :func:`open_cohort` to create one.
    """

    def __init__(self, root: Path, subject_ids: list[str], territories: list[str]):
        self.root = root
        self.subject_ids = subject_ids
        self.territories = dict(zip(subject_ids, territories, strict=True))

    def __len__(self) -> int:
        return len(self.subject_ids)

    def __repr__(self) -> str:
        counts = {t: sum(v == t for v in self.territories.values()) for t in TERRITORIES}
        return f"Cohort({str(self.root)!r}, n={len(self)}, territories={counts})"

    def seg_path(self, subject_id: str) -> Path:
        """The subject's label image, ``<root>/<subject_id>/seg.nii.gz``."""
        return self.root / subject_id / "seg.nii.gz"

    def landmarks_path(self, subject_id: str) -> Path:
        """The subject's landmarks, ``<root>/<subject_id>/landmarks.json``."""
        return self.root / subject_id / "landmarks.json"

    def load(self, subject_id: str) -> Subject:
        """Read and validate one subject."""
        return load_subject(self.root, subject_id, self.territories[subject_id])

    def validate(self) -> None:
        """Read every subject; raise one :class:`CohortError` listing every problem."""
        problems = []
        for sid in self.subject_ids:
            try:
                self.load(sid)
            except CohortError as err:
                problems.append(str(err))
        if problems:
            n = len(problems)
            raise CohortError(
                f"cohort {str(self.root)!r}: {n} subject(s) failed validation:\n  - "
                + "\n  - ".join(problems)
            )


def open_cohort(root: str | Path) -> Cohort:
    """Open the cohort in ``root`` and validate ``cohort.csv`` and the subject folders.

    The images and landmarks themselves are validated when each subject is loaded
    (:meth:`Cohort.load`) or all at once by :meth:`Cohort.validate`.
    """
    root = Path(root)
    if not root.is_dir():
        _fail("the cohort folder does not exist", "pass the folder that holds cohort.csv",
              file=root)
    table = root / "cohort.csv"
    if not table.is_file():
        _fail("cohort.csv is missing",
              "add a CSV with the columns subject_id, territory (one row per subject)",
              file=table)
    with table.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in (reader.fieldnames or [])]
        missing = [c for c in ("subject_id", "territory") if c not in columns]
        if missing:
            _fail(f"missing column(s) {', '.join(missing)} (found {columns})",
                  "name the columns exactly subject_id and territory", file=table)
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]
    if not rows:
        _fail("the table lists no subject", "add one row per subject", file=table)
    ids, territories = [], []
    for line, row in enumerate(rows, start=2):
        sid, terr = row["subject_id"], row["territory"]
        if not sid:
            _fail(f"line {line} has an empty subject_id", "give every row a subject id",
                  file=table)
        if sid in ids:
            _fail(f"subject id {sid!r} appears twice (line {line})",
                  "give every subject a unique id", file=table)
        if terr.upper() not in TERRITORIES:
            _fail(f"unknown territory {terr!r} on line {line}",
                  f"use one of {', '.join(TERRITORIES)}", subject=sid, file=table)
        if not (root / sid).is_dir():
            _fail("the subject folder is missing",
                  f"create {sid}/ with seg.nii.gz and landmarks.json, or drop the row",
                  subject=sid, file=root / sid)
        ids.append(sid)
        territories.append(terr.upper())
    return Cohort(root, ids, territories)


def _read_labels(subject_id: str, path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    import nibabel as nib

    if not path.is_file():
        _fail("seg.nii.gz is missing", "add the short-axis segmentation as seg.nii.gz",
              subject_id, path)
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as err:  # nibabel raises several types for corrupt files
        _fail(f"cannot be read as NIfTI ({type(err).__name__}: {err})",
              "write the segmentation as a gzipped NIfTI-1 or NIfTI-2 file", subject_id, path)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        _fail(f"the image is {data.ndim}-D with shape {data.shape}, expected 3-D (x, y, slice)",
              "store one short-axis stack per subject, slices along the third axis",
              subject_id, path)
    if data.shape[2] < 2:
        _fail(f"the stack has {data.shape[2]} slice(s)",
              "store the whole short-axis stack (at least 2 slices)", subject_id, path)
    if not np.issubdtype(data.dtype, np.integer):
        if not np.all(np.isfinite(data)) or not np.all(data == np.round(data)):
            _fail("the labels are not integers",
                  "store integer labels 0-4 (EMIDEC convention)", subject_id, path)
    values = np.unique(data)
    unknown = [v for v in values.tolist() if v not in LABELS]
    if unknown:
        _fail(f"unknown label value(s) {unknown[:10]}",
              "use the EMIDEC labels 0 background, 1 LV cavity, 2 healthy myocardium, "
              "3 infarct, 4 no-reflow", subject_id, path)
    zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
    if len(zooms) < 3 or not all(math.isfinite(z) and z > 0 for z in zooms):
        _fail(f"invalid voxel sizes {zooms} in the header",
              "set positive voxel sizes in mm (nibabel: img.header.set_zooms)", subject_id, path)
    labels = data.astype(np.uint8)
    if not np.isin(labels, MYOCARDIUM_LABELS).any():
        _fail("the myocardium is empty (no voxel labelled 2, 3 or 4)",
              "check the label convention: 2 healthy myocardium, 3 infarct, 4 no-reflow",
              subject_id, path)
    return labels, zooms


def _read_landmarks(subject_id: str, path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    if not path.is_file():
        _fail("landmarks.json is missing",
              "add the RV insertion points per slice (keys rv_insertion_anterior, "
              "rv_insertion_inferior)", subject_id, path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        _fail(f"is not valid JSON ({err})", "write a JSON object", subject_id, path)
    if not isinstance(doc, dict):
        _fail("the top level is not a JSON object", "write an object with the two keys",
              subject_id, path)
    n_slices = shape[2]
    out = np.full((2, n_slices, 2), np.nan)
    for which, key in enumerate(LANDMARK_KEYS):
        if key not in doc:
            _fail(f"key {key!r} is missing", f"add {key!r}: one [x, y] or null per slice",
                  subject_id, path)
        points = doc[key]
        if not isinstance(points, list):
            _fail(f"{key!r} is not a list", "give one [x, y] or null per slice",
                  subject_id, path)
        if len(points) != n_slices:
            _fail(f"{key!r} has {len(points)} entries but seg.nii.gz has {n_slices} slices",
                  "give exactly one [x, y] or null per slice, base to apex", subject_id, path)
        for k, point in enumerate(points):
            if point is None:
                continue
            ok = (isinstance(point, list | tuple) and len(point) == 2
                  and all(isinstance(v, int | float) and not isinstance(v, bool) for v in point)
                  and all(math.isfinite(v) for v in point))
            if not ok:
                _fail(f"{key!r} entry of slice {k} is {point!r}, not [x, y] or null",
                      "write voxel coordinates as two numbers", subject_id, path)
            x, y = point
            if not (-0.5 <= x <= shape[0] - 0.5 and -0.5 <= y <= shape[1] - 0.5):
                _fail(f"{key!r} point {point} of slice {k} lies outside the "
                      f"{shape[0]}x{shape[1]} image",
                      "give voxel coordinates (x = first array axis) inside the image",
                      subject_id, path)
            out[which, k] = (x, y)
    given = ~np.isnan(out[..., 0])
    mismatch = np.flatnonzero(given[0] != given[1])
    if mismatch.size:
        _fail(f"slice {mismatch[0]} has one RV insertion point but not the other",
              "give both points on a slice, or null for both", subject_id, path)
    if not given[0].any():
        _fail("no slice has RV insertion points",
              "mark the two RV insertion points on at least one slice", subject_id, path)
    same = given[0] & np.all(np.abs(out[0] - out[1]) < 1e-6, axis=-1)
    if same.any():
        _fail(f"the two RV insertion points coincide on slice {np.flatnonzero(same)[0]}",
              "mark the anterior and the inferior insertion points separately",
              subject_id, path)
    return out


def load_subject(root: str | Path, subject_id: str, territory: str) -> Subject:
    """Read and validate one subject of the cohort in ``root``."""
    root = Path(root)
    labels, spacing = _read_labels(subject_id, root / subject_id / "seg.nii.gz")
    landmarks = _read_landmarks(subject_id, root / subject_id / "landmarks.json", labels.shape)
    myo_slices = np.isin(labels, MYOCARDIUM_LABELS).any(axis=(0, 1))
    marked = ~np.isnan(landmarks[0, :, 0])
    if not (marked & myo_slices).any():
        _fail("no slice with myocardium has RV insertion points",
              "mark the RV insertion points on the slices that show the LV",
              subject_id, root / subject_id / "landmarks.json")
    return Subject(subject_id, territory, labels, spacing, landmarks[0], landmarks[1])


def write_subject(root: str | Path, subject: Subject) -> None:
    """Write ``subject`` in the cohort format under ``root/<subject_id>/`` (atomically)."""
    import nibabel as nib

    folder = Path(root) / subject.subject_id
    folder.mkdir(parents=True, exist_ok=True)
    affine = np.diag([*subject.spacing, 1.0])
    img = nib.Nifti1Image(subject.labels.astype(np.uint8), affine)
    img.header.set_zooms(subject.spacing)
    img.header.set_xyzt_units("mm")
    write_nifti(folder / "seg.nii.gz", img)

    def as_list(points):
        return [None if np.isnan(p[0]) else [round(float(p[0]), 2), round(float(p[1]), 2)]
                for p in points]

    write_json(folder / "landmarks.json", {
        "rv_insertion_anterior": as_list(subject.anterior),
        "rv_insertion_inferior": as_list(subject.inferior),
    })


def write_cohort_table(root: str | Path, subject_ids, territories) -> Path:
    """Write ``cohort.csv`` (atomically)."""
    lines = ["subject_id,territory"] + [f"{s},{t}" for s, t in zip(subject_ids, territories,
                                                                    strict=True)]
    return write_text(Path(root) / "cohort.csv", "\n".join(lines) + "\n")
