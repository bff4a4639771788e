"""The cohort loader: a valid cohort loads; every malformed cohort fails with a message
naming the subject, the file and the problem."""

import json
import shutil

import nibabel as nib
import numpy as np
import pytest

from mi_lib.population.lge import CohortError, open_cohort, write_subject
from mi_lib.population.lge.io import load_subject


def test_valid_cohort_loads(cohort_right):
    cohort = open_cohort(cohort_right)
    cohort.validate()
    assert len(cohort) == 8
    s = cohort.load(cohort.subject_ids[0])
    assert s.labels.ndim == 3 and s.labels.dtype == np.uint8
    assert s.anterior.shape == (s.n_slices, 2)
    assert 0 < s.infarct_fraction < 1
    assert set(np.unique(s.labels)) <= {0, 1, 2, 3, 4}


def test_roundtrip_write_subject(cohort_right, tmp_path):
    cohort = open_cohort(cohort_right)
    s = cohort.load(cohort.subject_ids[1])
    write_subject(tmp_path, s)
    back = load_subject(tmp_path, s.subject_id, s.territory)
    np.testing.assert_array_equal(back.labels, s.labels)
    np.testing.assert_allclose(back.spacing, s.spacing, rtol=1e-6)
    np.testing.assert_allclose(back.anterior, s.anterior, atol=0.01)


def _seg(root, sid):
    return root / sid / "seg.nii.gz"


def _landmarks(root, sid):
    return root / sid / "landmarks.json"


def _rewrite_seg(root, sid, func):
    img = nib.load(str(_seg(root, sid)))
    data = func(np.asarray(img.dataobj))
    nib.save(nib.Nifti1Image(data, img.affine, img.header), str(_seg(root, sid)))


def _edit_landmarks(root, sid, func):
    path = _landmarks(root, sid)
    doc = json.loads(path.read_text())
    path.write_text(json.dumps(func(doc)))


def _set_point(doc, key, k, value):
    doc[key][k] = value
    return doc


MALFORMED = {
    "missing_csv": (lambda r, s: (r / "cohort.csv").unlink(), "cohort.csv is missing", False),
    "bad_columns": (lambda r, s: (r / "cohort.csv").write_text("id,artery\nA,LAD\n"),
                    "missing column", False),
    "unknown_territory": (lambda r, s: (r / "cohort.csv").write_text(
        (r / "cohort.csv").read_text().replace(",RCA", ",LMCA", 1)), "unknown territory", True),
    "duplicate_subject": (lambda r, s: (r / "cohort.csv").write_text(
        (r / "cohort.csv").read_text() + f"{s},LAD\n"), "appears twice", True),
    "missing_folder": (lambda r, s: shutil.rmtree(r / s), "subject folder is missing", True),
    "missing_seg": (lambda r, s: _seg(r, s).unlink(), "seg.nii.gz is missing", True),
    "corrupt_seg": (lambda r, s: _seg(r, s).write_bytes(b"not a nifti"), "cannot be read", True),
    "non_3d": (lambda r, s: _rewrite_seg(r, s, lambda a: a[:, :, 0]), "expected 3-D", True),
    "four_d": (lambda r, s: _rewrite_seg(r, s, lambda a: np.stack([a, a], axis=-1)),
               "expected 3-D", True),
    "unknown_labels": (lambda r, s: _rewrite_seg(r, s, lambda a: np.where(a == 3, 7, a)
                                                 .astype(a.dtype)), "unknown label", True),
    "float_labels": (lambda r, s: _rewrite_seg(r, s, lambda a: a.astype(np.float32) + 0.3),
                     "not integers", True),
    "empty_myocardium": (lambda r, s: _rewrite_seg(r, s, lambda a: np.where(a >= 2, 0, a)
                                                   .astype(a.dtype)), "myocardium is empty", True),
    "missing_landmarks": (lambda r, s: _landmarks(r, s).unlink(), "landmarks.json is missing",
                          True),
    "invalid_json": (lambda r, s: _landmarks(r, s).write_text("{not json"), "not valid JSON",
                     True),
    "missing_key": (lambda r, s: _edit_landmarks(
        r, s, lambda d: {"rv_insertion_anterior": d["rv_insertion_anterior"]}),
        "'rv_insertion_inferior' is missing", True),
    "landmark_count": (lambda r, s: _edit_landmarks(
        r, s, lambda d: {k: v[:-1] for k, v in d.items()}), "entries but seg.nii.gz has", True),
    "landmark_outside": (lambda r, s: _edit_landmarks(
        r, s, lambda d: _set_point(d, "rv_insertion_anterior", 0, [5000.0, 3.0])),
        "lies outside", True),
    "landmark_malformed": (lambda r, s: _edit_landmarks(
        r, s, lambda d: _set_point(d, "rv_insertion_inferior", 0, [1.0, "a"])),
        "not [x, y] or null", True),
    "landmark_half_pair": (lambda r, s: _edit_landmarks(
        r, s, lambda d: _set_point(d, "rv_insertion_inferior", 0, None)),
        "one RV insertion point but not the other", True),
    "no_landmarks": (lambda r, s: _edit_landmarks(
        r, s, lambda d: {k: [None] * len(v) for k, v in d.items()}),
        "no slice has RV insertion points", True),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_cohort_fails_clearly(case, cohort_right, tmp_path):
    root = tmp_path / "cohort"
    shutil.copytree(cohort_right, root)
    sid = open_cohort(root).subject_ids[0]
    if case == "unknown_territory":  # make sure the replaced row is a real subject's
        lines = (root / "cohort.csv").read_text().splitlines()
        sid = next(line.split(",")[0] for line in lines[1:] if line.endswith(",RCA"))
    mutate, message, names_subject = MALFORMED[case]
    mutate(root, sid)
    with pytest.raises(CohortError) as err:
        open_cohort(root).validate()
    text = str(err.value)
    assert message in text, text
    assert "Fix:" in text
    if names_subject:
        assert sid in text, text
    assert str(root) in text, text
