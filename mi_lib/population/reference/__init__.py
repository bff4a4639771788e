"""Reference anatomy (paper 000, §2.1): LV coordinates, transport, alignment."""

from .build import (
    build_population,
    process_subject,
    reference_descriptors,
    territory_centres,
    transport_agreement,
)
from .descriptors import circular_difference, infarct_descriptors
from .geometry import ReferenceAnatomy
from .slice_coordinates import SubjectCoordinates, circumferential, subject_coordinates
from .transport import alignment_shifts, centre_c, centre_vector, rotate, transport

__all__ = [
    "ReferenceAnatomy",
    "SubjectCoordinates",
    "alignment_shifts",
    "build_population",
    "centre_c",
    "centre_vector",
    "circular_difference",
    "circumferential",
    "infarct_descriptors",
    "process_subject",
    "reference_descriptors",
    "rotate",
    "subject_coordinates",
    "territory_centres",
    "transport_agreement",
    "transport",
]
