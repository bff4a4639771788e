"""The figures of notebooks 01-04. Plotting only: every number shown is computed elsewhere.

:mod:`~mi_lib.population.figures.slices`    2-D slices: subjects and their transport, infarct
                                            images, model galleries, slice montages
:mod:`~mi_lib.population.figures.curves`    transport agreement, parameter sweeps, CMA-ES
                                            histories, KL vs MMD
:mod:`~mi_lib.population.figures.renders`   3-D pyvista renderings of infarcts
:mod:`~mi_lib.population.figures.explorer`  the ipywidgets explorer of the models' parameters
:mod:`~mi_lib.population.figures.latent`    eigenvalues, latent space, modes of variation,
                                            multi-scale regression
"""

from .curves import (
    divergence_comparison,
    parameter_sweeps,
    personalization_history,
    transport_agreement,
)
from .explorer import parameter_explorer
from .latent import eigenvalue_decrease, latent_space, modes_of_variation, regression_stages
from .renders import render_infarct_3d, renderings
from .slices import (
    model_gallery,
    samples_beside_real,
    slice_coordinate_maps,
    slice_montage,
    start_zone,
    subject_transport,
    territory_means,
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
