"""QRS measurement and the criteria of myocardial infarction (paper 004 §IV-B).

:mod:`~mi_lib.twin.qrs.thresholds`   lead sets and the criteria's thresholds
:mod:`~mi_lib.twin.qrs.bounds`       QRS onset / offset from the spatial velocity
:mod:`~mi_lib.twin.qrs.criteria`     Q waves, R progression, fragmentation; criteria tables
:mod:`~mi_lib.twin.qrs.dtw`          dynamic time warping with a duration penalty
:mod:`~mi_lib.twin.qrs.sensitivity`  the cohort sensitivity analysis and ``sensitivity.nc``

The method (conventions, every criterion's definition and its sources) is in
``docs/twin/qrs.md``.
"""

from .bounds import (
    crop_qrs,
    qrs_bounds,
    qrs_duration,
    spatial_velocity,
)
from .criteria import (
    contiguous_pairs,
    criteria,
    criteria_table,
    fragmented_qrs,
    notches,
    pathological_q_waves,
    poor_r_wave_progression,
    q_wave,
    q_waves,
    r_wave_amplitudes,
    turning_points,
)
from .dtw import (
    dtw_distance,
    dtw_leads,
    dtw_matrix,
    dtw_summary,
)
from .sensitivity import (
    PAPER_QRS_MS,
    closest_pairs,
    dtw_to_baseline,
    duration_summary,
    durations_by_reading,
    healthy_qrs_by_source,
    leads_per_location,
    new_signs,
    prevalence,
    scenario_dtw,
    sensitivity_dataset,
)
from .thresholds import (
    CONTIGUOUS_GROUPS,
    CONTIGUOUS_PAIRS,
    DEFAULTS,
    EXTENDED_LEADS,
    PRECORDIAL,
    Q_WAVE_LEADS,
    TWELVE_LEADS,
    Thresholds,
    twelve_leads,
)

__all__ = [
    "CONTIGUOUS_GROUPS",
    "CONTIGUOUS_PAIRS",
    "DEFAULTS",
    "EXTENDED_LEADS",
    "PAPER_QRS_MS",
    "PRECORDIAL",
    "Q_WAVE_LEADS",
    "TWELVE_LEADS",
    "Thresholds",
    "closest_pairs",
    "contiguous_pairs",
    "criteria",
    "criteria_table",
    "dtw_distance",
    "dtw_leads",
    "dtw_matrix",
    "dtw_summary",
    "duration_summary",
    "durations_by_reading",
    "dtw_to_baseline",
    "fragmented_qrs",
    "healthy_qrs_by_source",
    "leads_per_location",
    "new_signs",
    "notches",
    "pathological_q_waves",
    "poor_r_wave_progression",
    "prevalence",
    "q_wave",
    "q_waves",
    "crop_qrs",
    "qrs_bounds",
    "qrs_duration",
    "r_wave_amplitudes",
    "scenario_dtw",
    "sensitivity_dataset",
    "spatial_velocity",
    "turning_points",
    "twelve_leads",
]
