"""Pipeline B, the digital twin's forward model (paper 004; notebooks 05-06).

:mod:`~mi_lib.twin.anatomy`         mesh import (three formats), the tetrahedral mesher
:mod:`~mi_lib.twin.coordinates`     biventricular coordinates, fibres, AHA-17 segments
:mod:`~mi_lib.twin.scenarios`       the 17 infarct scenarios and the healthy baseline
:mod:`~mi_lib.twin.eikonal`         anisotropic Eikonal solver (with a conducting sheet)
:mod:`~mi_lib.twin.ecg`             finite-element lead fields and the pseudo-ECG
:mod:`~mi_lib.twin.settings`        the forward model's typed, frozen settings
:mod:`~mi_lib.twin.forward`         the forward model: anatomy -> activation -> 8-lead QRS
:mod:`~mi_lib.twin.virtual_cohort`  the virtual cohort and ``simulations.zarr``
:mod:`~mi_lib.twin.products`        ``simulations.zarr`` opened and checked, or built
:mod:`~mi_lib.twin.qrs`             QRS bounds, clinical criteria, DTW, sensitivity product
:mod:`~mi_lib.twin.views`           figures of the twin (never computes science)
"""

from .anatomy import CLASSES, Anatomy, AnatomyError, load_anatomy
from .coordinates import Coordinates, aha_segments, compute_coordinates, fibre_directions
from .ecg import ELECTRODES, LEADS, lead_fields, pseudo_ecg
from .eikonal import EikonalSolver, activation_times
from .forward import CV, TwinModel, mesh_convergence
from .qrs import PAPER_QRS_MS, Thresholds, criteria_table, qrs_bounds, qrs_duration
from .scenarios import SCENARIO_NAMES, SCENARIOS, Scenario, get_scenario, tissue_labels
from .settings import ConductionVelocities, ModelSettings
from .virtual_cohort import SIMULATIONS, run_simulations, simulation_product, simulation_settings

__all__ = [
    "CLASSES",
    "CV",
    "ELECTRODES",
    "LEADS",
    "PAPER_QRS_MS",
    "SCENARIOS",
    "SCENARIO_NAMES",
    "SIMULATIONS",
    "Anatomy",
    "AnatomyError",
    "ConductionVelocities",
    "Coordinates",
    "EikonalSolver",
    "ModelSettings",
    "Scenario",
    "Thresholds",
    "TwinModel",
    "activation_times",
    "aha_segments",
    "compute_coordinates",
    "criteria_table",
    "fibre_directions",
    "get_scenario",
    "lead_fields",
    "load_anatomy",
    "mesh_convergence",
    "pseudo_ecg",
    "qrs_bounds",
    "qrs_duration",
    "run_simulations",
    "simulation_product",
    "simulation_settings",
    "tissue_labels",
]
