"""Pipeline A -> B (notebook 08): population-model infarcts carried onto the twin's anatomies.

:mod:`~mi_lib.bridge.mapping`  the map between the reference LV's (r, c, l) and the twin's
                               (tm, ab, rt), the undoing of the territory alignment, a
                               field carried between the two, the border-zone shell
:mod:`~mi_lib.bridge.draw`     infarcts drawn from a personalised population model
                               (notebook 03's product), with their (r, c, l)
:mod:`~mi_lib.bridge.infarcts` those infarcts in their coronary territories on a twin's LV
:mod:`~mi_lib.bridge.campaign` subjects x infarcts through the forward model on Dask:
                               ``mi_population.zarr``
:mod:`~mi_lib.bridge.products` notebook 08's inputs (the personalised model, built on
                               demand) and product
:mod:`~mi_lib.bridge.checks`   the carried infarcts against the LGE population
:mod:`~mi_lib.bridge.study`    the 2 x 2 generalisation study
:mod:`~mi_lib.bridge.views`    notebook 08's figures
"""

from .campaign import BridgeSettings, run_population_campaign
from .draw import draw_infarcts, personalised_model, reference_voxels
from .infarcts import BZ_WIDTH, carry_draws, population_draws, territory_shares, twin_infarcts
from .mapping import (
    border_zone,
    carry,
    coordinate_points,
    reference_to_twin,
    shell,
    territory_shifts,
    twin_to_reference,
    unrotate,
)

__all__ = ["BZ_WIDTH", "BridgeSettings", "border_zone", "carry", "carry_draws", "coordinate_points", "draw_infarcts",
           "personalised_model", "population_draws", "reference_to_twin", "reference_voxels", "shell",
           "territory_shares", "territory_shifts", "twin_infarcts", "twin_to_reference",
           "run_population_campaign", "unrotate"]
