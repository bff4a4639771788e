"""LGE cohorts: the on-disk format, its validating loader, and the synthetic generator.

The format (one folder per cohort)::

    COHORT/cohort.csv                   columns: subject_id, territory (LAD, LCX or RCA)
    COHORT/<subject_id>/seg.nii.gz      short-axis stack, EMIDEC labels, axes (x, y, slice),
                                        slices ordered base -> apex, voxel sizes in the header
    COHORT/<subject_id>/landmarks.json  {"rv_insertion_anterior": [[x, y] or null, ...],
                                         "rv_insertion_inferior": [[x, y] or null, ...]}
"""

from .io import (
    LABELS,
    TERRITORIES,
    Cohort,
    CohortError,
    Subject,
    open_cohort,
    write_cohort_table,
    write_subject,
)
from .synthetic import SyntheticCohortSpec, synthesize_cohort, synthesize_subject

__all__ = [
    "LABELS",
    "TERRITORIES",
    "Cohort",
    "CohortError",
    "Subject",
    "SyntheticCohortSpec",
    "open_cohort",
    "synthesize_cohort",
    "synthesize_subject",
    "write_cohort_table",
    "write_subject",
]
