"""The figures of notebooks 01-04: the former module ``mi_lib.population.figures``, moved
whole into :mod:`~mi_lib.population.figures.slices` (split along its seams next)."""

from .slices import (
    divergence_comparison,
    eigenvalue_decrease,
    latent_space,
    model_gallery,
    modes_of_variation,
    parameter_explorer,
    parameter_sweeps,
    personalization_history,
    regression_stages,
    render_infarct_3d,
    renderings,
    samples_beside_real,
    slice_coordinate_maps,
    slice_montage,
    start_zone,
    subject_transport,
    territory_means,
    transport_agreement,
)

__all__ = [
    "divergence_comparison",
    "eigenvalue_decrease",
    "latent_space",
    "model_gallery",
    "modes_of_variation",
    "parameter_explorer",
    "parameter_sweeps",
    "personalization_history",
    "regression_stages",
    "render_infarct_3d",
    "renderings",
    "samples_beside_real",
    "slice_coordinate_maps",
    "slice_montage",
    "start_zone",
    "subject_transport",
    "territory_means",
    "transport_agreement",
]
