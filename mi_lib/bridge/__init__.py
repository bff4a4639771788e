"""Pipeline A -> B (notebook 08): population-model infarcts carried onto the twin's anatomies.

:mod:`~mi_lib.bridge.mapping`  the map between the reference LV's (r, c, l) and the twin's
                               (tm, ab, rt), the undoing of the territory alignment, a
                               field carried between the two, the border-zone shell
:mod:`~mi_lib.bridge.draw`     infarcts drawn from a personalised population model
                               (notebook 03's product), with their (r, c, l)
:mod:`~mi_lib.bridge.infarcts` those infarcts in their coronary territories on a twin's LV
"""

from .draw import draw_infarcts, personalised_model, reference_voxels
from .infarcts import BZ_WIDTH, territory_shares, twin_infarcts
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

__all__ = ["BZ_WIDTH", "border_zone", "carry", "coordinate_points", "draw_infarcts",
           "personalised_model", "reference_to_twin", "reference_voxels", "shell",
           "territory_shares", "territory_shifts", "twin_infarcts", "twin_to_reference",
           "unrotate"]
